#!/usr/bin/env python3
"""Line and branch coverage of the interfaces' io_uring files from a directory of .gcno and
.gcda files (ci/coverage.sh gathers them): runs gcov (the kernel's compiler's) in JSON mode
per file, prints per file and per function the covered lines and branches, and writes the
uncovered lines with their source text, and coverage.json: per file and function its lines,
the ones that ran, the ones that never did and the counts of each line's branches
(ci/mutants/generate.py mutates only the lines that ran). See ci/coverage.sh --help."""
import argparse, gzip, json, os, subprocess, sys

# The interfaces' kernel code: registered buffers and files, provided-buffer
# rings, MSG_RING, the ring memory, query, registration, and the requests that use fixed
# buffers and buffer select.
FILES = ("rsrc.c", "kbuf.c", "msg_ring.c", "filetable.c", "memmap.c", "query.c",
         "register.c", "rw.c", "net.c", "nop.c")


def pct(hit, total):
    return f"{100.0 * hit / total:5.1f}%" if total else "    -"


def gcov_json(data_dir, name, gcov):
    """gcov's JSON for io_uring/NAME (its .gcno and .gcda in data_dir/io_uring/)."""
    obj = os.path.join(data_dir, "io_uring", os.path.splitext(name)[0] + ".gcno")
    if not os.path.isfile(obj):
        sys.exit(f"coverage: no {obj} (is io_uring/{name} built with gcov profiling?)")
    r = subprocess.run([gcov, "--json-format", "--stdout", "--branch-probabilities",
                        "--object-directory", os.path.dirname(obj), obj],
                       capture_output=True, cwd=data_dir)
    if r.returncode != 0:
        sys.exit(f"coverage: {gcov} failed on {obj}: {r.stderr.decode(errors='replace')}")
    out = r.stdout
    if out[:2] == b"\x1f\x8b":
        out = gzip.decompress(out)
    # One JSON document per object file (a single one here).
    return json.loads(out.decode().strip().splitlines()[0])


def file_record(doc, name):
    """gcov's record of io_uring/NAME itself (not of the headers inlined into it)."""
    recs = [f for f in doc["files"] if f["file"].endswith("io_uring/" + name)]
    if len(recs) != 1:
        sys.exit(f"coverage: gcov's output for {name} names it {len(recs)} times")
    return recs[0]


def line_counts(doc, name):
    """{line number: execution count} of io_uring/NAME's executable lines."""
    return {ln["line_number"]: ln["count"] for ln in file_record(doc, name)["lines"]}


def measure(doc, name):
    """(per function rows, uncovered lines) of io_uring/NAME from gcov's JSON; inlined
    header code is left out (it is the headers', not this file's)."""
    rec = file_record(doc, name)
    cwd = doc.get("current_working_directory", "")
    src = rec["file"] if os.path.isabs(rec["file"]) else os.path.join(cwd, rec["file"])
    try:
        text = open(src, errors="replace").read().splitlines()
    except OSError:
        text = []
    funcs = sorted(rec["functions"], key=lambda f: f["start_line"])
    rows = {f["name"]: {"name": f["demangled_name"], "start": f["start_line"],
                        "end": f["end_line"], "lines": 0, "hit": 0, "br": 0, "br_hit": 0,
                        "calls": f["execution_count"], "covered": [], "uncovered": [],
                        "branches": {}}
            for f in funcs}

    def owner(line):
        best = None
        for f in funcs:
            if f["start_line"] <= line <= f["end_line"]:
                best = f["name"]  # the innermost (latest starting) wins
        return best

    uncovered = []
    for ln in rec["lines"]:
        n = ln["line_number"]
        fn = ln.get("function_name") or owner(n)
        row = rows.get(fn)
        if row is None:
            continue
        row["lines"] += 1
        row["hit"] += ln["count"] > 0
        row["covered" if ln["count"] > 0 else "uncovered"].append(n)
        if ln.get("branches"):
            row["branches"].setdefault(str(n), []).extend(b["count"] for b in ln["branches"])
        for b in ln.get("branches", []):
            row["br"] += 1
            row["br_hit"] += b["count"] > 0
        if ln["count"] == 0:
            code = text[n - 1].strip() if 0 < n <= len(text) else ""
            uncovered.append((n, row["name"], code))
    return list(rows.values()), sorted(set(uncovered))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", help="directory with io_uring/*.gcno and io_uring/*.gcda")
    ap.add_argument("--out", required=True, help="directory for report.txt and uncovered.txt")
    ap.add_argument("--gcov", default="gcov", help="the gcov of the kernel's compiler")
    ap.add_argument("--beside", metavar="DATA",
                    help="another run's data (liburing's tests): write side-by-side.txt "
                         "(ours, theirs, union per file) and beside-only.txt (lines only "
                         "that run reached) into --out")
    args = ap.parse_args()
    if args.beside:
        return beside(args)
    os.makedirs(args.out, exist_ok=True)
    summary, detail, unc = [], [], []
    machine = {}
    totals = [0, 0, 0, 0, 0, 0]
    for name in FILES:
        rows, uncovered = measure(gcov_json(args.data, name, args.gcov), name)
        machine[name] = {r["name"]: {k: sorted(set(r[k])) if k in ("covered", "uncovered") else r[k]
                                     for k in ("start", "end", "calls", "covered", "uncovered",
                                               "branches")}
                         for r in rows}
        t = [sum(r[k] for r in rows) for k in ("lines", "hit", "br", "br_hit")]
        fh = sum(1 for r in rows if r["calls"] > 0)
        totals = [a + b for a, b in zip(totals, t + [len(rows), fh])]
        summary.append(f"io_uring/{name:<12} lines {t[1]:5}/{t[0]:<5} {pct(t[1], t[0])}"
                       f"   branches {t[3]:5}/{t[2]:<5} {pct(t[3], t[2])}"
                       f"   functions {fh:3}/{len(rows):<3}")
        detail.append(f"\nio_uring/{name}: per function (lines, branches, calls)")
        for r in rows:
            detail.append(f"  {r['name']:<40} {r['hit']:4}/{r['lines']:<4} {pct(r['hit'], r['lines'])}"
                          f"  {r['br_hit']:4}/{r['br']:<4} {pct(r['br_hit'], r['br'])}"
                          f"  {r['calls']:>9}")
        unc.append(f"# io_uring/{name}: {t[0] - t[1]} of {t[0]} lines never ran")
        unc += [f"io_uring/{name}:{n}: [{fn}] {code}" for n, fn, code in uncovered]
    summary.append(f"{'total':<21} lines {totals[1]:5}/{totals[0]:<5} {pct(totals[1], totals[0])}"
                   f"   branches {totals[3]:5}/{totals[2]:<5} {pct(totals[3], totals[2])}"
                   f"   functions {totals[5]:3}/{totals[4]:<3}")
    report = "\n".join(summary + detail) + "\n"
    open(os.path.join(args.out, "report.txt"), "w").write(report)
    open(os.path.join(args.out, "uncovered.txt"), "w").write("\n".join(unc) + "\n")
    with open(os.path.join(args.out, "coverage.json"), "w") as f:
        json.dump({"files": machine}, f, indent=1, sort_keys=True)
    sys.stdout.write(report)


def beside(args):
    """Lines per file that our run (args.data), the other run (args.beside) and either
    reached, and every line only the other run reached with its function and source."""
    os.makedirs(args.out, exist_ok=True)
    table = ["| file | lines | ours | liburing's | union |", "| --- | --- | --- | --- | --- |"]
    only = []
    sums = [0, 0, 0, 0]
    for name in FILES:
        doc = gcov_json(args.data, name, args.gcov)
        ours = line_counts(doc, name)
        theirs = line_counts(gcov_json(args.beside, name, args.gcov), name)
        if ours.keys() != theirs.keys():
            sys.exit(f"coverage: the two runs' {name} have different lines (another build?)")
        a = {n for n, c in ours.items() if c > 0}
        b = {n for n, c in theirs.items() if c > 0}
        t = [len(ours), len(a), len(b), len(a | b)]
        sums = [x + y for x, y in zip(sums, t)]
        table.append(f"| `io_uring/{name}` | {t[0]} | {t[1]} ({pct(t[1], t[0]).strip()}) | "
                     f"{t[2]} ({pct(t[2], t[0]).strip()}) | {t[3]} ({pct(t[3], t[0]).strip()}) |")
        _, uncovered = measure(doc, name)
        gap = [(n, fn, code) for n, fn, code in uncovered if n in b]
        only.append(f"# io_uring/{name}: {len(gap)} lines liburing's tests reach and ours do not")
        only += [f"io_uring/{name}:{n}: [{fn}] {code}" for n, fn, code in gap]
    table.append(f"| total | {sums[0]} | {sums[1]} ({pct(sums[1], sums[0]).strip()}) | "
                 f"{sums[2]} ({pct(sums[2], sums[0]).strip()}) | "
                 f"{sums[3]} ({pct(sums[3], sums[0]).strip()}) |")
    text = "\n".join(table) + "\n"
    open(os.path.join(args.out, "side-by-side.txt"), "w").write(text)
    open(os.path.join(args.out, "beside-only.txt"), "w").write("\n".join(only) + "\n")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
