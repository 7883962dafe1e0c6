#!/usr/bin/env bash
# One benchmark run: mod_coinpay_auth vs mod_auth_openidc (see bench/README.md).
# Writes bench/results/latest.{md,json,png} and bench/results/callgrind-{a,b,r,d}.txt.
# Options are passed to bench.py (e.g. --duration 8 --fill 1000,10000 --cg-requests 200).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# --module names a bench build to measure: then no build of this tree is needed.
case " $* " in *" --module "*|*" --module="*) given=1 ;; *) given= ;; esac
if [ -z "$given" ] && [ ! -f "$here/../build/mod_coinpay_auth.so" ] && [ -z "${COINPAY_MODULE:-}" ]; then
  echo "bench: build the module first: cmake -S . -B build && cmake --build build -j2" >&2
  exit 2
fi
exec /usr/bin/python3 "$here/bench.py" "$@"
