//! The source commit the suite is built from, for `--version` and every report's run header:
//! `git describe --always --dirty --abbrev=40 --exclude='*'` (the full hash, `-dirty` when
//! tracked files differ from it). `URING_CONFORMANCE_COMMIT` gives it where git cannot tell
//! (a cross-build chroot without git; a source tarball whose commit is known); outside a git
//! checkout and without it the commit is `unknown`, and the reason goes with it.
//!
//! It lives in the suite's own crate, the top of the graph, so a source change reruns it
//! and rebuilds only what that change rebuilds anyway.

use std::path::Path;
use std::process::Command;

const OVERRIDE: &str = "URING_CONFORMANCE_COMMIT";

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("..");
    println!("cargo:rerun-if-env-changed={OVERRIDE}");
    // The sources the binary is made of (directories are scanned whole), and git's idea of
    // HEAD: a commit, a checkout or an edit reruns this.
    for dir in [
        "uring",
        "harness",
        "cases",
        "report",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let (commit, how) = match std::env::var(OVERRIDE) {
        Ok(c) if !c.trim().is_empty() => (c.trim().to_string(), format!("from {OVERRIDE}")),
        _ => from_git(&root),
    };
    println!("cargo:rustc-env=URING_CONFORMANCE_COMMIT={commit}");
    println!("cargo:rustc-env=URING_CONFORMANCE_COMMIT_HOW={how}");
}

/// The commit from git, and how it was found (or why it is unknown).
fn from_git(root: &Path) -> (String, String) {
    // A source tree unpacked inside some other repository is not a checkout of the suite.
    let canonical = root.canonicalize().ok();
    let top = git(&[
        "-C",
        root.to_str().unwrap_or("."),
        "rev-parse",
        "--show-toplevel",
    ]);
    if top.map(|t| Path::new(&t).canonicalize().ok()) != Some(canonical) {
        return (
            "unknown".into(),
            "not built from a git checkout of the suite (or git was missing at build time)".into(),
        );
    }
    let root = root.to_str().unwrap_or(".");
    // Only files that exist: cargo takes a missing one as changed and would rerun each build.
    let watch = |what: &str| {
        let p = git(&["-C", root, "rev-parse", "--git-path", what])?;
        let p = Path::new(root).join(p);
        p.exists()
            .then(|| println!("cargo:rerun-if-changed={}", p.display()))
    };
    for what in ["HEAD", "index", "packed-refs"] {
        watch(what);
    }
    if let Some(r) = git(&["-C", root, "symbolic-ref", "-q", "HEAD"]) {
        watch(&r);
    }
    let describe = [
        "-C",
        root,
        "describe",
        "--always",
        "--dirty",
        "--abbrev=40",
        "--exclude=*",
    ];
    match git(&describe) {
        Some(c) => (c, "git describe at build time".into()),
        None => ("unknown".into(), "git describe failed at build time".into()),
    }
}
