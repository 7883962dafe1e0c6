// libFuzzer target: OpenID Connect discovery documents, including ones that try to point the
// endpoints somewhere else: ParseDiscovery directly, then served at the well-known URL and read
// by the real ProviderClient (Metadata, then a key fetch from whatever jwks_uri it names).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/provider_metadata.h"
#include "core/redirect_guard.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  static const ProviderConfig config = [] {
    ProviderConfig c;
    c.issuer = fuzz::kIssuer;
    return c;
  }();
  std::string_view json = fuzz::AsView(data, size);
  auto m = ParseDiscovery(json, config);
  if (m) {
    // Whatever parses must have endpoints that are absolute http(s) URLs.
    if (!OriginOf(m->authorization_endpoint) || !OriginOf(m->token_endpoint) ||
        !OriginOf(m->jwks_uri)) {
      __builtin_trap();
    }
  }
  fuzz::FuzzSite s;
  s.http.Respond(fuzz::kDiscoveryUrl, 200, std::string(json));
  auto meta = s.provider->Metadata();
  if (meta && (*meta)->issuer != fuzz::kIssuer) {
    __builtin_trap();  // a document naming another issuer must never be taken
  }
  (void)s.provider->KeysFor("rsa");
  return 0;
}
