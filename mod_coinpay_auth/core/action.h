// What the core decides a request gets: go on as a signed-in user (kAllow), or a response
// that the glue sends as it is (a redirect, a challenge, an error page).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace coinpay {

class Json;            // core/json.h
struct ErrorPageText;  // core/pages.h

// The name the top-level provider goes by wherever users or operators see it.
inline constexpr char kDefaultProviderName[] = "default";

struct Identity {
  std::string user;  // becomes REMOTE_USER (the sub, unless a location picks another claim)
  // Which provider vouched for the user: its name (kDefaultProviderName for the top-level one)
  // and issuer. qualify_user: REMOTE_USER becomes user@provider, unique across providers.
  std::string provider;
  std::string issuer;
  bool qualify_user = false;
  std::vector<std::pair<std::string, std::string>> claims;  // claim name -> text, for the app
  std::string claims_json;  // all claims, for Require coinpay-claim / coinpay-scope
  std::shared_ptr<const Json> parsed_claims;  // the same, already parsed (bearer tokens)
  // A bearer token's cnf.jkt (RFC 9449): non-empty when it is DPoP-bound, so it is accepted
  // only with a proof by that key, on every request (the cached identity keeps it).
  std::string dpop_jkt;
  std::string access_token;
  int64_t access_token_expires_at = 0;
  // With the access token of a CoinpayDPoP session: "DPoP" or "Bearer", and for DPoP the handle
  // that gets proofs from SetHandler coinpay-dpop-proof (core/dpop_proof_handler.h).
  std::string access_token_type;
  std::string dpop_handle;
};

struct Action {
  enum class Kind { kAllow, kRespond, kDecline };
  Kind kind = Kind::kRespond;
  int status = 200;
  std::string location;                                      // for 3xx
  std::vector<std::string> set_cookies;                      // Set-Cookie values
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. WWW-Authenticate
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  Identity identity;  // for kAllow (unless shared_identity is set)
  // For kAllow from a cache (bearer tokens): the cached identity itself, shared, not copied.
  std::shared_ptr<const Identity> shared_identity;
  // Who a kAllow speaks for, whichever of the two holds it.
  const Identity& who() const { return shared_identity ? *shared_identity : identity; }
  // Set on the module's error pages (core/pages.h): which error, in the module's own words, so
  // the glue can serve the operator's page for it instead of `body`.
  std::shared_ptr<const ErrorPageText> error_page;

  static Action Allow(Identity id) {
    Action a;
    a.kind = Kind::kAllow;
    a.identity = std::move(id);
    return a;
  }
  static Action Allow(std::shared_ptr<const Identity> id) {
    Action a;
    a.kind = Kind::kAllow;
    a.shared_identity = std::move(id);
    return a;
  }
  static Action Decline() {
    Action a;
    a.kind = Kind::kDecline;
    return a;
  }
  static Action Redirect(std::string to) {
    Action a;
    a.status = 302;
    a.location = std::move(to);
    return a;
  }
};

}  // namespace coinpay
