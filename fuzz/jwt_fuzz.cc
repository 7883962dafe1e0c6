// libFuzzer target: JWS verification (header decode, alg allow-list, cjose) against a fixed JWKS.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/jose.h"

namespace {

// The RFC 7515 Appendix A.2 RSA key and Appendix A.3 P-256 key, public parts only.
constexpr char kJwks[] =
    R"({"keys":[{"kty":"RSA","kid":"rsa","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-)"
    R"(Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7O)"
    R"(Mg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo)"
    R"(5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB"},{"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

const coinpay::Jwks& FixedJwks() {
  static const auto jwks = coinpay::Jwks::Parse(kJwks).value();
  return *jwks;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)coinpay::PeekKid(token);
  auto jwt = coinpay::VerifyJws(token, FixedJwks(), {"RS256", "ES256", "PS256"});
  if (jwt) {
    (void)jwt->claims.Dump();
  }
  return 0;
}
