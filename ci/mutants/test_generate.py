#!/usr/bin/env python3
"""Tests of ci/mutants/generate.py on a small C fixture (ci/mutants/tests/): what each operator
produces, that every snippet is unique in its function, that ids are stable across runs and
that the runner reads the table back. Run by .ci/run; alone: python3 ci/mutants/test_generate.py"""
import json, os, sys, tempfile, unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402
import run  # noqa: E402

FIXTURE = os.path.join(HERE, "tests", "io_uring")
COVERAGE = os.path.join(HERE, "tests", "coverage.json")


def produce():
    muts, not_unique = generate.generate(FIXTURE, json.loads(generate.read(COVERAGE)))
    assert not_unique == 0
    return muts


class Operators(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.muts = produce()
        cls.by_id = {m["id"]: m for m in cls.muts}
        cls.text = generate.read(os.path.join(FIXTURE, "kbuf.c"))

    def edit(self, mid):
        """(find, replace) of a mutant, stripped of the line's indentation."""
        m = self.by_id[mid]
        return m["find"].strip(), m["replace"].strip()

    def test_each_operator(self):
        want = {
            "g_kbuf_check_nocheck_01": ("if (!len || len > MAX_LEN)",
                                        "if ((!len || len > MAX_LEN) && 0)"),
            "g_kbuf_check_nodisj_01": ("if (!len || len > MAX_LEN)",
                                       "if (((!len) && 0) || len > MAX_LEN)"),
            "g_kbuf_check_nodisj_02": ("if (!len || len > MAX_LEN)",
                                       "if (!len || ((len > MAX_LEN) && 0))"),
            "g_kbuf_relax_neg_01": ("if (a < b)", "if (!(a < b))"),
            "g_kbuf_relax_rel_01": ("if (a < b)", "if (a <= b)"),
            "g_kbuf_relax_rel_02": ("if (a != 7)", "if (a == 7)"),
            "g_kbuf_check_rel_01": ("if (!len || len > MAX_LEN)", "if (!len || len >= MAX_LEN)"),
            "g_kbuf_relax_const_01": ("if (a != 7)", "if (a != (7 + 1))"),
            "g_kbuf_relax_const_02": ("if (a != 7)", "if (a != (7 - 1))"),
            "g_kbuf_check_const_01": ("if (!len || len > MAX_LEN)",
                                      "if (!len || len > (MAX_LEN + 1))"),
            "g_kbuf_check_errno_01": ("return -EINVAL;", "return -EFAULT;"),
            "g_kbuf_check_errno_02": ("return -EBUSY;", "return -EEXIST;"),
            "g_kbuf_fields_noassign_01": ("b->head++;", ";"),
            "g_kbuf_fields_noassign_02": ("req->cqe.res = res;", "(void)(res);"),
            "g_kbuf_fields_noassign_03": ("b->slots[res] = b;", "(void)(b);"),
            "g_kbuf_fields_noassign_04": ("WRITE_ONCE(b->len, 0);", ";"),
            "g_kbuf_complete_nocall_01": ("req_set_fail(req);", ";"),
            "g_kbuf_complete_nocall_02": ("io_req_set_res(req, res, 0);", ";"),
            "g_kbuf_relax_andor_01": ("if (a && b)", "if (a || b)"),
        }
        for mid, edit in want.items():
            self.assertIn(mid, self.by_id)
            self.assertEqual(self.edit(mid), edit, mid)
        # swap: the prototype in fixture.h says arguments 2 and 3 are both int; the second
        # call's snippet grows until it is unique in the function.
        self.assertEqual(self.edit("g_kbuf_swapped_swap_01"),
                         ("{\n\tcommit(b, len, nr);", "{\n\tcommit(b, nr, len);"))
        self.assertEqual(self.edit("g_kbuf_swapped_swap_02"),
                         ("commit(b, len, nr);\n\tcommit(b, len, nr);",
                          "commit(b, len, nr);\n\tcommit(b, nr, len);"))
        self.assertEqual({m["operator"] for m in self.muts}, {o for o, _ in generate.OPERATORS})

    def test_only_covered_code(self):
        self.assertFalse([m for m in self.muts if m["function"] == "uncovered"])
        # nor a compile-time assertion (line 22)
        self.assertFalse([m for m in self.muts if m["source_line"] == "22"])
        # the errno in the comment of line 9 is not code
        self.assertEqual([m["source_line"] for m in self.muts if m["operator"] == "errno"],
                         ["8", "10"])

    def test_snippets_unique_and_apply(self):
        for m in self.muts:
            mutated, err = run.mutate(self.text, m)
            self.assertIsNone(err, m["id"])
            self.assertNotEqual(mutated, self.text, m["id"])
            self.assertEqual(mutated.count("\n"), self.text.count("\n"), m["id"])

    def test_ids_stable_and_unique(self):
        again = produce()
        self.assertEqual([(m["id"], m["find"], m["replace"]) for m in again],
                         [(m["id"], m["find"], m["replace"]) for m in self.muts])
        self.assertEqual(len({m["id"] for m in self.muts}), len(self.muts))

    def test_runner_reads_the_table(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "generated.txt")
            generate.write_table(path, "# test\n", self.muts)
            back = run.parse_mutants(path)
        self.assertEqual([(m["id"], m["find"], m["replace"], m["operator"], m["source_line"])
                          for m in back],
                         [(m["id"], m["find"], m["replace"], m["operator"], m["source_line"])
                          for m in self.muts])

    def test_merge_replaces_one_files_blocks(self):
        """--merge: the blocks of the regenerated file are replaced, every other file's stay
        byte for byte and in place, and the table reads back the same as it was written."""
        other = [dict(m, id=m["id"].replace("g_kbuf_", "g_rsrc_"), section="g_rsrc",
                      file="rsrc.c") for m in self.muts[:3]]
        old_kbuf = [dict(m, replace=m["replace"] + " ") for m in self.muts[:2]]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "generated.txt")
            generate.write_table(path, "# test\n", other[:1] + old_kbuf + other[1:],
                                 {m["id"]: "object-identical" for m in other + old_kbuf})
            blocks = generate.read_blocks(path)
            generate.write_blocks(path + ".again", "# test\n", [b[0] for b in blocks])
            self.assertEqual(generate.read(path + ".again"), generate.read(path))
            self.assertEqual([b[4] for b in blocks], ["object-identical"] * 5)
            new = [(generate.block(m), m["id"], m["file"], m["operator"], None)
                   for m in self.muts]
            merged = generate.merge(path, ["kbuf.c"], new)
            self.assertEqual([b[1] for b in merged],
                             [m["id"] for m in other] + [m["id"] for m in self.muts])
            self.assertEqual([b[0] for b in merged[:3]],
                             [b[0] for b in blocks if b[2] == "rsrc.c"])
            generate.write_blocks(path, "# test\n", [b[0] for b in merged])
            back = run.parse_mutants(path)
            self.assertEqual([(m["id"], m["replace"]) for m in back],
                             [(m["id"], m["replace"]) for m in other + self.muts])
            clash = [(generate.block(other[0]), other[0]["id"], "kbuf.c", "neg", None)]
            with self.assertRaises(SystemExit):
                generate.merge(path, ["kbuf.c"], clash)

    def test_mask_blanks_comments_and_strings(self):
        text = 'a = "x < y"; /* b > c */ d; // e == f\n\'<\';'
        masked = generate.mask(text)
        self.assertEqual(len(masked), len(text))
        self.assertNotRegex(masked, r"[<>=]{2}|<|>")
        self.assertIn("a =", masked)


if __name__ == "__main__":
    unittest.main()
