// The immutable configuration of one provider and of the site's sessions, built once from the
// directives when httpd reads its configuration, then shared read-only by every request.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cookie_sealer.h"
#include "core/jose.h"
#include "core/result.h"

namespace coinpay {

// How the client authenticates to the provider (token, refresh, revocation, introspection, PAR):
// kPrivateKeyJwt signs a short-lived assertion with the first CoinpayPrivateKeyFile key
// (RFC 7523, OpenID Connect Core 9).
enum class TokenEndpointAuth { kClientSecretBasic, kClientSecretPost, kNone, kPrivateKeyJwt };
// Pushed authorization requests (RFC 9126): kAuto when discovery advertises the endpoint, kOn
// always (a sign-in is refused when the provider has none), kOff never.
enum class ParMode { kAuto, kOn, kOff };
// Whether sign-in also reads the userinfo endpoint: kAuto when the provider has one and the
// access token is for it (no CoinpayResource); a failure then only loses the extra claims.
enum class UserinfoMode { kAuto, kOn, kOff };
// oidc: OpenID Connect (an ID token proves who signed in). oauth2: plain OAuth 2.0 (Coinbase):
// no ID token; a user endpoint called with the access token says who it is.
enum class ProviderProfile { kOidc, kOAuth2 };
// CoinpaySecurityProfile: default, or fapi2 (FAPI 2.0 Security Profile; core/security_profile.h).
enum class SecurityProfile { kDefault, kFapi2 };
// What an access token's JOSE `typ` must say: at+jwt (RFC 9068) or, for providers that issue
// plain JWT access tokens, JWT (then ID and logout tokens are told apart by their claims).
enum class AccessTokenType { kAtJwt, kJwt };
// How revocation authenticates: as at the token endpoint, or with the access token as a bearer.
enum class RevocationAuth { kClient, kBearer };
// CoinpayDPoP: whether the module asks for DPoP-bound tokens (RFC 9449) from this provider.
// kOn: proofs are sent, a Bearer token is still taken; kRequired: token_type must be DPoP.
enum class ClientDPoP { kOff, kOn, kRequired };

struct ProviderConfig {
  std::string name;  // "" for the default (top-level) provider
  // False for a server that only validates bearer tokens: no client, no sign-in.
  bool login_enabled = true;
  ProviderProfile profile = ProviderProfile::kOidc;
  std::string display_name;  // for the chooser page ("Sign in with <display_name>")
  // oauth2 profile: who signed in, from the user endpoint's JSON (RFC 6901 pointers).
  std::string user_endpoint;
  std::string subject_pointer;
  std::vector<std::pair<std::string, std::string>> claim_pointers;  // claim name, pointer
  // Extra authorization request parameters, e.g. Coinbase's account / meta[...].
  std::vector<std::pair<std::string, std::string>> auth_params;
  RevocationAuth revocation_auth = RevocationAuth::kClient;
  ClientDPoP dpop = ClientDPoP::kOff;
  // Absolute URL registered at the provider as a post_logout_redirect_uri. When set and the
  // provider has an end_session_endpoint, logout also ends the provider's session
  // (OpenID Connect RP-Initiated Logout 1.0) and the provider sends the browser here.
  std::string provider_logout_return;
  std::string issuer;
  std::string metadata_url;  // default: issuer + "/.well-known/openid-configuration"
  std::string client_id;
  std::string client_secret;
  std::string redirect_uri;
  std::string redirect_path;    // path part of redirect_uri
  std::string redirect_origin;  // origin of redirect_uri: our own origin for redirects
  std::string scope = "openid email profile";
  TokenEndpointAuth token_auth = TokenEndpointAuth::kClientSecretBasic;
  // CoinpayPrivateKeyFile, in the order written: the first signs client assertions, all are
  // published by SetHandler coinpay-jwks (so a new key can be announced before it signs).
  std::vector<std::shared_ptr<const SigningKey>> signing_keys;
  ParMode par = ParMode::kAuto;  // CoinpayPushedAuthorization
  SecurityProfile security_profile = SecurityProfile::kDefault;
  // RFC 9207: the callback must carry `iss` (fapi2); without it a missing iss is accepted and
  // only a wrong one refused.
  bool require_iss_response = false;
  // RFC 8707 resource indicator: the API the access token is for (its aud), e.g. the Paylent API.
  std::string resource;
  UserinfoMode userinfo = UserinfoMode::kAuto;
  // CoinpaySigningAlgorithms: accepted on ID, access and logout tokens.
  std::vector<std::string> signing_algs = {"RS256", "ES256"};
  int64_t leeway_seconds = 60;
  long connect_timeout_ms = 5000;
  long timeout_ms = 10000;
  int64_t jwks_min_refetch_seconds = 60;  // on an unknown kid, refetch at most this often
  int64_t metadata_ttl_seconds = 3600;
  int64_t refresh_before_seconds = 30;  // refresh an access token this long before it expires
  // Explicit endpoints (their directives); empty ones come from discovery (or CoinPay's
  // documented paths).
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string revocation_endpoint;
};

struct SessionConfig {
  // The site sessions belong to: CoinpaySessionScope, or the virtual host's ServerName. A
  // session made under another scope is no session here, even in a shared store.
  std::string scope;
  std::string cookie_name = "coinpay_session";
  std::string login_cookie_prefix = "coinpay_login_";
  int64_t idle_timeout_seconds = 3600;
  int64_t max_age_seconds = int64_t{8} * 3600;
  int64_t login_timeout_seconds = 600;  // how long a sign-in attempt may take
  int max_login_attempts = 5;           // login-state cookies kept at once; oldest dropped
  bool secure_cookies = false;          // Secure attribute (set when the redirect URI is https)
  std::string post_logout_url = "/";
  std::vector<std::string> allowed_redirect_origins;  // extra origins for return_to
  // When the provider cannot refresh an access token right now, go on with the old one while it
  // is still valid (instead of answering 502).
  bool continue_on_refresh_failure = false;
  std::shared_ptr<const CookieSealer> sealer;
  // Keep the sid/sub index back-channel logout needs (an extra store entry per user); on only
  // when a coinpay-backchannel-logout handler is configured.
  bool index_sessions = true;
};

// The issuer without a trailing '/', for building URLs under it (the issuer itself is compared
// exactly as written, OpenID Connect Discovery 1.0 section 4).
std::string IssuerBase(const std::string& issuer);

// True for an https origin, or a plain http one on this machine (localhost, 127.x, [::1]): the
// only places the module sends credentials or takes keys from.
bool IsHttpsOrLoopback(std::string_view origin);

// Checks what can be checked without the network and fills the derived fields
// (redirect_path, redirect_origin, metadata_url). The message names the directive and the fix.
Status FinalizeProviderConfig(ProviderConfig& p);

}  // namespace coinpay
