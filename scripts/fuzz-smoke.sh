#!/usr/bin/env bash
# Short libFuzzer runs of every fuzz/*_fuzz.cc target on its committed corpus (CI smoke test).
# Builds in its own directory with clang; the core is instrumented too. Fails on any crash.
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh        # longer runs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${COINPAY_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCOINPAY_BUILD_FUZZ=ON -DCOINPAY_BUILD_TESTS=OFF -DCOINPAY_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer" >/dev/null

targets=()
for src in "$root"/fuzz/*_fuzz.cc; do
  targets+=("$(basename "$src" .cc)")
done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  corpus="$root/fuzz/corpus/${t%_fuzz}"
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  echo "== $t (${seconds}s)"
  # New inputs go to a scratch directory so the committed corpus stays small and named.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$build/$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" "$corpus" \
      >"$work/$t/log" 2>&1; then
    echo "FAILED: $t"
    tail -n 60 "$work/$t/log"
    mkdir -p "$build/crashes"
    cp -r "$work/$t/artifacts/." "$build/crashes/" 2>/dev/null || true
    failed=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$work/$t/log" | tail -n 2
  fi
done
if [ "$failed" != 0 ]; then
  echo "fuzz smoke: crashes saved under $build/crashes"
  exit 1
fi
echo "fuzz smoke: all targets ran clean"
