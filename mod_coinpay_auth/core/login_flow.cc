// The redirect to the provider. Nothing in it is secret except what goes into the sealed cookie.
#include "core/login_flow.h"

#include <algorithm>

#include "core/cookies.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/json.h"
#include "core/log.h"
#include "core/pages.h"
#include "core/pkce.h"
#include "core/redirect_guard.h"
#include "core/token_client.h"

namespace coinpay {
namespace {

constexpr size_t kStateBytes = 32;  // 256 bits; the issue asks for at least 128

// Drops the oldest login cookies so at most max-1 remain before this attempt adds one.
void CapLoginCookies(Site& site, const RequestView& req, const CookieAttrs& attrs,
                     std::vector<std::string>& set_cookies) {
  const SessionConfig& c = site.session_config;
  std::vector<std::pair<int64_t, std::string>> attempts;  // issued_at, name
  for (const auto& [name, value] : ParseCookieHeader(req.cookie)) {
    if (!IsLoginCookie(c, name)) {
      continue;
    }
    auto opened = c.sealer->Open(kLoginStatePurpose, value, site.clock.NowSeconds());
    auto state = opened ? DecodeLoginState(*opened) : std::nullopt;
    attempts.emplace_back(state ? state->issued_at : 0, std::string(name));
  }
  if (static_cast<int>(attempts.size()) < c.max_login_attempts) {
    return;
  }
  std::sort(attempts.begin(), attempts.end());
  size_t drop = attempts.size() - static_cast<size_t>(c.max_login_attempts) + 1;
  for (size_t i = 0; i < drop; ++i) {
    set_cookies.push_back(DeleteCookieValue(attempts[i].second, attrs));
  }
}

}  // namespace

std::string EncodeLoginState(const LoginState& s) {
  Json j = Json::Object();
  j.Set("s", Json::String(s.state));
  j.Set("n", Json::String(s.nonce));
  j.Set("v", Json::String(s.code_verifier));
  j.Set("r", Json::String(s.return_to));
  j.Set("p", Json::String(s.provider));
  j.Set("t", Json::Integer(s.issued_at));
  // Only for step-up sign-ins, so every other login cookie stays as it was.
  if (!s.step_up.acr_values.empty()) {
    j.Set("a", Json::String(s.step_up.acr_values));
  }
  if (s.step_up.max_age >= 0) {
    j.Set("m", Json::Integer(s.step_up.max_age));
  }
  return j.Dump();
}

std::optional<LoginState> DecodeLoginState(std::string_view text) {
  auto j = Json::Parse(text);
  if (!j || !j->IsObject()) {
    return std::nullopt;
  }
  LoginState s;
  auto state = j->GetString("s");
  auto nonce = j->GetString("n");
  auto verifier = j->GetString("v");
  auto ret = j->GetString("r");
  auto provider = j->GetString("p");
  auto t = j->GetInt("t");
  if (!state || !nonce || !verifier || !ret || !provider || !t) {
    return std::nullopt;
  }
  s.state = *state;
  s.nonce = *nonce;
  s.code_verifier = *verifier;
  s.return_to = *ret;
  s.provider = *provider;
  s.issued_at = *t;
  if (!j->Get("a").IsNull()) {
    auto acr_values = j->GetString("a");
    if (!acr_values) {
      return std::nullopt;
    }
    s.step_up.acr_values = *acr_values;
  }
  if (!j->Get("m").IsNull()) {
    auto max_age = j->GetInt("m");
    if (!max_age || *max_age < 0) {
      return std::nullopt;
    }
    s.step_up.max_age = *max_age;
  }
  return s;
}

AuthorizationRoute RouteAuthorizationRequest(ParMode mode, const ProviderMetadata& meta) {
  const bool offered = !meta.pushed_authorization_request_endpoint.empty();
  switch (mode) {
    case ParMode::kOff:
      return AuthorizationRoute::kFrontChannel;
    case ParMode::kOn:
      return offered ? AuthorizationRoute::kPushed : AuthorizationRoute::kRefused;
    case ParMode::kAuto:
      return offered ? AuthorizationRoute::kPushed : AuthorizationRoute::kFrontChannel;
  }
  return AuthorizationRoute::kFrontChannel;
}

Action StartLogin(Site& site, const RequestView& req, std::string_view return_to,
                  const StepUpRequest* step_up) {
  const SessionConfig& c = site.session_config;
  const ProviderConfig& p = site.provider.config();
  auto meta = site.provider.Metadata();
  if (!meta) {
    return ErrorPage(ErrorKind::kProviderUnavailable, 502, "Sign-in is unavailable",
                     "The sign-in provider cannot be reached right now. Please try again shortly.");
  }
  LoginState s;
  auto state = RandomToken(site.random, kStateBytes);
  auto nonce = RandomToken(site.random, kStateBytes);
  auto verifier = MakePkceVerifier(site.random);
  if (!state || !nonce || !verifier) {
    LogAt(site.log, LogLevel::kError, 110, "random generator failed; sign-in refused");
    return ErrorPage(ErrorKind::kServiceUnavailable, 503, "Sign-in is unavailable",
                     "Please try again shortly.");
  }
  s.state = *state;
  s.nonce = *nonce;
  s.code_verifier = *verifier;
  s.return_to =
      SafeRedirectTarget(return_to, p.redirect_origin, c.allowed_redirect_origins).value_or("/");
  s.provider = p.name;
  s.issued_at = site.clock.NowSeconds();
  if (step_up != nullptr) {
    s.step_up = *step_up;
  }

  auto sealed = c.sealer->Seal(kLoginStatePurpose, EncodeLoginState(s),
                               s.issued_at + c.login_timeout_seconds, site.random);
  if (!sealed) {
    LogAt(site.log, LogLevel::kError, 111, "cannot seal the login state: " + sealed.error().detail);
    return ErrorPage(ErrorKind::kServiceUnavailable, 503, "Sign-in is unavailable",
                     "Please try again shortly.");
  }
  Params params = {{"response_type", "code"},
                   {"client_id", p.client_id},
                   {"redirect_uri", p.redirect_uri},
                   {"scope", p.scope},
                   {"state", s.state}};
  if (p.profile == ProviderProfile::kOidc) {
    params.emplace_back("nonce", s.nonce);
  }
  params.emplace_back("code_challenge", PkceChallengeS256(s.code_verifier));
  params.emplace_back("code_challenge_method", "S256");
  for (const auto& extra : p.auth_params) {
    params.push_back(extra);
  }
  if (!p.resource.empty()) {
    params.emplace_back("resource", p.resource);
  }
  if (step_up != nullptr) {
    AddStepUpParams(*step_up, params);
  }
  const std::string& endpoint = (*meta)->authorization_endpoint;
  switch (RouteAuthorizationRequest(p.par, **meta)) {
    case AuthorizationRoute::kFrontChannel:
      break;
    case AuthorizationRoute::kRefused:
      LogAt(site.log, LogLevel::kError, 404,
            "sign-in refused: CoinpayPushedAuthorization on, but the provider's discovery "
            "document has no pushed_authorization_request_endpoint (enable PAR at the provider "
            "or set CoinpayPushedAuthorization auto)");
      return ErrorPage(ErrorKind::kMisconfigured, 500, "Sign-in is misconfigured",
                       "Please tell the site's operator.");
    case AuthorizationRoute::kPushed: {
      auto pushed = PushAuthorizationRequest(
          site.provider, (*meta)->pushed_authorization_request_endpoint, std::move(params));
      if (!pushed) {
        site.provider.Count(Metric::kSigninFailedPushedAuthorization);
        LogAt(site.log, LogLevel::kError, 401,
              "pushed authorization request failed: " + pushed.error().detail);
        return ErrorPage(ErrorKind::kProviderUnavailable, 502, "Sign-in is unavailable",
                         "The sign-in provider could not be reached. Please try again shortly.");
      }
      LogAt(site.log, LogLevel::kDebug, 402, "authorization request pushed (RFC 9126)");
      // RFC 9126 section 4: only client_id and request_uri travel through the browser.
      params = {{"client_id", p.client_id}, {"request_uri", pushed->request_uri}};
      break;
    }
  }
  Action a = Action::Redirect(endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") +
                              EncodeForm(params));
  CookieAttrs attrs = ModuleCookieAttrs(c, req.https);
  CapLoginCookies(site, req, attrs, a.set_cookies);
  attrs.max_age = c.login_timeout_seconds;
  a.set_cookies.push_back(SetCookieValue(LoginCookieName(c, s.state), *sealed, attrs));
  a.headers.emplace_back("Cache-Control", "no-store");
  site.provider.Count(Metric::kSigninStarted);
  LogAt(site.log, LogLevel::kDebug, 112, "sign-in started, state " + TokenHint(s.state));
  return a;
}

Action HandleLoginRequest(Site& site, const RequestView& req) {
  auto params = ParseQuery(req.query);
  if (!params) {
    LogAt(site.log, LogLevel::kInfo, 113, "login request with a malformed query refused");
    return ErrorPage(ErrorKind::kBadRequest, 400, "Bad request", "The sign-in link is malformed.");
  }
  std::string return_to = "/";
  int seen = 0;
  for (const auto& [name, value] : *params) {
    if (name == "return_to") {
      return_to = value;
      ++seen;
    }
  }
  if (seen > 1) {
    LogAt(site.log, LogLevel::kInfo, 114, "login request with a repeated return_to refused");
    return ErrorPage(ErrorKind::kBadRequest, 400, "Bad request", "The sign-in link is malformed.");
  }
  return StartLogin(site, req, return_to);
}

}  // namespace coinpay
