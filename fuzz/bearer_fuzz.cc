// libFuzzer target: the Authorization header of an API request, through the real bearer
// authentication (AuthenticateBearer) against a provider that serves a fixed discovery document
// and JWKS. The first byte picks what the rest is:
//   '0' (and anything = 0 mod 3): the raw Authorization header value;
//   '1': access-token claims (JSON), signed with the JWKS's Ed25519 key as a typed at+jwt, so the
//        claim rules (iss, aud, exp, nbf, typ, ID-token look-alikes) see fuzzed claims;
//   '2': "<JOSE header JSON>\n<claims JSON>", signed the same way (typ, crit, kid, alg games).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bearer_authn.h"
#include "core/token_cache.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  if (size == 0) {
    return 0;
  }
  const int mode = data[0] % 3;
  std::string_view rest = fuzz::AsView(data + 1, size - 1);
  std::string header;
  if (mode == 0) {
    header.assign(rest);
  } else if (mode == 1) {
    header = "Bearer " + fuzz::SignEdDsa(R"({"alg":"EdDSA","kid":"ed","typ":"at+jwt"})", rest);
  } else {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return 0;
    }
    header = "Bearer " + fuzz::SignEdDsa(rest.substr(0, nl), rest.substr(nl + 1));
  }

  fuzz::FuzzSite s;
  VerifiedTokenCache cache(16);
  BearerConfig config;
  config.audiences = {fuzz::kAudience};
  config.own_client_ids = {fuzz::kClientId};
  RequestView req;
  req.method = "GET";
  req.https = true;
  req.path = "/api/v1/payments";
  req.authorization = header;
  (void)BearerTokenOf(header);
  Action first = AuthenticateBearer(*s.provider, cache, s.clock, s.log, req, config);
  // The second request for the same token is answered from the cache: it must say the same.
  Action second = AuthenticateBearer(*s.provider, cache, s.clock, s.log, req, config);
  if (first.kind != second.kind || first.status != second.status) {
    __builtin_trap();
  }
  // A token accepted as at+jwt must not be taken for an ID token by a plainly typed verifier.
  config.token_type = AccessTokenType::kJwt;
  VerifiedTokenCache cache2(16);
  (void)AuthenticateBearer(*s.provider, cache2, s.clock, s.log, req, config);
  return 0;
}
