"""The suite's JSON-lines report as the lab checks read it (ci/ktap-check.py,
ci/lava-check.py): its cases, and the result a lab records for each."""
import json
import sys


def read_cases(lines):
    """The report's cases (name -> outcome, in report order) and interfaces (name -> its
    case names, in order of first appearance)."""
    cases, ifaces = {}, {}
    for line in lines:
        rec = json.loads(line)
        if rec.get("type") == "case":
            cases[rec["name"]] = rec["outcome"]
            ifaces.setdefault(rec["interface"], []).append(rec["name"])
    return cases, ifaces


def lab_result(outcome):
    """pass, skip, or fail (for fail, broken and timeout: TAP and LAVA have no more)."""
    return {"pass": "pass", "skip": "skip"}.get(outcome, "fail")


def counts(results):
    """pass / fail / skip counts of lab results."""
    results = list(results)
    return {r: results.count(r) for r in ("pass", "fail", "skip")}


def finish(tool, errors, agreed):
    """Prints the mismatches (exit status 1) or `agreed`."""
    for e in errors[:30]:
        print(f"{tool}: MISMATCH {e}")
    if len(errors) > 30:
        print(f"{tool}: ... {len(errors) - 30} more")
    if errors:
        sys.exit(1)
    print(f"{tool}: {agreed}")
