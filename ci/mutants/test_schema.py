"""Tests of the schemata runner's pure parts: python3 -m unittest discover -s ci/mutants"""
import os, sys, tempfile, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema  # noqa: E402
from run import channel_records, schema_culprits  # noqa: E402

SRC = """\
static int io_check(struct io_ring_ctx *ctx, void __user *arg,
\t\t    unsigned int nr)
{
\tif (!nr || nr > 16)
\t\treturn -EINVAL;
\treturn 0;
}

static __cold void io_drop(struct io_ring_ctx *ctx)
{
\tctx->nr = 0;
}

int io_cb(int (*fn)(int), int a[])
{
\treturn fn(a[0]);
}
"""


def mut(function, find, replace, sid):
    return {"id": f"m{sid}", "file": "x.c", "function": function, "find": find,
            "replace": replace, "sid": sid}


class Header(unittest.TestCase):
    def test_names_and_return_type(self):
        self.assertEqual(schema.parse_header("static int io_check(struct io_ring_ctx *ctx, "
                                             "void __user *arg,\n\t unsigned int nr)\n", "io_check"),
                         ((["int"], ["ctx", "arg", "nr"]), None))
        self.assertEqual(schema.parse_header("static __cold void io_drop(struct x *ctx)\n", "io_drop")[0][0],
                         ["void"])
        self.assertEqual(schema.parse_header("void *io_get(void)\n", "io_get")[0], (["void", "*"], []))
        self.assertEqual(schema.parse_header("int io_cb(int (*fn)(int), int a[])\n", "io_cb")[0][1],
                         ["fn", "a"])
        self.assertEqual(schema.parse_header("int io_v(int a, ...)\n", "io_v"), (None, "varargs"))

    def test_why_not(self):
        self.assertIsNone(schema.why_not(SRC, mut("io_check", "!nr || ", "", 1)))
        self.assertIn("body", schema.why_not(SRC, mut("io_check", "unsigned int nr", "int nr", 1)))
        stat = SRC.replace("\tctx->nr = 0;", "\tstatic int once;\n\tctx->nr = once;")
        self.assertIn("static locals", schema.why_not(stat, mut("io_drop", "ctx->nr", "ctx->x", 1)))
        self.assertIn("defined 0 times", schema.why_not(SRC, mut("io_none", "x", "y", 1)))


class Schema(unittest.TestCase):
    def test_copies_and_dispatchers(self):
        out = schema.schema(SRC, [mut("io_check", "!nr || ", "", 3), mut("io_check", "16", "17", 4),
                                  mut("io_drop", "= 0", "= 1", 5), mut("io_cb", "a[0]", "a[1]", 6)])
        self.assertIn("static int io_check__mut0(struct io_ring_ctx *ctx, void __user *arg,", out)
        self.assertIn("static int io_check__mut3(", out)
        self.assertIn("\tif (nr > 16)\n", out)  # mutant 3's copy
        self.assertIn("\tif (!nr || nr > 17)\n", out)  # mutant 4's copy
        self.assertIn("\tcase 3:\n\t\treturn io_check__mut3(ctx, arg, nr);\n", out)
        self.assertIn("\tdefault:\n\t\treturn io_check__mut0(ctx, arg, nr);\n", out)
        self.assertIn("\tcase 5:\n\t\tio_drop__mut5(ctx);\n\t\treturn;\n", out)
        # a global function's copies are static; the dispatcher keeps its header
        self.assertIn("static int io_cb__mut0(int (*fn)(int), int a[])", out)
        self.assertIn("\nint io_cb(int (*fn)(int), int a[])\n{\n\tswitch (IO_MUTANT()) {", out)
        # the pristine body is there once more as __mut0, untouched
        self.assertEqual(out.count("\tif (!nr || nr > 16)\n"), 1)


class Channel(unittest.TestCase):
    def test_records_and_ending(self):
        rep = b'{"a":1}\n@@ not a marker\n'
        data = (b"@@URING-INIT kernel=x@@\n@@URING-MUTANT-BEGIN id=0@@\n"
                b"@@URING-RESULTS-BEGIN mode=mutant-0 bytes=%d@@\n" % len(rep) + rep +
                b"@@URING-RESULTS-END mode=mutant-0 exit=0@@\n@@URING-MUTANT-END id=0 exit=0 secs=9.5@@\n"
                b"@@URING-MUTANT-BEGIN id=7@@\n@@URING-MUTANT-KMSG id=7 level=4 WARNING: x@@\n"
                b"@@URING-MUTANT-END id=7 exit=3 secs=10.0@@\n"
                b"@@URING-MUTANT-BEGIN id=0 recheck=7@@\n@@URING-MUTANT-END id=0 signal=9 secs=1.0@@\n"
                b"@@URING-MUTANT-REBOOT after=7@@\n")
        recs, ending = channel_records(data)
        self.assertEqual(ending, "reboot")
        self.assertEqual([(r["id"], r["recheck"]) for r in recs], [(0, None), (7, None), (0, "7")])
        self.assertEqual(recs[0]["report"], rep)
        self.assertEqual(recs[0]["end"], ["exit=0"])
        self.assertEqual(recs[1]["kmsg"], ["level=4 WARNING: x"])
        # a boot cut during an id: its record has no end
        recs, ending = channel_records(b"@@URING-MUTANT-BEGIN id=4@@\n@@URING-RESULTS-BEGIN mode=mutant-4 bytes=99@@\n{")
        self.assertEqual((recs[0]["end"], ending), (None, None))


class Culprits(unittest.TestCase):
    def test_error_lines_map_to_copies(self):
        text = "static int f__mut0(void)\n{\n}\nstatic int f__mut4(void)\n{\n\tbad;\n}\n"
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("/x/io_uring/x.c:6:2: error: 'bad' undeclared\n/x/io_uring/x.c:2:1: error: y\n")
            f.flush()
            self.assertEqual(schema_culprits(f.name, {"x.c": text}), {4})


if __name__ == "__main__":
    unittest.main()
