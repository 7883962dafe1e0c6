// libFuzzer target: query strings and urlencoded form bodies (ParseQuery: the callback's code and
// state, back-channel logout bodies, the logout confirmation form), and percent-decoding. The
// round trip property: whatever parses, encoded again with EncodeForm, parses to the same pairs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  std::string_view input = fuzz::AsView(data, size);
  auto params = ParseQuery(input);
  if (params) {
    auto again = ParseQuery(EncodeForm(*params));
    if (!again || *again != *params) {
      __builtin_trap();
    }
  }
  auto plus = UrlDecode(input, true);
  auto raw = UrlDecode(input, false);
  if (plus.has_value() != raw.has_value()) {
    __builtin_trap();  // '+' handling never decides whether an escape is well formed
  }
  if (raw) {
    auto back = UrlDecode(UrlEncode(*raw), false);
    if (!back || *back != *raw) {
      __builtin_trap();
    }
  }
  (void)HtmlEscape(input);
  (void)SafeErrorCode(input);
  auto b64 = Base64UrlDecode(input);
  if (b64) {
    auto again = Base64UrlDecode(Base64UrlEncode(*b64));
    if (!again || *again != *b64) {
      __builtin_trap();
    }
  }
  return 0;
}
