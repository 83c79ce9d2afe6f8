//! The whole suite, in strict mode, in two environments it must pass in: with TMPDIR on
//! tmpfs (/dev/shm), and as uid nobody. Each runs the conformance binary and asserts exit
//! status 0 and no failed case; a failure names every failing row with its message.
//! On tmpfs the file-mapping rows skip (fact tmpdir_file_fs); as nobody the rows that need
//! CAP_IPC_LOCK or root skip with their reason.

#![allow(unsafe_code)] // pre_exec: drop to uid nobody before the suite starts

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_uring-conformance");
const NOBODY: u32 = 65_534;

/// The suite with `args`, in an environment of its own: no URING_* settings and none of
/// nextest's variables (which would make the suite mark skips at list time).
fn suite_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (var, _) in std::env::vars_os() {
        let v = var.to_string_lossy();
        if v.starts_with("NEXTEST") || v.starts_with("URING_") {
            cmd.env_remove(&var);
        }
    }
    cmd
}

/// The rows that failed (`test NAME ... FAILED`), each with its message from the failures
/// section.
fn failed_rows(o: &Output) -> Vec<String> {
    let out = String::from_utf8_lossy(&o.stdout);
    // "test [kind]   NAME   ... FAILED"
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("test "))
        .filter_map(|l| l.strip_suffix(" ... FAILED"))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    names
        .iter()
        .map(|n| {
            // libtest-mimic prints "---- NAME ----" and the message after it.
            let msg = out
                .split(&format!("---- {n} ----"))
                .nth(1)
                .and_then(|rest| rest.split("\n\n").next())
                .unwrap_or("")
                .trim()
                .replace('\n', "\n      ");
            format!("{n}\n      {msg}")
        })
        .collect()
}

fn assert_clean(what: &str, o: &Output) {
    let failed = failed_rows(o);
    assert!(
        o.status.code() == Some(0) && failed.is_empty(),
        "{what}: exit status {:?}, {} failing row(s):\n  {}\n--- stderr (tail) ---\n{}",
        o.status.code(),
        failed.len(),
        failed.join("\n  "),
        tail(&String::from_utf8_lossy(&o.stderr), 2000),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("test result: ok."),
        "{what}: no summary line\n{out}"
    );
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[test]
fn strict_run_with_tmpdir_on_tmpfs_passes() {
    let shm = std::path::Path::new("/dev/shm");
    if !shm.is_dir() {
        println!("skipped: no /dev/shm here");
        return;
    }
    let o = suite_command(&["--strict"])
        .env("TMPDIR", shm)
        .output()
        .expect("run the conformance binary");
    assert_clean("--strict with TMPDIR=/dev/shm", &o);
}

#[test]
fn strict_run_as_nobody_passes() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: dropping to uid nobody needs root (this run is already unprivileged)");
        return;
    }
    let mut cmd = suite_command(&["--strict"]);
    // A TMPDIR of ours may not be writable by nobody.
    cmd.env_remove("TMPDIR");
    // SAFETY: the closure makes plain syscalls (setgroups, setgid, setuid) on values it
    // owns; it allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
            setgroups(&[])?;
            setgid(Gid::from_raw(NOBODY))?;
            setuid(Uid::from_raw(NOBODY))?;
            Ok(())
        })
    };
    let o = cmd.output().expect("run the conformance binary as nobody");
    assert_clean("--strict as uid nobody", &o);
}
