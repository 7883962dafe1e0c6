// SetHandler coinpay-dpop-proof: the handle opened, the session read, a proof signed.
#include "core/dpop_proof_handler.h"

#include <algorithm>

#include "core/dpop_client.h"
#include "core/dpop_proof.h"
#include "core/encoding.h"
#include "core/jose.h"
#include "core/json.h"
#include "core/log.h"

namespace coinpay {
namespace {

constexpr char kHandlePurpose[] = "dpop-proof-handle";
constexpr size_t kMaxNonceChars = 512;

Action Refusal(LogSink& log, int status, const char* error, const std::string& why) {
  LogAt(log, LogLevel::kInfo, 428, "DPoP proof request refused: " + why);
  return Action::Json(status, std::string("{\"error\":\"") + error + "\"}");
}

// An HTTP method as RFC 9110 spells the registered ones: upper-case letters only.
bool IsMethod(std::string_view m) {
  return !m.empty() && m.size() <= 16 &&
         std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A nonce a resource server sent (RFC 9449 section 9: NQCHAR, here without spaces or quotes).
bool IsNonce(std::string_view n) {
  return n.size() <= kMaxNonceChars && std::all_of(n.begin(), n.end(), [](char c) {
           return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
         });
}

}  // namespace

Result<std::string> MakeDPoPHandle(Site& site, std::string_view session_id, int64_t expires_at) {
  return site.session_config.sealer->Seal(kHandlePurpose, session_id, expires_at, site.random);
}

Action HandleDPoPProof(Site& site, const RequestView& req) {
  int64_t now = site.clock.NowSeconds();
  auto form = ParseQuery(req.form_body);
  if (!form) {
    return Refusal(site.log, 400, "invalid_request", "the form does not parse");
  }
  std::string handle;
  std::string htm;
  std::string htu;
  std::string nonce;
  for (const auto& [name, value] : *form) {
    std::string* slot = name == "handle"  ? &handle
                        : name == "htm"   ? &htm
                        : name == "htu"   ? &htu
                        : name == "nonce" ? &nonce
                                          : nullptr;
    if (slot != nullptr) {
      if (!slot->empty()) {
        return Refusal(site.log, 400, "invalid_request", "a parameter is repeated");
      }
      *slot = value;
    }
  }
  if (!IsMethod(htm) || !NormalizeHtu(htu) || !IsNonce(nonce) || handle.empty()) {
    return Refusal(site.log, 400, "invalid_request",
                   "handle, htm (a method) and htu (an absolute http(s) URL) are required");
  }
  auto session_id = site.session_config.sealer->Open(kHandlePurpose, handle, now);
  if (!session_id) {
    return Refusal(site.log, 403, "invalid_handle", "the handle does not open or has expired");
  }
  auto loaded = site.sessions.LoadById(*session_id, now);
  if (!loaded) {
    LogAt(site.log, LogLevel::kError, 429,
          "session store unavailable for a DPoP proof: " + loaded.error().detail);
    return Action::Json(503, "{\"error\":\"temporarily_unavailable\"}");
  }
  if (!loaded->has_value()) {
    return Refusal(site.log, 403, "invalid_handle", "the handle's session has ended");
  }
  const SessionRecord& record = (*loaded)->record;
  if (record.dpop_key.empty() || !record.access_token_dpop || record.access_token.empty()) {
    return Refusal(site.log, 403, "invalid_handle", "the session holds no DPoP-bound token");
  }
  auto key = SigningKey::FromPrivateJwk(record.dpop_key);
  if (!key) {
    LogAt(site.log, LogLevel::kError, 431, "the session's DPoP key cannot be read");
    return Action::Json(500, "{\"error\":\"server_error\"}");
  }
  ClientProof signer{key->get(), &site.random, now};
  auto proof = MakeDPoPProof(signer, htm, htu, nonce, record.access_token);
  if (!proof) {
    LogAt(site.log, LogLevel::kError, 432, "cannot sign a DPoP proof: " + proof.error().detail);
    return Action::Json(500, "{\"error\":\"server_error\"}");
  }
  Json answer = Json::Object();
  answer.Set("proof", Json::String(*proof));
  answer.Set("token_type", Json::String("DPoP"));
  return Action::Json(200, answer.Dump());
}

}  // namespace coinpay
