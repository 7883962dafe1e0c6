// libFuzzer target: token endpoint answers, through the production calls that read them:
// ExchangeCode (authorization code grant) and RefreshTokens, against a fake HTTP client whose
// token endpoint answers with the input as its body, once as HTTP 200 and once as HTTP 400
// (the OAuth error path: only a safe error code may come out of it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/token_client.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  std::string body(fuzz::AsView(data, size));
  {
    fuzz::FuzzSite s;
    s.http.Respond(fuzz::kTokenUrl, 200, body);
    auto t = ExchangeCode(*s.provider, "code-1", "verifier-1");
    if (t && t->access_token.empty()) {
      __builtin_trap();  // a token response without an access token is never accepted
    }
    (void)RefreshTokens(*s.provider, "refresh-1");
  }
  {
    fuzz::FuzzSite s;
    s.http.Respond(fuzz::kTokenUrl, 400, body);
    auto t = RefreshTokens(*s.provider, "refresh-1");
    if (t) {
      __builtin_trap();  // an HTTP error is never a token
    }
    // The detail names the provider's error code only when it is plain letters and underscores.
    for (char c : t.error().detail) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '<') {
        __builtin_trap();
      }
    }
  }
  return 0;
}
