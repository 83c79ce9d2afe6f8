#!/usr/bin/env python3
"""Which rows prove anything (README "Every row proven"): reads every kernel-mutant results table
and every triage file, fails when a survivor is not triaged or a triage line is stale, prints the
mutation score per io_uring/ file (generated mutants) and per section (hand-written ones) and the
rows proven, and writes fixtures/mutants/unproven-rows.txt and docs/row-proof.md.

Exit status: 0 all consistent, 1 a problem (each listed), 2 a malformed file (file:line) or a
bad option. Needs no kernel: the case list is the suite's `--cases-json`."""
import argparse, fnmatch, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the mutant tables' reader)

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
# Paths relative to the checkout.
RESULT_TABLES = ("fixtures/mutants/results.tsv", "fixtures/mutants/generated-results.tsv")
HAND_MUTANTS = ("fixtures/mutants/mutants.txt", "fixtures/mutants/more-mutants.txt")
GENERATED_MUTANTS = ("fixtures/mutants/generated.txt",)
TRIAGE_DIR = "fixtures/mutants/triage"
HAND_TRIAGE = "hand.tsv"
REASONS = "fixtures/mutants/unproven-reasons.tsv"
UNPROVEN = "fixtures/mutants/unproven-rows.txt"
DOC = "docs/row-proof.md"

RESULT_HEADER = ["mutant", "section", "verdict", "killing_rows", "meant_rows", "detail"]
RESULT_VERDICTS = ("KILLED", "SURVIVED", "no-compile")
# What a survivor is: `row` (a row catches it now: rerun it), why none can (equivalent,
# unreachable, outside), or `open`: a row could catch it and none does yet (the reason says
# which row and what it needs); an open survivor counts against the score.
TRIAGE_VERDICTS = ("row", "equivalent", "unreachable", "outside", "open")
# A killed mutant whose killing rows are more than this share of the suite fails it wholesale
# (its rows break at setup): it counts for the score, not as any row's proof.
SWEEP = 0.5
NOT_COUNTED = ("equivalent", "unreachable", "outside")
ROW = re.compile(r"[a-z0-9_]+(::[a-z0-9_]+)+")
ROW_GLOB = re.compile(r"[a-z0-9_*]+(::[a-z0-9_*]+)+")


class Malformed(Exception):
    """A file that cannot be read as its format says (exit 2): the message names file:line."""


def fail(msg):
    raise Malformed(msg)


def data_lines(path, root):
    """(file:line, text) of a table's lines, leaving out `#` comments and blank lines; a file
    that does not start with a `#` header line is malformed."""
    rel = os.path.relpath(path, root)
    with open(path) as f:
        lines = f.read().split("\n")
    if not lines[0].startswith("#"):
        fail(f"{rel}:1: no `#` header line")
    for n, line in enumerate(lines, 1):
        if line.strip() and not line.startswith("#"):
            yield f"{rel}:{n}", line


def read_results(path, root):
    """A results table of ci/mutants.sh: [{id, section, verdict, killing, where}]."""
    out, seen, header = [], set(), False
    for where, line in data_lines(path, root):
        f = line.split("\t")
        if not header:
            if f != RESULT_HEADER:
                fail(f"{where}: not the header `{chr(9).join(RESULT_HEADER)}`")
            header = True
            continue
        if len(f) != len(RESULT_HEADER):
            fail(f"{where}: not {len(RESULT_HEADER)} tab-separated columns: {line}")
        mid, section, verdict, killing = f[:4]
        if verdict not in RESULT_VERDICTS:
            fail(f"{where}: verdict {verdict!r} is not one of {', '.join(RESULT_VERDICTS)}")
        if mid in seen:
            fail(f"{where}: {mid} named twice")
        seen.add(mid)
        out.append({"id": mid, "section": section, "verdict": verdict, "where": where,
                    "killing": [] if killing == "-" else killing.split(",")})
    if not header:
        fail(f"{os.path.relpath(path, root)}: no header line")
    return out


def split_rows(field, where):
    if field == "-":
        return []
    rows = field.split(",")
    for r in rows:
        if not ROW.fullmatch(r):
            fail(f"{where}: {r!r} is not a row name (table::case)")
    return rows


def read_triage(path, root):
    """A triage file: [{mutant, verdict, rows, reason, where}] (an unknown verdict is kept: the
    checker lists it)."""
    out = []
    for where, line in data_lines(path, root):
        f = line.split("\t")
        if len(f) != 4 or not all(x.strip() for x in f):
            fail(f"{where}: not 4 non-empty tab-separated columns (mutant, verdict, rows, reason)")
        mid, verdict, rows, reason = f
        if reason == "-":
            fail(f"{where}: no reason")
        out.append({"mutant": mid, "verdict": verdict, "rows": split_rows(rows, where),
                    "reason": reason, "where": where, "file": os.path.basename(path)})
    return out


def read_reasons(path, root):
    """unproven-reasons.tsv: [(row or glob, reason, where)]."""
    out, seen = [], {}
    if not os.path.exists(path):
        return out
    for where, line in data_lines(path, root):
        f = line.split("\t")
        if len(f) != 2 or not all(x.strip() for x in f):
            fail(f"{where}: not 2 non-empty tab-separated columns (row, reason)")
        if not ROW_GLOB.fullmatch(f[0]):
            fail(f"{where}: {f[0]!r} is not a row name or a glob of one (table::case, `*`)")
        if f[0] in seen:
            fail(f"{where}: {f[0]} already has a reason at {seen[f[0]]}")
        seen[f[0]] = where
        out.append((f[0], f[1], where))
    return out


def read_definitions(paths):
    """{id: mutant} of the mutant tables that exist."""
    out = {}
    for p in paths:
        if os.path.exists(p):
            for m in run.parse_mutants(p, fail=fail):
                out[m["id"]] = m
    return out


def case_list(args, root, tables):
    """The suite's --cases-json cases ({name: killed_mutants}, in the suite's order), from
    --cases-json FILE or from the suite built here (no kernel needed: it prints and exits)."""
    if args.cases_json:
        text = open(args.cases_json).read()
    else:
        subprocess.run(["cargo", "build", "--quiet", "-p", "uring-conformance",
                        "--bin", "uring-conformance"], cwd=root, check=True)
        tdir = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        env = dict(os.environ, URING_MUTANT_RESULTS=os.pathsep.join(tables))
        r = subprocess.run([os.path.join(tdir, "debug", "uring-conformance"), "--cases-json"],
                           cwd=root, env=env, stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            fail(f"uring-conformance --cases-json exited {r.returncode}")
        text = r.stdout
    return {c["name"]: c["killed_mutants"] for c in json.loads(text)["cases"]}


def cell(text):
    """Text for a markdown table cell."""
    return text.replace("|", "\\|")


def group_of(m, defs, generated):
    """Where a mutant counts: its io_uring/ file (a generated one), else its section."""
    d = defs.get(m["id"])
    if m["id"] in generated:
        return "generated", d["file"]
    if d is None and m["section"].startswith("g_"):
        return "generated", m["section"][2:] + ".c"
    return "hand", m["section"]


class Proof:
    """Everything the tables say, and what is wrong with them (`problems`, `warnings`)."""

    def __init__(self, results, hand_defs, gen_defs, triage, reasons, cases, strict):
        self.problems, self.warnings = [], []
        self.cases = cases
        self.results = {m["id"]: m for m in results}
        defs = dict(hand_defs, **gen_defs)
        self.group = {mid: group_of(m, defs, gen_defs) for mid, m in self.results.items()}
        self.defined = {}
        for mid, d in hand_defs.items():
            self.defined.setdefault(("hand", d["section"]), set()).add(mid)
        for mid, d in gen_defs.items():
            self.defined.setdefault(("generated", d["file"]), set()).add(mid)
        self.check_triage(triage)
        self.rows_killed_by()
        self.check_reasons(reasons, strict)

    def check_triage(self, triage):
        self.triage, self.triage_kills, seen = {}, {}, {}
        for t in triage:
            mid, where = t["mutant"], t["where"]
            if mid in seen:
                self.problems.append(f"{where}: {mid} is triaged at {seen[mid]} already")
                continue
            seen[mid] = where
            if t["verdict"] not in TRIAGE_VERDICTS:
                self.problems.append(f"{where}: {mid}: verdict {t['verdict']!r} is not one of "
                                     f"{', '.join(TRIAGE_VERDICTS)}")
            if t["verdict"] == "row" and not t["rows"]:
                self.problems.append(f"{where}: {mid}: a `row` verdict names no row")
            for r in t["rows"]:
                if r not in self.cases:
                    self.problems.append(f"{where}: {mid}: {r} is not a row of the suite")
            m = self.results.get(mid)
            if m is None:
                self.problems.append(f"{where}: {mid} is in no results table (stale)")
                continue
            if m["verdict"] == "KILLED" and t["verdict"] == "row":
                # The survivor's row was written and the rerun proved it: the line stays as
                # the record of why the row exists, as long as a row it names (or a crash,
                # which names none) is what killed it.
                if m["killing"] and not set(t["rows"]) & set(m["killing"]):
                    self.problems.append(f"{where}: {mid} is KILLED in {m['where']}, but by "
                                         f"none of the rows its triage names")
                self.triage_kills[mid] = t
                continue
            if m["verdict"] != "SURVIVED":
                self.problems.append(f"{where}: {mid} is {m['verdict']} in {m['where']} (stale)")
                continue
            kind, name = self.group[mid]
            want = HAND_TRIAGE if kind == "hand" else m["section"] + ".tsv"
            if t["file"] != want:
                self.problems.append(f"{where}: {mid} belongs in {TRIAGE_DIR}/{want}")
            self.triage[mid] = t
        for mid, m in self.results.items():
            if m["verdict"] == "SURVIVED" and mid not in seen:
                kind, _ = self.group[mid]
                want = HAND_TRIAGE if kind == "hand" else m["section"] + ".tsv"
                self.problems.append(f"{m['where']}: survivor {mid} has no triage line "
                                     f"({TRIAGE_DIR}/{want})")

    def rows_killed_by(self):
        """{row: [mutant]} from the tables, checked against the suite's own reading."""
        self.killers = {name: [] for name in self.cases}
        strangers = {}
        for mid, m in self.results.items():
            if m["verdict"] != "KILLED":
                continue
            for r in m["killing"]:
                if r in self.killers:
                    self.killers[r].append(mid)
                else:
                    strangers.setdefault(r, []).append(mid)
        self.strangers = strangers
        for r, ids in sorted(strangers.items()):
            self.warnings.append(f"killing row {r} is not a row of the suite (renamed, or a "
                                 f"strict-mode trial): {len(ids)} mutants, e.g. {ids[0]}")
        for name, ids in self.killers.items():
            if sorted(ids) != sorted(self.cases[name]):
                self.problems.append(f"{name}: the suite's --cases-json says killed by "
                                     f"{sorted(self.cases[name])}, the tables {sorted(ids)}")
        # A mutant that fails most of the suite (io_uring_setup itself broken: every row
        # breaks at its ring) is killed, but proves no row in particular: it does not count
        # as a row's proof.
        self.sweeping = {mid for mid, m in self.results.items() if m["verdict"] == "KILLED"
                         and len(set(m["killing"]) & set(self.cases)) > SWEEP * len(self.cases)}
        self.proofs = {n: [i for i in ids if i not in self.sweeping]
                       for n, ids in self.killers.items()}

    def check_reasons(self, reasons, strict):
        self.unproven = [n for n in self.cases if not self.proofs[n]]
        # A row's own line first, else the first glob that matches it.
        ordered = ([r for r in reasons if "*" not in r[0]] + [r for r in reasons if "*" in r[0]])
        self.reason, self.reason_entry, used = {}, {}, set()
        self.reasons = reasons
        for n in self.unproven:
            hit = next((r for r in ordered if fnmatch.fnmatchcase(n, r[0])), None)
            if hit:
                self.reason[n] = hit[1]
                self.reason_entry[n] = hit[0]
                used.add(hit[2])
        stale = []
        for p, _, where in reasons:
            if not any(fnmatch.fnmatchcase(n, p) for n in self.cases):
                self.problems.append(f"{where}: {p} names no row of the suite")
            elif where not in used:
                stale.append(f"{where}: {p}: every row it names is proven (a stale reason)")
        self.no_reason = [n for n in self.unproven if n not in self.reason]
        (self.problems if strict else self.warnings).extend(stale)
        if strict and self.no_reason:
            self.problems.append(f"{len(self.no_reason)} unproven rows have no reason in {REASONS}:"
                                 f" {', '.join(self.no_reason)}")

    def score_table(self, kind):
        """The markdown table of the mutation score per file (`generated`) or per section."""
        groups = sorted({g for k, g in self.defined if k == kind} |
                        {g for k, g in self.group.values() if k == kind})
        head = ["file" if kind == "generated" else "section", "defined", "run", "killed",
                "of them by rows added in triage", "survived", "equivalent", "unreachable", "outside", "open", "row (rerun)", "untriaged",
                "score"]
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        total = [0] * 11
        for g in groups + [None]:
            if g is None:
                c = total
            else:
                mids = [mid for mid, grp in self.group.items() if grp == (kind, g)]
                c = [len(self.defined.get((kind, g), ())),
                     sum(self.results[m]["verdict"] != "no-compile" for m in mids),
                     sum(self.results[m]["verdict"] == "KILLED" for m in mids),
                     sum(m in self.triage_kills for m in mids),
                     sum(self.results[m]["verdict"] == "SURVIVED" for m in mids)]
                tri = [self.triage[m]["verdict"] for m in mids if m in self.triage]
                c += [tri.count(v) for v in TRIAGE_VERDICTS[1:] + ("row",)]
                c.append(c[4] - len(tri))
                total = [a + b for a, b in zip(total, c)]
            denom = c[1] - c[5] - c[6] - c[7]
            score = f"{100 * c[2] / denom:.1f}% ({c[2]}/{denom})" if denom else "-"
            name = "total" if g is None else f"`{g}`"
            lines.append("| " + " | ".join([name] + [str(x) for x in c] + [score]) + " |")
        return "\n".join(lines)

    def summary(self):
        n, p = len(self.cases), len(self.cases) - len(self.unproven)
        return (f"Rows proven (named by a KILLED mutant): {p} of {n} ({100 * p / max(1, n):.1f}%); "
                f"unproven {len(self.unproven)}: {len(self.unproven) - len(self.no_reason)} with a "
                f"reason, {len(self.no_reason)} without.")

    def unproven_text(self):
        out = ["# Rows of the suite (--cases-json) that no KILLED mutant of "
               f"{' or '.join(os.path.basename(t) for t in RESULT_TABLES)} names among its "
               "killing rows, each with its reason",
               f"# from unproven-reasons.tsv (`-`: none yet). Generated by ci/mutants/proof.py; "
               "do not edit."]
        out += [f"{n}\t{self.reason.get(n, '-')}" for n in sorted(self.unproven)]
        return "\n".join(out) + "\n"

    def doc_text(self):
        out = ["# Which mutants prove each row", "",
               "Generated by `ci/mutants/proof.py` (README \"Every row proven\") from "
               f"{', '.join('`' + t + '`' for t in RESULT_TABLES)}, `{TRIAGE_DIR}/*.tsv`, "
               f"`{REASONS}` and the suite's `--cases-json`; do not edit (`ci/mutants/proof.py` "
               "rewrites it, `--check` fails when it is stale).", "",
               "## Mutation score", "",
               "Score: killed / (run - equivalent - unreachable - outside). `open`: survivors "
               "a row could catch and none does yet (counted against the score). `row (rerun)`: "
               "survivors a row now catches, counted as survivors until the runner runs them "
               "again.", "", "Generated mutants, per file under `io_uring/`:", "",
               self.score_table("generated"), "", "Hand-written mutants, per section:", "",
               self.score_table("hand"), "", self.summary(), "",
               "## Survivors and their triage", "",
               "| mutant | where | triage | rows | reason |", "| --- | --- | --- | --- | --- |"]
        for mid, m in self.results.items():
            if m["verdict"] == "SURVIVED":
                t = self.triage.get(mid)
                out.append(f"| `{mid}` | {self.group[mid][1]} | "
                           + (f"{t['verdict']} | {', '.join(t['rows']) or '-'} | {cell(t['reason'])} |"
                              if t else "not triaged | - | - |"))
        out += ["", "## Why rows are unproven", "",
                f"From `{REASONS}`: the rows (or glob of rows) no mutant kills and why.", "",
                "| rows | unproven | reason |", "| --- | --- | --- |"]
        for pat, why, _ in self.reasons:
            hits = sum(1 for e in self.reason_entry.values() if e == pat)
            out.append(f"| `{pat}` | {hits} | {cell(why)} |")
        out += ["", "## Rows", "",
                "Every row of the suite with the mutants it kills, or the entry above that says "
                "why none does.", "", "| row | killed by |", "| --- | --- |"]
        for n in self.cases:
            ids = self.proofs[n]
            what = (", ".join(f"`{i}`" for i in ids) if ids else
                    f"unproven: `{self.reason_entry[n]}`" if n in self.reason_entry else
                    "unproven, no reason yet")
            out.append(f"| `{n}` | {what} |")
        return "\n".join(out) + "\n"


def main(argv=None, root=ROOT):
    ap = argparse.ArgumentParser(prog="ci/mutants/proof.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help=f"write nothing: fail when {UNPROVEN} or {DOC} is not up to date")
    ap.add_argument("--strict", action="store_true",
                    help="also fail on unproven rows without a reason and on stale reasons")
    ap.add_argument("--cases-json", metavar="FILE",
                    help="the suite's --cases-json output (default: build the suite and run it)")
    args = ap.parse_args(argv)
    path = lambda p: os.path.join(root, p)  # noqa: E731
    try:
        tables = [path(t) for t in RESULT_TABLES]
        results, seen = [], {}
        for m in (m for t in tables for m in read_results(t, root)):
            if m["id"] in seen:
                fail(f"{m['where']}: {m['id']} is in {seen[m['id']]} too")
            seen[m["id"]] = m["where"]
            results.append(m)
        tdir = path(TRIAGE_DIR)
        names = sorted(f for f in os.listdir(tdir) if f.endswith(".tsv")) if os.path.isdir(tdir) else []
        triage = [t for f in names for t in read_triage(os.path.join(tdir, f), root)]
        reasons = read_reasons(path(REASONS), root)
        hand = read_definitions([path(t) for t in HAND_MUTANTS])
        gen = read_definitions([path(t) for t in GENERATED_MUTANTS])
        cases = case_list(args, root, tables)
    except Malformed as e:
        print(f"ci/mutants/proof.py: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"ci/mutants/proof.py: {e}", file=sys.stderr)
        return 2
    p = Proof(results, hand, gen, triage, reasons, cases, args.strict)
    print("Generated mutants, per file under io_uring/:\n")
    print(p.score_table("generated"))
    print("\nHand-written mutants, per section:\n")
    print(p.score_table("hand"))
    print("\n" + p.summary())
    for rel, text in ((UNPROVEN, p.unproven_text()), (DOC, p.doc_text())):
        old = open(path(rel)).read() if os.path.exists(path(rel)) else None
        if old == text:
            continue
        if args.check:
            p.problems.append(f"{rel} is not up to date: run ci/mutants/proof.py")
        else:
            with open(path(rel), "w") as f:
                f.write(text)
            print(f"wrote {rel}")
    for w in p.warnings:
        print(f"note: {w}", file=sys.stderr)
    if p.problems:
        print(f"\n{len(p.problems)} problem(s):", file=sys.stderr)
        for x in p.problems:
            print(f"  {x}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
