#!/bin/bash
# Validates KCIDB documents (uring-matrix --kcidb PATH) with kcidb-io's own schema code, the
# package KernelCI's submission tools check with, and checks that broken copies of each are
# rejected (ci/kcidb/validate.py says which).
#
#   ci/kcidb-check.sh [DOC.json...]     (default: ci/out/kcidb.json, the last matrix run's)
#
# kcidb-io (PyPI, version KCIDB_IO_VERSION, default 141) is installed once into a venv in
# ${URING_CACHE:-/var/cache/uring-conformance}/kcidb/venv-VERSION (python3-venv is installed
# when missing, as root).
# Exit status: 0 every document valid and every broken copy rejected, 1 otherwise, 2 bad
# arguments or a file that is not JSON, 77 kcidb-io could not be installed (no PyPI here).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -gt 0 ] || set -- ci/out/kcidb.json
for f in "$@"; do
    [ -f "$f" ] || { echo "kcidb-check: $f: no such file (see --help)" >&2; exit 2; }
done

VERSION=${KCIDB_IO_VERSION:-141}
CACHE=${URING_CACHE:-/var/cache/uring-conformance}
[ -w "$CACHE" ] || CACHE=ci/cache
VENV=$CACHE/kcidb/venv-$VERSION
log() { echo "kcidb-check: $*" >&2; }

if [ ! -e "$VENV/.done" ]; then
    mkdir -p "$CACHE/kcidb"
    exec 9>"$CACHE/kcidb/lock"
    flock 9
    if [ ! -e "$VENV/.done" ]; then
        log "making a venv with kcidb-io==$VERSION in $VENV (once)"
        rm -rf "$VENV"
        if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            [ "$(id -u)" = 0 ] || { log "python3 -m venv failed; install python3-venv"; exit 1; }
            apt-get -o DPkg::Lock::Timeout=600 -q -y install python3-venv >&2
            rm -rf "$VENV"
            python3 -m venv "$VENV"
        fi
        if ! "$VENV/bin/pip" install -q "kcidb-io==$VERSION" >&2; then
            rm -rf "$VENV"
            log "kcidb-io==$VERSION could not be installed from PyPI: nothing validated"
            exit 77
        fi
        touch "$VENV/.done"
    fi
    exec 9>&-
fi
exec "$VENV/bin/python" ci/kcidb/validate.py "$@"
