#!/usr/bin/env bash
# The demo: installs what is missing (Debian packages, the pinned oidc-provider via npm ci),
# builds the module, then runs a local OpenID Provider (any login works) and Apache with
# mod_coinpay_auth protecting a static page and a CGI, on 127.0.0.1, until Ctrl-C.
#
#   scripts/demo.sh                                   # Apache on 8080, the OP on 9090
#   DEMO_HTTPD_PORT=8181 DEMO_OP_PORT=9191 scripts/demo.sh
#   DEMO_SKIP_DEPS=1 DEMO_SKIP_BUILD=1 scripts/demo.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
  scripts/install-deps.sh
fi
if [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B build >/dev/null
  cmake --build build -j"$(nproc)" --target mod_coinpay_auth
fi
export COINPAY_MODULE="${COINPAY_MODULE:-$here/build/mod_coinpay_auth.so}"
cd "$here/tests"
exec /usr/bin/python3 -m harness.demo
