// What the module builds from the configuration: the checks behind `apachectl -t`, and, at
// startup, each server's provider client and the shared session store.
#pragma once

#include <httpd.h>

#include <map>
#include <memory>
#include <string>

#include "core/bearer_authn.h"
#include "core/pages.h"
#include "core/provider_client.h"
#include "core/session.h"
#include "core/token_cache.h"
#include "httpd/config.h"
#include "httpd/log_adapter.h"
#include "platform/redis_store.h"
#include "platform/shm_store.h"

namespace coinpay::httpd {

// What post_config builds for one virtual host that uses the module: its configuration's
// providers as clients, its sessions, its bearer settings and error pages. Requests read it.
struct VhostState {
  SessionConfig session_config;
  std::unique_ptr<ServerLog> server_log;
  // Every provider by name ("" = the top-level one); `first` is that one when configured, else
  // the first <CoinpayProvider>.
  std::map<std::string, std::unique_ptr<ProviderClient>> providers;
  ProviderClient* first = nullptr;
  bool login = false;  // some provider signs users in
  std::unique_ptr<Sessions> sessions;
  BearerConfig bearer;
  std::unique_ptr<VerifiedTokenCache> token_cache;
  ErrorPages error_pages;  // the operator's (CoinpayErrorTemplate, CoinpayErrorPage)
  // SetHandler coinpay-jwks: the public keys of every CoinpayPrivateKeyFile ("" when none).
  std::string published_jwks;

  ProviderClient* Named(const std::string& name) const {
    auto it = providers.find(name);
    return it == providers.end() ? nullptr : it->second.get();
  }
};

// The process-wide effects every request shares.
Clock& ProcessClock();
Random& ProcessRandom();
// The shared-memory session store (nullptr with Redis or before startup), and "shm", "redis"
// or "none": what the status page reports.
ShmStore* ProcessShmStore();
RedisStore* ProcessRedisStore();  // null unless sessions are in Redis
const char* ProcessStoreKind();

// check_config: every server that uses the module has a complete, valid configuration
// (BuildSiteConfig, BuildStoreConfig); each refusal is logged with its CPA tag.
int CheckConfig(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s);
// post_config: open the process-wide effects (HTTP client, session store, metrics) and build
// each virtual host's VhostState around its SiteConfig.
int PostConfig(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s);

// nullptr when this server does not use the module (its configuration is incomplete).
VhostState* VhostStateOf(server_rec* s);

}  // namespace coinpay::httpd
