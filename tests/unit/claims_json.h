// One way for unit tests to write a token's claims: a fixture's defaults, changed by a short
// override string, so a test names only the claim it is about.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace coinpay::testing {

// Claim name -> JSON text, e.g. {"sub", "\"user-42\""}, {"exp", "1700000300"}.
using ClaimMap = std::map<std::string, std::string>;

// `claims` with `overrides` applied ("name=json;name=json"; json "-" removes the claim), as a
// JSON object (keys in name order).
inline std::string ClaimsJson(ClaimMap claims, std::string_view overrides = "") {
  while (!overrides.empty()) {
    size_t semi = overrides.find(';');
    std::string_view part = overrides.substr(0, semi);
    overrides = semi == std::string_view::npos ? "" : overrides.substr(semi + 1);
    size_t eq = part.find('=');
    std::string name(part.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (value == "-") {
      claims.erase(name);
    } else {
      claims[name] = value;
    }
  }
  std::string out = "{";
  for (const auto& [name, json] : claims) {
    out += (out.size() > 1 ? "," : "") + ("\"" + name + "\":" + json);
  }
  return out + "}";
}

}  // namespace coinpay::testing
