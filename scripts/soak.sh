#!/usr/bin/env bash
# Soak: N mixed requests (valid, ended and forged sessions, good and bad bearer tokens, bogus
# handler input, malformed requests) against one httpd with sessions in shared memory and one
# with sessions in Redis (a real redis-server on a free loopback port); fails on any crash,
# any 5xx, any unexpected status per request kind, any error-log line at warn or above, or
# httpd children whose resident memory grows past the bound after warm-up. See
# docs/testing.md ("Soak and faults") and tests/soak/soak.py.
#
#   scripts/soak.sh                       # 50,000 requests per store (what scripts/test.sh runs)
#   scripts/soak.sh --requests 1000000    # the full soak
#   scripts/soak.sh --requests 200000 --stores redis --report /tmp/soak.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export COINPAY_MODULE="${COINPAY_MODULE:-${COINPAY_BUILD_DIR:-$root/build}/mod_coinpay_auth.so}"
if [ ! -f "$COINPAY_MODULE" ]; then
  echo "soak: module not built: $COINPAY_MODULE" >&2
  exit 2
fi
echo "== soak ($COINPAY_MODULE)"
exec /usr/bin/python3 tests/soak/soak.py "$@"
