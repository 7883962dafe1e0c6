// Session records and their lifetime: idle and absolute timeouts are enforced on every load,
// and every write after Create names the version it read.
#include "core/session.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/saturating.h"
#include "core/session_cookie.h"
#include "core/session_key_cache.h"

namespace coinpay {
namespace {

// 2: scope, issuer and client id joined the record. 3: acr and auth_time (step-up), after
// claims_json; version 2 records still open (no acr, auth_time unknown).
constexpr char kRecordVersion = 0x03;
constexpr char kRecordVersionWithoutAuthn = 0x02;
constexpr size_t kSessionIdBytes = 32;
constexpr int64_t kMaxClaims = 4096;
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
    uint64_t u = RecordU32(in_.data()) | (uint64_t{RecordU32(in_.data() + 4)} << 32);
    v = static_cast<int64_t>(u);
    in_.remove_prefix(8);
    return true;
  }
  bool View(std::string_view& s) {
    if (in_.size() < 4) {
      return false;
    }
    uint32_t n = RecordU32(in_.data());
    in_.remove_prefix(4);
    if (in_.size() < n) {
      return false;
    }
    s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool Claims(int64_t& count, std::string_view& block) {
    if (!Int(count) || count < 0 || count > kMaxClaims) {
      return false;
    }
    const std::string_view pairs = in_;
    std::string_view ignored;
    for (int64_t i = 0; i < 2 * count; ++i) {
      if (!View(ignored)) {
        return false;
      }
    }
    block = pairs.substr(0, pairs.size() - in_.size());
    return true;
  }
  bool Done() const { return in_.empty(); }
  size_t Remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

std::string StoreKey(std::string_view id) { return Sha256(id); }

// Ids whose store key this process already made (core/session_key_cache.h): one per signed-in
// browser recently seen, ~330 KiB when full, made on the first session request of a process.
constexpr size_t kSessionKeysKept = 4096;
SessionKeyCache& ProcessSessionKeys() {
  static OsRandom random;
  static auto* keys = new SessionKeyCache(kSessionKeysKept, random);
  return *keys;
}

// A concurrent touch can make an update's write miss; touches are at most one a minute per
// session, so a few tries always suffice unless the store misbehaves.
constexpr int kUpdateAttempts = 4;

}  // namespace

namespace {

// The record's fields in their stored order, walked by EncodeSession and ViewSession alike:
// a new field is one line here and one in SessionRecord / SessionView (plus a version rule
// for the records already stored). last_seen_at stays last: a touch rewrites it in place.
// Version 3's acr/auth_time and a DPoP session's key are read by the visitor's own rule
// (Authn, DPoP): older and non-DPoP records keep their bytes.
template <typename Record, typename Visitor>
bool RecordFields(Record& s, Visitor& v) {
  return v(s.scope) && v(s.provider) && v(s.issuer) && v(s.client_id) && v(s.sub) && v(s.user) &&
         v.Claims(s) && v(s.claims_json) && v.Authn(s) && v(s.id_token) && v(s.access_token) &&
         v(s.refresh_token) && v(s.access_expires_at) && v(s.access_issued_at) && v(s.created_at) &&
         v.DPoP(s) && v(s.last_seen_at);
}

struct Writer {
  std::string& out;
  bool operator()(std::string_view s) {
    PutString(out, s);
    return true;
  }
  bool operator()(int64_t v) {
    PutInt(out, v);
    return true;
  }
  bool Claims(const SessionRecord& s) {
    PutInt(out, static_cast<int64_t>(s.claims.size()));
    for (const auto& [name, value] : s.claims) {
      PutString(out, name);
      PutString(out, value);
    }
    return true;
  }
  bool Authn(const SessionRecord& s) {
    PutString(out, s.acr);
    PutInt(out, s.auth_time);
    return true;
  }
  // Only DPoP sessions carry the key and whether the token is bound to it.
  bool DPoP(const SessionRecord& s) {
    if (!s.dpop_key.empty()) {
      PutString(out, s.dpop_key);
      PutInt(out, s.access_token_dpop ? 1 : 0);
    }
    return true;
  }
};

struct ViewReader {
  Reader r;
  bool has_authn = true;  // false for a version 2 record
  bool operator()(std::string_view& s) { return r.View(s); }
  bool operator()(int64_t& v) { return r.Int(v); }
  bool Claims(SessionView& s) { return r.Claims(s.claim_count, s.claims); }
  bool Authn(SessionView& s) { return !has_authn || (r.View(s.acr) && r.Int(s.auth_time)); }
  // More than last_seen_at left: a DPoP session's key and bound flag.
  bool DPoP(SessionView& s) {
    if (r.Remaining() == 8) {
      return true;
    }
    int64_t bound = 0;
    if (!r.View(s.dpop_key) || s.dpop_key.empty() || !r.Int(bound) || (bound != 0 && bound != 1)) {
      return false;
    }
    s.access_token_dpop = bound == 1;
    return true;
  }
};

}  // namespace

std::string EncodeSession(const SessionRecord& s) {
  std::string out;
  out.reserve(256 + s.claims_json.size() + s.id_token.size() + s.access_token.size() +
              s.refresh_token.size());
  out += kRecordVersion;
  Writer w{out};
  RecordFields(s, w);
  return out;
}

std::optional<SessionView> ViewSession(std::string_view bytes) {
  if (bytes.empty() || (bytes[0] != kRecordVersion && bytes[0] != kRecordVersionWithoutAuthn)) {
    return std::nullopt;
  }
  SessionView v;
  ViewReader reader{Reader(bytes.substr(1)), bytes[0] == kRecordVersion};
  if (!RecordFields(v, reader) || !reader.r.Done()) {
    return std::nullopt;
  }
  return v;
}

namespace {
// The owned copy of a view: what `parts` asks for.
void FillRecord(const SessionView& v, SessionParts parts, SessionRecord& s) {
  s.access_expires_at = v.access_expires_at;
  s.access_issued_at = v.access_issued_at;
  s.created_at = v.created_at;
  s.last_seen_at = v.last_seen_at;
  if (parts == SessionParts::kTimesOnly) {
    return;
  }
  s.scope = v.scope;
  s.provider = v.provider;
  s.issuer = v.issuer;
  s.client_id = v.client_id;
  s.sub = v.sub;
  s.user = v.user;
  s.claims.reserve(static_cast<size_t>(v.claim_count));
  ForEachClaim(v, [&](std::string_view name, std::string_view value) {
    s.claims.emplace_back(name, value);
  });
  s.claims_json = v.claims_json;
  s.acr = v.acr;
  s.auth_time = v.auth_time;
  s.access_token_dpop = v.access_token_dpop;
  if (parts == SessionParts::kAll) {
    s.id_token = v.id_token;
    s.access_token = v.access_token;
    s.refresh_token = v.refresh_token;
    s.dpop_key = v.dpop_key;
  }
}
}  // namespace

std::optional<SessionRecord> DecodeSession(std::string_view bytes, SessionParts parts) {
  auto v = ViewSession(bytes);
  if (!v) {
    return std::nullopt;
  }
  SessionRecord s;
  FillRecord(*v, parts, s);
  return s;
}

Sessions::Sessions(SharedStore& store, const SessionConfig& config, Random& random)
    : store_(store), config_(config), random_(random) {}

int64_t Sessions::StoreExpiry(const SessionRecord& r, int64_t now) const {
  // Saturating: a record's times are whatever the store handed back (fuzz/session_fuzz).
  return std::min(SaturatingAdd(r.created_at, config_.max_age_seconds),
                  SaturatingAdd(now, config_.idle_timeout_seconds));
}

bool Sessions::OursAndLive(const SessionView& v, int64_t now) const {
  return v.scope == config_.scope && now < SaturatingAdd(v.created_at, config_.max_age_seconds) &&
         now < SaturatingAdd(v.last_seen_at, config_.idle_timeout_seconds);
}

bool Sessions::Open(std::string_view id, std::string_view key,
                    std::shared_ptr<const StoredSession> stored, uint64_t version, int64_t now,
                    SessionParts parts, std::optional<Loaded>& out) {
  const std::optional<SessionView>& view = stored->view;
  if (!view || view->scope != config_.scope) {
    return false;  // another site's session (or not ours at all): leave it alone
  }
  if (!OursAndLive(*view, now)) {
    (void)store_.Erase(key);
    return false;
  }
  if (id.size() > ShortBytes::kCapacity || key.size() > ShortBytes::kCapacity) {
    return false;  // no session has such an id (they are 43 characters)
  }
  // Built in place: a Loaded is large, and this runs on every signed-in request.
  Loaded& loaded = out.emplace();
  loaded.id.Assign(id);
  loaded.key.Assign(key);
  FillRecord(*view, parts, loaded.record);
  loaded.version = version;
  loaded.parts = parts;
  loaded.stored = std::move(stored);
  return true;
}

Result<std::optional<Sessions::Loaded>> Sessions::Load(std::string_view cookie_header, int64_t now,
                                                       SessionParts parts) {
  SessionReadHint none;  // no connection: nothing kept past this call
  auto found = Load(FindModuleCookies(config_, cookie_header).session_ids.span(), now, parts, none);
  if (!found) {
    return found.error();
  }
  Result<std::optional<Loaded>> out = std::optional<Loaded>();
  if (*found != nullptr) {
    *out = std::move(none.loaded);
  }
  return out;
}

Result<SharedStore::Revalidation> Sessions::ReadAgainst(std::string_view key, int64_t now,
                                                        const StoredSession* seen) {
  if (seen != nullptr && seen->store == store_.instance()) {
    return store_.GetIfChanged(key, now, seen->version);
  }
  auto got = store_.Get(key, now);
  if (!got) {
    return got.error();
  }
  return SharedStore::Revalidation{.entry = std::move(*got)};
}

Result<const Sessions::Loaded*> Sessions::Load(std::span<const std::string_view> ids, int64_t now,
                                               SessionParts parts, SessionReadHint& hint) {
  for (std::string_view id : ids) {
    // In constant time: a reverse proxy may carry several users' requests on one connection.
    const Loaded* kept = hint.loaded.has_value() && ConstantTimeEquals(hint.loaded->id.view(), id)
                             ? &*hint.loaded
                             : nullptr;
    // The connection's last session, while the store still holds its version and it holds
    // what this read asks for (kAll covers everything, kTimesOnly only itself), is returned
    // as it is, checked again as Open checks it: nothing built, copied or destroyed. Shared
    // memory confirms the version where it keeps the key without its lock (StillHolds).
    const bool reusable =
        kept != nullptr && kept->parts <= parts && kept->stored->store == store_.instance();
    if (reusable && hint.where != 0 && store_.StillHolds(hint.where, kept->version, now) &&
        OursAndLive(*kept->stored->view, now)) {
      return kept;
    }
    ShortBytes found_key;
    std::shared_ptr<const StoredSession> seen;  // what this process read for `id` last
    if (kept == nullptr && !ProcessSessionKeys().Find(id, found_key, &seen)) {
      found_key.Assign(StoreKey(id));
    }
    const std::string_view key = kept != nullptr ? kept->key.view() : found_key.view();
    const StoredSession* known = kept != nullptr ? kept->stored.get() : seen.get();
    // What this process read last for `id` is reused, with the view and identity made from
    // it, while the store still holds its version (a store that keeps versions where the values
    // live, shared memory, answers that without sending the bytes). Any write (touch, refresh,
    // claims update) gives a new version; a logout leaves none.
    auto got = ReadAgainst(key, now, known);
    if (!got) {
      return got.error();
    }
    if (got->unchanged && reusable && OursAndLive(*kept->stored->view, now)) {
      hint.where = got->where;
      return kept;
    }
    if (!got->unchanged && !got->entry.has_value()) {
      if (kept != nullptr) {
        hint.Forget();  // gone: the connection keeps nothing of it
      }
      continue;
    }
    const bool same = got->unchanged || (known != nullptr && known->store == store_.instance() &&
                                         known->version == got->entry->version);
    const uint64_t version = got->unchanged ? known->version : got->entry->version;
    std::shared_ptr<const StoredSession> stored;
    if (!same) {
      stored = std::make_shared<const StoredSession>(std::move(got->entry->value),
                                                     store_.instance(), version);
    } else if (kept != nullptr) {
      stored = kept->stored;
    } else {
      stored = std::move(seen);
    }
    std::optional<Loaded> opened;
    if (Open(id, key, stored, version, now, parts, opened)) {
      if (!same) {
        // Only live sessions take a slot.
        ProcessSessionKeys().Remember(id, opened->key, std::move(stored));
      }
      hint.Keep(std::move(*opened));  // `kept` (and `key`, when it was kept's) end here
      // Known only when confirmed unchanged; a new value is confirmed by the next request.
      hint.where = got->unchanged ? got->where : 0;
      return &*hint.loaded;
    }
    if (kept != nullptr) {
      hint.Forget();
    }
  }
  return static_cast<const Loaded*>(nullptr);
}

Result<std::optional<Sessions::Loaded>> Sessions::LoadById(std::string_view id, int64_t now) {
  Result<std::optional<Loaded>> out = std::optional<Loaded>();
  std::string key = StoreKey(id);
  auto got = store_.Get(key, now);
  if (!got) {
    out = got.error();
    return out;
  }
  if (got->has_value()) {
    Open(id, key, std::make_shared<const StoredSession>(std::move((*got)->value)), (*got)->version,
         now, SessionParts::kAll, *out);
  }
  return out;
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
    // The record was not copied whole: write back the stored bytes, tokens included, with
    // only last_seen_at (always the encoding's last field) changed.
    if (loaded.stored == nullptr || loaded.stored->bytes.size() < 8) {
      return;
    }
    bytes = loaded.stored->bytes;
    bytes.resize(bytes.size() - 8);
    PutInt(bytes, now);
  }
  (void)store_.PutIfVersion(loaded.key, bytes, StoreExpiry(touched_times, now), loaded.version,
                            now);
}

Result<bool> Sessions::Update(std::string_view id,
                              const std::function<void(SessionRecord&)>& change, int64_t now) {
  const std::string key = StoreKey(id);
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto got = store_.Get(key, now);
    if (!got) {
      return got.error();
    }
    std::optional<Loaded> current;
    if (!got->has_value() ||
        !Open(id, key, std::make_shared<const StoredSession>(std::move((*got)->value)),
              (*got)->version, now, SessionParts::kAll, current)) {
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

Status Sessions::Destroy(std::string_view id) { return store_.Erase(StoreKey(id)); }

}  // namespace coinpay
