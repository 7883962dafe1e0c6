// The refresh single flight. The lock key is derived from the session's store key so that it
// lives in the same store (shared memory, or Redis for several nodes) as the session itself.
#include "core/session_refresh.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/claims_policy.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/token_client.h"

namespace coinpay {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(25);

std::string LockKey(const std::string& session_id) { return Sha256("refresh-lock/" + session_id); }

// A refreshed ID token must be as good as the first one, and about the same user.
Status CheckRefreshedIdToken(Site& site, const std::string& id_token, const SessionRecord& s,
                             int64_t now) {
  const ProviderConfig& p = site.provider.config();
  auto jwt = site.provider.Verify(id_token, p.id_token_algs);
  if (!jwt) {
    return jwt.error();
  }
  ClaimsPolicy policy;
  policy.issuer = p.issuer;
  policy.audiences = {p.client_id};
  policy.leeway_seconds = p.leeway_seconds;
  policy.client_id = p.client_id;
  auto st = CheckClaims(jwt->claims, policy, now);
  if (!st) {
    return st;
  }
  if (jwt->claims.GetString("sub").value_or("") != s.sub) {
    return Error{Errc::kMissingClaim, "refreshed ID token names another sub"};
  }
  return OkStatus();
}

Result<SessionRecord> DoRefresh(Site& site, const std::string& id, SessionRecord s, int64_t now) {
  auto tokens = RefreshTokens(site.provider, s.refresh_token);
  if (!tokens) {
    if (tokens.code() == Errc::kInvalidGrant) {
      LogAt(site.log, LogLevel::kInfo, 170,
            "refresh token refused by the provider; session ended, sub=" + s.sub.substr(0, 128));
      (void)site.sessions.Destroy(id);
    } else {
      LogAt(site.log, LogLevel::kError, 171, "refresh failed: " + tokens.error().detail);
    }
    return tokens.error();
  }
  if (!tokens->id_token.empty()) {
    auto st = CheckRefreshedIdToken(site, tokens->id_token, s, now);
    if (!st) {
      LogAt(site.log, LogLevel::kWarn, 172,
            std::string("refreshed ID token refused (") + ErrcName(st.code()) +
                "); session ended: " + st.error().detail);
      (void)site.sessions.Destroy(id);
      return Error{Errc::kInvalidGrant, "refreshed ID token refused"};
    }
    s.id_token = tokens->id_token;
  }
  s.access_token = tokens->access_token;
  s.access_expires_at = tokens->expires_in > 0 ? now + tokens->expires_in : 0;
  s.access_issued_at = now;
  if (!tokens->refresh_token.empty()) {
    s.refresh_token = tokens->refresh_token;  // rotation: the old one is now spent
  }
  s.last_seen_at = now;
  auto saved = site.sessions.Save(id, s, now);
  if (!saved) {
    LogAt(site.log, LogLevel::kError, 173,
          "refreshed session could not be stored: " + saved.error().detail);
    return saved.error();
  }
  LogAt(site.log, LogLevel::kDebug, 174, "access token refreshed, sub=" + s.sub.substr(0, 128));
  return s;
}

}  // namespace

bool NeedsRefresh(const SessionRecord& s, int64_t now, int64_t before_seconds) {
  if (s.refresh_token.empty() || s.access_expires_at == 0) {
    return false;
  }
  // Never earlier than half-way through the token's life: a margin longer than the lifetime
  // would otherwise refresh on every request.
  int64_t lifetime = s.access_expires_at - s.access_issued_at;
  if (s.access_issued_at > 0 && lifetime > 0) {
    before_seconds = std::min(before_seconds, lifetime / 2);
  }
  return now >= s.access_expires_at - before_seconds;
}

Result<SessionRecord> RefreshSession(Site& site, const Sessions::Loaded& loaded) {
  const ProviderConfig& p = site.provider.config();
  // The lock outlives the slowest refresh the HTTP timeouts allow; then it expires by itself.
  const int64_t lock_ttl = (p.connect_timeout_ms + p.timeout_ms) / 1000 + 2;
  auto owner = RandomToken(site.random, 16);
  if (!owner) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  const std::string lock_key = LockKey(loaded.id);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lock_ttl + 1);
  SessionRecord current = loaded.record;
  while (true) {
    // Expiry counted from now, not from when this request arrived: a lock taken after waiting
    // must still outlast this request's own refresh.
    const int64_t now = site.clock.NowSeconds();
    auto taken = site.sessions.store().Add(lock_key, *owner, now + lock_ttl, now);
    if (!taken) {
      return taken.error();
    }
    if (*taken) {
      // Re-read under the lock: the flight before ours may have finished a moment ago.
      auto fresh = site.sessions.LoadById(loaded.id, site.clock.NowSeconds());
      Result<SessionRecord> out = Error{Errc::kInvalidGrant, "session ended"};
      if (fresh && fresh->has_value()) {
        current = std::move(**fresh);
        // Only the token this request saw is refreshed; a newer one came from another flight.
        bool still_stale = current.access_token == loaded.record.access_token &&
                           NeedsRefresh(current, site.clock.NowSeconds(), p.refresh_before_seconds);
        out = still_stale ? DoRefresh(site, loaded.id, current, site.clock.NowSeconds())
                          : Result<SessionRecord>(current);
      } else if (!fresh) {
        out = fresh.error();
      }
      (void)site.sessions.store().EraseIfEquals(lock_key, *owner);
      return out;
    }
    // Someone else is refreshing: wait for the record to change, then use it.
    std::this_thread::sleep_for(kPollInterval);
    auto now_record = site.sessions.LoadById(loaded.id, site.clock.NowSeconds());
    if (!now_record) {
      return now_record.error();
    }
    if (!now_record->has_value()) {
      return Error{Errc::kInvalidGrant, "session ended during refresh"};
    }
    if ((*now_record)->access_token != loaded.record.access_token) {
      return std::move(**now_record);  // the other flight's result
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{Errc::kHttpFailure, "timed out waiting for another request's refresh"};
    }
  }
}

}  // namespace coinpay
