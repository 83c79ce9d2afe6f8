#!/usr/bin/env python3
"""Kernel mutants by operator: applies mutation operators to the lines of the
interfaces' io_uring functions that the suite's coverage reaches, compiles each mutant's object
and drops the ones whose code equals the pristine object's (or an earlier mutant's); writes
fixtures/mutants/generated.txt (for ci/mutants.sh --mutants) and generated-identical.txt (the
dropped ones, with the reason). See the README's "Kernel mutants"."""
import argparse, concurrent.futures, hashlib, json, os, re, shutil, signal, subprocess, sys
import tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the runner: its Tree paths, parse_mutants)
import schema  # noqa: E402  (function_span, mutate: where a mutant applies)

ROOT = run.ROOT
OUT = os.path.join(ROOT, "fixtures/mutants/generated.txt")
DROPPED = os.path.join(ROOT, "fixtures/mutants/generated-identical.txt")
COVERAGE = os.path.join(ROOT, "ci/out/coverage/coverage.json")

# Every function of these files that the suite reaches is on the interfaces' path ...
WHOLE = ("rsrc.c", "kbuf.c", "msg_ring.c", "filetable.c", "memmap.c", "query.c", "register.c",
         "nop.c")
# ... of these only the fixed-buffer, buffer-select and msg functions: a function qualifies
# when its body uses one of these names (the rest of rw.c and net.c is plain file I/O).
PARTIAL = ("rw.c", "net.c")
PATH_WORDS = re.compile(
    r"\b(io_put_kbufs?|io_buffer_select|io_buffers_select|io_buffers_peek|io_kbuf_recycle"
    r"|io_kbuf_commit|REQ_F_BUFFER_SELECT(ED)?|REQ_F_BUFFER_RING|REQ_F_BUFFERS_COMMIT|buf_index"
    r"|buf_group|io_import_reg_buf|io_import_reg_vec|io_prep_reg_iovec|io_find_buf_node"
    r"|IORING_RECVSEND_FIXED_BUF|IORING_RECVSEND_BUNDLE|io_rsrc_node|REQ_F_IMPORT_BUFFER"
    r"|io_recv_buf_select|io_send_select_buffer)\b")

# A plausible wrong errno for each (one each: a campaign stays a few hundred mutants).
ERRNO_SWAP = {
    "EINVAL": "EFAULT", "EFAULT": "EINVAL", "EBUSY": "EEXIST", "EEXIST": "EBUSY",
    "ENOMEM": "ENOBUFS", "ENOBUFS": "ENOMEM", "EOVERFLOW": "EINVAL", "EBADF": "EINVAL",
    "ENXIO": "EINVAL", "EOPNOTSUPP": "EINVAL", "EAGAIN": "EBUSY", "EPERM": "EACCES",
    "EACCES": "EPERM", "ENOENT": "ENXIO", "E2BIG": "EINVAL", "ENFILE": "EMFILE",
    "EMFILE": "ENFILE", "ECANCELED": "EINTR", "EINTR": "ECANCELED", "ENODEV": "ENXIO",
    "ENOTSUPP": "EOPNOTSUPP", "ESPIPE": "EINVAL", "EMSGSIZE": "EINVAL", "ERANGE": "EINVAL",
    "EALREADY": "EBUSY", "ENOTSOCK": "EBADF", "EIOCBQUEUED": "EAGAIN", "ESRCH": "ENOENT",
    "EBADFD": "EBADF", "EXDEV": "EINVAL", "ENOSPC": "ENOMEM",
}
# Calls that complete a request, mark it failed or account its buffer (statement calls only).
COMPLETING = re.compile(
    r"(req_set_fail|io_req_set_res|io_put_kbufs?|io_kbuf_commit|io_kbuf_recycle\w*"
    r"|io_req_task_complete|io_req_complete\w*|io_req_queue_tw_complete|io_post_aux_cqe"
    r"|io_add_aux_cqe|io_req_set_cqe32_extra|io_req_msg_cleanup|io_kbuf_drop\w*"
    r"|io_req_post_cqe\w*|io_put_rsrc_node|io_req_put_rsrc_nodes|io_req_assign_buf_node"
    r"|io_file_bitmap_set|io_file_bitmap_clear|io_fixed_file_set|io_account_mem"
    r"|io_unaccount_mem|__io_account_mem|__io_unaccount_mem)")
REL_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
# (operator, what it models), in the order of the list.
OPERATORS = (
    ("nocheck", "an error check deleted (its condition made false)"),
    ("nodisj", "one condition of an error check deleted (a `||` term made false)"),
    ("neg", "a condition negated"),
    ("rel", "a comparison relaxed or tightened (`<`/`<=`, `>`/`>=`, `==`/`!=`)"),
    ("const", "a constant in a comparison or a size off by one"),
    ("errno", "an errno replaced by another plausible one"),
    ("noassign", "an assignment to a field, ring entry, table slot or counter dropped"),
    ("nocall", "a call that completes a request, fails it or accounts a buffer dropped"),
    ("swap", "two arguments of the same type swapped (types from the prototype)"),
    ("andor", "`&&` and `||` exchanged in a condition"),
)


def say(msg):
    print(f"[generate {time.time() - run.T0:6.0f}s] {msg}", file=sys.stderr, flush=True)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def mask(text):
    """The text with comments, string and char literals blanked (same length, newlines
    kept), so the operators never match inside them."""
    out, i, n = list(text), 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
            for k in range(i + 1, min(j - 1, n)):
                if out[k] != "\n":
                    out[k] = " "
            i = j
            continue
        else:
            i += 1
            continue
        for k in range(i, j):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def close_paren(m, i):
    """Index of the `)` matching the `(` at m[i] (masked text), or -1."""
    depth = 0
    for j in range(i, len(m)):
        if m[j] == "(":
            depth += 1
        elif m[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


def top_level_split(m, a, b, sep):
    """The (start, end) spans of m[a:b] split at `sep` outside any brackets."""
    spans, depth, start, j = [], 0, a, a
    while j < b:
        c = m[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and m.startswith(sep, j):
            spans.append((start, j))
            start = j + len(sep)
            j += len(sep)
            continue
        j += 1
    spans.append((start, b))
    return spans


def strip_span(m, a, b):
    while a < b and m[a].isspace():
        a += 1
    while b > a and m[b - 1].isspace():
        b -= 1
    return a, b


def prototypes(src_dir):
    """name -> [parameter type, ...] for the functions declared or defined in io_uring/ whose
    parameters read plainly (no function pointers, no varargs); a name declared with two
    different lists is left out."""
    protos, bad = {}, set()
    decl = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\(([^()]*)\)\s*[;{\n]", re.M)
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith((".c", ".h")):
            continue
        m = mask(read(os.path.join(src_dir, name)))
        for d in decl.finditer(m):
            fn, params = d.group(1), d.group(2)
            if fn in ("if", "while", "for", "switch", "return", "sizeof") or "..." in params:
                continue
            types = []
            for p in params.split(","):
                p = " ".join(p.split())
                pm = re.fullmatch(r"(.*?[\s\*])(\w+)", p)
                if not pm or not pm.group(1).strip():
                    types = None
                    break
                types.append(re.sub(r"\s*\*\s*", " *", pm.group(1).strip()).replace(" *", "*"))
            if types is None or types == ["void"] or types == []:
                continue
            if fn in protos and protos[fn] != types:
                bad.add(fn)
            protos[fn] = types
    for fn in bad:
        protos.pop(fn, None)
    return protos


class Source:
    """One pristine file: its text, masked text and line starts."""

    def __init__(self, name, text):
        self.name, self.text, self.m = name, text, mask(text)
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line_of(self, pos):
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def line_start(self, pos):
        return self.starts[self.line_of(pos) - 1]

    def line_end(self, pos):
        e = self.text.find("\n", pos)
        return len(self.text) if e < 0 else e


def candidates(src, a, b, covered, protos):
    """(operator, start, end, new text, description) for the function at src.text[a:b]
    whose covered lines are `covered`, in source order per operator."""
    m, t = src.m, src.text
    out = []

    def cov(pos):
        return src.line_of(pos) in covered

    body = m.find("{", a)
    # Conditions: if (...) with what follows.
    for im in re.finditer(r"\bif\s*\(", m[body:b]):
        op = body + im.end() - 1
        cp = close_paren(m, op)
        if cp < 0 or cp >= b or not cov(op):
            continue
        ca, cb = op + 1, cp
        cond = t[ca:cb]
        # the statement it guards: a block or one statement
        k = cp + 1
        while m[k].isspace():
            k += 1
        if m[k] == "{":
            depth, e = 0, k
            while e < b:
                depth += {"{": 1, "}": -1}.get(m[e], 0)
                if depth == 0:
                    break
                e += 1
        else:
            e = m.find(";", k)
        guarded = m[k:e + 1]
        is_check = re.search(r"\breturn\s+(-E[A-Z0-9]+|ERR_PTR\s*\(\s*-E)|\bgoto\s+\w*(err|fail)"
                             r"|=\s*-E[A-Z0-9]+\s*;[\s\S]*\b(goto|break|return)\b", guarded)
        if is_check and not cov(k):
            pass  # the check never failed here: its mutants could not be killed
        elif is_check:
            # `(cond) && 0`, not `0 && ...`: a call in the condition (copy_from_user(),
            # check_add_overflow()) still runs; only its verdict is ignored.
            out.append(("nocheck", ca, cb, f"({cond}) && 0", "error check deleted"))
            terms = top_level_split(m, ca, cb, "||")
            if len(terms) > 1:
                for ta, tb in terms:
                    ta, tb = strip_span(m, ta, tb)
                    out.append(("nodisj", ta, tb, f"(({t[ta:tb]}) && 0)",
                                f"condition `{' '.join(t[ta:tb].split())}` of an error check deleted"))
        else:
            # An error check negated fails every valid call, which any row sees: nocheck is
            # the informative mutant there.
            out.append(("neg", ca, cb, f"!({cond})", "condition negated"))
        for lm in re.finditer(r"&&|\|\|", m[ca:cb]):
            p = ca + lm.start()
            if cov(p):
                new = "||" if lm.group() == "&&" else "&&"
                out.append(("andor", p, p + 2, new, f"`{lm.group()}` -> `{new}`"))
    # Comparisons and constants in them.
    limit = r"(\(?\s*)([A-Z][A-Z0-9_]{2,}|0[xX][0-9a-fA-F]+|\d+)([uUlL]*)(?![\w(])"
    bound = r"(\(?\s*)(0[xX][0-9a-fA-F]+|\d+)([uUlL]*)(?![\w(])"
    for cm in re.finditer(r"(?<![<>=!\-])(<=|>=|==|!=|<|>)(?![<>=])", m[body:b]):
        p = body + cm.start()
        line = m[src.line_start(p):src.line_end(p)]
        if not cov(p) or line.lstrip().startswith("#"):
            continue
        new = REL_SWAP[cm.group()]
        out.append(("rel", p, p + len(cm.group()), new, f"`{cm.group()}` -> `{new}`"))
        # +-1 on a bound; an opcode or flag an equality reads is not a bound
        operand = bound if cm.group() in ("==", "!=") else limit
        after = re.match(r"\s*" + operand, m[p + len(cm.group()):b])
        if after:
            s = p + len(cm.group()) + after.start(2)
            e = s + len(after.group(2)) + len(after.group(3))
            out += const_variants(t, s, e)
        before = re.search(r"(?<![\w.>])(" + ("" if operand is bound else r"[A-Z][A-Z0-9_]{2,}|")
                           + r"0[xX][0-9a-fA-F]+|\d+)([uUlL]*)\s*$", m[src.line_start(p):p])
        if before:
            s = src.line_start(p) + before.start(1)
            out += const_variants(t, s, src.line_start(p) + before.end(2))
    # Sizes: a literal added or subtracted (`len + 1`, `nr - 1`).
    for sm in re.finditer(r"[\w)\]]\s*[+\-]\s*(\d+)\b(?![.\w])", m[body:b]):
        s = body + sm.start(1)
        if cov(s):
            out += const_variants(t, s, s + len(sm.group(1)))
    # Errnos (not the ones a comparison reads).
    for em in re.finditer(r"-(E[A-Z0-9]+)\b", m[body:b]):
        p = body + em.start()
        prev = m[max(a, p - 4):p].rstrip()
        if not cov(p) or prev.endswith(("==", "!=")) or em.group(1) not in ERRNO_SWAP:
            continue
        new = "-" + ERRNO_SWAP[em.group(1)]
        out.append(("errno", p, p + len(em.group()), new, f"{em.group()} -> {new}"))
    # Statements: assignments to fields/slots/counters and completing calls.
    lhs = r"(?:\*\s*)?\w+(?:\[[^\]\n]*\])?(?:(?:->|\.)\w+(?:\[[^\]\n]*\])?)*"
    for st in re.finditer(r"(?m)^[ \t]+(?=\S)", m[body:b]):
        s = body + st.end()
        if not cov(s):
            continue
        e = statement_end(m, s, b)
        if e < 0:
            continue
        stmt = m[s:e + 1]
        am = re.fullmatch(r"(" + lhs + r")\s*(=|\+=|-=|\|=|&=|<<=|>>=|\^=)\s*([\s\S]*);", stmt)
        if am and re.search(r"->|\.|\[", am.group(1)) and not am.group(1).startswith("*"):
            rhs = t[s + am.start(3):s + am.end(3)]
            out.append(("noassign", s, e + 1, f"(void)({rhs});",
                        f"assignment to `{am.group(1)}` dropped"))
            continue
        im = re.fullmatch(r"(" + lhs + r")\s*(\+\+|--)\s*;|(\+\+|--)\s*(" + lhs + r")\s*;", stmt)
        if im and re.search(r"->|\.|\[", im.group(1) or im.group(4)):
            out.append(("noassign", s, e + 1, ";",
                        f"update of `{im.group(1) or im.group(4)}` dropped"))
            continue
        wm = re.fullmatch(r"(WRITE_ONCE|smp_store_release|atomic_set|atomic_inc|atomic_dec"
                          r"|atomic_add|atomic_sub|atomic64_add|atomic64_sub|refcount_inc"
                          r"|__set_bit|__clear_bit|set_bit|clear_bit)\s*\([\s\S]*\)\s*;", stmt)
        if wm:
            out.append(("noassign", s, e + 1, ";", f"`{wm.group(1)}(...)` dropped"))
            continue
        cm = re.fullmatch(r"(" + COMPLETING.pattern + r")\s*\([\s\S]*\)\s*;", stmt)
        if cm:
            out.append(("nocall", s, e + 1, ";", f"call `{cm.group(1)}(...)` dropped"))
    # Swapped arguments of the same type.
    for fm in re.finditer(r"(?<![\w.>])(\w+)\s*\(", m[body:b]):
        name, p = fm.group(1), body + fm.end() - 1
        types = protos.get(name)
        if not types or not cov(p):
            continue
        cp = close_paren(m, p)
        if cp < 0 or cp > b:
            continue
        args = [strip_span(m, x, y) for x, y in top_level_split(m, p + 1, cp, ",")]
        if len(args) != len(types):
            continue
        for i in range(len(args)):
            for j in range(i + 1, len(args)):
                ai, aj = t[args[i][0]:args[i][1]], t[args[j][0]:args[j][1]]
                if types[i] != types[j] or ai == aj:
                    continue
                new = t[args[i][0]:args[j][1]]
                new = aj + new[len(ai):len(new) - len(aj)] + ai
                out.append(("swap", args[i][0], args[j][1], new,
                            f"`{name}` arguments {i + 1} and {j + 1} ({types[i]}) swapped"))
    # A compile-time assertion is no code: a mutant there does not compile or changes nothing.
    asserts = [(x.start(), close_paren(m, x.end() - 1)) for x in
               re.compile(r"\b(BUILD_BUG_ON\w*|static_assert|_Static_assert)\s*\(")
               .finditer(m, a, b)]
    return [c for c in out if not any(x <= c[1] <= y for x, y in asserts)]


def const_variants(t, s, e):
    lit = t[s:e]
    return [("const", s, e, f"({lit} {sign} 1)", f"`{lit}` -> `{lit} {sign} 1`")
            for sign in "+-"]


def statement_end(m, s, b):
    """The `;` ending the statement starting at s (masked text), or -1 when it is not a
    plain statement (a declaration, a control statement, a label, a brace)."""
    if re.match(r"(if|for|while|switch|return|else|do|case|default|goto|break|continue)\b"
                r"|[{}#]|\w+:", m[s:]):
        return -1
    if re.match(r"(struct|union|enum|const|static|unsigned|signed|int|long|char|bool|u8|u16"
                r"|u32|u64|__u\d+|size_t|ssize_t|void)\b", m[s:]):
        return -1
    depth = 0
    for j in range(s, b):
        c = m[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return -1
        elif c == ";" and depth == 0:
            return j
    return -1


def escape(s):
    return s.replace("\t", "\\t").replace("\n", "\\n")


def snippet(src, fa, fb, s, e, new):
    """(find, replace) for replacing src.text[s:e] by `new`: whole lines, widened by a line
    at a time until `find` occurs exactly once in the function src.text[fa:fb]."""
    body = src.text[fa:fb]
    la, lb = src.line_start(s), src.line_end(max(s, e - 1))
    grow_up = True
    while True:
        find = src.text[la:lb]
        if body.count(find) == 1:
            return find, find[:s - la] + new + find[e - la:]
        if grow_up and la > fa:
            la = src.line_start(la - 1)
        elif lb < fb - 1:
            lb = src.line_end(lb + 1)
        elif la > fa:
            la = src.line_start(la - 1)
        else:
            return None, None
        grow_up = not grow_up


def ran_lines(rec):
    """The lines of a function that ran. gcc gives many lines no count of their own (the
    `return -EINVAL;` of an `if`: its block is merged into a shared exit): such a line ran
    when the line before it with a count ran and every branch there was taken."""
    covered, uncovered = set(rec["covered"]), set(rec["uncovered"])
    ran, last_ran = set(covered), False
    for n in range(rec["start"], rec["end"] + 1):
        if n in covered or n in uncovered:
            last_ran = n in covered and all(c > 0 for c in rec.get("branches", {}).get(str(n), []))
        elif last_ran:
            ran.add(n)
    return ran


def functions(cov, name, src):
    """(function, start, end, covered lines) of io_uring/NAME to mutate."""
    out = []
    for fn, rec in sorted(cov.items(), key=lambda kv: kv[1]["start"]):
        if not rec["covered"] or rec["calls"] == 0:
            continue
        span, err = schema.function_span(src.text, fn)
        if err:
            say(f"{name}: {fn}: skipped ({err})")
            continue
        if name in PARTIAL and not PATH_WORDS.search(src.m[span[0]:span[1]]):
            continue
        out.append((fn, span[0], span[1], ran_lines(rec)))
    return out


def generate(src_dir, coverage):
    """The mutants (dicts with the runner's fields) in a stable order, and the number of
    candidates dropped because no unique snippet could be cut."""
    protos = prototypes(src_dir)
    muts, not_unique = [], 0
    files = coverage["files"]
    for name in [n for n in WHOLE + PARTIAL if n in files] + sorted(set(files) - set(WHOLE + PARTIAL)):
        src = Source(name, read(os.path.join(src_dir, name)))
        stem = name[:-2]
        for fn, fa, fb, covered in functions(files[name], name, src):
            counts = {}
            seen = set()
            for op, s, e, new, what in sorted(candidates(src, fa, fb, covered, protos),
                                              key=lambda c: ([o for o, _ in OPERATORS].index(c[0]),
                                                             c[1], c[2], c[3])):
                if (s, e, new) in seen:
                    continue
                seen.add((s, e, new))
                counts[op] = counts.get(op, 0) + 1
                mid = f"g_{stem}_{fn}_{op}_{counts[op]:02d}".lower()
                find, rep = snippet(src, fa, fb, s, e, new)
                if find is None or "\\" in find or "\\" in rep:
                    not_unique += 1
                    continue
                line = src.line_of(s)
                muts.append({"id": mid, "section": f"g_{stem}", "file": name, "function": fn,
                             "find": find, "replace": rep, "operator": op,
                             "source_line": str(line),
                             "bug": f"{op}: {what} in {fn} (io_uring/{name}:{line})",
                             "rows": []})
    return muts, not_unique


def block(m, reason=None):
    """A mutant's block of the table: `[id]`, its `# dropped:` reason if any, its fields."""
    out = f"[{m['id']}]\n" + (f"# dropped: {reason}\n" if reason else "")
    for k in ("section", "file", "function", "operator", "source_line", "find", "replace",
              "bug", "rows"):
        v = m[k]
        v = ",".join(v) if k == "rows" else escape(v) if k in ("find", "replace") else v
        out += f"{k} = {v}\n"
    return out


def write_table(path, header, muts, reasons=None):
    write_blocks(path, header, [block(m, reasons and reasons[m["id"]]) for m in muts])


def write_blocks(path, header, blocks):
    with open(path, "w") as f:
        f.write(header + "".join("\n" + b for b in blocks))


def read_blocks(path):
    """The blocks of a table write_table wrote, as they are (text, id, file, operator,
    dropped reason or None), so that --merge keeps the other files' blocks byte for byte."""
    parts = read(path).split("\n\n[")[1:]
    out = []
    for p in parts:
        text = "[" + p.rstrip("\n") + "\n"
        field = {k: re.search(rf"^{k} = (.*)$", text, re.M) for k in ("file", "operator")}
        if not all(field.values()):
            run.die(f"{path}: the block {text.splitlines()[0]} lacks a file or operator field")
        why = re.search(r"^# dropped: (.*)$", text, re.M)
        out.append((text, re.match(r"\[([a-z0-9_]+)\]", text).group(1), field["file"].group(1),
                    field["operator"].group(1), why.group(1) if why else None))
    return out


def merge(path, files, new):
    """The blocks of the table at `path` with those of `files` replaced by `new` (blocks as
    read_blocks gives them), in the table's file order, new files last; dies on an id twice."""
    old = read_blocks(path)
    order = list(dict.fromkeys([b[2] for b in old] + [b[2] for b in new]))
    by_file = {}
    for b in [b for b in old if b[2] not in files] + new:
        by_file.setdefault(b[2], []).append(b)
    merged = [b for f in order for b in by_file.get(f, [])]
    ids = [b[1] for b in merged]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        run.die(f"--merge: ids both in {path} and generated now: {twice[:5]}")
    return merged


class Compiler:
    """Compiles one io_uring object the way the kernel build does (the command kbuild saved
    in the minimal build dir's .FILE.o.cmd, without objtool, into a scratch file), with the
    mutated source bind-mounted over the pristine file in a private mount namespace
    (`unshare -m`, the trick of run.py's Tree.make): neither the shared tree nor the runner's
    private copy is ever written, and __FILE__ and the include paths stay the build's."""

    def __init__(self, tree, scratch, memo_path):
        self.tree, self.scratch, self.memo_path = tree, scratch, memo_path
        self.memo = json.loads(read(memo_path)) if os.path.exists(memo_path) else {}
        self.lock, self.fresh = threading.Lock(), 0

    def command(self, name, out):
        stem = name[:-2]
        cmd_file = os.path.join(self.tree.shared_build, "io_uring", f".{stem}.o.cmd")
        saved = read(cmd_file).splitlines()[0]
        cmd = saved.split(":=", 1)[1].split(" ; ")[0].strip()
        cmd = re.sub(r"-Wp,-MMD,\S+ ", "", cmd)
        target = f"-o io_uring/{stem}.o "
        if target not in cmd:
            run.die(f"{cmd_file}: no `{target}` in the saved command")
        return cmd.replace(target, f"-o {out} ")

    def compile(self, name, text, tag):
        """The object's code signature, or None with the compiler's output when it fails;
        remembered by the hash of the command and the text (a rerun compiles only what is new)."""
        key = hashlib.sha256((self.command(name, "OBJ") + "\0" + text).encode()).hexdigest()
        with self.lock:
            if key in self.memo:
                return tuple(self.memo[key])
        got = self.compile_now(name, text, tag)
        with self.lock:
            self.memo[key] = got
            self.fresh += 1
            if self.fresh % 50 == 0:
                self.save()
        return got

    def save(self):
        tmp = self.memo_path + ".part"
        with open(tmp, "w") as f:
            json.dump(self.memo, f)
        os.replace(tmp, self.memo_path)

    def compile_now(self, name, text, tag):
        src = os.path.join(self.scratch, f"{tag}.c")
        obj = os.path.join(self.scratch, f"{tag}.o")
        with open(src, "w") as f:
            f.write(text)
        target = os.path.join(self.tree.shared_src, "io_uring", name)
        script = (f"mount --bind {src} {target} && cd {self.tree.shared_build} && "
                  f"exec {self.command(name, obj)}")
        try:
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                               capture_output=True, text=True)
            return (signature(obj), "") if r.returncode == 0 else (None, r.stderr)
        finally:
            for p in (src, obj):
                if os.path.exists(p):
                    os.remove(p)


def signature(obj):
    """A hash of the object's .text*, .data* and .rodata* contents and of their relocations
    (offset, type, symbol and addend: not the symbol's index, which any change renumbers)."""
    secs = subprocess.run(["readelf", "-W", "-S", obj], capture_output=True, text=True,
                          check=True).stdout
    names = sorted(set(re.findall(r"\]\s+(\.(?:text|data|rodata)[\w.]*)\s", secs)))
    h = hashlib.sha256()
    dump = subprocess.run(["readelf", "-W"] + [f"-x{n}" for n in names] + ["-r", obj],
                          capture_output=True, text=True, check=True).stdout
    keep = False
    for line in dump.splitlines():
        if line.startswith("Relocation section"):
            sec = re.match(r"Relocation section '\.rela(\S+)'", line).group(1)
            keep = sec in names
            h.update(f"rela {sec}\n".encode())
            continue
        f = line.split()
        if keep and len(f) >= 5 and re.fullmatch(r"[0-9a-f]{16}", f[0]):
            h.update(" ".join([f[0], f[2]] + f[4:]).encode() + b"\n")
        elif line.startswith(("Hex dump", "  0x")):
            h.update(line.encode() + b"\n")
    return h.hexdigest()


def compile_all(comp, pristine, muts, jobs, t0):
    """The pristine objects' signatures per file and each mutant's (signature, error)."""
    base = {}
    for name in sorted(pristine):
        sig, err = comp.compile(name, pristine[name], f"pristine-{name[:-2]}")
        if sig is None:
            run.die(f"the pristine io_uring/{name} does not compile here:\n{err}")
        base[name] = sig
    say(f"pristine objects compiled; compiling {len(muts)} mutants, {jobs} at a time")
    sigs = {}
    pool = concurrent.futures.ThreadPoolExecutor(jobs)
    try:
        futs = {pool.submit(comp.compile, m["file"], schema.mutate(pristine[m["file"]], m)[0],
                            m["id"]): m for m in muts}
        for k, fut in enumerate(concurrent.futures.as_completed(futs), 1):
            sigs[futs[fut]["id"]] = fut.result()
            if k % 50 == 0:
                say(f"{k}/{len(muts)} compiled ({(time.time() - t0) / k:.2f}s each, "
                    f"{comp.fresh} not remembered from an earlier run)")
    finally:
        # on an interrupt: the compiles under way finish, the queued ones never start
        pool.shutdown(wait=True, cancel_futures=True)
    return base, sigs


def main():
    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    ap = argparse.ArgumentParser(prog="ci/mutants/generate.py", description=__doc__)
    ap.add_argument("--coverage", default=COVERAGE,
                    help="ci/coverage.sh's coverage.json (default: ci/out/coverage/coverage.json; "
                         "made by running ci/coverage.sh when missing)")
    ap.add_argument("--jobs", type=int, default=2, help="compilers at a time")
    ap.add_argument("--no-compile", action="store_true",
                    help="only generate and check the snippets (no object comparison); "
                         "writes nothing unless --out is given")
    ap.add_argument("--out", default=None, help="the table to write (default generated.txt)")
    ap.add_argument("--dropped", default=None, help="the dropped ones (generated-identical.txt)")
    ap.add_argument("--files", default="",
                    help="comma-separated io_uring/ files to mutate (default: all ten)")
    ap.add_argument("--merge", action="store_true",
                    help="with --files: replace only those files' blocks in the --out and "
                         "--dropped tables (default generated.txt, generated-identical.txt), "
                         "keeping every other file's block as it is (its ids do not move)")
    ap.add_argument("--version", default="7.2.13-1")
    args = ap.parse_args()
    if args.merge and (not args.files or args.no_compile):
        ap.error("--merge needs --files (the files whose blocks it replaces) and compiles "
                 "(no --no-compile)")
    if args.jobs < 1:
        ap.error(f"--jobs wants a positive number, not {args.jobs}")
    cache = os.environ.get("URING_CACHE", "/var/cache/uring-conformance")
    tree = run.Tree(cache, args.version, "minimal", 2)
    src_dir = os.path.join(tree.shared_src, "io_uring")
    if not args.no_compile and not os.path.isfile(os.path.join(tree.shared_build, "vmlinux")):
        say(f"no {tree.shared_build}: building it with ci/build-kernel.sh --config minimal")
        subprocess.run([os.path.join(ROOT, "ci/build-kernel.sh"), "--config", "minimal"],
                       check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(args.coverage):
        if args.coverage != COVERAGE:
            ap.error(f"--coverage: no {args.coverage}")
        say("no coverage yet: running ci/coverage.sh")
        subprocess.run([os.path.join(ROOT, "ci/coverage.sh")], check=True, stdout=subprocess.DEVNULL)
    coverage = json.loads(read(args.coverage))
    if args.files:
        want = args.files.split(",")
        unknown = sorted(set(want) - set(coverage["files"]))
        if unknown:
            ap.error(f"--files: {unknown} not in {args.coverage} "
                     f"(it has {sorted(coverage['files'])})")
        coverage["files"] = {n: coverage["files"][n] for n in want}
    muts, not_unique = generate(src_dir, coverage)
    say(f"{len(muts)} mutants generated ({not_unique} dropped: no unique snippet)")
    pristine = {name: read(os.path.join(src_dir, name)) for name in {m["file"] for m in muts}}
    for m in muts:
        _, err = schema.mutate(pristine[m["file"]], m)
        if err:
            run.die(f"{m['id']}: generated a mutant that does not apply: {err}")
    out = args.out or (None if args.no_compile else OUT)
    dropped_path = args.dropped or (None if args.no_compile else DROPPED)
    for path in (out, dropped_path) if args.merge else ():
        if not os.path.isfile(path):
            ap.error(f"--merge: no table {path} to merge into")
    keep, dropped, reasons = muts, [], {}
    t0 = time.time()
    if not args.no_compile:
        os.makedirs(os.path.join(cache, "mutants"), exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="generate-", dir=os.path.join(cache, "mutants"))
        comp = Compiler(tree, scratch, os.path.join(cache, "mutants", "generate-objects.json"))
        try:
            base, sigs = compile_all(comp, pristine, muts, args.jobs, t0)
        finally:
            comp.save()
            shutil.rmtree(scratch, ignore_errors=True)
        keep, first = [], {}
        for m in muts:
            sig, err = sigs[m["id"]]
            if sig is None:
                reasons[m["id"]] = "does not compile: " + " ".join(
                    line for line in err.splitlines() if "error" in line)[:200]
            elif sig == base[m["file"]]:
                reasons[m["id"]] = "object-identical"
            elif sig in first:
                reasons[m["id"]] = f"object-identical to {first[sig]}"
            else:
                first[sig] = m["id"]
                keep.append(m)
                continue
            dropped.append(m)
    secs = time.time() - t0
    files = list(coverage["files"])
    kept = [(block(m), m["id"], m["file"], m["operator"], None) for m in keep]
    gone = [(block(m, reasons[m["id"]]), m["id"], m["file"], m["operator"], reasons[m["id"]])
            for m in dropped]
    if args.merge:
        kept, gone = merge(out, files, kept), merge(dropped_path, files, gone)
        files = list(dict.fromkeys([b[2] for b in kept + gone]))
    per = {}
    for _, _, name, op, _ in kept:
        per.setdefault(name, {}).setdefault(op, 0)
        per[name][op] += 1
    summary = "".join(f"#   {f:<12} {sum(c.values()):4}  " +
                      " ".join(f"{o}={c[o]}" for o, _ in OPERATORS if o in c) + "\n"
                      for f, c in sorted(per.items()))
    why = {}
    for r in [b[4] for b in gone]:
        r = "does not compile" if r.startswith("does not") else \
            "object-identical to another mutant" if r.startswith("object-identical to") else r
        why[r] = why.get(r, 0) + 1
    ops = "".join(f"#   {o:<9} {what}\n" for o, what in OPERATORS)
    partial = set(files) != set(WHOLE + PARTIAL)
    header = (f"# Kernel mutants generated by ci/mutants/generate.py from the suite's coverage\n"
              f"# (ci/coverage.sh) of linux-source-7.2 {args.version}: do not edit, regenerate\n"
              f"# with `ci/mutants/generate.py` (README \"Generated mutants\"). The format is\n"
              f"# mutants.txt's, plus `operator` and `source_line` (the line in the pristine\n"
              f"# file); ids are g_FILE_FUNCTION_OPERATOR_NN, numbered in source order.\n"
              f"# Files: {', '.join(files)}{' (--files)' if partial else ''}.\n"
              f"# Operators:\n{ops}")
    if out:
        what = ("not compiled (--no-compile)" if args.no_compile else
                "whose objects differ from the pristine one")
        write_blocks(out, header + f"# {len(kept)} mutants {what}, per file and operator:\n"
                     f"{summary}", [b[0] for b in kept])
        say(f"wrote {len(kept)} mutants to {os.path.relpath(out, ROOT)}")
    if dropped_path:
        write_blocks(dropped_path, header + f"# The {len(gone)} generated mutants dropped, "
                     "each with its reason: " + ", ".join(f"{v} {k}" for k, v in sorted(why.items()))
                     + ".\n", [b[0] for b in gone])
        say(f"wrote {len(gone)} dropped mutants to {os.path.relpath(dropped_path, ROOT)}")
    if not args.no_compile:
        each = f", {secs / comp.fresh:.2f}s each, {args.jobs} at a time" if comp.fresh else ""
        say(f"{len(muts)} mutants judged in {secs:.0f}s, {comp.fresh} objects compiled now"
            f"{each} (the others remembered); kept {len(keep)}; dropped: {why}")
    print(summary, end="")


if __name__ == "__main__":
    main()
