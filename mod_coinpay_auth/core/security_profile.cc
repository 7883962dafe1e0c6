#include "core/security_profile.h"

#include <string>
#include <string_view>
#include <vector>

#include "core/jose.h"
#include "core/redirect_guard.h"

namespace coinpay {
namespace {

// FAPI 2.0 Security Profile 5.4.1 names PS256 and ES256 (its final text adds EdDSA; the issue
// that asked for this profile names these two).
std::vector<std::string> Fapi2Algorithms() { return {"PS256", "ES256"}; }

bool Fapi2Algorithm(std::string_view alg) { return alg == "PS256" || alg == "ES256"; }

Error Refuse(const std::string& what) {
  return Error{Errc::kConfig, "CoinpaySecurityProfile fapi2: " + what};
}

// An algorithm list the operator wrote must hold only FAPI 2.0's; an unwritten one becomes it.
Status CheckFapi2Algorithms(const char* directive, bool set, std::vector<std::string>& algs) {
  if (!set) {
    algs = Fapi2Algorithms();
    return OkStatus();
  }
  for (const std::string& alg : algs) {
    if (!Fapi2Algorithm(alg)) {
      return Refuse(std::string(directive) + " names " + alg +
                    "; FAPI 2.0 allows PS256 and ES256 only: list only those (or remove the "
                    "directive)");
    }
  }
  return OkStatus();
}

}  // namespace

Status ApplySecurityProfile(const SiteSettings& c, ProviderConfig& p) {
  p.security_profile = c.security_profile.value;
  if (p.security_profile != SecurityProfile::kFapi2) {
    return OkStatus();
  }
  const bool signing_algs_set = c.signing_algs.set || c.id_token_algs.set;
  if (auto st = CheckFapi2Algorithms(
          c.id_token_algs.set ? "CoinpayIDTokenAlgorithms" : "CoinpaySigningAlgorithms",
          signing_algs_set, p.signing_algs);
      !st) {
    return st;
  }
  // A provider that only validates bearer tokens has no client to profile.
  const bool client = !c.client_id.value.empty() || !c.redirect_uri.value.empty();
  if (!client) {
    return OkStatus();
  }
  if (p.profile != ProviderProfile::kOidc) {
    return Refuse(
        "needs OpenID Connect; remove CoinpayProviderProfile oauth2 or the security profile");
  }
  if (c.token_auth.set && p.token_auth != TokenEndpointAuth::kPrivateKeyJwt) {
    return Refuse(
        "authenticates the client with private_key_jwt: set CoinpayTokenEndpointAuth "
        "private_key_jwt (or remove it) and name the key with CoinpayPrivateKeyFile");
  }
  p.token_auth = TokenEndpointAuth::kPrivateKeyJwt;  // a missing key is refused by Finalize
  for (const auto& key : p.signing_keys) {
    if (!Fapi2Algorithm(key->alg())) {
      return Refuse("the CoinpayPrivateKeyFile key " + key->kid() + " signs " + key->alg() +
                    "; FAPI 2.0 allows PS256 and ES256 only: give an RSA key PS256 as its third "
                    "argument (CoinpayPrivateKeyFile <file> <kid> PS256) or use an EC P-256 key");
    }
  }
  if (c.par.set && p.par == ParMode::kOff) {
    return Refuse(
        "sends authorization requests pushed (PAR): remove CoinpayPushedAuthorization off");
  }
  p.par = ParMode::kOn;
  if (c.dpop.set && p.dpop != ClientDPoP::kRequired) {
    return Refuse("needs sender-constrained tokens: set CoinpayDPoP required (or remove it)");
  }
  p.dpop = ClientDPoP::kRequired;
  p.require_iss_response = true;
  auto origin = OriginOf(p.redirect_uri);
  if (origin && !IsHttpsOrLoopback(*origin)) {
    return Refuse("CoinpayRedirectURI must be https (plain http only on this machine's loopback)");
  }
  return OkStatus();
}

Status ApplyBearerSecurityProfile(const SiteSettings& server, BearerConfig& bearer) {
  if (server.security_profile.value != SecurityProfile::kFapi2) {
    return OkStatus();
  }
  bearer.sender_constrained_only = true;
  return CheckFapi2Algorithms("CoinpayBearerDPoPAlgorithms", server.bearer_dpop_algs.set,
                              bearer.dpop_algs);
}

}  // namespace coinpay
