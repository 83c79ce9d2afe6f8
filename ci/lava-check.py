#!/usr/bin/python3
"""Compares the results a LAVA job recorded with the suite's JSON report of the same run
(ci/lava.sh runs the job).

  lava-check.py LAVA.log

LAVA.log is lava-run's log (one YAML record a line). The results of the test definition
uring-conformance are the cases (the set is the interface, `.` in a case name is `::`) and the
case `run`; the JSON report is the one the definition printed between <URING_REPORT_JSON>
markers. Every case must have one LAVA result equal to its report's outcome (pass, skip, fail
for fail / broken / timeout), and LAVA's job must have completed.
Exit status 0 equal, 1 not (each difference printed).
"""
import sys

import yaml

from lab_report import counts, finish, lab_result, read_cases

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def records(path):
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    yield yaml.load(line, Loader=Loader)
                except yaml.YAMLError:
                    continue


def main():
    results, report, in_report, job = [], [], False, None
    for rec in records(sys.argv[1]):
        lvl, msg = rec.get("lvl"), rec.get("msg")
        if lvl == "results" and isinstance(msg, dict):
            if msg.get("definition", "").endswith("_uring-conformance"):
                results.append(msg)
            elif msg.get("definition") == "lava" and msg.get("case") == "job":
                job = msg.get("result")
        elif lvl == "target" and isinstance(msg, str):
            # LAVA's console logger (lava_dispatcher/shell.py, ShellLogger.write) writes
            # every `"` of the console as `\"`: undone here.
            line = msg.strip().replace('\\"', '"')
            if line == "<URING_REPORT_JSON>":
                in_report = True
            elif line == "</URING_REPORT_JSON>":
                in_report = False
            elif in_report:
                report.append(line)
    errors = []
    if job != "pass":
        errors.append(f"LAVA's job result is {job!r}, not pass")
    cases = {n: lab_result(o) for n, o in read_cases(report)[0].items()}
    if not cases:
        errors.append("no JSON report in the job's log")
    lava = {}
    run = None
    for r in results:
        if r.get("case") == "run" and "set" not in r:
            run = r["result"]
            continue
        name = f"{r.get('set', '-')}::{r['case'].replace('.', '::')}"
        if name in lava:
            errors.append(f"{name}: recorded twice by LAVA")
        lava[name] = r["result"]
    for name, want in cases.items():
        got = lava.get(name)
        if got != want:
            errors.append(f"{name}: LAVA {got or 'nothing'}, the report {want}")
    errors += [f"{n}: LAVA {r}, not in the report" for n, r in lava.items() if n not in cases]
    sets = {n.split("::")[0] for n in lava}
    print(f"LAVA: job {job}; {len(lava)} test cases in {len(sets)} test sets {counts(lava.values())}; "
          f"the run: {run}")
    print(f"JSON report: {len(cases)} cases {counts(cases.values())}")
    finish("lava-check", errors, "LAVA's results equal the report, case by case")


if __name__ == "__main__":
    main()
