// CoinpaySecurityProfile fapi2: what the FAPI 2.0 Security Profile asks of a client and a
// resource server, turned on where the operator left a setting unset and refused (with the fix
// named) where the operator set it otherwise. One place, so an auditor reads the whole profile
// here:
//   client authentication  private_key_jwt, keys signing ES256 or PS256 (FAPI 2.0 5.3.3.4)
//   authorization request  pushed (PAR, RFC 9126); PKCE S256 is always used
//   authorization response iss required (RFC 9207)
//   tokens                 sender-constrained with DPoP (RFC 9449), at sign-in and at APIs
//   signatures accepted    ES256 and PS256 only (ID tokens, access tokens, DPoP proofs)
//   redirect URI           https (plain http only on loopback, for tests)
#pragma once

#include "core/bearer_authn.h"
#include "core/provider_config.h"
#include "core/result.h"
#include "core/site_settings.h"

namespace coinpay {

// Adjusts a provider built from `c` (before FinalizeProviderConfig checks it) to its profile.
Status ApplySecurityProfile(const SiteSettings& c, ProviderConfig& p);

// The same for the site's bearer settings (from the server or virtual host's own settings).
Status ApplyBearerSecurityProfile(const SiteSettings& server, BearerConfig& bearer);

// The DPoP mode a bearer location runs with: its CoinpayBearerDPoP, or required where the
// site's profile asks for sender-constrained tokens.
inline DPoPMode EffectiveBearerDPoP(const BearerConfig& bearer, DPoPMode location_mode) {
  return bearer.sender_constrained_only ? DPoPMode::kRequired : location_mode;
}

}  // namespace coinpay
