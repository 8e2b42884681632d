#!/usr/bin/env bash
# Bounded soak run on a release build: one server (pinned to CPU 1, on a
# fresh SQLite database with the demo data, or on BENCH_PG) under a fixed
# mix of reads, writes and jobs for DURATION seconds (default 600). Reports
# per minute: requests answered, p99 latency, errors and the server's
# resident memory; fails when any answer is a 5xx (or the connection fails)
# or when memory at the end is more than 10 % above memory after the first
# two minutes (the caches' warm-up).
#   bench/soak.sh [seconds] [requests per second]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-600}"
RATE="${2:-100}"
PORT="${TOLLGATE_BENCH_PORT:-18131}"
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

source bench/common.sh
bench_build
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
export TOLLGATE_DATABASE_URL="sqlite://$WORK/soak.db"
if [ -n "${BENCH_PG:-}" ]; then
    TOLLGATE_DATABASE_URL="$BENCH_PG"
    recreate_pg "$BENCH_PG"
fi
"$TOLLGATE_BIN" demo >/dev/null
TOLLGATE_LISTEN="127.0.0.1:$PORT" taskset -c 1 "$TOLLGATE_BIN" serve &
SERVER_PID=$!
wait_ready "$PORT"
taskset -c 0 python3 bench/soak.py "$PORT" "$PASSWORD" "$SERVER_PID" "$DURATION" "$RATE"
