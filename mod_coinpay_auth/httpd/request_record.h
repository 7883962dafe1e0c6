// What the module remembers about one request between its hooks (authn, authz, fixups): kept
// in the request's module-config slot, made on first use and freed with the request pool. And
// about one connection: the session its last request read (the connection's config slot).
#pragma once

#include <httpd.h>

#include <array>
#include <cstddef>
#include <memory>

#include "core/action.h"
#include "core/json.h"
#include "core/session.h"
#include "core/session_cookie.h"

namespace coinpay::httpd {

struct RequestRecord {
  // The identity the request was authenticated as (nullptr: not by this module). The request's
  // tables may point into it (ApplyIdentity), so it lives as long as the request.
  std::shared_ptr<const Identity> who;
  std::shared_ptr<const Json> parsed;  // its claims, parsed on first use (a token's: already)
  bool bearer = false;
  // The Cookie header the authn hook read, and the module's cookies it found there: the
  // fixups hook strips that same header without parsing it again.
  const char* cookie_header = nullptr;
  ModuleCookies cookies;
  // Require coinpay-* rules already decided for this request: the precheck and mod_authz_core
  // ask about the same rule, and the answer cannot change within a request.
  struct Verdict {
    const void* rule = nullptr;
    bool satisfied = false;
  };
  std::array<Verdict, 4> verdicts{};
  size_t verdict_count = 0;
};

// The session the last request on this client connection read (core/session.h), made on
// first use and freed with the connection.
SessionReadHint& ConnectionSessionHint(conn_rec* c);

// This request's record, or nullptr when no hook has made one.
RequestRecord* FindRequestRecord(request_rec* r);
// This request's record, made now if needed.
RequestRecord& RequestRecordOf(request_rec* r);

}  // namespace coinpay::httpd
