// The error category behind coinpay::Errc, so core errors travel as std::error_code too.
#include "core/result.h"

namespace coinpay {
namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "coinpay"; }
  std::string message(int ev) const override { return ErrcName(static_cast<Errc>(ev)); }
};

}  // namespace

const char* ErrcName(Errc e) {
  switch (e) {
    case Errc::kOk:
      return "ok";
    case Errc::kBadInput:
      return "bad_input";
    case Errc::kBadJson:
      return "bad_json";
    case Errc::kBadSignature:
      return "bad_signature";
    case Errc::kUnknownKid:
      return "unknown_kid";
    case Errc::kAlgNotAllowed:
      return "alg_not_allowed";
    case Errc::kExpired:
      return "expired";
    case Errc::kNotYetValid:
      return "not_yet_valid";
    case Errc::kIssuerMismatch:
      return "issuer_mismatch";
    case Errc::kAudienceMismatch:
      return "audience_mismatch";
    case Errc::kAzpMismatch:
      return "azp_mismatch";
    case Errc::kNonceMismatch:
      return "nonce_mismatch";
    case Errc::kMissingClaim:
      return "missing_claim";
    case Errc::kStateMismatch:
      return "state_mismatch";
    case Errc::kCookieInvalid:
      return "cookie_invalid";
    case Errc::kCryptoFailure:
      return "crypto_failure";
    case Errc::kHttpFailure:
      return "http_failure";
    case Errc::kProviderError:
      return "provider_error";
    case Errc::kInvalidGrant:
      return "invalid_grant";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kStoreFull:
      return "store_full";
    case Errc::kStoreUnavailable:
      return "store_unavailable";
    case Errc::kConfig:
      return "config";
    case Errc::kCircuitOpen:
      return "circuit_open";
  }
  return "unknown";
}

const std::error_category& CoinpayCategory() {
  static const Category kCategory;
  return kCategory;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), CoinpayCategory()}; }

}  // namespace coinpay
