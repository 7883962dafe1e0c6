// A provider's endpoints: from its discovery document (OpenID Connect Discovery 1.0), else the
// paths CoinPay documents, with any endpoint the operator configured taking precedence.
#pragma once

#include <string>
#include <string_view>

#include "core/provider_config.h"
#include "core/result.h"

namespace coinpay {

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string userinfo_endpoint;
  std::string revocation_endpoint;
  std::string end_session_endpoint;
  std::string introspection_endpoint;
  // RFC 9126 section 5: where authorization requests are pushed (empty: not offered), and
  // whether the provider accepts no other kind.
  std::string pushed_authorization_request_endpoint;
  bool require_pushed_authorization_requests = false;
};

// Parses a discovery document; its issuer must equal the configured one (OIDC Discovery 4.3)
// and every endpoint must be an absolute http(s) URL.
Result<ProviderMetadata> ParseDiscovery(std::string_view json, const ProviderConfig& config);

// CoinPay's documented paths under the issuer, for providers without discovery.
ProviderMetadata DefaultMetadata(const ProviderConfig& config);

// Operator-configured endpoints win over discovered ones.
void ApplyConfiguredEndpoints(ProviderMetadata& m, const ProviderConfig& config);

}  // namespace coinpay
