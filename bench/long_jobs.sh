#!/usr/bin/env bash
# Long jobs at the sizes operators meet, on a release build: update-set
# commits of 10,000, 100,000 and 200,000 updates and CDM component uploads of
# 10,000 and 50,000 values. For each job: its wall time (request to final
# progress), the server's peak memory (VmHWM) and the latency of /healthz
# asked back to back while the job runs (p50, p99, max, over a fresh
# connection per probe as a liveness probe would make). The server under test
# (B) is pinned to CPU 1, so it has one async worker: the case where a job on
# that worker would stall every request. A short lease (TOLLGATE_JOB_LEASE,
# default 5 s here) shows that jobs many times longer than it finish once.
#   bench/long_jobs.sh [update-set sizes] [upload sizes]
#   bench/long_jobs.sh "10000 100000 200000" "10000 50000"
# With BENCH_TARGET_PG=postgres://USER@HOST/DB server B runs on that
# PostgreSQL database (recreated for each size) instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

SET_SIZES="${1-10000 100000 200000}"
UPLOAD_SIZES="${2-10000 50000}"
PORT_A="${TOLLGATE_BENCH_PORT:-18121}"
PORT_B=$((PORT_A + 1))
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${A_PID:-0}" "${B_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

source bench/common.sh
bench_build
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
export TOLLGATE_REMOTE_ALLOW="127.0.0.1:$PORT_A"
export TOLLGATE_JOB_LEASE="${TOLLGATE_JOB_LEASE:-5}"
# The largest set must fit the retrieval limits (a configured limit, not a
# failure for want of a lease).
export TOLLGATE_RETRIEVE_MAX_UPDATES=250000

start_b() {
    rm -f "$WORK"/b.db*
    B_URL="sqlite://$WORK/b.db"
    if [ -n "${BENCH_TARGET_PG:-}" ]; then
        B_URL="$BENCH_TARGET_PG"
        recreate_pg "$B_URL"
    fi
    TOLLGATE_DATABASE_URL="$B_URL" "$TOLLGATE_BIN" demo >/dev/null
    TOLLGATE_DATABASE_URL="$B_URL" TOLLGATE_LISTEN="127.0.0.1:$PORT_B" \
        taskset -c 1 "$TOLLGATE_BIN" serve &
    B_PID=$!
    wait_ready "$PORT_B"
}

stop_b() {
    kill "$B_PID"
    wait "$B_PID" 2>/dev/null || true
}

DATABASE="SQLite"
[ -n "${BENCH_TARGET_PG:-}" ] && DATABASE="PostgreSQL"
echo "== database: $DATABASE; job lease ${TOLLGATE_JOB_LEASE} s"
for n in $SET_SIZES; do
    set_id="beefbeefbeefbeefbeefbeef$(printf '%08d' "$n")"
    rm -f "$WORK"/a.db*
    TOLLGATE_DATABASE_URL="sqlite://$WORK/a.db" "$TOLLGATE_BIN" demo >/dev/null
    python3 bench/seed_update_set.py "$WORK/a.db" "$n" "$set_id" >/dev/null
    TOLLGATE_DATABASE_URL="sqlite://$WORK/a.db" TOLLGATE_LISTEN="127.0.0.1:$PORT_A" \
        taskset -c 0 "$TOLLGATE_BIN" serve &
    A_PID=$!
    wait_ready "$PORT_A"
    start_b
    taskset -c 0 python3 bench/long_jobs.py update_set "$PORT_A" "$PORT_B" "$PASSWORD" "$B_PID" "$n" "$set_id"
    stop_b
    kill "$A_PID"; wait "$A_PID" 2>/dev/null || true
done
for n in $UPLOAD_SIZES; do
    start_b
    taskset -c 0 python3 bench/long_jobs.py upload "$PORT_A" "$PORT_B" "$PASSWORD" "$B_PID" "$n" -
    stop_b
done
