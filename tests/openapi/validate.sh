#!/usr/bin/env bash
# Validates Tollgate's OpenAPI document with a standard validator,
# openapi-spec-validator (pinned in tests/openapi/requirements.txt, installed
# once into a cached venv). The document validated is
# tests/snapshots/openapi.json, which the `openapi_document` test keeps equal
# to what /openapi.json serves. As a check on the check, a copy with a
# templated path's parameters removed must be refused.
#   tests/openapi/validate.sh
# Environment: TOLLGATE_FUZZ_CACHE (where the venv lives; shared with the fuzzer).
set -euo pipefail
cd "$(dirname "$0")/../.."

REQUIREMENTS="tests/openapi/requirements.txt"
PINS="$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
CACHE="${TOLLGATE_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-fuzz}"
VENV="$(mkdir -p "$CACHE" && cd "$CACHE" && pwd)/openapi-venv-$PINS"

# A venv is used only once its install finished (the marker).
if [ ! -f "$VENV/.installed" ]; then
    echo "== installing openapi-spec-validator ($REQUIREMENTS) into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$REQUIREMENTS"
    touch "$VENV/.installed"
fi

"$VENV/bin/python" - tests/snapshots/openapi.json <<'PY'
import copy
import json
import sys

from openapi_spec_validator import validate

document = json.load(open(sys.argv[1]))
validate(document)
print(f"== the OpenAPI document is valid ({len(document['paths'])} paths)")

# The check can fail: without its path parameters, a templated path is invalid.
broken = copy.deepcopy(document)
path = next(p for p in broken["paths"] if "{" in p)
for operation in broken["paths"][path].values():
    if isinstance(operation, dict):
        operation["parameters"] = [
            p for p in operation.get("parameters", []) if p.get("in") != "path"
        ]
try:
    validate(broken)
except Exception:
    print(f"== and a copy without the path parameters of {path} is refused, as it must be")
else:
    sys.exit(f"FAIL: the validator accepted {path} without its path parameters")
PY
