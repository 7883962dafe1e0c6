// The kinds of value a directive takes (the third column of directives.def): each knows its
// C++ type, how to parse an argument, and what an operator should be told when it is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/ip_cidr.h"
#include "core/provider_config.h"
#include "core/site.h"

namespace coinpay::httpd {

enum class PassClaims { kEnvironment, kHeaders, kBoth, kNone };

namespace kinds {

// Parse returns nullptr on success, else the reason (the directive name is prefixed later).
struct Text {
  using Type = std::string;
  static const char* Parse(const char* arg, Type& out);
};
struct Url {
  using Type = std::string;
  static const char* Parse(const char* arg, Type& out);
};
struct Seconds {
  using Type = int64_t;
  static const char* Parse(const char* arg, Type& out);
};
struct Count {
  using Type = int64_t;
  static const char* Parse(const char* arg, Type& out);
};
struct Flag {
  using Type = bool;
  static const char* Parse(const char* arg, Type& out);
};
struct List {
  using Type = std::vector<std::string>;
  static const char* Parse(const char* arg, Type& out);  // a whole default, space separated
  static const char* Append(const char* arg, Type& out);
};
struct TokenAuth {
  using Type = TokenEndpointAuth;
  static const char* Parse(const char* arg, Type& out);
};
struct PassClaims {
  using Type = httpd::PassClaims;
  static const char* Parse(const char* arg, Type& out);
};
struct Unauthenticated {
  using Type = LocationOptions::Unauthenticated;
  static const char* Parse(const char* arg, Type& out);
};
struct Profile {
  using Type = ProviderProfile;
  static const char* Parse(const char* arg, Type& out);
};
struct RevocationAuth {
  using Type = coinpay::RevocationAuth;
  static const char* Parse(const char* arg, Type& out);
};
struct Userinfo {
  using Type = UserinfoMode;
  static const char* Parse(const char* arg, Type& out);
};

struct BearerTokenType {
  using Type = AccessTokenType;
  static const char* Parse(const char* arg, Type& out);
};
// CoinpayTrustedProxy: addresses and CIDR ranges, checked as they are read.
struct Cidrs {
  using Type = std::vector<CidrRange>;
  static const char* Parse(const char* arg, Type& out);  // a whole default, space separated
  static const char* Append(const char* arg, Type& out);
};
struct Refresh {
  using Type = LocationOptions::Refresh;
  static const char* Parse(const char* arg, Type& out);
};

// An operator's HTML file, read when the line is read (the setter resolves the path against
// ServerRoot); Load's message is "" on success. Parse only takes the empty default.
struct ErrorTemplateFile {
  using Type = std::string;  // the template's text; "": the built-in pages
  static const char* Parse(const char* arg, Type& out);
  static std::string Load(const char* path, Type& out);
};
// Two arguments (TAKE2), repeatable: an error kind (core/pages.h) and the page served for it.
struct ErrorPageFiles {
  using Type = std::vector<std::pair<std::string, std::string>>;  // kind name, page text
  static const char* Parse(const char* arg, Type& out);
  static std::string Append(const char* kind, const char* path, Type& out);
};

}  // namespace kinds
}  // namespace coinpay::httpd
