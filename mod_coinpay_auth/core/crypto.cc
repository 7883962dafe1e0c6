// OpenSSL lives here and nowhere else in the core.
#include "core/crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/encoding.h"

namespace coinpay {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

namespace {
// Fetched once: OpenSSL 3 otherwise looks the algorithm up on every SHA256() call, which was a
// measurable share of each signed-in request (bench/results, callgrind).
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// One digest context per thread, reset for each hash: EVP_Digest would allocate and free one
// per call, and every signed-in request hashes its session id.
EVP_MD_CTX* ThreadMdCtx() {
  thread_local MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return ctx.get();
}

bool Sha256Reusing(std::string_view data, unsigned char* out) {
  EVP_MD_CTX* ctx = ThreadMdCtx();
  unsigned int len = 0;
  return ctx != nullptr && Sha256Md() != nullptr &&
         EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) == 1 &&
         EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1;
}
}  // namespace

std::string Sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  if (!Sha256Reusing(data, reinterpret_cast<unsigned char*>(out.data()))) {
    SHA256(U(data), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U(data), data.size(),
       reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

std::optional<std::string> HkdfSha256(std::string_view ikm, std::string_view salt,
                                      std::string_view info, size_t length) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), EVP_PKEY_CTX_free);
  std::string out(length, '\0');
  size_t out_len = length;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), U(salt), static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), U(ikm), static_cast<int>(ikm.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), U(info), static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len) <= 0 ||
      out_len != length) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> AesGcmSeal(std::string_view key32, std::string_view iv,
                                      std::string_view aad, std::string_view plaintext) {
  if (key32.size() != 32 || iv.size() != kAesGcmIvSize) {
    return std::nullopt;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(iv);
  out.resize(iv.size() + plaintext.size() + kAesGcmTagSize);
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + iv.size());
  int len = 0;
  int total = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key32), U(iv)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, U(plaintext), static_cast<int>(plaintext.size())) !=
          1) {
    return std::nullopt;
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) != 1) {
    return std::nullopt;
  }
  total += len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAesGcmTagSize, ct + total) != 1) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> AesGcmOpen(std::string_view key32, std::string_view aad,
                                      std::string_view sealed) {
  if (key32.size() != 32 || sealed.size() < kAesGcmIvSize + kAesGcmTagSize) {
    return std::nullopt;
  }
  std::string_view iv = sealed.substr(0, kAesGcmIvSize);
  std::string_view ct =
      sealed.substr(kAesGcmIvSize, sealed.size() - kAesGcmIvSize - kAesGcmTagSize);
  std::string tag(sealed.substr(sealed.size() - kAesGcmTagSize));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(ct.size(), '\0');
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key32), U(iv)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, U(ct),
                        static_cast<int>(ct.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAesGcmTagSize, tag.data()) != 1) {
    return std::nullopt;
  }
  int final_len = 0;
  // The tag is checked here; until it passes, the plaintext is not trusted or returned.
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len,
                          &final_len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

void Ed25519PublicKey::PkeyFree::operator()(evp_pkey_st* pkey) const { EVP_PKEY_free(pkey); }

std::optional<Ed25519PublicKey> Ed25519PublicKey::FromRaw(std::string_view raw) {
  if (raw.size() != kSize) {
    return std::nullopt;
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, U(raw), raw.size());
  if (pkey == nullptr) {
    return std::nullopt;
  }
  return Ed25519PublicKey(pkey);
}

bool Ed25519PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (!pkey_ || signature.size() != kSignatureSize) {
    return false;
  }
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  // Ed25519 takes no digest (nullptr) and only the one-shot EVP_DigestVerify.
  bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), U(signature), signature.size(), U(message), message.size()) == 1;
  if (!ok) {
    ERR_clear_error();  // a forged token must not leave errors for the next OpenSSL caller
  }
  return ok;
}

namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bn = std::unique_ptr<BIGNUM, decltype(&BN_clear_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using OsslParams = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;

// OpenSSL keeps its reasons on a per-thread queue; a refused key must not leave them for the
// next caller (a later, unrelated failure would report them).
template <typename T>
T Fail(T value) {
  ERR_clear_error();
  return value;
}

// Never asks for a passphrase: an encrypted PEM fails instead of prompting on httpd's terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

std::optional<PrivateKey::Type> TypeOf(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    return PrivateKey::Type::kRsa;
  }
  if (!EVP_PKEY_is_a(pkey, "EC")) {
    return std::nullopt;
  }
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &len) != 1) {
    return std::nullopt;
  }
  std::string_view name(group, len);
  if (name == "prime256v1" || name == "P-256") {
    return PrivateKey::Type::kEcP256;
  }
  if (name == "secp384r1" || name == "P-384") {
    return PrivateKey::Type::kEcP384;
  }
  return std::nullopt;
}

int FieldBytes(PrivateKey::Type type) { return type == PrivateKey::Type::kEcP384 ? 48 : 32; }

const char* GroupName(PrivateKey::Type type) {
  return type == PrivateKey::Type::kEcP384 ? "secp384r1" : "prime256v1";
}

std::optional<std::string> BnParam(const EVP_PKEY* pkey, const char* name, int pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    return Fail(std::nullopt);
  }
  Bn bn(raw, BN_clear_free);
  int len = std::max(BN_num_bytes(bn.get()), pad_to);
  std::string out(static_cast<size_t>(len), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    return Fail(std::nullopt);
  }
  return out;
}

const std::string* Member(const PrivateKey::Members& members, std::string_view name) {
  for (const auto& [key, value] : members) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

Bn ToBn(const std::string& bytes) {
  return Bn(BN_bin2bn(U(bytes), static_cast<int>(bytes.size()), nullptr), BN_clear_free);
}

// JWK member name -> OpenSSL parameter name, for the members of an RSA key.
struct RsaParam {
  const char* member;
  const char* param;
  bool is_private;
};
constexpr RsaParam kRsaParams[] = {
    {"n", OSSL_PKEY_PARAM_RSA_N, false},         {"e", OSSL_PKEY_PARAM_RSA_E, false},
    {"d", OSSL_PKEY_PARAM_RSA_D, true},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1, true},
    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2, true},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1, true},
    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2, true}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1, true},
};

PrivateKey::Members Export(const EVP_PKEY* pkey, PrivateKey::Type type, bool with_private) {
  PrivateKey::Members out;
  if (type == PrivateKey::Type::kRsa) {
    for (const auto& p : kRsaParams) {
      if (p.is_private && !with_private) {
        continue;
      }
      auto v = BnParam(pkey, p.param, 0);
      if (v) {
        out.emplace_back(p.member, std::move(*v));
      }
    }
    return out;
  }
  const int field = FieldBytes(type);
  for (auto [member, param] :
       {std::pair{"x", OSSL_PKEY_PARAM_EC_PUB_X}, std::pair{"y", OSSL_PKEY_PARAM_EC_PUB_Y}}) {
    auto v = BnParam(pkey, param, field);
    if (v) {
      out.emplace_back(member, std::move(*v));
    }
  }
  if (with_private) {
    auto d = BnParam(pkey, OSSL_PKEY_PARAM_PRIV_KEY, field);
    if (d) {
      out.emplace_back("d", std::move(*d));
    }
  }
  return out;
}

}  // namespace

void PrivateKey::PkeyFree::operator()(evp_pkey_st* pkey) const { EVP_PKEY_free(pkey); }

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Error{Errc::kConfig, "the PEM key is encrypted (a passphrase cannot be given)"};
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) {
    return Fail(Error{Errc::kCryptoFailure, "cannot read the PEM text"});
  }
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (raw == nullptr) {
    return Fail(Error{Errc::kConfig, "not a PEM private key"});
  }
  Pkey pkey(raw, EVP_PKEY_free);
  auto type = TypeOf(pkey.get());
  if (!type) {
    return Fail(Error{Errc::kConfig, "the key is neither RSA nor EC P-256/P-384"});
  }
  return PrivateKey(*type, pkey.release());
}

Result<PrivateKey> PrivateKey::GenerateEcP256() {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  if (raw == nullptr) {
    return Fail(Error{Errc::kCryptoFailure, "P-256 key generation failed"});
  }
  return PrivateKey(Type::kEcP256, raw);
}

Result<PrivateKey> PrivateKey::FromMembers(Type type, const Members& members) {
  ParamBld bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  if (!bld) {
    return Fail(Error{Errc::kCryptoFailure, "OSSL_PARAM_BLD_new failed"});
  }
  std::vector<Bn> keep;  // the builder refers to these until the params are made
  std::string point;
  if (type == Type::kRsa) {
    for (const auto& p : kRsaParams) {
      const std::string* v = Member(members, p.member);
      if (v == nullptr) {
        return Error{Errc::kBadJson, std::string("RSA key lacks \"") + p.member + "\""};
      }
      keep.push_back(ToBn(*v));
      if (!keep.back() || OSSL_PARAM_BLD_push_BN(bld.get(), p.param, keep.back().get()) != 1) {
        return Fail(Error{Errc::kCryptoFailure, "cannot build the RSA key"});
      }
    }
  } else {
    const size_t field = static_cast<size_t>(FieldBytes(type));
    const std::string* x = Member(members, "x");
    const std::string* y = Member(members, "y");
    const std::string* d = Member(members, "d");
    if (x == nullptr || y == nullptr || d == nullptr || x->size() != field || y->size() != field ||
        d->size() != field) {
      return Error{Errc::kBadJson, "EC key lacks x, y or d of the curve's size"};
    }
    point = "\x04" + *x + *y;  // SEC1 uncompressed point
    keep.push_back(ToBn(*d));
    if (!keep.back() ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, GroupName(type),
                                        0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, keep.back().get()) != 1) {
      return Fail(Error{Errc::kCryptoFailure, "cannot build the EC key"});
    }
  }
  OsslParams params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type == Type::kRsa ? "RSA" : "EC", nullptr),
              EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return Fail(Error{Errc::kBadJson, "the key members do not make a key"});
  }
  Pkey pkey(raw, EVP_PKEY_free);
  // A stored key is only trusted to sign when its halves belong together.
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
    return Fail(Error{Errc::kBadJson, "the private and public key members do not match"});
  }
  return PrivateKey(type, pkey.release());
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

PrivateKey::Members PrivateKey::PublicMembers() const { return Export(pkey_.get(), type_, false); }

PrivateKey::Members PrivateKey::PrivateMembers() const { return Export(pkey_.get(), type_, true); }

Result<std::string> PrivateKey::Sign(SignatureScheme scheme, std::string_view input) const {
  const bool rsa =
      scheme == SignatureScheme::kRsaPkcs1Sha256 || scheme == SignatureScheme::kRsaPssSha256;
  const bool fits = rsa ? type_ == Type::kRsa
                        : (scheme == SignatureScheme::kEcdsaP256Sha256 ? type_ == Type::kEcP256
                                                                       : type_ == Type::kEcP384);
  if (!fits) {
    return Error{Errc::kAlgNotAllowed, "the signature scheme does not fit the key"};
  }
  const EVP_MD* md = scheme == SignatureScheme::kEcdsaP384Sha384 ? EVP_sha384() : EVP_sha256();
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey_.get()) != 1) {
    return Fail(Error{Errc::kCryptoFailure, "signing init failed"});
  }
  if (scheme == SignatureScheme::kRsaPssSha256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return Fail(Error{Errc::kCryptoFailure, "PSS setup failed"});
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, U(input), input.size()) != 1) {
    return Fail(Error{Errc::kCryptoFailure, "signing failed"});
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, U(input),
                     input.size()) != 1) {
    return Fail(Error{Errc::kCryptoFailure, "signing failed"});
  }
  sig.resize(len);
  if (rsa) {
    return sig;
  }
  // OpenSSL gives ECDSA as DER; JWS (RFC 7518 3.4) wants R and S as fixed-size big-endian halves.
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  EcdsaSig parsed(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size())), ECDSA_SIG_free);
  if (!parsed) {
    return Fail(Error{Errc::kCryptoFailure, "ECDSA signature does not parse"});
  }
  const int half = FieldBytes(type_);
  std::string raw(static_cast<size_t>(2 * half), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(parsed.get()), out, half) != half ||
      BN_bn2binpad(ECDSA_SIG_get0_s(parsed.get()), out + half, half) != half) {
    return Fail(Error{Errc::kCryptoFailure, "ECDSA signature does not fit"});
  }
  return raw;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  // Eight bytes at a time (a session id is compared on every request), every byte always
  // read and folded into one accumulator: no branch or exit depends on the contents.
  uint64_t diff = 0;
  size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    uint64_t x = 0;
    uint64_t y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
    __asm__("" : "+r"(diff));  // the compiler cannot see diff's value: no early exit
  }
  for (; i < a.size(); ++i) {
    diff |= static_cast<uint8_t>(a[i] ^ b[i]);
    __asm__("" : "+r"(diff));
  }
  return diff == 0;
}

void SecureWipe(std::string& s) { OPENSSL_cleanse(s.data(), s.size()); }

bool OsRandom::Fill(uint8_t* out, size_t len) {
  return RAND_bytes(out, static_cast<int>(len)) == 1;
}

std::optional<std::string> RandomToken(Random& random, size_t n) {
  std::string bytes(n, '\0');
  if (!random.Fill(reinterpret_cast<uint8_t*>(bytes.data()), n)) {
    return std::nullopt;
  }
  return Base64UrlEncode(bytes);
}

}  // namespace coinpay
