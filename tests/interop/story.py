"""What the interoperability stories share: where the server is, the demo
records they name, and a small step runner whose checks can fail.

Each story is run by tests/interop/run.sh as `python STORY.py`, with:
  TOLLGATE_INTEROP_URL       https://127.0.0.1:PORT (the server under test)
  TOLLGATE_INTEROP_PASSWORD  the admin password
  TOLLGATE_INTEROP_RUN       a tag unique to this run (records are named by it)
  REQUESTS_CA_BUNDLE         the suite's CA certificate (requests reads it)
"""

import os
import sys
import traceback

URL = os.environ["TOLLGATE_INTEROP_URL"].rstrip("/")
HOST = URL.split("://", 1)[1]
USER = "admin"
PASSWORD = os.environ["TOLLGATE_INTEROP_PASSWORD"]
RUN = os.environ.get("TOLLGATE_INTEROP_RUN", "local")

# Demo records (docs/DEMO_DATA.md).
RITA = "dc6770ae3b97a210532fb50f23e45a33"  # release.manager, "Rita Release"
RITA_NAME = "Rita Release"
ADMIN = "6816f79cc0a8016401c5a33be04be441"

# Records each story creates: more than one page of PAGE.
COUNT = 12
PAGE = 5

# Bytes with every octet value, so an attachment that is decoded, re-encoded
# or cut anywhere does not read back equal.
FILE_BYTES = bytes(range(256)) * 3 + b"interop\r\n\x00end"


class Failed(Exception):
    pass


def check(condition, what, got=None):
    """Fails the step unless `condition`; `what` says what was expected."""
    if not condition:
        raise Failed(what if got is None else f"{what} (got {got!r})")


def equal(got, expected, what):
    if got != expected:
        raise Failed(f"{what}: expected {expected!r}, got {got!r}")


class Story:
    """Runs named steps in order; the first failing step ends the story (the
    later ones build on it). Prints one line per step and exits non-zero on a
    failure."""

    def __init__(self, client):
        self.client = client
        self.tag = f"interop {client} {RUN}"
        self.passed = 0

    def step(self, name, function):
        try:
            function()
        except Exception as error:  # noqa: BLE001 - any failure fails the step
            print(f"  FAIL {self.client}: {name}: {error}", flush=True)
            if not isinstance(error, Failed):
                traceback.print_exc()
            print(f"{self.client}: {self.passed} passed, 1 failed", flush=True)
            sys.exit(1)
        self.passed += 1
        print(f"  ok   {self.client}: {name}", flush=True)

    def done(self):
        print(f"{self.client}: {self.passed} passed, 0 failed", flush=True)
