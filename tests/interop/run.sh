#!/usr/bin/env bash
# The interoperability suite (issue 12): real ServiceNow client libraries,
# unchanged, as teams install them, each driving a running release build of
# Tollgate through a story (create, query with its query builder, page,
# update, batch update/delete, attach a file and read it back, delete) as far
# as the client offers the operation. tests/interop/README.md lists which
# client does which step.
#
#   bash tests/interop/run.sh                      # build, then SQLite
#   bash tests/interop/run.sh --binary PATH        # serve this binary
#   bash tests/interop/run.sh --postgres postgres://postgres@127.0.0.1:5432
#                                                  # a fresh PostgreSQL database
#                                                  # on that server (dropped after)
#
# It builds the release binary (`cargo build --release --locked`) unless given
# one; installs the Python clients (tests/interop/requirements.txt, pinned)
# into a venv cached under the target dir, named by the file's hash; runs
# `npm ci` in tests/interop/node (package-lock.json); makes a CA and a
# certificate for 127.0.0.1/localhost (pysnc and servicenow-rest-api refuse
# http://); serves `tollgate serve --demo` over HTTPS on a free port with a
# throwaway database; runs each story; fails on any failed story and on any
# error the server logged.
#
# Environment: TOLLGATE_INTEROP_BINARY (as --binary), TOLLGATE_INTEROP_PG (as
# --postgres), TOLLGATE_INTEROP_KEEP (a file to copy the server's log to).
set -euo pipefail
cd "$(dirname "$0")/../.."

BINARY="${TOLLGATE_INTEROP_BINARY:-}"
PG="${TOLLGATE_INTEROP_PG:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --postgres) PG="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--postgres postgres://USER@HOST:PORT]" >&2; exit 2 ;;
    esac
done

START=$SECONDS
TARGET="$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)"
if [ -z "$BINARY" ]; then
    echo "== building the release binary (cargo build --release --locked)"
    cargo build --release --locked --quiet
    BINARY="$TARGET/release/tollgate"
fi
[ -x "$BINARY" ] || { echo "FAIL: no binary at $BINARY" >&2; exit 1; }

missing=""
for tool in python3 node npm; do
    command -v "$tool" > /dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "FAIL: the interop suite needs${missing} (Debian: python3-venv nodejs npm)" >&2
    exit 1
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "FAIL: servicenow-api needs Python 3.11 or later; python3 is $(python3 --version)" >&2
    exit 1
fi

# The Python clients, pinned with everything they pull in; the venv is named
# by the file's hash and used only once its install finished (the marker).
REQUIREMENTS="tests/interop/requirements.txt"
PINS="$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
VENV="$TARGET/interop-venv-$PINS"
if [ ! -f "$VENV/.installed" ]; then
    echo "== installing the Python clients ($REQUIREMENTS) into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$REQUIREMENTS"
    touch "$VENV/.installed"
fi

echo "== installing the npm client (npm ci in tests/interop/node)"
(cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error > /dev/null)

WORK="$(mktemp -d)"
SERVER_PID=""
DATABASE=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 20); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$DATABASE" ]; then
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DATABASE" > /dev/null 2>&1 || true
    fi
    [ -n "${TOLLGATE_INTEROP_KEEP:-}" ] && cp "$WORK/server.log" "$TOLLGATE_INTEROP_KEEP" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A CA and a server certificate it signs, for 127.0.0.1 and localhost; the
# clients trust the CA (REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS).
echo "== making a certificate for 127.0.0.1 and localhost"
if command -v openssl > /dev/null; then
    (
        cd "$WORK"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Tollgate interop CA" \
            -keyout ca.key -out ca.pem 2> /dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout key.pem -out server.csr 2> /dev/null
        printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
            "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext.cnf -out cert.pem 2> /dev/null
    )
else
    # servicenow-api pulls in `cryptography`, so the venv has it.
    "$VENV/bin/python" tests/interop/make_cert.py "$WORK"
fi

if [ -n "$PG" ]; then
    command -v psql > /dev/null || { echo "FAIL: --postgres needs psql (Debian: postgresql-client)" >&2; exit 1; }
    PG="${PG%/}"
    DATABASE="tollgate_interop_$(date +%s)_$$"
    psql -q "$PG/postgres" -c "CREATE DATABASE $DATABASE" > /dev/null
    DATABASE_URL="$PG/$DATABASE"
    echo "== a fresh PostgreSQL database: $DATABASE_URL"
else
    DATABASE_URL="sqlite://$WORK/interop.db"
fi

PASSWORD="interop-admin-password"
echo "== starting $BINARY serve --demo over HTTPS"
env -u TOLLGATE_INTEROP_BINARY -u TOLLGATE_INTEROP_PG -u TOLLGATE_INTEROP_KEEP \
    TOLLGATE_ADMIN_PASSWORD="$PASSWORD" \
    TOLLGATE_LOG_FORMAT=json \
    TOLLGATE_LOG=info \
    TOLLGATE_SHUTDOWN_DRAIN=0 \
    "$BINARY" serve --demo --listen 127.0.0.1:0 --database "$DATABASE_URL" \
    --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!

source tests/lib/listening.sh
wait_listening "$WORK/server.log" "$SERVER_PID"
echo "   listening on https://$ADDRESS"

export TOLLGATE_INTEROP_URL="https://$ADDRESS"
export TOLLGATE_INTEROP_PASSWORD="$PASSWORD"
export TOLLGATE_INTEROP_RUN="$(date +%s)"
export REQUESTS_CA_BUNDLE="$WORK/ca.pem"
export NODE_EXTRA_CA_CERTS="$WORK/ca.pem"

PASSED=0
FAILED=()
story() {
    local name="$1"
    shift
    echo "== $name"
    if (cd tests/interop && timeout --kill-after=10 120 "$@"); then
        PASSED=$((PASSED + 1))
    else
        FAILED+=("$name")
    fi
}
story "pysnow 0.7.17" "$VENV/bin/python" pysnow_story.py
story "pysnc 1.2.1" "$VENV/bin/python" pysnc_story.py
story "servicenow-api 2.0.1" "$VENV/bin/python" servicenow_api_story.py
story "servicenow-rest-api 1.2.2 (npm)" node node/story.js

# The server's side: an internal error or a panic fails the run even when a
# client shrugged it off.
if grep -E '"level":"ERROR"|panicked' "$WORK/server.log" > "$WORK/errors.log"; then
    echo "== the server logged errors:"
    head -50 "$WORK/errors.log"
    FAILED+=("server log")
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "FAIL: the server died during the run" >&2
    tail -50 "$WORK/server.log" >&2
    FAILED+=("server")
fi

echo "== interop suite on $([ -n "$DATABASE" ] && echo PostgreSQL || echo SQLite): $((SECONDS - START)) s"
echo "interop: ${PASSED} passed, ${#FAILED[@]} failed"
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "FAIL: ${FAILED[*]}" >&2
    exit 1
fi
