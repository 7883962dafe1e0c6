// The rules per kind of token, in one table; everything else is shared.
#include "core/token_verifier.h"

#include <algorithm>
#include <cctype>

#include "core/claims_policy.h"

namespace coinpay {
namespace {

constexpr char kLogoutEvent[] = "http://schemas.openid.net/event/backchannel-logout";

// Which JOSE `typ` values a kind takes (RFC 7515 4.1.9: compared without "application/", any
// case). kNone: the header may omit typ.
enum TypMask : unsigned {
  kTypNone = 1,
  kTypJwt = 2,
  kTypAtJwt = 4,
  kTypLogoutJwt = 8,
};

enum NonceRule { kNonceRefused, kNonceAllowed, kNonceCompared };

struct Preset {
  TokenKind kind;
  unsigned typs;             // accepted typ values
  bool aud_is_client_id;     // aud must name our client id (else: the API's audiences)
  bool check_azp;            // azp, when present (or aud has several), must be our client id
  bool require_exp;
  bool require_iat;
  NonceRule nonce;
  bool events;               // must carry the back-channel logout event (else: must not)
  bool subject;              // needs sub (access tokens: sub or client_id; logout: sub or sid)
};

// clang-format off
constexpr Preset kPresets[] = {
  // kind                          typs                                aud=client azp    exp    iat    nonce           events subject
  {TokenKind::kIdToken,          kTypNone | kTypJwt,                 true,      true,  true,  true,  kNonceCompared, false, true},
  {TokenKind::kRefreshedIdToken, kTypNone | kTypJwt,                 true,      true,  true,  false, kNonceAllowed,  false, true},
  {TokenKind::kAccessToken,      kTypAtJwt,                          false,     false, true,  false, kNonceRefused,  false, true},
  {TokenKind::kLogoutToken,      kTypNone | kTypJwt | kTypLogoutJwt, true,      false, false, true,  kNonceRefused,  true,  true},
};
// clang-format on

const Preset& PresetFor(TokenKind kind) {
  for (const Preset& p : kPresets) {
    if (p.kind == kind) {
      return p;
    }
  }
  return kPresets[0];
}

unsigned TypOf(const Json& header) {
  Json typ = header.Get("typ");
  if (typ.IsNull()) {
    return kTypNone;
  }
  if (!typ.IsString()) {
    return 0;
  }
  std::string t = typ.AsString();
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t.rfind("application/", 0) == 0) {
    t.erase(0, 12);
  }
  if (t == "jwt") {
    return kTypJwt;
  }
  if (t == "at+jwt") {
    return kTypAtJwt;
  }
  if (t == "logout+jwt") {
    return kTypLogoutJwt;
  }
  return 0;
}

bool NamesAny(const Json& claims, const std::vector<std::string>& ids) {
  std::vector<std::string> named = AudienceList(claims);
  if (auto azp = claims.GetString("azp")) {
    named.push_back(*azp);
  }
  return std::any_of(named.begin(), named.end(), [&](const std::string& n) {
    return std::find(ids.begin(), ids.end(), n) != ids.end();
  });
}

Status CheckKind(const Preset& k, const VerifiedJwt& jwt, const TokenExpectations& expect,
                 const ProviderConfig& p, int64_t now) {
  const Json& c = jwt.claims;
  unsigned typs = k.typs;
  if (k.kind == TokenKind::kAccessToken && expect.access_token_type == AccessTokenType::kJwt) {
    typs |= kTypNone | kTypJwt;
  }
  unsigned typ = TypOf(jwt.header);
  if ((typ & typs) == 0) {
    return Error{Errc::kBadInput, "token type (typ) is not the one this kind of token carries"};
  }
  bool has_events = c.Get("events").IsObject() && c.Get("events").Get(kLogoutEvent).IsObject();
  if (k.events != has_events || (!k.events && !c.Get("events").IsNull())) {
    return Error{k.events ? Errc::kMissingClaim : Errc::kBadInput,
                 k.events ? "token lacks the back-channel logout event"
                          : "token carries events (a logout token)"};
  }
  if (k.nonce == kNonceRefused && !c.Get("nonce").IsNull()) {
    return Error{Errc::kBadInput, "token carries a nonce (an ID token)"};
  }
  // A plainly typed token addressed to one of our own clients is an ID token in disguise.
  if (k.kind == TokenKind::kAccessToken && typ != kTypAtJwt &&
      NamesAny(c, expect.own_client_ids)) {
    return Error{Errc::kBadInput, "untyped token addressed to our client id (an ID token)"};
  }
  ClaimsPolicy policy;
  policy.issuer = p.issuer;
  policy.audiences =
      k.aud_is_client_id ? std::vector<std::string>{p.client_id} : expect.audiences;
  policy.leeway_seconds = p.leeway_seconds;
  policy.require_exp = k.require_exp;
  policy.require_iat = k.require_iat;
  if (k.nonce == kNonceCompared) {
    policy.nonce = expect.nonce;
  }
  if (k.check_azp) {
    policy.client_id = p.client_id;
  }
  if (auto st = CheckClaims(c, policy, now); !st) {
    return st;
  }
  if (k.subject) {
    bool ok = c.GetString("sub").has_value();
    if (k.kind == TokenKind::kAccessToken) {
      ok = ok || c.GetString("client_id").has_value();
    } else if (k.kind == TokenKind::kLogoutToken) {
      ok = ok || c.GetString("sid").has_value();
    }
    if (!ok) {
      return Error{Errc::kMissingClaim, "token names no subject"};
    }
  }
  return OkStatus();
}

}  // namespace

Result<VerifiedJwt> VerifyToken(ProviderClient& provider, std::string_view compact, TokenKind kind,
                                const TokenExpectations& expect, int64_t now) {
  const ProviderConfig& p = provider.config();
  auto jwt = provider.Verify(compact, p.signing_algs);
  if (!jwt) {
    return jwt.error();
  }
  if (auto st = CheckKind(PresetFor(kind), *jwt, expect, p, now); !st) {
    return st.error();
  }
  return jwt;
}

}  // namespace coinpay
