// Startup: validate, then build. Validation runs in check_config, so `apachectl -t` reports a
// bad configuration with the directive to fix; post_config then builds what requests use.
#include "httpd/runtime.h"

#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include <string>

#include "core/cached_store.h"
#include "core/client_assertion.h"
#include "core/crypto.h"
#include "core/sealed_store.h"
#include "core/site_config.h"
#include "core/store_config.h"
#include "httpd/config_tree.h"
#include "httpd/metrics_runtime.h"
#include "httpd/module.h"
#include "httpd/retained_region.h"
#include "platform/curl_http_client.h"
#include "platform/redis_store.h"
#include "platform/shm_store.h"
#include "platform/system_clock.h"

namespace coinpay::httpd {
namespace {

constexpr char kRetainedKey[] = "mod_coinpay_auth/session-shm";

// Where the sessions' shared memory is kept across graceful restarts (httpd/retained_region.h).

struct Process {
  SystemClock clock;
  OsRandom random;
  std::unique_ptr<CurlHttpClient> http;
  std::unique_ptr<ShmStore> shm;
  std::unique_ptr<ServerLog> redis_log;  // the main server's error log, for the Redis store
  std::unique_ptr<RedisStore> redis;
  std::unique_ptr<SealedStore> sealed;  // over redis
  std::unique_ptr<CachedStore> cached;  // over sealed: opened values, revalidated on every read
  SharedStore* store = nullptr;         // the one requests use
};

Process& TheProcess() {
  static Process* p = new Process();  // lives as long as the process; never destroyed mid-request
  return *p;
}

// " (in the <VirtualHost> at file:line)" for a virtual host; nothing for the main server.
std::string Where(server_rec* s) {
  if (s->is_virtual == 0 || s->defn_name == nullptr) {
    return "";
  }
  return std::string(" (in the <VirtualHost> at ") + s->defn_name + ":" +
         std::to_string(s->defn_line_number) + ")";
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

bool AnyPassphrase(server_rec* s) {
  for (server_rec* v = s; v != nullptr; v = v->next) {
    if (!ServerConfigOf(v).passphrases.value.empty()) {
      return true;
    }
  }
  return false;
}

Status OpenRedisStore(server_rec* main, const RedisOptions& options) {
  std::string key = AtRestKey(main);  // BuildStoreConfig made sure there is a passphrase
  if (key.size() != 32) {
    return Error{Errc::kConfig, "the Redis at-rest key could not be derived"};
  }
  Process& proc = TheProcess();
  proc.redis_log = std::make_unique<ServerLog>(main);
  proc.redis = std::make_unique<RedisStore>(options, proc.redis_log.get());
  proc.sealed = std::make_unique<SealedStore>(*proc.redis, key, proc.random);
  proc.cached = std::make_unique<CachedStore>(*proc.sealed);
  proc.store = proc.cached.get();
  ap_log_error(APLOG_MARK, APLOG_INFO, 0, main,
               "CPA00909: sessions are kept in Redis at %s:%d (%s)", options.host.c_str(),
               options.port,
               options.tracking ? "changes pushed by Redis: CoinpayRedisTracking on"
                                : "asked on every request: CoinpayRedisTracking off");
  return OkStatus();
}

Status OpenSharedStore(server_rec* main) {
  auto config = BuildStoreConfig(ServerConfigOf(main), AnyPassphrase(main));
  if (!config) {
    return config.error();
  }
  if (config->redis) {
    return OpenRedisStore(main, config->redis_options);
  }
  size_t capacity = config->capacity;
  size_t entry = config->entry_size;
  size_t pool = ShmStore::PoolBytes(capacity, entry, config->value_bytes);
  size_t size = ShmStore::RegionSize(capacity, entry, pool);
  if (size == 0) {
    return Error{Errc::kConfig,
                 "CoinpaySessionCapacity / CoinpaySessionEntrySize / CoinpaySessionValueMemory "
                 "are out of range (at most 16777216 entries of at most 16 MiB each)"};
  }
  // The layout depends on all three sizes, not only on the region's: a graceful restart with
  // any of them changed makes a new region.
  uint64_t shape = capacity;
  for (uint64_t part : {static_cast<uint64_t>(entry), static_cast<uint64_t>(pool)}) {
    shape = (shape ^ (shape >> 29)) * 0x9e3779b97f4a7c15ULL ^ part;
  }
  Process& proc = TheProcess();
  if (const RetainedRegion* kept = RetainedRegionOf(kRetainedKey, size, shape)) {
    auto store = ShmStore::Attach(kept->base, kept->size);
    if (store) {
      proc.shm = std::move(*store);
      proc.store = proc.shm.get();
      return OkStatus();
    }
  }
  auto region = CreateRetainedRegion(main, kRetainedKey, size, shape, "sessions");
  if (!region) {
    return region.error();
  }
  auto store = ShmStore::Create(region->base, region->size, capacity, entry, pool);
  if (!store) {
    return store.error();
  }
  proc.shm = std::move(*store);
  proc.store = proc.shm.get();
  ap_log_error(APLOG_MARK, APLOG_INFO, 0, main,
               "CPA00901: session store: %" APR_SIZE_T_FMT " entries of up to %" APR_SIZE_T_FMT
               " bytes sharing %" APR_SIZE_T_FMT " bytes for values, in %" APR_SIZE_T_FMT
               " bytes of shared memory",
               capacity, entry, pool, size);
  return OkStatus();
}

// The site configuration of server `v` (core/site_config.h), with what httpd knows besides
// its directives: its name and the configuration tree's facts.
Result<SiteConfig> SiteConfigOf(server_rec* v, const ConfigTreeFacts& facts) {
  const ServerConfig& c = ServerConfigOf(v);
  SiteContext context;
  context.server_name = v->server_hostname != nullptr ? v->server_hostname : "";
  std::string id = v->is_virtual != 0 && v->defn_name != nullptr
                       ? std::string(v->defn_name) + ":" + std::to_string(v->defn_line_number)
                       : std::string();
  context.tree = facts.For(id);
  context.index_sessions = facts.uses_backchannel_logout;
  return BuildSiteConfig(c, SectionsOf(c), context);
}

}  // namespace

Clock& ProcessClock() { return TheProcess().clock; }
Random& ProcessRandom() { return TheProcess().random; }
ShmStore* ProcessShmStore() { return TheProcess().shm.get(); }
RedisStore* ProcessRedisStore() { return TheProcess().redis.get(); }
const char* ProcessStoreKind() {
  const Process& p = TheProcess();
  return p.shm ? "shm" : p.redis ? "redis" : "none";
}

int CheckConfig(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/, server_rec* s) {
  int rc = OK;
  ConfigTreeFacts facts = ScanConfigTree(ap_conftree);
  bool any = false;
  for (server_rec* v = s; v != nullptr; v = v->next) {
    any = any || UsesModule(ServerConfigOf(v));
  }
  if (auto used =
          CheckSomeServerConfigured(any, facts.uses_session_anywhere, facts.uses_bearer_anywhere);
      !used) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                 "CPA00908: mod_coinpay_auth: %s", used.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  for (server_rec* v = s; v != nullptr; v = v->next) {
    if (!UsesModule(ServerConfigOf(v))) {
      continue;
    }
    auto st = SiteConfigOf(v, facts);
    if (!st) {
      ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                   "CPA00902: mod_coinpay_auth: %s%s", st.error().detail.c_str(), Where(v).c_str());
      rc = HTTP_INTERNAL_SERVER_ERROR;
    }
  }
  const ServerConfig& main = ServerConfigOf(s);
  auto store = BuildStoreConfig(main, AnyPassphrase(s));
  if (!store) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                 "CPA00916: mod_coinpay_auth: %s", store.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  const size_t pool = ShmStore::PoolBytes(store->capacity, store->entry_size, store->value_bytes);
  const size_t region = ShmStore::RegionSize(store->capacity, store->entry_size, pool);
  if (region != 0 && !store->redis && any &&
      ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
    // `apachectl -t` says what the session store will take before anyone starts it.
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_NOTICE, 0, nullptr,
                 "CPA00918: mod_coinpay_auth: the session store will allocate %" APR_SIZE_T_FMT
                 " MiB of shared memory (%" APR_SIZE_T_FMT " entries of up to %" APR_SIZE_T_FMT
                 " bytes each, sharing %" APR_SIZE_T_FMT
                 " MiB for values; a signed-in user takes 2 to 3 entries and about 3 KiB)",
                 region >> 20, store->capacity, store->entry_size, pool >> 20);
  }
  if (region == 0) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                 "CPA00903: mod_coinpay_auth: CoinpaySessionCapacity / CoinpaySessionEntrySize "
                 "are out of range (at most 16777216 entries of at most 16 MiB each)");
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
  auto st = OpenSharedStore(s);
  if (!st) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "CPA00904: mod_coinpay_auth: %s",
                 st.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  ConfigTreeFacts facts = ScanConfigTree(ap_conftree);
  for (server_rec* v = s; v != nullptr; v = v->next) {
    ServerConfig& c = ServerConfigOf(v);
    if (!UsesModule(c)) {
      continue;
    }
    auto site = SiteConfigOf(v, facts);
    if (!site) {
      ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "CPA00905: mod_coinpay_auth: %s",
                   site.error().detail.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    auto rt = std::make_shared<VhostState>();
    rt->session_config = std::move(site->session);
    rt->login = site->login;
    rt->server_log = std::make_unique<ServerLog>(v);
    std::vector<const ProviderConfig*> with_keys;
    for (const auto& p : site->providers) {
      if (p.signing_keys.empty()) {
        continue;
      }
      with_keys.push_back(&p);
      const SigningKey& signer = *p.signing_keys.front();
      if (p.token_auth == TokenEndpointAuth::kPrivateKeyJwt) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, v,
                     "CPA00960: provider %s authenticates with private_key_jwt: kid %s (%s) "
                     "signs, %" APR_SIZE_T_FMT " key(s) published by SetHandler coinpay-jwks",
                     p.issuer.c_str(), signer.kid().c_str(), signer.alg().c_str(),
                     p.signing_keys.size());
      } else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v,
                     "CPA00961: CoinpayPrivateKeyFile is set for provider %s, but "
                     "CoinpayTokenEndpointAuth is not private_key_jwt: the keys are only "
                     "published (SetHandler coinpay-jwks), never used to sign",
                     p.issuer.c_str());
      }
    }
    if (!with_keys.empty()) {
      rt->published_jwks = PublishedJwks(with_keys);
    }
    for (auto& p : site->providers) {
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
    rt->bearer = std::move(site->bearer);
    rt->token_cache = std::make_unique<VerifiedTokenCache>(site->token_cache_size);
    rt->error_pages = std::move(site->error_pages);
    c.state = std::move(rt);
  }
  if (auto metrics = SetUpMetrics(s); !metrics) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "CPA00950: mod_coinpay_auth: %s",
                 metrics.error().detail.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  return OK;
}

VhostState* VhostStateOf(server_rec* s) { return ServerConfigOf(s).state.get(); }

}  // namespace coinpay::httpd
