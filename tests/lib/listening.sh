# Sourced by the suites that start a server on port 0 (tests/interop/run.sh,
# tests/fuzz/run.sh).
#
# wait_listening LOG PID: waits (up to 60 s) until the server PID has logged
# its "listening" line in LOG (JSON logs), then sets ADDRESS to the
# host:port it names. Fails, with the log, when the server exits first or
# never listens.
wait_listening() {
    local log="$1" pid="$2"
    ADDRESS=""
    for _ in $(seq 1 120); do
        ADDRESS="$(grep -m1 '"message":"listening"' "$log" 2>/dev/null \
            | sed -E 's/.*"address":"([^"]+)".*/\1/' || true)"
        [ -n "$ADDRESS" ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "FAIL: the server exited before listening:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "FAIL: the server did not start listening within 60 s" >&2
    tail -50 "$log" >&2
    exit 1
}
