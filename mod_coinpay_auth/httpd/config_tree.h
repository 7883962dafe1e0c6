// Facts read from httpd's parsed configuration tree at check_config time, for the checks no
// single directive can make: is the callback path served, is AuthType coinpay-bearer used.
#pragma once

#include <map>
#include <string>
#include <vector>

struct ap_directive_t;

namespace coinpay::httpd {

// Facts of one scope: the main server (whose sections every virtual host inherits) or one
// <VirtualHost>, named "file:line" as httpd's server_rec names it (defn_name, defn_line_number).
struct ScopeFacts {
  std::vector<std::string> callback_locations;  // <Location X> holding SetHandler coinpay-callback
  bool uses_bearer = false;                     // AuthType coinpay-bearer
  bool uses_session = false;                    // AuthType coinpay
};

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

// True when a <Location> prefix covers `path` the way httpd matches it (whole segments).
bool LocationCovers(const std::string& location, const std::string& path);

}  // namespace coinpay::httpd
