#!/usr/bin/env bash
# Runs clang-tidy (the root .clang-tidy) over the module's own sources and fails on any finding.
# Usage: scripts/clang-tidy.sh [build-dir]   (a build dir with compile_commands.json, e.g. CI's;
# without one, configures its own in $TMPDIR). Checked: mod_coinpay_auth/{core,platform,httpd}/*.cc
# and the project headers they include; tests/ and fuzz/ are not.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tidy=${CLANG_TIDY:-clang-tidy}
if ! command -v "$tidy" >/dev/null; then
  echo "clang-tidy: '$tidy' not found (apt-get install clang-tidy)" >&2
  exit 1
fi

build=${1:-${TMPDIR:-/tmp}/coinpay-clang-tidy-build}
if [ ! -f "$build/compile_commands.json" ]; then
  # Configuring is enough: clang-tidy reads the compile commands, it needs nothing built.
  cmake -S "$root" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi

mapfile -t files < <(ls "$root"/mod_coinpay_auth/{core,platform,httpd}/*.cc)
jobs=${CLANG_TIDY_JOBS:-$(nproc)}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# One clang-tidy per file, $jobs at a time; a file that fails to parse counts as a finding.
status=0
printf '%s\0' "${files[@]}" |
  xargs -0 -n1 -P"$jobs" "$tidy" -p "$build" --quiet --warnings-as-errors='*' \
    >"$out" 2>&1 || status=$?

# clang-tidy prints "N warnings generated." for suppressed ones too; only diagnostics count.
if [ "$status" -ne 0 ] || grep -qE '(warning|error):' "$out"; then
  grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out" >&2 || true
  echo "clang-tidy: findings in ${#files[@]} files checked (see above)" >&2
  exit 1
fi
echo "clang-tidy: ${#files[@]} files, no findings"
