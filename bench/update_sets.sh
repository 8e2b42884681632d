#!/usr/bin/env bash
# CI/CD update-set benchmark on a release build: two local servers (A, the
# source, pinned to CPU 0; B, the target, pinned to CPU 1). A holds a
# complete update set of N updates (default 10,000 new properties); B
# retrieves it over HTTP, previews it and commits it, then backs it out.
# Prints the wall time of each job, from the request to the progress
# reporting Successful.
#   bench/update_sets.sh [updates] [runs]
# With BENCH_TARGET_PG=postgres://USER@HOST/DB, server B (the
# target) runs on that PostgreSQL database (recreated each run) instead of
# SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

UPDATES="${1:-10000}"
RUNS="${2:-3}"
PORT_A="${TOLLGATE_BENCH_PORT:-18101}"
PORT_B=$((PORT_A + 1))
PASSWORD="bench-password"
SET_ID="beefbeefbeefbeefbeefbeefbeef0001"
WORK="$(mktemp -d)"
trap 'kill "${A_PID:-0}" "${B_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

source bench/common.sh
bench_build
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
export TOLLGATE_REMOTE_ALLOW="127.0.0.1:$PORT_A"

TOLLGATE_DATABASE_URL="sqlite://$WORK/a.db" "$TOLLGATE_BIN" demo >/dev/null
python3 bench/seed_update_set.py "$WORK/a.db" "$UPDATES" "$SET_ID"
TOLLGATE_DATABASE_URL="sqlite://$WORK/a.db" TOLLGATE_LISTEN="127.0.0.1:$PORT_A" \
    taskset -c 0 "$TOLLGATE_BIN" serve &
A_PID=$!

start_b() {
    rm -f "$WORK"/b.db*
    B_URL="sqlite://$WORK/b.db"
    if [ -n "${BENCH_TARGET_PG:-}" ]; then
        B_URL="$BENCH_TARGET_PG"
        psql "${B_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${B_URL##*/}" -c "CREATE DATABASE ${B_URL##*/}" >/dev/null
    fi
    TOLLGATE_DATABASE_URL="$B_URL" "$TOLLGATE_BIN" demo >/dev/null
    TOLLGATE_DATABASE_URL="$B_URL" TOLLGATE_LISTEN="127.0.0.1:$PORT_B" \
        taskset -c 1 "$TOLLGATE_BIN" serve &
    B_PID=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT_B/readyz" >/dev/null && curl -fs "http://127.0.0.1:$PORT_A/readyz" >/dev/null && break
        sleep 0.1
    done
}

for run in $(seq 1 "$RUNS"); do
    start_b
    python3 - "$PORT_A" "$PORT_B" "$PASSWORD" "$SET_ID" "$UPDATES" <<'PY'
import base64, json, sys, time, urllib.request
port_a, port_b, password, set_id, n = sys.argv[1:6]
auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
b = f"http://127.0.0.1:{port_b}"
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(b + path, method=method, data=data,
        headers={"Authorization": auth, "Accept": "application/json", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
source = call("POST", "/api/now/table/sys_update_set_source", {
    "name": "bench source", "url": f"http://127.0.0.1:{port_a}", "username": "admin", "password": password})["result"]["sys_id"]
def timed(label, path):
    start = time.perf_counter()
    progress = call("POST", path)["result"]["links"]["progress"]["id"]
    while True:
        p = call("GET", f"/api/sn_cicd/progress/{progress}")["result"]
        if p["status"] in ("2", "3"):
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    if p["status"] != "2":
        sys.exit(f"{label} failed: {p['error']}")
    print(f"  {label:<10} {elapsed * 1000:8.0f} ms   {p['status_detail']}")
    return p, elapsed
print(f"== run: {n} updates")
p, t1 = timed("retrieve", f"/api/sn_cicd/update_set/retrieve?update_set_id={set_id}&update_source_id={source}")
remote = p["links"]["results"]["id"]
_, t2 = timed("preview", f"/api/sn_cicd/update_set/preview/{remote}")
p, t3 = timed("commit", f"/api/sn_cicd/update_set/commit/{remote}")
local = p["links"]["results"]["id"]
print(f"  {'total':<10} {(t1 + t2 + t3) * 1000:8.0f} ms   (target: under 5,000 ms)")
_, t4 = timed("back out", f"/api/sn_cicd/update_set/back_out?update_set_id={local}")
print(f"  (back out target: under 2,000 ms)")
PY
    kill "$B_PID"; wait "$B_PID" 2>/dev/null || true
done
