#!/bin/sh
# Feeds a KTAP report to the kernel's own parser (tools/testing/kunit/kunit_parser.py) and
# checks that it parses cleanly with the counts of the same run's JSON-lines report.
#
#   ci/ktap-check.sh RUN.ktap RUN.jsonl
#
# kunit_parser comes from KUNIT_DIR (a tools/testing/kunit directory), or is extracted from
# the linux-source .deb named by LINUX_SOURCE_DEB (only tools/testing/kunit/ is unpacked).
# Exit status: 0 counts match, 1 mismatch or parse errors, 77 no python3 / no parser.
set -eu
ktap=$1
json=$2
command -v python3 >/dev/null || { echo "ktap-check: no python3" >&2; exit 77; }
if [ -z "${KUNIT_DIR:-}" ]; then
    if [ -z "${LINUX_SOURCE_DEB:-}" ]; then
        echo "ktap-check: set KUNIT_DIR or LINUX_SOURCE_DEB" >&2
        exit 77
    fi
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    deb=$(realpath "$LINUX_SOURCE_DEB")
    (cd "$tmp" && ar x "$deb" && tar -xf data.tar.* --wildcards './usr/src/linux-source-*.tar.*' \
        && tar -xf usr/src/linux-source-*.tar.* --wildcards '*/tools/testing/kunit/*')
    KUNIT_DIR=$(dirname "$(find "$tmp" -path '*/tools/testing/kunit/kunit_parser.py' | head -n1)")
fi
[ -f "$KUNIT_DIR/kunit_parser.py" ] || { echo "ktap-check: no kunit_parser.py in $KUNIT_DIR" >&2; exit 77; }
python3 - "$KUNIT_DIR" "$ktap" "$json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import kunit_parser, kunit_printer
with open(sys.argv[2]) as f:
    lines = f.readlines()
test = kunit_parser.parse_run_tests(lines, kunit_printer.null_printer)
c = test.counts
summary = [json.loads(l) for l in open(sys.argv[3]) if '"summary"' in l][0]
want = dict(passed=summary["pass"], failed=summary["fail"] + summary["broken"] + summary["timeout"],
            skipped=summary["skip"], crashed=0, errors=0)
got = dict(passed=c.passed, failed=c.failed, skipped=c.skipped, crashed=c.crashed, errors=c.errors)
print("kunit_parser:", str(c), "| status", test.status.name, "| subtests", len(test.subtests))
print("run        :", want)
if got != want:
    print("ktap-check: MISMATCH", got, "!=", want)
    sys.exit(1)
print("ktap-check: counts match")
PY
