// A signed-in user's session: the record kept server side, its compact binary encoding, and
// the Sessions manager that creates, loads, refreshes and destroys them in a SessionStore.
// The browser holds only a random 256-bit id; the store is keyed by a hash of that id, so a
// dump of the store neither reveals nor lets anyone forge a session cookie.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coinpay_auth/effects.h"
#include "coinpay_auth/session_store.h"
#include "core/provider_config.h"

namespace coinpay {

struct SessionRecord {
  std::string provider;  // which provider signed the user in ("" = default)
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
};

std::string EncodeSession(const SessionRecord& s);
std::optional<SessionRecord> DecodeSession(std::string_view bytes);

class Sessions {
 public:
  Sessions(SessionStore& store, const SessionConfig& config, Random& random);

  struct Loaded {
    std::string id;
    SessionRecord record;
  };
  // The live session named by any `coinpay_session` cookie in the header; nullopt if none.
  // Refreshes the idle timer (writes at most once a minute per session).
  Result<std::optional<Loaded>> Load(std::string_view cookie_header, int64_t now);
  // The live session with this id (already read from a cookie); does not touch the idle timer.
  Result<std::optional<SessionRecord>> LoadById(const std::string& id, int64_t now);
  // Stores a new session under a fresh random id and returns the id. The session is indexed by
  // its provider's `sid` (when given) and by `sub`, so back-channel logout can find it.
  Result<std::string> Create(SessionRecord record, int64_t now, std::string_view sid = {});
  // Ends every session indexed under this provider sid / this sub; returns how many.
  Result<int> DestroyBySid(std::string_view provider, std::string_view sid);
  Result<int> DestroyBySub(std::string_view provider, std::string_view sub);
  Status Save(const std::string& id, const SessionRecord& record, int64_t now);
  Status Destroy(const std::string& id);

  const SessionConfig& config() const { return config_; }
  SessionStore& store() { return store_; }

 private:
  int64_t StoreExpiry(const SessionRecord& r, int64_t now) const;
  void AddToIndex(const std::string& index_key, const std::string& session_key, int64_t now);
  Result<int> DestroyIndexed(const std::string& index_key);
  SessionStore& store_;
  const SessionConfig& config_;
  Random& random_;
};

}  // namespace coinpay
