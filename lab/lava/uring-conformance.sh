#!/bin/sh
# Runs the io_uring conformance suite on the device and reports it to LAVA: one test set per
# interface, one `lava-test-case` per case (pass, fail or skip; a broken or timed-out case is
# fail), read from the suite's KTAP console (`--ktap`), and the case `run` for the whole run
# (pass on exit 0, skip on 77 "io_uring not usable here", fail otherwise or when the KTAP
# document is not whole). Outside LAVA it prints `SET CASE RESULT` lines instead.
# POSIX sh and busybox tools only (a ramdisk has no more). Options:
#   -b BINARY   the static uring-conformance binary: a command or path (default
#               uring-conformance), fetched from -u when not found
#   -u URL      where to fetch the binary (a release's static x86_64 build), checked with -s
#   -s SHA256   its SHA-256 (from the release's SHA256SUMS); required with -u
#   -a ARGS     more suite options (e.g. --strict)
#   -o DIR      where the console, the JSON report and stderr go (default /tmp/uring-conformance)
#   -j          print the JSON report between <URING_REPORT_JSON> markers (ci/lava.sh compares
#               it with what LAVA recorded)
set -u
BINARY=uring-conformance URL='' SHA256='' ARGS='' OUT=/tmp/uring-conformance PRINT_JSON=''
while getopts "b:u:s:a:o:j" opt; do
    case $opt in
    b) BINARY=$OPTARG ;;
    u) URL=$OPTARG ;;
    s) SHA256=$OPTARG ;;
    a) ARGS=$OPTARG ;;
    o) OUT=$OPTARG ;;
    j) PRINT_JSON=1 ;;
    *) echo "usage: $0 [-b BINARY] [-u URL -s SHA256] [-a ARGS] [-o DIR] [-j]" >&2; exit 2 ;;
    esac
done

if command -v lava-test-case >/dev/null 2>&1; then
    case_result() { lava-test-case "$1" --result "$2"; }
    set_start() { lava-test-set start "$1"; }
    set_stop() { lava-test-set stop; }
else
    set_name=
    case_result() { echo "${set_name:--} $1 $2"; }
    set_start() { set_name=$1; }
    set_stop() { set_name=; }
fi

mkdir -p "$OUT"
bin=$(command -v "$BINARY" 2>/dev/null || true)
if [ -z "$bin" ] && [ -n "$URL" ]; then
    echo "uring-conformance: fetching $URL"
    if wget -q -O "$OUT/uring-conformance" "$URL" &&
        echo "$SHA256  $OUT/uring-conformance" | sha256sum -c -s; then
        chmod +x "$OUT/uring-conformance"
        bin=$OUT/uring-conformance
    else
        echo "uring-conformance: $URL could not be fetched or its SHA-256 is not $SHA256"
    fi
fi
if [ -z "$bin" ]; then
    echo "uring-conformance: no binary $BINARY here (give -b PATH or -u URL -s SHA256)"
    case_result run fail
    exit 0
fi

status=0
# shellcheck disable=SC2086 # ARGS is a list of options
"$bin" --ktap --report-json="$OUT/report.jsonl" $ARGS >"$OUT/console.ktap" 2>"$OUT/stderr" ||
    status=$?
cat "$OUT/console.ktap"
tail -n 5 "$OUT/stderr"
echo "uring-conformance: exit status $status"

# The KTAP document: `    # Subtest: IFACE` opens an interface, `    [not ]ok N IFACE::CASE
# [# SKIP reason]` is a case, `[not ]ok N IFACE` closes the interface.
iface=
while IFS= read -r line; do
    case $line in
    "    # Subtest: "*)
        iface=${line#    \# Subtest: }
        set_start "$iface"
        ;;
    "    ok "* | "    not ok "*)
        rest=${line#    }
        case $rest in
        "not ok "*) result=fail rest=${rest#not ok } ;;
        *) result=pass rest=${rest#ok } ;;
        esac
        rest=${rest#* }
        name=${rest%% *}
        case $rest in *" # SKIP"*) result=skip ;; esac
        # The set names the interface; `::` is `.` in a LAVA case name.
        case_result "$(echo "${name#"$iface"::}" | sed 's/::/./g')" "$result"
        ;;
    "ok "* | "not ok "*)
        set_stop
        iface=
        ;;
    esac
done <"$OUT/console.ktap"

if ! grep -q '^# Totals: ' "$OUT/console.ktap"; then
    echo "uring-conformance: the KTAP document is not whole (no totals line)"
    status=-1
fi
case $status in
0) case_result run pass ;;
77) case_result run skip ;;
*) case_result run fail ;;
esac
if [ -n "$PRINT_JSON" ]; then
    echo "<URING_REPORT_JSON>"
    cat "$OUT/report.jsonl"
    echo "</URING_REPORT_JSON>"
fi
exit 0
