// cjose lives here and nowhere else. EdDSA (RFC 8037), which cjose lacks, is checked here too,
// with the signature check itself in core/crypto.cc.
#include "core/jose.h"

#include <cjose/cjose.h>

#include <algorithm>
#include <optional>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/log.h"

namespace coinpay {

struct Jwks::Key {
  enum class Type { kRsa, kEc, kEd25519 };
  std::string kid;
  Type type;
  std::string alg;                          // optional "alg" member of the JWK
  cjose_jwk_t* jwk;                         // RSA and EC keys (cjose); nullptr for Ed25519
  std::optional<Ed25519PublicKey> ed25519;  // OKP keys, which cjose cannot hold
};

namespace {

struct JwsDeleter {
  void operator()(cjose_jws_t* j) const { cjose_jws_release(j); }
};

constexpr std::string_view kEdDsa = "EdDSA";

bool KeyFitsAlg(Jwks::Key::Type type, std::string_view alg) {
  if (alg == kEdDsa) {
    return type == Jwks::Key::Type::kEd25519;
  }
  if (alg.rfind("RS", 0) == 0 || alg.rfind("PS", 0) == 0) {
    return type == Jwks::Key::Type::kRsa;
  }
  if (alg.rfind("ES", 0) == 0) {
    return type == Jwks::Key::Type::kEc;
  }
  return false;
}

// An OKP JWK (RFC 8037 section 2) as an Ed25519 public key: crv "Ed25519" and a 32-byte x. Ed448
// and the X25519/X448 agreement curves are refused; a private "d", if published, is not read.
std::optional<Ed25519PublicKey> ImportEd25519(const Json& jwk) {
  if (jwk.GetString("crv").value_or("") != "Ed25519") {
    return std::nullopt;
  }
  auto x = jwk.GetString("x");
  auto raw = x ? Base64UrlDecode(*x) : std::nullopt;
  if (!raw || raw->size() != Ed25519PublicKey::kSize) {
    return std::nullopt;
  }
  return Ed25519PublicKey::FromRaw(*raw);
}

}  // namespace

bool IsSupportedAlgorithm(std::string_view alg) {
  static const char* const kAlgs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                      "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  return std::any_of(std::begin(kAlgs), std::end(kAlgs), [&](const char* a) { return alg == a; });
}

Jwks::~Jwks() {
  for (auto& k : keys_) {
    if (k.jwk != nullptr) {
      cjose_jwk_release(k.jwk);
    }
  }
}

Result<std::shared_ptr<const Jwks>> Jwks::Parse(std::string_view jwks_json) {
  auto doc = Json::Parse(jwks_json);
  if (!doc || !doc->Get("keys").IsArray()) {
    return Error{Errc::kBadJson, "JWKS is not an object with a \"keys\" array"};
  }
  std::shared_ptr<Jwks> set(new Jwks());
  Json keys = doc->Get("keys");
  for (size_t i = 0; i < keys.Size(); ++i) {
    Json k = keys.At(i);
    auto use = k.GetString("use");
    if (use && *use != "sig") {
      continue;
    }
    // cjose aborts on some malformed base64url; only strictly valid members reach it.
    bool well_formed = true;
    for (const char* member : {"n", "e", "x", "y", "d", "k", "p", "q", "dp", "dq", "qi"}) {
      Json v = k.Get(member);
      if (!v.IsNull() && (!v.IsString() || !Base64UrlDecode(v.AsString()))) {
        well_formed = false;
      }
    }
    if (!well_formed) {
      continue;
    }
    if (k.GetString("kty").value_or("") == "OKP") {
      auto ed25519 = ImportEd25519(k);
      if (ed25519) {
        set->keys_.push_back(Key{k.GetString("kid").value_or(""), Key::Type::kEd25519,
                                 k.GetString("alg").value_or(""), nullptr, std::move(ed25519)});
      }
      continue;
    }
    std::string text = k.Dump();
    cjose_err err;
    cjose_jwk_t* jwk = cjose_jwk_import(text.c_str(), text.size(), &err);
    if (jwk == nullptr) {
      continue;  // an unusable key is skipped; the others still serve
    }
    cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &err);
    if (kty != CJOSE_JWK_KTY_RSA && kty != CJOSE_JWK_KTY_EC) {
      cjose_jwk_release(jwk);
      continue;
    }
    set->keys_.push_back(Key{k.GetString("kid").value_or(""),
                             kty == CJOSE_JWK_KTY_RSA ? Key::Type::kRsa : Key::Type::kEc,
                             k.GetString("alg").value_or(""), jwk, std::nullopt});
  }
  return std::shared_ptr<const Jwks>(std::move(set));
}

size_t Jwks::size() const { return keys_.size(); }

bool Jwks::HasKid(std::string_view kid) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const Key& k) { return k.kid == kid; });
}

std::string PeekKid(std::string_view compact) {
  size_t dot = compact.find('.');
  if (dot == std::string_view::npos || dot > 4096) {
    return {};
  }
  auto header = Base64UrlDecode(compact.substr(0, dot));
  if (!header) {
    return {};
  }
  auto json = Json::Parse(*header);
  if (!json) {
    return {};
  }
  return json->GetString("kid").value_or("");
}

Result<VerifiedJwt> VerifyJws(std::string_view compact, const Jwks& jwks,
                              const std::vector<std::string>& allowed_algs) {
  // A JWS compact serialization has exactly three parts; JWE (five) and others are refused.
  if (std::count(compact.begin(), compact.end(), '.') != 2 || compact.size() > size_t{64} * 1024) {
    return Error{Errc::kBadInput, "not a compact JWS"};
  }
  // Every segment must be strict base64url before cjose sees it: Debian's cjose aborts the
  // process on some malformed padding, and a bearer token is attacker-controlled.
  size_t first = compact.find('.');
  size_t second = compact.find('.', first + 1);
  if (!Base64UrlDecode(compact.substr(first + 1, second - first - 1)) ||
      !Base64UrlDecode(compact.substr(second + 1))) {
    return Error{Errc::kBadInput, "JWS segment is not base64url"};
  }
  auto header_bytes = Base64UrlDecode(compact.substr(0, first));
  if (!header_bytes) {
    return Error{Errc::kBadInput, "JWS header is not base64url"};
  }
  auto header = Json::Parse(*header_bytes);
  if (!header || !header->IsObject()) {
    return Error{Errc::kBadInput, "JWS header is not a JSON object"};
  }
  auto alg = header->GetString("alg");
  if (!alg) {
    return Error{Errc::kAlgNotAllowed, "JWS header has no alg"};
  }
  if (!IsSupportedAlgorithm(*alg) ||
      std::find(allowed_algs.begin(), allowed_algs.end(), *alg) == allowed_algs.end()) {
    return Error{Errc::kAlgNotAllowed, "alg " + Untrusted(*alg, 32) + " is not in the allow-list"};
  }
  if (!header->Get("crit").IsNull()) {
    return Error{Errc::kBadInput, "JWS header has crit parameters we do not understand"};
  }
  std::string kid = header->GetString("kid").value_or("");

  // EdDSA is checked without cjose, which cannot import such a token: over the same signing
  // input (the header and payload segments as sent, RFC 7515 section 5.2).
  const bool eddsa = *alg == kEdDsa;
  cjose_err err;
  std::unique_ptr<cjose_jws_t, JwsDeleter> jws;
  std::optional<std::string> signature;
  if (eddsa) {
    signature = Base64UrlDecode(compact.substr(second + 1));
  } else {
    jws.reset(cjose_jws_import(compact.data(), compact.size(), &err));
    if (!jws) {
      return Error{Errc::kBadInput, "JWS does not parse"};
    }
  }
  bool any_candidate = false;
  for (const auto& key : jwks.keys_) {
    if ((!kid.empty() && key.kid != kid) || !KeyFitsAlg(key.type, *alg) ||
        (!key.alg.empty() && key.alg != *alg)) {
      continue;
    }
    any_candidate = true;
    std::optional<std::string> payload;
    if (eddsa) {
      if (!key.ed25519 || !signature ||
          !key.ed25519->Verify(compact.substr(0, second), *signature)) {
        continue;
      }
      payload = Base64UrlDecode(compact.substr(first + 1, second - first - 1));
    } else {
      if (!cjose_jws_verify(jws.get(), key.jwk, &err)) {
        continue;
      }
      uint8_t* plain = nullptr;
      size_t plain_len = 0;
      if (cjose_jws_get_plaintext(jws.get(), &plain, &plain_len, &err)) {
        payload.emplace(reinterpret_cast<const char*>(plain), plain_len);
      }
    }
    if (!payload) {
      return Error{Errc::kBadInput, "JWS payload unavailable"};
    }
    auto claims = Json::Parse(*payload);
    if (!claims || !claims->IsObject()) {
      return Error{Errc::kBadJson, "JWT payload is not a JSON object"};
    }
    return VerifiedJwt{*header, *claims};
  }
  if (!any_candidate) {
    return Error{Errc::kUnknownKid,
                 kid.empty() ? "no key fits the token's alg" : "no key with the token's kid"};
  }
  return Error{Errc::kBadSignature, "signature does not verify"};
}

}  // namespace coinpay
