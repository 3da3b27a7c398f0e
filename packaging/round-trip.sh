#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package round trip, as CI runs it (.ci/run): build libste<major> and
# libste-dev (packaging/build-debs.sh), check them with lintian (clean: the overrides in
# packaging/ say why each is there), install them with dpkg -i, then build and run the
# consumer project (tests/consumers/project) against /usr three ways: find_package
# (the shared library: checked with ldd), find_package with ste_USE_STATIC_LIBS=ON (the
# static one) and pkg-config. Last, purge both packages and check nothing is left. The
# packages are purged on failure too. Needs root (dpkg) and a machine where installing
# them is acceptable: CI's, or a container.
#
#   packaging/round-trip.sh [work-dir]     (default build/debs)
set -euo pipefail
cd "$(dirname "$0")/.."
src="$(pwd)"
out="$(realpath -m "${1:-build/debs}")"
version="$(sed -n 's/^project(ste VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
major="${version%%.*}"
runtime="libste$major"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

say() { printf '::: package: %s\n' "$*"; }
purge() { $SUDO dpkg --purge libste-dev "$runtime" >/dev/null 2>&1 || true; }

rm -rf "$out"
packaging/build-debs.sh "$out"
debs=("$out/${runtime}_"*.deb "$out/libste-dev_"*.deb)

say "lintian ${debs[*]##*/}"
lintian --fail-on error,warning "${debs[@]}"

if dpkg -s libste-dev >/dev/null 2>&1 || dpkg -s "$runtime" >/dev/null 2>&1; then
  echo "ste's packages are already installed here; remove them first" >&2
  exit 1
fi
trap purge EXIT
say "dpkg -i"
$SUDO dpkg -i "${debs[@]}"
test -e "/usr/lib/$multiarch/libste.so.$major"
test -e "/usr/lib/$multiarch/libste.a"

# consumer MODE NAME [cmake args...]: configure, build and run the consumer project.
consumer() {
  local mode=$1 name=$2
  shift 2
  local dir="$out/consumer-$name"
  rm -rf "$dir"
  cmake -S "$src/tests/consumers/project" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
        -DSTE_CONSUMER_MODE="$mode" -DSTE_EXPECTED_VERSION="$version" -DSTE_PREFIX=/usr \
        "$@" >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  cmake --build "$dir" -j2 >>"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  "$dir/consumer"
}

# loads_installed_libste PROGRAM: PROGRAM loads the packaged libste.so.<major> (/lib is
# /usr/lib on Debian 12, and ldd may show either).
loads_installed_libste() {
  local shown
  shown="$(ldd "$1" | grep -F "libste.so.$major")" || { ldd "$1"; return 1; }
  echo "$shown"
  [[ "$shown" =~ "=> "(/usr)?"/lib/$multiarch/libste.so.$major " ]]
}

say "find_package(ste CONFIG REQUIRED): the shared library"
consumer install shared
loads_installed_libste "$out/consumer-shared/consumer"

say "find_package with ste_USE_STATIC_LIBS=ON: the static library"
consumer install static -Dste_USE_STATIC_LIBS=ON
if ldd "$out/consumer-static/consumer" | grep -F libste; then
  echo "the static consumer loads a shared libste" >&2
  exit 1
fi

say "pkg-config --cflags --libs ste"
consumer pkgconfig pkgconfig
loads_installed_libste "$out/consumer-pkgconfig/consumer"

say "dpkg --purge"
trap - EXIT
$SUDO dpkg --purge libste-dev "$runtime"
left="$(ls -d /usr/include/ste "/usr/lib/$multiarch/"libste.{so,a}* "/usr/lib/$multiarch/cmake/ste" \
        "/usr/lib/$multiarch/pkgconfig/ste.pc" "/usr/share/doc/$runtime" /usr/share/doc/libste-dev \
        "/usr/share/lintian/overrides/$runtime" /usr/share/lintian/overrides/libste-dev \
        2>/dev/null || true)"
if [ -n "$left" ]; then
  echo "left behind after the purge: $left" >&2
  exit 1
fi
say "passed: built, lintian-clean, installed, consumed (shared, static, pkg-config), purged"
