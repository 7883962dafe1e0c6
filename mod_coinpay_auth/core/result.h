// Errors as values: one Errc enum for the whole core and a small Result<T> that carries either a
// value or an Error whose detail is safe to log (it never holds a token or a secret).
#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace coinpay {

enum class Errc {
  kOk = 0,
  kBadInput,          // malformed input from a client (cookie, header, query)
  kBadJson,           // JSON that does not parse or has the wrong shape
  kBadSignature,      // a JWS whose signature does not verify
  kUnknownKid,        // no key in the JWKS matches the token's kid
  kAlgNotAllowed,     // alg outside the allow-list (none, HS* with a public key, ...)
  kExpired,           // exp in the past (after leeway)
  kNotYetValid,       // nbf / iat in the future (after leeway)
  kIssuerMismatch,    // iss differs from the configured issuer
  kAudienceMismatch,  // aud does not contain us
  kAzpMismatch,       // azp present and not our client id
  kNonceMismatch,     // nonce differs from the one we sent
  kMissingClaim,      // a required claim is absent
  kStateMismatch,     // callback state matches no login-attempt cookie
  kCookieInvalid,     // sealed cookie fails to open (tampered, wrong purpose, expired)
  kCryptoFailure,     // the crypto library failed (not the input)
  kHttpFailure,       // transport to the provider failed (connect, timeout, TLS)
  kProviderError,     // the provider answered with an error
  kInvalidGrant,      // the provider says the code / refresh token is no longer good
  kNotFound,          // no such session / key
  kStoreFull,         // a record does not fit the store
  kStoreUnavailable,  // the session store cannot be reached
  kConfig,            // operator misconfiguration
  kCircuitOpen,       // calls to the provider are held back after repeated failures
};

const std::error_category& CoinpayCategory();
std::error_code make_error_code(Errc e);
// A stable, short name for an Errc ("expired", "bad_signature"), used in logs and tests.
const char* ErrcName(Errc e);

struct Error {
  Errc code = Errc::kOk;
  std::string detail;  // safe to log: never a token, secret or raw client input
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error e) : v_(std::move(e)) {}      // NOLINT(google-explicit-constructor)
  Result(Errc c, std::string detail = {})    // NOLINT(google-explicit-constructor)
      : v_(Error{c, std::move(detail)}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }
  Errc code() const { return ok() ? Errc::kOk : error().code; }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Status(Ok{}); }

}  // namespace coinpay

namespace std {
template <>
struct is_error_code_enum<coinpay::Errc> : true_type {};
}  // namespace std
