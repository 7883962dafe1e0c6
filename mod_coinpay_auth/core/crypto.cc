// OpenSSL lives here and nowhere else in the core.
#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
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
