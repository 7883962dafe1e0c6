// Unit-test helpers for building site settings as the directives would: a setting marked set,
// and a signing key read from a test key's PEM.
#pragma once

#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "core/jose.h"
#include "core/site_settings.h"
#include "test_keys.h"

namespace coinpay {

// The value a directive line would give, marked as written by the operator.
template <typename K>
void Set(Field<K>& f, typename K::Type value) {
  f.value = std::move(value);
  f.set = true;
}

// A CoinpayPrivateKeyFile key made from a test key.
inline std::shared_ptr<const SigningKey> KeyOf(const testing::TestKey& k, std::string_view kid,
                                               std::string_view alg = {}) {
  auto key = SigningKey::FromPem(k.PrivatePem(), kid, alg);
  if (!key) {
    throw std::runtime_error(key.error().detail);
  }
  return *key;
}

}  // namespace coinpay
