// Startup: validate, then build. Validation runs in check_config, so `apachectl -t` reports a
// bad configuration with the directive to fix; post_config then builds what requests use.
#include "httpd/runtime.h"

#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include <cctype>
#include <string>

#include "core/crypto.h"
#include "core/encrypted_session_store.h"
#include "core/redirect_guard.h"
#include "httpd/config_tree.h"
#include "httpd/metrics_runtime.h"
#include "httpd/module.h"
#include "platform/curl_http_client.h"
#include "platform/redis_session_store.h"
#include "platform/shm_session_store.h"
#include "platform/system_clock.h"

namespace coinpay::httpd {
namespace {

constexpr size_t kMinPassphraseChars = 16;
constexpr char kRetainedKey[] = "mod_coinpay_auth/session-shm";

// Kept across graceful restarts in the parent (ap_retained_data), so sessions survive them.
struct Retained {
  void* base;
  size_t size;
  size_t capacity;
  size_t entry_size;
};

struct Process {
  SystemClock clock;
  OsRandom random;
  std::unique_ptr<CurlHttpClient> http;
  std::unique_ptr<ShmSessionStore> shm;
  std::unique_ptr<RedisSessionStore> redis;
  std::unique_ptr<EncryptedSessionStore> sealed;  // over redis
  SessionStore* store = nullptr;                  // the one requests use
};

Process& TheProcess() {
  static Process* p = new Process();  // lives as long as the process; never destroyed mid-request
  return *p;
}

// Splits "a b c d" list values into (a, b), (c, d): directives that take a name and a value.
Status Pairs(const std::vector<std::string>& flat, const char* directive,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (flat.size() % 2 != 0) {
    return Error{Errc::kConfig, std::string(directive) + " takes a name and a value"};
  }
  for (size_t i = 0; i < flat.size(); i += 2) {
    out.emplace_back(flat[i], flat[i + 1]);
  }
  return OkStatus();
}

// The operator's error pages of a server, checked when their lines were read.
ErrorPages ErrorPagesOf(const ServerConfig& c) {
  ErrorPages pages;
  pages.template_html = c.error_template.value;
  for (const auto& [name, html] : c.error_pages.value) {
    if (auto kind = ErrorKindNamed(name)) {
      pages.pages[static_cast<size_t>(*kind)] = html;
    }
  }
  return pages;
}

// The top-level provider exists when any of its identifying directives is set.
bool HasDefaultProvider(const ServerConfig& c) {
  return c.issuer.set || c.client_id.set || c.client_secret.set || c.redirect_uri.set ||
         c.bearer_audiences.set;
}

Status BuildProviderConfig(const ServerConfig& c, const std::string& name, ProviderConfig& p) {
  p.name = name;
  p.profile = c.profile.value;
  p.revocation_auth = c.revocation_auth.value;
  p.display_name = c.display_name.value;
  p.user_endpoint = c.user_endpoint.value;
  p.subject_pointer = c.subject_pointer.value;
  if (auto st = Pairs(c.claim_pointers.value, "CoinpayClaimPointer", p.claim_pointers); !st) {
    return st;
  }
  if (auto st = Pairs(c.auth_params.value, "CoinpayAuthParam", p.auth_params); !st) {
    return st;
  }
  p.issuer = c.issuer.value;
  p.client_id = c.client_id.value;
  p.client_secret = c.client_secret.value;
  p.redirect_uri = c.redirect_uri.value;
  p.scope = c.scope.value;
  p.token_auth = c.token_auth.value;
  p.resource = c.resource.value;
  p.provider_logout_return = c.provider_logout_return.value;
  p.userinfo = c.userinfo.value;
  p.metadata_url = c.metadata_url.value;
  p.authorization_endpoint = c.authorization_endpoint.value;
  p.token_endpoint = c.token_endpoint.value;
  p.jwks_uri = c.jwks_uri.value;
  p.revocation_endpoint = c.revocation_endpoint.value;
  p.id_token_algs = c.id_token_algs.value;
  p.leeway_seconds = c.leeway.value;
  p.refresh_before_seconds = c.refresh_before.value;
  p.jwks_min_refetch_seconds = c.jwks_refetch.value;
  p.connect_timeout_ms = static_cast<long>(c.connect_timeout.value * 1000);
  p.timeout_ms = static_cast<long>(c.http_timeout.value * 1000);
  for (const auto& alg : p.id_token_algs) {
    if (!IsSupportedAlgorithm(alg)) {
      return Error{Errc::kConfig, "CoinpayIDTokenAlgorithms: " + alg +
                                      " is not accepted; use asymmetric algorithms such as "
                                      "RS256 ES256 PS256 EdDSA"};
    }
  }
  return FinalizeProviderConfig(p);
}

Status BuildSessionConfig(const ServerConfig& c, SessionConfig& sc, bool https) {
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
  if (c.idle_timeout.value < 60 || c.max_age.value < 60) {
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

// Every provider of a server (the top-level one first, when configured) and its sessions.
struct SiteConfigs {
  std::vector<ProviderConfig> providers;
  SessionConfig session;
  bool login = false;  // some provider signs users in (not only bearer tokens)
};

Status BuildSite(const ServerConfig& c, SiteConfigs& out) {
  if (HasDefaultProvider(c)) {
    ProviderConfig p;
    if (auto st = BuildProviderConfig(c, "", p); !st) {
      return st;
    }
    out.providers.push_back(std::move(p));
  }
  for (const auto& [name, pc] : c.providers) {
    ProviderConfig p;
    if (auto st = BuildProviderConfig(*pc, name, p); !st) {
      return st;
    }
    out.providers.push_back(std::move(p));
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
  return out.login ? BuildSessionConfig(c, out.session, https) : OkStatus();
}

// " (in the <VirtualHost> at file:line)" for a virtual host; nothing for the main server.
std::string Where(server_rec* s) {
  if (s->is_virtual == 0 || s->defn_name == nullptr) {
    return "";
  }
  return std::string(" (in the <VirtualHost> at ") + s->defn_name + ":" +
         std::to_string(s->defn_line_number) + ")";
}

// The site this server's sessions belong to: the operator's CoinpaySessionScope, else the
// virtual host's canonical name (browsers share cookies across ports, so the port is left out).
std::string SessionScope(server_rec* s, const ServerConfig& c) {
  if (!c.session_scope.value.empty()) {
    return "scope:" + c.session_scope.value;
  }
  std::string host = s->server_hostname != nullptr ? s->server_hostname : "";
  for (char& ch : host) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return "host:" + host;
}

// The at-rest key for Redis comes from the first server's first passphrase.
std::string AtRestKey(server_rec* s) {
  for (server_rec* v = s; v != nullptr; v = v->next) {
    const ServerConfig& c = ServerConfigOf(v);
    if (!c.passphrases.value.empty()) {
      return CookieSealer(c.passphrases.value).DeriveKey("session-at-rest");
    }
  }
  return {};
}

Status OpenRedisStore(server_rec* main) {
  const ServerConfig& c = ServerConfigOf(main);
  auto options = RedisSessionStore::ParseUrl(c.session_store.value);
  if (!options) {
    return Error{Errc::kConfig, "CoinpaySessionStore " + options.error().detail};
  }
  options->timeout_ms = static_cast<long>(c.redis_timeout.value * 1000);
  std::string key = AtRestKey(main);
  if (key.size() != 32) {
    return Error{Errc::kConfig,
                 "CoinpaySessionStore redis:// needs CoinpayCryptoPassphrase (it "
                 "encrypts sessions at rest)"};
  }
  Process& proc = TheProcess();
  proc.redis = std::make_unique<RedisSessionStore>(*options);
  proc.sealed = std::make_unique<EncryptedSessionStore>(*proc.redis, key, proc.random);
  proc.store = proc.sealed.get();
  ap_log_error(APLOG_MARK, APLOG_INFO, 0, main, "CPA00909: sessions are kept in Redis at %s:%d",
               options->host.c_str(), options->port);
  return OkStatus();
}

Status OpenSessionStore(server_rec* main) {
  const ServerConfig& c = ServerConfigOf(main);
  if (c.session_store.value != "shm") {
    return OpenRedisStore(main);
  }
  auto capacity = static_cast<size_t>(c.session_capacity.value);
  auto entry = static_cast<size_t>(c.session_entry_size.value);
  size_t size = ShmSessionStore::RegionSize(capacity, entry);
  if (size == 0) {
    return Error{Errc::kConfig,
                 "CoinpaySessionCapacity / CoinpaySessionEntrySize are out of "
                 "range (at most 16777216 sessions of at most 16 MiB)"};
  }
  auto* retained = static_cast<Retained*>(ap_retained_data_get(kRetainedKey));
  Process& proc = TheProcess();
  if (retained != nullptr && retained->capacity == capacity && retained->entry_size == entry) {
    auto store = ShmSessionStore::Attach(retained->base, retained->size);
    if (store) {
      proc.shm = std::move(*store);
      proc.store = proc.shm.get();
      return OkStatus();
    }
  }
  auto region = ShmRegion::Create(main->process->pool, size);
  if (!region) {
    return Error{Errc::kConfig,
                 "cannot create " + std::to_string(size) +
                     " bytes of shared memory for sessions: " + region.error().detail};
  }
  auto store = ShmSessionStore::Create(region->base(), region->size(), capacity, entry);
  if (!store) {
    return store.error();
  }
  if (retained == nullptr) {
    retained = static_cast<Retained*>(ap_retained_data_create(kRetainedKey, sizeof(Retained)));
  }
  retained->base = region->base();
  retained->size = region->size();
  retained->capacity = capacity;
  retained->entry_size = entry;
  proc.shm = std::move(*store);
  proc.store = proc.shm.get();
  ap_log_error(APLOG_MARK, APLOG_INFO, 0, main,
               "CPA00901: session store: %" APR_SIZE_T_FMT " sessions of up to %" APR_SIZE_T_FMT
               " bytes in %" APR_SIZE_T_FMT " bytes of shared memory",
               capacity, entry, size);
  return OkStatus();
}

}  // namespace

Clock& ProcessClock() { return TheProcess().clock; }
Random& ProcessRandom() { return TheProcess().random; }
ShmSessionStore* ProcessShmStore() { return TheProcess().shm.get(); }
const char* ProcessStoreKind() {
  const Process& p = TheProcess();
  return p.shm ? "shm" : p.redis ? "redis" : "none";
}

// The checks that need the whole configuration tree, not one server's directives.
Status CheckAgainstTree(const ServerConfig& c, const ProviderConfig& p, const ScopeFacts& t) {
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

int CheckConfig(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/, server_rec* s) {
  int rc = OK;
  ConfigTreeFacts facts = ScanConfigTree(ap_conftree);
  bool any = false;
  for (server_rec* v = s; v != nullptr; v = v->next) {
    any = any || UsesModule(ServerConfigOf(v));
  }
  if (!any && (facts.uses_session_anywhere || facts.uses_bearer_anywhere)) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                 "CPA00908: mod_coinpay_auth: AuthType coinpay%s is used but no CoinpayIssuer is "
                 "configured: add CoinpayIssuer, CoinpayClientID, CoinpayClientSecret, "
                 "CoinpayRedirectURI and CoinpayCryptoPassphrase",
                 facts.uses_bearer_anywhere && !facts.uses_session_anywhere ? "-bearer" : "");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  for (server_rec* v = s; v != nullptr; v = v->next) {
    const ServerConfig& c = ServerConfigOf(v);
    if (!UsesModule(c)) {
      continue;
    }
    SiteConfigs site;
    auto st = BuildSite(c, site);
    for (size_t i = 0; st && i < site.providers.size(); ++i) {
      std::string id = v->is_virtual != 0 && v->defn_name != nullptr
                           ? std::string(v->defn_name) + ":" + std::to_string(v->defn_line_number)
                           : std::string();
      st = CheckAgainstTree(c, site.providers[i], facts.For(id));
    }
    if (!st) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                   "CPA00902: mod_coinpay_auth: %s%s", st.error().detail.c_str(), Where(v).c_str());
      rc = HTTP_INTERNAL_SERVER_ERROR;
    }
  }
  const ServerConfig& main = ServerConfigOf(s);
  if (main.session_store.value != "shm") {
    auto redis = RedisSessionStore::ParseUrl(main.session_store.value);
    if (!redis) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                   "CPA00916: mod_coinpay_auth: CoinpaySessionStore %s (write shm, or "
                   "redis://[:password@]host:port/db)",
                   redis.error().detail.c_str());
      rc = HTTP_INTERNAL_SERVER_ERROR;
    }
  }
  size_t region = ShmSessionStore::RegionSize(static_cast<size_t>(main.session_capacity.value),
                                              static_cast<size_t>(main.session_entry_size.value));
  if (region != 0 && main.session_store.value == "shm" && any &&
      ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
    // `apachectl -t` says what the session store will take before anyone starts it.
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_NOTICE, 0, nullptr,
                 "CPA00918: mod_coinpay_auth: the session store will allocate %" APR_SIZE_T_FMT
                 " MiB of shared memory (%" APR_INT64_T_FMT " entries of %" APR_INT64_T_FMT
                 " bytes; each signed-in user takes 2 to 3)",
                 region >> 20, static_cast<apr_int64_t>(main.session_capacity.value),
                 static_cast<apr_int64_t>(main.session_entry_size.value));
  }
  if (region == 0) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                 "CPA00903: mod_coinpay_auth: CoinpaySessionCapacity x CoinpaySessionEntrySize "
                 "is out of range (at most 16777216 sessions of at most 16 MiB each)");
    rc = HTTP_INTERNAL_SERVER_ERROR;
  }
  return rc;
}

int PostConfig(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/, server_rec* s) {
  bool any = false;
  for (server_rec* v = s; v != nullptr; v = v->next) {
    any = any || UsesModule(ServerConfigOf(v));
  }
  if (!any) {
    return OK;
  }
  Process& proc = TheProcess();
  auto curl = CurlHttpClient::GlobalInit();
  if (!curl) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "CPA00907: mod_coinpay_auth: libcurl: %s",
                 curl.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  const ServerConfig& main_cfg = ServerConfigOf(s);
  CurlHttpClient::Options http_options;
  http_options.ca_bundle = main_cfg.ca_bundle.value;
  proc.http = std::make_unique<CurlHttpClient>(http_options);
  auto st = OpenSessionStore(s);
  if (!st) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "CPA00904: mod_coinpay_auth: %s",
                 st.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  for (server_rec* v = s; v != nullptr; v = v->next) {
    ServerConfig& c = ServerConfigOf(v);
    if (!UsesModule(c)) {
      continue;
    }
    auto rt = std::make_shared<SiteRuntime>();
    SiteConfigs site;
    auto built = BuildSite(c, site);
    if (!built) {
      ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "CPA00905: mod_coinpay_auth: %s",
                   built.error().detail.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    rt->session_config = std::move(site.session);
    rt->session_config.scope = SessionScope(v, c);
    rt->session_config.index_sessions = ScanConfigTree(ap_conftree).uses_backchannel_logout;
    rt->session_config.sealer = std::make_shared<const CookieSealer>(c.passphrases.value);
    rt->login = site.login;
    rt->server_log = std::make_unique<ServerLog>(v);
    for (auto& p : site.providers) {
      std::string name = p.name;
      auto client =
          std::make_unique<ProviderClient>(std::make_shared<const ProviderConfig>(std::move(p)),
                                           *proc.http, proc.clock, *rt->server_log);
      if (rt->first == nullptr) {
        rt->first = client.get();
      }
      rt->providers.emplace(name, std::move(client));
    }
    rt->sessions = std::make_unique<Sessions>(*proc.store, rt->session_config, proc.random);
    rt->bearer.audiences = c.bearer_audiences.value;
    rt->bearer.any_audience = c.bearer_any_audience.value;
    rt->bearer.token_type = c.bearer_token_type.value;
    for (const auto& [name, client] : rt->providers) {
      if (client->config().login_enabled) {
        rt->bearer.own_client_ids.push_back(client->config().client_id);
      }
    }
    rt->bearer.realm = c.bearer_realm.value;
    rt->token_cache =
        std::make_unique<VerifiedTokenCache>(static_cast<size_t>(c.token_cache_size.value));
    rt->error_pages = ErrorPagesOf(c);
    c.runtime = std::move(rt);
  }
  if (auto metrics = SetUpMetrics(s); !metrics) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "CPA00950: mod_coinpay_auth: %s",
                 metrics.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  return OK;
}

SiteRuntime* RuntimeFor(server_rec* s) { return ServerConfigOf(s).runtime.get(); }

}  // namespace coinpay::httpd
