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

echo "== sanitized (ASan+UBSan): build, unit tests, e2e subset (docs/testing.md)"
asan=${COINPAY_BUILD_DIR:+$COINPAY_BUILD_DIR-asan}
asan=${asan:-$root/build-asan}
cmake -S . -B "$asan" -DCOINPAY_SANITIZE=ON -DCOINPAY_BUILD_BENCH=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
cmake --build "$asan" -j2 --target coinpay_unit_tests mod_coinpay_auth
rm -rf "$asan/sanitizer-logs" && mkdir -p "$asan/sanitizer-logs"
# ASan reports go to files (also a forked child's: any file fails), UBSan's to the test output.
(cd "$asan" && ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$asan/sanitizer-logs/asan" \
   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" ctest --output-on-failure -j2) \
   || { cat "$asan"/sanitizer-logs/* 2>/dev/null; exit 1; }
if [ -n "$(ls -A "$asan/sanitizer-logs")" ]; then cat "$asan"/sanitizer-logs/*; exit 1; fi
COINPAY_SANITIZE=1 COINPAY_MODULE="$asan/mod_coinpay_auth.so" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider -m sanitize tests/e2e

bash scripts/soak.sh --requests 50000   # soak, both session stores (docs/testing.md)
if [ -x scripts/fuzz-smoke.sh ] && [ "${COINPAY_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke runs"
  bash scripts/fuzz-smoke.sh
fi
echo "== clang-tidy"; bash scripts/clang-tidy.sh "$build"   # static checks (docs/testing.md)
echo "== all tests passed"
