// Bench only (bench/README.md, "Sessions at scale"): fills the session store to 100k live
// sessions in seconds instead of 100k real sign-ins. A user signs in for real; the bench POSTs
// `count=N` with that session's cookie to SetHandler coinpay-bench-replicate, and N more
// sessions are stored, each under a fresh random id, through Sessions::Create: the function the
// login callback stores a new session with, so each copy is written exactly as a sign-in writes
// it (record, store expiry, and with back-channel logout the sub index entry and a sid index
// entry of its own, as a sign-in from a new browser brings a new provider sid).
//
// The handler exists only in a module built with -DCOINPAY_BENCH_HELPERS=ON; in a normal build
// nothing calls this code, so it is not linked into the module at all.
#pragma once

#include <cstdint>
#include <string>

#include "core/action.h"
#include "core/request_view.h"
#include "core/result.h"
#include "core/session.h"
#include "core/site.h"

namespace coinpay {

// The most copies one request makes: it keeps one worker thread busy (about 70 ms on the
// bench's 2-core machine) and takes the store's lock once per copy, never for the whole batch.
inline constexpr int kMaxBenchReplicas = 10000;

struct Replicated {
  int written = 0;
  // The session ids (cookie values) of the first and the last copy, "" when none: the bench
  // checks that such a session opens a protected page, after the runs as before them.
  std::string first_id;
  std::string last_id;
};

// Stores `count` new sessions of `sessions`' site holding `source` (a record as read from the
// store, tokens included), each created at `now` under its own fresh id. With the site's
// sessions indexed, each copy also gets a fresh random provider sid. Stops at the first
// failure (returned; the copies made before it stay).
Result<Replicated> ReplicateSession(Sessions& sessions, const SessionRecord& source, int count,
                                    int64_t now, Random& random);

// SetHandler coinpay-bench-replicate (POST, body `count=N`, 1 <= N <= kMaxBenchReplicas, with
// the cookie of a live session of this site): 200 {"written":N,"first":"<id>","last":"<id>"}
// (the first and last copy's session ids);
// 400 for a malformed body or count, 403 without a live session, 503 when the store fails.
Action HandleBenchReplicate(Site& site, const RequestView& req);

}  // namespace coinpay
