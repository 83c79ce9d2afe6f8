#!/usr/bin/python3
"""Reads the suite's KTAP with the parsers labs use and compares what they count with the
same run's JSON-lines report (ci/ktap-check.sh sets it up: see there).

  ktap-check.py --kunit-dir DIR --parse-output FILE KTAP JSONL [--runner-log LOG RUNNER_JSONL]

- the kernel's tools/testing/kunit/kunit_parser.py reads KTAP: passed / failed / skipped
  must be the report's pass / fail+broken+timeout / skip, with no parse error;
- LAVA test-definitions' automated/linux/kselftest/parse-output.py reads it as it is (it
  sees the top-level tests only: one per interface, each the interface's verdict) and, given
  --runner-log, as kselftest's run_kselftest.sh printed the run (how LAVA's kselftest test
  feeds it): then it sees every case, each with its report's verdict, and every interface.
Exit status 0 all agree, 1 a mismatch (each one printed).
"""
import argparse
import os
import re
import subprocess
import sys

from lab_report import counts, finish, lab_result, read_cases


def report(path):
    with open(path) as f:
        return read_cases(f)


def interface_verdict(cases, names):
    results = [lab_result(cases[n]) for n in names]
    if "fail" in results:
        return "fail"
    return "skip" if all(r == "skip" for r in results) else "pass"


def kunit_counts(kunit_dir, ktap_path, cases):
    sys.path.insert(0, kunit_dir)
    import kunit_parser
    import kunit_printer

    with open(ktap_path) as f:
        test = kunit_parser.parse_run_tests(f.readlines(), kunit_printer.null_printer)
    c = test.counts
    got = dict(passed=c.passed, failed=c.failed, skipped=c.skipped, crashed=c.crashed,
               errors=c.errors)
    n = counts(lab_result(o) for o in cases.values())
    want = dict(passed=n["pass"], failed=n["fail"], skipped=n["skip"], crashed=0, errors=0)
    print(f"kunit_parser: {c} | status {test.status.name} | {len(test.subtests)} top-level tests")
    return [] if got == want else [f"kunit_parser counts {got} != the report's {want}"]


def lava_results(parse_output, text):
    """(name, result) as LAVA's kselftest parser prints them, in order (it writes failure
    logs into ./output/, so it runs in a scratch directory)."""
    scratch = os.path.join(os.path.dirname(os.path.abspath(parse_output)), "lava-scratch")
    os.makedirs(os.path.join(scratch, "output"), exist_ok=True)
    out = subprocess.run([sys.executable, os.path.abspath(parse_output)], input=text,
                         capture_output=True, text=True, cwd=scratch, check=True).stdout
    return [tuple(m.groups()) for m in
            (re.fullmatch(r"(\S+) (pass|fail|skip)", line) for line in out.splitlines()) if m]


def slugify(name):
    """parse-output.py's test name of a TAP description (its `slugify`, for names without
    `[N]` or `_-`, which ours never have)."""
    return re.sub(r"(^_|_$)", "", re.sub(r"[^A-Za-z0-9_-]+", "_", name))


def compare(what, got, want):
    """`got` and `want` are (name, result) in document order. LAVA names a skipped test
    with its skip reason appended (kselftest writes the name into its SKIP message), so a
    skip's name only starts with ours."""
    def same(g, w):
        return g[1] == w[1] and (g[0] == w[0] or g[1] == "skip" and g[0].startswith(w[0] + "_"))
    errors = [f"{what}: result {i + 1}: LAVA {g}, the report {w}"
              for i, (g, w) in enumerate(zip(got, want)) if not same(g, w)]
    if len(got) != len(want):
        errors.append(f"{what}: LAVA has {len(got)} results, the report {len(want)}")
    print(f"parse-output.py ({what}): {len(got)} results {counts(g[1] for g in got)}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kunit-dir", required=True)
    ap.add_argument("--parse-output", required=True)
    ap.add_argument("--runner-log", nargs=2, metavar=("LOG", "JSONL"))
    ap.add_argument("ktap")
    ap.add_argument("jsonl")
    a = ap.parse_args()
    cases, ifaces = report(a.jsonl)
    print(f"report: {len(cases)} cases in {len(ifaces)} interfaces "
          f"{counts(lab_result(o) for o in cases.values())}")
    errors = kunit_counts(a.kunit_dir, a.ktap, cases)
    with open(a.ktap) as f:
        got = lava_results(a.parse_output, f.read())
    want = [(slugify(i), interface_verdict(cases, n)) for i, n in ifaces.items()]
    errors += compare("the console as printed: the interfaces", got, want)
    if a.runner_log:
        log, jsonl = a.runner_log
        rcases, rifaces = report(jsonl)
        with open(log) as f:
            text = f.read()
        m = re.search(r"^# selftests: (.*)$", text, re.M)
        prefix = slugify(m.group(1)) if m else "<no '# selftests:' line>"
        got = lava_results(a.parse_output, text)
        # The runner's own line (last) judges the exit status, not a case: shown, not compared.
        if got and got[-1][0] == prefix:
            print(f"parse-output.py: the runner's test {prefix}: {got.pop()[1]}")
        want = []
        for i, names in rifaces.items():
            want += [(f"{prefix}_{slugify(n)}", lab_result(rcases[n])) for n in names]
            want.append((f"{prefix}_{slugify(i)}", interface_verdict(rcases, names)))
        errors += compare("under run_kselftest.sh: every case, then its interface", got, want)
    finish("ktap-check", errors, "kunit_parser and LAVA's parser agree with the report")


if __name__ == "__main__":
    main()
