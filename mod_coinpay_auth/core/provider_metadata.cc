// Discovery parsing and CoinPay's fallback paths.
#include "core/provider_metadata.h"

#include "core/json.h"
#include "core/redirect_guard.h"

namespace coinpay {
namespace {

// A discovered endpoint must be https (or http on loopback, as for the issuer): a discovery
// document must not be able to send client secrets or tokens, or take keys, in clear text.
bool SetEndpoint(const Json& doc, std::string_view key, std::string& out) {
  auto v = doc.GetString(key);
  if (!v) {
    return true;
  }
  auto origin = OriginOf(*v);
  if (!origin || !IsHttpsOrLoopback(*origin)) {
    return false;
  }
  out = *v;
  return true;
}

void Override(std::string& field, const std::string& configured) {
  if (!configured.empty()) {
    field = configured;
  }
}

}  // namespace

Result<ProviderMetadata> ParseDiscovery(std::string_view json, const ProviderConfig& config) {
  auto doc = Json::Parse(json);
  if (!doc || !doc->IsObject()) {
    return Error{Errc::kBadJson, "discovery document is not a JSON object"};
  }
  ProviderMetadata m;
  m.issuer = doc->GetString("issuer").value_or("");
  if (m.issuer != config.issuer) {
    return Error{Errc::kIssuerMismatch, "discovery issuer differs from CoinpayIssuer"};
  }
  bool ok = SetEndpoint(*doc, "authorization_endpoint", m.authorization_endpoint) &&
            SetEndpoint(*doc, "token_endpoint", m.token_endpoint) &&
            SetEndpoint(*doc, "jwks_uri", m.jwks_uri) &&
            SetEndpoint(*doc, "userinfo_endpoint", m.userinfo_endpoint) &&
            SetEndpoint(*doc, "revocation_endpoint", m.revocation_endpoint) &&
            SetEndpoint(*doc, "end_session_endpoint", m.end_session_endpoint) &&
            SetEndpoint(*doc, "introspection_endpoint", m.introspection_endpoint) &&
            SetEndpoint(*doc, "pushed_authorization_request_endpoint",
                        m.pushed_authorization_request_endpoint);
  m.require_pushed_authorization_requests =
      doc->Get("require_pushed_authorization_requests").AsBool();
  if (!ok) {
    return Error{Errc::kBadJson,
                 "discovery document has an endpoint that is not an https URL (plain http only "
                 "on loopback)"};
  }
  ApplyConfiguredEndpoints(m, config);
  if (m.authorization_endpoint.empty() || m.token_endpoint.empty() || m.jwks_uri.empty()) {
    return Error{Errc::kBadJson, "discovery document lacks authorization, token or jwks endpoint"};
  }
  return m;
}

ProviderMetadata DefaultMetadata(const ProviderConfig& config) {
  ProviderMetadata m;
  m.issuer = config.issuer;
  std::string base = IssuerBase(config.issuer);
  m.authorization_endpoint = base + "/oauth/authorize";
  m.token_endpoint = base + "/oauth/token";
  m.jwks_uri = base + "/.well-known/jwks.json";
  m.userinfo_endpoint = base + "/oauth/userinfo";
  m.revocation_endpoint = base + "/oauth/revoke";
  ApplyConfiguredEndpoints(m, config);
  return m;
}

void ApplyConfiguredEndpoints(ProviderMetadata& m, const ProviderConfig& config) {
  Override(m.authorization_endpoint, config.authorization_endpoint);
  Override(m.token_endpoint, config.token_endpoint);
  Override(m.jwks_uri, config.jwks_uri);
  Override(m.revocation_endpoint, config.revocation_endpoint);
}

}  // namespace coinpay
