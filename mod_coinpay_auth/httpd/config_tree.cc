// A walk over ap_conftree; it reads, never changes, the tree.
#include "httpd/config_tree.h"

#include <httpd.h>
#include <util_cfgtree.h>

#include <strings.h>

namespace coinpay::httpd {
namespace {

std::string FirstArg(const char* args) {
  std::string a = args != nullptr ? args : "";
  size_t start = a.find_first_not_of(" \t\"");
  if (start == std::string::npos) {
    return "";
  }
  size_t end = a.find_first_of(" \t\">", start);
  return a.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

void Walk(const ap_directive_t* d, const std::string& location, ScopeFacts& facts,
          ConfigTreeFacts& all) {
  for (; d != nullptr; d = d->next) {
    const char* name = d->directive;
    if (strcasecmp(name, "<VirtualHost") == 0) {
      std::string id = std::string(d->filename != nullptr ? d->filename : "") + ":" +
                       std::to_string(d->line_num);
      Walk(d->first_child, "", all.vhosts[id], all);
      continue;
    }
    if (strcasecmp(name, "<Location") == 0) {
      Walk(d->first_child, FirstArg(d->args), facts, all);
      continue;
    }
    if (strcasecmp(name, "SetHandler") == 0 && FirstArg(d->args) == "coinpay-backchannel-logout") {
      all.uses_backchannel_logout = true;
    }
    if (strcasecmp(name, "SetHandler") == 0 && FirstArg(d->args) == "coinpay-callback" &&
        !location.empty()) {
      facts.callback_locations.push_back(location);
    } else if (strcasecmp(name, "AuthType") == 0) {
      std::string type = FirstArg(d->args);
      facts.uses_bearer = facts.uses_bearer || strcasecmp(type.c_str(), "coinpay-bearer") == 0;
      facts.uses_session = facts.uses_session || strcasecmp(type.c_str(), "coinpay") == 0;
    }
    if (d->first_child != nullptr) {
      Walk(d->first_child, location, facts, all);
    }
  }
}

}  // namespace

ConfigTreeFacts ScanConfigTree(const ap_directive_t* root) {
  ConfigTreeFacts facts;
  Walk(root, "", facts.main, facts);
  facts.uses_bearer_anywhere = facts.main.uses_bearer;
  facts.uses_session_anywhere = facts.main.uses_session;
  for (const auto& [id, v] : facts.vhosts) {
    facts.uses_bearer_anywhere = facts.uses_bearer_anywhere || v.uses_bearer;
    facts.uses_session_anywhere = facts.uses_session_anywhere || v.uses_session;
  }
  return facts;
}

ScopeFacts ConfigTreeFacts::For(const std::string& vhost_id) const {
  ScopeFacts out = main;
  auto it = vhosts.find(vhost_id);
  if (it != vhosts.end()) {
    out.uses_bearer = out.uses_bearer || it->second.uses_bearer;
    out.uses_session = out.uses_session || it->second.uses_session;
    out.callback_locations.insert(out.callback_locations.end(),
                                  it->second.callback_locations.begin(),
                                  it->second.callback_locations.end());
  }
  return out;
}

}  // namespace coinpay::httpd
