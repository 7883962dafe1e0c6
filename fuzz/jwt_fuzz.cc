// libFuzzer target: JWS verification (VerifyJws: header decode, alg allow-list, kid look-up,
// cjose and the Ed25519 check) against a fixed JWKS with RSA, P-256 and Ed25519 (OKP) keys, and
// EdDSA in the allow-list. The input is a compact JWS; when it holds a newline it is also read
// as "<JOSE header JSON>\n<payload>" and signed with the Ed25519 key first, so fuzzed headers
// (crit, b64, typ, duplicate members, kid games) reach the code behind a valid signature.
#include <cstddef>
#include <cstdint>
#include <string>
#include <optional>
#include <string_view>

#include "core/jose.h"
#include "fuzz_fakes.h"

namespace {

const coinpay::Jwks& FixedJwks() {
  static const auto jwks = coinpay::Jwks::Parse(coinpay::fuzz::kJwks).value();
  return *jwks;
}

void Verify(std::string_view token) {
  (void)coinpay::PeekKid(token);
  auto jwt = coinpay::VerifyJws(token, FixedJwks(), {"RS256", "ES256", "PS256", "EdDSA"});
  if (jwt) {
    (void)jwt->claims.Dump();
  }
  // The same token under an allow-list without its alg must never verify.
  auto narrow = coinpay::VerifyJws(token, FixedJwks(), {"ES256"});
  if (narrow && !(jwt && jwt->header.GetString("alg") == std::optional<std::string>("ES256"))) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = coinpay::fuzz::AsView(data, size);
  Verify(input);
  size_t nl = input.find('\n');
  if (nl != std::string_view::npos) {
    Verify(coinpay::fuzz::SignEdDsa(input.substr(0, nl), input.substr(nl + 1)));
  }
  return 0;
}
