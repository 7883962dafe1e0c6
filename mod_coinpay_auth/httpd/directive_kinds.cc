// Argument parsing for directives; messages say what to write instead.
#include "httpd/directive_kinds.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/redirect_guard.h"

namespace coinpay::httpd::kinds {

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

const char* List::Parse(const char* arg, Type& out) {
  out.clear();
  std::string all(arg);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t sp = all.find(' ', pos);
    std::string item = all.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
    if (!item.empty()) {
      out.push_back(item);
    }
    if (sp == std::string::npos) {
      break;
    }
    pos = sp + 1;
  }
  return nullptr;
}

const char* List::Append(const char* arg, Type& out) {
  if (*arg == '\0') {
    return "does not take an empty value";
  }
  out.emplace_back(arg);
  return nullptr;
}

const char* TokenAuth::Parse(const char* arg, Type& out) {
  if (strcmp(arg, "client_secret_basic") == 0) {
    out = TokenEndpointAuth::kClientSecretBasic;
  } else if (strcmp(arg, "client_secret_post") == 0) {
    out = TokenEndpointAuth::kClientSecretPost;
  } else if (strcmp(arg, "none") == 0) {
    out = TokenEndpointAuth::kNone;
  } else {
    return "takes client_secret_basic, client_secret_post or none";
  }
  return nullptr;
}

const char* PassClaims::Parse(const char* arg, Type& out) {
  if (strcasecmp(arg, "environment") == 0) {
    out = httpd::PassClaims::kEnvironment;
  } else if (strcasecmp(arg, "headers") == 0) {
    out = httpd::PassClaims::kHeaders;
  } else if (strcasecmp(arg, "both") == 0) {
    out = httpd::PassClaims::kBoth;
  } else if (strcasecmp(arg, "none") == 0) {
    out = httpd::PassClaims::kNone;
  } else {
    return "takes environment, headers, both or none";
  }
  return nullptr;
}

const char* Unauthenticated::Parse(const char* arg, Type& out) {
  if (strcasecmp(arg, "auto") == 0) {
    out = LocationOptions::Unauthenticated::kAuto;
  } else if (strcasecmp(arg, "login") == 0) {
    out = LocationOptions::Unauthenticated::kLogin;
  } else if (strcmp(arg, "401") == 0) {
    out = LocationOptions::Unauthenticated::kDeny;
  } else {
    return "takes auto, login or 401";
  }
  return nullptr;
}

}  // namespace coinpay::httpd::kinds
