#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs nproc_helper (argument 1) with a small RLIMIT_NPROC as an unprivileged user:
#   as root:     setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --nproc=N: HELPER
#   as non-root: prlimit --nproc=N: HELPER        (the limit applies to us directly)
# N is the user's current number of tasks plus 12. Root ignores RLIMIT_NPROC, hence
# setpriv. Exit status 77 (CTest: skipped) with a loud message when a tool is missing.
helper=$1
skip() {
  echo "*** SKIPPED: $* ***"
  exit 77
}
[ -x "$helper" ] || { echo "nproc_driver: no helper at '$helper'"; exit 1; }
command -v prlimit >/dev/null 2>&1 || skip "prlimit (util-linux) not found"
command -v ps >/dev/null 2>&1 || skip "ps (procps) not found"
if [ "$(id -u)" != 0 ]; then
  n=$(ps -L -u "$(id -u)" --no-headers | wc -l)
  exec prlimit --nproc="$((n + 12)):" -- "$helper"
fi
command -v setpriv >/dev/null 2>&1 ||
  skip "setpriv not found: root ignores RLIMIT_NPROC and setpriv is needed to drop to uid 65534"
as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
$as_nobody test -x "$helper" ||
  skip "uid 65534 cannot run $helper (is a parent directory closed to others?)"
n=$(ps -L -u 65534 --no-headers | wc -l)
exec $as_nobody -- prlimit --nproc="$((n + 12)):" -- "$helper"
