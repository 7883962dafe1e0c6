// Keeping a session's access token fresh with its refresh token (RFC 6749 section 6), as a
// single flight: however many requests of one session, in however many threads and processes,
// exactly one refresh reaches the provider. The flight's lock is an entry in the shared session
// store, taken atomically, released by its owner only, and expiring on its own after a lease
// longer than the work under it, so a crashed process cannot hold it forever. The others wait
// for its result and never refresh themselves. The result is stored only while the session
// lives: a refresh that ends after a logout is discarded and its new tokens revoked.
#pragma once

#include <cstdint>

#include "core/result.h"
#include "core/session.h"
#include "core/site.h"

namespace coinpay {

// True when the access token has expired or will within `before_seconds`, and can be refreshed.
bool NeedsRefresh(const SessionRecord& s, int64_t now, int64_t before_seconds);

// Brings `loaded` up to date: refreshes it (or waits for the refresh another request started)
// and returns the current record. Errors: kInvalidGrant when the provider refused the refresh
// token or the refreshed ID token failed verification (the session has been destroyed), or the
// session ended meanwhile; kHttpFailure / kProviderError when the provider could not refresh
// it now, or another request's refresh failed (session kept).
Result<SessionRecord> RefreshSession(Site& site, const Sessions::Loaded& loaded);

}  // namespace coinpay
