// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash for choosing a table bucket
// from text an attacker picks; without the 16-byte key nobody can aim inputs at one bucket.
// Not a MAC for anything that leaves the process.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace coinpay {

using SipHashKey = std::array<uint8_t, 16>;

uint64_t SipHash24(const SipHashKey& key, std::string_view data);

}  // namespace coinpay
