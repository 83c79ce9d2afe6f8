#!/usr/bin/env python3
"""The project's kernel-mutant runner: builds deliberately broken kernels and judges the suite by
which rows catch them; see ci/mutants.sh --help and the README's "Kernel mutants"."""
import argparse, fcntl, json, os, re, shutil, signal, subprocess, sys, threading, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MUTANTS = os.path.join(ROOT, "fixtures/mutants/mutants.txt")
RESULTS = os.path.join(ROOT, "fixtures/mutants/results.tsv")
UNPROVEN = os.path.join(ROOT, "fixtures/mutants/unproven-rows.txt")
FIELDS = ("section", "file", "function", "find", "replace", "bug", "rows")
# Fields a generated mutant adds (ci/mutants/generate.py): its operator and its line in the
# pristine file; optional, so hand-written mutants need neither.
EXTRA_FIELDS = ("operator", "source_line")
T0 = time.time()


def say(msg):
    print(f"[mutants {time.time() - T0:6.0f}s] {msg}", file=sys.stderr, flush=True)


def die(msg):
    say(f"ERROR: {msg}")
    sys.exit(1)


def unescape(s):
    return s.replace("\\n", "\n").replace("\\t", "\t")


def parse_mutants(path):
    muts, cur = [], None
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[([a-z0-9_]+)\]", line.strip())
        if m:
            cur = {"id": m.group(1), "line": n}
            muts.append(cur)
            continue
        k, sep, v = line.partition("=")
        k = k.strip()
        if not sep or cur is None or k not in FIELDS + EXTRA_FIELDS:
            die(f"{path}:{n}: not `key = value` with a key of {FIELDS + EXTRA_FIELDS}: {line}")
        v = v[1:] if v.startswith(" ") else v
        cur[k] = unescape(v) if k in ("find", "replace") else v.strip()
    ids = set()
    for m in muts:
        missing = [f for f in FIELDS if f not in m]
        if missing:
            die(f"{path}:{m['line']}: mutant {m['id']} lacks {missing}")
        if m["id"] in ids:
            die(f"{path}:{m['line']}: duplicate id {m['id']}")
        ids.add(m["id"])
        m["rows"] = [r.strip() for r in m["rows"].split(",") if r.strip()]
    return muts


def function_span(text, func):
    """(start, end) of the definition of `func` (its header line to the closing `}` in
    column 0); fails unless there is exactly one."""
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
    span, err = function_span(text, m["function"])
    if err:
        return None, err
    a, b = span
    body = text[a:b]
    n = body.count(m["find"])
    if n != 1:
        return None, f"snippet occurs {n} times in {m['function']} (must be exactly once): {m['find']!r}"
    return text[:a] + body.replace(m["find"], m["replace"]) + text[b:], None


class Tree:
    """The private copy of the source tree and the minimal build dir, in CACHE/mutants/."""

    def __init__(self, cache, version, config, jobs):
        self.cache, self.config, self.jobs = cache, config, jobs
        self.shared_src = os.path.join(cache, "kernel", f"src-{version}")
        self.shared_build = os.path.join(cache, "kernel", f"build-{version}-{config}")
        self.dir = os.path.join(cache, "mutants")
        self.src = os.path.join(self.dir, f"src-{version}")
        self.build = os.path.join(self.dir, f"build-{version}-{config}")
        self.images = os.path.join(self.dir, "images")

    def prepare(self, files):
        if not os.path.isfile(os.path.join(self.shared_build, "vmlinux")):
            say(f"no {self.shared_build}: building it with ci/build-kernel.sh --config {self.config}")
            subprocess.run([os.path.join(ROOT, "ci/build-kernel.sh"), "--config", self.config],
                           check=True, stdout=subprocess.DEVNULL)
        os.makedirs(self.dir, exist_ok=True)
        stamp = open(os.path.join(self.shared_src, ".deb.sha256")).read().strip()
        mine = os.path.join(self.src, ".deb.sha256")
        if not os.path.exists(mine) or open(mine).read().strip() != stamp:
            say(f"copying {self.shared_src} -> {self.src} (hard links; io_uring/ a real copy)")
            for d in (self.src, self.src + ".part", self.build):
                shutil.rmtree(d, ignore_errors=True)
            subprocess.run(["cp", "-al", self.shared_src, self.src + ".part"], check=True)
            shutil.rmtree(os.path.join(self.src + ".part", "io_uring"))
            shutil.copytree(os.path.join(self.shared_src, "io_uring"),
                            os.path.join(self.src + ".part", "io_uring"), symlinks=True)
            os.rename(self.src + ".part", self.src)
        if not os.path.isfile(os.path.join(self.build, "vmlinux")):
            say(f"copying {self.shared_build} -> {self.build}")
            shutil.rmtree(self.build + ".part", ignore_errors=True)
            subprocess.run(["cp", "-a", self.shared_build, self.build + ".part"], check=True)
            os.rename(self.build + ".part", self.build)
        os.makedirs(self.images, exist_ok=True)
        shutil.copy(os.path.join(self.build, ".config"), os.path.join(self.images, "config"))
        self.restore_all()
        # An interrupted run may have left a mutant's object behind: rebuild every file a
        # mutant edits from the pristine source.
        for name in sorted(files):
            self.restore(name)

    def path(self, name):
        return os.path.join(self.src, "io_uring", name)

    def pristine(self, name):
        return open(os.path.join(self.shared_src, "io_uring", name)).read()

    def restore(self, name):
        """Puts back the pristine file (a fresh inode: never writes through a hard link),
        with a new mtime: make must rebuild its object, which still holds the mutant."""
        p = self.path(name)
        tmp = p + ".restore"
        shutil.copy(os.path.join(self.shared_src, "io_uring", name), tmp)
        os.utime(tmp)
        os.replace(tmp, p)

    def restore_all(self):
        d = os.path.join(self.src, "io_uring")
        for name in os.listdir(d):
            if name.endswith(".c") or name.endswith(".h"):
                sp = os.path.join(self.shared_src, "io_uring", name)
                if not os.path.exists(sp):
                    continue
                if open(os.path.join(d, name), "rb").read() != open(sp, "rb").read():
                    say(f"restoring io_uring/{name} (left mutated by an earlier run)")
                    self.restore(name)

    def write(self, name, text):
        p = self.path(name)
        with open(p + ".mut", "w") as f:
            f.write(text)
        os.replace(p + ".mut", p)

    def make(self, log):
        """make bzImage in the private copies, seen at the shared paths through bind mounts
        in a private mount namespace (the objects' recorded paths stay valid, so the build
        is incremental; nothing outside this process sees the mounts)."""
        script = (f"mount --bind {self.src} {self.shared_src} && "
                  f"mount --bind {self.build} {self.shared_build} && "
                  f"exec make -C {self.shared_src} O={self.shared_build} ARCH=x86_64 "
                  f"-j{self.jobs} bzImage")
        with open(log, "w") as f:
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                               stdout=f, stderr=subprocess.STDOUT)
        return r.returncode == 0

    def save_image(self, name):
        dst = os.path.join(self.images, f"{name}.bzImage")
        shutil.copy(os.path.join(self.build, "arch/x86/boot/bzImage"), dst)
        return dst


def boot(images, args):
    """Boots the images with the static suite through the matrix; returns per image
    (results {case: outcome}, [problems], boot-level note or None). The matrix writes each
    boot's results-MODE.jsonl from its results channel (isa-debugcon; the console only as a
    fallback), so a cut console loses no rows here either."""
    for img in images:  # never judge a boot by an earlier one's files
        shutil.rmtree(os.path.join(ROOT, "ci/out", "dev-" + os.path.basename(img)), ignore_errors=True)
    cmd = [os.path.join(ROOT, "ci/matrix.sh"), "--only-path", "--modes", ",".join(args.modes),
           "--payload", args.payload,
           "--jobs", str(args.vms), "--timeout", str(args.timeout), "--no-install"]
    for img in images:
        cmd += ["--kernel", img]
    log = os.path.join(ROOT, "ci/out/mutants-matrix.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "a") as f:
        subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    out = []
    for img in images:
        d = os.path.join(ROOT, "ci/out", "dev-" + os.path.basename(img))
        res, probs, note = {}, [], None
        complete = True
        for mode in args.modes:
            # Rows are keyed `name` in default mode, `name [strict]` in the others.
            suffix = "" if mode == "default" else f" [{mode}]"
            rp = os.path.join(d, f"results-{mode}.jsonl")
            done = False
            if os.path.exists(rp):
                got = read_report(args.reader, "outcomes", rp)
                for name, outcome in got["cases"].items():
                    res[name + suffix] = outcome
                done = got["whole"]
            complete = complete and done
        vp = os.path.join(d, "verdict.json")
        if os.path.exists(vp):
            v = read_report(args.reader, "boot", vp)
            probs = [f"{p['label']}: {p['line'][:120]}" for p in v["problems"]]
            # The last reason in the crate's order (init, time limit, crash, results).
            note = v["unfinished"][-1] if v["unfinished"] else None
        if not complete and note is None:
            note = "no/incomplete results"
        out.append((res, probs, note, d))
    return out


def read_report(reader, what, path):
    """What the report crate's `uring-report WHAT PATH` reads: `outcomes` of a suite report
    (its case outcomes and whether it is whole: run header, every case, a summary that
    agrees), or the matrix's `boot` verdict (kernel problems, why a mode did not finish).
    The schema has one reader, in Rust, not a second one here."""
    r = subprocess.run([reader, what, path], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        die(f"uring-report {what} {path} exited {r.returncode}")
    return json.loads(r.stdout)


def build_reader():
    """Builds the report crate's reader (`uring-report`) for this host; returns its path."""
    subprocess.run(["cargo", "build", "--quiet", "-p", "uring-report", "--bin", "uring-report"],
                   cwd=ROOT, check=True)
    tdir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(tdir, "debug", "uring-report")


def report(verdicts, stable, flaky, build_secs, args, final):
    """Merges `verdicts` into fixtures/mutants/results.tsv (and unproven-rows.txt); prints
    the table when `final`."""
    out = print if final else (lambda *a, **k: None)
    old = {}
    if os.path.exists(RESULTS):
        for line in open(RESULTS):
            if line.startswith("#") or line.startswith("mutant\t"):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) >= 6:
                old[f[0]] = f
    allm = parse_mutants(MUTANTS)
    more = os.path.join(ROOT, "fixtures/mutants/more-mutants.txt")
    if os.path.exists(more):
        allm += parse_mutants(more)
    lines = []
    for m in allm:
        if m["id"] in verdicts:
            v, killers, why = verdicts[m["id"]]
            lines.append([m["id"], m["section"], v, ",".join(killers) or "-",
                          ",".join(m["rows"]), why or "-"])
        elif m["id"] in old:
            lines.append(old[m["id"]])
    header = ["mutant", "section", "verdict", "killing_rows", "meant_rows", "detail"]
    w = [max(len(r[i]) if i < 3 else 0 for r in lines + [header]) for i in range(3)]
    out("\n" + "  ".join(h.ljust(w[i]) if i < 3 else h for i, h in enumerate(header[:4])))
    for r in lines:
        kr = r[3] if len(r[3]) < 100 else r[3][:97] + "..."
        out("  ".join([r[0].ljust(w[0]), r[1].ljust(w[1]), r[2].ljust(w[2]), kr]))
    per = {}
    for r in lines:
        s = per.setdefault(r[1], [0, 0, 0])
        if r[2] == "KILLED":
            s[0] += 1
        if r[2] in ("KILLED", "SURVIVED"):
            s[1] += 1
        if r[2] == "no-compile":
            s[2] += 1
    out("\nper section (killed/total):", ", ".join(
        f"{s} {v[0]}/{v[1]}" + (f" (+{v[2]} not compiling)" if v[2] else "") for s, v in per.items()))
    surv = [r for r in lines if r[2] == "SURVIVED"]
    for r in surv:
        out(f"survivor {r[0]}: should have been caught by {r[4]}")
    if flaky:
        out("flaky rows (left out):", ", ".join(flaky))
    if build_secs:
        out(f"mutant builds: median {sorted(build_secs)[len(build_secs) // 2]:.0f}s, "
              f"total {sum(build_secs):.0f}s; whole run {time.time() - T0:.0f}s")
    if args.no_write:
        return
    with open(RESULTS, "w") as f:
        f.write("# generated by ci/mutants.sh (kernel linux-source-7.2 " + args.version +
                ", config " + args.config + "); do not edit\n")
        f.write("\t".join(header) + "\n")
        for r in lines:
            f.write("\t".join(r) + "\n")
    killed_rows = set()
    for r in lines:
        if r[2] == "KILLED" and r[3] != "-":
            killed_rows.update(r[3].split(","))
    with open(UNPROVEN, "w") as f:
        f.write("# rows that passed or skipped on both base runs and that no mutant of "
                "fixtures/mutants/results.tsv made fail (generated by ci/mutants.sh)\n")
        base_rows = {}
        for n, o in stable.items():  # `name [strict]` counts as `name`
            base_rows.setdefault(n.split(" [")[0], o)
        for n in sorted(set(base_rows) - killed_rows):
            f.write(f"{n}\t{base_rows[n]}\n")
        for n in flaky:
            f.write(f"{n}\tflaky\n")
    if final:
        say(f"wrote {os.path.relpath(RESULTS, ROOT)} and {os.path.relpath(UNPROVEN, ROOT)}")



def main():
    ap = argparse.ArgumentParser(prog="ci/mutants.sh", description=__doc__)
    ap.add_argument("--only", default="", help="comma-separated mutant ids")
    ap.add_argument("--section", default="", help="comma-separated sections")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutant applies (exactly one match), no build")
    ap.add_argument("--reuse-base", action="store_true",
                    help="reuse the two base runs of an earlier invocation if present")
    ap.add_argument("--batch", type=int, default=2, help="mutants built, then booted together")
    ap.add_argument("--vms", type=int, default=2, help="VMs at a time")
    ap.add_argument("--timeout", type=int, default=240, help="time limit per boot (s)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="make -j")
    ap.add_argument("--modes", default="default",
                    help="suite modes per boot (matrix --modes): default, or default,strict "
                         "(strict also fails a row whose probed feature the mutant removed)")
    ap.add_argument("--version", default="7.2.13-1")
    ap.add_argument("--config", default="minimal")
    ap.add_argument("--mutants", default=MUTANTS,
                    help="the mutant table(s), comma-separated (default fixtures/mutants/mutants.txt)")
    ap.add_argument("--report-only", action="store_true",
                    help="no builds or boots: print the committed table again and regenerate "
                         "unproven-rows.txt from it and the saved base runs")
    ap.add_argument("--no-write", action="store_true", help="do not update fixtures/mutants/")
    args = ap.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    tag = "" if args.modes == ["default"] else "-" + "-".join(args.modes)

    muts = [m for path in args.mutants.split(",") for m in parse_mutants(path)]
    if args.only:
        want = set(args.only.split(","))
        unknown = want - {m["id"] for m in muts}
        if unknown:
            die(f"unknown mutant ids: {sorted(unknown)}")
        muts = [m for m in muts if m["id"] in want]
    if args.section:
        secs = set(args.section.split(","))
        muts = [m for m in muts if m["section"] in secs]

    cache = os.environ.get("URING_CACHE", "/var/cache/uring-conformance")
    tree = Tree(cache, args.version, args.config, args.jobs)
    src_dir = os.path.join(tree.shared_src, "io_uring")
    if not os.path.isdir(src_dir):
        # A fresh machine: the kernel source (and the build the mutants start from) is made
        # here, as the README promises, not left to the user.
        say(f"no {src_dir}: building it with ci/build-kernel.sh --config {args.config}")
        subprocess.run([os.path.join(ROOT, "ci/build-kernel.sh"), "--config", args.config],
                       check=True, stdout=subprocess.DEVNULL)
    bad = 0
    for m in muts:
        _, err = mutate(open(os.path.join(src_dir, m["file"])).read(), m)
        if err:
            say(f"{m['id']}: {m['file']}: {err}")
            bad += 1
    if bad:
        die(f"{bad} mutant(s) do not apply (see above)")
    say(f"{len(muts)} mutants apply cleanly to {src_dir}")
    if args.check:
        return
    if args.report_only:
        basedir = os.path.join(cache, "mutants", "base")
        b1, b2 = [json.load(open(os.path.join(basedir, f"base{i}{tag}.json"))) for i in (1, 2)]
        flaky = sorted(n for n in set(b1) | set(b2) if b1.get(n) != b2.get(n))
        stable = {n: o for n, o in b1.items() if b2.get(n) == o and o in ("pass", "skip")}
        report({}, stable, flaky, [], args, True)
        return

    # Always restore the mutated file, whatever ends the run.
    current = {"file": None}

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    # One runner at a time per cache: they share the private tree.
    os.makedirs(tree.dir, exist_ok=True)
    lock = open(os.path.join(tree.dir, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        say(f"waiting for another ci/mutants.sh on {tree.dir}")
        fcntl.flock(lock, fcntl.LOCK_EX)
    tables = [MUTANTS, os.path.join(ROOT, "fixtures/mutants/more-mutants.txt")]
    tree.prepare({m["file"] for t in tables if os.path.exists(t) for m in parse_mutants(t)} |
                 {m["file"] for m in muts})
    # The suite, built once: the base and every mutant boot the same binary (and the
    # results.tsv this run writes, which --cases-json includes, rebuilds nothing meanwhile).
    say("building the static suite (the payload of every boot)")
    target = "x86_64-unknown-linux-gnu"
    subprocess.run(["cargo", "build", "--quiet", "--release", "--target", target,
                    "-p", "uring-conformance", "--bin", "uring-conformance"], cwd=ROOT, check=True,
                   env=dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static"))
    tdir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    args.payload = os.path.join(tree.dir, "uring-conformance")
    args.reader = build_reader()
    shutil.copy(os.path.join(tdir, target, "release", "uring-conformance"), args.payload)
    basedir = os.path.join(tree.dir, "base")
    os.makedirs(basedir, exist_ok=True)
    build_secs = []
    try:
        # 1. The unmutated kernel, twice.
        have = all(os.path.exists(os.path.join(basedir, f"base{i}{tag}.json")) for i in (1, 2))
        if args.reuse_base and have:
            bases = [json.load(open(os.path.join(basedir, f"base{i}{tag}.json"))) for i in (1, 2)]
            say("reusing the two base runs")
        else:
            say("building the unmutated kernel")
            t = time.time()
            if not tree.make(os.path.join(tree.dir, "base-build.log")):
                die(f"the unmutated kernel does not build (log: {tree.dir}/base-build.log)")
            say(f"built in {time.time() - t:.0f}s; booting it twice")
            imgs = [tree.save_image("base1"), tree.save_image("base2")]
            bases = []
            for i, (res, probs, note, d) in enumerate(boot(imgs, args), 1):
                if note or probs:
                    die(f"base run {i} is not clean: {note or probs} (see {d})")
                bases.append(res)
                json.dump(res, open(os.path.join(basedir, f"base{i}{tag}.json"), "w"), indent=0)
        b1, b2 = bases
        flaky = sorted(n for n in set(b1) | set(b2) if b1.get(n) != b2.get(n))
        stable = {n: o for n, o in b1.items() if b2.get(n) == o and o in ("pass", "skip")}
        failing_base = sorted(n for n, o in b1.items() if b2.get(n) == o and o not in ("pass", "skip"))
        say(f"base: {len(stable)} rows pass/skip on both runs, {len(flaky)} flaky {flaky}, "
            f"{len(failing_base)} fail on both {failing_base}")

        # 2. The mutants, a batch at a time: build each (restoring its file at once), boot the batch.
        verdicts = {}
        pending = None

        def judge(batch, imgs, th, holder, t):
            th.join()
            for m, (res, probs, note, d) in zip(batch, holder.get("r", [])):
                killers = sorted(n for n, o in stable.items()
                                 if res.get(n, "missing") not in ("pass", "skip"))
                if note:
                    # The boot did not finish (crash, time limit): the mutant is killed by
                    # that, and the rows it never reached prove nothing; only the rows that
                    # ran and failed count as killing rows (unproven-rows.txt reads them).
                    killers = [n for n in killers if n in res]
                why = [f"modes {','.join(args.modes)}"] if tag else []
                if probs:
                    why.append("splat: " + "; ".join(probs[:2]))
                if note:
                    why.append("boot: " + note)
                if killers and not note:
                    why.append(", ".join(f"{n}={res.get(n, 'missing')}" for n in killers[:4]))
                skipped = [n for n, o in stable.items() if o == "pass" and res.get(n) == "skip"]
                if skipped:
                    # not a kill by the rules (skip is allowed), but worth knowing: the
                    # mutant changed a probe's answer (strict mode turns that into a failure)
                    why.append(f"{len(skipped)} rows pass->skip (e.g. {skipped[0]})")
                verdict = "KILLED" if (killers or probs or note) else "SURVIVED"
                killers = sorted({n.split(" [")[0] for n in killers})
                verdicts[m["id"]] = (verdict, killers, "; ".join(why))
                say(f"{m['id']}: {verdict} {'; '.join(why)[:200]}")
            say(f"batch of {len(batch)} booted and judged {time.time() - t:.0f}s after its boot began")
            for img in imgs:
                os.remove(img)
            if not args.no_write:
                report(verdicts, stable, flaky, build_secs, args, False)

        for k in range(0, len(muts), args.batch):
            batch, imgs = [], []
            for m in muts[k:k + args.batch]:
                i = muts.index(m) + 1
                text = tree.pristine(m["file"])
                mutated, err = mutate(text, m)
                if err:
                    die(f"{m['id']}: {err}")
                t = time.time()
                current["file"] = m["file"]
                try:
                    tree.write(m["file"], mutated)
                    log = os.path.join(tree.dir, f"build-{m['id']}.log")
                    ok = tree.make(log)
                finally:
                    tree.restore(m["file"])
                    current["file"] = None
                build_secs.append(time.time() - t)
                if not ok:
                    say(f"[{i}/{len(muts)}] {m['id']}: DOES NOT COMPILE (log: {log})")
                    verdicts[m["id"]] = ("no-compile", [], "")
                    continue
                say(f"[{i}/{len(muts)}] {m['id']}: built in {time.time() - t:.0f}s")
                imgs.append(tree.save_image(m["id"]))
                batch.append(m)
            if not batch:
                continue
            # Boot this batch in the background while the next one builds.
            if pending:
                judge(*pending)
            holder = {}
            th = threading.Thread(target=lambda h=holder, im=imgs: h.update(r=boot(im, args)))
            say(f"booting {', '.join(m['id'] for m in batch)}")
            th.start()
            pending = (batch, imgs, th, holder, time.time())
        if pending:
            judge(*pending)
            pending = None
    finally:
        if current["file"]:
            tree.restore(current["file"])
        tree.restore_all()

    report(verdicts, stable, flaky, build_secs, args, True)


if __name__ == "__main__":
    main()
