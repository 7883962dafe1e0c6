// DPoP proof checks, in the order of RFC 9449 section 4.3; the signature is checked by
// core/jose.cc with the proof's own key, the thumbprint computed there too.
#include "core/dpop_proof.h"

#include <algorithm>
#include <array>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/jose.h"
#include "core/json.h"
#include "core/log.h"
#include "core/proxy_origin.h"
#include "core/saturating.h"

namespace coinpay {
namespace {

constexpr size_t kMaxProofChars = size_t{8} * 1024;
constexpr size_t kMaxJtiChars = 256;
constexpr size_t kMaxHtuChars = 4096;
constexpr size_t kMinRsaModulusBytes = 256;  // 2048 bits

Error Refuse(std::string detail) { return Error{Errc::kBadInput, std::move(detail)}; }

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// A path with its percent escapes in RFC 3986 6.2.2 normal form; nullopt on a bad escape or a
// byte no URL holds.
std::optional<std::string> NormalizePath(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 1);
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return std::nullopt;
    }
    if (c != '%') {
      out += c;
      continue;
    }
    if (i + 2 >= path.size()) {
      return std::nullopt;
    }
    int hi = HexValue(path[i + 1]);
    int lo = HexValue(path[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    char decoded = static_cast<char>(hi * 16 + lo);
    if (IsUnreserved(decoded)) {
      out += decoded;
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[hi];
      out += kHex[lo];
    }
    i += 2;
  }
  if (out.empty()) {
    out = "/";
  }
  return out;
}

// The proof's public key as a one-key JWKS for VerifyJws, and the same members for the
// thumbprint; a refusal for a private or unusable key.
struct ProofKey {
  std::string public_jwk;  // compact JSON of the public members only
  std::shared_ptr<const Jwks> jwks;
};

Result<ProofKey> ProofKeyOf(const Json& header) {
  Json jwk = header.Get("jwk");
  if (!jwk.IsObject()) {
    return Refuse("the proof's header has no jwk");
  }
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (!jwk.Get(secret).IsNull()) {
      return Refuse("the proof's jwk holds a private key");
    }
  }
  std::string kty = jwk.GetString("kty").value_or("");
  std::vector<const char*> members;
  if (kty == "EC") {
    members = {"crv", "x", "y"};
  } else if (kty == "RSA") {
    members = {"e", "n"};
  } else if (kty == "OKP") {
    members = {"crv", "x"};
  } else {
    return Refuse("the proof's jwk is not an RSA, EC or OKP public key");
  }
  Json pub = Json::Object();
  pub.Set("kty", Json::String(kty));
  for (const char* m : members) {
    auto v = jwk.GetString(m);
    if (!v || v->empty()) {
      return Refuse("the proof's jwk lacks a member of its key type");
    }
    pub.Set(m, Json::String(*v));
  }
  if (kty == "RSA") {
    auto n = Base64UrlDecode(jwk.GetString("n").value_or(""));
    if (!n || n->size() < kMinRsaModulusBytes) {
      return Refuse("the proof's RSA key is shorter than 2048 bits");
    }
  }
  ProofKey key;
  key.public_jwk = pub.Dump();
  // VerifyJws matches a kid in the JWS header against the key's: give the key the same one.
  Json as_set = pub;
  if (auto kid = header.GetString("kid")) {
    as_set.Set("kid", Json::String(*kid));
  }
  Json keys = Json::Array();
  keys.Append(as_set);
  Json set = Json::Object();
  set.Set("keys", keys);
  auto jwks = Jwks::Parse(set.Dump());
  if (!jwks || (*jwks)->size() != 1) {
    return Refuse("the proof's jwk is not a usable public key");
  }
  key.jwks = std::move(*jwks);
  return key;
}

}  // namespace

Result<std::string> BoundJktOf(const Json& claims) {
  Json cnf = claims.Get("cnf");
  if (cnf.IsNull()) {
    return std::string();
  }
  if (!cnf.IsObject()) {
    return Error{Errc::kBadInput, "the token's cnf is not an object"};
  }
  std::string jkt = cnf.GetString("jkt").value_or("");
  // A SHA-256 thumbprint: 32 bytes, 43 base64url characters.
  if (jkt.size() != 43 || !IsBase64Url(jkt) || cnf.Size() != 1) {
    return Error{Errc::kBadInput, "the token is bound by a cnf this API cannot check"};
  }
  return jkt;
}

std::optional<std::string> NormalizeHtu(std::string_view url) {
  if (url.size() > kMaxHtuChars) {
    return std::nullopt;
  }
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string scheme = ToLower(url.substr(0, colon));
  if (scheme != "http" && scheme != "https") {
    return std::nullopt;
  }
  std::string_view rest = url.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path;
  if (end != std::string_view::npos && rest[end] == '/') {
    path = rest.substr(end);
    path = path.substr(0, path.find_first_of("?#"));
  }
  if (!IsValidHost(authority)) {
    return std::nullopt;  // also refuses userinfo ("@")
  }
  std::string host = ToLower(authority);
  size_t port_colon = host.rfind(':');
  if (port_colon != std::string::npos && host.find(']', port_colon) == std::string::npos) {
    std::string port = host.substr(port_colon + 1);
    port.erase(0, std::min(port.find_first_not_of('0'), port.size() - 1));  // 0443 is 443
    host.resize(port_colon);
    if (!((scheme == "https" && port == "443") || (scheme == "http" && port == "80"))) {
      host += ":" + port;
    }
  }
  auto normal_path = NormalizePath(path);
  if (!normal_path) {
    return std::nullopt;
  }
  return scheme + "://" + host + *normal_path;
}

std::string RequestHtu(bool https, std::string_view host, std::string_view path) {
  std::string url = https ? "https://" : "http://";
  url.append(host).append(path.empty() ? std::string_view("/") : path);
  return NormalizeHtu(url).value_or("");
}

Result<CheckedDPoPProof> CheckDPoPProof(std::string_view proof,
                                        const DPoPProofExpectations& expect) {
  if (proof.empty()) {
    return Refuse("the request has no DPoP proof");
  }
  if (proof.find(',') != std::string_view::npos) {
    return Refuse("the request has more than one DPoP header");
  }
  if (proof.size() > kMaxProofChars || std::count(proof.begin(), proof.end(), '.') != 2) {
    return Refuse("the DPoP proof is not a compact JWS");
  }
  auto header_bytes = Base64UrlDecode(proof.substr(0, proof.find('.')));
  auto header = header_bytes ? Json::Parse(*header_bytes)
                             : Result<Json>(Error{Errc::kBadInput, "not base64url"});
  if (!header || !header->IsObject()) {
    return Refuse("the DPoP proof's header is not a JSON object");
  }
  if (header->GetString("typ").value_or("") != "dpop+jwt") {
    return Refuse("the DPoP proof's typ is not dpop+jwt");
  }
  std::string alg = header->GetString("alg").value_or("");
  if (!IsSupportedAlgorithm(alg) ||
      std::find(expect.algs.begin(), expect.algs.end(), alg) == expect.algs.end()) {
    return Refuse("the DPoP proof's alg " + Untrusted(alg, 16) + " is not accepted");
  }
  auto key = ProofKeyOf(*header);
  if (!key) {
    return key.error();
  }
  auto jwt = VerifyJws(proof, *key->jwks, expect.algs);
  if (!jwt) {
    return Refuse("the DPoP proof does not verify with its jwk (" + jwt.error().detail + ")");
  }
  const Json& claims = jwt->claims;
  auto jti = claims.GetString("jti");
  if (!jti || jti->empty() || jti->size() > kMaxJtiChars) {
    return Refuse("the DPoP proof has no usable jti");
  }
  if (claims.GetString("htm").value_or("") != expect.method) {
    return Refuse("the DPoP proof is for another method (htm)");
  }
  auto htu = NormalizeHtu(claims.GetString("htu").value_or(""));
  if (!htu || expect.htu.empty() || *htu != expect.htu) {
    return Refuse("the DPoP proof is for another URL (htu)");
  }
  Json iat_value = claims.Get("iat");
  auto iat = claims.GetInt("iat");
  if (!iat_value.IsNumber() || !iat) {
    return Refuse("the DPoP proof has no iat");
  }
  if (*iat < expect.now - kDPoPProofWindowSeconds) {
    return Refuse("the DPoP proof is too old (iat)");
  }
  if (*iat > SaturatingAdd(expect.now, kDPoPProofWindowSeconds)) {
    return Refuse("the DPoP proof is issued in the future (iat)");
  }
  std::string ath = Base64UrlEncode(Sha256(expect.access_token));
  if (!ConstantTimeEquals(claims.GetString("ath").value_or(""), ath)) {
    return Refuse("the DPoP proof is for another access token (ath)");
  }
  auto jkt = JwkThumbprint(key->public_jwk);
  if (!jkt || !ConstantTimeEquals(*jkt, expect.jkt)) {
    return Refuse("the DPoP proof's key is not the one the token is bound to (jkt)");
  }
  return CheckedDPoPProof{*jti, std::string(expect.jkt), *iat};
}

Result<bool> RememberDPoPProof(SharedStore& store, const CheckedDPoPProof& proof, int64_t now) {
  std::string material = "dpop-jti";
  material.append(1, '\0').append(proof.jkt).append(1, '\0').append(proof.jti);
  // Kept until the proof could no longer be accepted anyway (its iat leaves the window).
  int64_t until = std::max(SaturatingAdd(proof.iat, kDPoPProofWindowSeconds + 1), now + 1);
  return store.Add(Sha256(material), "1", until, now);
}

}  // namespace coinpay
