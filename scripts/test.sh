#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, type-checks,
# checks the generated protobuf code, runs every tap test (which start their own
# nats-server and gateways on free loopback ports), and ends with
# "N passed, N failed, N skipped". Extra arguments go to tap (e.g. a test file).
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
if [ -L node_modules ]; then
  # A shared install (e.g. a git worktree linking another checkout's node_modules):
  # npm ci would empty the install it points to. Use it as it is.
  echo "node_modules is a link to a shared install: not reinstalling"
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || { echo "0 passed, 1 failed"; exit 1; }
fi

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

failed_steps=0
step "typecheck (tsc --noEmit)"
npx tsc --noEmit -p . || failed_steps=$((failed_steps + 1))

step "generated protobuf code is current"
node scripts/gen-proto.js --check || failed_steps=$((failed_steps + 1))

step "tap plugins"
# tap 21 ships built with its TypeScript plugin (ts-node); package.json disables it and
# loads tsx instead. tap rebuilds itself for that only after a first run, so a fresh
# install would run its first test pass with the wrong loader: build it now.
npx tap build >/dev/null || failed_steps=$((failed_steps + 1))

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
npx tap "${args[@]}" 2>&1 | tee "$log"
tap_rc=${PIPESTATUS[0]}

summary=$(grep -E '^# \{ total:' "$log" | tail -n 1)
num() { echo "$summary" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+' || echo 0; }
pass=$(num pass); fail=$(num fail); skip=$(num skip); todo=$(num todo)
[ -n "$summary" ] || fail=$((fail + 1))
# tap exits non-zero for a failing or crashed test file even when no assertion failed
if [ "$tap_rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
fail=$((fail + failed_steps))
# CI keeps only the tail of the output: repeat every failing assertion there, with the
# test file and subtests it sits in and the start of its diagnostics (bounded).
if grep -qE '^ *not ok ' "$log"; then
  echo
  echo "== failures (repeated from above)"
  awk -f scripts/tap-failures.awk "$log"
fi
rm -f "$log"
echo
echo "${pass:-0} passed, ${fail} failed, $((${skip:-0} + ${todo:-0})) skipped"
[ "$fail" -eq 0 ]
