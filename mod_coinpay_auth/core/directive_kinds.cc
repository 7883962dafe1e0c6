// Argument parsing for directives; messages say what to write instead.
#include "core/directive_kinds.h"

#include <strings.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "core/redirect_guard.h"
#include "core/step_up.h"

namespace coinpay::kinds {

const char* Text::Parse(const char* arg, Type& out) {
  out = arg;
  return nullptr;
}

const char* Url::Parse(const char* arg, Type& out) {
  if (*arg != '\0' && !OriginOf(arg)) {
    return "takes an absolute http:// or https:// URL, e.g. https://coinpayportal.com";
  }
  out = arg;
  return nullptr;
}

namespace {
const char* ParsePositive(const char* arg, int64_t& out, const char* what) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(arg, &end, 10);
  if (errno != 0 || end == arg || *end != '\0' || v < 0 || v > 100000000) {
    return what;
  }
  out = v;
  return nullptr;
}
}  // namespace

const char* Seconds::Parse(const char* arg, Type& out) {
  return ParsePositive(arg, out, "takes a whole number of seconds, e.g. 3600");
}

const char* Count::Parse(const char* arg, Type& out) {
  return ParsePositive(arg, out, "takes a whole positive number, e.g. 10000");
}

const char* Flag::Parse(const char* arg, Type& out) {
  if (strcasecmp(arg, "on") == 0) {
    out = true;
  } else if (strcasecmp(arg, "off") == 0) {
    out = false;
  } else {
    return "takes On or Off";
  }
  return nullptr;
}

namespace {

// Calls `each` with every space-separated word of a whole default ("RS256 ES256"); stops at
// the first error it returns.
template <typename F>
const char* ForEachWord(const char* arg, F&& each) {
  std::string_view rest(arg);
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string word(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (word.empty()) {
      continue;
    }
    if (const char* err = each(word)) {
      return err;
    }
  }
  return nullptr;
}

}  // namespace

const char* List::Parse(const char* arg, Type& out) {
  out.clear();
  return ForEachWord(arg, [&](std::string& word) -> const char* {
    out.push_back(std::move(word));
    return nullptr;
  });
}

const char* List::Append(const char* arg, Type& out) {
  if (*arg == '\0') {
    return "does not take an empty value";
  }
  out.emplace_back(arg);
  return nullptr;
}

namespace {
// One of a fixed set of words (case-insensitive); `usage` says which when it is none of them.
template <typename T>
const char* ParseChoice(const char* arg, std::initializer_list<std::pair<const char*, T>> words,
                        T& out, const char* usage) {
  for (const auto& [word, value] : words) {
    if (strcasecmp(arg, word) == 0) {
      out = value;
      return nullptr;
    }
  }
  return usage;
}
}  // namespace

const char* TokenAuth::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(
      arg,
      {{"client_secret_basic", TokenEndpointAuth::kClientSecretBasic},
       {"client_secret_post", TokenEndpointAuth::kClientSecretPost},
       {"none", TokenEndpointAuth::kNone},
       {"private_key_jwt", TokenEndpointAuth::kPrivateKeyJwt}},
      out, "takes client_secret_basic, client_secret_post, private_key_jwt or none");
}

const char* PrivateKeyFiles::Parse(const char* arg, Type& out) {
  out.clear();
  return *arg == '\0' ? nullptr : "takes a PEM private key file and an optional key id";
}

const char* PrivateKeyFiles::Append(std::string_view pem, const char* kid, const char* alg,
                                    Type& out) {
  // httpd copies the message at once (Report); configuration is read by one thread.
  static std::string message;
  auto key = SigningKey::FromPem(pem, kid != nullptr ? kid : "", alg != nullptr ? alg : "");
  if (!key) {
    message = "cannot use this key: " + key.error().detail +
              ". It takes an unencrypted PEM private key: RSA of 2048 bits or more (openssl "
              "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072) or EC P-256 (openssl "
              "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)";
    return message.c_str();
  }
  for (const auto& earlier : out) {
    if (earlier->kid() == (*key)->kid()) {
      message = "two keys have the key id " + (*key)->kid() +
                ": give each CoinpayPrivateKeyFile line its own kid (second argument)";
      return message.c_str();
    }
  }
  out.push_back(std::move(*key));
  return nullptr;
}

const char* PushedAuthorization::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"auto", Type::kAuto}, {"on", Type::kOn}, {"off", Type::kOff}},
                           out,
                           "takes auto (when the provider advertises it), on (always; sign-in "
                           "fails without it) or off");
}

const char* PassClaims::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg,
                           {{"environment", coinpay::PassClaims::kEnvironment},
                            {"headers", coinpay::PassClaims::kHeaders},
                            {"both", coinpay::PassClaims::kBoth},
                            {"none", coinpay::PassClaims::kNone}},
                           out, "takes environment, headers, both or none");
}

const char* Unauthenticated::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg,
                           {{"auto", Type::kAuto}, {"login", Type::kLogin}, {"401", Type::kDeny}},
                           out, "takes auto, login or 401");
}

const char* Profile::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"oidc", Type::kOidc}, {"oauth2", Type::kOAuth2}}, out,
                           "takes oidc (OpenID Connect) or oauth2 (plain OAuth 2.0)");
}

const char* SecurityProfile::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"default", Type::kDefault}, {"fapi2", Type::kFapi2}}, out,
                           "takes default or fapi2 (FAPI 2.0 Security Profile)");
}

const char* RevocationAuth::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"client", Type::kClient}, {"bearer", Type::kBearer}}, out,
                           "takes client or bearer");
}

const char* Userinfo::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"auto", Type::kAuto}, {"on", Type::kOn}, {"off", Type::kOff}},
                           out, "takes auto, on or off");
}

const char* BearerTokenType::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"at+jwt", Type::kAtJwt}, {"jwt", Type::kJwt}}, out,
                           "takes at+jwt (RFC 9068 access tokens) or jwt");
}

const char* Cidrs::Append(const char* arg, Type& out) {
  auto range = ParseCidr(arg);
  if (!range) {
    // httpd copies the message at once (Report); configuration is read by one thread.
    static std::string message;
    message = "takes addresses or CIDR ranges of trusted proxies: " + range.error().detail;
    return message.c_str();
  }
  out.push_back(std::move(range.value()));
  return nullptr;
}

const char* Cidrs::Parse(const char* arg, Type& out) {
  out.clear();
  return ForEachWord(arg, [&](const std::string& word) { return Append(word.c_str(), out); });
}

const char* AcrValues::Append(const char* arg, Type& out) {
  if (!IsPlainAcrValue(arg)) {
    return "takes acr values of visible characters without quotes, backslashes or commas "
           "(CPA00980), e.g. urn:coinpay:acr:strong";
  }
  out.emplace_back(arg);
  return nullptr;
}

const char* AcrValues::Parse(const char* arg, Type& out) {
  out.clear();
  return ForEachWord(arg, [&](const std::string& word) { return Append(word.c_str(), out); });
}

const char* Refresh::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg, {{"auto", Type::kAuto}, {"always", Type::kAlways}}, out,
                           "takes auto or always");
}

const char* BearerDPoP::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(
      arg, {{"off", Type::kOff}, {"allowed", Type::kAllowed}, {"required", Type::kRequired}}, out,
      "takes off, allowed or required");
}

const char* ClientDPoP::Parse(const char* arg, Type& out) {
  return ParseChoice<Type>(arg,
                           {{"off", Type::kOff}, {"on", Type::kOn}, {"required", Type::kRequired}},
                           out, "takes off, on or required");
}

const char* ErrorTemplateFile::Parse(const char* arg, Type& out) {
  if (*arg != '\0') {
    return "takes a file name";  // only defaults come here; the setter calls Load
  }
  out.clear();
  return nullptr;
}

const char* ErrorPageFiles::Parse(const char* arg, Type& out) {
  out.clear();
  return *arg == '\0' ? nullptr : "takes an error kind and a file name";
}

const char* Pairs::Parse(const char* arg, Type& out) {
  out.clear();
  return *arg == '\0' ? nullptr : "takes a name and a value";
}

const char* Pairs::Append(const char* name, const char* value, Type& out) {
  if (*name == '\0' || *value == '\0') {
    return "takes a name and a value, neither empty";
  }
  out.emplace_back(name, value);
  return nullptr;
}

}  // namespace coinpay::kinds
