// What the core decides a request gets: go on as a signed-in user (kAllow), or a response
// that the glue sends as it is (a redirect, a challenge, an error page).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coinpay {

class Json;            // core/json.h
struct ErrorPageText;  // core/pages.h

// The name the top-level provider goes by wherever users or operators see it.
inline constexpr char kDefaultProviderName[] = "default";

// One claim as the application sees it: name and flattened text.
struct Claim {
  std::string_view name;
  std::string_view value;
};

// Every text field is a view into `storage`, which the identity shares (the stored session
// record it was read from, or the strings made once for a cached token), so an identity is
// cheap to make and to copy, and its views live as long as any copy of it.
struct Identity {
  std::string_view user;  // becomes REMOTE_USER (the sub, unless a location picks another claim)
  // Which provider vouched for the user: its name (kDefaultProviderName for the top-level one)
  // and issuer. qualify_user: REMOTE_USER becomes user@provider, unique across providers.
  std::string_view provider;
  std::string_view issuer;
  bool qualify_user = false;
  std::vector<Claim> claims;     // for the app
  std::string_view claims_json;  // all claims, for Require coinpay-claim / coinpay-scope
  std::shared_ptr<const Json> parsed_claims;  // the same, already parsed (bearer tokens)
  std::string_view access_token;
  int64_t access_token_expires_at = 0;
  // Each claim's variable and header name (core/identity.h ClaimVariableName...), made once
  // where the identity serves many requests (cached tokens); empty: made per request.
  std::vector<std::string_view> claim_variables;
  std::vector<std::string_view> claim_headers;
  // Every view above is followed by a NUL byte (usable as a C string in place).
  bool terminated = false;
  // Where not: the bytes the claims lie in (a stored record's claims, with their length
  // fields), so the glue can copy them in one piece.
  std::string_view claims_block;
  std::shared_ptr<const void> storage;  // what the views point into
  // A bearer token's cnf.jkt (RFC 9449): non-empty when it is DPoP-bound, so it is accepted
  // only with a proof by that key, on every request (the cached identity keeps it).
  std::string dpop_jkt;
  // With the access token of a CoinpayDPoP session: "DPoP" or "Bearer" (static text), and for
  // DPoP the handle that gets proofs from SetHandler coinpay-dpop-proof
  // (core/dpop_proof_handler.h).
  std::string_view access_token_type;
  std::string dpop_handle;
};

struct Action {
  enum class Kind { kAllow, kRespond, kDecline };
  Kind kind = Kind::kRespond;
  int status = 200;
  std::string location;                                      // for 3xx
  std::vector<std::string> set_cookies;                      // Set-Cookie values
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. WWW-Authenticate
  // Static text (a literal: NUL-terminated, never freed), so an Action, made on every request,
  // allocates nothing for it.
  std::string_view content_type = "text/html; charset=utf-8";
  std::string body;
  // Who a kAllow speaks for: shared (a cached token's identity is not copied per request).
  std::shared_ptr<const Identity> shared_identity;
  const Identity& who() const {
    static const Identity kNobody;  // for an action that allows no one
    return shared_identity ? *shared_identity : kNobody;
  }
  // Set on the module's error pages (core/pages.h): which error, in the module's own words, so
  // the glue can serve the operator's page for it instead of `body`.
  std::shared_ptr<const ErrorPageText> error_page;

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
  // A JSON answer to a script (never cached: it may carry what only this session may see).
  static Action Json(int status, std::string_view body) {
    Action a;
    a.status = status;
    a.content_type = "application/json";
    a.body.reserve(body.size() + 1);
    a.body.append(body).push_back('\n');
    a.headers.emplace_back("Cache-Control", "no-store");
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
