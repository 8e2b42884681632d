#!/usr/bin/env bash
# Configuration Data Management benchmarks on a release build (server pinned
# to CPU 0): the commit of a changeset of about 10,000 node changes (one
# uploaded component of 9,980 CDIs included in 20 deployables), timed from
# the commit request to commit-status "completed", snapshots of the 20
# deployables included; and the export of a deployable of 5,000 resolved
# CDIs, timed from the export request to its content in hand.
#   bench/cdm.sh [runs]
# With BENCH_PG=postgres://USER@HOST/DB the server runs on that PostgreSQL
# database (recreated) instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${1:-3}"
PORT="${TOLLGATE_BENCH_PORT:-18111}"
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

source bench/common.sh
bench_build
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
export TOLLGATE_DATABASE_URL="sqlite://$WORK/bench.db"
if [ -n "${BENCH_PG:-}" ]; then
    TOLLGATE_DATABASE_URL="$BENCH_PG"
    psql "${BENCH_PG%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${BENCH_PG##*/}" -c "CREATE DATABASE ${BENCH_PG##*/}" >/dev/null
fi
TOLLGATE_LISTEN="127.0.0.1:$PORT" taskset -c 0 "$TOLLGATE_BIN" serve &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
done

taskset -c 1 python3 - "$PORT" "$PASSWORD" "$RUNS" <<'PY'
import base64, json, sys, time, urllib.parse, urllib.request
port, password, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, method=method, data=data, headers={
        "Authorization": auth, "Accept": "application/json",
        "Content-Type": "text/plain" if raw is not None else "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None
def wait(path, done):
    while True:
        r = call("GET", path)["result"]
        if done(r):
            return r
        time.sleep(0.005)
q = urllib.parse.quote

def prepare(app, deployables, leaves):
    call("POST", "/api/now/table/sn_cdm_application", {"name": app})
    app_id = call("GET", f"/api/now/table/sn_cdm_application?sysparm_query=name={app}")["result"][0]["sys_id"]
    call("POST", f"/api/sn_cdm/applications/deployables/create?appSysId={app_id}&envType=Development&quantity={deployables}")
    number = call("POST", f"/api/sn_cdm/changesets/create?appName={app}")["result"]["number"]
    groups = {f"group{g:03d}": {f"key{k:03d}": f"value {g}-{k} @@region@@" for k in range(leaves // 20)} for g in range(20)}
    upload = call("POST", f"/api/sn_cdm/applications/uploads/components?appName={app}&namePath=service&dataFormat=json&changesetNumber={number}",
                  raw=json.dumps(groups).encode())["result"]["upload_id"]
    r = wait(f"/api/sn_cdm/applications/upload-status/{upload}", lambda r: r["state"] in ("completed", "error"))
    assert r["state"] == "completed", r
    for d in range(1, deployables + 1):
        call("POST", f"/api/sn_cdm/editor/includes?changesetNumber={number}&sourceFullNamePath={q('/' + app + '/components/service')}&targetFullNamePath={q(f'/{app}/deployables/Development_{d}')}")
    return number

for run in range(1, runs + 1):
    app = f"bench{run}"
    number = prepare(app, 20, 9980)
    start = time.perf_counter()
    commit = call("PUT", f"/api/sn_cdm/changesets/commit?changesetNumber={number}&autoValidate=true&publishOption=publish_valid")["result"]["commit_id"]
    r = wait(f"/api/sn_cdm/changesets/commit-status/{commit}", lambda r: r["state"] in ("completed", "error"))
    elapsed = time.perf_counter() - start
    assert r["state"] == "completed", r
    changes = len(call("GET", f"/api/sn_cdm/changesets/activity?changesetNumber={number}&returnFields=sys_id")["result"])
    print(f"run {run}: commit of {changes} node changes with 20 deployable snapshots: {elapsed * 1000:.0f} ms (target < 2,000 ms)")

    export_app = f"export{run}"
    number = prepare(export_app, 1, 5000)
    commit = call("PUT", f"/api/sn_cdm/changesets/commit?changesetNumber={number}&autoValidate=true&publishOption=publish_valid")["result"]["commit_id"]
    wait(f"/api/sn_cdm/changesets/commit-status/{commit}", lambda r: r["state"] in ("completed", "error"))
    for fmt in ("json", "yaml", "properties"):
        start = time.perf_counter()
        export = call("POST", f"/api/sn_cdm/applications/deployables/exports?appName={export_app}&deployableName=Development_1&exporterName=bench&dataFormat={fmt}")["result"]["export_id"]
        wait(f"/api/sn_cdm/applications/deployables/exports/{export}/status", lambda r: r["state"] in ("completed", "error"))
        content = call("GET", f"/api/sn_cdm/applications/deployables/exports/{export}/content")["result"]["exporter_result"]
        elapsed = time.perf_counter() - start
        size = len(json.dumps(content))
        print(f"run {run}: export of 5,000 resolved CDIs as {fmt}: {elapsed * 1000:.0f} ms ({size} bytes; target < 200 ms)")
PY
