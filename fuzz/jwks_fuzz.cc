// libFuzzer target: JWKS documents as a provider (or a man in the middle) might serve them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/jose.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto jwks = coinpay::Jwks::Parse(json);
  if (jwks) {
    (void)(*jwks)->size();
    (void)(*jwks)->HasKid("rsa");
    // A token that names a kid must not find a key that was skipped or half-imported.
    (void)coinpay::VerifyJws("eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYSJ9.e30.AAAA", **jwks, {"RS256"});
  }
  return 0;
}
