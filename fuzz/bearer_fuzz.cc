// libFuzzer target: an Authorization header value. For now the bearer path only peeks at the
// token's kid and parses form-style parameters; both must survive any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/encoding.h"
#include "core/jose.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  std::string_view token = header;
  if (token.size() >= 7 && coinpay::IEquals(token.substr(0, 7), "Bearer ")) {
    token.remove_prefix(7);
  }
  (void)coinpay::PeekKid(token);
  (void)coinpay::ParseQuery(header);
  (void)coinpay::Base64UrlDecode(token);
  return 0;
}
