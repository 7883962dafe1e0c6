// Token endpoint requests and responses. Secrets travel only in the request; error details
// carry the provider's error code, never a token.
#include "core/token_client.h"

#include <algorithm>

#include "core/client_assertion.h"
#include "core/encoding.h"
#include "core/json.h"

namespace coinpay {
namespace {

// client_id in the body once: a pushed authorization request already carries it among the
// authorization parameters, and a repeated parameter is refused (RFC 9126 section 2.1).
void AddClientId(Params& params, const std::string& client_id) {
  for (const auto& [name, value] : params) {
    if (name == "client_id") {
      return;
    }
  }
  params.emplace_back("client_id", client_id);
}

// The one place client authentication is added to a call to the provider.
Result<HttpRequest> FormPost(ProviderClient& provider, const std::string& url, Params params) {
  const ProviderConfig& cfg = provider.config();
  HttpRequest req = provider.NewRequest("POST", url);
  switch (cfg.token_auth) {
    case TokenEndpointAuth::kClientSecretBasic:
      // RFC 6749 section 2.3.1: form-encode id and secret before base64.
      req.headers.emplace_back(
          "Authorization",
          "Basic " + Base64Encode(UrlEncode(cfg.client_id) + ":" + UrlEncode(cfg.client_secret)));
      break;
    case TokenEndpointAuth::kClientSecretPost:
      AddClientId(params, cfg.client_id);
      params.emplace_back("client_secret", cfg.client_secret);
      break;
    case TokenEndpointAuth::kNone:
      AddClientId(params, cfg.client_id);
      break;
    case TokenEndpointAuth::kPrivateKeyJwt: {
      if (cfg.signing_keys.empty()) {  // refused at startup; never a call without credentials
        return Error{Errc::kConfig, "private_key_jwt without a CoinpayPrivateKeyFile key"};
      }
      auto assertion = MakeClientAssertion(*cfg.signing_keys.front(), cfg.client_id, cfg.issuer,
                                           provider.clock().NowSeconds(), provider.random());
      if (!assertion) {
        return assertion.error();
      }
      AddClientId(params, cfg.client_id);
      params.emplace_back("client_assertion_type", std::string(kClientAssertionType));
      params.emplace_back("client_assertion", std::move(*assertion));
      break;
    }
  }
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = EncodeForm(params);
  return req;
}

// One call to the token endpoint; with DPoP, a proof carrying the provider's latest nonce.
Result<HttpResponse> SendTokenRequest(ProviderClient& provider, const std::string& endpoint,
                                      const Params& params, const ClientProof* dpop) {
  // A retry after use_dpop_nonce comes here again: a fresh client assertion (new jti) too.
  auto req = FormPost(provider, endpoint, params);
  if (!req) {
    return req.error();
  }
  if (dpop != nullptr) {
    auto proof = MakeDPoPProof(*dpop, "POST", endpoint, provider.dpop_nonce());
    if (!proof) {
      return proof.error();
    }
    req->headers.emplace_back("DPoP", std::move(*proof));
  }
  auto resp = SendThroughBreaker(provider, *req);
  if (resp && dpop != nullptr && !resp->dpop_nonce.empty()) {
    provider.set_dpop_nonce(resp->dpop_nonce);
  }
  return resp;
}

Result<TokenResponse> CallTokenEndpoint(ProviderClient& provider, Params params,
                                        const ClientProof* dpop) {
  if (!provider.config().resource.empty()) {
    params.emplace_back("resource", provider.config().resource);
  }
  auto meta = provider.Metadata();
  if (!meta) {
    return meta.error();
  }
  auto resp = SendTokenRequest(provider, (*meta)->token_endpoint, params, dpop);
  if (!resp) {
    return resp.error();
  }
  auto body = Json::Parse(resp->body);
  // RFC 9449 section 8: the provider wants a nonce in the proof; it sent one, try once more.
  if (dpop != nullptr && resp->status == 400 && !resp->dpop_nonce.empty() && body &&
      body->GetString("error").value_or("") == "use_dpop_nonce") {
    resp = SendTokenRequest(provider, (*meta)->token_endpoint, params, dpop);
    if (!resp) {
      return resp.error();
    }
    body = Json::Parse(resp->body);
  }
  if (resp->status != 200) {
    std::string code =
        body ? SafeErrorCode(body->GetString("error").value_or("")) : "no JSON error";
    Errc e = code == "invalid_grant" ? Errc::kInvalidGrant : Errc::kProviderError;
    return Error{e, "token endpoint answered HTTP " + std::to_string(resp->status) + " " + code};
  }
  if (!body || !body->IsObject()) {
    return Error{Errc::kBadJson, "token response is not a JSON object"};
  }
  TokenResponse t;
  t.access_token = body->GetString("access_token").value_or("");
  t.token_type = body->GetString("token_type").value_or("");
  t.expires_in = body->GetInt("expires_in").value_or(0);
  t.id_token = body->GetString("id_token").value_or("");
  t.refresh_token = body->GetString("refresh_token").value_or("");
  t.scope = body->GetString("scope").value_or("");
  if (t.access_token.empty()) {
    return Error{Errc::kBadJson, "token response has no access_token"};
  }
  if (!t.token_type.empty() && !IEquals(t.token_type, "Bearer") && !IEquals(t.token_type, "DPoP")) {
    return Error{Errc::kBadJson, "token response has an unknown token_type"};
  }
  if (dpop == nullptr && IsDPoPBound(t)) {
    return Error{Errc::kProviderError, "token_type DPoP, but no DPoP proof was sent"};
  }
  if (dpop != nullptr && provider.config().dpop == ClientDPoP::kRequired && !IsDPoPBound(t)) {
    return Error{Errc::kProviderError,
                 "token_type is not DPoP (CoinpayDPoP required): the provider did not bind the "
                 "token to the session's key"};
  }
  return t;
}

}  // namespace

Result<HttpResponse> SendThroughBreaker(ProviderClient& provider, const HttpRequest& req) {
  auto permit = provider.breaker().Acquire();
  if (!permit) {
    return permit.error();
  }
  auto resp = provider.http().Send(req);
  if (!resp) {
    permit->Failed(resp.error().detail);
  } else if (resp->status >= 500) {
    permit->Failed("HTTP " + std::to_string(resp->status));
  } else {
    permit->Succeeded();
  }
  return resp;
}

bool IsDPoPBound(const TokenResponse& t) { return IEquals(t.token_type, "DPoP"); }

Result<TokenResponse> ExchangeCode(ProviderClient& provider, const std::string& code,
                                   const std::string& code_verifier, const ClientProof* dpop) {
  return CallTokenEndpoint(provider,
                           {{"grant_type", "authorization_code"},
                            {"code", code},
                            {"redirect_uri", provider.config().redirect_uri},
                            {"code_verifier", code_verifier}},
                           dpop);
}

Result<TokenResponse> RefreshTokens(ProviderClient& provider, const std::string& refresh_token,
                                    const ClientProof* dpop) {
  return CallTokenEndpoint(
      provider, {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}}, dpop);
}

Result<Json> Introspect(ProviderClient& provider, const std::string& token) {
  auto meta = provider.Metadata();
  if (!meta) {
    return meta.error();
  }
  auto req = FormPost(provider, (*meta)->introspection_endpoint,
                      {{"token", token}, {"token_type_hint", "access_token"}});
  if (!req) {
    return req.error();
  }
  auto resp = SendThroughBreaker(provider, *req);
  if (!resp) {
    return resp.error();
  }
  if (resp->status != 200) {
    return Error{Errc::kProviderError,
                 "introspection endpoint answered HTTP " + std::to_string(resp->status)};
  }
  auto body = Json::Parse(resp->body);
  if (!body || !body->IsObject()) {
    return Error{Errc::kBadJson, "introspection answer is not a JSON object"};
  }
  return *body;
}

Result<PushedAuthorizationResponse> PushAuthorizationRequest(ProviderClient& provider,
                                                             const std::string& endpoint,
                                                             Params params) {
  auto req = FormPost(provider, endpoint, std::move(params));
  if (!req) {
    return req.error();
  }
  auto resp = SendThroughBreaker(provider, *req);
  if (!resp) {
    return resp.error();
  }
  auto body = Json::Parse(resp->body);
  // RFC 9126 section 2.2: 201 Created; some providers answer 200, which is as good.
  if (resp->status != 201 && resp->status != 200) {
    std::string code =
        body ? SafeErrorCode(body->GetString("error").value_or("")) : "no JSON error";
    return Error{Errc::kProviderError, "pushed authorization endpoint answered HTTP " +
                                           std::to_string(resp->status) + " " + code};
  }
  if (!body || !body->IsObject()) {
    return Error{Errc::kBadJson, "pushed authorization answer is not a JSON object"};
  }
  PushedAuthorizationResponse out;
  out.request_uri = body->GetString("request_uri").value_or("");
  out.expires_in = body->GetInt("expires_in").value_or(0);
  if (out.request_uri.empty() || out.request_uri.size() > 2048) {
    return Error{Errc::kBadJson, "pushed authorization answer has no usable request_uri"};
  }
  return out;
}

Status RevokeToken(ProviderClient& provider, const std::string& token, const std::string& hint,
                   const std::string& access_token) {
  auto meta = provider.Metadata();
  if (!meta) {
    return meta.error();
  }
  if ((*meta)->revocation_endpoint.empty()) {
    return Error{Errc::kConfig, "the provider has no revocation endpoint"};
  }
  HttpRequest req;
  if (provider.config().revocation_auth == RevocationAuth::kBearer) {
    req = provider.NewRequest("POST", (*meta)->revocation_endpoint);
    req.headers.emplace_back("Authorization", "Bearer " + access_token);
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = EncodeForm({{"token", token}});
  } else {
    auto form = FormPost(provider, (*meta)->revocation_endpoint,
                         {{"token", token}, {"token_type_hint", hint}});
    if (!form) {
      return form.error();
    }
    req = std::move(*form);
  }
  auto resp = SendThroughBreaker(provider, req);
  if (!resp) {
    return resp.error();
  }
  if (resp->status < 200 || resp->status > 299) {
    return Error{Errc::kProviderError,
                 "revocation endpoint answered HTTP " + std::to_string(resp->status)};
  }
  return OkStatus();
}

}  // namespace coinpay
