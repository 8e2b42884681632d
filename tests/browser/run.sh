#!/usr/bin/env bash
# The release console in a real browser: starts a built tollgate with the demo
# data on a free port and a temporary SQLite database, runs the stories
# (stories.mjs: Chromium through playwright-core, accessibility through
# axe-core), writes screenshots to docs/console/, and stops the server.
#
# Needs /usr/bin/chromium (Debian's `chromium` package; .ci/run installs it)
# and Node with npm. Never downloads a browser.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    echo "FAIL: no Chromium at $CHROMIUM (apt-get install chromium chromium-driver)" >&2
    exit 1
fi

bin="${CONSOLE_TEST_BIN:-}"
if [ -z "$bin" ]; then
    echo "== building tollgate (debug)"
    cargo build --locked --bin tollgate
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/tollgate"
fi

echo "== installing the test's packages (npm ci; no browser download)"
(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2> /dev/null || true
        wait "$server_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

db="sqlite://$work/tollgate.db"
admin_password="console-admin-$$"
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"

echo "== demo data and the stories' users in $work"
TOLLGATE_ADMIN_PASSWORD="$admin_password" "$bin" demo --database "$db" --listen "127.0.0.1:$port" > "$work/demo.log" 2>&1
echo "ada-password" | "$bin" user add ada --roles sdp.technician --database "$db" > /dev/null
echo "otto-password" | "$bin" user add otto --roles sdp.technician --database "$db" > /dev/null

echo "== serving on 127.0.0.1:$port"
TOLLGATE_LOG=warn "$bin" serve --database "$db" --listen "127.0.0.1:$port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; then
        break
    fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null

echo "== stories"
status=0
TOLLGATE_URL="http://127.0.0.1:$port" \
    TOLLGATE_ADMIN_PASSWORD="$admin_password" \
    CHROMIUM="$CHROMIUM" \
    SCREENSHOTS="$root/docs/console" \
    node "$here/stories.mjs" || status=$?
if [ "$status" -ne 0 ]; then
    echo "-- server log" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
