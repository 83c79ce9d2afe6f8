"""Mutant schemata by function duplication: many mutants in one kernel build, chosen at run time.

For every function a batch of mutants edits, the mutated file gets
  - the pristine body under the name `FN__mut0`,
  - one copy per mutant, `FN__mutN`, with that mutant's find/replace applied,
  - a dispatcher under the original name (so callers, ops tables and taken addresses all reach
    it) that calls the copy whose id equals `IO_MUTANT()`, the value user space writes to
    /sys/module/io_uring_mutant/parameters/id (io_uring/mutant.c, added to the private tree's
    io_uring/Makefile; 0, the default, is the pristine kernel).
A mutant that cannot be duplicated this way (no single kernel-style definition, varargs, static
locals, a snippet outside the body, a header this parser does not understand) is left to the
one-at-a-time build, with the reason (`why_not`)."""
import re

# The knob: a built-in module parameter (kernel/params.c param_sysfs_builtin makes
# /sys/module/io_uring_mutant/parameters/id for it; MODULE_PARAM_PREFIX names the directory).
KNOB = "/sys/module/io_uring_mutant/parameters/id"
MUTANT_C = """\
// SPDX-License-Identifier: GPL-2.0
/* The mutant-schemata knob of ci/mutants.sh (a private build tree only): which copy of each
 * duplicated function runs; 0 is the pristine kernel. */
#include <linux/moduleparam.h>
#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "io_uring_mutant."
unsigned int io_mutant_id;
module_param_named(id, io_mutant_id, uint, 0644);
"""
MAKEFILE_LINE = "\nobj-$(CONFIG_IO_URING) += mutant.o\n"
# Declared before each dispatcher (a header's static inline one too); READ_ONCE: the knob
# changes under running code.
PRELUDE = """\
#ifndef IO_MUTANT
extern unsigned int io_mutant_id;
#define IO_MUTANT() READ_ONCE(io_mutant_id)
#endif
"""
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words of a definition header that are not the return type.
QUALIFIERS = {"static", "inline", "__always_inline", "noinline", "__cold", "__hot", "__init",
              "__exit", "__must_check", "notrace", "__maybe_unused", "extern", "__noreturn",
              "__attribute_const__", "__pure"}


def function_span(text, func):
    """(start, end) of the definition of `func` (its header line to the closing `}` in
    column 0, kernel style: the body opens with `\\n{\\n`); fails unless there is exactly one."""
    hdr = re.compile(r"^[A-Za-z_][^\n;]*?\b" + re.escape(func) + r"\(", re.M)
    spans = []
    for m in hdr.finditer(text):
        body = text.find("\n{\n", m.start())
        semi = text.find(";", m.start())
        if body < 0 or 0 <= semi < body:
            continue  # a prototype, not the definition
        end = text.find("\n}\n", body)
        if end < 0:
            continue
        spans.append((m.start(), end + 3))
    if len(spans) != 1:
        return None, f"function {func} defined {len(spans)} times"
    return spans[0], None


def mutate(text, m):
    """`text` with mutant `m` applied (its `find` exactly once in its function), or an error."""
    span, err = function_span(text, m["function"])
    if err:
        return None, err
    a, b = span
    body = text[a:b]
    n = body.count(m["find"])
    if n != 1:
        return None, f"snippet occurs {n} times in {m['function']} (must be exactly once): {m['find']!r}"
    return text[:a] + body.replace(m["find"], m["replace"]) + text[b:], None


def split_top(s, sep=","):
    """`s` split at `sep` outside parentheses and brackets."""
    parts, depth, cur = [], 0, ""
    for c in s:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return parts


def parse_header(header, func):
    """(return type words, parameter names) of a definition header, or (None, reason)."""
    at = re.search(r"\b" + re.escape(func) + r"\(", header)
    depth, close = 0, None
    for i in range(at.end() - 1, len(header)):
        depth += {"(": 1, ")": -1}.get(header[i], 0)
        if depth == 0:
            close = i
            break
    if close is None:
        return None, "unbalanced parameter list"
    before = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", header[:at.start()], flags=re.S)
    words = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\*", before) if w not in QUALIFIERS]
    if not words:
        return None, "no return type"
    params = " ".join(header[at.end():close].split())
    if params in ("", "void"):
        return (words, []), None
    names = []
    for p in split_top(params):
        p = p.strip()
        if p == "...":
            return None, "varargs"
        fp = re.search(r"\(\s*\*\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", p)  # int (*cb)(int)
        if fp:
            names.append(fp.group(1))
            continue
        p = re.sub(r"\[[^\]]*\]\s*$", "", p)  # int a[]
        p = re.sub(r"\b__(user|force|iomem|rcu)\b", "", p)
        ids = IDENT.findall(p)
        if len(ids) < 2:
            return None, f"parameter without a name: {p!r}"
        names.append(ids[-1])
    return (words, names), None


def why_not(text, m):
    """Why mutant `m` cannot go into a schema of `text` (None when it can)."""
    span, err = function_span(text, m["function"])
    if err:
        return err
    a, b = span
    brace = text.index("\n{\n", a) + 1
    body = text[brace:b]
    if body.count(m["find"]) != 1 or text[a:b].count(m["find"]) != 1:
        return "the snippet is not exactly once in the function's body"
    if re.search(r"^\s+static\s", body, re.M):
        return "the function has static locals (one copy each would split their state)"
    if "__builtin_return_address" in body or "_RET_IP_" in body or "_THIS_IP_" in body:
        return "the function reads its own return address"
    parsed, err = parse_header(text[a:brace], m["function"])
    if err:
        return f"header: {err}"
    return None


def schema(text, muts):
    """`text` with every mutant of `muts` (each with an integer `sid` > 0, all of them passing
    `why_not`) duplicated into copies behind dispatchers."""
    by_func = {}
    for m in muts:
        by_func.setdefault(m["function"], []).append(m)
    # Bottom-up, so earlier offsets stay valid.
    spans = sorted(((function_span(text, f)[0], f) for f in by_func), reverse=True)
    for (a, b), func in spans:
        brace = text.index("\n{\n", a) + 1
        header, body = text[a:brace], text[brace:b]
        (ret, names), _ = parse_header(header, func)
        static = header.lstrip().startswith("static") or re.match(r"^(__\w+\s+)*static\b", header)

        def named(n):
            h = re.sub(r"\b" + re.escape(func) + r"\(", f"{func}__mut{n}(", header, count=1)
            # A global function's copies are this file's own: no clash, no prototype needed.
            return h if static else "static " + h

        copies = [named(0) + body]
        for m in by_func[func]:
            copies.append(named(m["sid"]) + body.replace(m["find"], m["replace"], 1))
        args = ", ".join(names)
        void = ret == ["void"]
        cases = []
        for m in by_func[func]:
            call = f"{func}__mut{m['sid']}({args})"
            cases.append(f"\tcase {m['sid']}:\n\t\t" +
                         (f"{call};\n\t\treturn;\n" if void else f"return {call};\n"))
        default = f"{func}__mut0({args})"
        dispatch = (header + "{\n\tswitch (IO_MUTANT()) {\n" + "".join(cases) +
                    "\tdefault:\n\t\t" + (f"{default};\n\t\treturn;\n" if void else
                                          f"return {default};\n") + "\t}\n}\n")
        text = text[:a] + PRELUDE + "\n".join(copies) + "\n" + dispatch + text[b:]
    return text
