// Redis commands: SET EXAT / GET / DEL for records, GETRANGE of a record's last 8 bytes (its
// version) to revalidate a cached copy, Lua scripts where a check and a write must be one step
// (compare-and-set, compare-and-delete, set add with its expiry), SET NX PX for Add. Failures are
// Errc::kStoreUnavailable: the request gets 503, no cookie is lost.
#include "platform/redis_store.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/log.h"

namespace coinpay {
namespace {

constexpr char kEraseIfEqualsScript[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
    "return 0";
// ARGV: new value, expected version (the 8 bytes VersionBytes gives), expiry (Unix seconds).
// The version is the value's last 8 bytes (see RedisStore::VersionOf), read in place: no hash
// of the whole value, and the same test for a value any node of any release wrote.
constexpr char kPutIfVersionScript[] =
    "if redis.call('exists', KEYS[1]) == 0 then return 0 end "
    "local tail = redis.call('getrange', KEYS[1], -8, -1) "
    "if string.rep('\\0', 8 - #tail) .. tail ~= ARGV[2] then return 0 end "
    "redis.call('set', KEYS[1], ARGV[1], 'EXAT', ARGV[3]) return 1";
// ARGV: member, expiry (Unix seconds), most members kept. Never shortens the set's life.
constexpr char kSetAddScript[] =
    "redis.call('sadd', KEYS[1], ARGV[1]) "
    "if redis.call('expiretime', KEYS[1]) < tonumber(ARGV[2]) then "
    "redis.call('expireat', KEYS[1], ARGV[2]) end "
    "if redis.call('scard', KEYS[1]) > tonumber(ARGV[3]) then redis.call('spop', KEYS[1]) end "
    "return 1";

std::string Hex(std::string_view bytes, std::string out = {}) {
  static constexpr char kDigits[] = "0123456789abcdef";
  size_t at = out.size();
  out.resize(at + bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out[at++] = kDigits[c >> 4];
    out[at++] = kDigits[c & 15];
  }
  return out;
}

void AppendDecimal(std::string& out, size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// The command in Redis's wire format (RESP: an array of bulk strings), built in one buffer:
// cheaper per request than hiredis's printf-style formatting (redisCommandArgv).
std::string Resp(const std::vector<std::string_view>& args) {
  size_t size = 16;
  for (auto a : args) {
    size += a.size() + 16;
  }
  std::string out;
  out.reserve(size);
  out += '*';
  AppendDecimal(out, args.size());
  out += "\r\n";
  for (auto a : args) {
    out += '$';
    AppendDecimal(out, a.size());
    out += "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

// The 8 bytes a value with this version ends in (a shorter value: its bytes after zeros).
std::string VersionBytes(uint64_t version) {
  std::string bytes(8, '\0');
  for (int i = 7; i >= 0; --i) {
    bytes[static_cast<size_t>(i)] = static_cast<char>(version & 0xff);
    version >>= 8;
  }
  return bytes;
}

// One command on a connection being set up; its reply when it is not an error (the error's
// text, Redis's own, in *error).
redisReply* SetupReply(redisContext* c, const std::vector<std::string>& args,
                       std::string* error = nullptr) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
    if (error != nullptr) {
      *error = std::string(r->str, std::min<size_t>(r->len, 120));
    }
    freeReplyObject(r);
    return nullptr;
  }
  if (r == nullptr && error != nullptr) {
    *error = c->errstr;
  }
  return r;
}

bool SetupCommand(redisContext* c, const std::vector<std::string>& args,
                  std::string* error = nullptr) {
  redisReply* r = SetupReply(c, args, error);
  if (r != nullptr) {
    freeReplyObject(r);
  }
  return r != nullptr;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct RedisStore::Reply {
  int type = 0;
  long long integer = 0;
  std::string str;
  std::vector<std::string> elements;  // string elements of an array reply
};

uint64_t RedisStore::VersionOf(std::string_view stored) {
  uint64_t v = 0;
  for (char ch : stored.substr(stored.size() - std::min<size_t>(stored.size(), 8))) {
    v = (v << 8) | static_cast<unsigned char>(ch);
  }
  return v;
}

// The invalidation channel of one process: a subscribed connection whose socket is read
// without blocking, its messages parsed by hiredis's reader, and what they taught.
struct RedisStore::Channel {
  std::mutex mu;
  TrackedVersions versions;
  redisContext* conn = nullptr;  // subscribed; its socket non-blocking; null while closed
  bool opening = false;          // one thread opens it, outside the lock; the others go on
  int64_t retry_at_ms = 0;
  bool warned = false;

  ~Channel() { Close(); }
  void Close() {
    if (conn != nullptr) {
      redisFree(conn);
      conn = nullptr;
    }
  }
  void Lost(int64_t now_ms) {
    versions.Lost();
    Close();
    retry_at_ms = now_ms + kRetryMs;
  }
  static constexpr int64_t kRetryMs = 1000;
  static constexpr int64_t kRefusedRetryMs = 60000;
  // One drain reading this much may have left more on Redis's side (a full socket buffer).
  static constexpr size_t kBacklogBytes = 4096;
};

namespace {

constexpr char kInvalidateChannel[] = "__redis__:invalidate";

// `key` (prefix + hex, as KeyOf writes it) back to the store's key; false when it is not one.
bool StoreKeyOf(std::string_view redis_key, std::string_view prefix, std::string* out) {
  if (redis_key.substr(0, prefix.size()) != prefix || (redis_key.size() - prefix.size()) % 2) {
    return false;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  out->clear();
  for (size_t i = prefix.size(); i < redis_key.size(); i += 2) {
    int hi = nibble(redis_key[i]);
    int lo = nibble(redis_key[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

bool IsBulk(const redisReply* r, std::string_view text) {
  return r != nullptr && r->type == REDIS_REPLY_STRING && std::string_view(r->str, r->len) == text;
}

// Applies one message of the channel; false when it is not one we understand (the caller
// then treats the channel as lost: answering from what it cannot read would not be safe).
bool Apply(const redisReply* r, std::string_view prefix, TrackedVersions& versions) {
  if (r->type != REDIS_REPLY_ARRAY) {
    return false;
  }
  if (r->elements == 3 && IsBulk(r->element[0], "message") &&
      IsBulk(r->element[1], kInvalidateChannel)) {
    const redisReply* keys = r->element[2];
    if (keys->type == REDIS_REPLY_NIL) {
      versions.InvalidateAll();  // FLUSHALL / FLUSHDB
      return true;
    }
    if (keys->type != REDIS_REPLY_ARRAY) {
      return false;
    }
    std::string key;
    for (size_t i = 0; i < keys->elements; ++i) {
      const redisReply* k = keys->element[i];
      if (k->type != REDIS_REPLY_STRING) {
        return false;
      }
      if (StoreKeyOf({k->str, k->len}, prefix, &key)) {
        versions.Invalidate(key);
      } else {
        versions.InvalidateAll();  // under our prefix but not ours: be safe
      }
    }
    return true;
  }
  if (r->elements == 2 && IsBulk(r->element[0], "pong") &&
      r->element[1]->type == REDIS_REPLY_STRING) {
    uint64_t seq = 0;
    const char* p = r->element[1]->str;
    std::from_chars(p, p + r->element[1]->len, seq);
    versions.Pong(seq);
    return true;
  }
  return r->elements == 3 && IsBulk(r->element[0], "subscribe");  // a late confirmation
}

}  // namespace

RedisStore::RedisStore(Options options, LogSink* log) : options_(std::move(options)), log_(log) {
  if (options_.tracking) {
    channel_ = std::make_unique<Channel>();
  }
}

RedisStore::~RedisStore() {
  for (redisContext* c : idle_) {
    redisFree(c);
  }
}

bool RedisStore::tracking_alive() {
  if (!channel_) {
    return false;
  }
  std::lock_guard<std::mutex> lock(channel_->mu);
  return channel_->conn != nullptr && channel_->versions.alive(SteadyMs());
}

TrackedVersions::Ticket RedisStore::TicketFor(std::string_view key) {
  std::lock_guard<std::mutex> lock(channel_->mu);
  return channel_->versions.TicketFor(key);
}

void RedisStore::Remember(std::string_view key, uint64_t version, TrackedVersions::Ticket ticket) {
  std::lock_guard<std::mutex> lock(channel_->mu);
  channel_->versions.Record(key, version, ticket, SteadyMs());
}

Result<bool> RedisStore::KnownUnchanged(std::string_view key, uint64_t version,
                                        TrackedVersions::Ticket* ticket) {
  Channel& ch = *channel_;
  int64_t now = SteadyMs();
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    if (ch.conn != nullptr) {
      // Everything Redis has pushed so far is applied before any answer.
      char buf[16384];
      size_t drained = 0;
      bool lost = false;
      for (;;) {
        ssize_t n = recv(ch.conn->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          drained += static_cast<size_t>(n);
          if (redisReaderFeed(ch.conn->reader, buf, static_cast<size_t>(n)) != REDIS_OK) {
            lost = true;
            break;
          }
          continue;
        }
        if (n < 0 && errno == EINTR) {
          continue;
        }
        lost = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);  // closed, or broken
        break;
      }
      void* reply = nullptr;
      while (!lost && redisReaderGetReply(ch.conn->reader, &reply) == REDIS_OK &&
             reply != nullptr) {
        lost = !Apply(static_cast<redisReply*>(reply), options_.prefix, ch.versions);
        freeReplyObject(reply);
        reply = nullptr;
      }
      if (!lost && ch.conn->reader->err != 0) {
        lost = true;
      }
      if (!lost && drained >= Channel::kBacklogBytes) {
        ch.versions.Backlog();
      }
      if (!lost && ch.versions.PingOverdue(now, options_.timeout_ms)) {
        lost = true;
      }
      if (!lost && ch.versions.PingDue(now)) {
        std::string seq = std::to_string(ch.versions.StartPing(now));
        std::string ping =
            "*2\r\n$4\r\nPING\r\n$" + std::to_string(seq.size()) + "\r\n" + seq + "\r\n";
        lost = send(ch.conn->fd, ping.data(), ping.size(), MSG_DONTWAIT | MSG_NOSIGNAL) !=
               static_cast<ssize_t>(ping.size());
      }
      if (lost) {
        ch.Lost(now);
        metrics_.Count(0, Metric::kRedisTrackingLost);
      } else if (ch.versions.Knows(key, version, now)) {
        if ((local_answers_.fetch_add(1, std::memory_order_relaxed) + 1) % kTrackingCountBatch ==
            0) {
          metrics_.Count(0, Metric::kRedisCheckByTracking, kTrackingCountBatch);
        }
        return true;
      }
      *ticket = ch.versions.TicketFor(key);
      return false;
    }
    *ticket = ch.versions.TicketFor(key);
    if (ch.opening || now < ch.retry_at_ms) {
      return false;
    }
    ch.opening = true;
  }
  // Open the channel outside the lock (it waits on Redis); requests meanwhile ask Redis.
  std::string refused;
  redisContext* conn = nullptr;
  std::optional<Error> unreachable;
  auto c = Connect();
  if (c) {
    conn = *c;
    redisReply* id = SetupReply(conn, {"CLIENT", "ID"}, &refused);
    std::vector<std::string> track = {
        "CLIENT", "TRACKING", "on", "REDIRECT", std::to_string(id != nullptr ? id->integer : 0),
        "BCAST"};
    if (!options_.prefix.empty()) {
      track.insert(track.end(), {"PREFIX", options_.prefix});
    }
    bool ok = id != nullptr && id->type == REDIS_REPLY_INTEGER &&
              SetupCommand(conn, track, &refused) &&
              SetupCommand(conn, {"SUBSCRIBE", kInvalidateChannel}, &refused);
    if (id != nullptr) {
      freeReplyObject(id);
    }
    if (ok) {
      int flags = fcntl(conn->fd, F_GETFL);
      ok = flags >= 0 && fcntl(conn->fd, F_SETFL, flags | O_NONBLOCK) == 0;
    } else if (conn->err != 0) {
      refused.clear();  // the connection failed (timed out, closed), nothing was refused
      unreachable =
          Error{Errc::kStoreUnavailable, std::string("Redis command failed: ") + conn->errstr};
    } else if (refused.empty()) {
      refused = "CLIENT TRACKING or SUBSCRIBE answered an error";
    }
    if (!ok) {
      redisFree(conn);
      conn = nullptr;
    }
  } else {
    unreachable = c.error();
  }
  std::lock_guard<std::mutex> lock(ch.mu);
  ch.opening = false;
  now = SteadyMs();
  if (conn == nullptr) {
    // Unreachable: retry soon (requests report the outage themselves). Refused: Redis is
    // older than 6, or an ACL or rename-command forbids it; every request asks Redis.
    ch.retry_at_ms = now + (refused.empty() ? Channel::kRetryMs : Channel::kRefusedRetryMs);
    if (!refused.empty()) {
      metrics_.Count(0, Metric::kRedisTrackingRefused);
    }
    if (!refused.empty() && !ch.warned && log_ != nullptr) {
      ch.warned = true;
      LogAt(*log_, LogLevel::kWarn, 1001,
            "Redis refused client tracking (" + Untrusted(refused, 120) +
                "); every request asks Redis instead (set CoinpayRedisTracking off to say so)");
    }
    if (unreachable) {
      return *unreachable;
    }
    return false;
  }
  ch.conn = conn;
  ch.versions.Subscribed(now);
  metrics_.Count(0, Metric::kRedisTrackingSubscribed);
  *ticket = ch.versions.TicketFor(key);
  return false;
}

std::string RedisStore::KeyOf(std::string_view key) const { return Hex(key, options_.prefix); }

Result<redisContext*> RedisStore::Acquire(bool* reused) {
  *reused = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      *reused = true;
      return c;
    }
  }
  return Connect();
}

Result<redisContext*> RedisStore::Connect() {
  timeval tv{options_.timeout_ms / 1000,
             static_cast<suseconds_t>((options_.timeout_ms % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
  if (c == nullptr || c->err != 0) {
    std::string why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) {
      redisFree(c);
    }
    return Error{Errc::kStoreUnavailable, "cannot connect to Redis at " + options_.host + ":" +
                                              std::to_string(options_.port) + ": " + why};
  }
  redisSetTimeout(c, tv);
  if ((!options_.password.empty() && !SetupCommand(c, {"AUTH", options_.password})) ||
      (options_.db != 0 && !SetupCommand(c, {"SELECT", std::to_string(options_.db)}))) {
    redisFree(c);
    return Error{Errc::kStoreUnavailable, "Redis refused AUTH or SELECT (check the URL)"};
  }
  return c;
}

void RedisStore::Release(redisContext* c, bool healthy) {
  if (!healthy || c->err != 0) {
    redisFree(c);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(c);
}

Result<RedisStore::Reply> RedisStore::Command(const std::vector<std::string_view>& args,
                                              bool retry) {
  const std::string request = Resp(args);
  // A pooled connection may have been closed by the server since it was last used (Redis
  // restarted, or its idle timeout): then the command never ran, so drop every pooled
  // connection (they are most likely all dead) and try once more on a new one.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto c = Acquire(&reused);
    if (!c) {
      return c.error();
    }
    redisReply* r = nullptr;
    if (redisAppendFormattedCommand(*c, request.data(), request.size()) == REDIS_OK) {
      void* reply = nullptr;
      if (redisGetReply(*c, &reply) == REDIS_OK) {
        r = static_cast<redisReply*>(reply);
      }
    }
    const int saved_errno = errno;
    if (r == nullptr) {
      std::string why = (*c)->errstr;
      // Closed by the server, not timed out (a hung server must not cost two timeouts).
      bool closed =
          (*c)->err == REDIS_ERR_EOF ||
          ((*c)->err == REDIS_ERR_IO && (saved_errno == ECONNRESET || saved_errno == EPIPE));
      Release(*c, false);
      if (reused && closed && attempt == 0) {
        DropIdle();
        if (!retry) {
          return Error{Errc::kStoreUnavailable, "Redis connection was closed; try again"};
        }
        continue;
      }
      return Error{Errc::kStoreUnavailable, "Redis command failed: " + why};
    }
    Reply out;
    out.type = r->type;
    out.integer = r->integer;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
        r->type == REDIS_REPLY_ERROR) {
      out.str.assign(r->str, r->len);
    }
    if (r->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < r->elements; ++i) {
        const redisReply* e = r->element[i];
        if (e != nullptr && e->type == REDIS_REPLY_STRING) {
          out.elements.emplace_back(e->str, e->len);
        }
      }
    }
    freeReplyObject(r);
    Release(*c, true);
    if (out.type == REDIS_REPLY_ERROR) {
      // The error text is Redis's own, e.g. "NOAUTH" or "OOM"; it never contains our values.
      return Error{Errc::kStoreUnavailable, "Redis answered an error: " + out.str.substr(0, 120)};
    }
    return out;
  }
}

void RedisStore::DropIdle() {
  std::vector<redisContext*> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle.swap(idle_);
  }
  for (redisContext* c : idle) {
    redisFree(c);
  }
}

Status RedisStore::Put(std::string_view key, std::string_view value, int64_t expires_at) {
  std::string k = KeyOf(key);
  std::string exat = std::to_string(expires_at);
  auto r = Command({"SET", k, value, "EXAT", exat});
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

Result<std::optional<SharedStore::Entry>> RedisStore::Get(std::string_view key, int64_t /*now*/) {
  TrackedVersions::Ticket ticket;
  if (channel_) {
    ticket = TicketFor(key);  // before the read is sent: see core/tracked_versions.h
  }
  std::string k = KeyOf(key);
  auto r = Command({"GET", k});
  if (!r) {
    return r.error();
  }
  if (r->type != REDIS_REPLY_STRING) {
    return std::optional<Entry>();
  }
  Entry e;
  e.version = VersionOf(r->str);
  e.value = std::move(r->str);
  if (channel_ && !e.value.empty()) {
    Remember(key, e.version, ticket);
  }
  return std::optional<Entry>(std::move(e));
}

Result<SharedStore::Revalidation> RedisStore::GetIfChanged(std::string_view key, int64_t now,
                                                           uint64_t known_version) {
  TrackedVersions::Ticket ticket;
  if (channel_) {
    auto known = KnownUnchanged(key, known_version, &ticket);
    if (!known) {
      return known.error();
    }
    if (*known) {
      return Revalidation{.unchanged = true, .entry = std::nullopt};
    }
  }
  std::string k = KeyOf(key);
  metrics_.Count(0, Metric::kRedisCheckByRedis);
  // GETRANGE reads the last 8 bytes in place: O(1) in Redis whatever the value's size. Any
  // other answer (another version; "" for an absent or expired key, or an empty value) is
  // settled by GET, whose answer is the one a Get now would give.
  auto r = Command({"GETRANGE", k, "-8", "-1"});
  if (!r) {
    return r.error();
  }
  if (r->type == REDIS_REPLY_STRING && !r->str.empty() && VersionOf(r->str) == known_version) {
    if (channel_) {
      Remember(key, known_version, ticket);
    }
    return Revalidation{.unchanged = true, .entry = std::nullopt};
  }
  auto got = Get(key, now);
  if (!got) {
    return got.error();
  }
  return Revalidation{.entry = std::move(*got)};
}

Result<bool> RedisStore::PutIfVersion(std::string_view key, std::string_view value,
                                      int64_t expires_at, uint64_t version, int64_t /*now*/) {
  std::string tail = VersionBytes(version);
  std::string k = KeyOf(key);
  std::string exat = std::to_string(expires_at);
  // Not retried on a closed connection: the script may have run before it closed.
  auto r = Command({"EVAL", kPutIfVersionScript, "1", k, value, tail, exat}, /*retry=*/false);
  if (!r) {
    return r.error();
  }
  return r->type == REDIS_REPLY_INTEGER && r->integer == 1;
}

Status RedisStore::Erase(std::string_view key) {
  std::string k = KeyOf(key);
  auto r = Command({"DEL", k});
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

Result<bool> RedisStore::Add(std::string_view key, std::string_view value, int64_t expires_at,
                             int64_t now) {
  std::string k = KeyOf(key);
  std::string px = std::to_string(std::max<int64_t>(expires_at - now, 1) * 1000);
  auto r = Command({"SET", k, value, "NX", "PX", px}, /*retry=*/false);
  if (!r) {
    return r.error();
  }
  return r->type == REDIS_REPLY_STATUS;  // "OK" when set; a nil reply when the key existed
}

Status RedisStore::EraseIfEquals(std::string_view key, std::string_view expected) {
  std::string k = KeyOf(key);
  auto r = Command({"EVAL", kEraseIfEqualsScript, "1", k, expected});
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

Result<bool> RedisStore::Exists(std::string_view key, int64_t /*now*/) {
  std::string k = KeyOf(key);
  auto r = Command({"EXISTS", k});
  if (!r) {
    return r.error();
  }
  return r->type == REDIS_REPLY_INTEGER && r->integer > 0;
}

Status RedisStore::SetAdd(std::string_view key, std::string_view member, int64_t expires_at) {
  std::string k = KeyOf(key);
  std::string exat = std::to_string(expires_at);
  std::string cap = std::to_string(kMaxSetMembers);
  auto r = Command({"EVAL", kSetAddScript, "1", k, member, exat, cap});
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

Result<std::vector<std::string>> RedisStore::SetMembers(std::string_view key, int64_t /*now*/) {
  std::string k = KeyOf(key);
  auto r = Command({"SMEMBERS", k});
  if (!r) {
    return r.error();
  }
  return std::move(r->elements);
}

Status RedisStore::SetRemove(std::string_view key, const std::vector<std::string>& members) {
  if (members.empty()) {
    return OkStatus();
  }
  std::string k = KeyOf(key);
  std::vector<std::string_view> args = {"SREM", k};
  for (const auto& m : members) {
    args.push_back(m);
  }
  auto r = Command(args);
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

}  // namespace coinpay
