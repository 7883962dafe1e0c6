// Redis commands: SET EXAT / GET / DEL for records, GETRANGE of a record's last 8 bytes (its
// version) to revalidate a cached copy, Lua scripts where a check and a write must be one step
// (compare-and-set, compare-and-delete, set add with its expiry), SET NX PX for Add. Failures are
// Errc::kStoreUnavailable: the request gets 503, no cookie is lost.
#include "platform/redis_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>

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

RedisStore::RedisStore(Options options) : options_(std::move(options)) {}

RedisStore::~RedisStore() {
  for (redisContext* c : idle_) {
    redisFree(c);
  }
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
  auto setup = [&](const std::vector<std::string>& args) -> bool {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
    if (r != nullptr) {
      freeReplyObject(r);
    }
    return ok;
  };
  if ((!options_.password.empty() && !setup({"AUTH", options_.password})) ||
      (options_.db != 0 && !setup({"SELECT", std::to_string(options_.db)}))) {
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
  return std::optional<Entry>(std::move(e));
}

Result<SharedStore::Revalidation> RedisStore::GetIfChanged(std::string_view key, int64_t now,
                                                           uint64_t known_version) {
  std::string k = KeyOf(key);
  // GETRANGE reads the last 8 bytes in place: O(1) in Redis whatever the value's size. Any
  // other answer (another version; "" for an absent or expired key, or an empty value) is
  // settled by GET, whose answer is the one a Get now would give.
  auto r = Command({"GETRANGE", k, "-8", "-1"});
  if (!r) {
    return r.error();
  }
  if (r->type == REDIS_REPLY_STRING && !r->str.empty() && VersionOf(r->str) == known_version) {
    return Revalidation{true, std::nullopt};
  }
  auto got = Get(key, now);
  if (!got) {
    return got.error();
  }
  return Revalidation{false, std::move(*got)};
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
