#!/usr/bin/env bash
# Soak: runs the whole conformance suite RUNS times at default parallelism and RUNS times with
# --test-threads=1, and reports every case whose outcome changed between runs and every run
# that exited non-zero or wrote no report.
#
#   ci/soak.sh [--release] [RUNS] [-- SUITE_ARGS...]
#
# RUNS defaults to 50. SUITE_ARGS go to every run (e.g. `-- --skip msg_ring`). The test binary
# is built once (debug unless --release: the debug build is what `cargo test` already made,
# and a run is mostly kernel time). Each run writes its --report-json into a temporary
# directory removed on exit. SOAK_RUN_TIMEOUT (seconds, default 300) limits one run.
# Progress goes to stderr (a dot per clean run, F for a failed one); the findings and the
# one-line summary to stdout.
# Exit status: 0 every run exited 0 and no case changed outcome; 1 otherwise; 2 the build
# failed; 77 the first run exited 77 (io_uring not usable here: nothing to soak).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=ci/lib.sh
. ci/lib.sh

usage() { sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p;}' "$0"; }

profile=()
runs=50
suite_args=()
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --release) profile=(--release) ;;
        --) shift; suite_args=("$@"); break ;;
        *[!0-9]* | '' | 0) echo "soak: bad argument '$1' (want a run count > 0)" >&2; usage >&2; exit 2 ;;
        *) runs=$1 ;;
    esac
    shift
done
limit=${SOAK_RUN_TIMEOUT:-300}

now_us() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        echo "${EPOCHREALTIME/./}"
    else
        echo $(($(date +%s%N) / 1000))
    fi
}
soak_start=$(now_us)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uring-soak.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build once; take the path of the `conformance` test executable from cargo's JSON messages.
bin=$(build_executable soak test conformance "$tmp" test "${profile[@]}" -p uring-conformance --test conformance --no-run)
run_timeout=()
command -v timeout >/dev/null && run_timeout=(timeout -k 10 "$limit")

# One run, from cases/ as under `cargo test`: status and wall time in times.tsv (mode, run,
# milliseconds, status); the report's cases (mode, run, name, outcome, reason) in cases.tsv;
# the runs that wrote a report in reported.tsv.
: >"$tmp/times.tsv"
: >"$tmp/cases.tsv"
: >"$tmp/reported.tsv"
unparsed=0
tab=$(printf '\t')
# A case line of the report: name, outcome, reason (JSON-escaped, kept so).
case_re='^\{"type":"case","name":"([^"]*)","interface":"[^"]*","outcome":"([a-z]*)","reason":"(([^"\\]|\\.)*)".*'
one_run() { # mode run args...
    local mode=$1 n=$2 rc=0 t0 t1 base="$tmp/$1.$2"
    shift 2
    t0=$(now_us)
    (cd cases && exec "${run_timeout[@]}" "$bin" "$@" "${suite_args[@]}" \
        --report-json="$base.jsonl") >"$base.out" 2>"$base.err" || rc=$?
    t1=$(now_us)
    printf '%s\t%s\t%s\t%s\n' "$mode" "$n" "$(((t1 - t0) / 1000))" "$rc" >>"$tmp/times.tsv"
    if [ -s "$base.jsonl" ]; then
        printf '%s\t%s\n' "$mode" "$n" >>"$tmp/reported.tsv"
        sed -n -E "s/$case_re/$mode$tab$n$tab\\1$tab\\2$tab\\3/p" "$base.jsonl" >"$base.tsv"
        # Every case line must parse, or a change of the report format would pass unseen.
        if [ "$(wc -l <"$base.tsv")" -ne "$(grep -c '^{"type":"case"' "$base.jsonl")" ]; then
            echo "soak: run $n ($mode): some case lines of the report do not parse" >&2
            unparsed=1
        fi
        cat "$base.tsv" >>"$tmp/cases.tsv"
    fi
    if [ "$rc" -eq 77 ] && [ "$n" -eq 1 ] && [ "$mode" = default ]; then
        echo >&2
        cat "$base.err" >&2
        echo "soak: io_uring is not usable here; no soak" >&2
        exit 77
    fi
    if [ "$rc" -eq 0 ] && [ -s "$base.jsonl" ]; then
        printf . >&2
        rm -f "$base.out" "$base.err"
    else
        printf F >&2
    fi
}

for mode in default threads=1; do
    printf 'soak: %d runs at %s ' "$runs" \
        "$([ "$mode" = default ] && echo 'default parallelism' || echo --test-threads=1)" >&2
    for n in $(seq 1 "$runs"); do
        if [ "$mode" = default ]; then one_run "$mode" "$n"; else one_run "$mode" "$n" --test-threads=1; fi
    done
    echo >&2
done

# An awk function: a JSON-escaped reason as indented lines.
unjson='function unjson(s) { gsub(/\\n/, "\n      ", s); gsub(/\\t/, "\t", s); gsub(/\\"/, "\"", s); return s }'

# Runs that exited non-zero or wrote no report: status, failing cases, output tails.
bad=0
shown=0
while IFS=$'\t' read -r mode n ms rc; do
    base="$tmp/$mode.$n"
    noreport=0
    [ -s "$base.jsonl" ] || noreport=1
    [ "$rc" -eq 0 ] && [ "$noreport" -eq 0 ] && continue
    bad=$((bad + 1))
    what="exit $rc"
    [ "$rc" -eq 124 ] && what="timed out after ${limit} s"
    [ "$noreport" -eq 1 ] && what="$what, no report"
    echo "run $n ($mode): $what"
    shown=$((shown + 1))
    [ "$shown" -gt 3 ] && continue
    # With a report, its failing cases say it all; without, libtest's output tail may.
    awk -F'\t' -v m="$mode" -v n="$n" "$unjson"'
        $1 == m && $2 == n && $4 != "pass" && $4 != "skip" { print "    " $4 ": " unjson($5) }' \
        "$tmp/cases.tsv"
    if [ "$noreport" -eq 1 ] && [ -s "$base.out" ]; then
        echo "    stdout (tail):"
        tail -n 15 "$base.out" | awk '{ print "      " $0 }'
    fi
    if [ -s "$base.err" ]; then
        echo "    stderr (tail):"
        tail -n 15 "$base.err" | awk '{ print "      " $0 }'
    fi
done <"$tmp/times.tsv"
[ "$shown" -gt 3 ] && echo "(output of the first 3 bad runs shown)"

# Cases whose outcome changed: over every run that wrote a report, each case's outcomes with
# counts; the runs of the less common outcomes are named, with the first reason given.
awk -F'\t' -v outcomes="$tmp/outcomes" "$unjson"'
    function label(r,    p) { split(r, p, SUBSEP); return "run " p[2] ", " p[1] }
    FNR == NR { rid[++nrun] = $1 SUBSEP $2; next }
    { r = $1 SUBSEP $2
      if (!($3 in iscase)) { iscase[$3] = 1; cname[++ncase] = $3 }
      out[$3, r] = $4; why[$3, r] = $5; tot[r, $4]++ }
    END {
      changed = 0
      for (i = 1; i <= ncase; i++) {
        k = cname[i]; no = 0
        split("", cnt); split("", where); split("", first)
        for (j = 1; j <= nrun; j++) {
          r = rid[j]; o = ((k, r) in out) ? out[k, r] : "absent"
          if (!(o in cnt)) { ol[++no] = o; first[o] = ((k, r) in why) ? why[k, r] : "" }
          if (++cnt[o] <= 6) where[o] = where[o] (cnt[o] > 1 ? "; " : "") label(r)
        }
        if (no < 2) continue
        changed++
        for (a = 1; a <= no; a++) for (b = a + 1; b <= no; b++)
          if (cnt[ol[b]] > cnt[ol[a]]) { t = ol[a]; ol[a] = ol[b]; ol[b] = t }
        line = k ":"
        for (a = 1; a <= no; a++) {
          o = ol[a]; line = line (a > 1 ? "," : "") " " o " x" cnt[o]
          if (a > 1) line = line " (" where[o] (cnt[o] > 6 ? "; ..." : "") ")"
        }
        print line
        for (a = 2; a <= no; a++)
          if (first[ol[a]] != "") print "    " ol[a] ": " unjson(first[ol[a]])
      }
      # Per-run outcome totals: "233 pass / 0 skip each run", or ranges when they differ.
      n = split("pass skip fail broken timeout", cls, " "); s = ""; same = 1
      for (c = 1; c <= n; c++) {
        lo = -1; hi = 0
        for (j = 1; j <= nrun; j++) { v = tot[rid[j], cls[c]] + 0
          if (lo < 0 || v < lo) lo = v; if (v > hi) hi = v }
        if (lo < 0) lo = 0
        if (c > 2 && hi == 0) continue
        if (lo != hi) same = 0
        s = s (s == "" ? "" : " / ") (lo == hi ? lo : lo "-" hi) " " cls[c]
      }
      if (nrun == 0) s = "no report from any run"
      else s = s (same ? " each run" : " per run")
      print s "\t" changed > outcomes
    }' "$tmp/reported.tsv" "$tmp/cases.tsv"
IFS=$'\t' read -r outcome_totals changed <"$tmp/outcomes"

# Summary.
clean() { awk -F'\t' -v m="$1" -v d="$tmp" '$1 == m && $4 == 0 {
    f = d "/" $1 "." $2 ".jsonl"; if ((getline x < f) > 0) c++; close(f) } END { print c + 0 }' \
    "$tmp/times.tsv"; }
walltimes() { awk -F'\t' -v m="$1" '$1 == m { print $3 }' "$tmp/times.tsv" | sort -n | awk '
    { v[NR] = $1 } END { med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "median %.2f s, max %.2f s", med / 1000, v[NR] / 1000 }'; }
total_s=$(awk -v a="$soak_start" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
if [ "$changed" -eq 0 ]; then
    change="no case changed outcome"
elif [ "$changed" -eq 1 ]; then
    change="1 case changed outcome"
else
    change="$changed cases changed outcome"
fi
[ "$unparsed" -eq 0 ] || change="$change; some reports unreadable"
echo "soak: $(clean default) of $runs runs clean at default parallelism, $(clean threads=1) of $runs" \
    "at --test-threads=1; one run: $(walltimes default) (--test-threads=1: $(walltimes threads=1));" \
    "outcomes: $outcome_totals; $change; whole soak ${total_s} s"

if [ "$bad" -eq 0 ] && [ "$changed" -eq 0 ] && [ "$unparsed" -eq 0 ]; then
    exit 0
fi
exit 1
