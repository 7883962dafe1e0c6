// A signed-in user's session: the record kept server side, its compact binary encoding, and
// the Sessions manager that creates, loads, updates and destroys them in a SharedStore.
// The browser holds only a random 256-bit id; the store is keyed by a hash of that id, so a
// dump of the store neither reveals nor lets anyone forge a session cookie.
//
// What the state guarantees under races (every write but Create is conditional):
// - a record is only ever written over the version that was read, so an idle touch never puts
//   back a refresh token that another process has since replaced;
// - a destroyed session stays destroyed: Update and Touch write only over a live record, so a
//   refresh that finishes after a logout cannot bring the session back;
// - a session belongs to the site that made it (its scope, issuer and client id); read from
//   another site's Sessions it is no session.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/effects.h"
#include "core/provider_config.h"
#include "core/shared_store.h"

namespace coinpay {

struct SessionRecord {
  std::string scope;     // the site that made it (SessionConfig::scope)
  std::string provider;  // which provider signed the user in ("" = default)
  std::string issuer;    // that provider's issuer and our client id there
  std::string client_id;
  std::string sub;
  std::string user;                                         // REMOTE_USER
  std::vector<std::pair<std::string, std::string>> claims;  // for the application, precomputed
  std::string claims_json;                                  // every claim, for authz rules
  std::string id_token;
  std::string access_token;
  std::string refresh_token;
  int64_t access_expires_at = 0;  // 0: unknown
  int64_t access_issued_at = 0;   // when the current access token was obtained
  int64_t created_at = 0;
  int64_t last_seen_at = 0;
  // How the user authenticated (step-up, core/step_up.h): the ID token's acr ("" none) and
  // when, on this server's clock (0 unknown). Kept across refreshes; a new sign-in replaces them.
  std::string acr;
  int64_t auth_time = 0;
  // CoinpayDPoP: the session's own DPoP key (a private JWK; never logged, never leaves the
  // store) and whether the provider bound access_token to it (token_type DPoP).
  std::string dpop_key;
  bool access_token_dpop = false;
};

// A stored record read in place: views into the bytes it was decoded from, nothing copied.
// Claims stay encoded (`claims`, `claim_count` pairs): ForEachClaim walks them.
struct SessionView {
  std::string_view scope, provider, issuer, client_id, sub, user;
  int64_t claim_count = 0;
  std::string_view claims;  // the encoded name/value pairs
  std::string_view claims_json;
  std::string_view id_token, access_token, refresh_token;
  int64_t access_expires_at = 0;
  int64_t access_issued_at = 0;
  int64_t created_at = 0;
  int64_t last_seen_at = 0;
  std::string_view acr;  // as in SessionRecord
  int64_t auth_time = 0;
  std::string_view dpop_key;  // a secret: copied into a record only with the tokens
  bool access_token_dpop = false;
};

// How much of a stored record a reader needs copied into Loaded::record. kWithoutTokens:
// everything but id_token, access_token and refresh_token (left empty, though still checked
// to be well formed). kTimesOnly: only created_at and last_seen_at (the request path reads
// everything else in place, through Loaded::stored->view).
enum class SessionParts { kAll, kWithoutTokens, kTimesOnly };

std::string EncodeSession(const SessionRecord& s);
std::optional<SessionRecord> DecodeSession(std::string_view bytes,
                                           SessionParts parts = SessionParts::kAll);
// The same checks as DecodeSession (a record either decodes both ways or neither), no copies.
std::optional<SessionView> ViewSession(std::string_view bytes);
// The record's length fields: 4 bytes, little endian.
inline uint32_t RecordU32(const char* p) {
  return uint32_t{static_cast<unsigned char>(p[0])} |
         (uint32_t{static_cast<unsigned char>(p[1])} << 8) |
         (uint32_t{static_cast<unsigned char>(p[2])} << 16) |
         (uint32_t{static_cast<unsigned char>(p[3])} << 24);
}
// The next length-prefixed string of an encoded record ("" once `in` runs short).
inline std::string_view TakeRecordString(std::string_view& in) {
  if (in.size() < 4 || in.size() - 4 < RecordU32(in.data())) {
    in = {};
    return {};
  }
  std::string_view s = in.substr(4, RecordU32(in.data()));
  in.remove_prefix(4 + s.size());
  return s;
}
// Calls fn(name, value) for each of a view's claims, in stored order.
template <typename Fn>
void ForEachClaim(const SessionView& v, Fn&& fn) {
  std::string_view in = v.claims;  // checked by ViewSession: claim_count pairs, nothing else
  for (int64_t i = 0; i < v.claim_count; ++i) {
    std::string_view name = TakeRecordString(in);
    std::string_view value = TakeRecordString(in);
    fn(name, value);
  }
}

struct Identity;  // core/action.h

// The bytes of one stored record and a view of them, made once per read and shared (never
// moved, so the view stays valid wherever the pointer goes: Loaded copies, an Identity).
// A process keeps the last one it read for each recent session id (core/session_key_cache.h):
// a request that reads the same bytes again reuses it, view and identity included, instead
// of decoding them again.
struct StoredSession {
  explicit StoredSession(std::string b) : bytes(std::move(b)), view(ViewSession(bytes)) {}
  // Read at version `v` from the store numbered `from` (SharedStore::instance): the next read
  // of the same key there can ask whether the version is still current instead of
  // transferring the bytes.
  StoredSession(std::string b, uint64_t from, uint64_t v)
      : bytes(std::move(b)), view(ViewSession(bytes)), store(from), version(v) {}
  StoredSession(const StoredSession&) = delete;
  StoredSession& operator=(const StoredSession&) = delete;
  const std::string bytes;
  const std::optional<SessionView> view;  // nullopt: not a record
  const uint64_t store = 0;               // 0: not known where from
  const uint64_t version = 0;
  // The identity the application sees, made from exactly these bytes by the first request
  // that needs it (core/identity.h SharedIdentityOf; [qualify_user]); it owns its strings,
  // so it does not keep this record alive.
  mutable std::mutex identity_mu;
  mutable std::array<std::shared_ptr<const Identity>, 2> identity;
};

// A session id or store key held inline (ids are 43 characters, keys 32 bytes), so loading a
// session allocates nothing for them on the request path.
class ShortBytes {
 public:
  static constexpr size_t kCapacity = 64;
  // false (and unchanged) when `s` is longer than kCapacity.
  bool Assign(std::string_view s) {
    if (s.size() > kCapacity) {
      return false;
    }
    std::copy(s.begin(), s.end(), bytes_.begin());
    size_ = s.size();
    return true;
  }
  std::string_view view() const { return {bytes_.data(), size_}; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  std::string str() const { return std::string(view()); }
  bool operator==(std::string_view other) const { return view() == other; }

 private:
  std::array<char, kCapacity> bytes_{};
  size_t size_ = 0;
};

struct SessionReadHint;  // below: this connection's last session

class Sessions {
 public:
  Sessions(SharedStore& store, const SessionConfig& config, Random& random);

  struct Loaded {
    ShortBytes id;
    ShortBytes key;  // the store key made from id, computed once per read
    SessionRecord record;
    uint64_t version = 0;                         // the store version `record` was read at
    SessionParts parts = SessionParts::kAll;      // what of the record was copied into `record`
    std::shared_ptr<const StoredSession> stored;  // the bytes read, and a view of them
  };
  // The live session of this site named by any session cookie in the header; nullopt if none.
  // Writes nothing (see Touch), so per-location limits still see the stored last_seen_at.
  Result<std::optional<Loaded>> Load(std::string_view cookie_header, int64_t now,
                                     SessionParts parts = SessionParts::kAll);
  // The request path's, from the session ids already found in the header (FindModuleCookies):
  // the session found is kept in `hint` (this connection's) and returned
  // from there (nullptr: none). A request naming the session the connection's last one read,
  // unchanged where the store keeps it, gets it back with nothing read, built or copied; it
  // holds at least `parts` (maybe more). Valid until the next Load with the same hint.
  Result<const Loaded*> Load(std::span<const std::string_view> ids, int64_t now, SessionParts parts,
                             SessionReadHint& hint);
  // The live session with this id (already read from a cookie).
  Result<std::optional<Loaded>> LoadById(std::string_view id, int64_t now);
  // Records a use at `now`, at most once a minute. Dropped (not retried) when anything wrote
  // the session since `loaded` was read: that write is newer than ours.
  void Touch(const Loaded& loaded, int64_t now);
  // Applies `change` to the stored record and writes it over the version it read, re-reading
  // when a touch got there first. false, with nothing written, once the session is gone.
  Result<bool> Update(std::string_view id, const std::function<void(SessionRecord&)>& change,
                      int64_t now);
  // Stores a new session of this site under a fresh random id and returns the id. With
  // back-channel logout configured it is also indexed by its provider `sid` (when given) and by
  // `sub`. The caller fills provider, issuer, client_id and the user's fields.
  Result<std::string> Create(SessionRecord record, int64_t now, std::string_view sid = {});
  // Ends every session indexed under this provider sid / sub (any site); returns how many.
  Result<int> DestroyBySid(const ProviderConfig& p, std::string_view sid, int64_t now);
  Result<int> DestroyBySub(const ProviderConfig& p, std::string_view sub, int64_t now);
  // Ends the session whatever its version; nothing written afterwards can recreate it.
  Status Destroy(std::string_view id);

  const SessionConfig& config() const { return config_; }
  SharedStore& store() { return store_; }

 private:
  int64_t StoreExpiry(const SessionRecord& r, int64_t now) const;
  // Open's checks of a decoded record: this site's, and within its age and idle limits.
  bool OursAndLive(const SessionView& v, int64_t now) const;
  // Fills `out` from a stored value (decoded once, in `stored`) when it is a live session of
  // this site (erasing it if it expired); `id` and `key` (the store key) are copied into it.
  bool Open(std::string_view id, std::string_view key, std::shared_ptr<const StoredSession> stored,
            uint64_t version, int64_t now, SessionParts parts, std::optional<Loaded>& out);
  Result<int> DestroyIndexed(const std::string& index_key, int64_t now);
  // The store's value for `key`, or `unchanged` when `seen` (read from this store) is current.
  // A record kept for an id (core/session_key_cache.h) is reused only so: its version is the
  // one the store holds now.
  Result<SharedStore::Revalidation> ReadAgainst(std::string_view key, int64_t now,
                                                const StoredSession* seen);
  SharedStore& store_;
  const SessionConfig& config_;
  Random& random_;
};

// The session one client connection read last, as Load made it. Kept by the glue per
// connection (a browser sends the same cookie on every request of a keep-alive connection), so
// the next request naming the same id starts from it instead of the process-wide key cache (a
// keyed hash and a lock); while the store confirms it unchanged where it keeps it, nothing is
// read, built or copied (Sessions::Load). Only a session that was live when read is kept; it is
// still checked against the store, this site's scope and its timeouts on every request.
// One request at a time uses it (requests on a connection are sequential). A reverse proxy
// may send several users' requests on one connection: the id is compared in constant time,
// and another id simply misses.
struct SessionReadHint {
  std::optional<Sessions::Loaded> loaded;
  // Where the store keeps it (SharedStore::Revalidation::where; 0 unknown): a store that can
  // tell (shared memory) confirms it there without its lock (SharedStore::StillHolds).
  uint64_t where = 0;
  // The identity made from `loaded` (SharedIdentityOf; [qualify_user]), once a request asked:
  // the next request returns it without the record's lock. Dropped with `loaded`.
  std::array<std::shared_ptr<const Identity>, 2> identity;
  void Keep(Sessions::Loaded&& l) {
    loaded = std::move(l);
    identity = {};
  }
  void Forget() {
    loaded.reset();
    where = 0;
    identity = {};
  }
};

}  // namespace coinpay
