// libFuzzer target: the Cookie header as a browser (or an attacker) sends it, through every
// production reader of it: ParseCookieHeader, the sealed login-state cookie (CookieSealer::Open
// then DecodeLoginState), the session-id path (SessionIdsIn) and the scrub that hides the
// module's cookies from the application (WithoutModuleCookies). Properties checked: a value the
// sealer seals opens to the same bytes, and a login state that decodes re-encodes to one that
// decodes to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/cookie_sealer.h"
#include "core/cookies.h"
#include "core/login_flow.h"
#include "core/session_cookie.h"
#include "fuzz_fakes.h"

namespace {

bool SameState(const coinpay::LoginState& a, const coinpay::LoginState& b) {
  return a.state == b.state && a.nonce == b.nonce && a.code_verifier == b.code_verifier &&
         a.return_to == b.return_to && a.provider == b.provider && a.issued_at == b.issued_at &&
         a.step_up.acr_values == b.step_up.acr_values && a.step_up.max_age == b.step_up.max_age;
}

void CheckLoginState(std::string_view text) {
  auto state = coinpay::DecodeLoginState(text);
  if (!state) {
    return;
  }
  auto again = coinpay::DecodeLoginState(coinpay::EncodeLoginState(*state));
  if (!again || !SameState(*state, *again)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  static const SessionConfig config = [] {
    SessionConfig c;
    c.scope = "host:example-business.com";
    c.sealer = fuzz::FuzzSite::Sealer();
    return c;
  }();
  const CookieSealer& sealer = *config.sealer;
  std::string_view header = fuzz::AsView(data, size);

  for (const auto& [name, value] : ParseCookieHeader(header)) {
    if (IsLoginCookie(config, name)) {
      if (auto opened = sealer.Open(kLoginStatePurpose, value, fuzz::kNow)) {
        CheckLoginState(*opened);
      }
    }
    (void)sealer.Open(kLoginStatePurpose, value, fuzz::kNow);
  }
  for (std::string_view id : SessionIdsIn(config, header)) {
    if (id.empty()) {
      __builtin_trap();
    }
  }
  if (auto kept = WithoutModuleCookies(config, header)) {
    // What is left for the application holds none of the module's cookies.
    for (const auto& [name, value] : ParseCookieHeader(*kept)) {
      if (name == config.cookie_name || IsLoginCookie(config, name)) {
        __builtin_trap();
      }
      (void)value;
    }
  }

  // The whole input as a sealed value, and as a login state behind a valid seal.
  (void)sealer.Open(kLoginStatePurpose, header, fuzz::kNow);
  fuzz::FixedRandom random;
  auto sealed = sealer.Seal(kLoginStatePurpose, header, fuzz::kNow + 600, random);
  // Open refuses sealed text over 8 KiB (more than any browser keeps in one cookie), which Seal
  // does not check: the round trip holds for what fits in a cookie (4 KiB).
  if (sealed && header.size() <= 4096) {
    auto opened = sealer.Open(kLoginStatePurpose, *sealed, fuzz::kNow);
    if (!opened || *opened != header) {
      __builtin_trap();
    }
    if (sealer.Open("session", *sealed, fuzz::kNow)) {
      __builtin_trap();  // sealed for one purpose, opened for another
    }
    (void)LoginCookieName(config, *sealed);
  }
  CheckLoginState(header);
  return 0;
}
