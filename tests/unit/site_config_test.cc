// What `apachectl -t` says about a site's directives, and what a good site's configuration holds:
// every refusal BuildSiteConfig makes, with its full text (the directive and the fix).
#include "core/site_config.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/cookie_sealer.h"
#include "core/directive_kinds.h"
#include "core/site_settings.h"
#include "site_settings_util.h"

namespace coinpay {
namespace {

constexpr char kSecret[] = "client-secret-value-1";
constexpr char kPassphrase[] = "a-long-random-passphrase-0123456789";

// A complete site: one OpenID Connect provider signing users in.
SiteSettings Good() {
  SiteSettings s;
  Set(s.issuer, "https://coinpayportal.com");
  Set(s.client_id, "cid");
  Set(s.client_secret, kSecret);
  Set(s.redirect_uri, "https://example-business.com/api/auth/callback/coinpay");
  Set(s.passphrases, {kPassphrase});
  return s;
}

// A plain OAuth 2.0 provider section (Coinbase), complete.
SiteSettings GoodOAuth2() {
  SiteSettings s;
  Set(s.profile, ProviderProfile::kOAuth2);
  Set(s.client_id, "cb-client");
  Set(s.client_secret, kSecret);
  Set(s.redirect_uri, "https://example-business.com/api/auth/callback/coinbase");
  Set(s.authorization_endpoint, "https://login.coinbase.com/oauth2/auth");
  Set(s.token_endpoint, "https://login.coinbase.com/oauth2/token");
  Set(s.user_endpoint, "https://api.coinbase.com/v2/user");
  Set(s.subject_pointer, "/data/id");
  return s;
}

SiteContext Served() {
  SiteContext c;
  c.server_name = "Example-Business.COM";
  c.tree.callback_locations = {"/api/auth/callback"};
  return c;
}

Result<SiteConfig> Build(const SiteSettings& s, const ProviderSections& sections = {},
                         const SiteContext& context = Served()) {
  return BuildSiteConfig(s, sections, context);
}

// The refusal's text ("" when the site was accepted); never a secret.
std::string Refusal(const SiteSettings& s, const ProviderSections& sections = {},
                    const SiteContext& context = Served()) {
  auto site = Build(s, sections, context);
  if (site) {
    return "";
  }
  EXPECT_EQ(site.error().code, Errc::kConfig);
  EXPECT_EQ(site.error().detail.find(kSecret), std::string::npos);
  EXPECT_EQ(site.error().detail.find(kPassphrase), std::string::npos);
  return site.error().detail;
}

TEST(SiteConfig, GoodSiteIsAccepted) {
  auto site = Build(Good());
  ASSERT_TRUE(site) << site.error().detail;
  ASSERT_EQ(site->providers.size(), 1u);
  EXPECT_EQ(site->providers[0].name, "");
  EXPECT_EQ(site->providers[0].display_name, "CoinPay");
  EXPECT_EQ(site->providers[0].redirect_path, "/api/auth/callback/coinpay");
  EXPECT_TRUE(site->login);
  EXPECT_TRUE(site->session.secure_cookies);  // the redirect URI is https
  ASSERT_NE(site->session.sealer, nullptr);
}

TEST(SiteConfig, DirectivesReachTheProviderAndSessions) {
  SiteSettings s = Good();
  Set(s.connect_timeout, 3);
  Set(s.http_timeout, 7);
  Set(s.leeway, 30);
  Set(s.idle_timeout, 120);
  Set(s.max_age, 600);
  Set(s.max_login_attempts, 2);
  Set(s.cookie_name, "sid");
  Set(s.allowed_origins, {"https://app.example-business.com:8443/ignored/path"});
  Set(s.auth_params, {{"account", "all"}});
  auto site = Build(s);
  ASSERT_TRUE(site) << site.error().detail;
  const ProviderConfig& p = site->providers[0];
  EXPECT_EQ(p.connect_timeout_ms, 3000);
  EXPECT_EQ(p.timeout_ms, 7000);
  EXPECT_EQ(p.leeway_seconds, 30);
  EXPECT_EQ(p.auth_params, (std::vector<std::pair<std::string, std::string>>{{"account", "all"}}));
  EXPECT_EQ(site->session.idle_timeout_seconds, 120);
  EXPECT_EQ(site->session.max_age_seconds, 600);
  EXPECT_EQ(site->session.max_login_attempts, 2);
  EXPECT_EQ(site->session.cookie_name, "sid");
  EXPECT_EQ(site->session.allowed_redirect_origins,
            std::vector<std::string>{"https://app.example-business.com:8443"});
}

TEST(SiteConfig, SessionsBelongToTheLowerCasedServerNameUnlessAScopeIsNamed) {
  auto site = Build(Good());
  ASSERT_TRUE(site);
  EXPECT_EQ(site->session.scope, "host:example-business.com");
  SiteSettings s = Good();
  Set(s.session_scope, "shop");
  site = Build(s);
  ASSERT_TRUE(site);
  EXPECT_EQ(site->session.scope, "scope:shop");
}

TEST(SiteConfig, SessionIndexIsKeptOnlyWithBackchannelLogout) {
  SiteContext c = Served();
  EXPECT_FALSE(Build(Good(), {}, c)->session.index_sessions);
  c.index_sessions = true;
  EXPECT_TRUE(Build(Good(), {}, c)->session.index_sessions);
}

TEST(SiteConfig, ProvidersComeTopLevelFirstThenSectionsInOrder) {
  SiteSettings coinbase = GoodOAuth2();
  SiteSettings other = Good();
  Set(other.redirect_uri, "https://example-business.com/api/auth/callback/other");
  auto site = Build(Good(), {{"coinbase", &coinbase}, {"other", &other}});
  ASSERT_TRUE(site) << site.error().detail;
  ASSERT_EQ(site->providers.size(), 3u);
  EXPECT_EQ(site->providers[0].name, "");
  EXPECT_EQ(site->providers[1].name, "coinbase");
  EXPECT_EQ(site->providers[1].display_name, "coinbase");
  EXPECT_EQ(site->providers[1].issuer, "https://login.coinbase.com");
  EXPECT_EQ(site->providers[2].name, "other");
  EXPECT_EQ(site->bearer.own_client_ids, (std::vector<std::string>{"cid", "cb-client", "cid"}));
}

TEST(SiteConfig, SectionsAloneMakeASite) {
  SiteSettings server;
  Set(server.passphrases, {kPassphrase});
  SiteSettings coinbase = GoodOAuth2();
  auto site = Build(server, {{"coinbase", &coinbase}});
  ASSERT_TRUE(site) << site.error().detail;
  ASSERT_EQ(site->providers.size(), 1u);
  EXPECT_EQ(site->providers[0].name, "coinbase");
}

TEST(SiteConfig, BearerOnlySiteNeedsNoClientNorPassphrase) {
  SiteSettings s;
  Set(s.issuer, "https://coinpayportal.com");
  Set(s.bearer_audiences, {"https://api.example-business.com"});
  Set(s.bearer_token_type, AccessTokenType::kJwt);
  Set(s.bearer_realm, "payments");
  Set(s.token_cache_size, 5);
  SiteContext c;
  c.tree.uses_bearer = true;
  auto site = Build(s, {}, c);
  ASSERT_TRUE(site) << site.error().detail;
  EXPECT_FALSE(site->login);
  EXPECT_FALSE(site->providers[0].login_enabled);
  EXPECT_EQ(site->bearer.audiences, std::vector<std::string>{"https://api.example-business.com"});
  EXPECT_EQ(site->bearer.token_type, AccessTokenType::kJwt);
  EXPECT_EQ(site->bearer.realm, "payments");
  EXPECT_TRUE(site->bearer.own_client_ids.empty());
  EXPECT_EQ(site->token_cache_size, 5u);
}

TEST(SiteConfig, ErrorPagesAreFiledByKind) {
  SiteSettings s = Good();
  Set(s.error_template, "<p>{{message}}</p>");
  Set(s.error_pages, {{"login_expired", "<p>expired</p>"}});
  auto site = Build(s);
  ASSERT_TRUE(site);
  EXPECT_EQ(site->error_pages.template_html, "<p>{{message}}</p>");
  EXPECT_EQ(site->error_pages.pages[static_cast<size_t>(ErrorKind::kLoginExpired)],
            "<p>expired</p>");
  EXPECT_TRUE(Build(Good())->error_pages.Empty());
}

// --- signing algorithms ---------------------------------------------------------------------

TEST(SiteConfig, SigningAlgorithmsGovernTheProvidersTokens) {
  SiteSettings s = Good();
  Set(s.signing_algs, {"EdDSA", "PS256"});
  EXPECT_EQ(Build(s)->providers[0].signing_algs, (std::vector<std::string>{"EdDSA", "PS256"}));
  EXPECT_EQ(Build(Good())->providers[0].signing_algs, (std::vector<std::string>{"RS256", "ES256"}));
}

TEST(SiteConfig, IDTokenAlgorithmsStillWorksAsTheFormerName) {
  SiteSettings s = Good();
  Set(s.id_token_algs, {"ES384"});
  EXPECT_EQ(Build(s)->providers[0].signing_algs, std::vector<std::string>{"ES384"});
}

TEST(SiteConfig, RefusesBothSigningAlgorithmNames) {
  SiteSettings s = Good();
  Set(s.signing_algs, {"RS256"});
  Set(s.id_token_algs, {"RS256"});
  EXPECT_EQ(Refusal(s),
            "CoinpaySigningAlgorithms and CoinpayIDTokenAlgorithms are both set: they are one "
            "setting (CoinpayIDTokenAlgorithms is its former name); keep CoinpaySigningAlgorithms "
            "and remove CoinpayIDTokenAlgorithms");
}

TEST(SiteConfig, RefusesSymmetricAlgorithmsNamingTheDirectiveUsed) {
  SiteSettings s = Good();
  Set(s.signing_algs, {"RS256", "HS256"});
  EXPECT_EQ(Refusal(s),
            "CoinpaySigningAlgorithms: HS256 is not accepted; use asymmetric algorithms such as "
            "RS256 ES256 PS256 EdDSA");
  s = Good();
  Set(s.id_token_algs, {"none"});
  EXPECT_EQ(Refusal(s),
            "CoinpayIDTokenAlgorithms: none is not accepted; use asymmetric algorithms such as "
            "RS256 ES256 PS256 EdDSA");
}

// --- the OpenID Connect provider --------------------------------------------------------------

TEST(SiteConfig, RefusesMissingIssuer) {
  SiteSettings s = Good();
  s.issuer = {};
  Set(s.client_id, "cid");  // the provider exists through its client directives
  EXPECT_EQ(Refusal(s),
            "CoinpayIssuer is missing: set it to the provider's issuer URL, e.g. CoinpayIssuer "
            "https://coinpayportal.com");
}

TEST(SiteConfig, RefusesPlainHttpIssuerOffLoopback) {
  SiteSettings s = Good();
  Set(s.issuer, "http://coinpayportal.com");
  EXPECT_EQ(Refusal(s),
            "CoinpayIssuer must be an https:// URL (plain http:// is accepted only for "
            "127.0.0.1 / localhost)");
  Set(s.issuer, "http://127.0.0.1:9090");
  EXPECT_EQ(Refusal(s), "");
}

TEST(SiteConfig, RefusesMissingClientID) {
  SiteSettings s = Good();
  s.client_id = {};
  EXPECT_EQ(Refusal(s), "CoinpayClientID is missing: set it to the client id the provider issued");
}

TEST(SiteConfig, RefusesMissingClientSecretUnlessPublicClient) {
  SiteSettings s = Good();
  s.client_secret = {};
  EXPECT_EQ(Refusal(s),
            "CoinpayClientSecret is missing: set it, declare a public client with "
            "CoinpayTokenEndpointAuth none, or authenticate with a key (CoinpayTokenEndpointAuth "
            "private_key_jwt)");
  Set(s.token_auth, TokenEndpointAuth::kNone);
  EXPECT_EQ(Refusal(s), "");
}

TEST(SiteConfig, RefusesMissingRedirectURI) {
  SiteSettings s = Good();
  s.redirect_uri = {};
  EXPECT_EQ(Refusal(s),
            "CoinpayRedirectURI is missing: set it to the absolute callback URL registered at "
            "the provider, e.g. https://example-business.com/api/auth/callback/coinpay");
}

TEST(SiteConfig, RefusesRelativeRedirectURI) {
  SiteSettings s = Good();
  Set(s.redirect_uri, "/api/auth/callback/coinpay");
  EXPECT_EQ(Refusal(s),
            "CoinpayRedirectURI must be an absolute http(s) URL such as "
            "https://example-business.com/api/auth/callback/coinpay");
}

TEST(SiteConfig, RefusesScopeWithoutOpenid) {
  SiteSettings s = Good();
  Set(s.scope, "email profile");
  EXPECT_EQ(Refusal(s),
            "CoinpayScope must include openid for OpenID Connect sign-in, e.g. CoinpayScope "
            "\"openid email profile\"");
}

TEST(SiteConfig, SectionRefusalsNameTheSection) {
  SiteSettings other = Good();
  other.client_id = {};
  EXPECT_EQ(Refusal(Good(), {{"other", &other}}),
            "CoinpayClientID is missing in <CoinpayProvider other>: set it to the client id the "
            "provider issued");
}

// --- a plain OAuth 2.0 provider ---------------------------------------------------------------

TEST(SiteConfig, OAuth2ProviderRefusesEachMissingDirective) {
  struct Case {
    Field<kinds::Text> SiteSettings::*text;
    Field<kinds::Url> SiteSettings::*url;
    const char* directive;
  };
  const std::vector<Case> cases = {
      {&SiteSettings::client_id, nullptr, "CoinpayClientID"},
      {nullptr, &SiteSettings::redirect_uri, "CoinpayRedirectURI"},
      {nullptr, &SiteSettings::authorization_endpoint, "CoinpayAuthorizationEndpoint"},
      {nullptr, &SiteSettings::token_endpoint, "CoinpayTokenEndpoint"},
      {nullptr, &SiteSettings::user_endpoint, "CoinpayUserEndpoint"},
      {&SiteSettings::subject_pointer, nullptr, "CoinpaySubjectPointer"},
  };
  SiteSettings server;
  Set(server.passphrases, {kPassphrase});
  for (const Case& c : cases) {
    SiteSettings coinbase = GoodOAuth2();
    if (c.text != nullptr) {
      coinbase.*c.text = {};
    } else {
      coinbase.*c.url = {};
    }
    EXPECT_EQ(Refusal(server, {{"coinbase", &coinbase}}),
              std::string(c.directive) +
                  " is missing in <CoinpayProvider coinbase>: a plain OAuth 2.0 provider "
                  "(CoinpayProviderProfile oauth2) needs it, as it has no discovery and no ID "
                  "token");
  }
}

TEST(SiteConfig, OAuth2ProviderRefusesMissingSecretUnlessPublic) {
  SiteSettings server;
  Set(server.passphrases, {kPassphrase});
  SiteSettings coinbase = GoodOAuth2();
  coinbase.client_secret = {};
  EXPECT_EQ(Refusal(server, {{"coinbase", &coinbase}}),
            "CoinpayClientSecret is missing in <CoinpayProvider coinbase>: set it, declare a "
            "public client with CoinpayTokenEndpointAuth none, or authenticate with a key "
            "(CoinpayTokenEndpointAuth private_key_jwt)");
  Set(coinbase.token_auth, TokenEndpointAuth::kNone);
  EXPECT_EQ(Refusal(server, {{"coinbase", &coinbase}}), "");
}

TEST(SiteConfig, OAuth2ProviderRefusesSubjectPointerWithoutSlash) {
  SiteSettings server;
  Set(server.passphrases, {kPassphrase});
  SiteSettings coinbase = GoodOAuth2();
  Set(coinbase.subject_pointer, "data/id");
  EXPECT_EQ(Refusal(server, {{"coinbase", &coinbase}}),
            "CoinpaySubjectPointer in <CoinpayProvider coinbase> is a JSON pointer and starts "
            "with /, e.g. /data/id");
}

TEST(SiteConfig, OAuth2ProviderRefusesRelativeRedirectURI) {
  SiteSettings server;
  Set(server.passphrases, {kPassphrase});
  SiteSettings coinbase = GoodOAuth2();
  Set(coinbase.redirect_uri, "/api/auth/callback/coinbase");
  EXPECT_EQ(Refusal(server, {{"coinbase", &coinbase}}),
            "CoinpayRedirectURI in <CoinpayProvider coinbase> must be an absolute http(s) URL");
}

// --- the site ---------------------------------------------------------------------------------

TEST(SiteConfig, RefusesTwoProvidersSharingARedirectURI) {
  SiteSettings other = Good();
  EXPECT_EQ(Refusal(Good(), {{"other", &other}}),
            "two providers share the CoinpayRedirectURI "
            "https://example-business.com/api/auth/callback/coinpay: give each its own, e.g. "
            "/api/auth/callback/<name>");
}

TEST(SiteConfig, RefusesASiteWithoutProvider) {
  SiteSettings s;
  Set(s.passphrases, {kPassphrase});
  EXPECT_EQ(Refusal(s),
            "no provider: set CoinpayIssuer (and the client directives), or add a "
            "<CoinpayProvider name> section");
}

// --- sessions -----------------------------------------------------------------------------------

TEST(SiteConfig, RefusesMissingPassphrase) {
  SiteSettings s = Good();
  s.passphrases = {};
  EXPECT_EQ(Refusal(s),
            "CoinpayCryptoPassphrase is missing: set a long random secret (e.g. the output of "
            "`openssl rand -base64 32`) to seal cookies");
}

TEST(SiteConfig, RefusesShortPassphraseEvenAnOldOne) {
  SiteSettings s = Good();
  Set(s.passphrases, {kPassphrase, "short-old-pass"});
  EXPECT_EQ(Refusal(s),
            "CoinpayCryptoPassphrase: each passphrase needs at least 16 characters; use e.g. "
            "`openssl rand -base64 32`");
  Set(s.passphrases, {kPassphrase, "exactly-16-chars"});
  EXPECT_EQ(Refusal(s), "");
}

TEST(SiteConfig, RefusesZeroLoginAttempts) {
  SiteSettings s = Good();
  Set(s.max_login_attempts, 0);
  EXPECT_EQ(Refusal(s), "CoinpayMaxLoginAttempts must be at least 1");
}

TEST(SiteConfig, RefusesSessionTimeoutsUnderAMinute) {
  const char* want =
      "CoinpaySessionIdleTimeout and CoinpaySessionMaxAge must be at least 60 seconds";
  SiteSettings s = Good();
  Set(s.idle_timeout, 59);
  EXPECT_EQ(Refusal(s), want);
  s = Good();
  Set(s.max_age, 10);
  EXPECT_EQ(Refusal(s), want);
  Set(s.max_age, 60);
  EXPECT_EQ(Refusal(s), "");
}

TEST(SiteConfig, RefusesAllowedOriginThatIsNoOrigin) {
  SiteSettings s = Good();
  Set(s.allowed_origins, {"app.example-business.com"});
  EXPECT_EQ(Refusal(s),
            "CoinpayRedirectAllowOrigin: app.example-business.com is not an origin; write it as "
            "https://host[:port]");
}

TEST(SiteConfig, BearerOnlySiteSkipsSessionRules) {
  SiteSettings s;
  Set(s.issuer, "https://coinpayportal.com");
  Set(s.bearer_any_audience, true);
  Set(s.max_login_attempts, 0);  // no sign-in here, so no session rule applies
  EXPECT_EQ(Refusal(s, {}, SiteContext{}), "");
}

// --- what the configuration tree must hold ------------------------------------------------------

TEST(SiteConfig, RefusesCallbackPathNoLocationServes) {
  SiteContext c = Served();
  c.tree.callback_locations = {"/api/auth/callbacks", "/other"};
  EXPECT_EQ(Refusal(Good(), {}, c),
            "CoinpayRedirectURI's path /api/auth/callback/coinpay is not served by any "
            "location: add <Location /api/auth/callback/coinpay> SetHandler coinpay-callback / "
            "Require all granted </Location>");
  c.tree.callback_locations = {"/api/auth/callback/coinpay"};
  EXPECT_EQ(Refusal(Good(), {}, c), "");
}

TEST(SiteConfig, RefusesBearerWithoutAudience) {
  SiteContext c = Served();
  c.tree.uses_bearer = true;
  const char* want =
      "AuthType coinpay-bearer is used but CoinpayBearerAudience is not set: name this API's "
      "audience (e.g. CoinpayBearerAudience https://api.example-business.com), or accept any "
      "audience explicitly with CoinpayBearerAnyAudience On";
  EXPECT_EQ(Refusal(Good(), {}, c), want);
  SiteSettings s = Good();
  Set(s.bearer_any_audience, true);
  EXPECT_EQ(Refusal(s, {}, c), "");
}

TEST(SiteConfig, DPoPProofAlgorithmsMustBeAsymmetricAndSome) {
  EXPECT_EQ(Build(Good())->bearer.dpop_algs, (std::vector<std::string>{"ES256", "PS256", "EdDSA"}));
  SiteSettings s = Good();
  Set(s.bearer_dpop_algs, std::vector<std::string>{"ES256", "HS256"});
  EXPECT_EQ(Refusal(s),
            "CoinpayBearerDPoPAlgorithms: HS256 is not an accepted DPoP proof algorithm; use "
            "asymmetric ones: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA");
  Set(s.bearer_dpop_algs, std::vector<std::string>{"none"});
  EXPECT_NE(Refusal(s).find("none is not an accepted"), std::string::npos);
  Set(s.bearer_dpop_algs, std::vector<std::string>{});
  EXPECT_EQ(Refusal(s),
            "CoinpayBearerDPoPAlgorithms names no algorithm: list at least one, e.g. ES256");
  Set(s.bearer_dpop_algs, std::vector<std::string>{"PS256"});
  EXPECT_EQ(Build(s)->bearer.dpop_algs, std::vector<std::string>{"PS256"});
}

TEST(SiteConfig, CoinpayDPoPReachesTheProvider) {
  EXPECT_EQ(Build(Good())->providers[0].dpop, ClientDPoP::kOff);
  SiteSettings s = Good();
  Set(s.dpop, ClientDPoP::kRequired);
  EXPECT_EQ(Build(s)->providers[0].dpop, ClientDPoP::kRequired);
}

TEST(SiteConfig, LocationCoversWholePathSegments) {
  EXPECT_TRUE(LocationCovers("/cb", "/cb"));
  EXPECT_TRUE(LocationCovers("/api", "/api/cb"));
  EXPECT_TRUE(LocationCovers("/api/", "/api/cb"));
  EXPECT_FALSE(LocationCovers("/api", "/apix/cb"));
}

// --- which servers use the module; <CoinpayProvider> names -------------------------------------

TEST(SiteConfig, ServerUsesModuleWhenAnyProviderOrSealingDirectiveIsSet) {
  SiteSettings s;
  EXPECT_FALSE(UsesModule(s, false));
  EXPECT_TRUE(UsesModule(s, true));
  Set(s.cookie_name, "sid");
  EXPECT_FALSE(UsesModule(s, false));  // session details alone configure nothing
  Set(s.passphrases, {kPassphrase});
  EXPECT_TRUE(UsesModule(s, false));
  SiteSettings b;
  Set(b.bearer_audiences, {"https://api.example-business.com"});
  EXPECT_TRUE(HasTopLevelProvider(b));
}

TEST(SiteConfig, RefusesAProviderSectionNamedTwice) {
  SiteSettings coinbase = GoodOAuth2();
  EXPECT_TRUE(CheckProviderSectionName("paylent", {{"coinbase", &coinbase}}));
  Status st = CheckProviderSectionName("coinbase", {{"coinbase", &coinbase}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().detail, "<CoinpayProvider coinbase> appears twice");
}

TEST(SiteConfig, RefusesCoinpayLocationsWithoutAnyConfiguredServer) {
  EXPECT_TRUE(CheckSomeServerConfigured(false, false, false));
  EXPECT_TRUE(CheckSomeServerConfigured(true, true, true));
  const std::string fix =
      " is used but no CoinpayIssuer is configured: add CoinpayIssuer, CoinpayClientID, "
      "CoinpayClientSecret, CoinpayRedirectURI and CoinpayCryptoPassphrase";
  EXPECT_EQ(CheckSomeServerConfigured(false, true, false).error().detail, "AuthType coinpay" + fix);
  EXPECT_EQ(CheckSomeServerConfigured(false, true, true).error().detail, "AuthType coinpay" + fix);
  EXPECT_EQ(CheckSomeServerConfigured(false, false, true).error().detail,
            "AuthType coinpay-bearer" + fix);
}

TEST(SiteConfig, LocationAcceptsTheProvidersItNamesElseTheSitesFirst) {
  LocationSettings s;
  EXPECT_TRUE(LocationOptionsOf(s).providers.empty()) << "none named: the site's provider";
  Set(s.use_provider, {"default", "coinbase"});
  Set(s.unauthenticated, LocationOptions::Unauthenticated::kDeny);
  Set(s.location_max_age, 300);
  Set(s.location_idle_timeout, 120);
  Set(s.refresh, LocationOptions::Refresh::kAlways);
  Set(s.pass_access_token, true);
  LocationOptions o = LocationOptionsOf(s);
  EXPECT_EQ(o.providers, (std::vector<std::string>{"", "coinbase"}));
  EXPECT_EQ(o.unauthenticated, LocationOptions::Unauthenticated::kDeny);
  EXPECT_EQ(o.max_age_seconds, 300);
  EXPECT_EQ(o.idle_timeout_seconds, 120);
  EXPECT_EQ(o.refresh, LocationOptions::Refresh::kAlways);
  EXPECT_TRUE(o.pass_access_token);
}

// The glue's per-request merge shares a section that sets nothing instead of copying the other
// side: every row a line sets must make the section count as setting something.
TEST(SiteConfig, ASectionThatSetsAnyRowIsNotMergedAwayAsEmpty) {
  EXPECT_TRUE(SetsNothing(LocationSettings{}));
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help) \
  {                                               \
    LocationSettings s;                           \
    s.field.set = true;                           \
    EXPECT_FALSE(SetsNothing(s)) << #Name;        \
  }
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
}

// A section that sets every row its parent sets is shared by the merge, not copied: any row
// only the parent sets must stop that.
TEST(SiteConfig, ASectionIsSharedOverItsParentOnlyWhenItSetsEveryRowTheParentSets) {
  EXPECT_TRUE(SetsEveryRowOf(LocationSettings{}, LocationSettings{}));
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help)                      \
  {                                                                    \
    LocationSettings parent;                                           \
    parent.field.set = true;                                           \
    EXPECT_FALSE(SetsEveryRowOf(LocationSettings{}, parent)) << #Name; \
    EXPECT_TRUE(SetsEveryRowOf(parent, LocationSettings{})) << #Name;  \
    EXPECT_TRUE(SetsEveryRowOf(parent, parent)) << #Name;              \
  }
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
}

TEST(SiteConfig, ProviderSectionNamesArePlainAndNotDefault) {
  for (const char* good : {"coinbase", "network-coin_2", "a"}) {
    EXPECT_TRUE(CheckProviderSectionName(good, {})) << good;
  }
  for (const char* bad :
       {"", "default", "Coinbase", "coin base", "a/b", "a-name-that-is-longer-than-32-chars"}) {
    Status st = CheckProviderSectionName(bad, {});
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().detail,
              "<CoinpayProvider> takes a name of lower-case letters, digits, - and _ (not "
              "\"default\", which is the top-level provider), e.g. <CoinpayProvider coinbase>");
  }
}

// --- the directive kinds (what httpd prints after the directive's name) ------------------------

TEST(DirectiveKinds, EveryRowsDefaultParses){
#define COINPAY_SERVER(Name, field, Kind, def, help)         \
  {                                                          \
    kinds::Kind::Type v{};                                   \
    EXPECT_EQ(kinds::Kind::Parse(def, v), nullptr) << #Name; \
  }
#define COINPAY_DIR(Name, field, Kind, def, help) COINPAY_SERVER(Name, field, Kind, def, help)
#include "core/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
}

TEST(DirectiveKinds, RefusalsSayWhatToWrite) {
  std::string text;
  EXPECT_STREQ(kinds::Url::Parse("coinpayportal.com", text),
               "takes an absolute http:// or https:// URL, e.g. https://coinpayportal.com");
  int64_t n = 0;
  EXPECT_STREQ(kinds::Seconds::Parse("1h", n), "takes a whole number of seconds, e.g. 3600");
  EXPECT_STREQ(kinds::Seconds::Parse("-5", n), "takes a whole number of seconds, e.g. 3600");
  EXPECT_STREQ(kinds::Count::Parse("many", n), "takes a whole positive number, e.g. 10000");
  bool flag = false;
  EXPECT_STREQ(kinds::Flag::Parse("yes", flag), "takes On or Off");
  std::vector<std::string> list;
  EXPECT_STREQ(kinds::List::Append("", list), "does not take an empty value");
  kinds::TokenAuth::Type auth{};
  EXPECT_STREQ(kinds::TokenAuth::Parse("tls_client_auth", auth),
               "takes client_secret_basic, client_secret_post, private_key_jwt or none");
  EXPECT_EQ(kinds::TokenAuth::Parse("private_key_jwt", auth), nullptr);
  EXPECT_EQ(auth, TokenEndpointAuth::kPrivateKeyJwt);
  kinds::PassClaims::Type pass{};
  EXPECT_STREQ(kinds::PassClaims::Parse("cookies", pass),
               "takes environment, headers, both or none");
  kinds::Unauthenticated::Type unauth{};
  EXPECT_STREQ(kinds::Unauthenticated::Parse("403", unauth), "takes auto, login or 401");
  kinds::Profile::Type profile{};
  EXPECT_STREQ(kinds::Profile::Parse("saml", profile),
               "takes oidc (OpenID Connect) or oauth2 (plain OAuth 2.0)");
  kinds::RevocationAuth::Type revocation{};
  EXPECT_STREQ(kinds::RevocationAuth::Parse("basic", revocation), "takes client or bearer");
  kinds::Userinfo::Type userinfo{};
  EXPECT_STREQ(kinds::Userinfo::Parse("maybe", userinfo), "takes auto, on or off");
  kinds::BearerTokenType::Type typ{};
  EXPECT_STREQ(kinds::BearerTokenType::Parse("id+jwt", typ),
               "takes at+jwt (RFC 9068 access tokens) or jwt");
  kinds::Refresh::Type refresh{};
  EXPECT_STREQ(kinds::Refresh::Parse("never", refresh), "takes auto or always");
  kinds::Cidrs::Type cidrs;
  const char* err = kinds::Cidrs::Append("10.0.0.0/33", cidrs);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(std::string(err).rfind("takes addresses or CIDR ranges of trusted proxies: ", 0), 0u)
      << err;
}

TEST(DirectiveKinds, PairsTakeANameAndAValue) {
  kinds::Pairs::Type pairs;
  EXPECT_EQ(kinds::Pairs::Append("email", "/data/email", pairs), nullptr);
  EXPECT_EQ(pairs, (kinds::Pairs::Type{{"email", "/data/email"}}));
  EXPECT_STREQ(kinds::Pairs::Append("email", "", pairs), "takes a name and a value, neither empty");
  EXPECT_STREQ(kinds::Pairs::Append("", "/x", pairs), "takes a name and a value, neither empty");
  EXPECT_STREQ(kinds::Pairs::Parse("a b", pairs), "takes a name and a value");
}

}  // namespace
}  // namespace coinpay
