// Every failure here answers with a fixed page and a log line tagged with its cause; nothing
// from the query or the provider is echoed to the user.
#include "core/callback_flow.h"

#include <algorithm>
#include <map>

#include "core/cookies.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/identity.h"
#include "core/log.h"
#include "core/login_flow.h"
#include "core/pages.h"
#include "core/saturating.h"
#include "core/session_cookie.h"
#include "core/step_up.h"
#include "core/token_client.h"
#include "core/token_verifier.h"

namespace coinpay {
namespace {

Action SignInAgainPage(int status, std::string_view message,
                       ErrorKind kind = ErrorKind::kBadRequest) {
  return ErrorPage(kind, status, "Sign-in did not complete", message, "/", "Start again");
}

// The ID token's claims joined by the userinfo endpoint's (OpenID Connect Core 5.3), whose sub
// must be the ID token's (5.3.2). Errors: kMissingClaim for a sub mismatch (the login fails),
// kHttpFailure when userinfo is required (CoinpayUserinfo on) and could not be read.
// The Authorization header (and DPoP proof) for a call to the provider with the access token:
// a DPoP-bound token goes as `DPoP <token>` with a proof for this method and URL.
void AuthorizeWith(HttpRequest& req, const std::string& access_token, const ClientProof* dpop,
                   const std::string& nonce) {
  if (dpop == nullptr) {
    req.headers.emplace_back("Authorization", "Bearer " + access_token);
    return;
  }
  req.headers.emplace_back("Authorization", "DPoP " + access_token);
  if (auto proof = MakeDPoPProof(*dpop, req.method, req.url, nonce, access_token)) {
    req.headers.emplace_back("DPoP", std::move(*proof));
  }
}

Result<Json> MergeUserinfo(Site& site, const std::string& access_token, const Json& id_claims,
                           const ClientProof* dpop) {
  const ProviderConfig& p = site.provider.config();
  if (p.userinfo == UserinfoMode::kOff ||
      (p.userinfo == UserinfoMode::kAuto && !p.resource.empty())) {
    return id_claims;
  }
  auto meta = site.provider.Metadata();
  if (!meta || (*meta)->userinfo_endpoint.empty()) {
    if (p.userinfo == UserinfoMode::kOn) {
      LogAt(site.log, LogLevel::kError, 134,
            "CoinpayUserinfo On, but the provider has no userinfo endpoint");
      return Error{Errc::kHttpFailure, "no userinfo endpoint"};
    }
    return id_claims;
  }
  HttpRequest req = site.provider.NewRequest("GET", (*meta)->userinfo_endpoint);
  AuthorizeWith(req, access_token, dpop, site.provider.dpop_nonce());
  auto resp = site.provider.http().Send(req);
  std::optional<Json> info;
  if (resp && resp->status == 200) {
    auto parsed = Json::Parse(resp->body);
    if (parsed && parsed->IsObject()) {
      info = std::move(*parsed);
    }
  }
  if (!info) {
    LogLevel level = p.userinfo == UserinfoMode::kOn ? LogLevel::kError : LogLevel::kInfo;
    LogAt(site.log, level, 135,
          resp ? "userinfo answered HTTP " + std::to_string(resp->status) +
                     "; using the ID token's claims"
               : "userinfo unreachable: " + resp.error().detail);
    if (p.userinfo == UserinfoMode::kOn) {
      return Error{Errc::kHttpFailure, "userinfo unavailable"};
    }
    return id_claims;
  }
  if (info->GetString("sub").value_or("") != id_claims.GetString("sub").value_or("")) {
    LogAt(site.log, LogLevel::kWarn, 136,
          "userinfo names another sub than the ID token; sign-in refused");
    return Error{Errc::kMissingClaim, "userinfo sub mismatch"};
  }
  Json merged = Json::Object();
  for (const std::string& key : id_claims.Keys()) {
    merged.Set(key, id_claims.Get(key));
  }
  for (const std::string& key : info->Keys()) {
    if (merged.Get(key).IsNull()) {
      merged.Set(key, info->Get(key));
    }
  }
  return merged;
}

// OpenID Connect: the ID token, verified (signature, iss, aud, azp, exp, iat, nonce), then
// joined by userinfo. kHttpFailure: the provider could not be asked; anything else: refused.
// `proven`: what the ID token itself (never userinfo) says of the authentication.
Result<Json> IdentityFromIdToken(Site& site, const TokenResponse& tokens, const std::string& nonce,
                                 int64_t now, const ClientProof* dpop,
                                 ProvenAuthentication& proven) {
  if (tokens.id_token.empty()) {
    LogAt(site.log, LogLevel::kError, 130,
          "token response has no id_token (is openid in CoinpayScope?)");
    return Error{Errc::kHttpFailure, "no id_token"};
  }
  TokenExpectations expect;
  expect.nonce = nonce;
  auto jwt = VerifyToken(site.provider, tokens.id_token, TokenKind::kIdToken, expect, now);
  Status checked = jwt ? Status(Ok{}) : Status(jwt.error());
  if (!checked) {
    LogAt(site.log, LogLevel::kWarn, 131,
          std::string("ID token refused (") + ErrcName(checked.code()) +
              "): " + checked.error().detail);
    return Error{Errc::kBadSignature, "ID token refused"};
  }
  auto authn = ProvenBy(jwt->claims);
  if (!authn) {
    LogAt(site.log, LogLevel::kWarn, 444, "ID token refused: " + authn.error().detail);
    return Error{Errc::kBadSignature, "ID token refused"};
  }
  proven = std::move(*authn);
  return MergeUserinfo(site, tokens.access_token, jwt->claims, dpop);
}

// Plain OAuth 2.0: the user endpoint, called with the access token, says who signed in.
Result<Json> IdentityFromUserEndpoint(Site& site, const std::string& access_token,
                                      const ClientProof* dpop) {
  const ProviderConfig& p = site.provider.config();
  HttpRequest req = site.provider.NewRequest("GET", p.user_endpoint);
  AuthorizeWith(req, access_token, dpop, site.provider.dpop_nonce());
  auto resp = site.provider.http().Send(req);
  if (!resp || resp->status != 200) {
    LogAt(site.log, LogLevel::kError, 137,
          resp ? "user endpoint answered HTTP " + std::to_string(resp->status)
               : "user endpoint unreachable: " + resp.error().detail);
    return Error{Errc::kHttpFailure, "user endpoint unavailable"};
  }
  auto doc = Json::Parse(resp->body);
  Json subject = doc ? doc->AtPointer(p.subject_pointer) : Json();
  if (!subject.IsString() && !subject.IsInteger()) {
    LogAt(site.log, LogLevel::kWarn, 138,
          "user endpoint's answer has no subject at " + p.subject_pointer);
    return Error{Errc::kMissingClaim, "no subject"};
  }
  Json claims = Json::Object();
  claims.Set("sub", Json::String(subject.ToText()));
  for (const auto& [name, pointer] : p.claim_pointers) {
    Json v = doc->AtPointer(pointer);
    if (!v.IsNull()) {
      claims.Set(name, v);
    }
  }
  return claims;
}

}  // namespace

Action HandleCallback(Site& site, const RequestView& req) {
  const ProviderConfig& p = site.provider.config();
  const SessionConfig& c = site.session_config;
  int64_t now = site.clock.NowSeconds();

  auto params = ParseQuery(req.query);
  if (!params) {
    site.provider.Count(Metric::kSigninFailedMalformed);
    LogAt(site.log, LogLevel::kInfo, 120, "callback with a malformed query refused");
    return SignInAgainPage(400, "The sign-in response was malformed.");
  }
  std::map<std::string, std::string> q;
  for (auto& [name, value] : *params) {
    if (!q.emplace(name, value).second) {
      site.provider.Count(Metric::kSigninFailedMalformed);
      LogAt(site.log, LogLevel::kInfo, 121, "callback with a repeated parameter refused");
      return SignInAgainPage(400, "The sign-in response was malformed.");
    }
  }

  // State first: without a matching sealed cookie nothing else in the request is trusted.
  auto state_it = q.find("state");
  if (state_it == q.end() || state_it->second.size() < 16) {
    site.provider.Count(Metric::kSigninFailedState);
    LogAt(site.log, LogLevel::kInfo, 122, "callback without a usable state refused");
    return SignInAgainPage(400, "This sign-in link is not valid. Please start again.");
  }
  const std::string& state = state_it->second;
  std::string cookie_name = LoginCookieName(c, state);
  std::optional<LoginState> login;
  for (const auto& [name, value] : ParseCookieHeader(req.cookie)) {
    if (name != cookie_name) {
      continue;
    }
    auto opened = c.sealer->Open(kLoginStatePurpose, value, now);
    if (!opened) {
      LogAt(site.log, LogLevel::kInfo, 123, "login cookie refused: " + opened.error().detail);
      continue;
    }
    auto decoded = DecodeLoginState(*opened);
    if (decoded && decoded->provider == p.name && ConstantTimeEquals(decoded->state, state)) {
      login = std::move(decoded);
      break;
    }
  }
  if (!login) {
    site.provider.Count(Metric::kSigninFailedState);
    LogAt(site.log, LogLevel::kInfo, 124,
          "callback state matches no valid login cookie (expired, forged, or another browser)");
    return SignInAgainPage(400,
                           "This sign-in link has expired or was started elsewhere. "
                           "Please start again.",
                           ErrorKind::kLoginExpired);
  }
  std::string clear_login = DeleteCookieValue(cookie_name, ModuleCookieAttrs(c, req.https));

  // RFC 9207: when the provider names itself, it must be our issuer (mix-up defence).
  // CoinpaySecurityProfile fapi2 requires the provider to name itself.
  auto iss_it = q.find("iss");
  if ((iss_it == q.end() && p.require_iss_response) ||
      (iss_it != q.end() && iss_it->second != p.issuer)) {
    site.provider.Count(Metric::kSigninFailedIssuer);
    LogAt(site.log, LogLevel::kWarn, 125,
          iss_it == q.end()
              ? "callback without iss (required by CoinpaySecurityProfile fapi2); refused"
              : "callback names another issuer; refused");
    Action a = SignInAgainPage(400, "The sign-in response came from an unexpected provider.");
    a.set_cookies.push_back(clear_login);
    return a;
  }
  auto error_it = q.find("error");
  if (error_it != q.end()) {
    site.provider.Count(Metric::kSigninFailedProviderError);
    LogAt(site.log, LogLevel::kInfo, 126,
          "provider returned error " + SafeErrorCode(error_it->second) + " to the callback");
    Action a =
        ErrorPage(ErrorKind::kLoginRefused, 403, "Sign-in was not completed",
                  "The sign-in was cancelled or refused at the provider.", "/", "Start again");
    a.set_cookies.push_back(clear_login);
    return a;
  }
  auto code_it = q.find("code");
  if (code_it == q.end() || code_it->second.empty()) {
    site.provider.Count(Metric::kSigninFailedMalformed);
    LogAt(site.log, LogLevel::kInfo, 127, "callback without a code refused");
    Action a = SignInAgainPage(400, "The sign-in response was incomplete.");
    a.set_cookies.push_back(clear_login);
    return a;
  }

  // CoinpayDPoP: a key of this session's own, made now and kept in the session record (see
  // docs/dpop.md for why per session and why no dpop_jkt at authorization).
  std::shared_ptr<const SigningKey> dpop_key;
  ClientProof proof{nullptr, &site.random, now};
  if (p.dpop != ClientDPoP::kOff) {
    auto key = SigningKey::GenerateEs256();
    if (!key) {
      LogAt(site.log, LogLevel::kError, 427, "cannot make a DPoP key: " + key.error().detail);
      Action a = ErrorPage(ErrorKind::kServiceUnavailable, 503, "Sign-in is unavailable",
                           "Sign-in could not be completed. Please try again shortly.");
      a.set_cookies.push_back(clear_login);
      return a;
    }
    dpop_key = std::move(*key);
    proof.key = dpop_key.get();
  }
  auto tokens = ExchangeCode(site.provider, code_it->second, login->code_verifier,
                             dpop_key ? &proof : nullptr);
  if (!tokens) {
    site.provider.Count(Metric::kSigninFailedTokenEndpoint);
    Action a;
    Errc e = tokens.code();
    if (e == Errc::kInvalidGrant) {
      LogAt(site.log, LogLevel::kInfo, 128,
            "code exchange refused by the provider (used twice or expired)");
      a = SignInAgainPage(400, "This sign-in link was already used or has expired.",
                          ErrorKind::kLoginExpired);
    } else {
      LogAt(site.log, LogLevel::kError, 129, "code exchange failed: " + tokens.error().detail);
      a = ErrorPage(ErrorKind::kProviderUnavailable, 502, "Sign-in is unavailable",
                    "The sign-in provider could not be reached. Please try again shortly.");
    }
    a.set_cookies.push_back(clear_login);
    return a;
  }
  ProvenAuthentication proven;  // stays empty for plain OAuth 2.0: nothing proves acr or time
  // Calls with the access token carry a proof only where the provider bound it.
  const ClientProof* bound = dpop_key && IsDPoPBound(*tokens) ? &proof : nullptr;
  Result<Json> who = p.profile == ProviderProfile::kOAuth2
                         ? IdentityFromUserEndpoint(site, tokens->access_token, bound)
                         : IdentityFromIdToken(site, *tokens, login->nonce, now, bound, proven);
  if (!who) {
    site.provider.Count(p.profile == ProviderProfile::kOAuth2 ? Metric::kSigninFailedUserinfo
                                                              : Metric::kSigninFailedIdToken);
    Action a = who.code() == Errc::kHttpFailure
                   ? ErrorPage(ErrorKind::kProviderUnavailable, 502, "Sign-in is unavailable",
                               "The sign-in provider could not be reached. Please try again "
                               "shortly.")
                   : ErrorPage(ErrorKind::kLoginUnverified, 401, "Sign-in could not be verified",
                               "The answer from the sign-in provider did not pass our checks.", "/",
                               "Start again");
    a.set_cookies.push_back(clear_login);
    return a;
  }
  Json claims = std::move(*who);
  // A step-up sign-in must bring what it asked for; a weaker answer stops here, with the old
  // session untouched, and never starts another redirect (the location would only ask again).
  if (!login->step_up.Empty()) {
    if (Status enough = CheckStepUpAnswer(login->step_up, proven); !enough) {
      site.provider.Count(Metric::kSigninFailedIdToken);
      LogAt(site.log, LogLevel::kInfo, 441,
            "step-up sign-in refused: " + enough.error().detail +
                "; sub=" + Untrusted(claims.GetString("sub").value_or(""), 128));
      Action a = ErrorPage(ErrorKind::kLoginUnverified, 401, "Stronger sign-in required",
                           "This page needs a stronger or more recent sign-in than the "
                           "provider confirmed. Your other pages still work.",
                           "/", "Home");
      a.set_cookies.push_back(clear_login);
      return a;
    }
  }

  SessionRecord record;
  record.provider = p.name;
  record.issuer = p.issuer;
  record.client_id = p.client_id;
  record.sub = claims.GetString("sub").value_or("");
  record.user = record.sub;
  record.claims = ClaimsForApplication(claims);
  record.claims_json = claims.Dump();
  record.id_token = tokens->id_token;
  record.access_token = tokens->access_token;
  record.refresh_token = tokens->refresh_token;
  record.access_expires_at = tokens->expires_in > 0 ? SaturatingAdd(now, tokens->expires_in) : 0;
  record.access_issued_at = now;
  record.acr = proven.acr;
  record.auth_time = AuthenticatedAt(proven, now);
  if (dpop_key) {
    record.dpop_key = dpop_key->PrivateJwkJson();
    record.access_token_dpop = IsDPoPBound(*tokens);
  }

  // A fresh id every time: a session id the browser already had is never promoted.
  auto old = site.sessions.Load(req.cookie, now);
  if (old && old->has_value()) {
    (void)site.sessions.Destroy((*old)->id);
  }
  auto id = site.sessions.Create(std::move(record), now, claims.GetString("sid").value_or(""));
  if (!id) {
    site.provider.Count(Metric::kSigninFailedSessionStore);
    site.provider.CountStoreError();
    LogAt(site.log, LogLevel::kError, 132, "cannot store the new session: " + id.error().detail);
    Action a = ErrorPage(ErrorKind::kServiceUnavailable, 503, "Sign-in is unavailable",
                         "Your session could not be stored. Please try again shortly.");
    a.set_cookies.push_back(clear_login);
    return a;
  }
  site.provider.Count(Metric::kSigninCompleted);
  site.provider.Count(Metric::kSessionCreated);
  LogAt(site.log, LogLevel::kInfo, 133,
        "signed in sub=" + Untrusted(claims.GetString("sub").value_or(""), 128));
  Action a = Action::Redirect(login->return_to);
  a.set_cookies.push_back(clear_login);
  a.set_cookies.push_back(SetSessionCookie(c, *id, req.https));
  a.headers.emplace_back("Cache-Control", "no-store");
  return a;
}

}  // namespace coinpay
