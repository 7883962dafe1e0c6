// libFuzzer target: return-to and post-logout targets (SafeRedirectTarget, OriginOf). Whatever
// is accepted must be a same-origin path or an absolute URL on our own or an allow-listed
// origin, with no byte a browser would reinterpret.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/redirect_guard.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  static const std::string own = "https://example-business.com";
  static const std::vector<std::string> allowed = {"https://app.example-business.com:8443"};
  std::string_view candidate = fuzz::AsView(data, size);
  auto origin = OriginOf(candidate);
  if (origin && origin->rfind("http://", 0) != 0 && origin->rfind("https://", 0) != 0) {
    __builtin_trap();
  }
  auto target = SafeRedirectTarget(candidate, own, allowed);
  if (!target) {
    return 0;
  }
  for (char c : *target) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f || c == '\\') {
      __builtin_trap();  // CR/LF, tabs, spaces, NUL and backslashes are never passed on
    }
  }
  if ((*target)[0] == '/') {
    if (target->size() > 1 && ((*target)[1] == '/' || (*target)[1] == '\\')) {
      __builtin_trap();
    }
    return 0;
  }
  auto o = OriginOf(*target);
  if (!o || (*o != own && *o != allowed[0])) {
    __builtin_trap();
  }
  return 0;
}
