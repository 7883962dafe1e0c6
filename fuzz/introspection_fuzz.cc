// libFuzzer target: RFC 7662 introspection answers, through the real opaque-token path
// (AuthenticateOpaque, and AuthenticateBearer for a token that is not a JWT) against a fake
// provider whose introspection endpoint answers with the input as the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bearer_authn.h"
#include "core/opaque_bearer.h"
#include "core/token_cache.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  std::string body(fuzz::AsView(data, size));
  BearerConfig config;
  config.audiences = {fuzz::kAudience};
  config.own_client_ids = {fuzz::kClientId};
  {
    fuzz::FuzzSite s;
    s.http.Respond(fuzz::kIntrospectUrl, 200, body);
    VerifiedTokenCache cache(16);
    Action first = AuthenticateOpaque(*s.provider, cache, fuzz::kNow, s.log, "opaque-1", config);
    int calls = s.http.calls();
    // Asked again: answered from the remembered verdict (a not-yet-valid refusal excepted).
    Action second = AuthenticateOpaque(*s.provider, cache, fuzz::kNow, s.log, "opaque-1", config);
    if (first.kind == Action::Kind::kAllow &&
        (second.kind != Action::Kind::kAllow || s.http.calls() != calls)) {
      __builtin_trap();
    }
  }
  {
    fuzz::FuzzSite s;
    s.http.Respond(fuzz::kIntrospectUrl, 200, body);
    VerifiedTokenCache cache(16);
    config.any_audience = true;
    config.audiences.clear();
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.authorization = "Bearer 2YotnFZFEjr1zCsicMWpAA";
    (void)AuthenticateBearer(*s.provider, cache, s.clock, s.log, req, config);
  }
  return 0;
}
