// Test-time key generation and JWS signing with OpenSSL directly, so the tests do not trust the
// code under test to make their inputs.
#include "test_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

namespace coinpay::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  throw std::runtime_error(std::string("test_keys: ") + what);
}

std::string BnBytes(const BIGNUM* bn, int pad_to = 0) {
  int n = BN_num_bytes(bn);
  int len = pad_to > n ? pad_to : n;
  std::string out(static_cast<size_t>(len), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    Die("BN_bn2binpad");
  }
  return out;
}

std::string BnParam(EVP_PKEY* pkey, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
    Die("EVP_PKEY_get_bn_param");
  }
  std::string out = BnBytes(bn, pad_to);
  BN_free(bn);
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string B64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int s = 18; s >= 0; s -= 6) {
      out += kAlphabet[(v >> s) & 63];
    }
  }
  if (bytes.size() - i == 1) {
    uint32_t v = at(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

TestKey::TestKey(Kind kind, std::string kid, evp_pkey_st* pkey)
    : kind_(kind), kid_(std::move(kid)), pkey_(pkey) {}

TestKey::~TestKey() { EVP_PKEY_free(pkey_); }

std::unique_ptr<TestKey> TestKey::Generate(Kind kind, const std::string& kid) {
  EVP_PKEY* pkey = nullptr;
  switch (kind) {
    case Kind::kRsa:
      pkey = EVP_RSA_gen(2048);
      break;
    case Kind::kEcP256:
      pkey = EVP_EC_gen("P-256");
      break;
    case Kind::kEd25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (pkey == nullptr) {
    Die("key generation");
  }
  return std::unique_ptr<TestKey>(new TestKey(kind, kid, pkey));
}

std::unique_ptr<TestKey> TestKey::Ed25519FromSeed(std::string_view seed, const std::string& kid) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (pkey == nullptr) {
    Die("EVP_PKEY_new_raw_private_key");
  }
  return std::unique_ptr<TestKey>(new TestKey(Kind::kEd25519, kid, pkey));
}

std::string TestKey::alg() const {
  switch (kind_) {
    case Kind::kRsa:
      return "RS256";
    case Kind::kEcP256:
      return "ES256";
    case Kind::kEd25519:
      return "EdDSA";
  }
  return "";
}

namespace {

const TestKey& Shared(TestKey::Kind kind, const std::string& kid) {
  static std::mutex mu;
  static std::map<std::pair<int, std::string>, std::unique_ptr<TestKey>> keys;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = keys[{static_cast<int>(kind), kid}];
  if (!slot) {
    slot = TestKey::Generate(kind, kid);
  }
  return *slot;
}

}  // namespace

const TestKey& TestKey::Rsa(const std::string& kid) { return Shared(Kind::kRsa, kid); }
const TestKey& TestKey::Ec(const std::string& kid) { return Shared(Kind::kEcP256, kid); }
const TestKey& TestKey::Ed25519(const std::string& kid) { return Shared(Kind::kEd25519, kid); }

std::string TestKey::PublicJwk() const {
  std::string common =
      ",\"kid\":" + JsonString(kid_) + ",\"alg\":\"" + alg() + "\",\"use\":\"sig\"}";
  if (kind_ == Kind::kEd25519) {
    std::string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey_, reinterpret_cast<unsigned char*>(raw.data()), &len) !=
            1 ||
        len != raw.size()) {
      Die("EVP_PKEY_get_raw_public_key");
    }
    return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + B64Url(raw) + "\"" + common;
  }
  if (kind_ == Kind::kRsa) {
    return "{\"kty\":\"RSA\",\"n\":\"" + B64Url(BnParam(pkey_, OSSL_PKEY_PARAM_RSA_N)) +
           "\",\"e\":\"" + B64Url(BnParam(pkey_, OSSL_PKEY_PARAM_RSA_E)) + "\"" + common;
  }
  return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
         B64Url(BnParam(pkey_, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + "\",\"y\":\"" +
         B64Url(BnParam(pkey_, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"" + common;
}

std::string TestKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio, pkey_) != 1) {
    Die("PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string TestKey::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, pkey_, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Die("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string TestKey::SignRaw(std::string_view header_json, std::string_view payload_json) const {
  std::string input = B64Url(header_json) + "." + B64Url(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t sig_len = 0;
  // Ed25519 signs the message itself (no digest); RS256 and ES256 hash with SHA-256.
  const EVP_MD* md = kind_ == Kind::kEd25519 ? nullptr : EVP_sha256();
  if (ctx == nullptr || EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey_) != 1 ||
      EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    Die("EVP_DigestSignInit");
  }
  std::string sig(sig_len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    Die("EVP_DigestSign");
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(sig_len);
  if (kind_ == Kind::kEcP256) {
    // JWS wants R || S (32 bytes each), not the DER that OpenSSL produces.
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    if (es == nullptr) {
      Die("d2i_ECDSA_SIG");
    }
    sig = BnBytes(ECDSA_SIG_get0_r(es), 32) + BnBytes(ECDSA_SIG_get0_s(es), 32);
    ECDSA_SIG_free(es);
  }
  return input + "." + B64Url(sig);
}

std::string TestKey::SignJwt(std::string_view payload_json) const {
  return SignJwtWithKid(payload_json, kid_);
}

std::string TestKey::SignJwtWithKid(std::string_view payload_json, std::string_view kid) const {
  std::string header =
      "{\"alg\":\"" + alg() + "\",\"kid\":" + JsonString(kid) + ",\"typ\":\"JWT\"}";
  return SignRaw(header, payload_json);
}

std::string MakeJwks(const std::vector<const TestKey*>& keys,
                     const std::vector<std::string>& extra_jwks) {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const TestKey* k : keys) {
    out += first ? "" : ",";
    out += k->PublicJwk();
    first = false;
  }
  for (const auto& j : extra_jwks) {
    out += first ? "" : ",";
    out += j;
    first = false;
  }
  return out + "]}";
}

std::string ForgeAlgNone(std::string_view payload_json, std::string_view kid) {
  std::string header = "{\"alg\":\"none\"";
  if (!kid.empty()) {
    header += ",\"kid\":" + JsonString(kid);
  }
  header += "}";
  return B64Url(header) + "." + B64Url(payload_json) + ".";
}

std::string ForgeHs256(std::string_view payload_json, std::string_view secret,
                       std::string_view kid) {
  std::string header = "{\"alg\":\"HS256\",\"kid\":" + JsonString(kid) + ",\"typ\":\"JWT\"}";
  std::string input = B64Url(header) + "." + B64Url(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + B64Url(std::string_view(reinterpret_cast<char*>(mac), len));
}

std::string TamperSignature(std::string_view compact) {
  std::string out(compact);
  size_t dot = out.rfind('.');
  // Flip a character in the middle of the signature to another base64url character.
  size_t pos = dot + 1 + (out.size() - dot - 1) / 2;
  out[pos] = out[pos] == 'A' ? 'B' : 'A';
  return out;
}

std::string SwapPayload(std::string_view compact, std::string_view payload_json) {
  size_t first = compact.find('.');
  size_t last = compact.rfind('.');
  return std::string(compact.substr(0, first)) + "." + B64Url(payload_json) +
         std::string(compact.substr(last));
}

}  // namespace coinpay::testing
