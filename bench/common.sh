# Shared by the benchmark scripts (sourced): the release build, a fresh
# PostgreSQL database, and waiting for a server to be ready.

# The binary the scripts run: the release build, or BENCH_BIN when set (to
# compare two builds on one machine, one after the other).
TOLLGATE_BIN="${BENCH_BIN:-./target/release/tollgate}"

# Builds the release binary the scripts run (nothing to build with BENCH_BIN).
bench_build() {
    [ -n "${BENCH_BIN:-}" ] || cargo build --release --quiet
}

# Drops and creates the database a postgres://.../NAME URL names.
recreate_pg() {
    psql "${1%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${1##*/}" -c "CREATE DATABASE ${1##*/}" >/dev/null
}

# Waits (up to 30 s) until the server on port $1 answers /readyz.
wait_ready() {
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$1/readyz" >/dev/null && return 0
        sleep 0.1
    done
    echo "the server on port $1 did not become ready" >&2
    exit 1
}
