#!/usr/bin/env python3
"""Validates KCIDB documents written by uring-matrix --kcidb with kcidb-io's own schema code
(run by ci/kcidb-check.sh inside its venv).

Each document must validate exactly against schema 5.0 (what the matrix writes) and, upgraded
by kcidb-io, against its latest schema (what a submission is checked with). Then broken
copies of it must be rejected, so that the check can fail: a test status outside the
schema's, an id without its origin prefix, a test path with the suite's `::` separators, a
build without its checkout id, a document that claims schema version 4.

Prints one line per document and per rejected copy; exit 0 only when every document
validated and every broken copy was rejected, 1 otherwise, 2 on a file that is not JSON.
"""

import copy
import json
import sys
from collections import Counter

import jsonschema
import kcidb_io

V5 = kcidb_io.schema.V5_0
LATEST = kcidb_io.schema.LATEST


def breakages(doc):
    """(what, broken copy) pairs; each must fail validation."""
    def broken(what, change):
        d = copy.deepcopy(doc)
        change(d)
        return what, d

    out = []
    if doc.get("tests"):
        out.append(broken("a test status BROKEN",
                          lambda d: d["tests"][0].update(status="BROKEN")))
        out.append(broken("a test id without its origin prefix",
                          lambda d: d["tests"][0].update(
                              id=d["tests"][0]["id"].split(":", 1)[1])))
        out.append(broken("a test path with '::'",
                          lambda d: d["tests"][-1].update(
                              path="uring_conformance.a::b")))
    if doc.get("builds"):
        out.append(broken("a build without checkout_id",
                          lambda d: d["builds"][0].pop("checkout_id")))
    out.append(broken("schema version 4.0",
                      lambda d: d.update(version={"major": 4, "minor": 0})))
    return out


def check(path):
    """Validates one document and its broken copies; returns the number of problems."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"kcidb-check: {path}: not a JSON document: {e}", file=sys.stderr)
        sys.exit(2)
    problems = 0
    try:
        V5.validate_exactly(doc)
        LATEST.validate_exactly(LATEST.upgrade(doc))
        statuses = Counter(t.get("status") for t in doc.get("tests", []))
        counts = ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))
        print(f"kcidb-check: {path}: valid KCIDB {V5.major}.{V5.minor} (and "
              f"{LATEST.major}.{LATEST.minor} upgraded): {len(doc.get('checkouts', []))} "
              f"checkouts, {len(doc.get('builds', []))} builds, "
              f"{len(doc.get('tests', []))} tests ({counts})")
    except jsonschema.exceptions.ValidationError as e:
        problems += 1
        where = "/".join(str(p) for p in e.absolute_path)
        print(f"kcidb-check: {path}: INVALID at {where}: {e.message}")
        return problems
    for what, d in breakages(doc):
        if V5.is_valid_exactly(d):
            problems += 1
            print(f"kcidb-check: {path}: a broken copy ({what}) was ACCEPTED")
        else:
            print(f"kcidb-check: {path}: a broken copy ({what}) is rejected, as it must be")
    return problems


def main():
    if len(sys.argv) < 2:
        print("usage: validate.py DOC.json...", file=sys.stderr)
        sys.exit(2)
    problems = sum(check(p) for p in sys.argv[1:])
    sys.exit(1 if problems else 0)


main()
