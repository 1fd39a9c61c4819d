#!/usr/bin/env bash
# Builds everything in Release (warnings are errors), checks formatting, and runs every test.
# Installs the Debian packages the tests need (ffmpeg, Node.js, Chromium, dnsmasq, PostgreSQL, ...) when missing
# and running as root, and the npm clients the tests drive (tests/node, from its lock file).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prereqs.sh

ensure_commands ffmpeg:ffmpeg ffprobe:ffmpeg curl:curl strace:strace node:nodejs npm:npm \
  chromium:chromium dnsmasq:dnsmasq-base ip:iproute2 prometheus:prometheus promtool:prometheus \
  systemd-analyze:systemd dpkg-deb:dpkg

echo "== npm clients (tests/node)"
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)

echo "== web app (web/: npm ci, build into web/dist, ABR rule tests)"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent && node --test test/)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "== build (Release)"
dotnet build OpenConnect.sln -c Release -nologo -v quiet

echo "== format check"
dotnet format OpenConnect.sln --verify-no-changes --no-restore -v quiet

echo "== PostgreSQL (a throwaway cluster for the tests, stopped at the end)"
pg_dir="/tmp/openconnect-test-pg-$$"
# Installed before the start, so an interrupted or failed start is stopped and deleted too.
trap 'scripts/postgres.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
OPENCONNECT_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir")
export OPENCONNECT_TEST_POSTGRES

echo "== tests"
results="TestResults/$(date +%Y%m%d-%H%M%S)"
status=0
dotnet test OpenConnect.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

# One closing line over every test assembly, read from the TRX counters.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  nx=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${nx:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the runner failed without a counted test failure (crash, abort): never report green
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
