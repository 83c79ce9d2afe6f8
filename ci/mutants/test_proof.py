#!/usr/bin/env python3
"""Tests of ci/mutants/proof.py on a small checkout of its own (a temporary directory): what it
fails on, the scores it prints, the files it writes. Run by .ci/run; alone:
python3 ci/mutants/test_proof.py"""
import contextlib, io, json, os, sys, tempfile, unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import proof  # noqa: E402

HEADER = "\t".join(proof.RESULT_HEADER)
MUTANT = """[{id}]
section = {section}
file = {file}
function = f
find = a
replace = b
bug = x
rows =
"""
# Two generated mutants of k.c (one killed, one survived), one hand-written one killed and
# one survived; rows t::a (killed twice), t::b (killed once), t::c and u::d unproven.
RESULTS = f"""# hand
{HEADER}
h_killed\thand\tKILLED\tt::a\tt::a\t-
h_survived\thand\tSURVIVED\t-\tt::c\t-
"""
GENERATED = f"""# generated
{HEADER}
g_k_f_nocheck_01\tg_k\tKILLED\tt::a,t::b,strict::feature::x\t\t-
g_k_f_neg_01\tg_k\tSURVIVED\t-\t\t-
"""
CASES = {"t::a": ["h_killed", "g_k_f_nocheck_01"], "t::b": ["g_k_f_nocheck_01"],
         "t::c": [], "u::d": []}


class Checkout:
    """A temporary checkout with the files proof.py reads; `write(rel, text)` changes one."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        for rel in ("fixtures/mutants/triage", "docs"):
            os.makedirs(os.path.join(self.root, rel))
        self.write("fixtures/mutants/results.tsv", RESULTS)
        self.write("fixtures/mutants/generated-results.tsv", GENERATED)
        self.write("fixtures/mutants/mutants.txt", "".join(
            MUTANT.format(id=i, section="hand", file="k.c") for i in ("h_killed", "h_survived")))
        self.write("fixtures/mutants/generated.txt", "".join(
            MUTANT.format(id=i, section="g_k", file="k.c")
            for i in ("g_k_f_nocheck_01", "g_k_f_neg_01", "g_k_f_rel_01")))
        self.write("fixtures/mutants/triage/hand.tsv",
                   "# hand\nh_survived\tequivalent\t-\tthe same answer either way\n")
        self.write("fixtures/mutants/triage/g_k.tsv",
                   "# g_k\ng_k_f_neg_01\trow\tt::c\tt::c now reads the field\n")
        self.write("fixtures/mutants/unproven-reasons.tsv", "# reasons\nu::*\toutside io_uring\n")
        self.cases(CASES)

    def write(self, rel, text):
        with open(os.path.join(self.root, rel), "w") as f:
            f.write(text)

    def read(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return f.read()

    def cases(self, cases):
        self.write("cases.json", json.dumps(
            {"cases": [{"name": n, "killed_mutants": k} for n, k in cases.items()]}))

    def run(self, *args):
        """(exit status, stdout, stderr) of proof.py here."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = proof.main(["--cases-json", os.path.join(self.root, "cases.json"), *args],
                                root=self.root)
        return status, out.getvalue(), err.getvalue()


class Proof(unittest.TestCase):
    def setUp(self):
        self.co = Checkout()

    def tearDown(self):
        self.co.tmp.cleanup()

    def fails(self, status, *words):
        got, out, err = self.co.run()
        self.assertEqual(got, status, out + err)
        for w in words:
            self.assertIn(w, err)
        return err

    def test_consistent_tables_pass_and_write_their_files(self):
        status, out, err = self.co.run()
        self.assertEqual(status, 0, out + err)
        # k.c: 3 defined, 2 run, 1 killed, 1 survived triaged `row` (still a survivor).
        self.assertIn("| `k.c` | 3 | 2 | 1 | 0 | 1 | 0 | 0 | 0 | 0 | 1 | 0 | 50.0% (1/2) |", out)
        # hand: the equivalent survivor leaves the denominator.
        self.assertIn("| `hand` | 2 | 2 | 1 | 0 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 100.0% (1/1) |", out)
        self.assertIn("Rows proven (named by a KILLED mutant): 2 of 4 (50.0%); unproven 2: "
                      "1 with a reason, 1 without.", out)
        self.assertIn("strict::feature::x is not a row of the suite", err)
        unproven = self.co.read(proof.UNPROVEN)
        self.assertTrue(unproven.endswith("t::c\t-\nu::d\toutside io_uring\n"), unproven)
        doc = self.co.read(proof.DOC)
        self.assertIn("| `t::a` | `h_killed`, `g_k_f_nocheck_01` |", doc)
        self.assertIn("| `u::d` | unproven: `u::*` |", doc)
        self.assertIn("| `t::c` | unproven, no reason yet |", doc)
        self.assertEqual(self.co.run("--check")[0], 0)
        self.co.write(proof.DOC, doc + "edited\n")
        status, _, err = self.co.run("--check")
        self.assertEqual(status, 1)
        self.assertIn(f"{proof.DOC} is not up to date", err)
        self.assertTrue(self.co.read(proof.DOC).endswith("edited\n"), "--check wrote the doc")

    def test_an_open_survivor_is_triaged_and_counts_against_the_score(self):
        # `open`: a row could catch it and none does yet; unlike `equivalent` it stays in the
        # denominator, and it needs no row of the suite.
        self.co.write("fixtures/mutants/triage/g_k.tsv",
                      "# g_k\ng_k_f_neg_01\topen\t-\tneeds a row on a polled device\n")
        status, out, err = self.co.run()
        self.assertEqual(status, 0, out + err)
        self.assertIn("| `k.c` | 3 | 2 | 1 | 0 | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 50.0% (1/2) |", out)

    def test_a_survivor_without_triage_fails(self):
        self.co.write("fixtures/mutants/triage/g_k.tsv", "# g_k\n")
        self.fails(1, "generated-results.tsv:4: survivor g_k_f_neg_01 has no triage line "
                      "(fixtures/mutants/triage/g_k.tsv)")

    def test_stale_and_misplaced_triage_lines_fail(self):
        self.co.write("fixtures/mutants/triage/g_k.tsv",
                      "# g_k\ng_k_f_neg_01\tequivalent\t-\tr\n"
                      "g_k_f_nocheck_01\tequivalent\t-\tr\n"
                      "g_gone\tequivalent\t-\tr\n")
        self.co.write("fixtures/mutants/triage/hand.tsv",
                      "# hand\nh_survived\tequivalent\t-\tr\ng_k_f_neg_01\toutside\t-\tr\n")
        self.fails(1, "g_k.tsv:3: g_k_f_nocheck_01 is KILLED in fixtures/mutants/"
                      "generated-results.tsv:3 (stale)", "g_k.tsv:4: g_gone is in no results "
                      "table (stale)", "hand.tsv:3: g_k_f_neg_01 is triaged at")
        self.co.write("fixtures/mutants/triage/g_k.tsv", "# g_k\nh_survived\tequivalent\t-\tr\n")
        self.co.write("fixtures/mutants/triage/hand.tsv", "# hand\ng_k_f_neg_01\toutside\t-\tr\n")
        self.fails(1, "hand.tsv:2: g_k_f_neg_01 belongs in fixtures/mutants/triage/g_k.tsv",
                   "g_k.tsv:2: h_survived belongs in fixtures/mutants/triage/hand.tsv")

    def test_a_row_verdict_of_a_killed_mutant_needs_its_row_among_the_killers(self):
        # g_k_f_nocheck_01 was killed by t::a and t::b: a `row` line naming t::b is the record
        # of why t::b exists and counts as killed in triage; naming t::c (not a killer) fails.
        self.co.write("fixtures/mutants/triage/g_k.tsv",
                      "# g_k\ng_k_f_neg_01\tequivalent\t-\tr\ng_k_f_nocheck_01\trow\tt::b\tr\n")
        status, out, err = self.co.run()
        self.assertEqual(status, 0, out + err)
        self.assertIn("| `k.c` | 3 | 2 | 1 | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 100.0% (1/1) |", out)
        self.co.write("fixtures/mutants/triage/g_k.tsv",
                      "# g_k\ng_k_f_neg_01\tequivalent\t-\tr\ng_k_f_nocheck_01\trow\tt::c\tr\n")
        self.fails(1, "g_k.tsv:3: g_k_f_nocheck_01 is KILLED in fixtures/mutants/generated-results"
                      ".tsv:3, but by none of the rows its triage names")

    def test_a_mutant_failing_most_rows_proves_none(self):
        # g_k_f_rel_01 fails three of the four rows (io_uring_setup broken, say): it is killed,
        # but t::c stays unproven, while t::b keeps its proof from a mutant that fails two.
        self.co.write("fixtures/mutants/generated-results.tsv", GENERATED +
                      "g_k_f_rel_01\tg_k\tKILLED\tt::a,t::b,t::c\t\t-\n")
        self.co.cases({"t::a": ["h_killed", "g_k_f_nocheck_01", "g_k_f_rel_01"],
                       "t::b": ["g_k_f_nocheck_01", "g_k_f_rel_01"], "t::c": ["g_k_f_rel_01"],
                       "u::d": []})
        self.co.write("fixtures/mutants/triage/g_k.tsv",
                      "# g_k\ng_k_f_neg_01\tequivalent\t-\tr\n")
        status, out, err = self.co.run()
        self.assertEqual(status, 0, out + err)
        self.assertIn("Rows proven (named by a KILLED mutant): 2 of 4 (50.0%)", out)

    def test_unknown_rows_and_verdicts_fail(self):
        self.co.write("fixtures/mutants/triage/g_k.tsv",
                      "# g_k\ng_k_f_neg_01\trow\tt::c,t::new\tr\n")
        self.fails(1, "g_k.tsv:2: g_k_f_neg_01: t::new is not a row of the suite")
        self.co.write("fixtures/mutants/triage/g_k.tsv", "# g_k\ng_k_f_neg_01\trow\t-\tr\n")
        self.fails(1, "a `row` verdict names no row")
        self.co.write("fixtures/mutants/triage/g_k.tsv", "# g_k\ng_k_f_neg_01\tfixed\t-\tr\n")
        self.fails(1, "g_k.tsv:2: g_k_f_neg_01: verdict 'fixed' is not one of")

    def test_malformed_files_are_exit_2_naming_the_line(self):
        for rel, text, want in [
            ("fixtures/mutants/triage/g_k.tsv", "# g_k\ng_k_f_neg_01\trow\tt::c\n",
             "g_k.tsv:2: not 4 non-empty"),
            ("fixtures/mutants/triage/g_k.tsv", "g_k_f_neg_01\trow\tt::c\tr\n",
             "g_k.tsv:1: no `#` header line"),
            ("fixtures/mutants/triage/g_k.tsv", "# g_k\ng_k_f_neg_01\trow\tT::C\tr\n",
             "g_k.tsv:2: 'T::C' is not a row name"),
            ("fixtures/mutants/results.tsv", RESULTS.replace("SURVIVED", "LIVED"),
             "results.tsv:4: verdict 'LIVED'"),
            ("fixtures/mutants/results.tsv", RESULTS + "h_killed\thand\tKILLED\t-\t-\t-\n",
             "results.tsv:5: h_killed named twice"),
            ("fixtures/mutants/results.tsv", RESULTS + "g_k_f_neg_01\tg_k\tKILLED\t-\t-\t-\n",
             "generated-results.tsv:4: g_k_f_neg_01 is in fixtures/mutants/results.tsv:5 too"),
            ("fixtures/mutants/unproven-reasons.tsv", "# r\nu::d\n", "unproven-reasons.tsv:2"),
        ]:
            with self.subTest(want):
                self.co.tmp.cleanup()
                self.co = Checkout()
                self.co.write(rel, text)
                self.fails(2, want)

    def test_reasons(self):
        # An exact line beats a glob; a line whose rows are all proven is stale (a note, a
        # failure with --strict); a line naming no row fails; --strict wants every reason.
        self.co.write("fixtures/mutants/unproven-reasons.tsv",
                      "# r\nu::*\tglob\nu::d\texact\nt::a\tproven\n")
        status, _, err = self.co.run()
        self.assertEqual(status, 0, err)
        self.assertIn("u::d\texact\n", self.co.read(proof.UNPROVEN))
        self.assertIn("unproven-reasons.tsv:2: u::*: every row it names is proven", err)
        status, _, err = self.co.run("--strict")
        self.assertEqual(status, 1)
        self.assertIn("1 unproven rows have no reason in fixtures/mutants/unproven-reasons.tsv: "
                      "t::c", err)
        self.assertIn("unproven-reasons.tsv:4: t::a: every row it names is proven", err)
        self.co.write("fixtures/mutants/unproven-reasons.tsv", "# r\nv::*\tnothing\n")
        self.fails(1, "unproven-reasons.tsv:2: v::* names no row of the suite")

    def test_the_suite_and_the_tables_agree(self):
        self.co.cases(dict(CASES, **{"t::b": []}))
        self.fails(1, "t::b: the suite's --cases-json says killed by [], the tables "
                      "['g_k_f_nocheck_01']")


if __name__ == "__main__":
    unittest.main()
