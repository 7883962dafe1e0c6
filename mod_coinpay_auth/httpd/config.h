// Server and per-directory configuration: the settings of core/site_settings.h (one field per
// row of core/directives.def, remembering whether it was set so merges can inherit what a
// section leaves alone) plus what only the glue keeps.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/site_config.h"
#include "core/site_settings.h"

namespace coinpay::httpd {

struct VhostState;  // what post_config builds for a server: provider clients, sessions
struct AuthzRule;   // a parsed Require coinpay-scope / coinpay-claim line (authz.h)

struct ServerConfig : SiteSettings {
  std::shared_ptr<VhostState> state;  // set in post_config, for servers that use the module
  // <CoinpayProvider name> sections of this server (a virtual host without its own inherits the
  // main server's).
  std::vector<std::pair<std::string, ServerConfig*>> providers;
};

// A section's AuthMerging (mod_authz_core's; kUnset when the section does not say).
enum class AuthMerging { kUnset, kOff, kAnd, kOr };

struct DirConfig : LocationSettings {
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
// The server's <CoinpayProvider> sections as core takes them.
ProviderSections SectionsOf(const ServerConfig& c);

}  // namespace coinpay::httpd
