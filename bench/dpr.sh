#!/usr/bin/env bash
# Digital Product Release benchmarks on a release build, server pinned to CPU 0
# and wrk to CPU 1: the bundle endpoint with aggregates over 1,000 releases,
# the policy status of a release of 20 products x 10 policies, and the wall
# time of a policy run over those 200 evaluations.
#   bench/dpr.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
PORT="${TOLLGATE_BENCH_PORT:-18097}"
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
source bench/common.sh
bench_build

export TOLLGATE_DATABASE_URL="sqlite://$WORK/bench.db"
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
"$TOLLGATE_BIN" demo >/dev/null
python3 bench/seed_dpr.py "$WORK/bench.db"
TOLLGATE_LISTEN="127.0.0.1:$PORT" taskset -c 0 "$TOLLGATE_BIN" serve &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
done
AUTH="Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64)"
BASE="http://127.0.0.1:$PORT/api/sn_dpr/digital_product_release"
curl -fs -o /dev/null -H "$AUTH" "$BASE/bundle/bbbb0000000000000000000000000001"

echo "== GET bundle/{id}?sendAggregation=true (1,000 releases), ${DURATION}s, ${CONNECTIONS} connections"
curl -fs -H "$AUTH" "$BASE/bundle/bbbb0000000000000000000000000001?sendAggregation=true" | head -c 400 || true; echo
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$AUTH" \
    "$BASE/bundle/bbbb0000000000000000000000000001?sendAggregation=true"

echo "== GET releases/{id}/policies/status (20 products x 10 policies), ${DURATION}s, ${CONNECTIONS} connections"
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$AUTH" \
    "$BASE/releases/cccc0000000000000000000000000001/policies/status"

echo "== POST release/{id}/policies/run (200 evaluations): time until the job reports success"
python3 - "$PORT" "$PASSWORD" <<'PY'
import base64, json, sys, time, urllib.request
port, password = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
base = f"http://127.0.0.1:{port}"
def call(method, path):
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": auth, "Accept": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
for attempt in range(3):
    start = time.perf_counter()
    call("POST", "/api/sn_dpr/digital_product_release/release/cccc0000000000000000000000000001/policies/run")
    jobs = call("GET", "/api/now/table/sys_progress_worker?sysparm_query=name=dpr.run_policies^ORDERBYDESCsys_id&sysparm_limit=1")
    job = jobs["result"][0]["sys_id"]
    while True:
        p = call("GET", f"/api/sn_cicd/progress/{job}")["result"]
        if p["status"] in ("2", "3"):
            break
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    print(f"run {attempt + 1}: {p['status_label']} in {elapsed * 1000:.0f} ms ({p['status_message']})")
PY
