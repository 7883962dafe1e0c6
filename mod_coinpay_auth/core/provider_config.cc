// Cross-field validation of a provider's configuration, run once at startup (apachectl -t).
#include "core/provider_config.h"

#include "core/redirect_guard.h"

namespace coinpay {
namespace {

// The origin's host is exactly localhost, [::1] or a dotted-quad 127.x.y.z (not merely a
// name that starts like one, such as localhost.evil.example or 127.evil.example).
bool IsLoopbackHttp(std::string_view origin) {
  constexpr std::string_view kHttp = "http://";
  if (origin.substr(0, kHttp.size()) != kHttp) {
    return false;
  }
  std::string_view host = origin.substr(kHttp.size());
  if (host.rfind("[::1]", 0) == 0) {
    return host.size() == 5 || host[5] == ':';
  }
  host = host.substr(0, host.find(':'));
  if (host == "localhost") {
    return true;
  }
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3 && host.rfind("127.", 0) == 0;
}

}  // namespace

bool IsHttpsOrLoopback(std::string_view origin) {
  return origin.rfind("https://", 0) == 0 || IsLoopbackHttp(origin);
}

std::string IssuerBase(const std::string& issuer) {
  std::string base = issuer;
  if (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base;
}

namespace {

// Fills redirect_origin and redirect_path from redirect_uri; false when it is not absolute.
bool SplitRedirectUri(ProviderConfig& p) {
  auto origin = OriginOf(p.redirect_uri);
  if (!origin) {
    return false;
  }
  p.redirect_origin = *origin;
  std::string_view rest = std::string_view{p.redirect_uri}.substr(p.redirect_uri.find("://") + 3);
  size_t slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
  p.redirect_path = std::string(path.substr(0, path.find_first_of("?#")));
  return true;
}

// What the chosen client authentication needs: a secret, or (private_key_jwt) a key.
Status CheckClientAuthentication(const ProviderConfig& p, const std::string& where) {
  switch (p.token_auth) {
    case TokenEndpointAuth::kClientSecretBasic:
    case TokenEndpointAuth::kClientSecretPost:
      if (p.client_secret.empty()) {
        return Error{Errc::kConfig, "CoinpayClientSecret is missing" + where +
                                        ": set it, declare a public client with "
                                        "CoinpayTokenEndpointAuth none, or authenticate with a "
                                        "key (CoinpayTokenEndpointAuth private_key_jwt)"};
      }
      break;
    case TokenEndpointAuth::kPrivateKeyJwt:
      if (p.signing_keys.empty()) {
        return Error{Errc::kConfig,
                     "CoinpayTokenEndpointAuth private_key_jwt" + where +
                         " needs a key: add CoinpayPrivateKeyFile /etc/apache2/coinpay-client.key "
                         "(an RSA key of 2048 bits or more, or EC P-256) and register its public "
                         "key at the provider (SetHandler coinpay-jwks publishes it)"};
      }
      if (!p.client_secret.empty()) {
        return Error{Errc::kConfig, "CoinpayClientSecret" + where +
                                        " is set but CoinpayTokenEndpointAuth private_key_jwt "
                                        "never sends it: remove CoinpayClientSecret"};
      }
      break;
    case TokenEndpointAuth::kNone:
      break;
  }
  return OkStatus();
}

Status FinalizeOAuth2(ProviderConfig& p, const std::string& where) {
  struct Required {
    const std::string& value;
    const char* directive;
  };
  for (const Required& r :
       {Required{p.client_id, "CoinpayClientID"}, Required{p.redirect_uri, "CoinpayRedirectURI"},
        Required{p.authorization_endpoint, "CoinpayAuthorizationEndpoint"},
        Required{p.token_endpoint, "CoinpayTokenEndpoint"},
        Required{p.user_endpoint, "CoinpayUserEndpoint"},
        Required{p.subject_pointer, "CoinpaySubjectPointer"}}) {
    if (r.value.empty()) {
      return Error{Errc::kConfig, std::string(r.directive) + " is missing" + where +
                                      ": a plain OAuth 2.0 provider (CoinpayProviderProfile "
                                      "oauth2) needs it, as it has no discovery and no ID token"};
    }
  }
  if (auto st = CheckClientAuthentication(p, where); !st) {
    return st;
  }
  if (p.par == ParMode::kOn) {
    return Error{Errc::kConfig, "CoinpayPushedAuthorization on" + where +
                                    " needs the provider's discovery document, which a plain "
                                    "OAuth 2.0 provider (CoinpayProviderProfile oauth2) has not: "
                                    "set CoinpayPushedAuthorization off"};
  }
  if (p.subject_pointer[0] != '/') {
    return Error{Errc::kConfig, "CoinpaySubjectPointer" + where +
                                    " is a JSON pointer and starts with /, e.g. /data/id"};
  }
  if (!SplitRedirectUri(p)) {
    return Error{Errc::kConfig, "CoinpayRedirectURI" + where + " must be an absolute http(s) URL"};
  }
  if (p.issuer.empty()) {
    p.issuer = *OriginOf(p.authorization_endpoint);  // names the provider in logs and checks
  }
  p.userinfo = UserinfoMode::kOff;
  p.login_enabled = true;
  return OkStatus();
}
}  // namespace

Status FinalizeProviderConfig(ProviderConfig& p) {
  std::string where = p.name.empty() ? "" : " in <CoinpayProvider " + p.name + ">";
  if (p.display_name.empty()) {
    p.display_name = p.name.empty() ? "CoinPay" : p.name;
  }
  if (p.profile == ProviderProfile::kOAuth2) {
    return FinalizeOAuth2(p, where);
  }
  if (p.issuer.empty()) {
    return Error{Errc::kConfig, "CoinpayIssuer is missing" + where +
                                    ": set it to the provider's issuer URL, e.g. "
                                    "CoinpayIssuer https://coinpayportal.com"};
  }
  auto issuer_origin = OriginOf(p.issuer);
  if (!issuer_origin ||
      (issuer_origin->rfind("https://", 0) != 0 && !IsLoopbackHttp(*issuer_origin))) {
    return Error{Errc::kConfig, "CoinpayIssuer" + where +
                                    " must be an https:// URL (plain http:// is accepted only "
                                    "for 127.0.0.1 / localhost)"};
  }
  if (p.metadata_url.empty()) {
    p.metadata_url = IssuerBase(p.issuer) + "/.well-known/openid-configuration";
  }
  p.login_enabled = !(p.client_id.empty() && p.client_secret.empty() && p.redirect_uri.empty() &&
                      p.signing_keys.empty());
  if (!p.login_enabled) {
    return OkStatus();  // bearer-only: the issuer is all it needs
  }
  if (p.client_id.empty()) {
    return Error{Errc::kConfig, "CoinpayClientID is missing" + where +
                                    ": set it to the client id the provider issued"};
  }
  if (auto st = CheckClientAuthentication(p, where); !st) {
    return st;
  }
  if (p.redirect_uri.empty()) {
    return Error{Errc::kConfig,
                 "CoinpayRedirectURI is missing" + where +
                     ": set it to the absolute callback URL registered at the provider, e.g. "
                     "https://example-business.com/api/auth/callback/coinpay"};
  }
  if (!SplitRedirectUri(p)) {
    return Error{Errc::kConfig, "CoinpayRedirectURI" + where +
                                    " must be an absolute http(s) URL such as "
                                    "https://example-business.com/api/auth/callback/coinpay"};
  }
  if (p.scope.find("openid") == std::string::npos) {
    return Error{Errc::kConfig, "CoinpayScope" + where +
                                    " must include openid for OpenID Connect sign-in, e.g. "
                                    "CoinpayScope \"openid email profile\""};
  }
  return OkStatus();
}

}  // namespace coinpay
