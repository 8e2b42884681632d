#!/usr/bin/env bash
# The release console on a release build, server pinned to CPU 0 and wrk to
# CPU 1, signed in as admin through the sign-in form (session cookie): the
# pages a release manager opens most, over the DPR data set of bench/dpr.sh
# (1,000 releases in progress, each with tasks, enhancements and policy
# results) on top of the demo data. Prints each page's size and wrk's
# requests/s and latency (p50, p99). The answer cache does not serve console
# pages, so every request renders.
#   bench/console.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-8}"
CONNECTIONS="${2:-8}"
PORT="${TOLLGATE_BENCH_PORT:-18098}"
PASSWORD="bench-password"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

source bench/common.sh
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
bench_build

export TOLLGATE_DATABASE_URL="sqlite://$WORK/bench.db"
export TOLLGATE_ADMIN_PASSWORD="$PASSWORD"
export TOLLGATE_LOG=warn
"$TOLLGATE_BIN" demo >/dev/null
python3 bench/seed_dpr.py "$WORK/bench.db"
TOLLGATE_LISTEN="127.0.0.1:$PORT" taskset -c 0 "$TOLLGATE_BIN" serve &
SERVER_PID=$!
wait_ready "$PORT"
BASE="http://127.0.0.1:$PORT"

# Sign in as a person does: the form's double-submit token, then the post.
JAR="$WORK/cookies"
TOKEN=$(curl -fs -c "$JAR" "$BASE/console/sign-in" \
    | sed -nE 's/.*name="csrf_token" value="([^"]+)".*/\1/p' | head -1)
curl -fs -o /dev/null -b "$JAR" -c "$JAR" "$BASE/console/sign-in" \
    --data-urlencode "csrf_token=$TOKEN" --data-urlencode "next=/console" \
    --data-urlencode "user_name=admin" --data-urlencode "password=$PASSWORD"
SESSION=$(awk '$6 == "tollgate_console" {print $7}' "$JAR")
[ -n "$SESSION" ] || { echo "FAIL: sign-in gave no session cookie" >&2; exit 1; }
COOKIE="Cookie: tollgate_console=$SESSION"

for page in "/console" "/console/releases" "/console/releases?page=10" \
    "/console/releases?state=in_progress&page=20" "/console/servicedesk"; do
    size=$(curl -fs -o /dev/null -w '%{size_download}' -H "$COOKIE" "$BASE$page")
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$COOKIE" "$BASE$page")
    printf '%-45s %7s bytes  %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$page" "$size" \
        "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
        "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
        "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
done
