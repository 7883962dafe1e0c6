// cjose lives here and nowhere else. EdDSA (RFC 8037), which cjose lacks, is checked here too,
// with the signature check itself in core/crypto.cc. Signing (SigningKey) builds the JWS and JWK
// text here over core/crypto.h's PrivateKey.
#include "core/jose.h"

#include <cjose/cjose.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/log.h"

namespace coinpay {

struct Jwks::Key {
  enum class Type { kRsa, kEc, kEd25519 };
  std::string kid;
  Type type;
  std::string alg;                          // optional "alg" member of the JWK
  cjose_jwk_t* jwk;                         // RSA and EC keys (cjose); nullptr for Ed25519
  std::optional<Ed25519PublicKey> ed25519;  // OKP keys, which cjose cannot hold
};

namespace {

struct JwsDeleter {
  void operator()(cjose_jws_t* j) const { cjose_jws_release(j); }
};

constexpr std::string_view kEdDsa = "EdDSA";

bool KeyFitsAlg(Jwks::Key::Type type, std::string_view alg) {
  if (alg == kEdDsa) {
    return type == Jwks::Key::Type::kEd25519;
  }
  if (alg.rfind("RS", 0) == 0 || alg.rfind("PS", 0) == 0) {
    return type == Jwks::Key::Type::kRsa;
  }
  if (alg.rfind("ES", 0) == 0) {
    return type == Jwks::Key::Type::kEc;
  }
  return false;
}

// An OKP JWK (RFC 8037 section 2) as an Ed25519 public key: crv "Ed25519" and a 32-byte x. Ed448
// and the X25519/X448 agreement curves are refused; a private "d", if published, is not read.
std::optional<Ed25519PublicKey> ImportEd25519(const Json& jwk) {
  if (jwk.GetString("crv").value_or("") != "Ed25519") {
    return std::nullopt;
  }
  auto x = jwk.GetString("x");
  auto raw = x ? Base64UrlDecode(*x) : std::nullopt;
  if (!raw || raw->size() != Ed25519PublicKey::kSize) {
    return std::nullopt;
  }
  return Ed25519PublicKey::FromRaw(*raw);
}

}  // namespace

bool IsSupportedAlgorithm(std::string_view alg) {
  static const char* const kAlgs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                      "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  return std::any_of(std::begin(kAlgs), std::end(kAlgs), [&](const char* a) { return alg == a; });
}

Jwks::~Jwks() {
  for (auto& k : keys_) {
    if (k.jwk != nullptr) {
      cjose_jwk_release(k.jwk);
    }
  }
}

Result<std::shared_ptr<const Jwks>> Jwks::Parse(std::string_view jwks_json) {
  auto doc = Json::Parse(jwks_json);
  if (!doc || !doc->Get("keys").IsArray()) {
    return Error{Errc::kBadJson, "JWKS is not an object with a \"keys\" array"};
  }
  std::shared_ptr<Jwks> set(new Jwks());
  Json keys = doc->Get("keys");
  for (size_t i = 0; i < keys.Size(); ++i) {
    Json k = keys.At(i);
    auto use = k.GetString("use");
    if (use && *use != "sig") {
      continue;
    }
    // cjose aborts on some malformed base64url; only strictly valid members reach it.
    bool well_formed = true;
    for (const char* member : {"n", "e", "x", "y", "d", "k", "p", "q", "dp", "dq", "qi"}) {
      Json v = k.Get(member);
      if (!v.IsNull() && (!v.IsString() || !Base64UrlDecode(v.AsString()))) {
        well_formed = false;
      }
    }
    if (!well_formed) {
      continue;
    }
    if (k.GetString("kty").value_or("") == "OKP") {
      auto ed25519 = ImportEd25519(k);
      if (ed25519) {
        set->keys_.push_back(Key{k.GetString("kid").value_or(""), Key::Type::kEd25519,
                                 k.GetString("alg").value_or(""), nullptr, std::move(ed25519)});
      }
      continue;
    }
    std::string text = k.Dump();
    cjose_err err;
    cjose_jwk_t* jwk = cjose_jwk_import(text.c_str(), text.size(), &err);
    if (jwk == nullptr) {
      continue;  // an unusable key is skipped; the others still serve
    }
    cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &err);
    if (kty != CJOSE_JWK_KTY_RSA && kty != CJOSE_JWK_KTY_EC) {
      cjose_jwk_release(jwk);
      continue;
    }
    set->keys_.push_back(Key{k.GetString("kid").value_or(""),
                             kty == CJOSE_JWK_KTY_RSA ? Key::Type::kRsa : Key::Type::kEc,
                             k.GetString("alg").value_or(""), jwk, std::nullopt});
  }
  return std::shared_ptr<const Jwks>(std::move(set));
}

size_t Jwks::size() const { return keys_.size(); }

bool Jwks::HasKid(std::string_view kid) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const Key& k) { return k.kid == kid; });
}

std::string PeekKid(std::string_view compact) {
  size_t dot = compact.find('.');
  if (dot == std::string_view::npos || dot > 4096) {
    return {};
  }
  auto header = Base64UrlDecode(compact.substr(0, dot));
  if (!header) {
    return {};
  }
  auto json = Json::Parse(*header);
  if (!json) {
    return {};
  }
  return json->GetString("kid").value_or("");
}

Result<VerifiedJwt> VerifyJws(std::string_view compact, const Jwks& jwks,
                              const std::vector<std::string>& allowed_algs) {
  // A JWS compact serialization has exactly three parts; JWE (five) and others are refused.
  if (std::count(compact.begin(), compact.end(), '.') != 2 || compact.size() > size_t{64} * 1024) {
    return Error{Errc::kBadInput, "not a compact JWS"};
  }
  // Every segment must be strict base64url before cjose sees it: Debian's cjose aborts the
  // process on some malformed padding, and a bearer token is attacker-controlled.
  size_t first = compact.find('.');
  size_t second = compact.find('.', first + 1);
  if (!Base64UrlDecode(compact.substr(first + 1, second - first - 1)) ||
      !Base64UrlDecode(compact.substr(second + 1))) {
    return Error{Errc::kBadInput, "JWS segment is not base64url"};
  }
  auto header_bytes = Base64UrlDecode(compact.substr(0, first));
  if (!header_bytes) {
    return Error{Errc::kBadInput, "JWS header is not base64url"};
  }
  auto header = Json::Parse(*header_bytes);
  if (!header || !header->IsObject()) {
    return Error{Errc::kBadInput, "JWS header is not a JSON object"};
  }
  auto alg = header->GetString("alg");
  if (!alg) {
    return Error{Errc::kAlgNotAllowed, "JWS header has no alg"};
  }
  if (!IsSupportedAlgorithm(*alg) ||
      std::find(allowed_algs.begin(), allowed_algs.end(), *alg) == allowed_algs.end()) {
    return Error{Errc::kAlgNotAllowed, "alg " + Untrusted(*alg, 32) + " is not in the allow-list"};
  }
  if (!header->Get("crit").IsNull()) {
    return Error{Errc::kBadInput, "JWS header has crit parameters we do not understand"};
  }
  std::string kid = header->GetString("kid").value_or("");

  // EdDSA is checked without cjose, which cannot import such a token: over the same signing
  // input (the header and payload segments as sent, RFC 7515 section 5.2).
  const bool eddsa = *alg == kEdDsa;
  cjose_err err;
  std::unique_ptr<cjose_jws_t, JwsDeleter> jws;
  std::optional<std::string> signature;
  if (eddsa) {
    signature = Base64UrlDecode(compact.substr(second + 1));
  } else {
    jws.reset(cjose_jws_import(compact.data(), compact.size(), &err));
    if (!jws) {
      return Error{Errc::kBadInput, "JWS does not parse"};
    }
  }
  bool any_candidate = false;
  for (const auto& key : jwks.keys_) {
    if ((!kid.empty() && key.kid != kid) || !KeyFitsAlg(key.type, *alg) ||
        (!key.alg.empty() && key.alg != *alg)) {
      continue;
    }
    any_candidate = true;
    std::optional<std::string> payload;
    if (eddsa) {
      if (!key.ed25519 || !signature ||
          !key.ed25519->Verify(compact.substr(0, second), *signature)) {
        continue;
      }
      payload = Base64UrlDecode(compact.substr(first + 1, second - first - 1));
    } else {
      if (!cjose_jws_verify(jws.get(), key.jwk, &err)) {
        continue;
      }
      uint8_t* plain = nullptr;
      size_t plain_len = 0;
      if (cjose_jws_get_plaintext(jws.get(), &plain, &plain_len, &err)) {
        payload.emplace(reinterpret_cast<const char*>(plain), plain_len);
      }
    }
    if (!payload) {
      return Error{Errc::kBadInput, "JWS payload unavailable"};
    }
    auto claims = Json::Parse(*payload);
    if (!claims || !claims->IsObject()) {
      return Error{Errc::kBadJson, "JWT payload is not a JSON object"};
    }
    return VerifiedJwt{*header, *claims};
  }
  if (!any_candidate) {
    return Error{Errc::kUnknownKid,
                 kid.empty() ? "no key fits the token's alg" : "no key with the token's kid"};
  }
  return Error{Errc::kBadSignature, "signature does not verify"};
}

// --- signing --------------------------------------------------------------------------------

namespace {

constexpr int kMinRsaBits = 2048;

// The members RFC 7638 section 3.2 hashes, in its lexicographic order, for each key type.
struct ThumbprintMembers {
  std::string_view kty;
  std::vector<std::string_view> members;  // besides "kty"
};
const ThumbprintMembers* RequiredMembers(std::string_view kty) {
  static const ThumbprintMembers kRsa{"RSA", {"e", "n"}};
  static const ThumbprintMembers kEc{"EC", {"crv", "x", "y"}};
  static const ThumbprintMembers kOkp{"OKP", {"crv", "x"}};
  for (const auto* t : {&kRsa, &kEc, &kOkp}) {
    if (t->kty == kty) {
      return t;
    }
  }
  return nullptr;
}

// A member value that may be hashed without JSON escaping: base64url text or a curve name.
bool PlainMemberValue(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// SHA-256 over {"<m1>":"<v1>","kty":"<kty>",...} with members in lexicographic order and no
// whitespace. `value_of` gives each required member's value.
template <typename ValueOf>
Result<std::string> ThumbprintOf(std::string_view kty, ValueOf value_of) {
  const ThumbprintMembers* required = RequiredMembers(kty);
  if (required == nullptr) {
    return Error{Errc::kBadJson, "JWK kty is not RSA, EC or OKP"};
  }
  std::vector<std::pair<std::string_view, std::string>> fields;
  fields.emplace_back("kty", std::string(kty));
  for (std::string_view m : required->members) {
    std::optional<std::string> v = value_of(m);
    if (!v || !PlainMemberValue(*v)) {
      return Error{Errc::kBadJson, "JWK lacks a well-formed \"" + std::string(m) + "\""};
    }
    fields.emplace_back(m, std::move(*v));
  }
  std::sort(fields.begin(), fields.end());
  std::string canonical = "{";
  for (const auto& [name, value] : fields) {
    if (canonical.size() > 1) {
      canonical += ',';
    }
    canonical += '"';
    canonical += name;
    canonical += "\":\"";
    canonical += value;
    canonical += '"';
  }
  canonical += '}';
  return Base64UrlEncode(Sha256(canonical));
}

std::string_view KtyOf(PrivateKey::Type type) {
  return type == PrivateKey::Type::kRsa ? "RSA" : "EC";
}

std::string_view CrvOf(PrivateKey::Type type) {
  return type == PrivateKey::Type::kEcP384 ? "P-384" : "P-256";
}

// The JWK (kty, crv, then the members in the order OpenSSL gives them) as a JSON object.
Json JwkOf(PrivateKey::Type type, const PrivateKey::Members& members) {
  Json jwk = Json::Object();
  jwk.Set("kty", Json::String(KtyOf(type)));
  if (type != PrivateKey::Type::kRsa) {
    jwk.Set("crv", Json::String(CrvOf(type)));
  }
  for (const auto& [name, value] : members) {
    jwk.Set(name, Json::String(Base64UrlEncode(value)));
  }
  return jwk;
}

// The alg a key signs with: the configured one when it fits the key, else the key's default.
Result<std::string> AlgFor(PrivateKey::Type type, std::string_view alg) {
  switch (type) {
    case PrivateKey::Type::kRsa:
      if (alg.empty() || alg == "RS256" || alg == "PS256") {
        return std::string(alg.empty() ? "RS256" : alg);
      }
      return Error{Errc::kConfig,
                   "alg " + Untrusted(alg, 16) + " does not fit an RSA key: use RS256 or PS256"};
    case PrivateKey::Type::kEcP256:
      if (alg.empty() || alg == "ES256") {
        return std::string("ES256");
      }
      return Error{Errc::kConfig,
                   "alg " + Untrusted(alg, 16) + " does not fit an EC P-256 key: use ES256"};
    case PrivateKey::Type::kEcP384:
      if (alg.empty() || alg == "ES384") {
        return std::string("ES384");
      }
      return Error{Errc::kConfig,
                   "alg " + Untrusted(alg, 16) + " does not fit an EC P-384 key: use ES384"};
  }
  return Error{Errc::kConfig, "unknown key type"};
}

PrivateKey::SignatureScheme SchemeFor(std::string_view alg) {
  if (alg == "PS256") {
    return PrivateKey::SignatureScheme::kRsaPssSha256;
  }
  if (alg == "ES256") {
    return PrivateKey::SignatureScheme::kEcdsaP256Sha256;
  }
  if (alg == "ES384") {
    return PrivateKey::SignatureScheme::kEcdsaP384Sha384;
  }
  return PrivateKey::SignatureScheme::kRsaPkcs1Sha256;
}

}  // namespace

SigningKey::SigningKey(std::unique_ptr<PrivateKey> key, std::string alg)
    : key_(std::move(key)), alg_(std::move(alg)) {}

SigningKey::~SigningKey() = default;

Result<std::shared_ptr<const SigningKey>> SigningKey::Make(PrivateKey key, std::string_view kid,
                                                           std::string_view alg) {
  if (key.type() == PrivateKey::Type::kRsa && key.bits() < kMinRsaBits) {
    return Error{Errc::kConfig, "the RSA key has " + std::to_string(key.bits()) +
                                    " bits, too weak: use at least 2048 (openssl genpkey "
                                    "-algorithm RSA -pkeyopt rsa_keygen_bits:3072)"};
  }
  auto resolved = AlgFor(key.type(), alg);
  if (!resolved) {
    return resolved.error();
  }
  const PrivateKey::Type type = key.type();
  PrivateKey::Members members = key.PublicMembers();
  std::shared_ptr<SigningKey> out(
      new SigningKey(std::make_unique<PrivateKey>(std::move(key)), std::move(*resolved)));
  Json jwk = JwkOf(type, members);
  auto thumbprint = ThumbprintOf(KtyOf(type), [&](std::string_view m) { return jwk.GetString(m); });
  if (!thumbprint) {
    return Error{Errc::kCryptoFailure, "cannot compute the key's thumbprint"};
  }
  out->thumbprint_ = std::move(*thumbprint);
  out->kid_ = kid.empty() ? out->thumbprint_ : std::string(kid);
  jwk.Set("kid", Json::String(out->kid_));
  jwk.Set("alg", Json::String(out->alg_));
  jwk.Set("use", Json::String("sig"));
  out->public_jwk_json_ = jwk.Dump();
  return std::shared_ptr<const SigningKey>(std::move(out));
}

Result<std::shared_ptr<const SigningKey>> SigningKey::FromPem(std::string_view pem,
                                                              std::string_view kid,
                                                              std::string_view alg) {
  auto key = PrivateKey::FromPem(pem);
  if (!key) {
    return key.error();
  }
  return Make(std::move(*key), kid, alg);
}

Result<std::shared_ptr<const SigningKey>> SigningKey::GenerateEs256() {
  auto key = PrivateKey::GenerateEcP256();
  if (!key) {
    return key.error();
  }
  return Make(std::move(*key), {}, "ES256");
}

Result<std::shared_ptr<const SigningKey>> SigningKey::FromPrivateJwk(std::string_view jwk_json) {
  auto jwk = Json::Parse(jwk_json);
  if (!jwk || !jwk->IsObject()) {
    return Error{Errc::kBadJson, "private JWK is not a JSON object"};
  }
  std::string kty = jwk->GetString("kty").value_or("");
  std::string crv = jwk->GetString("crv").value_or("");
  PrivateKey::Type type;
  std::vector<const char*> names;
  if (kty == "RSA") {
    type = PrivateKey::Type::kRsa;
    names = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
  } else if (kty == "EC" && (crv == "P-256" || crv == "P-384")) {
    type = crv == "P-256" ? PrivateKey::Type::kEcP256 : PrivateKey::Type::kEcP384;
    names = {"x", "y", "d"};
  } else {
    return Error{Errc::kBadJson, "private JWK is neither RSA nor EC P-256/P-384"};
  }
  PrivateKey::Members members;
  for (const char* name : names) {
    auto text = jwk->GetString(name);
    auto bytes = text ? Base64UrlDecode(*text) : std::nullopt;
    if (!bytes) {
      return Error{Errc::kBadJson, std::string("private JWK lacks a base64url \"") + name + "\""};
    }
    members.emplace_back(name, std::move(*bytes));
  }
  auto key = PrivateKey::FromMembers(type, members);
  for (auto& [name, value] : members) {
    SecureWipe(value);
  }
  if (!key) {
    return key.error();
  }
  return Make(std::move(*key), jwk->GetString("kid").value_or(""),
              jwk->GetString("alg").value_or(""));
}

std::string SigningKey::PrivateJwkJson() const {
  PrivateKey::Members members = key_->PrivateMembers();
  Json jwk = JwkOf(key_->type(), members);
  for (auto& [name, value] : members) {
    SecureWipe(value);
  }
  jwk.Set("kid", Json::String(kid_));
  jwk.Set("alg", Json::String(alg_));
  jwk.Set("use", Json::String("sig"));
  return jwk.Dump();
}

Result<std::string> SigningKey::SignJwt(const Json& claims, std::string_view typ, bool with_kid,
                                        bool embed_jwk) const {
  if (!claims.IsObject()) {
    return Error{Errc::kBadInput, "JWT claims must be a JSON object"};
  }
  Json header = Json::Object();
  header.Set("alg", Json::String(alg_));
  if (!typ.empty()) {
    header.Set("typ", Json::String(typ));
  }
  if (with_kid) {
    header.Set("kid", Json::String(kid_));
  }
  if (embed_jwk) {
    // The public members only: kid/alg/use add nothing a verifier of the proof may rely on.
    Json jwk = JwkOf(key_->type(), key_->PublicMembers());
    header.Set("jwk", jwk);
  }
  std::string signing_input = Base64UrlEncode(header.Dump()) + "." + Base64UrlEncode(claims.Dump());
  auto signature = key_->Sign(SchemeFor(alg_), signing_input);
  if (!signature) {
    return signature.error();
  }
  return signing_input + "." + Base64UrlEncode(*signature);
}

Result<std::string> JwkThumbprint(std::string_view public_jwk_json) {
  auto jwk = Json::Parse(public_jwk_json);
  if (!jwk || !jwk->IsObject()) {
    return Error{Errc::kBadJson, "JWK is not a JSON object"};
  }
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (!jwk->Get(secret).IsNull()) {
      return Error{Errc::kBadJson, "JWK carries private key members"};
    }
  }
  std::string kty = jwk->GetString("kty").value_or("");
  return ThumbprintOf(kty, [&](std::string_view m) { return jwk->GetString(m); });
}

}  // namespace coinpay
