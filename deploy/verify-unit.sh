#!/bin/sh
# Checks deploy/tollgate.service with `systemd-analyze verify`. The unit names
# /usr/local/bin/tollgate, which verify requires to exist; this checks a copy
# naming the binary given (default: target/release/tollgate). verify reports
# some mistakes (an unknown value) only as a warning with exit status 0, so
# any output fails the check too.
set -eu
here=$(dirname "$0")
binary=$(realpath "${1:-$here/../target/release/tollgate}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/tollgate|$binary|" "$here/tollgate.service" > "$work/tollgate.service"
out=$(systemd-analyze verify "$work/tollgate.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
    echo "$out"
    exit 1
fi
echo "deploy/tollgate.service: systemd-analyze verify found nothing to report"
