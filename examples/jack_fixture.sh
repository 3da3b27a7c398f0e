#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The JACK example's test fixture: a real JACK server for one run of one program.
#
#   examples/jack_fixture.sh JACKD JACK_LSP PROGRAM [ARGS...]
#
# 1. starts JACKD with the dummy backend (no sound card needed) under a server name of
#    its own, ste-ci-<pid>, so that runs in parallel (release, asan, tsan builds) and a
#    user's own server never meet;
# 2. waits until that server accepts clients: JACK_LSP -s NAME succeeds (it never
#    starts a server itself). A condition, polled, bounded by 30 s overall — and given
#    up at once if jackd exits;
# 3. runs PROGRAM --server NAME ARGS... and keeps its exit status;
# 4. stops the server (SIGTERM, then SIGKILL if it has not exited after 10 s) and waits
#    for it. An EXIT trap does this on every way out: the program failing or crashing,
#    the wait giving up, or this script being interrupted (INT, TERM, HUP: then the
#    program is stopped first). Only SIGKILL escapes the trap; CTest's timeout kill
#    takes the script's child processes (jackd, the program) with it.
# Exits with PROGRAM's status, or 1 when the server could not be started. Prints the
# server's log when something failed.
#
# -R -P 70: real-time, so JACK's client threads run SCHED_FIFO 65 (as root, or with
# RLIMIT_RTPRIO). -t 4000: the server waits up to 4 s (default 500 ms; jackd(1) wants
# it below 5 s in real-time mode) for a client to answer before it gives up on it — a
# margin for sanitizer builds on a loaded machine, so that a slow answer is never what
# decides the test.
set -u

if [ $# -lt 3 ]; then
  echo "usage: $0 JACKD JACK_LSP PROGRAM [ARGS...]" >&2
  exit 2
fi
jackd=$1 jack_lsp=$2
shift 2

name="ste-ci-$$"
log=$(mktemp "${TMPDIR:-/tmp}/ste-jackd.XXXXXX") || exit 1
jackd_pid=""
program_pid=""

# The program runs in the background so that a signal to this script is handled at
# once (bash runs a trap only after a foreground child has exited); stopping the
# script stops the program too.
stop_program() {
  if [ -n "$program_pid" ] && kill -0 "$program_pid" 2>/dev/null; then
    echo "jack_fixture: stopping $program (pid $program_pid)" >&2
    kill -TERM "$program_pid" 2>/dev/null
    wait "$program_pid" 2>/dev/null
  fi
  program_pid=""
}
stop_server() {
  if [ -n "$jackd_pid" ] && kill -0 "$jackd_pid" 2>/dev/null; then
    kill -TERM "$jackd_pid" 2>/dev/null
    local deadline=$((SECONDS + 10))
    while kill -0 "$jackd_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.1
    done
    if kill -0 "$jackd_pid" 2>/dev/null; then
      echo "jack_fixture: jackd did not exit on SIGTERM; killing it" >&2
      kill -KILL "$jackd_pid" 2>/dev/null
    fi
    wait "$jackd_pid" 2>/dev/null
  fi
  jackd_pid=""
}
show_log() {
  echo "---- jackd's log ($name) ----"
  cat "$log"
  echo "---- end of jackd's log ----"
}
trap 'stop_program; stop_server; rm -f "$log"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

"$jackd" -R -P 70 -t 4000 -n "$name" -d dummy -r 48000 -p 128 >"$log" 2>&1 &
jackd_pid=$!

deadline=$((SECONDS + 30))
until "$jack_lsp" -s "$name" >/dev/null 2>&1; do
  if ! kill -0 "$jackd_pid" 2>/dev/null; then
    wait "$jackd_pid"
    echo "jack_fixture: jackd exited (status $?) before accepting clients" >&2
    jackd_pid=""
    show_log
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "jack_fixture: JACK server \"$name\" did not accept clients within 30 s" >&2
    show_log
    exit 1
  fi
  sleep 0.1
done
echo "jack_fixture: JACK server \"$name\" is up (jackd pid $jackd_pid)"

program=$1
shift
"$program" --server "$name" "$@" &
program_pid=$!
wait "$program_pid"
status=$?
program_pid=""

stop_server
if [ "$status" -ne 0 ]; then
  echo "jack_fixture: $program exited with status $status" >&2
  show_log
fi
exit "$status"
