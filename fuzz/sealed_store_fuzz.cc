// libFuzzer target: session values as Redis hands them back, unsealed by the production
// SealedStore::Get over a fake inner store that returns the input as the stored value
// (tampered, truncated, sealed for another key). A value that does not open reads as absent;
// and any input sealed by Put under one key opens under that key only, to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sealed_store.h"
#include "fuzz_fakes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coinpay;
  static const std::string key32(32, '\x5a');
  std::string_view value = fuzz::AsView(data, size);
  fuzz::MapStore inner;
  fuzz::FixedRandom random;
  SealedStore sealed(inner, key32, random);

  (void)inner.Put("session-a", value, fuzz::kNow + 60);
  auto got = sealed.Get("session-a", fuzz::kNow);
  if (!got) {
    __builtin_trap();  // the inner store answered: unsealing never turns that into an error
  }
  if (got->has_value()) {
    (void)(*got)->value.size();
  }

  if (!sealed.Put("session-b", value, fuzz::kNow + 60)) {
    return 0;
  }
  auto back = sealed.Get("session-b", fuzz::kNow);
  if (!back || !back->has_value() || (*back)->value != value) {
    __builtin_trap();
  }
  // The sealed bytes moved to another key do not open there.
  auto raw = inner.Get("session-b", fuzz::kNow);
  if (raw && raw->has_value()) {
    (void)inner.Put("session-c", (*raw)->value, fuzz::kNow + 60);
    auto moved = sealed.Get("session-c", fuzz::kNow);
    if (!moved || moved->has_value()) {
      __builtin_trap();
    }
    auto version = (*raw)->version;
    (void)sealed.PutIfVersion("session-b", value, fuzz::kNow + 60, version, fuzz::kNow);
  }
  return 0;
}
