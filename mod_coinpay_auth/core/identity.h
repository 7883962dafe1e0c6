// Who a request speaks for, as the application sees it: built here, and only here, from the
// claims of a verified token (an ID token at sign-in, an access token, an introspection answer)
// or from a stored session. The glue turns an Identity into REMOTE_USER, COINPAY_* variables and
// headers (httpd/request_adapter.cc).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/action.h"
#include "core/json.h"
#include "core/provider_config.h"
#include "core/session.h"

namespace coinpay {

// The name a provider goes by where users and operators see it: its <CoinpayProvider> name, or
// kDefaultProviderName for the top-level one (whose configured name is "").
std::string DisplayedProviderName(std::string_view configured_name);
// The reverse: the configured name ("" for the top-level provider) a displayed name stands for.
std::string ConfiguredProviderName(std::string_view displayed_name);

// The claims an application sees: every claim but the token mechanics (nonce, at_hash, ...),
// values flattened to text with control characters replaced by spaces.
std::vector<std::pair<std::string, std::string>> ClaimsForApplication(const Json& claims);

// A claim's name as the application's environment and headers see it: `prefix` and the name
// with every character but letters and digits replaced by `other`, so no CGI environment or
// header parser can misread it. ClaimNameSize: the bytes AppendClaimName writes, NUL included.
inline constexpr std::string_view kClaimVariablePrefix = "COINPAY_CLAIM_";
inline constexpr std::string_view kClaimHeaderPrefix = "Coinpay-Claim-";
size_t ClaimNameSize(std::string_view prefix, std::string_view claim);
char* AppendClaimName(char* out, std::string_view prefix, std::string_view claim, char other);
std::string ClaimVariableName(std::string_view claim);  // COINPAY_CLAIM_email
std::string ClaimHeaderName(std::string_view claim);    // Coinpay-Claim-email

// A verified access token's (or introspection answer's) claims, from provider `p`: the user is
// `sub`, or `client_id` for a token a client holds for itself. Made once per token (it is
// cached), so it also carries the claims' variable and header names.
std::shared_ptr<const Identity> IdentityFromTokenClaims(const ProviderConfig& p,
                                                        const Json& claims);

// A live session: `qualify_user` where several providers are accepted; the access token only
// where the location passes it on, and never once expired.
// From the record as stored, read in place (the request path: nothing is copied).
std::shared_ptr<Identity> IdentityFromStoredSession(std::shared_ptr<const StoredSession> s,
                                                    bool qualify_user, bool pass_access_token,
                                                    int64_t now);
// Without the access token: the identity made from these bytes, made on first use and shared
// by every request that reads the same record (claim variable and header names included).
std::shared_ptr<const Identity> SharedIdentityOf(const StoredSession& s, bool qualify_user);
// From a record in memory (consumed): one just refreshed.
std::shared_ptr<Identity> IdentityFromSession(SessionRecord&& s, bool qualify_user,
                                              bool pass_access_token, int64_t now);

}  // namespace coinpay
