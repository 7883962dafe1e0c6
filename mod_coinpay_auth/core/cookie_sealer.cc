// Format: base64url( 0x01 | iv(12) | AES-256-GCM(ciphertext of expires_at(8, big endian) | payload)
// | tag(16) ), AAD = "mod_coinpay_auth/v1/" + purpose.
#include "core/cookie_sealer.h"

#include "core/crypto.h"
#include "core/encoding.h"

namespace coinpay {
namespace {

constexpr char kVersion = 0x01;
constexpr char kSalt[] = "mod_coinpay_auth cookie sealing v1";
constexpr size_t kMaxSealedChars = 8192;

std::string Aad(std::string_view purpose) {
  return std::string("mod_coinpay_auth/v1/").append(purpose);
}

}  // namespace

CookieSealer::CookieSealer(const std::vector<std::string>& passphrases) {
  for (const auto& p : passphrases) {
    auto key = HkdfSha256(p, kSalt, "cookie-seal", 32);
    if (key) {
      keys_.push_back(std::move(*key));
    }
  }
  if (!passphrases.empty()) {
    first_passphrase_ikm_ = passphrases.front();
  }
}

CookieSealer::~CookieSealer() {
  for (auto& k : keys_) {
    SecureWipe(k);
  }
  SecureWipe(first_passphrase_ikm_);
}

std::string CookieSealer::DeriveKey(std::string_view info) const {
  return HkdfSha256(first_passphrase_ikm_, kSalt, info, 32).value_or(std::string());
}

Result<std::string> CookieSealer::Seal(std::string_view purpose, std::string_view plaintext,
                                       int64_t expires_at, Random& random) const {
  if (keys_.empty()) {
    return Error{Errc::kConfig, "no crypto passphrase configured"};
  }
  std::string iv(kAesGcmIvSize, '\0');
  if (!random.Fill(reinterpret_cast<uint8_t*>(iv.data()), iv.size())) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  std::string inner(8, '\0');
  auto e = static_cast<uint64_t>(expires_at);
  for (int i = 7; i >= 0; --i) {
    inner[static_cast<size_t>(i)] = static_cast<char>(e & 0xff);
    e >>= 8;
  }
  inner.append(plaintext);
  auto sealed = AesGcmSeal(keys_.front(), iv, Aad(purpose), inner);
  SecureWipe(inner);
  if (!sealed) {
    return Error{Errc::kCryptoFailure, "AES-GCM seal failed"};
  }
  return Base64UrlEncode(std::string(1, kVersion) + *sealed);
}

Result<std::string> CookieSealer::Open(std::string_view purpose, std::string_view sealed,
                                       int64_t now) const {
  if (sealed.size() > kMaxSealedChars) {
    return Error{Errc::kCookieInvalid, "sealed value too long"};
  }
  auto raw = Base64UrlDecode(sealed);
  if (!raw || raw->size() < 1 + kAesGcmIvSize + kAesGcmTagSize + 8 || (*raw)[0] != kVersion) {
    return Error{Errc::kCookieInvalid, "sealed value malformed"};
  }
  std::string_view body = std::string_view{*raw}.substr(1);
  std::string aad = Aad(purpose);
  for (const auto& key : keys_) {
    auto inner = AesGcmOpen(key, aad, body);
    if (!inner) {
      continue;
    }
    uint64_t e = 0;
    for (size_t i = 0; i < 8; ++i) {
      e = (e << 8) | static_cast<uint8_t>((*inner)[i]);
    }
    if (static_cast<int64_t>(e) < now) {
      return Error{Errc::kCookieInvalid, "sealed value expired"};
    }
    return inner->substr(8);
  }
  return Error{Errc::kCookieInvalid, "sealed value does not open with any passphrase"};
}

}  // namespace coinpay
