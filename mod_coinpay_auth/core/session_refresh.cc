// The refresh single flight. The lock key is derived from the session's id so that it lives in
// the same store (shared memory, or Redis for several nodes) as the session itself.
//
// Under the lock there is only the token call (and, for a key the provider has just rotated,
// one key fetch) and the conditional write: discovery and keys are made ready before the lock
// is taken, and the lease outlasts that work at the configured HTTP timeouts.
#include "core/session_refresh.h"

#include <algorithm>
#include <chrono>

#include "core/crypto.h"
#include "core/log.h"
#include "core/saturating.h"
#include "core/token_client.h"
#include "core/token_verifier.h"

namespace coinpay {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(25);
// Beyond the HTTP calls: the store round trips of the re-read, the write and the release.
constexpr int64_t kLeaseMarginSeconds = 5;

std::string LockKey(std::string_view session_id) {
  return Sha256(std::string("refresh-lock/").append(session_id));
}

// The token call and a possible key fetch, each bounded by the whole-request timeout (which
// includes connecting), and the margin.
int64_t LeaseSeconds(const ProviderConfig& p) {
  return (2 * p.timeout_ms + 999) / 1000 + kLeaseMarginSeconds;
}

// True when `now_seen` carries other tokens than `before`: another flight refreshed it.
bool RefreshedSince(const SessionRecord& before, const SessionRecord& now_seen) {
  return now_seen.access_token != before.access_token ||
         now_seen.refresh_token != before.refresh_token;
}

// A refreshed ID token must be as good as the first one, and about the same user.
Status CheckRefreshedIdToken(Site& site, const std::string& id_token, const SessionRecord& s,
                             int64_t now) {
  auto jwt = VerifyToken(site.provider, id_token, TokenKind::kRefreshedIdToken, {}, now);
  if (!jwt) {
    return jwt.error();
  }
  if (jwt->claims.GetString("sub").value_or("") != s.sub) {
    return Error{Errc::kMissingClaim, "refreshed ID token names another sub"};
  }
  return OkStatus();
}

// The session ended while its refresh was at the provider: what the provider just issued
// belongs to nobody, so it is revoked rather than left valid.
void DiscardTokens(Site& site, const TokenResponse& tokens) {
  LogAt(site.log, LogLevel::kInfo, 175,
        "session ended while its refresh was in flight; the new tokens are discarded");
  const std::string& token =
      tokens.refresh_token.empty() ? tokens.access_token : tokens.refresh_token;
  const char* hint = tokens.refresh_token.empty() ? "access_token" : "refresh_token";
  if (token.empty()) {
    return;
  }
  auto revoked = RevokeToken(site.provider, token, hint, tokens.access_token);
  if (!revoked) {
    LogAt(site.log, LogLevel::kInfo, 176,
          "revoking the discarded tokens failed: " + revoked.error().detail);
  }
}

Result<SessionRecord> DoRefresh(Site& site, std::string_view id, const SessionRecord& s,
                                int64_t now) {
  // A DPoP session refreshes with a proof by its own key (its refresh token may be bound to it).
  std::shared_ptr<const SigningKey> dpop_key;
  ClientProof proof{nullptr, &site.random, now};
  if (!s.dpop_key.empty()) {
    auto key = SigningKey::FromPrivateJwk(s.dpop_key);
    if (!key) {
      LogAt(site.log, LogLevel::kError, 426,
            "the session's DPoP key cannot be read; refresh refused: " + key.error().detail);
      return key.error();
    }
    dpop_key = std::move(*key);
    proof.key = dpop_key.get();
  }
  auto tokens = RefreshTokens(site.provider, s.refresh_token, dpop_key ? &proof : nullptr);
  if (!tokens) {
    if (tokens.code() == Errc::kInvalidGrant) {
      site.provider.Count(Metric::kSessionEndedRefreshRefused);
      LogAt(site.log, LogLevel::kInfo, 170,
            "refresh token refused by the provider; session ended, sub=" + Untrusted(s.sub, 128));
      (void)site.sessions.Destroy(id);
    } else {
      LogAt(site.log, LogLevel::kError, 171, "refresh failed: " + tokens.error().detail);
    }
    return tokens.error();
  }
  if (!tokens->id_token.empty()) {
    auto st = CheckRefreshedIdToken(site, tokens->id_token, s, now);
    if (!st) {
      site.provider.Count(Metric::kSessionEndedRefreshRefused);
      LogAt(site.log, LogLevel::kWarn, 172,
            std::string("refreshed ID token refused (") + ErrcName(st.code()) +
                "); session ended: " + st.error().detail);
      (void)site.sessions.Destroy(id);
      return Error{Errc::kInvalidGrant, "refreshed ID token refused"};
    }
  }
  SessionRecord stored;
  auto apply = [&](SessionRecord& r) {
    if (!tokens->id_token.empty()) {
      r.id_token = tokens->id_token;
    }
    r.access_token = tokens->access_token;
    r.access_token_dpop = IsDPoPBound(*tokens);
    r.access_expires_at = tokens->expires_in > 0 ? SaturatingAdd(now, tokens->expires_in) : 0;
    r.access_issued_at = now;
    if (!tokens->refresh_token.empty()) {
      r.refresh_token = tokens->refresh_token;  // rotation: the old one is now spent
    }
    r.last_seen_at = std::max(r.last_seen_at, now);
    stored = r;
  };
  // Written only over a live session: after a logout nothing brings it back.
  auto saved = site.sessions.Update(id, apply, now);
  if (!saved) {
    site.provider.CountStoreError();
    LogAt(site.log, LogLevel::kError, 173,
          "refreshed session could not be stored: " + saved.error().detail);
    return saved.error();
  }
  if (!*saved) {
    DiscardTokens(site, *tokens);
    return Error{Errc::kInvalidGrant, "session ended during refresh"};
  }
  LogAt(site.log, LogLevel::kDebug, 174, "access token refreshed, sub=" + Untrusted(s.sub, 128));
  return stored;
}

// Another request holds the lock: wait until its result is stored, then use it. A waiter never
// refreshes itself: the holder may already have spent the refresh token it would send.
Result<SessionRecord> AwaitOtherFlight(Site& site, const Sessions::Loaded& loaded,
                                       const std::string& lock_key, int64_t lease) {
  // On the site's clock, so tests move time instead of waiting for it.
  const int64_t deadline = site.clock.NowSeconds() + lease + 1;
  while (true) {
    site.clock.SleepFor(kPollInterval);
    const int64_t now = site.clock.NowSeconds();
    // The lock before the record: the holder stores its result before it releases the lock, so
    // a lock seen gone means the record read after it shows whatever the holder stored.
    auto lock = site.sessions.store().Exists(lock_key, now);
    if (!lock) {
      return lock.error();
    }
    auto current = site.sessions.LoadById(loaded.id, now);
    if (!current) {
      return current.error();
    }
    if (!current->has_value()) {
      return Error{Errc::kInvalidGrant, "session ended during refresh"};
    }
    if (RefreshedSince(loaded.record, (*current)->record)) {
      return std::move((*current)->record);  // the other flight's result
    }
    if (!*lock) {
      // Released without a new token: that refresh failed. The next request tries again.
      return Error{Errc::kHttpFailure, "another request's refresh failed"};
    }
    if (now > deadline) {
      return Error{Errc::kHttpFailure, "timed out waiting for another request's refresh"};
    }
  }
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
  // Ready before the lock: discovery (for the token endpoint) and, for OpenID Connect, the
  // keys a refreshed ID token is checked with. A provider that is down fails here, lock-free.
  auto meta = site.provider.Metadata();
  if (!meta) {
    site.provider.Count(Metric::kRefreshFailed);
    return meta.error();
  }
  if (p.profile == ProviderProfile::kOidc) {
    // Best effort: many refreshes bring no ID token, and one that does can still fetch its
    // key under the lock (the lease allows for it).
    (void)site.provider.KeysFor("");
  }
  auto owner = RandomToken(site.random, 16);
  if (!owner) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  const int64_t lease = LeaseSeconds(p);
  const std::string lock_key = LockKey(loaded.id);
  // The lease counts from now, after the preparation above, not from the request's arrival.
  const int64_t now = site.clock.NowSeconds();
  auto taken = site.sessions.store().Add(lock_key, *owner, now + lease, now);
  if (!taken) {
    return taken.error();
  }
  if (!*taken) {
    site.provider.Count(Metric::kRefreshWaited);
    return AwaitOtherFlight(site, loaded, lock_key, lease);
  }
  // Re-read under the lock: the flight before ours may have finished a moment ago.
  auto fresh = site.sessions.LoadById(loaded.id, site.clock.NowSeconds());
  Result<SessionRecord> out = Error{Errc::kInvalidGrant, "session ended"};
  if (!fresh) {
    out = fresh.error();
  } else if (fresh->has_value()) {
    const SessionRecord& current = (*fresh)->record;
    // Only the token this request saw is refreshed; a newer one came from another flight.
    bool still_stale = !RefreshedSince(loaded.record, current) &&
                       NeedsRefresh(current, site.clock.NowSeconds(), p.refresh_before_seconds);
    out = still_stale ? DoRefresh(site, loaded.id, current, site.clock.NowSeconds())
                      : Result<SessionRecord>(current);
    if (still_stale) {
      site.provider.Count(out ? Metric::kRefreshOk : Metric::kRefreshFailed);
    }
  }
  (void)site.sessions.store().EraseIfEquals(lock_key, *owner);
  return out;
}

}  // namespace coinpay
