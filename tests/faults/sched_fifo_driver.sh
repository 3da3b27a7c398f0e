#!/bin/sh
# SPDX-License-Identifier: MIT
#   sched_fifo_driver.sh WORKLOAD MODE [SECONDS [WORKLOAD ARGS...]]
# Runs sched_fifo_workload in MODE pinned to CPU 0 under SCHED_FIFO 50, with a watchdog
# (`timeout`) on another CPU at SCHED_FIFO 99 that kills it after SECONDS (default 60):
# a real-time process pinned to one CPU starves anything on that CPU with a lower
# priority, so the watchdog must live outside the pinned set and above its priority. Exit status: the workload's, 1 on a hang, 77 (CTest: skipped, printed
# loudly) when not root or chrt/taskset/timeout are missing or SCHED_FIFO is refused.
workload=$1
mode=${2:-same}
secs=${3:-60}
if [ $# -ge 3 ]; then shift 3; else shift $#; fi  # the rest goes to the workload
skip() {
  echo "*** SKIPPED: $* ***"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "not root: SCHED_FIFO needs root (or CAP_SYS_NICE)"
for tool in chrt taskset timeout nproc; do
  command -v $tool >/dev/null 2>&1 || skip "$tool not found"
done
chrt -f 50 true 2>/dev/null || skip "the kernel refused SCHED_FIFO (container without CAP_SYS_NICE?)"
if [ "$(nproc --all)" -ge 2 ]; then
  watchdog="taskset -c 1 chrt -f 99"
else
  watchdog="chrt -f 99"  # one CPU only: above the workload's priority is what matters
fi
echo "sched_fifo_driver: $workload $mode, pinned to CPU 0 at SCHED_FIFO 50, watchdog ${secs}s"
$watchdog timeout -s KILL "$secs" taskset -c 0 chrt -f 50 "$workload" "$mode" "$@"
rc=$?
if [ $rc = 124 ] || [ $rc = 137 ]; then
  echo "sched_fifo_driver: HANG: the watchdog killed the workload after ${secs}s (mode $mode)"
  exit 1
fi
exit $rc
