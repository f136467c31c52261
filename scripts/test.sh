#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, type-checks,
# checks the generated protobuf code, runs every tap test (which start their own
# nats-server and gateways on free loopback ports), and ends with
# "N passed, N failed, N skipped". Extra arguments go to tap (e.g. a test file).
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Signals. npm execs this script (package.json), so a SIGTERM or SIGHUP sent to npm, and
# Ctrl-C's SIGINT, reach this shell. Without a trap bash dies of them at once and leaves
# tap, its test files and the nats-servers and gateways they started running on, orphaned.
# So every step runs as a child that `run` waits for, in a process group of its own
# (setsid, where there is one). A signal ends the running step: tap first (it stops each
# running test file with the signal, whose exit hooks stop the servers it started, and
# reports the files it did not finish as failed), then whatever is left in the step's
# group. The rest is skipped; the summary line still ends the output, and the exit
# status is 128 + the signal's number.
#
# tap 21 passes a signal on only to the test files it runs in parallel (buffered, in its
# pool: @tapjs/run's proxy-fatal-signals.js looks in t.pool and t.subtests). A file it
# runs alone (`npm test -- one.test.ts`, or --jobs=1) sits in neither: it never hears
# the signal, and tap waits for it to end by itself (its own timeout, 120 s). So the
# processes the step was running when the signal came (tap's children: its running test
# files) that still run STEP_PASS_ON s later get the SIGTERM from the script itself:
# their exit hooks stop their servers, tap reports them as failed and exits by the
# signal. Not at once: a test file that had the signal from tap ends within a few ms
# (its exit hooks are synchronous), and a second signal during its hooks would cut them
# short. The files tap had not started yet it starts and stops at once (~30 ms each, so
# several seconds for the whole suite) to report them as failed. A step still running
# STEP_GRACE s after the signal (a test file that catches it and goes on) is said to be,
# and its whole group is ended: SIGTERM, SIGKILL 5 s later.
STEP_PASS_ON=2
STEP_GRACE=30
child=0
child_cmd=""
signal=""
signum=0
SETSID=""
command -v setsid >/dev/null 2>&1 && SETSID=setsid
# Waits up to $2 tenths of a second until `kill -0 $1` fails ($1 a pid, or -pgid for a
# whole group; a zombie counts until reaped); status 0 when it did.
gone_within() {
  local i
  for ((i = 0; i < $2; i++)); do kill -0 -- "$1" 2>/dev/null || return 0; sleep 0.1; done
  ! kill -0 -- "$1" 2>/dev/null
}
# The pids whose parent is $1 (Linux /proc), one a line.
children_of() {
  local f line pid _state ppid _rest
  for f in /proc/[0-9]*/stat; do
    read -r line < "$f" 2>/dev/null || continue
    read -r _state ppid _rest <<< "${line##*) }"
    [ "$ppid" = "$1" ] || continue
    pid=${f#/proc/}; echo "${pid%/stat}"
  done
}
on_signal() {
  [ -n "$signal" ] && return
  signal=$1; signum=$2
  printf '\n== interrupted by SIG%s: stopping\n' "$signal"
  [ "$child" -ne 0 ] || return
  local running pid missed=""
  running=" $(children_of "$child" | tr '\n' ' ')"
  kill -TERM "$child" 2>/dev/null
  if ! gone_within "$child" $((STEP_PASS_ON * 10)); then
    for pid in $(children_of "$child"); do
      [[ "$running" == *" $pid "* ]] && missed="$missed $pid"
    done
    if [ -n "$missed" ]; then
      echo "== '$child_cmd ...' did not pass the signal on within ${STEP_PASS_ON} s: SIGTERM to its running children:$missed"
      # shellcheck disable=SC2086
      kill -TERM $missed 2>/dev/null
    fi
  fi
  if gone_within "$child" $(((STEP_GRACE - STEP_PASS_ON) * 10)); then
    echo "== '$child_cmd ...' stopped"
  else
    echo "== '$child_cmd ...' did not stop within ${STEP_GRACE} s of the signal: ending its process group"
    [ -z "$SETSID" ] && { kill -KILL "$child" 2>/dev/null; return; }
  fi
  [ -z "$SETSID" ] && return
  # What outlived it in its group (a server whose test file died before stopping it).
  if ! gone_within "-$child" 1; then
    kill -TERM -- "-$child" 2>/dev/null
    gone_within "-$child" 50 || kill -KILL -- "-$child" 2>/dev/null
  fi
}
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP
# Names the processes in process group $1 (Linux /proc): "  pid command line".
left_in_group() {
  local f line pid _state _ppid pgrp _rest
  for f in /proc/[0-9]*/stat; do
    read -r line < "$f" 2>/dev/null || continue
    # pid (comm) state ppid pgrp ...: the fields after the last ")"
    read -r _state _ppid pgrp _rest <<< "${line##*) }"
    [ "$pgrp" = "$1" ] || continue
    pid=${f#/proc/}; pid=${pid%/stat}
    echo "  $pid $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)"
  done
}
# Runs one step's command as a child and returns its status. `wait` returns early when a
# trap ran, so it waits again until the child has really ended. A process the step
# left running in its group (a test that did not stop a server or gateway it started)
# is named, then ended: SIGTERM, and SIGKILL 5 s later.
run() {
  $SETSID "$@" &
  child=$!
  child_cmd=$1
  while kill -0 "$child" 2>/dev/null; do wait "$child"; done
  wait "$child"
  local rc=$?
  if [ -n "$SETSID" ] && [ -z "$signal" ] && ! gone_within "-$child" 50; then
    echo "== processes left running by '$1 ...' (stopped now):"
    left_in_group "$child"
    kill -TERM -- "-$child" 2>/dev/null
    gone_within "-$child" 50 || kill -KILL -- "-$child" 2>/dev/null
  fi
  child=0
  return $rc
}
interrupted_exit() {
  echo "interrupted by SIG$signal before the tests ran"
  echo "0 passed, 1 failed, 0 skipped"
  exit $((128 + signum))
}

step "dependencies"
if [ -L node_modules ]; then
  # A shared install (e.g. a git worktree linking another checkout's node_modules):
  # npm ci would empty the install it points to. Use it as it is.
  echo "node_modules is a link to a shared install: not reinstalling"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  run npm ci --no-audit --no-fund || { [ -n "$signal" ] && interrupted_exit; echo "0 passed, 1 failed"; exit 1; }
fi
[ -n "$signal" ] && interrupted_exit

step "nats-server"
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ] && [ ! -x /usr/bin/nats-server ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null \
    || { echo "could not install nats-server (Debian package nats-server)"; echo "0 passed, 1 failed"; exit 1; }
fi
export PATH="$PATH:/usr/sbin:/usr/bin"
nats-server --version

step "chromium"
# test/client/portable-browser.test.ts runs the portable SDK in headless Chromium
# (playwright-core drives it; no browser is downloaded from the npm registry). Debian's
# chromium-headless-shell is the smallest Chromium there; HUSHWIRE_CHROMIUM names
# another binary. Without apt-get that test skips and says why.
if [ -n "${HUSHWIRE_CHROMIUM:-}" ]; then
  echo "HUSHWIRE_CHROMIUM=$HUSHWIRE_CHROMIUM"
elif [ ! -x /usr/bin/chromium-headless-shell ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    install_chromium() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null; }
    install_chromium || { $SUDO apt-get update -qq && install_chromium; } \
      || { echo "could not install chromium-headless-shell (Debian package)"; echo "0 passed, 1 failed"; exit 1; }
  else
    echo "no Chromium and no apt-get: test/client/portable-browser.test.ts skips"
  fi
fi
for c in "${HUSHWIRE_CHROMIUM:-}" /usr/bin/chromium-headless-shell /usr/bin/chromium; do
  [ -n "$c" ] && [ -x "$c" ] && { "$c" --version 2>/dev/null | head -n 1; break; }
done

step "promtool"
# Checks and unit-tests the Prometheus alerting rules (docs/prometheus/). Debian ships
# it in the prometheus package; only the promtool binary is taken out of the .deb (no
# server installed, no service started), into .cache/ (git-ignored).
PROMTOOL_CACHE="$PWD/.cache/promtool/promtool"
if command -v promtool >/dev/null 2>&1; then
  export PROMTOOL="$(command -v promtool)"
elif [ -x "$PROMTOOL_CACHE" ]; then
  export PROMTOOL="$PROMTOOL_CACHE"
elif command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  fetch() { (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); }
  if fetch || { $SUDO apt-get update -qq && fetch; }; then
    mkdir -p "$(dirname "$PROMTOOL_CACHE")"
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -xO ./usr/bin/promtool > "$PROMTOOL_CACHE.part" \
      && chmod +x "$PROMTOOL_CACHE.part" && mv "$PROMTOOL_CACHE.part" "$PROMTOOL_CACHE" \
      && export PROMTOOL="$PROMTOOL_CACHE"
  fi
  rm -rf "$tmp"
  [ -n "${PROMTOOL:-}" ] || { echo "could not get promtool (Debian package prometheus)"; echo "0 passed, 1 failed"; exit 1; }
else
  echo "no promtool and no apt-get: test/ops/alerts.test.ts skips its promtool checks"
fi
[ -n "${PROMTOOL:-}" ] && "$PROMTOOL" --version 2>&1 | head -n 1

[ -n "$signal" ] && interrupted_exit

# Local binaries are run directly, not through npx: npx runs them under a shell of its
# own, which dies of a forwarded signal and leaves them running (as npm's own did).
bin=node_modules/.bin
failed_steps=0
step "typecheck (tsc --noEmit)"
run "$bin/tsc" --noEmit -p . || failed_steps=$((failed_steps + 1))
[ -n "$signal" ] && interrupted_exit

step "generated protobuf code is current"
run node scripts/gen-proto.js --check || failed_steps=$((failed_steps + 1))
[ -n "$signal" ] && interrupted_exit

step "tap plugins"
# tap 21 ships built with its TypeScript plugin (ts-node); package.json disables it and
# loads tsx instead. tap rebuilds itself for that only after a first run, so a fresh
# install would run its first test pass with the wrong loader: build it now. Once built
# without it (the built signature lists no @tapjs/typescript), the build (~17 s) is
# skipped.
built=node_modules/@tapjs/test/test-built/dist/esm/index.js
if [ ! -f "$built" ] || sed -n '/^export const signature/,/`;/p' "$built" | grep -q '@tapjs/typescript'; then
  run "$bin/tap" build >/dev/null || failed_steps=$((failed_steps + 1))
else
  echo "tap is built with this project's plugins"
fi
[ -n "$signal" ] && interrupted_exit

step "tests"
log=$(mktemp)
# tap finds .ts files only through the include glob, so a directory argument becomes
# the test files under it.
args=()
for a in "$@"; do
  if [ -d "$a" ]; then
    while IFS= read -r f; do args+=("$f"); done < <(find "$a" -name '*.test.ts' | sort)
  else
    args+=("$a")
  fi
done
# tee ignores SIGINT (Ctrl-C reaches the whole process group) so that it keeps copying
# tap's last lines while tap stops.
exec 3> >(trap '' INT; exec tee "$log")
tee_pid=$!
run "$bin/tap" "${args[@]}" >&3 2>&1
tap_rc=$?
exec 3>&-
wait "$tee_pid" 2>/dev/null

summary=$(grep -E '^# \{ total:' "$log" | tail -n 1)
num() { echo "$summary" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+' || echo 0; }
pass=$(num pass); fail=$(num fail); skip=$(num skip); todo=$(num todo)
[ -n "$summary" ] || fail=$((fail + 1))
# tap exits non-zero for a failing or crashed test file even when no assertion failed
if [ "$tap_rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
fail=$((fail + failed_steps))
# An interrupted run is a failed one, whatever tap counted before it stopped.
[ -n "$signal" ] && [ "$fail" -eq 0 ] && fail=1
# CI keeps only the tail of the output: repeat every failing assertion there, with the
# test file and subtests it sits in and the start of its diagnostics (bounded).
if grep -qE '^ *not ok ' "$log"; then
  echo
  echo "== failures (repeated from above)"
  awk -f scripts/tap-failures.awk "$log"
fi
rm -f "$log"
echo
[ -n "$signal" ] && echo "interrupted by SIG$signal: test files tap did not finish count as failed"
echo "${pass:-0} passed, ${fail} failed, $((${skip:-0} + ${todo:-0})) skipped"
[ -n "$signal" ] && exit $((128 + signum))
[ "$fail" -eq 0 ]
