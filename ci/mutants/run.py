#!/usr/bin/env python3
"""The project's kernel-mutant runner: builds deliberately broken kernels and judges the suite by
which rows catch them; see ci/mutants.sh --help and the README's "Kernel mutants"."""
import argparse, fcntl, json, os, re, shutil, signal, subprocess, sys, threading, time

import schema
from schema import mutate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MUTANTS = os.path.join(ROOT, "fixtures/mutants/mutants.txt")
RESULTS = os.path.join(ROOT, "fixtures/mutants/results.tsv")
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


def parse_mutants(path, fail=None):
    """The mutants of a table; a malformed one is `fail(message)` (default: die, exit 1)."""
    fail = fail or die
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
            fail(f"{path}:{n}: not `key = value` with a key of {FIELDS + EXTRA_FIELDS}: {line}")
        v = v[1:] if v.startswith(" ") else v
        cur[k] = unescape(v) if k in ("find", "replace") else v.strip()
    ids = set()
    for m in muts:
        missing = [f for f in FIELDS if f not in m]
        if missing:
            fail(f"{path}:{m['line']}: mutant {m['id']} lacks {missing}")
        if m["id"] in ids:
            fail(f"{path}:{m['line']}: duplicate id {m['id']}")
        ids.add(m["id"])
        m["rows"] = [r.strip() for r in m["rows"].split(",") if r.strip()]
    return muts


def schemata_tree_name():
    """The schemata runner's private tree under CACHE/mutants/: `schemata`, or URING_MUTANT_TREE."""
    name = os.environ.get("URING_MUTANT_TREE", "schemata")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in (".", ".."):
        print(f"ci/mutants.sh: URING_MUTANT_TREE={name!r} is not a directory name", file=sys.stderr)
        sys.exit(2)
    return name


def same_file(a, b):
    return open(a, "rb").read() == open(b, "rb").read()


class Tree:
    """The private copy of the source tree and the minimal build dir, in CACHE/mutants/ (the
    one-at-a-time runner) or CACHE/mutants/schemata/ (`sub`: the schemata runner's, whose
    tree also has the knob, io_uring/mutant.c)."""

    def __init__(self, cache, version, config, jobs, sub=""):
        self.cache, self.config, self.jobs = cache, config, jobs
        self.shared_src = os.path.join(cache, "kernel", f"src-{version}")
        self.shared_build = os.path.join(cache, "kernel", f"build-{version}-{config}")
        self.dir = os.path.join(cache, "mutants", sub) if sub else os.path.join(cache, "mutants")
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
        if os.path.isfile(os.path.join(self.build, "vmlinux")) and not same_file(
                os.path.join(self.build, ".config"), os.path.join(self.shared_build, ".config")):
            # The shared build was remade with another config (a fragment changed): a private
            # copy of the old one would test a kernel the matrix no longer boots.
            say(f"{self.shared_build} has a new .config: copying it again")
            shutil.rmtree(self.build)
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

    def lock(self):
        """Waits until no other ci/mutants.sh uses this tree; the lock lasts as long as the
        returned file stays open."""
        os.makedirs(self.dir, exist_ok=True)
        lock = open(os.path.join(self.dir, ".lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            say(f"waiting for another ci/mutants.sh on {self.dir}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def install_knob(self):
        """io_uring/mutant.c and its line in io_uring/Makefile (a new inode: the tree's
        files are hard links to the shared ones); idempotent."""
        mk = self.path("Makefile")
        text = open(mk).read()
        if schema.MAKEFILE_LINE not in text:
            self.write("Makefile", text + schema.MAKEFILE_LINE)
        c = self.path("mutant.c")
        if not os.path.exists(c) or open(c).read() != schema.MUTANT_C:
            self.write("mutant.c", schema.MUTANT_C)

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

    def awk(self):
        """The awk that wrote the build dir's arch/x86 cpufeaturemasks.h (make regenerates it
        at every build, FORCE): mawk and gawk write it differently, and a header that changes
        rebuilds every object. The shared builds keep the awk the machine had then."""
        hdr = os.path.join(self.build, "arch/x86/include/generated/asm/cpufeaturemasks.h")
        if not os.path.exists(hdr):
            return "awk"
        want = open(hdr, "rb").read()
        for awk in ("awk", "mawk", "gawk"):
            if not shutil.which(awk):
                continue
            got = subprocess.run([awk, "-f", os.path.join(self.src, "arch/x86/tools/cpufeaturemasks.awk"),
                                  os.path.join(self.src, "arch/x86/include/asm/cpufeatures.h"),
                                  os.path.join(self.build, ".config")],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
            if got == want:
                return awk
        return "awk"

    def make(self, log):
        """make bzImage in the private copies, seen at the shared paths through bind mounts
        in a private mount namespace (the objects' recorded paths stay valid, so the build
        is incremental; nothing outside this process sees the mounts)."""
        script = (f"mount --bind {self.src} {self.shared_src} && "
                  f"mount --bind {self.build} {self.shared_build} && "
                  f"exec make -C {self.shared_src} O={self.shared_build} ARCH=x86_64 AWK={self.awk()} "
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


def verdict_of(res, probs, note, stable, args):
    """(verdict, killing rows, detail) of a mutant's run: `res` its outcomes, `probs` the
    kernel's problems, `note` why the run did not finish (None when it did)."""
    tag = args.modes != ["default"]
    killers = sorted(n for n, o in stable.items() if res.get(n, "missing") not in ("pass", "skip"))
    if note:
        # The run did not finish (crash, time limit): the mutant is killed by that, and the
        # rows it never reached prove nothing; only the rows that ran and failed count as
        # killing rows (unproven-rows.txt reads them).
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
        # not a kill by the rules (skip is allowed), but worth knowing: the mutant changed a
        # probe's answer (strict mode turns that into a failure)
        why.append(f"{len(skipped)} rows pass->skip (e.g. {skipped[0]})")
    verdict = "KILLED" if (killers or probs or note) else "SURVIVED"
    return verdict, sorted({n.split(" [")[0] for n in killers}), "; ".join(why)


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


def report(verdicts, flaky, build_secs, args, final):
    """Merges `verdicts` into fixtures/mutants/results.tsv; prints the table when `final`, then
    the proof of the rows (unproven-rows.txt, docs/row-proof.md: ci/mutants/proof.py)."""
    out = print if final else (lambda *a, **k: None)
    old = {}
    results = args.results or RESULTS
    if os.path.exists(results):
        for line in open(results):
            if line.startswith("#") or line.startswith("mutant\t"):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) >= 6:
                old[f[0]] = f
    # The committed tables' mutants, then those of --mutants, each once, in that order.
    allm, seen = [], set()
    tables = [MUTANTS, os.path.join(ROOT, "fixtures/mutants/more-mutants.txt"),
              os.path.join(ROOT, "fixtures/mutants/generated.txt")] + args.mutants.split(",")
    for table in tables:
        if os.path.exists(table) and os.path.abspath(table) not in seen:
            seen.add(os.path.abspath(table))
            allm += parse_mutants(table)
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
    with open(results, "w") as f:
        f.write("# generated by ci/mutants.sh (kernel linux-source-7.2 " + args.version +
                ", config " + args.config + "); do not edit\n")
        f.write("\t".join(header) + "\n")
        for r in lines:
            f.write("\t".join(r) + "\n")
    if args.results:
        if final:
            say(f"wrote {args.results}")
        return
    if final:
        say(f"wrote {os.path.relpath(RESULTS, ROOT)}; the proof of the rows (ci/mutants/proof.py):")
        proof()


def proof():
    """Regenerates unproven-rows.txt and docs/row-proof.md from every results table and prints
    the mutation scores (ci/mutants/proof.py); its exit 1 (survivors not triaged yet, ...) is a
    listing, not a failure of the run."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "ci/mutants/proof.py")], cwd=ROOT)
    if r.returncode not in (0, 1):
        die(f"ci/mutants/proof.py exited {r.returncode}")


# ---- the schemata runner: one build and one boot per VM for a whole batch -----------------

def schema_culprits(log, texts):
    """The schema ids whose copy holds a compile error of `log` (texts: file -> schema text)."""
    bad = set()
    with open(log, errors="replace") as f:
        text_log = f.read()
    for m in re.finditer(r"io_uring/([\w.-]+):(\d+):\d+: error", text_log):
        text = texts.get(m.group(1))
        if text is None:
            continue
        upto = "\n".join(text.split("\n")[:int(m.group(2))])
        copies = re.findall(r"\b\w+__mut(\d+)\(", upto)
        if copies and copies[-1] != "0":
            bad.add(int(copies[-1]))
    return bad


def build_schema(tree, muts):
    """Builds one kernel holding every mutant of `muts` (each with its `sid`); a mutant whose
    copy does not compile is left out (returned, for the one-at-a-time path to confirm).
    Returns (image, left out, build seconds)."""
    left, out = list(muts), []
    while True:
        by_file = {}
        for m in left:
            by_file.setdefault(m["file"], []).append(m)
        texts = {f: schema.schema(tree.pristine(f), ms) for f, ms in by_file.items()}
        t = time.time()
        log = os.path.join(tree.dir, "schema-build.log")
        try:
            for f, text in texts.items():
                tree.write(f, text)
            say(f"building the schema kernel: {len(left)} mutants in {len(texts)} files")
            ok = tree.make(log)
        finally:
            for f in texts:
                tree.restore(f)
        secs = time.time() - t
        if ok:
            say(f"schema kernel built in {secs:.0f}s")
            return tree.save_image("schema"), out, secs
        bad = schema_culprits(log, texts)
        if not bad:
            die(f"the schema kernel does not build, and not because of a mutant's copy (log: {log})")
        out += [m for m in left if m["sid"] in bad]
        left = [m for m in left if m["sid"] not in bad]
        say(f"{len(bad)} mutants do not compile in the schema ({', '.join(m['id'] for m in out)}): "
            "left to the one-at-a-time build; building again")


def channel_records(data):
    """The per-id records of a schema boot's results channel (guest-init's mutants.rs):
    [{"id", "recheck", "report" (bytes or None), "end" (the END marker's words, or None when
    the id never finished), "kmsg": [lines], "secs"}], and how the boot ended ("done",
    "reboot", or None: it stopped without saying)."""
    recs, cur, pos, ending = [], None, 0, None
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        line = data[pos:nl].decode(errors="replace").strip()
        pos = nl + 1
        m = re.fullmatch(r"@@URING-MUTANT-BEGIN id=(\d+)(?: recheck=(\d+))?@@", line)
        if m:
            cur = {"id": int(m.group(1)), "recheck": m.group(2), "report": None, "end": None,
                   "kmsg": [], "secs": None}
            recs.append(cur)
            continue
        m = re.fullmatch(r"@@URING-RESULTS-BEGIN mode=mutant-(\d+) bytes=(\d+)@@", line)
        if m and cur is not None and int(m.group(1)) == cur["id"]:
            n = int(m.group(2))
            cur["report"] = data[pos:pos + n]
            pos += n
            continue
        m = re.fullmatch(r"@@URING-MUTANT-KMSG id=(\d+) (.*)@@", line)
        if m and cur is not None:
            cur["kmsg"].append(m.group(2))
            continue
        m = re.fullmatch(r"@@URING-MUTANT-END id=(\d+) (.*) secs=([\d.]+)@@", line)
        if m and cur is not None and int(m.group(1)) == cur["id"]:
            cur["end"], cur["secs"] = m.group(2).split(), float(m.group(3))
            continue
        if line.startswith("@@URING-MUTANT-REBOOT"):
            ending = "reboot"
        elif line == "@@URING-MUTANT-ALL-DONE@@":
            ending = "done"
    return recs, ending


def record_outcome(rec, reader, scratch):
    """(outcomes, kernel problems, why it did not finish or None) of one id's record."""
    res, whole = {}, False
    if rec["report"]:
        with open(scratch, "wb") as f:
            f.write(rec["report"])
        got = read_report(reader, "outcomes", scratch)
        res, whole = got["cases"], got["whole"]
    end = rec["end"]
    probs = [f"kmsg: {k[:120]}" for k in rec["kmsg"]]
    if end is None:
        note = "no report for this id (the kernel crashed or hung)"
    elif "timeout" in end:
        note = "time limit"
    elif any(w.startswith("signal=") for w in end):
        note = "suite crashed"
    elif not whole:
        note = "no/incomplete results"
    else:
        note = None
    if end and f"exit={HEALTH_EXIT}" in end:
        probs.append("suite health: kernel log problem or leak (exit 3)")
    return res, probs, note


# The suite's exit status when every case passed or skipped but its whole-run health check
# (the kernel log during the run, leaks) failed: uring_report::exit::HEALTH.
HEALTH_EXIT = 3


# The matrices (each with its VM) the schemata runner has running.
MATRICES = set()


def stop_matrices():
    """Ends every running matrix's session (the matrix and its QEMU) and waits for them."""
    for p in list(MATRICES):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        p.wait()
    MATRICES.clear()


def schema_vm(k, img, ids, args, tree, got, lock, stop):
    """One VM's slice: boots the schema kernel with `ids` (0, the base, first) and again with
    the ids left after a crash, hang or a dirty recheck; appends (vm, boot, record) to `got`.
    Once `stop` is set (the time budget ran out) it boots no more, and the id its VM was
    running when stopped is dropped, not judged."""
    queue, boot_no = [0] + ids, 0
    vdir = os.path.join(tree.dir, f"vm{k}")
    while queue and not stop.is_set():
        boot_no += 1
        shutil.rmtree(vdir, ignore_errors=True)
        os.makedirs(vdir)
        idfile = os.path.join(vdir, "ids.txt")
        open(idfile, "w").write("".join(f"{i}\n" for i in queue))
        cmd = [os.path.join(ROOT, "ci/matrix.sh"), "--only-path", "--modes", "default",
               "--payload", args.payload, "--jobs", "1", "--no-install", "--retries", "0",
               "--accel", args.accel,
               "--out", os.path.join(vdir, "out"), "--kernel", img,
               "--mutant-ids", idfile, "--mutant-limit", str(args.id_limit),
               "--idle-timeout", str(args.id_limit + 30),
               "--timeout", str((len(queue) + 2) * args.id_limit + 120)]
        say(f"vm{k} boot {boot_no}: {len(queue)} ids ({queue[0]}..{queue[-1]})")
        chan = os.path.join(vdir, "out", "dev-" + os.path.basename(img), "channel.log")
        with open(os.path.join(vdir, "matrix.log"), "w") as f:
            # A session of its own: stop_matrices ends it with its VM whatever ends the run.
            p = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        with lock:
            MATRICES.add(p)
        shown = 0
        while True:
            if stop.is_set() and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
            done = p.poll() is not None
            data = open(chan, "rb").read() if os.path.exists(chan) else b""
            recs, ending = channel_records(data)
            for r in recs[shown:]:
                if r["end"] is not None:
                    mid = args.sid_name.get(r["id"], "base")
                    what = f"recheck after {r['recheck']}" if r["recheck"] else mid
                    say(f"vm{k}: id {r['id']} ({what}) {' '.join(r['end'])} in {r['secs']:.1f}s"
                        + (f", {len(r['kmsg'])} kernel warnings" if r["kmsg"] else ""))
                    shown += 1
                else:
                    break
            if done:
                break
            time.sleep(2)
        if stop.is_set():
            recs = [r for r in recs if r["end"] is not None]
        mains = [r for r in recs if not r["recheck"]]
        with lock:
            MATRICES.discard(p)
            got.extend((k, boot_no, r) for r in recs)
        if stop.is_set():
            break
        if not mains:
            die(f"vm{k} boot {boot_no} ran no id (see {vdir}/matrix.log and {os.path.dirname(chan)})")
        last = mains[-1]["id"]
        queue = queue[queue.index(last) + 1:]
        if ending == "done":
            continue
        if ending == "reboot":
            say(f"vm{k}: the base was not clean after id {last}: rebooting with the {len(queue)} ids left")
        else:
            say(f"vm{k}: the boot stopped during id {last} (crash or hang): rebooting with the "
                f"{len(queue)} ids left")


def run_schemata(muts, args, cache, verdicts):
    """Judges `muts` with one schema kernel; returns (stable, flaky, left over mutants)."""
    # URING_MUTANT_TREE names another private tree: a second runner (checking a new row
    # against a few mutants) beside a long campaign, each with its own lock and build.
    tree = Tree(cache, args.version, args.config, args.jobs,
                sub=schemata_tree_name())
    lock = tree.lock()  # held until the process ends
    tree.prepare({m["file"] for m in muts})
    tree.install_knob()
    for i, m in enumerate(muts, 1):
        m["sid"] = i
    args.sid_name = {m["sid"]: m["id"] for m in muts}
    t0 = time.time()
    try:
        img, left_out, build_secs = build_schema(tree, muts)
    finally:
        tree.restore_all()
    inside = [m for m in muts if m not in left_out]
    sids = [m["sid"] for m in inside]
    got, glock, stop = [], threading.Lock(), threading.Event()
    t1 = time.time()
    vms = [threading.Thread(target=schema_vm,
                            args=(k + 1, img, sids[k::args.vms], args, tree, got, glock, stop))
           for k in range(min(args.vms, max(1, len(sids))))]
    for th in vms:
        th.daemon = True  # a signal ends the run: the VMs' threads must not outlive it
        th.start()
    try:
        for th in vms:
            while th.is_alive():
                th.join(1)
                if args.budget and not stop.is_set() and time.time() - t0 > args.budget:
                    say(f"the time budget ({args.budget}s) is spent: stopping the VMs; the ids "
                        "not run are left out of the table")
                    stop.set()
                    stop_matrices()
    finally:
        stop_matrices()
    boot_secs = time.time() - t1
    scratch = os.path.join(tree.dir, "report.jsonl")
    bases = []
    for k in range(1, len(vms) + 1):
        first = next((r for v, b, r in got if v == k and r["id"] == 0), None)
        if first is None:
            die(f"vm{k} has no base run")
        res, probs, note = record_outcome(first, args.reader, scratch)
        if note or probs:
            die(f"the base run of vm{k} is not clean: {note or probs}")
        bases.append(res)
    if len(bases) == 1:
        die("one VM gives one base run: the runner needs two (--vms 2)")
    b1, b2 = bases[:2]
    flaky = sorted(n for n in set(b1) | set(b2) if b1.get(n) != b2.get(n))
    stable = {n: o for n, o in b1.items() if b2.get(n) == o and o in ("pass", "skip")}
    say(f"base (schema kernel, id 0): {len(stable)} rows pass/skip on both runs, {len(flaky)} flaky {flaky}")
    secs = []
    by_sid = {r["id"]: r for v, b, r in got if r["id"] and not r["recheck"]}
    for m in inside:
        rec = by_sid.get(m["sid"])
        if rec is None and stop.is_set():
            continue
        if rec is None:
            die(f"{m['id']} (id {m['sid']}) never ran")
        res, probs, note = record_outcome(rec, args.reader, scratch)
        verdicts[m["id"]] = verdict_of(res, probs, note, stable, args)
        if rec["secs"]:
            secs.append(rec["secs"])
        v = verdicts[m["id"]]
        say(f"{m['id']}: {v[0]} {v[2][:200]}")
    rechecks = sum(1 for v, b, r in got if r["recheck"])
    boots = len({(v, b) for v, b, r in got})
    ran = sum(1 for m in inside if m["id"] in verdicts)  # a budget may stop some
    n = max(1, ran)
    say(f"schemata: {ran} of {len(inside)} mutants ran, build {build_secs:.0f}s, {boots} boots "
        f"({rechecks} base rechecks) {boot_secs:.0f}s, median suite run "
        f"{sorted(secs)[len(secs) // 2] if secs else 0:.1f}s; "
        f"{(time.time() - t0) / n:.1f}s per mutant")
    return stable, flaky, left_out


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
                    help="no builds or boots: print the committed table again, then "
                         "ci/mutants/proof.py (regenerates unproven-rows.txt and docs/row-proof.md)")
    ap.add_argument("--no-write", action="store_true", help="do not update fixtures/mutants/")
    ap.add_argument("--results", metavar="PATH",
                    help="write the table here instead of fixtures/mutants/results.tsv (and no "
                         "ci/mutants/proof.py): a run to compare, e.g. --no-schemata against the "
                         "schemata runner")
    ap.add_argument("--no-schemata", action="store_true",
                    help="build and boot every mutant on its own (the old runner), not as "
                         "copies of their functions in one kernel selected at run time")
    ap.add_argument("--accel", choices=("auto", "tcg", "kvm"), default="auto",
                    help="schemata: the matrix's --accel for every boot (auto tries a KVM smoke "
                         "boot first, each time: tcg saves it where KVM does not work)")
    ap.add_argument("--budget", type=int, default=0, metavar="S",
                    help="schemata: stop booting after S seconds and judge the ids that ran "
                         "(a campaign as large as the time allows); 0: no limit")
    ap.add_argument("--id-limit", type=int, default=150,
                    help="schemata: time limit of one mutant's suite run in the guest (s)")
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
        report({}, [], [], args, True)
        return

    # Always restore the mutated file, whatever ends the run.
    current = {"file": None}

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    # The suite, built once: the base and every mutant boot the same binary (and the
    # results.tsv this run writes, which --cases-json includes, rebuilds nothing meanwhile).
    say("building the static suite (the payload of every boot)")
    target = "x86_64-unknown-linux-gnu"
    subprocess.run(["cargo", "build", "--quiet", "--release", "--target", target,
                    "-p", "uring-conformance", "--bin", "uring-conformance"], cwd=ROOT, check=True,
                   env=dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static"))
    tdir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    suite_bin = os.path.join(tdir, target, "release", "uring-conformance")
    args.reader = build_reader()
    verdicts = {}
    if not args.no_schemata and args.modes != ["default"]:
        say("the schemata runner runs default mode only: every mutant one at a time (--modes)")
        args.no_schemata = True
    if not args.no_schemata:
        inside, fallback = [], []
        for m in muts:
            why = schema.why_not(open(os.path.join(src_dir, m["file"])).read(), m)
            if why:
                say(f"{m['id']}: one at a time ({why})")
            (fallback if why else inside).append(m)
        if inside:
            args.payload = os.path.join(cache, "mutants", schemata_tree_name(), "uring-conformance")
            os.makedirs(os.path.dirname(args.payload), exist_ok=True)
            shutil.copy(suite_bin, args.payload)
            stable, flaky, left_out = run_schemata(inside, args, cache, verdicts)
            fallback += left_out
        if not fallback:
            report(verdicts, flaky, [], args, True)
            return
        say(f"{len(fallback)} mutants one at a time: {', '.join(m['id'] for m in fallback)}")
        muts = fallback
    # One runner at a time per cache: they share the private tree.
    lock = tree.lock()  # held until the process ends
    tables = [MUTANTS, os.path.join(ROOT, "fixtures/mutants/more-mutants.txt")]
    tree.prepare({m["file"] for t in tables if os.path.exists(t) for m in parse_mutants(t)} |
                 {m["file"] for m in muts})
    args.payload = os.path.join(tree.dir, "uring-conformance")
    shutil.copy(suite_bin, args.payload)
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
        pending = None

        def judge(batch, imgs, th, holder, t):
            th.join()
            for m, (res, probs, note, d) in zip(batch, holder.get("r", [])):
                verdicts[m["id"]] = verdict_of(res, probs, note, stable, args)
                say(f"{m['id']}: {verdicts[m['id']][0]} {verdicts[m['id']][2][:200]}")
            say(f"batch of {len(batch)} booted and judged {time.time() - t:.0f}s after its boot began")
            for img in imgs:
                os.remove(img)
            if not args.no_write:
                report(verdicts, flaky, build_secs, args, False)

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

    report(verdicts, flaky, build_secs, args, True)


if __name__ == "__main__":
    main()
