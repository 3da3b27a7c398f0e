#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a Windows program under Wine: CMAKE_CROSSCOMPILING_EMULATOR of the MinGW toolchain
# (cmake/mingw-w64-x86_64.cmake), used by CTest and by GoogleTest's test discovery.
#
#   cmake/wine-run.sh build/windows/tests/tag_test.exe --gtest_list_tests
#
# A cold Wine start costs ~3 s per program (and a new prefix ~10-20 s once), which would
# dominate a test suite of hundreds of short runs. So the first call creates a private
# prefix, starts a persistent wineserver and warms it up (its services then stay up);
# every later call reuses them and costs ~0.2 s. The server exits by itself after
# STE_WINE_LINGER seconds (default 120) without any Wine program running.
# (Starting the server persistent *without* the warm-up run made CTest hang.)
#
#   cmake/wine-run.sh --stop     # stops that wineserver now (CI does, after the suite)
#
# Environment:
#   STE_WINEPREFIX   the prefix to use (default: $TMPDIR/ste-wineprefix-<uid>)
#   STE_WINE         the wine loader (default: /usr/lib/wine/wine64, then wine64 on PATH)
set -eu

WINEPREFIX="${STE_WINEPREFIX:-${TMPDIR:-/tmp}/ste-wineprefix-$(id -u)}"
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG

if [ "${1:-}" = "--stop" ]; then
  [ -d "$WINEPREFIX" ] && wineserver -k 2>/dev/null || true
  exit 0
fi

wine="${STE_WINE:-/usr/lib/wine/wine64}"
if [ ! -x "$wine" ]; then
  wine="$(command -v wine64 || true)"
  if [ -z "$wine" ]; then
    echo "wine-run.sh: no wine64 found (Debian: apt-get install wine wine64)" >&2
    exit 127
  fi
fi

# Parallel callers (make -j, ctest -j) must not create the prefix or start the server
# twice: serialise the set-up on a lock file next to the prefix. The Wine processes
# started inside must not inherit the lock's descriptor (9>&-), or the persistent server
# would hold the lock for its whole life.
mkdir -p "$(dirname "$WINEPREFIX")"
(
  flock 9
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    "$wine" cmd /c exit 0 >/dev/null 2>&1 9>&- || true   # creates and initialises the prefix
    wineserver -w 2>/dev/null 9>&- || true  # let that non-persistent server go away first
  fi
  # Exit status 2 means a server for this prefix already runs: nothing to do.
  if wineserver -p"${STE_WINE_LINGER:-120}" 2>/dev/null 9>&-; then
    "$wine" cmd /c exit 0 >/dev/null 2>&1 9>&- || true   # warm up: start Wine's services
  fi
) 9>"$WINEPREFIX.lock"

exec "$wine" "$@"
