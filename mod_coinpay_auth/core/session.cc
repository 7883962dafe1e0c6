// Session records and their lifetime: idle and absolute timeouts are enforced on every load,
// and every write after Create names the version it read.
#include "core/session.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/saturating.h"
#include "core/session_cookie.h"

namespace coinpay {
namespace {

// 2: scope, issuer and client id joined the record. 3: acr and auth_time (step-up), after
// claims_json; version 2 records still open (no acr, auth_time unknown).
constexpr char kRecordVersion = 0x03;
constexpr char kRecordVersionWithoutAuthn = 0x02;
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
  bool View(std::string_view& s) {
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
    s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  // Steps over a string without copying it (the tokens, when they are not wanted).
  bool Skip() {
    std::string_view ignored;
    return View(ignored);
  }
  bool String(std::string& s) {
    std::string_view v;
    if (!View(v)) {
      return false;
    }
    s.assign(v);
    return true;
  }
  bool Done() const { return in_.empty(); }
  size_t Remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

std::string StoreKey(std::string_view id) { return Sha256(id); }

// A concurrent touch can make an update's write miss; touches are at most one a minute per
// session, so a few tries always suffice unless the store misbehaves.
constexpr int kUpdateAttempts = 4;

}  // namespace

std::string EncodeSession(const SessionRecord& s) {
  std::string out;
  out.reserve(256 + s.claims_json.size() + s.id_token.size() + s.access_token.size() +
              s.refresh_token.size());
  out += kRecordVersion;
  PutString(out, s.scope);
  PutString(out, s.provider);
  PutString(out, s.issuer);
  PutString(out, s.client_id);
  PutString(out, s.sub);
  PutString(out, s.user);
  PutInt(out, static_cast<int64_t>(s.claims.size()));
  for (const auto& [name, value] : s.claims) {
    PutString(out, name);
    PutString(out, value);
  }
  PutString(out, s.claims_json);
  PutString(out, s.acr);
  PutInt(out, s.auth_time);
  PutString(out, s.id_token);
  PutString(out, s.access_token);
  PutString(out, s.refresh_token);
  PutInt(out, s.access_expires_at);
  PutInt(out, s.access_issued_at);
  PutInt(out, s.created_at);
  // Only DPoP sessions carry the key (and whether the token is bound to it), so other records
  // keep their bytes and records made before DPoP still read. last_seen_at stays last: Touch
  // rewrites those 8 bytes in place.
  if (!s.dpop_key.empty()) {
    PutString(out, s.dpop_key);
    PutInt(out, s.access_token_dpop ? 1 : 0);
  }
  PutInt(out, s.last_seen_at);
  return out;
}

std::optional<SessionRecord> DecodeSession(std::string_view bytes, SessionParts parts) {
  if (bytes.empty() || (bytes[0] != kRecordVersion && bytes[0] != kRecordVersionWithoutAuthn)) {
    return std::nullopt;
  }
  const bool has_authn = bytes[0] == kRecordVersion;
  Reader r(bytes.substr(1));
  SessionRecord s;
  int64_t n = 0;
  if (!r.String(s.scope) || !r.String(s.provider) || !r.String(s.issuer) ||
      !r.String(s.client_id) || !r.String(s.sub) || !r.String(s.user) || !r.Int(n) || n < 0 ||
      n > 4096) {
    return std::nullopt;
  }
  s.claims.resize(static_cast<size_t>(n));
  for (auto& [name, value] : s.claims) {
    if (!r.String(name) || !r.String(value)) {
      return std::nullopt;
    }
  }
  if (!r.String(s.claims_json) || (has_authn && (!r.String(s.acr) || !r.Int(s.auth_time)))) {
    return std::nullopt;
  }
  bool tokens = parts == SessionParts::kAll
                    ? r.String(s.id_token) && r.String(s.access_token) && r.String(s.refresh_token)
                    : r.Skip() && r.Skip() && r.Skip();
  if (!tokens || !r.Int(s.access_expires_at) || !r.Int(s.access_issued_at) ||
      !r.Int(s.created_at)) {
    return std::nullopt;
  }
  if (r.Remaining() != 8) {
    // A DPoP session: its key (a secret, read only with the tokens) and the bound flag.
    std::string_view key;
    int64_t bound = 0;
    if (!r.View(key) || key.empty() || !r.Int(bound) || (bound != 0 && bound != 1)) {
      return std::nullopt;
    }
    if (parts == SessionParts::kAll) {
      s.dpop_key.assign(key);
    }
    s.access_token_dpop = bound == 1;
  }
  if (!r.Int(s.last_seen_at) || !r.Done()) {
    return std::nullopt;
  }
  return s;
}

Sessions::Sessions(SharedStore& store, const SessionConfig& config, Random& random)
    : store_(store), config_(config), random_(random) {}

int64_t Sessions::StoreExpiry(const SessionRecord& r, int64_t now) const {
  // Saturating: a record's times are whatever the store handed back (fuzz/session_fuzz).
  return std::min(SaturatingAdd(r.created_at, config_.max_age_seconds),
                  SaturatingAdd(now, config_.idle_timeout_seconds));
}

std::optional<Sessions::Loaded> Sessions::Open(std::string_view id, SharedStore::Entry& entry,
                                               int64_t now, SessionParts parts) {
  auto record = DecodeSession(entry.value, parts);
  if (!record || record->scope != config_.scope) {
    return std::nullopt;  // another site's session (or not ours at all): leave it alone
  }
  if (now >= SaturatingAdd(record->created_at, config_.max_age_seconds) ||
      now >= SaturatingAdd(record->last_seen_at, config_.idle_timeout_seconds)) {
    (void)store_.Erase(StoreKey(id));
    return std::nullopt;
  }
  Loaded loaded{std::string(id), std::move(*record), entry.version, parts, {}};
  if (parts != SessionParts::kAll) {
    loaded.stored = std::move(entry.value);
  }
  return loaded;
}

Result<std::optional<Sessions::Loaded>> Sessions::Load(std::string_view cookie_header, int64_t now,
                                                       SessionParts parts) {
  for (std::string_view id : SessionIdsIn(config_, cookie_header)) {
    auto got = store_.Get(StoreKey(id), now);
    if (!got) {
      return got.error();
    }
    if (got->has_value()) {
      if (auto loaded = Open(id, **got, now, parts)) {
        return loaded;
      }
    }
  }
  return std::optional<Loaded>();
}

Result<std::optional<Sessions::Loaded>> Sessions::LoadById(const std::string& id, int64_t now) {
  auto got = store_.Get(StoreKey(id), now);
  if (!got) {
    return got.error();
  }
  if (!got->has_value()) {
    return std::optional<Loaded>();
  }
  return Open(id, **got, now);
}

void Sessions::Touch(const Loaded& loaded, int64_t now) {
  if (now - loaded.record.last_seen_at < kTouchIntervalSeconds) {
    return;
  }
  SessionRecord touched_times;  // what StoreExpiry reads
  touched_times.created_at = loaded.record.created_at;
  touched_times.last_seen_at = now;
  std::string bytes;
  if (loaded.parts == SessionParts::kAll) {
    SessionRecord touched = loaded.record;
    touched.last_seen_at = now;
    bytes = EncodeSession(touched);
  } else {
    // The record was read without its tokens: write back the stored bytes, tokens included,
    // with only last_seen_at (always the encoding's last field) changed.
    bytes = loaded.stored;
    if (bytes.size() < 8) {
      return;
    }
    bytes.resize(bytes.size() - 8);
    PutInt(bytes, now);
  }
  (void)store_.PutIfVersion(StoreKey(loaded.id), bytes, StoreExpiry(touched_times, now),
                            loaded.version, now);
}

Result<bool> Sessions::Update(const std::string& id,
                              const std::function<void(SessionRecord&)>& change, int64_t now) {
  const std::string key = StoreKey(id);
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto got = store_.Get(key, now);
    if (!got) {
      return got.error();
    }
    std::optional<Loaded> current = got->has_value() ? Open(id, **got, now) : std::nullopt;
    if (!current) {
      return false;
    }
    change(current->record);
    auto put = store_.PutIfVersion(key, EncodeSession(current->record),
                                   StoreExpiry(current->record, now), current->version, now);
    if (!put) {
      return put.error();
    }
    if (*put) {
      return true;
    }
  }
  return Error{Errc::kStoreUnavailable, "session kept changing while it was being updated"};
}

namespace {
// Per provider (issuer and client id, whatever the site) and sid or sub: a logout token names
// exactly these.
std::string IndexKey(std::string_view kind, const std::string& issuer, const std::string& client_id,
                     std::string_view value) {
  std::string material(kind);
  material.append(1, '\0').append(issuer).append(1, '\0').append(client_id);
  material.append(1, '\0').append(value);
  return Sha256(material);
}
}  // namespace

Result<int> Sessions::DestroyIndexed(const std::string& index_key, int64_t now) {
  auto members = store_.SetMembers(index_key, now);
  if (!members) {
    return members.error();
  }
  for (const std::string& session_key : *members) {
    if (auto st = store_.Erase(session_key); !st) {
      return st.error();
    }
  }
  // Only what was ended leaves the index: a sign-in indexed meanwhile stays findable.
  if (auto st = store_.SetRemove(index_key, *members); !st) {
    return st.error();
  }
  return static_cast<int>(members->size());
}

Result<int> Sessions::DestroyBySid(const ProviderConfig& p, std::string_view sid, int64_t now) {
  return DestroyIndexed(IndexKey("sid", p.issuer, p.client_id, sid), now);
}

Result<int> Sessions::DestroyBySub(const ProviderConfig& p, std::string_view sub, int64_t now) {
  return DestroyIndexed(IndexKey("sub", p.issuer, p.client_id, sub), now);
}

Result<std::string> Sessions::Create(SessionRecord record, int64_t now, std::string_view sid) {
  auto id = RandomToken(random_, kSessionIdBytes);
  if (!id) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  record.scope = config_.scope;
  record.created_at = now;
  record.last_seen_at = now;
  const std::string key = StoreKey(*id);
  if (config_.index_sessions) {
    // Indexed before it exists, so a back-channel logout can never miss a live session; an
    // index entry whose session was never stored is harmless.
    const int64_t until = now + config_.max_age_seconds;
    if (!sid.empty()) {
      if (auto st =
              store_.SetAdd(IndexKey("sid", record.issuer, record.client_id, sid), key, until);
          !st) {
        return st.error();
      }
    }
    if (auto st =
            store_.SetAdd(IndexKey("sub", record.issuer, record.client_id, record.sub), key, until);
        !st) {
      return st.error();
    }
  }
  if (auto st = store_.Put(key, EncodeSession(record), StoreExpiry(record, now)); !st) {
    return st.error();
  }
  return *id;
}

Status Sessions::Destroy(const std::string& id) { return store_.Erase(StoreKey(id)); }

}  // namespace coinpay
