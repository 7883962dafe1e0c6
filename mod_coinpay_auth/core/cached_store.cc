// The per-process cache of opened values, revalidated with the store on every read.
#include "core/cached_store.h"

namespace coinpay {
namespace {
size_t Cost(std::string_view key, const SharedStore::Entry& e) {
  return key.size() + e.value.size() + 64;  // 64: the list node and index slot, roughly
}
}  // namespace

CachedStore::CachedStore(SharedStore& inner, Limits limits)
    : ValueStoreDecorator(inner), limits_(limits) {}

CachedStore::Stats CachedStore::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t CachedStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

std::optional<uint64_t> CachedStore::VersionHeld(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    return std::nullopt;
  }
  return it->second->entry.version;
}

std::optional<SharedStore::Entry> CachedStore::CopyIfVersion(std::string_view key,
                                                             uint64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end() || it->second->entry.version != version) {
    return std::nullopt;  // dropped or replaced by another thread since the question
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++stats_.hits;
  return it->second->entry;
}

void CachedStore::EraseLocked(List::iterator it) {
  bytes_ -= Cost(it->key, it->entry);
  index_.erase(std::string_view{it->key});
  lru_.erase(it);
}

void CachedStore::Remember(std::string_view key, const Entry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.misses;
  if (auto it = index_.find(key); it != index_.end()) {
    EraseLocked(it->second);
  }
  const size_t cost = Cost(key, entry);
  if (limits_.max_entries == 0 || cost > limits_.max_bytes) {
    return;
  }
  while (!lru_.empty() &&
         (lru_.size() >= limits_.max_entries || bytes_ + cost > limits_.max_bytes)) {
    EraseLocked(std::prev(lru_.end()));
  }
  lru_.push_front(Item{std::string(key), entry});
  index_.emplace(std::string_view{lru_.front().key}, lru_.begin());
  bytes_ += cost;
}

void CachedStore::Forget(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    EraseLocked(it->second);
  }
}

Result<std::optional<SharedStore::Entry>> CachedStore::Get(std::string_view key, int64_t now) {
  auto held = VersionHeld(key);
  for (int attempt = 0; held && attempt < 2; ++attempt) {
    auto got = inner_.GetIfChanged(key, now, *held);
    if (!got) {
      return got.error();  // the store cannot answer: neither can we
    }
    if (got->unchanged) {
      if (auto copy = CopyIfVersion(key, *held)) {
        return std::optional<Entry>(std::move(*copy));
      }
      // Our copy went meanwhile (another thread wrote, erased or evicted it): ask again.
      held = VersionHeld(key);
      continue;
    }
    if (!got->entry) {
      Forget(key);
      return std::optional<Entry>();
    }
    Remember(key, *got->entry);
    return std::move(got->entry);
  }
  auto got = inner_.Get(key, now);
  if (!got) {
    return got;
  }
  if (got->has_value()) {
    Remember(key, **got);
  } else {
    Forget(key);
  }
  return got;
}

bool CachedStore::MarkUsedIfVersion(std::string_view key, uint64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end() || it->second->entry.version != version) {
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++stats_.hits;
  return true;
}

Result<SharedStore::Revalidation> CachedStore::GetIfChanged(std::string_view key, int64_t now,
                                                            uint64_t known_version) {
  // The caller holds what we hold: pass the question on, and copy nothing when it is unchanged.
  if (VersionHeld(key) == known_version) {
    auto got = inner_.GetIfChanged(key, now, known_version);
    if (!got) {
      return got.error();
    }
    if (got->unchanged) {
      MarkUsedIfVersion(key, known_version);
      return got;
    }
    if (got->entry) {
      Remember(key, *got->entry);
    } else {
      Forget(key);
    }
    return got;
  }
  auto got = Get(key, now);
  if (!got) {
    return got.error();
  }
  if (got->has_value() && (*got)->version == known_version) {
    return Revalidation{.unchanged = true, .entry = std::nullopt};
  }
  return Revalidation{.entry = std::move(*got)};
}

Status CachedStore::Put(std::string_view key, std::string_view value, int64_t expires_at) {
  Forget(key);
  auto st = inner_.Put(key, value, expires_at);
  Forget(key);
  return st;
}

Result<bool> CachedStore::PutIfVersion(std::string_view key, std::string_view value,
                                       int64_t expires_at, uint64_t version, int64_t now) {
  Forget(key);
  auto put = inner_.PutIfVersion(key, value, expires_at, version, now);
  Forget(key);
  return put;
}

Status CachedStore::Erase(std::string_view key) {
  Forget(key);
  auto st = inner_.Erase(key);
  Forget(key);
  return st;
}

}  // namespace coinpay
