// Facts read from httpd's parsed configuration tree at check_config time, for the checks no
// single directive can make: is the callback path served, is AuthType coinpay-bearer used.
#pragma once

#include <map>
#include <string>

#include "core/site_config.h"

struct ap_directive_t;

namespace coinpay::httpd {

// Facts of each scope (core's ScopeFacts): the main server (whose sections every virtual host
// inherits) and each <VirtualHost>, named "file:line" as httpd's server_rec names it
// (defn_name, defn_line_number).
struct ConfigTreeFacts {
  ScopeFacts main;
  std::map<std::string, ScopeFacts> vhosts;  // by "file:line" of the <VirtualHost> line
  bool uses_bearer_anywhere = false;
  bool uses_session_anywhere = false;
  bool uses_backchannel_logout = false;  // SetHandler coinpay-backchannel-logout anywhere
  // What applies to a server: the main server's facts plus its own virtual host's.
  ScopeFacts For(const std::string& vhost_id) const;
};

ConfigTreeFacts ScanConfigTree(const ap_directive_t* root);

}  // namespace coinpay::httpd
