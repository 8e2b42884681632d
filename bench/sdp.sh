#!/usr/bin/env bash
# ServiceDesk-style v3 benchmarks on a release build (server on CPU 0, wrk on
# CPU 1) over 100,000 releases: a list call with a contains search on title,
# a status filter, sorting and paging at 50 connections, and a get by id.
#   bench/sdp.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
PORT="${TOLLGATE_BENCH_PORT:-18096}"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
source bench/common.sh
bench_build

export TOLLGATE_DATABASE_URL="sqlite://$WORK/bench.db"
export TOLLGATE_ADMIN_PASSWORD="bench-password"
export TOLLGATE_LOG=warn
"$TOLLGATE_BIN" demo >/dev/null
python3 bench/seed_sdp.py "$WORK/bench.db"
KEY=$("$TOLLGATE_BIN" apikey create admin | tail -1)
TOLLGATE_LISTEN="127.0.0.1:$PORT" taskset -c 0 "$TOLLGATE_BIN" serve &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
done
BASE="http://127.0.0.1:$PORT/api/v3/releases"
INPUT='{"list_info":{"row_count":10,"start_index":21,"sort_fields":[{"field":"id","order":"desc"}],"search_criteria":[{"field":"title","condition":"contains","value":"mssql"},{"field":"status.name","condition":"is","value":"Rejected","logical_operator":"AND"}]}}'
QUERY=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$INPUT")
curl -fs -H "authtoken: $KEY" "$BASE?input_data=$QUERY" | head -c 300; echo

echo "== GET /api/v3/releases (contains search, status filter, sort, page 3), ${DURATION}s, 50 connections"
taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" --latency -H "authtoken: $KEY" "$BASE?input_data=$QUERY"

echo "== GET /api/v3/releases/{id}, ${DURATION}s, 32 connections"
taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" --latency -H "authtoken: $KEY" "$BASE/51000"
