#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need on Debian 12 (idempotent).
# Debian packages via apt-get; the pinned npm packages via `npm ci` in tests/op.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(build-essential cmake pkg-config apache2 apache2-dev libapr1-dev libaprutil1-dev libssl-dev
      dpkg-dev lintian
      libjansson-dev libcurl4-openssl-dev libcjose-dev libhiredis-dev libgtest-dev libgmock-dev
      libbenchmark-dev redis-server wrk nodejs curl clang libclang-rt-14-dev
      python3-pytest python3-requests python3-cryptography python3-selenium
      chromium chromium-driver libapache2-mod-auth-openidc valgrind python3-matplotlib gdb linux-perf)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm may come bundled with nodejs (NodeSource) or as Debian's separate package.
command -v npm >/dev/null || { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm; }
if [ -f "$here/tests/op/package-lock.json" ]; then
  (cd "$here/tests/op" && { [ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; })
fi
