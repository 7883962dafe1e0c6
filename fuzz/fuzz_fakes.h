// Fakes for the fuzz targets: the core's effects (clock, random, HTTP, session store, log) with
// no test framework, a provider at https://op.example that serves a fixed discovery document and
// JWKS (RSA and P-256 keys from RFC 7515, the Ed25519 key of RFC 8037), and an Ed25519 signer
// with RFC 8037's published private key, so a target can turn fuzzed claims into a token that
// passes the signature check and reaches the claim rules behind it.
//
// Every target builds fresh state per input (FuzzSite), so a run is a function of its input
// alone: caches, circuit breakers and token buckets never carry one input's effects to the next.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cookie_sealer.h"
#include "core/effects.h"
#include "core/encoding.h"
#include "core/provider_client.h"
#include "core/provider_config.h"
#include "core/session.h"
#include "core/shared_store.h"
#include "core/site.h"

namespace coinpay::fuzz {

constexpr int64_t kNow = 1700000000;
constexpr char kIssuer[] = "https://op.example";
constexpr char kDiscoveryUrl[] = "https://op.example/.well-known/openid-configuration";
constexpr char kTokenUrl[] = "https://op.example/token";
constexpr char kJwksUrl[] = "https://op.example/jwks";
constexpr char kUserinfoUrl[] = "https://op.example/userinfo";
constexpr char kIntrospectUrl[] = "https://op.example/introspect";
constexpr char kClientId[] = "client-1";
constexpr char kAudience[] = "https://api.example";

// The RFC 7515 A.2 RSA key, the A.3 P-256 key and the RFC 8037 A.1 Ed25519 key, public parts.
constexpr char kJwks[] =
    R"({"keys":[{"kty":"RSA","kid":"rsa","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-)"
    R"(Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7O)"
    R"(Mg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo)"
    R"(5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB"},{"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},)"
    R"({"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";

inline std::string DiscoveryJson() {
  return std::string(R"({"issuer":"https://op.example",)") +
         R"("authorization_endpoint":"https://op.example/authorize",)" +
         R"("token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks",)" +
         R"("userinfo_endpoint":"https://op.example/userinfo",)" +
         R"("introspection_endpoint":"https://op.example/introspect",)" +
         R"("revocation_endpoint":"https://op.example/revoke"})";
}

class FixedClock : public Clock {
 public:
  int64_t NowSeconds() const override { return kNow; }
  void SleepFor(std::chrono::milliseconds /*duration*/) const override {}
};

// Deterministic bytes (xorshift), reseeded per input.
class FixedRandom : public Random {
 public:
  bool Fill(uint8_t* out, size_t len) override {
    for (size_t i = 0; i < len; ++i) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      out[i] = static_cast<uint8_t>(state_ >> 24);
    }
    return true;
  }

 private:
  uint64_t state_ = 0x9e3779b97f4a7c15ull;
};

class NullLog : public LogSink {
 public:
  void Log(LogLevel, int, std::string_view message) override {
    // Touch every byte: a log line built from freed or unterminated memory shows up under ASan.
    volatile unsigned sum = 0;
    for (char c : message) {
      sum = sum + static_cast<unsigned char>(c);
    }
  }
};

// Answers by URL; unknown URLs answer 404. Serves discovery and the fixed JWKS by default.
class FakeHttp : public HttpClient {
 public:
  FakeHttp() {
    Respond(kDiscoveryUrl, 200, DiscoveryJson());
    Respond(kJwksUrl, 200, kJwks);
  }
  void Respond(const std::string& url, long status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    answers_[url] = std::move(r);
  }
  Result<HttpResponse> Send(const HttpRequest& req) override {
    ++calls_;
    auto it = answers_.find(req.url);
    if (it == answers_.end()) {
      HttpResponse r;
      r.status = 404;
      r.body = R"({"error":"not_found"})";
      return r;
    }
    return it->second;
  }
  int calls() const { return calls_; }

 private:
  std::map<std::string, HttpResponse> answers_;
  int calls_ = 0;
};

// A SharedStore in a std::map: enough for the flows the targets drive (no expiry sweeps, no
// failures). Versions count up per write.
class MapStore : public SharedStore {
 public:
  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override {
    entries_[std::string(key)] = Item{std::string(value), expires_at, ++clock_};
    return OkStatus();
  }
  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override {
    auto it = entries_.find(std::string(key));
    if (it == entries_.end() || it->second.expires_at <= now) {
      return std::optional<Entry>();
    }
    return std::optional<Entry>(Entry{it->second.value, it->second.version});
  }
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override {
    auto it = entries_.find(std::string(key));
    if (it == entries_.end() || it->second.expires_at <= now || it->second.version != version) {
      return false;
    }
    it->second = Item{std::string(value), expires_at, ++clock_};
    return true;
  }
  Status Erase(std::string_view key) override {
    entries_.erase(std::string(key));
    return OkStatus();
  }
  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override {
    auto it = entries_.find(std::string(key));
    if (it != entries_.end() && it->second.expires_at > now) {
      return false;
    }
    entries_[std::string(key)] = Item{std::string(value), expires_at, ++clock_};
    return true;
  }
  Status EraseIfEquals(std::string_view key, std::string_view expected) override {
    auto it = entries_.find(std::string(key));
    if (it != entries_.end() && it->second.value == expected) {
      entries_.erase(it);
    }
    return OkStatus();
  }
  Result<bool> Exists(std::string_view key, int64_t now) override {
    auto it = entries_.find(std::string(key));
    return it != entries_.end() && it->second.expires_at > now;
  }
  Status SetAdd(std::string_view key, std::string_view member, int64_t) override {
    sets_[std::string(key)].emplace_back(member);
    return OkStatus();
  }
  Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t) override {
    auto it = sets_.find(std::string(key));
    return it == sets_.end() ? std::vector<std::string>() : it->second;
  }
  Status SetRemove(std::string_view key, const std::vector<std::string>&) override {
    sets_.erase(std::string(key));
    return OkStatus();
  }

 private:
  struct Item {
    std::string value;
    int64_t expires_at;
    uint64_t version;
  };
  std::map<std::string, Item> entries_;
  std::map<std::string, std::vector<std::string>> sets_;
  uint64_t clock_ = 0;
};

// A whole site on the fakes: provider https://op.example (EdDSA, RS256, ES256 allowed), a
// relying party at https://example-business.com, an in-memory store. One per input.
struct FuzzSite {
  FixedClock clock;
  FixedRandom random;
  FakeHttp http;
  NullLog log;
  MapStore store;
  SessionConfig session_config;
  std::shared_ptr<ProviderConfig> provider_config;
  std::unique_ptr<ProviderClient> provider;
  std::unique_ptr<Sessions> sessions;

  FuzzSite() {
    auto p = std::make_shared<ProviderConfig>();
    p->issuer = kIssuer;
    p->client_id = kClientId;
    p->client_secret = "fuzz-secret";
    p->redirect_uri = "https://example-business.com/api/auth/callback/coinpay";
    p->signing_algs = {"RS256", "ES256", "EdDSA"};
    if (!FinalizeProviderConfig(*p).ok()) {
      std::abort();
    }
    provider_config = p;
    session_config.scope = "host:example-business.com";
    session_config.sealer = Sealer();
    provider = std::make_unique<ProviderClient>(provider_config, http, clock, log);
    sessions = std::make_unique<Sessions>(store, session_config, random);
  }
  Site site() { return Site{*provider, session_config, *sessions, clock, random, log}; }

  // Key derivation is costly: one sealer for the whole run (it holds no per-input state).
  static std::shared_ptr<const CookieSealer> Sealer() {
    static const auto sealer = std::make_shared<const CookieSealer>(
        std::vector<std::string>{"fuzz passphrase one", "fuzz passphrase two"});
    return sealer;
  }
};

// Signs `header_json`.`payload_json` with the RFC 8037 A.1 Ed25519 key (kid "ed" in kJwks).
inline std::string SignEdDsa(std::string_view header_json, std::string_view payload_json) {
  static EVP_PKEY* const key = [] {
    std::string seed = Base64UrlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").value();
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(seed.data()),
                                        seed.size());
  }();
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  unsigned char sig[64];
  size_t sig_len = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx, sig, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  return input + "." +
         Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(sig), sig_len));
}

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace coinpay::fuzz
