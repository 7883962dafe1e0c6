#include "core/session_key_cache.h"

#include <algorithm>
#include <cstring>

#include "core/crypto.h"

namespace coinpay {

SessionKeyCache::SessionKeyCache(size_t slots, Random& random, size_t record_budget)
    : random_(random),
      slot_count_(std::max<size_t>(slots, 1)),
      slots_(new Slot[slot_count_]),
      record_budget_(record_budget) {}

bool SessionKeyCache::SlotOf(std::string_view id, size_t& index) {
  // Keyed on first use, not at construction: the module builds its objects before httpd forks,
  // and each child should draw its own key.
  if (!keyed_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(key_mu_);
    if (!keyed_.load(std::memory_order_relaxed)) {
      usable_ = random_.Fill(hash_key_.data(), hash_key_.size());
      keyed_.store(true, std::memory_order_release);
    }
  }
  if (!usable_ || id.empty() || id.size() > kMaxIdSize) {
    return false;
  }
  index = SipHash24(hash_key_, id) % slot_count_;
  return true;
}

bool SessionKeyCache::Find(std::string_view id, ShortBytes& key,
                           std::shared_ptr<const StoredSession>* seen) {
  size_t index = 0;
  if (!SlotOf(id, index)) {
    return false;
  }
  const Slot& slot = slots_[index];
  std::lock_guard<std::mutex> lock(stripes_[index % kStripes]);
  if (slot.id_size == 0 || !ConstantTimeEquals(std::string_view(slot.id, slot.id_size), id)) {
    return false;
  }
  key.Assign(std::string_view(slot.key, kKeySize));
  if (seen != nullptr) {
    *seen = slot.seen;
  }
  return true;
}

void SessionKeyCache::Remember(std::string_view id, std::string_view key,
                               std::shared_ptr<const StoredSession> seen) {
  size_t index = 0;
  if (key.size() != kKeySize || !SlotOf(id, index)) {
    return;
  }
  Slot& slot = slots_[index];
  size_t cost = CostOf(seen);
  {
    std::lock_guard<std::mutex> lock(stripes_[index % kStripes]);
    std::memcpy(slot.id, id.data(), id.size());
    std::memcpy(slot.key, key.data(), kKeySize);
    slot.id_size = static_cast<uint8_t>(id.size());
    const size_t dropped = CostOf(slot.seen);
    if (cost > 0 &&
        record_cost_.load(std::memory_order_relaxed) - dropped + cost > record_budget_) {
      seen = nullptr;  // over the budget: the id's key is kept, not its record
      cost = 0;
    }
    record_cost_.fetch_add(cost, std::memory_order_relaxed);
    record_cost_.fetch_sub(dropped, std::memory_order_relaxed);
    slot.seen.swap(seen);
  }
  // `seen` now holds the record the slot dropped: released here, outside the lock.
}

}  // namespace coinpay
