#!/usr/bin/env bash
# Runs every test: installs what is missing, builds once, then unit tests (ctest), end-to-end
# tests against a real httpd and OpenID Provider, the headless-Chromium test, and short fuzz runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh

build=${COINPAY_BUILD_DIR:-$root/build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

echo "== unit tests"
(cd "$build" && ctest --output-on-failure -j"$(nproc)")

echo "== end-to-end tests"
export COINPAY_MODULE="$build/mod_coinpay_auth.so"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

if [ -d tests/browser ] && ls tests/browser/test_*.py >/dev/null 2>&1; then
  echo "== browser test"
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/browser
fi

bash scripts/soak.sh --requests 50000   # soak, both session stores (docs/testing.md)
if [ -x scripts/fuzz-smoke.sh ] && [ "${COINPAY_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke runs"
  bash scripts/fuzz-smoke.sh
fi
echo "== all tests passed"
