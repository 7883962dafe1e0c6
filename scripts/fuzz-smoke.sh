#!/usr/bin/env bash
# Short libFuzzer runs of every fuzz/*_fuzz.cc target (CI smoke test): each target for at least
# FUZZ_SECONDS (30) under ASan + UBSan (no recovery), two at a time, starting from its committed
# corpus fuzz/corpus/<target>/ with its dictionary fuzz/dict/<target>.dict. Builds in its own
# directory with clang (the core is instrumented too).
#
# Fails on any crash, sanitizer report, leak, timeout or out-of-memory. The input that did it is
# kept as fuzz/corpus/<target>/regression-<sha1>: fix the bug, then COMMIT that file, so every
# later run replays it first (a regression seed stays in the corpus for good).
#
#   scripts/fuzz-smoke.sh                                  # all targets, 30 s each
#   FUZZ_SECONDS=600 FUZZ_TARGETS="bearer jwt" scripts/fuzz-smoke.sh   # longer, some targets
#   FUZZ_JOBS=1 scripts/fuzz-smoke.sh                      # one target at a time
#   FUZZ_BUILD_ONLY=1 scripts/fuzz-smoke.sh                # build the targets, run nothing
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${COINPAY_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
started=$(date +%s)

# CMAKE_CXX_FLAGS is reset: the sanitizer and coverage flags live in CMakeLists.txt's fuzz block.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS= \
  -DCOINPAY_BUILD_FUZZ=ON -DCOINPAY_BUILD_TESTS=OFF -DCOINPAY_BUILD_BENCH=OFF >/dev/null

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
  for t in $FUZZ_TARGETS; do
    targets+=("${t%_fuzz}_fuzz")
  done
else
  for src in "$root"/fuzz/*_fuzz.cc; do
    targets+=("$(basename "$src" .cc)")
  done
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
built=$(date +%s)
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
  echo "fuzz smoke: ${#targets[@]} targets built in $((built - started))s (FUZZ_BUILD_ONLY: not run)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run; its verdict goes to $work/<target>/rc.
fuzz_one() {
  local t=$1 name=${1%_fuzz}
  local corpus="$root/fuzz/corpus/$name" dict="$root/fuzz/dict/$name.dict"
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts" "$corpus"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384
              -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  # New inputs go to a scratch directory (listed first) so the committed corpus stays small
  # and named.
  local rc=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/$t" "${args[@]}" "$work/$t/corpus" "$corpus" >"$work/$t/log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t/rc"
}

running=0
for t in "${targets[@]}"; do
  echo "== $t (${seconds}s)"
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
for t in "${targets[@]}"; do
  name=${t%_fuzz}
  rc=$(cat "$work/$t/rc" 2>/dev/null || echo 1)
  if [ "$rc" != 0 ]; then
    echo "FAILED: $t (exit $rc)"
    tail -n 80 "$work/$t/log"
    for a in "$work/$t/artifacts"/*; do
      [ -f "$a" ] || continue
      keep="$root/fuzz/corpus/$name/regression-$(sha1sum "$a" | cut -c1-40)"
      cp "$a" "$keep"
      echo "crash input kept as ${keep#"$root"/} ($(basename "$a")): commit it with the fix"
    done
    failed=1
  else
    stats=$(grep -E "stat::number_of_executed_units" "$work/$t/log" | awk '{print $2}')
    cov=$(grep -E "^#[0-9]+.*DONE" "$work/$t/log" | tail -n 1 | sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/')
    echo "ok: $t  ${stats:-?} runs  ${cov:-}"
  fi
done
ended=$(date +%s)
echo "fuzz smoke: build $((built - started))s, fuzzing $((ended - built))s, total $((ended - started))s"
if [ "$failed" != 0 ]; then
  echo "fuzz smoke: FAILED (reproduce: $build/<target> fuzz/corpus/<target>/regression-<sha1>)"
  exit 1
fi
echo "fuzz smoke: all ${#targets[@]} targets ran clean"
