// Test doubles for the core's seams: a settable clock, a deterministic random source, a scripted
// HTTP client that records what it was sent, an in-memory session store and a log collector.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/cookie_sealer.h"
#include "core/effects.h"
#include "core/provider_client.h"
#include "core/provider_config.h"
#include "core/result.h"
#include "core/session.h"
#include "core/shared_store.h"
#include "core/site.h"

namespace coinpay::testing {

// A clock that only moves when the test says so. Starts at a realistic Unix time.
//
// Waits never sleep. By default a SleepFor moves the clock on by that much and returns, which is
// what a single-threaded test wants. A test that runs the waiting code on its own thread calls
// HoldSleepers(): then SleepFor blocks until the test moves the clock past the sleeper's wake-up
// time (Advance), so the test decides exactly what the sleeper sees when it wakes. `OnSleep`
// runs a hook on every sleep (e.g. to let another process get ahead).
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now = 1700000000) : now_ms_(now * 1000) {}
  int64_t NowSeconds() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_ms_ / 1000;
  }
  int64_t MonotonicNanos() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_ms_ * 1000000;
  }
  void SleepFor(std::chrono::milliseconds duration) const override {
    std::function<void()> hook;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++sleeps_;
      hook = on_sleep_;
      if (!hold_sleepers_) {
        now_ms_ += duration.count();
      } else {
        const int64_t wake_at = now_ms_ + duration.count();
        ++sleeping_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return now_ms_ >= wake_at; });
        --sleeping_;
      }
    }
    if (hook) {
      hook();
    }
  }
  void Set(int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ms_ = now * 1000;
    changed_.notify_all();
  }
  void Advance(int64_t seconds) { AdvanceMillis(seconds * 1000); }
  void AdvanceMillis(int64_t ms) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ms_ += ms;
    changed_.notify_all();
  }
  void HoldSleepers() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_sleepers_ = true;
  }
  void OnSleep(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_sleep_ = std::move(hook);
  }
  // With HoldSleepers: waits (bounded, in real time) until `n` threads sleep at once.
  bool WaitForSleepers(int n) const {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return sleeping_ >= n; });
  }
  int sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  mutable int64_t now_ms_;
  mutable int sleeps_ = 0;
  mutable int sleeping_ = 0;
  bool hold_sleepers_ = false;
  std::function<void()> on_sleep_;
};

// Deterministic bytes (a counter-driven xorshift) so runs are reproducible; can be told to fail.
class FakeRandom : public Random {
 public:
  explicit FakeRandom(uint64_t seed = 0x9e3779b97f4a7c15ull) : state_(seed | 1) {}
  bool Fill(uint8_t* out, size_t len) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (fail_) {
      return false;
    }
    for (size_t i = 0; i < len; ++i) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      out[i] = static_cast<uint8_t>(state_ >> 24);
    }
    return true;
  }
  void set_fail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  uint64_t state_;
  bool fail_ = false;
  int calls_ = 0;
};

// Returns the same bytes every time: for showing that a caller's output depends on the IV.
class ConstantRandom : public Random {
 public:
  explicit ConstantRandom(uint8_t byte) : byte_(byte) {}
  bool Fill(uint8_t* out, size_t len) override {
    for (size_t i = 0; i < len; ++i) {
      out[i] = byte_;
    }
    return true;
  }

 private:
  uint8_t byte_;
};

// Maps a URL to a scripted answer (a response, a transport error, or a function of the request)
// and records every request. Thread-safe; unknown URLs answer 404.
class FakeHttpClient : public HttpClient {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  void Respond(const std::string& url, long status, std::string body,
               std::string content_type = "application/json") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    Handle(url, [r](const HttpRequest&) { return Result<HttpResponse>(r); });
  }
  void Fail(const std::string& url, std::string detail = "connection refused") {
    Handle(url, [detail](const HttpRequest&) {
      return Result<HttpResponse>(Errc::kHttpFailure, detail);
    });
  }
  void Handle(const std::string& url, Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_[url] = std::move(h);
  }

  Result<HttpResponse> Send(const HttpRequest& req) override {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
      auto it = handlers_.find(req.url);
      if (it != handlers_.end()) {
        h = it->second;
      }
    }
    if (!h) {
      HttpResponse r;
      r.status = 404;
      r.body = "{\"error\":\"not_found\"}";
      return r;
    }
    return h(req);
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int CountFor(const std::string& url) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& r : requests_) {
      n += r.url == url ? 1 : 0;
    }
    return n;
  }
  std::optional<HttpRequest> LastFor(const std::string& url) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = requests_.rbegin(); it != requests_.rend(); ++it) {
      if (it->url == url) {
        return *it;
      }
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::vector<HttpRequest> requests_;
};

// The value a store read returned, without its version (nullopt when absent or on error).
inline std::optional<std::string> ValueOf(const Result<std::optional<SharedStore::Entry>>& got) {
  if (!got.ok() || !got->has_value()) {
    return std::nullopt;
  }
  return (*got)->value;
}

// A one-shot gate: threads Wait() until the test calls Open().
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// SharedStore in a std::map, honouring expiry and versions; can be told to be unreachable, and
// can run a test's code just before an operation (to replay an interleaving deterministically:
// "another process writes here, between this request's read and its write").
class InMemoryStore : public SharedStore {
 public:
  enum class Op {
    kPut,
    kGet,
    kPutIfVersion,
    kErase,
    kAdd,
    kEraseIfEquals,
    kExists,
    kSetAdd,
    kSetMembers,
    kSetRemove
  };
  // Runs `hook` once, just before the next operation `op` (outside the store's lock).
  void Before(Op op, std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hooks_.emplace_back(op, std::move(hook));
  }

  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override {
    RunHook(Op::kPut);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    ++puts_;
    entries_[std::string(key)] = Entry{std::string(value), expires_at, ++version_clock_};
    return OkStatus();
  }
  Result<std::optional<SharedStore::Entry>> Get(std::string_view key, int64_t now) override {
    RunHook(Op::kGet);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = entries_.find(std::string(key));
    if (it == entries_.end() || it->second.expires_at <= now) {
      return std::optional<SharedStore::Entry>();
    }
    return std::optional<SharedStore::Entry>(
        SharedStore::Entry{it->second.value, it->second.version});
  }
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override {
    RunHook(Op::kPutIfVersion);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = entries_.find(std::string(key));
    if (it == entries_.end() || it->second.expires_at <= now || it->second.version != version) {
      ++conflicts_;
      return false;
    }
    ++puts_;
    it->second = Entry{std::string(value), expires_at, ++version_clock_};
    return true;
  }
  Status Erase(std::string_view key) override {
    RunHook(Op::kErase);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    entries_.erase(std::string(key));
    return OkStatus();
  }
  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override {
    RunHook(Op::kAdd);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = entries_.find(std::string(key));
    if (it != entries_.end() && it->second.expires_at > now) {
      return false;
    }
    entries_[std::string(key)] = Entry{std::string(value), expires_at, ++version_clock_};
    return true;
  }
  Status EraseIfEquals(std::string_view key, std::string_view expected) override {
    RunHook(Op::kEraseIfEquals);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = entries_.find(std::string(key));
    if (it != entries_.end() && it->second.value == expected) {
      entries_.erase(it);
    }
    return OkStatus();
  }
  Result<bool> Exists(std::string_view key, int64_t now) override {
    RunHook(Op::kExists);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = entries_.find(std::string(key));
    return it != entries_.end() && it->second.expires_at > now;
  }
  Status SetAdd(std::string_view key, std::string_view member, int64_t expires_at) override {
    RunHook(Op::kSetAdd);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto& set = sets_[std::string(key)];
    set.members.insert(std::string(member));
    set.expires_at = std::max(set.expires_at, expires_at);
    return OkStatus();
  }
  Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t now) override {
    RunHook(Op::kSetMembers);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = sets_.find(std::string(key));
    if (it == sets_.end() || it->second.expires_at <= now) {
      return std::vector<std::string>();
    }
    return std::vector<std::string>(it->second.members.begin(), it->second.members.end());
  }
  Status SetRemove(std::string_view key, const std::vector<std::string>& members) override {
    RunHook(Op::kSetRemove);
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_) {
      return Error{Errc::kStoreUnavailable, "store down"};
    }
    auto it = sets_.find(std::string(key));
    if (it == sets_.end()) {
      return OkStatus();
    }
    for (const auto& m : members) {
      it->second.members.erase(m);
    }
    if (it->second.members.empty()) {
      sets_.erase(it);
    }
    return OkStatus();
  }

  void set_unavailable(bool v) {
    std::lock_guard<std::mutex> lock(mu_);
    unavailable_ = v;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size() + sets_.size();
  }
  int puts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return puts_;
  }
  // Conditional writes refused because the entry changed or was gone.
  int conflicts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return conflicts_;
  }
  std::vector<std::string> Keys() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) {
      out.push_back(k);
    }
    for (const auto& [k, v] : sets_) {
      out.push_back(k);
    }
    return out;
  }
  std::optional<int64_t> ExpiryOf(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      return std::nullopt;
    }
    return it->second.expires_at;
  }

 private:
  struct Entry {
    std::string value;
    int64_t expires_at;
    uint64_t version;
  };
  struct Set {
    std::set<std::string> members;
    int64_t expires_at = 0;
  };
  void RunHook(Op op) {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
        if (it->first == op) {
          hook = std::move(it->second);
          hooks_.erase(it);
          break;
        }
      }
    }
    if (hook) {
      hook();
    }
  }
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, Set> sets_;
  std::vector<std::pair<Op, std::function<void()>>> hooks_;
  uint64_t version_clock_ = 0;
  bool unavailable_ = false;
  int puts_ = 0;
  int conflicts_ = 0;
};

// Records every log line as (level, tag, message).
class CollectingLogSink : public LogSink {
 public:
  void Log(LogLevel level, int tag, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(level, tag, std::string(message));
  }
  std::vector<std::tuple<LogLevel, int, std::string>> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  bool HasTag(int tag) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_) {
      if (std::get<1>(l) == tag) {
        return true;
      }
    }
    return false;
  }
  // True when any logged message contains `needle` (for "no secret in logs" checks).
  bool AnyContains(std::string_view needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_) {
      if (std::get<2>(l).find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::tuple<LogLevel, int, std::string>> lines_;
};

// A whole Site wired to the fakes: provider https://op.example with discovery, a relying party
// at https://example-business.com, and an in-memory session store. Tests script the OP's answers.
struct TestSite {
  static constexpr char kIssuer[] = "https://op.example";
  static constexpr char kDiscoveryUrl[] = "https://op.example/.well-known/openid-configuration";
  static constexpr char kAuthorizeUrl[] = "https://op.example/authorize";
  static constexpr char kTokenUrl[] = "https://op.example/token";
  static constexpr char kJwksUrl[] = "https://op.example/jwks";
  static constexpr char kRevokeUrl[] = "https://op.example/revoke";
  static constexpr char kClientId[] = "client-1";
  static constexpr char kClientSecret[] = "s3cr3t-Val9e";
  static constexpr char kRedirectUri[] = "https://example-business.com/api/auth/callback/coinpay";

  FakeClock clock;
  FakeRandom random;
  FakeHttpClient http;
  CollectingLogSink log;
  InMemoryStore store;
  SessionConfig session_config;
  std::shared_ptr<ProviderConfig> provider_config;
  std::unique_ptr<ProviderClient> provider;
  std::unique_ptr<Sessions> sessions;
  LocalMetrics metrics{2};  // slot 1: this site's provider (tests read what a flow counted)

  // `tune` may change the provider config before it is finalised and frozen.
  explicit TestSite(const std::function<void(ProviderConfig&)>& tune = nullptr) {
    auto p = std::make_shared<ProviderConfig>();
    p->issuer = kIssuer;
    p->client_id = kClientId;
    p->client_secret = kClientSecret;
    p->redirect_uri = kRedirectUri;
    if (tune) {
      tune(*p);
    }
    Status st = FinalizeProviderConfig(*p);
    if (!st.ok()) {
      throw std::runtime_error("TestSite config: " + st.error().detail);
    }
    provider_config = p;
    session_config.scope = "host:example-business.com";
    session_config.sealer = std::make_shared<const CookieSealer>(
        std::vector<std::string>{"test passphrase, long enough"});
    provider = std::make_unique<ProviderClient>(provider_config, http, clock, log);
    provider->AttachMetrics(metrics.metrics(), 1);
    sessions = std::make_unique<Sessions>(store, session_config, random);
  }

  // How often the provider's flows counted `m` so far.
  uint64_t Counted(Metric m) const {
    return metrics.metrics().Read(InfoOf(m).global ? 0 : 1).counters[static_cast<size_t>(m)];
  }

  Site site() { return Site{*provider, session_config, *sessions, clock, random, log}; }

  // A session record as a sign-in with this site's provider makes it.
  SessionRecord NewRecord(const std::string& sub) const {
    SessionRecord r;
    r.provider = provider_config->name;
    r.issuer = provider_config->issuer;
    r.client_id = provider_config->client_id;
    r.sub = sub;
    r.user = sub;
    return r;
  }

  std::string DiscoveryJson() const {
    return std::string(R"({"issuer":")") + kIssuer + R"(","authorization_endpoint":")" +
           kAuthorizeUrl + R"(","token_endpoint":")" + kTokenUrl + R"(","jwks_uri":")" + kJwksUrl +
           R"(","revocation_endpoint":")" + kRevokeUrl + R"("})";
  }
  void ServeDiscovery() { http.Respond(kDiscoveryUrl, 200, DiscoveryJson()); }
  void ServeJwks(const std::string& jwks_json) { http.Respond(kJwksUrl, 200, jwks_json); }
};

}  // namespace coinpay::testing
