// One mutex guards the entries and the calls in flight: the provider call itself runs outside
// it, and a lookup is a hash probe and a list splice.
#include "core/introspection_cache.h"

#include <algorithm>
#include <string>

#include "core/crypto.h"

namespace coinpay {

// Finishes the flight whatever happens to `ask` (an exception included), so that waiters wake
// and the token is not left "in flight" for good.
class IntrospectionCache::FlightGuard {
 public:
  FlightGuard(IntrospectionCache& cache, const Key& key, std::shared_ptr<Flight> flight)
      : cache_(cache), key_(key), flight_(std::move(flight)) {}
  FlightGuard(const FlightGuard&) = delete;
  FlightGuard& operator=(const FlightGuard&) = delete;
  ~FlightGuard() { Finish(IntrospectionVerdict::Unavailable(), 0, 0); }

  void Finish(const IntrospectionVerdict& verdict, int64_t remember_until, int64_t now) {
    if (finished_) {
      return;
    }
    finished_ = true;
    {
      std::lock_guard<std::mutex> lock(cache_.mu_);
      if (verdict.kind != IntrospectionVerdict::Kind::kUnavailable && remember_until > now) {
        cache_.RememberLocked(key_, verdict, remember_until);
      }
      flight_->verdict = verdict;
      flight_->done = true;
      cache_.flights_.erase(key_);
    }
    flight_->done_cv.notify_all();
  }

 private:
  IntrospectionCache& cache_;
  Key key_;
  std::shared_ptr<Flight> flight_;
  bool finished_ = false;
};

IntrospectionCache::IntrospectionCache(Options options)
    : options_(options), budget_(options.asks_per_second, options.ask_burst) {}

IntrospectionCache::Key IntrospectionCache::KeyOf(std::string_view token) {
  std::string digest = Sha256(token);
  Key key{};
  std::copy_n(digest.begin(), std::min(digest.size(), key.size()), key.begin());
  return key;
}

const IntrospectionVerdict* IntrospectionCache::FindLocked(const Key& key, int64_t now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return nullptr;
  }
  if (now >= it->second.expires_at) {
    recency_.erase(it->second.recency);
    entries_.erase(it);
    return nullptr;
  }
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return &it->second.verdict;
}

void IntrospectionCache::RememberLocked(const Key& key, const IntrospectionVerdict& verdict,
                                        int64_t expires_at) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    it->second.verdict = verdict;
    it->second.expires_at = expires_at;
    recency_.splice(recency_.begin(), recency_, it->second.recency);
    return;
  }
  while (!entries_.empty() && entries_.size() >= std::max<size_t>(options_.capacity, 1)) {
    entries_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(key);
  entries_.emplace(key, Entry{verdict, expires_at, recency_.begin()});
}

IntrospectionVerdict IntrospectionCache::Resolve(std::string_view token, int64_t now,
                                                 const std::function<Answer()>& ask) {
  Key key = KeyOf(token);
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (const IntrospectionVerdict* known = FindLocked(key, now)) {
      return *known;
    }
    auto in_flight = flights_.find(key);
    if (in_flight != flights_.end()) {
      flight = in_flight->second;  // keeps it alive after its leader erases it
      ++waiting_;
      bool done =
          flight->done_cv.wait_for(lock, options_.max_wait, [&flight] { return flight->done; });
      --waiting_;
      return done ? flight->verdict : IntrospectionVerdict::Unavailable();
    }
    flight = std::make_shared<Flight>();
    flights_.emplace(key, flight);
  }
  FlightGuard guard(*this, key, flight);
  Answer answer = ask();
  guard.Finish(answer.verdict, answer.remember_until, now);
  return answer.verdict;
}

size_t IntrospectionCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

size_t IntrospectionCache::waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

}  // namespace coinpay
