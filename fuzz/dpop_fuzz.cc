// libFuzzer target: DPoP proofs (CheckDPoPProof: header, jwk import, signature, claims; then
// RememberDPoPProof), NormalizeHtu and BoundJktOf. First byte '0': the raw DPoP header value;
// '1': "<JOSE header JSON>\n<claims JSON>" signed with the RFC 8037 A.1 Ed25519 key, so fuzzed
// headers and claims (jwk games, private members, htu spellings, iat types) reach the checks
// behind a valid signature. Properties: an accepted proof is for GET on the expected URL by the
// expected key, and is refused when replayed; NormalizeHtu is idempotent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/dpop_proof.h"
#include "core/jose.h"
#include "fuzz_fakes.h"

namespace {

constexpr char kEdJwk[] =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
constexpr char kHtu[] = "https://api.example/v1/payments";
constexpr char kToken[] = "access-token-1";

void Check(std::string_view proof) {
  static const std::string jkt = coinpay::JwkThumbprint(kEdJwk).value();
  static const std::vector<std::string> algs = {"EdDSA", "ES256", "RS256", "PS256"};
  coinpay::DPoPProofExpectations expect{"GET", kHtu, kToken, jkt, algs, coinpay::fuzz::kNow};
  auto checked = coinpay::CheckDPoPProof(proof, expect);
  if (!checked) {
    return;
  }
  if (checked->jkt != jkt || checked->jti.empty()) {
    __builtin_trap();
  }
  coinpay::fuzz::MapStore store;
  auto first = coinpay::RememberDPoPProof(store, *checked, coinpay::fuzz::kNow);
  auto again = coinpay::RememberDPoPProof(store, *checked, coinpay::fuzz::kNow);
  if (!first || !*first || !again || *again) {
    __builtin_trap();
  }
}

void Normalize(std::string_view url) {
  auto once = coinpay::NormalizeHtu(url);
  if (once && coinpay::NormalizeHtu(*once) != once) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = coinpay::fuzz::AsView(data, size);
  if (input.empty()) {
    return 0;
  }
  std::string_view rest = input.substr(1);
  Normalize(rest);
  if (input[0] == '1') {
    size_t nl = rest.find('\n');
    if (nl != std::string_view::npos) {
      std::string_view claims = rest.substr(nl + 1);
      if (auto parsed = coinpay::Json::Parse(claims)) {
        (void)coinpay::BoundJktOf(*parsed);
      }
      Check(coinpay::fuzz::SignEdDsa(rest.substr(0, nl), claims));
    }
    return 0;
  }
  Check(rest);
  return 0;
}
