// The kinds of value a directive takes (the third column of core/directives.def): each knows its
// C++ type, how to parse an argument, and what an operator should be told when it is wrong.
// No httpd here: the glue's command table calls these, and so can a unit test.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dpop_proof.h"
#include "core/ip_cidr.h"
#include "core/provider_config.h"
#include "core/site.h"

namespace coinpay {

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
// CoinpayPrivateKeyFile <PEM file> [<kid> [<alg>]] (TAKE123), repeatable: the glue reads the file
// when the line is read and hands its text here, so a bad key stops `apachectl -t` at that line.
// kid and alg may be absent (nullptr) or empty: the thumbprint, and the key's default alg.
struct PrivateKeyFiles {
  using Type = std::vector<std::shared_ptr<const SigningKey>>;
  static const char* Parse(const char* arg, Type& out);  // only the empty default
  static const char* Append(std::string_view pem, const char* kid, const char* alg, Type& out);
};
struct PushedAuthorization {
  using Type = ParMode;
  static const char* Parse(const char* arg, Type& out);
};
struct PassClaims {
  using Type = coinpay::PassClaims;
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
struct SecurityProfile {
  using Type = coinpay::SecurityProfile;
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
// CoinpayAuthnContext: acr values, each checked as it is read (they are echoed in headers).
struct AcrValues {
  using Type = std::vector<std::string>;
  static const char* Parse(const char* arg, Type& out);  // a whole default, space separated
  static const char* Append(const char* arg, Type& out);
};
struct Refresh {
  using Type = LocationOptions::Refresh;
  static const char* Parse(const char* arg, Type& out);
};

// CoinpayBearerDPoP: off, allowed or required.
struct BearerDPoP {
  using Type = DPoPMode;
  static const char* Parse(const char* arg, Type& out);
};

// CoinpayDPoP: off, on or required.
struct ClientDPoP {
  using Type = coinpay::ClientDPoP;
  static const char* Parse(const char* arg, Type& out);
};

// Two arguments (TAKE2), repeatable: a name and a value (CoinpayClaimPointer, CoinpayAuthParam).
// httpd refuses any other count when it reads the line.
struct Pairs {
  using Type = std::vector<std::pair<std::string, std::string>>;
  static const char* Parse(const char* arg, Type& out);  // only the empty default
  static const char* Append(const char* name, const char* value, Type& out);
};

// An operator's HTML file, read when the line is read: the glue resolves the path against
// ServerRoot and reads it (platform/error_page_files.h). Parse only takes the empty default.
struct ErrorTemplateFile {
  using Type = std::string;  // the template's text; "": the built-in pages
  static const char* Parse(const char* arg, Type& out);
};
// Two arguments (TAKE2), repeatable: an error kind (core/pages.h) and the page served for it,
// read by the glue like ErrorTemplateFile.
struct ErrorPageFiles {
  using Type = std::vector<std::pair<std::string, std::string>>;  // kind name, page text
  static const char* Parse(const char* arg, Type& out);
};

}  // namespace kinds
}  // namespace coinpay
