#!/usr/bin/env bash
# Benchmarks a release build with wrk: the server pinned to CPU 0, the load
# generator to CPU 1, on a fresh SQLite database with the demo data (with
# BENCH_TARGET_PG=postgres://USER@HOST/DB, that database, recreated).
#   bench/run.sh [seconds] [connections] [runs]
# Each GET run is reported; take the median (the machine is a shared VM and
# single runs vary by +-20%).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-15}"
CONNECTIONS="${2:-32}"
RUNS="${3:-3}"
PORT="${TOLLGATE_BENCH_PORT:-18099}"
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
source bench/common.sh
bench_build

export TOLLGATE_DATABASE_URL="sqlite://$WORK/bench.db"
if [ -n "${BENCH_TARGET_PG:-}" ]; then
    # PostgreSQL instead (the database recreated); its processes are not pinned.
    export TOLLGATE_DATABASE_URL="$BENCH_TARGET_PG"
    recreate_pg "$BENCH_TARGET_PG"
fi
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
"$TOLLGATE_BIN" demo >/dev/null
TOLLGATE_LISTEN="127.0.0.1:$PORT" taskset -c 0 "$TOLLGATE_BIN" serve &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
done

AUTH="Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64)"
BASE="http://127.0.0.1:$PORT"
CALENDAR="d3d1f3b4ff60ba10509cffffffffffa8"

# Warm-up: the first request pays the one Argon2 check that fills the
# credential cache.
curl -fs -o /dev/null -H "$AUTH" "$BASE/api/now/table/sn_dpr_model_release_calendar/$CALENDAR"

for run in $(seq 1 "$RUNS"); do
    echo "== GET /api/now/table/sn_dpr_model_release_calendar/{sys_id} (Basic auth), run $run, ${DURATION}s, ${CONNECTIONS} connections"
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$AUTH" \
        "$BASE/api/now/table/sn_dpr_model_release_calendar/$CALENDAR"
done

cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic $(printf 'admin:%s' "$PASSWORD" | base64)"
wrk.body = '{"name": "Bench calendar", "releaseAdmin": "dc6770ae3b97a210532fb50f23e45a33", "description": "created by bench/run.sh"}'
LUA
echo "== POST /api/sn_dpr/digital_product_release/release_calendar (Basic auth), ${DURATION}s, ${CONNECTIONS} connections"
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" \
    "$BASE/api/sn_dpr/digital_product_release/release_calendar"

# A write into a searched table: every user inserted goes into the text
# indexes of user_name, name and email (trigrams and, on SQLite, word pieces).
cat > "$WORK/post_user.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic $(printf 'admin:%s' "$PASSWORD" | base64)"
local n = 0
local run = math.random(1000000000)
request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, string.format(
        '{"user_name": "bench.%d.%d", "name": "Bench Person %d", "email": "bench.%d.%d@example.com"}',
        run, n, n, run, n))
end
LUA
echo "== POST /api/now/table/sys_user (Basic auth), ${DURATION}s, ${CONNECTIONS} connections"
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post_user.lua" \
    "$BASE/api/now/table/sys_user"

echo "== answers were successful:"
curl -s -o /dev/null -w "GET %{http_code}\n" -H "$AUTH" "$BASE/api/now/table/sn_dpr_model_release_calendar/$CALENDAR"
curl -s -H "$AUTH" "$BASE/metrics" | grep -E 'tollgate_http_requests_total.*(release_calendar|table/\{table\}/\{sys_id\})' || true
