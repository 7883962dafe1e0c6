// libFuzzer target: back-channel logout requests (HandleBackchannelLogout) against a site with
// a signed-in session indexed by sid and sub. The first byte picks what the rest is:
//   '0' (and anything = 0 mod 2): the raw form body (logout_token=..., duplicates, bad escapes);
//   '1': logout-token claims (JSON), signed with the provider's Ed25519 key (typ logout+jwt) and
//        posted as the one logout_token, so the section 2.6 rules and the session index run.
// Each request is sent twice: the second must never end more than the first did (replays).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/backchannel_logout.h"
#include "core/encoding.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  if (size == 0) {
    return 0;
  }
  std::string_view rest = fuzz::AsView(data + 1, size - 1);
  std::string body;
  if (data[0] % 2 == 0) {
    body.assign(rest);
  } else {
    body = "logout_token=" +
           UrlEncode(fuzz::SignEdDsa(R"({"alg":"EdDSA","kid":"ed","typ":"logout+jwt"})", rest));
  }
  fuzz::FuzzSite s;
  SessionRecord r;
  r.provider = s.provider_config->name;
  r.issuer = s.provider_config->issuer;
  r.client_id = s.provider_config->client_id;
  r.sub = "alice";
  r.user = "alice";
  r.created_at = fuzz::kNow;
  r.last_seen_at = fuzz::kNow;
  auto id = s.sessions->Create(r, fuzz::kNow, "sid-1");
  if (!id) {
    __builtin_trap();
  }
  Site site = s.site();
  Action first = HandleBackchannelLogout(site, body);
  Action second = HandleBackchannelLogout(site, body);
  if (first.status != 200 && first.status != 400) {
    __builtin_trap();  // the store never fails here: only the answers of section 2.8
  }
  if (first.status == 200 && second.status != 400) {
    __builtin_trap();  // a logout token is accepted once; its replay is refused
  }
  return 0;
}
