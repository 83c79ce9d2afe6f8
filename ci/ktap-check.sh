#!/bin/bash
# Checks the suite's console KTAP (`--ktap`) with the parsers labs read it with, against the
# same run's JSON report (ci/ktap-check.py compares):
#   - the kernel's tools/testing/kunit/kunit_parser.py (counts),
#   - LAVA test-definitions' automated/linux/kselftest/parse-output.py, on the console as
#     printed and on the log of the suite run by the kernel's own
#     tools/testing/selftests/run_kselftest.sh (as LAVA's kselftest test feeds it), every
#     case's and interface's result.
#
#   ci/ktap-check.sh [--binary PATH] [-- SUITE-ARGS]   run the suite (built with cargo when
#                                         not given) twice: alone and under run_kselftest.sh
#   ci/ktap-check.sh RUN.ktap RUN.jsonl   check a KTAP document (--ktap's stdout or a
#                                         --report-ktap file) and its run's --report-json
#
# The kernel's tools: KUNIT_DIR (a tools/testing/kunit dir; then no runner check), else the
# newest linux-source tree ci/build-kernel.sh extracted in the cache (kernel/src-*), else the
# newest linux-source .deb in the cache's debs/ (LINUX_SOURCE_DEB overrides; only tools/testing
# is unpacked), else that .deb downloaded as ci/build-kernel.sh does. LAVA's parser: a clone
# of test-definitions at the pinned commit below, kept in the cache's lava/ (cloned from
# TEST_DEFINITIONS_URL, default GitHub, when missing); its python3-tap is installed with apt
# when missing. Cache: ${URING_CACHE:-/var/cache/uring-conformance}.
# Exit status: 0 both parsers agree with the report, 1 a mismatch or a failed step, 2 bad
# arguments, 77 a parser could not be had here (the reason on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${URING_CACHE:-/var/cache/uring-conformance}
TD_URL=${TEST_DEFINITIONS_URL:-https://github.com/Linaro/test-definitions.git}
# test-definitions' master of 2026-06-24; parse-output.py as of 2025-06-05 (81eaa219).
TD_COMMIT=4212946b414ed0a3d305e054f973d423ef0e00b9
PY=/usr/bin/python3 # Debian's, which apt's python3-tap is installed for
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in ci/ (lab_report.py is imported)
START=$(date +%s)
say() { echo "ktap-check: $* ($(($(date +%s) - START)) s)" >&2; }
cannot() { echo "ktap-check: $*" >&2; exit 77; }
bad_arg() { echo "ktap-check: $* (see --help)" >&2; exit 2; }

BIN=
FILES=()
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --) shift; ARGS=("$@"); break ;;
    --binary) [ $# -ge 2 ] || bad_arg "--binary needs a path"; BIN=$(realpath -- "$2"); shift 2 ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) bad_arg "unknown option $1" ;;
    *) FILES+=("$1"); shift ;;
    esac
done
case ${#FILES[@]} in
0) ;;
2) if [ -n "$BIN" ] || [ ${#ARGS[@]} != 0 ]; then bad_arg "--binary and -- run the suite: give no files with them"; fi ;;
*) bad_arg "give RUN.ktap RUN.jsonl, or no files" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. python3 with the tap module LAVA's parser imports.
if ! "$PY" -c 'import tap' 2>/dev/null; then
    say "installing python3-tap (LAVA's kselftest parser reads TAP with it)"
    apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install python3-tap >/dev/null ||
        cannot "python3-tap could not be installed"
fi

# 2. The kernel's tools/testing (kunit_parser, kselftest's runner).
TOOLS=
if [ -n "${KUNIT_DIR:-}" ]; then
    KUNIT=$KUNIT_DIR
else
    src=$(find "$CACHE/kernel" -maxdepth 1 -name 'src-*' -type d 2>/dev/null | sort -V | tail -n1 || true)
    if [ -n "$src" ] && [ -f "$src/tools/testing/kunit/kunit_parser.py" ]; then
        TOOLS=$src/tools/testing
    else
        deb=${LINUX_SOURCE_DEB:-$(find "$CACHE/debs" -maxdepth 1 -name 'linux-source-*_all.deb' 2>/dev/null | sort -V | tail -n1 || true)}
        if [ -z "$deb" ]; then
            say "downloading linux-source-7.2 (for tools/testing)"
            deb=$(cargo run --quiet --release -p uring-matrix --bin uring-matrix -- \
                fetch-deb sid linux-source-7.2 "$CACHE/debs") || cannot "no linux-source .deb could be had"
        fi
        say "unpacking tools/testing from $(basename "$deb")"
        member=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -E '^\./usr/src/linux-source-[0-9.]+\.tar\.xz$')
        mkdir "$tmp/linux"
        dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$member" |
            tar -xJf - -C "$tmp/linux" --strip-components=1 --wildcards '*/tools/testing/kunit/*' \
                '*/tools/testing/selftests/kselftest/*' '*/tools/testing/selftests/run_kselftest.sh'
        TOOLS=$tmp/linux/tools/testing
    fi
    KUNIT=$TOOLS/kunit
fi
[ -f "$KUNIT/kunit_parser.py" ] || cannot "no kunit_parser.py in $KUNIT"

# 3. LAVA's kselftest parser, from test-definitions at the pinned commit.
TD=$CACHE/lava/test-definitions
if ! git -C "$TD" cat-file -e "$TD_COMMIT^{commit}" 2>/dev/null; then
    say "cloning test-definitions from $TD_URL"
    rm -rf "$TD.part"
    mkdir -p "$(dirname "$TD")"
    if [ -d "$TD" ]; then
        git -C "$TD" fetch -q "$TD_URL" || cannot "git fetch $TD_URL failed: LAVA's parser is not here"
    else
        git clone -q --no-checkout "$TD_URL" "$TD.part" || cannot "git clone $TD_URL failed: LAVA's parser is not here"
        mv "$TD.part" "$TD"
    fi
    git -C "$TD" cat-file -e "$TD_COMMIT^{commit}" || cannot "$TD_URL has no commit $TD_COMMIT"
fi
git -C "$TD" show "$TD_COMMIT:automated/linux/kselftest/parse-output.py" >"$tmp/parse-output.py"

# 4. The run(s), then the comparison.
if [ ${#FILES[@]} = 2 ]; then
    exec "$PY" ci/ktap-check.py --kunit-dir "$KUNIT" --parse-output "$tmp/parse-output.py" "${FILES[@]}"
fi
if [ -z "$BIN" ]; then
    say "building uring-conformance"
    cargo build -q -p uring-conformance --bin uring-conformance
    BIN=$ROOT/target/debug/uring-conformance
fi
# The documented statuses of a whole run: 0, 101 (a case failed), 3 (health), 77.
whole() { case $1 in 0 | 101 | 3 | 77) return 0 ;; *) return 1 ;; esac; }
say "running the suite with --ktap"
status=0
"$BIN" --ktap --report-json="$tmp/run.jsonl" "${ARGS[@]}" >"$tmp/console.ktap" 2>"$tmp/stderr" || status=$?
whole "$status" || { tail -n 20 "$tmp/stderr" >&2; echo "ktap-check: the suite exited $status" >&2; exit 1; }
runner=()
if [ -n "$TOOLS" ]; then
    # A kselftest install directory as `make install` of the selftests lays it out, with
    # the suite as the collection uring-conformance.
    k=$tmp/kselftest
    mkdir -p "$k/uring-conformance"
    cp "$TOOLS/selftests/run_kselftest.sh" "$k/"
    cp -r "$TOOLS/selftests/kselftest" "$k/"
    ln -s "$BIN" "$k/uring-conformance/uring-conformance"
    echo "timeout=600" >"$k/uring-conformance/settings"
    echo "uring-conformance:uring-conformance" >"$k/kselftest-list.txt"
    say "running the suite under run_kselftest.sh"
    KSELFTEST_URING_CONFORMANCE_ARGS="--ktap --report-json=$tmp/runner.jsonl ${ARGS[*]}" \
        "$k/run_kselftest.sh" 2>&1 | cat >"$tmp/runner.log" || true # a pipe, as a lab tees it
    [ -s "$tmp/runner.jsonl" ] || { tail -n 20 "$tmp/runner.log" >&2; echo "ktap-check: run_kselftest.sh wrote no report" >&2; exit 1; }
    runner=(--runner-log "$tmp/runner.log" "$tmp/runner.jsonl")
fi
status=0
"$PY" ci/ktap-check.py --kunit-dir "$KUNIT" --parse-output "$tmp/parse-output.py" \
    "${runner[@]}" "$tmp/console.ktap" "$tmp/run.jsonl" || status=$?
say "done"
exit "$status"
