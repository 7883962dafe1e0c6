#!/usr/bin/env bash
# Runs every test: installs what is missing, builds once, then unit tests (ctest), end-to-end
# tests against a real httpd and OpenID Provider, the headless-Chromium test, the sanitized
# build with its tests, the soak, short fuzz runs and clang-tidy.
#
# Time on two cores: the three jobs no test in front needs yet (the sanitized build, the fuzz
# build, clang-tidy) run one after another in the background at the lowest CPU priority
# (nice 19), from the end of the unit tests on. They use the CPU the end-to-end tests leave idle
# while those wait on sockets and timers; at nice 19 they get almost none of it while a test
# wants it, so the tests' timing is what it is alone. The front waits for a job before it needs
# it and shows its log if it failed. Each stage prints the seconds since the start.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)
stage() { echo "== $* [$(($(date +%s) - started)) s]"; }

bash scripts/install-deps.sh

build=${COINPAY_BUILD_DIR:-$root/build}
asan=${COINPAY_BUILD_DIR:+$COINPAY_BUILD_DIR-asan}
asan=${asan:-$root/build-asan}
skip_fuzz=${COINPAY_SKIP_FUZZ:-0}

stage "build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

stage "unit tests"
(cd "$build" && ctest --output-on-failure -j"$(nproc)")

# --- the background jobs ------------------------------------------------------------------------
bg_dir=$(mktemp -d)
build_asan() {
  cmake -S . -B "$asan" -DCOINPAY_SANITIZE=ON -DCOINPAY_BUILD_BENCH=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null &&
  cmake --build "$asan" -j2 --target coinpay_unit_tests mod_coinpay_auth
}
# job NAME CMD...: runs one job, its output to $bg_dir/NAME.log, its exit code to NAME.rc.
job() {
  local name=$1 rc=0
  shift
  "$@" >"$bg_dir/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$bg_dir/$name.rc"
  return "$rc"
}
set -m   # the jobs get their own process group, so a failure in front can stop all of them
(
  renice -n 19 -p "$BASHPID" >/dev/null
  job sanitized-build build_asan
  if [ "$skip_fuzz" != 1 ]; then job fuzz-build env FUZZ_BUILD_ONLY=1 bash scripts/fuzz-smoke.sh; fi
  job clang-tidy bash scripts/clang-tidy.sh "$build"
) &
bg_pid=$!
set +m
trap 'kill -- "-$bg_pid" 2>/dev/null || true; rm -rf "$bg_dir"' EXIT
# await NAME: waits for a background job; fails with its log if it failed (or never ran).
await() {
  local name=$1
  while [ ! -f "$bg_dir/$name.rc" ] && kill -0 "$bg_pid" 2>/dev/null; do sleep 1; done
  if [ "$(cat "$bg_dir/$name.rc" 2>/dev/null || echo none)" != 0 ]; then
    cat "$bg_dir/$name.log" 2>/dev/null || true
    echo "== FAILED: $name (background job; its output is above)"
    exit 1
  fi
  tail -n 1 "$bg_dir/$name.log"
}

stage "end-to-end tests"
export COINPAY_MODULE="$build/mod_coinpay_auth.so"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

if [ -d tests/browser ] && ls tests/browser/test_*.py >/dev/null 2>&1; then
  stage "browser test"
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/browser
fi

stage "sanitized (ASan+UBSan): build, unit tests, e2e subset (docs/testing.md)"
await sanitized-build
rm -rf "$asan/sanitizer-logs" && mkdir -p "$asan/sanitizer-logs"
# ASan reports go to files (also a forked child's: any file fails), UBSan's to the test output.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$asan/sanitizer-logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Two processes (gtest shards), each running its half of the tests one after another: a
# sanitized process takes about 0.5 s to start here, which ctest's process per test paid 973
# times (over 6 minutes); the normal build's ctest run above keeps one process per test.
shard_rc=0 shard_pids=()
for i in 0 1; do
  GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$i "$asan/coinpay_unit_tests" --gtest_brief=1 \
    >"$asan/unit-shard-$i.log" 2>&1 &
  shard_pids+=($!)
done
for pid in "${shard_pids[@]}"; do wait "$pid" || shard_rc=1; done
for i in 0 1; do
  if [ "$shard_rc" != 0 ]; then cat "$asan/unit-shard-$i.log"; else tail -n 1 "$asan/unit-shard-$i.log"; fi
done
if [ "$shard_rc" != 0 ] || [ -n "$(ls -A "$asan/sanitizer-logs")" ]; then
  cat "$asan"/sanitizer-logs/* 2>/dev/null || true
  echo "== FAILED: sanitized unit tests (shard output and sanitizer reports above)"
  exit 1
fi
unset ASAN_OPTIONS UBSAN_OPTIONS
COINPAY_SANITIZE=1 COINPAY_MODULE="$asan/mod_coinpay_auth.so" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider -m sanitize tests/e2e

stage "soak"
bash scripts/soak.sh --requests 50000   # soak, both session stores (docs/testing.md)

if [ "$skip_fuzz" != 1 ]; then
  stage "fuzz smoke runs"
  await fuzz-build
  bash scripts/fuzz-smoke.sh
fi

stage "clang-tidy"   # static checks (docs/testing.md)
await clang-tidy
stage "all tests passed"
