// libFuzzer target: the Cookie header and every sealed value in it, as a browser (or an
// attacker) sends them; also the login-state and session-record decoders behind them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/cookie_sealer.h"
#include "core/cookies.h"
#include "core/login_flow.h"
#include "core/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const coinpay::CookieSealer sealer({"fuzz passphrase one", "fuzz passphrase two"});
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)sealer.Open(coinpay::kLoginStatePurpose, input, 1700000000);
  for (const auto& [name, value] : coinpay::ParseCookieHeader(input)) {
    auto opened = sealer.Open(coinpay::kLoginStatePurpose, value, 1700000000);
    if (opened) {
      (void)coinpay::DecodeLoginState(*opened);
    }
    (void)name;
  }
  (void)coinpay::DecodeLoginState(input);
  (void)coinpay::DecodeSession(input);
  return 0;
}
