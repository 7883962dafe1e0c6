// Facts read from httpd's parsed configuration tree at check_config time, for the checks no
// single directive can make: is the callback path served, is AuthType coinpay-bearer used.
#pragma once

#include <string>
#include <vector>

struct ap_directive_t;

namespace coinpay::httpd {

struct ConfigTreeFacts {
  std::vector<std::string> callback_locations;  // <Location X> holding SetHandler coinpay-callback
  bool uses_bearer = false;                     // AuthType coinpay-bearer anywhere
  bool uses_session = false;                    // AuthType coinpay anywhere
};

ConfigTreeFacts ScanConfigTree(const ap_directive_t* root);

// True when a <Location> prefix covers `path` the way httpd matches it (whole segments).
bool LocationCovers(const std::string& location, const std::string& path);

}  // namespace coinpay::httpd
