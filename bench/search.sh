#!/usr/bin/env bash
# Searches and aggregates without the answer cache's help, with writes running
# alongside, on a release build: the server on CPU 0; wrk (one thread, 32
# connections) and the writer on CPU 1.
#   - v3 release list, title contains a different term on every request, with
#     the total count (bench/search.lua, SEARCH=v3);
#   - Table API sys_user list with nameLIKE a different term on every request
#     (SEARCH=table);
#   - DPR bundle with aggregates over 1,000 releases (same request each time:
#     the writes are what make it miss the cache). SQLite only: its data set
#     (bench/seed_dpr.py) is written with SQLite.
# Each runs with the writer at each rate (writes/s): users created for the
# searches, approvals of the bundle's tasks flipped for the bundle. Per size
# (releases and users seeded, bench/seed_search.py), it prints the seeding
# time, requests/s and p99 of every run and the server's peak memory (VmHWM).
#   bench/search.sh [sizes] [seconds] [rates]
#   bench/search.sh "10000 100000 1000000" 10 "0 10 100"
# With BENCH_TARGET_PG=postgres://USER@HOST/DB the server uses that database
# (recreated for each size) instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${1-100000}"
DURATION="${2-10}"
RATES="${3-0 10 100}"
PORT="${TOLLGATE_BENCH_PORT:-18131}"
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

source bench/common.sh
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
bench_build
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
AUTH="Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64)"

# One wrk run with the writer alongside; prints "requests/s p99 non-2xx".
measure() { # $1 rate, $2 writer kind, $3 url, rest: extra wrk arguments
    local rate="$1" kind="$2" url="$3"
    shift 3
    taskset -c 1 python3 bench/writer.py "$PORT" "$rate" "$DURATION" "$kind" "admin:$PASSWORD" \
        >"$WORK/writer.out" &
    local writer=$!
    taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" --latency -H "$AUTH" "$@" "$url" >"$WORK/wrk.out"
    wait "$writer"
    local rps p99 bad
    rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
    bad=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.out")
    printf '%-8s writes/s %4s: %10s requests/s, p99 %8s, non-2xx %s; %s\n' \
        "$kind" "$rate" "$rps" "$p99" "${bad:-0}" "$(cat "$WORK/writer.out")"
}

DATABASE="SQLite"
[ -n "${BENCH_TARGET_PG:-}" ] && DATABASE="PostgreSQL"
for n in $SIZES; do
    rm -f "$WORK"/bench.db*
    URL="sqlite://$WORK/bench.db"
    if [ -n "${BENCH_TARGET_PG:-}" ]; then
        URL="$BENCH_TARGET_PG"
        recreate_pg "$URL"
    fi
    TOLLGATE_DATABASE_URL="$URL" "$TOLLGATE_BIN" demo >/dev/null
    echo "== $DATABASE, $n releases and $n users"
    python3 bench/seed_search.py "$URL" "$n" "$WORK/words.txt"
    [ "$DATABASE" = SQLite ] && python3 bench/seed_dpr.py "$WORK/bench.db"
    TOLLGATE_DATABASE_URL="$URL" TOLLGATE_LISTEN="127.0.0.1:$PORT" \
        taskset -c 0 "$TOLLGATE_BIN" serve &
    SERVER_PID=$!
    wait_ready "$PORT"
    curl -fs -o /dev/null -H "$AUTH" "http://127.0.0.1:$PORT/api/now/table/sys_user?sysparm_limit=1"
    for rate in $RATES; do
        WORDS="$WORK/words.txt" SEARCH=v3 measure "$rate" user \
            "http://127.0.0.1:$PORT" -s bench/search.lua
        WORDS="$WORK/words.txt" SEARCH=table measure "$rate" user \
            "http://127.0.0.1:$PORT" -s bench/search.lua
        if [ "$DATABASE" = SQLite ]; then
            measure "$rate" task \
                "http://127.0.0.1:$PORT/api/sn_dpr/digital_product_release/bundle/bbbb0000000000000000000000000001?sendAggregation=true"
        fi
    done
    echo "peak memory (VmHWM): $(awk '/VmHWM/ {print $2, $3}' "/proc/$SERVER_PID/status")"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
done
