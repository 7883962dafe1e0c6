// Session records and their lifetime: idle and absolute timeouts are enforced on every load.
#include "core/session.h"

#include <algorithm>

#include "core/cookies.h"
#include "core/crypto.h"
#include "core/encoding.h"

namespace coinpay {
namespace {

constexpr char kRecordVersion = 0x01;
constexpr size_t kSessionIdBytes = 32;
// The idle timer is written back at most this often, so a busy session costs no store writes.
constexpr int64_t kTouchIntervalSeconds = 60;

void PutInt(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) {
    out += static_cast<char>(u & 0xff);
    u >>= 8;
  }
}

void PutString(std::string& out, std::string_view s) {
  auto n = static_cast<uint32_t>(s.size());
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>(n & 0xff);
    n >>= 8;
  }
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Int(int64_t& v) {
    if (in_.size() < 8) {
      return false;
    }
    uint64_t u = 0;
    for (int i = 7; i >= 0; --i) {
      u = (u << 8) | static_cast<uint8_t>(in_[static_cast<size_t>(i)]);
    }
    v = static_cast<int64_t>(u);
    in_.remove_prefix(8);
    return true;
  }
  bool String(std::string& s) {
    if (in_.size() < 4) {
      return false;
    }
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) {
      n = (n << 8) | static_cast<uint8_t>(in_[static_cast<size_t>(i)]);
    }
    in_.remove_prefix(4);
    if (in_.size() < n) {
      return false;
    }
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool Done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

std::string StoreKey(std::string_view id) { return Sha256(id); }

bool LooksLikeSessionId(std::string_view v) {
  return v.size() == 43 && Base64UrlDecode(v).has_value();
}

}  // namespace

std::string EncodeSession(const SessionRecord& s) {
  std::string out;
  out.reserve(256 + s.claims_json.size() + s.id_token.size() + s.access_token.size() +
              s.refresh_token.size());
  out += kRecordVersion;
  PutString(out, s.provider);
  PutString(out, s.sub);
  PutString(out, s.user);
  PutInt(out, static_cast<int64_t>(s.claims.size()));
  for (const auto& [name, value] : s.claims) {
    PutString(out, name);
    PutString(out, value);
  }
  PutString(out, s.claims_json);
  PutString(out, s.id_token);
  PutString(out, s.access_token);
  PutString(out, s.refresh_token);
  PutInt(out, s.access_expires_at);
  PutInt(out, s.access_issued_at);
  PutInt(out, s.created_at);
  PutInt(out, s.last_seen_at);
  return out;
}

std::optional<SessionRecord> DecodeSession(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != kRecordVersion) {
    return std::nullopt;
  }
  Reader r(bytes.substr(1));
  SessionRecord s;
  int64_t n = 0;
  if (!r.String(s.provider) || !r.String(s.sub) || !r.String(s.user) || !r.Int(n) || n < 0 ||
      n > 4096) {
    return std::nullopt;
  }
  s.claims.resize(static_cast<size_t>(n));
  for (auto& [name, value] : s.claims) {
    if (!r.String(name) || !r.String(value)) {
      return std::nullopt;
    }
  }
  if (!r.String(s.claims_json) || !r.String(s.id_token) || !r.String(s.access_token) ||
      !r.String(s.refresh_token) || !r.Int(s.access_expires_at) || !r.Int(s.access_issued_at) ||
      !r.Int(s.created_at) || !r.Int(s.last_seen_at) || !r.Done()) {
    return std::nullopt;
  }
  return s;
}

Sessions::Sessions(SessionStore& store, const SessionConfig& config, Random& random)
    : store_(store), config_(config), random_(random) {}

int64_t Sessions::StoreExpiry(const SessionRecord& r, int64_t now) const {
  return std::min(r.created_at + config_.max_age_seconds, now + config_.idle_timeout_seconds);
}

Result<std::optional<Sessions::Loaded>> Sessions::Load(std::string_view cookie_header,
                                                       int64_t now) {
  for (const auto& [name, value] : ParseCookieHeader(cookie_header)) {
    if (name != config_.cookie_name || !LooksLikeSessionId(value)) {
      continue;
    }
    auto got = store_.Get(StoreKey(value), now);
    if (!got) {
      return got.error();
    }
    if (!got->has_value()) {
      continue;
    }
    auto record = DecodeSession(**got);
    if (!record) {
      continue;
    }
    std::string id(value);
    if (now >= record->created_at + config_.max_age_seconds ||
        now >= record->last_seen_at + config_.idle_timeout_seconds) {
      (void)store_.Erase(StoreKey(id));
      continue;
    }
    if (now - record->last_seen_at >= kTouchIntervalSeconds) {
      record->last_seen_at = now;
      (void)Save(id, *record, now);
    }
    return std::optional<Loaded>(Loaded{std::move(id), std::move(*record)});
  }
  return std::optional<Loaded>();
}

Result<std::optional<SessionRecord>> Sessions::LoadById(const std::string& id, int64_t now) {
  auto got = store_.Get(StoreKey(id), now);
  if (!got) {
    return got.error();
  }
  if (!got->has_value()) {
    return std::optional<SessionRecord>();
  }
  auto record = DecodeSession(**got);
  if (!record || now >= record->created_at + config_.max_age_seconds ||
      now >= record->last_seen_at + config_.idle_timeout_seconds) {
    return std::optional<SessionRecord>();
  }
  return std::optional<SessionRecord>(std::move(*record));
}

namespace {
constexpr size_t kMaxIndexedSessions = 64;  // per sid / sub; the oldest drop out of the index
std::string IndexKey(std::string_view kind, std::string_view provider, std::string_view value) {
  std::string material(kind);
  material.append(1, '\0').append(provider).append(1, '\0').append(value);
  return Sha256(material);
}
}  // namespace

void Sessions::AddToIndex(const std::string& index_key, const std::string& session_key,
                          int64_t now) {
  // Not atomic with other writers of the same index: at worst a concurrent sign-in of the same
  // user drops out of the index, and back-channel logout then misses that one session.
  auto got = store_.Get(index_key, now);
  std::string keys = got && got->has_value() ? **got : std::string();
  keys += session_key;
  if (keys.size() > kMaxIndexedSessions * 32) {
    keys.erase(0, keys.size() - kMaxIndexedSessions * 32);
  }
  (void)store_.Put(index_key, keys, now + config_.max_age_seconds);
}

Result<int> Sessions::DestroyIndexed(const std::string& index_key) {
  auto got = store_.Get(index_key, 0);
  if (!got) {
    return got.error();
  }
  int n = 0;
  if (got->has_value()) {
    const std::string& keys = **got;
    for (size_t i = 0; i + 32 <= keys.size(); i += 32) {
      auto st = store_.Erase(keys.substr(i, 32));
      n += st ? 1 : 0;
    }
  }
  (void)store_.Erase(index_key);
  return n;
}

Result<int> Sessions::DestroyBySid(std::string_view provider, std::string_view sid) {
  return DestroyIndexed(IndexKey("sid", provider, sid));
}

Result<int> Sessions::DestroyBySub(std::string_view provider, std::string_view sub) {
  return DestroyIndexed(IndexKey("sub", provider, sub));
}

Result<std::string> Sessions::Create(SessionRecord record, int64_t now, std::string_view sid) {
  auto id = RandomToken(random_, kSessionIdBytes);
  if (!id) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  record.created_at = now;
  record.last_seen_at = now;
  auto st = Save(*id, record, now);
  if (!st) {
    return st.error();
  }
  if (!config_.index_sessions) {
    return *id;
  }
  if (!sid.empty()) {
    AddToIndex(IndexKey("sid", record.provider, sid), StoreKey(*id), now);
  }
  AddToIndex(IndexKey("sub", record.provider, record.sub), StoreKey(*id), now);
  return *id;
}

Status Sessions::Save(const std::string& id, const SessionRecord& record, int64_t now) {
  return store_.Put(StoreKey(id), EncodeSession(record), StoreExpiry(record, now));
}

Status Sessions::Destroy(const std::string& id) { return store_.Erase(StoreKey(id)); }

}  // namespace coinpay
