// libFuzzer target: JWKS documents as a provider (or a man in the middle) might serve them:
// Jwks::Parse directly, then the same bytes served at the provider's jwks_uri and fetched by the
// real ProviderClient (Cache-Control max-age, unknown-kid refetch rules).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/jose.h"
#include "fuzz_fakes.h"

namespace {
// RFC 8037 A.4: an EdDSA JWS without kid, over the A.1 key.
constexpr char kEdToken[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3"
    "AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  std::string_view json = fuzz::AsView(data, size);
  auto jwks = Jwks::Parse(json);
  if (jwks) {
    (void)(*jwks)->size();
    (void)(*jwks)->HasKid("rsa");
    // A token that names a kid must not find a key that was skipped or half-imported.
    (void)VerifyJws("eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYSJ9.e30.AAAA", **jwks, {"RS256"});
    (void)VerifyJws(kEdToken, **jwks, {"EdDSA"});
  }
  fuzz::FuzzSite s;
  s.http.Respond(fuzz::kJwksUrl, 200, std::string(json));
  (void)s.provider->KeysFor("");
  (void)s.provider->KeysFor("ed");
  (void)s.provider->Verify(kEdToken, {"EdDSA", "RS256"});
  return 0;
}
