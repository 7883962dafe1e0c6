// libFuzzer target: OpenID Connect discovery documents, including ones that try to point the
// endpoints somewhere else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/provider_metadata.h"
#include "core/redirect_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const coinpay::ProviderConfig config = [] {
    coinpay::ProviderConfig c;
    c.issuer = "https://coinpayportal.com";
    return c;
  }();
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto m = coinpay::ParseDiscovery(json, config);
  if (m) {
    // Whatever parses must have endpoints that are absolute http(s) URLs.
    if (!coinpay::OriginOf(m->authorization_endpoint) || !coinpay::OriginOf(m->token_endpoint) ||
        !coinpay::OriginOf(m->jwks_uri)) {
      __builtin_trap();
    }
  }
  (void)coinpay::OriginOf(json);
  (void)coinpay::SafeRedirectTarget(json, "https://example-business.com", {});
  return 0;
}
