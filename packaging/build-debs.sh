#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds ste's Debian packages: a static and a shared Release build with Debian's build
# flags (dpkg-buildflags: hardening), then `cpack -G DEB` over both
# (cmake/packaging.cmake). The .deb files go to $1 (default build/debs).
#
#   packaging/build-debs.sh [out-dir]
#   sudo dpkg -i build/debs/libste0_*.deb build/debs/libste-dev_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-build/debs}")"
work="$out/work"
mkdir -p "$work"
export CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
export LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
common=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DSTE_BUILD_TESTS=OFF
        -DSTE_BUILD_BENCH=OFF -DSTE_BUILD_EXAMPLES=OFF -DSTE_INSTALL=ON)
cmake -S . -B "$work/static" "${common[@]}" -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build "$work/static" -j2
cmake -S . -B "$work/shared" "${common[@]}" -DBUILD_SHARED_LIBS=ON \
      -DSTE_PACKAGE_STATIC_BUILD_DIR="$work/static" >/dev/null
cmake --build "$work/shared" -j2
(cd "$work/shared" && cpack -G DEB -B "$out" >/dev/null)
rm -rf "$out/_CPack_Packages"
ls -1 "$out"/*.deb
