// From the operator's directives to the site's configuration: every startup rule on a site, in
// the order `apachectl -t` reports them (the first refusal wins).
#include "core/site_config.h"

#include <cctype>
#include <memory>

#include "core/cookie_sealer.h"
#include "core/identity.h"
#include "core/jose.h"
#include "core/redirect_guard.h"
#include "core/security_profile.h"

namespace coinpay {
namespace {

constexpr size_t kMinPassphraseChars = 16;
constexpr int64_t kMinSessionSeconds = 60;

// CoinpaySigningAlgorithms, or its former name CoinpayIDTokenAlgorithms: one setting.
Result<std::pair<const char*, std::vector<std::string>>> SigningAlgorithms(const SiteSettings& c) {
  if (c.signing_algs.set && c.id_token_algs.set) {
    return Error{Errc::kConfig,
                 "CoinpaySigningAlgorithms and CoinpayIDTokenAlgorithms are both set: they are "
                 "one setting (CoinpayIDTokenAlgorithms is its former name); keep "
                 "CoinpaySigningAlgorithms and remove CoinpayIDTokenAlgorithms"};
  }
  if (c.id_token_algs.set) {
    return std::make_pair("CoinpayIDTokenAlgorithms", c.id_token_algs.value);
  }
  return std::make_pair("CoinpaySigningAlgorithms", c.signing_algs.value);
}

Result<ProviderConfig> BuildProviderConfig(const SiteSettings& c, const std::string& name) {
  ProviderConfig p;
  p.name = name;
  p.profile = c.profile.value;
  p.revocation_auth = c.revocation_auth.value;
  p.dpop = c.dpop.value;
  p.display_name = c.display_name.value;
  p.user_endpoint = c.user_endpoint.value;
  p.subject_pointer = c.subject_pointer.value;
  p.claim_pointers = c.claim_pointers.value;
  p.auth_params = c.auth_params.value;
  p.issuer = c.issuer.value;
  p.client_id = c.client_id.value;
  p.client_secret = c.client_secret.value;
  p.redirect_uri = c.redirect_uri.value;
  p.scope = c.scope.value;
  p.token_auth = c.token_auth.value;
  p.signing_keys = c.private_keys.value;
  p.par = c.par.value;
  p.resource = c.resource.value;
  p.provider_logout_return = c.provider_logout_return.value;
  p.userinfo = c.userinfo.value;
  p.metadata_url = c.metadata_url.value;
  p.authorization_endpoint = c.authorization_endpoint.value;
  p.token_endpoint = c.token_endpoint.value;
  p.jwks_uri = c.jwks_uri.value;
  p.revocation_endpoint = c.revocation_endpoint.value;
  p.leeway_seconds = c.leeway.value;
  p.refresh_before_seconds = c.refresh_before.value;
  p.jwks_min_refetch_seconds = c.jwks_refetch.value;
  p.connect_timeout_ms = static_cast<long>(c.connect_timeout.value * 1000);
  p.timeout_ms = static_cast<long>(c.http_timeout.value * 1000);
  auto algs = SigningAlgorithms(c);
  if (!algs) {
    return algs.error();
  }
  const auto& [directive, list] = *algs;
  for (const auto& alg : list) {
    if (!IsSupportedAlgorithm(alg)) {
      return Error{Errc::kConfig, std::string(directive) + ": " + alg +
                                      " is not accepted; use asymmetric algorithms such as "
                                      "RS256 ES256 PS256 EdDSA"};
    }
  }
  p.signing_algs = list;
  if (auto st = ApplySecurityProfile(c, p); !st) {
    return st.error();
  }
  if (auto st = FinalizeProviderConfig(p); !st) {
    return st.error();
  }
  return p;
}

Status BuildSessionConfig(const SiteSettings& c, SessionConfig& sc, bool https) {
  if (c.passphrases.value.empty()) {
    return Error{Errc::kConfig,
                 "CoinpayCryptoPassphrase is missing: set a long random secret (e.g. the output "
                 "of `openssl rand -base64 32`) to seal cookies"};
  }
  for (const auto& pass : c.passphrases.value) {
    if (pass.size() < kMinPassphraseChars) {
      return Error{Errc::kConfig,
                   "CoinpayCryptoPassphrase: each passphrase needs at least 16 "
                   "characters; use e.g. `openssl rand -base64 32`"};
    }
  }
  if (c.max_login_attempts.value < 1) {
    return Error{Errc::kConfig, "CoinpayMaxLoginAttempts must be at least 1"};
  }
  if (c.idle_timeout.value < kMinSessionSeconds || c.max_age.value < kMinSessionSeconds) {
    return Error{Errc::kConfig,
                 "CoinpaySessionIdleTimeout and CoinpaySessionMaxAge must be at "
                 "least 60 seconds"};
  }
  sc.cookie_name = c.cookie_name.value;
  sc.idle_timeout_seconds = c.idle_timeout.value;
  sc.max_age_seconds = c.max_age.value;
  sc.login_timeout_seconds = c.login_timeout.value;
  sc.max_login_attempts = static_cast<int>(c.max_login_attempts.value);
  sc.secure_cookies = https;
  sc.post_logout_url = c.post_logout_url.value;
  sc.continue_on_refresh_failure = c.continue_on_refresh_failure.value;
  for (const auto& o : c.allowed_origins.value) {
    auto origin = OriginOf(o);
    if (!origin) {
      return Error{Errc::kConfig, "CoinpayRedirectAllowOrigin: " + o +
                                      " is not an origin; write it as https://host[:port]"};
    }
    sc.allowed_redirect_origins.push_back(*origin);
  }
  return OkStatus();
}

// The site sessions belong to: the operator's CoinpaySessionScope, else the virtual host's
// canonical name (browsers share cookies across ports, so the port is left out).
std::string SessionScope(const SiteSettings& c, const std::string& server_name) {
  if (!c.session_scope.value.empty()) {
    return "scope:" + c.session_scope.value;
  }
  std::string host = server_name;
  for (char& ch : host) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return "host:" + host;
}

// The operator's error pages, each checked when its line was read.
ErrorPages ErrorPagesOf(const SiteSettings& c) {
  ErrorPages pages;
  pages.template_html = c.error_template.value;
  for (const auto& [name, html] : c.error_pages.value) {
    if (auto kind = ErrorKindNamed(name)) {
      pages.pages[static_cast<size_t>(*kind)] = html;
    }
  }
  return pages;
}

// The rules that need the configuration tree, not one server's directives.
Status CheckAgainstTree(const SiteSettings& c, const ProviderConfig& p, const ScopeFacts& t) {
  if (p.login_enabled) {
    bool served = false;
    for (const auto& loc : t.callback_locations) {
      served = served || LocationCovers(loc, p.redirect_path);
    }
    if (!served) {
      return Error{Errc::kConfig, "CoinpayRedirectURI's path " + p.redirect_path +
                                      " is not served by any location: add <Location " +
                                      p.redirect_path +
                                      "> SetHandler coinpay-callback / Require all granted "
                                      "</Location>"};
    }
  }
  if (t.uses_bearer && !c.bearer_any_audience.value && c.bearer_audiences.value.empty()) {
    return Error{Errc::kConfig,
                 "AuthType coinpay-bearer is used but CoinpayBearerAudience is not set: name "
                 "this API's audience (e.g. CoinpayBearerAudience https://api.example-business.com)"
                 ", or accept any audience explicitly with CoinpayBearerAnyAudience On"};
  }
  return OkStatus();
}

}  // namespace

bool HasTopLevelProvider(const SiteSettings& s) {
  return s.issuer.set || s.client_id.set || s.client_secret.set || s.redirect_uri.set ||
         s.private_keys.set || s.bearer_audiences.set;
}

bool UsesModule(const SiteSettings& s, bool has_provider_sections) {
  return HasTopLevelProvider(s) || s.passphrases.set || has_provider_sections;
}

Status CheckSomeServerConfigured(bool any_server_uses_module, bool session_anywhere,
                                 bool bearer_anywhere) {
  if (any_server_uses_module || !(session_anywhere || bearer_anywhere)) {
    return OkStatus();
  }
  return Error{Errc::kConfig, std::string("AuthType coinpay") +
                                  (bearer_anywhere && !session_anywhere ? "-bearer" : "") +
                                  " is used but no CoinpayIssuer is configured: add "
                                  "CoinpayIssuer, CoinpayClientID, CoinpayClientSecret, "
                                  "CoinpayRedirectURI and CoinpayCryptoPassphrase"};
}

LocationOptions LocationOptionsOf(const LocationSettings& s) {
  LocationOptions o;
  for (const std::string& name : s.use_provider.value) {
    o.providers.push_back(ConfiguredProviderName(name));
  }
  o.unauthenticated = s.unauthenticated.value;
  o.max_age_seconds = s.location_max_age.value;
  o.idle_timeout_seconds = s.location_idle_timeout.value;
  o.refresh = s.refresh.value;
  o.pass_access_token = s.pass_access_token.value;
  if (!s.authn_context.value.empty()) {  // per request: an empty copy is still a call
    o.step_up.acr_values = s.authn_context.value;
  }
  o.step_up.max_auth_age = s.max_auth_age.value;
  return o;
}

Status CheckProviderSectionName(std::string_view name, const ProviderSections& earlier) {
  bool plain =
      !name.empty() && name.size() <= 32 && name != "default" &&
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos;
  if (!plain) {
    return Error{Errc::kConfig,
                 "<CoinpayProvider> takes a name of lower-case letters, digits, - and _ (not "
                 "\"default\", which is the top-level provider), e.g. <CoinpayProvider coinbase>"};
  }
  for (const auto& [existing, settings] : earlier) {
    if (existing == name) {
      return Error{Errc::kConfig, "<CoinpayProvider " + std::string(name) + "> appears twice"};
    }
  }
  return OkStatus();
}

bool LocationCovers(const std::string& location, const std::string& path) {
  if (location == path) {
    return true;
  }
  std::string prefix = location;
  if (!prefix.empty() && prefix.back() != '/') {
    prefix += '/';
  }
  return path.rfind(prefix, 0) == 0;
}

Result<SiteConfig> BuildSiteConfig(const SiteSettings& server, const ProviderSections& sections,
                                   const SiteContext& context) {
  SiteConfig out;
  if (HasTopLevelProvider(server)) {
    auto p = BuildProviderConfig(server, "");
    if (!p) {
      return p.error();
    }
    out.providers.push_back(std::move(*p));
  }
  for (const auto& [name, settings] : sections) {
    auto p = BuildProviderConfig(*settings, name);
    if (!p) {
      return p.error();
    }
    out.providers.push_back(std::move(*p));
  }
  bool https = false;
  for (size_t i = 0; i < out.providers.size(); ++i) {
    const ProviderConfig& p = out.providers[i];
    out.login = out.login || p.login_enabled;
    https = https || p.redirect_uri.rfind("https://", 0) == 0;
    for (size_t j = 0; j < i; ++j) {
      if (p.login_enabled && out.providers[j].redirect_uri == p.redirect_uri) {
        return Error{Errc::kConfig, "two providers share the CoinpayRedirectURI " + p.redirect_uri +
                                        ": give each its own, e.g. /api/auth/callback/<name>"};
      }
    }
  }
  if (out.providers.empty()) {
    return Error{Errc::kConfig,
                 "no provider: set CoinpayIssuer (and the client directives), "
                 "or add a <CoinpayProvider name> section"};
  }
  if (out.login) {
    if (auto st = BuildSessionConfig(server, out.session, https); !st) {
      return st.error();
    }
  }
  for (const ProviderConfig& p : out.providers) {
    if (auto st = CheckAgainstTree(server, p, context.tree); !st) {
      return st.error();
    }
  }
  out.session.scope = SessionScope(server, context.server_name);
  out.session.index_sessions = context.index_sessions;
  out.session.sealer = std::make_shared<const CookieSealer>(server.passphrases.value);
  out.bearer.audiences = server.bearer_audiences.value;
  out.bearer.any_audience = server.bearer_any_audience.value;
  out.bearer.token_type = server.bearer_token_type.value;
  out.bearer.realm = server.bearer_realm.value;
  for (const std::string& alg : server.bearer_dpop_algs.value) {
    if (!IsSupportedAlgorithm(alg)) {
      return Error{Errc::kConfig, "CoinpayBearerDPoPAlgorithms: " + alg +
                                      " is not an accepted DPoP proof algorithm; use asymmetric "
                                      "ones: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA"};
    }
  }
  if (server.bearer_dpop_algs.value.empty()) {
    return Error{Errc::kConfig,
                 "CoinpayBearerDPoPAlgorithms names no algorithm: list at least one, e.g. ES256"};
  }
  out.bearer.dpop_algs = server.bearer_dpop_algs.value;
  if (auto st = ApplyBearerSecurityProfile(server, out.bearer); !st) {
    return st.error();
  }
  for (const ProviderConfig& p : out.providers) {
    if (p.login_enabled) {
      out.bearer.own_client_ids.push_back(p.client_id);
    }
  }
  out.token_cache_size = static_cast<size_t>(server.token_cache_size.value);
  out.error_pages = ErrorPagesOf(server);
  return out;
}

}  // namespace coinpay
