#!/usr/bin/env bash
# Builds the Debian package libapache2-mod-coinpay-auth_<version>_amd64.deb from this tree into
# <build-dir>/deb/ (default build dir: build/), reusing (or creating) that CMake build: CPack's
# DEB generator, dependencies computed by dpkg-shlibdeps (dpkg-dev). Prints the .deb's path.
#   scripts/package-deb.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build}")
for tool in cmake cpack dpkg-shlibdeps dpkg-deb apxs; do
  command -v "$tool" >/dev/null \
    || { echo "package-deb: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
# Dates in the package (changelog, file times) from the last commit: the same tree gives the
# same package.
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null); then
  export SOURCE_DATE_EPOCH=$epoch
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  # a build only for the package: no unit tests or benchmarks to compile
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOINPAY_BUILD_TESTS=OFF \
        -DCOINPAY_BUILD_BENCH=OFF >&2
else
  cmake "$build" >/dev/null   # picks up Packaging.cmake / version changes in an older build
fi
if grep -q '^COINPAY_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "package-deb: $build is a sanitizer build (COINPAY_SANITIZE=ON); package a plain build" >&2
  exit 1
fi
cmake --build "$build" -j"$(nproc)" >&2   # no-op when the build is up to date
rm -rf "$build/_CPack_Packages" "$build"/deb/*.deb
(cd "$build" && cpack -G DEB --config CPackConfig.cmake >&2)
debs=("$build"/deb/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] \
  || { echo "package-deb: expected one .deb in $build/deb" >&2; exit 1; }
rm -rf "$build/_CPack_Packages"
echo "${debs[0]}"
