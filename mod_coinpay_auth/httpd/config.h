// Server and per-directory configuration, generated from directives.def: one field per row,
// each remembering whether it was set so merges can inherit what a section leaves alone.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "httpd/directive_kinds.h"

namespace coinpay::httpd {

template <typename K>
struct Field {
  typename K::Type value{};
  bool set = false;
};

struct SiteRuntime;  // what post_config builds for a server: provider client, sessions
struct AuthzRule;    // a parsed Require coinpay-scope / coinpay-claim line (authz.h)

struct ServerConfig {
#define COINPAY_SERVER(Name, field, Kind, def, help) Field<kinds::Kind> field;
#define COINPAY_DIR(Name, field, Kind, def, help)
#include "httpd/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
  std::shared_ptr<SiteRuntime> runtime;  // set in post_config, for servers that use the module
  // <CoinpayProvider name> sections of this server (a virtual host without its own inherits the
  // main server's).
  std::vector<std::pair<std::string, ServerConfig*>> providers;
};

// A section's AuthMerging (mod_authz_core's; kUnset when the section does not say).
enum class AuthMerging { kUnset, kOff, kAnd, kOr };

struct DirConfig {
#define COINPAY_SERVER(Name, field, Kind, def, help)
#define COINPAY_DIR(Name, field, Kind, def, help) Field<kinds::Kind> field;
#include "httpd/directives.def"
#undef COINPAY_SERVER
#undef COINPAY_DIR
  // Require coinpay-* lines whose failure alone denies the request (see authz.cc); checked
  // before mod_authz_core so the answer can be 403 insufficient_scope. Merged the way
  // mod_authz_core merges Require lines, so a section whose own Require lines replace its
  // parent's also drops the parent's prechecks.
  std::vector<std::shared_ptr<const AuthzRule>> prechecks;
  bool has_require = false;  // this section (merged: the location) has Require lines
  AuthMerging merging = AuthMerging::kUnset;
};

extern const command_rec kCommands[];

void* CreateServerConfig(apr_pool_t* p, server_rec* s);
void* MergeServerConfig(apr_pool_t* p, void* base, void* add);
void* CreateDirConfig(apr_pool_t* p, char* dir);
void* MergeDirConfig(apr_pool_t* p, void* base, void* add);

ServerConfig& ServerConfigOf(server_rec* s);
DirConfig& DirConfigOf(request_rec* r);

// True when any provider directive is set for this server (it then must be complete).
bool UsesModule(const ServerConfig& c);

}  // namespace coinpay::httpd
