// The immutable configuration of one virtual host, built once from what the operator wrote
// (core/site_settings.h) when httpd reads its configuration. Every rule `apachectl -t` enforces
// on a site lives here, so each refusal names the directive and the fix and has a unit test;
// the glue only gathers the settings, calls BuildSiteConfig and wires the effects.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bearer_authn.h"
#include "core/pages.h"
#include "core/provider_config.h"
#include "core/result.h"
#include "core/site.h"
#include "core/site_settings.h"

namespace coinpay {

// What httpd's configuration tree says about one virtual host (the main server's sections
// count for every virtual host): read by the glue (httpd/config_tree.h).
struct ScopeFacts {
  std::vector<std::string> callback_locations;  // <Location X> holding SetHandler coinpay-callback
  bool uses_bearer = false;                     // AuthType coinpay-bearer
  bool uses_session = false;                    // AuthType coinpay
};

// What a site's configuration depends on besides its directives.
struct SiteContext {
  std::string server_name;      // ServerName: the default session scope
  ScopeFacts tree;              // this virtual host's locations
  bool index_sessions = false;  // a coinpay-backchannel-logout handler exists anywhere
};

struct SiteConfig {
  // Every provider by configuration: the top-level one ("") first when configured, then the
  // <CoinpayProvider> sections in the order written.
  std::vector<ProviderConfig> providers;
  bool login = false;  // some provider signs users in (not only bearer tokens)
  SessionConfig session;
  BearerConfig bearer;
  size_t token_cache_size = 0;  // verified access tokens remembered per process
  ErrorPages error_pages;       // the operator's (CoinpayErrorTemplate, CoinpayErrorPage)
};

// A <CoinpayProvider name> section's settings, by name.
using ProviderSections = std::vector<std::pair<std::string, const SiteSettings*>>;

// The site's configuration, or an Errc::kConfig error whose text names the directive and the
// fix (the glue prefixes its log tag and the virtual host).
Result<SiteConfig> BuildSiteConfig(const SiteSettings& server, const ProviderSections& sections,
                                   const SiteContext& context);

// True when these settings configure the top-level provider (any of its identifying
// directives is set).
bool HasTopLevelProvider(const SiteSettings& s);

// True when a server uses the module at all: a provider, sealed cookies or bearer audiences
// (it then must be complete).
bool UsesModule(const SiteSettings& s, bool has_provider_sections);

// The refusal of a server that uses no provider while a location asks for one (AuthType coinpay
// or coinpay-bearer somewhere), or OkStatus.
Status CheckSomeServerConfigured(bool any_server_uses_module, bool session_anywhere,
                                 bool bearer_anywhere);

// What a location asks of a request under AuthType coinpay: the providers whose sessions count
// (CoinpayUseProvider, "default" meaning the top-level one; none named: empty, which means the
// site's first, without a copy of its name per request) and its own limits.
LocationOptions LocationOptionsOf(const LocationSettings& s);

// The refusal of a <CoinpayProvider name> section's name (given the sections read before it),
// or OkStatus.
Status CheckProviderSectionName(std::string_view name, const ProviderSections& earlier);

// True when a <Location> prefix covers `path` the way httpd matches it (whole segments).
bool LocationCovers(const std::string& location, const std::string& path);

}  // namespace coinpay
