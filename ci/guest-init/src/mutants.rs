//! The mutant-schemata loop (`uring.mutants=1`): one boot of a kernel built by
//! ci/mutants/schema.py runs the suite once per mutant id of `/mutant-ids` (the initramfs,
//! [`uring_guest_init::MUTANT_IDS`];
//! one id a line, 0 is the unmutated kernel), selecting each with the kernel's knob
//! [`KNOB`], and sends each report over the results channel framed with its id:
//!
//! ```text
//! @@URING-MUTANT-BEGIN id=N@@
//! @@URING-RESULTS-BEGIN mode=mutant-N bytes=LEN@@ ...report... @@URING-RESULTS-END ...@@
//! @@URING-MUTANT-KMSG id=N level=L TEXT@@          (kernel records at KERN_WARNING or worse)
//! @@URING-MUTANT-END id=N exit=E|signal=S|timeout secs=T@@
//! ```
//!
//! The suite scans the kernel log during its own run (exit status 3 on a WARNING/BUG/Oops);
//! the records after it exits (deferred ring teardown) are read here. A mutant that may have
//! hurt the kernel (the suite did not exit 0, or a record came) is followed by a run of id 0
//! (`@@URING-MUTANT-BEGIN id=0 recheck=N@@`); when that one is not clean either, the boot ends
//! with `@@URING-MUTANT-REBOOT after=N@@` and the host boots again with the ids left. A suite
//! run longer than `uring.mutant_limit` seconds (default [`DEFAULT_LIMIT`]) is killed
//! (`timeout`) and ends the boot the same way. `@@URING-MUTANT-ALL-DONE@@` closes a boot that
//! ran every id.

#![allow(unsafe_code)] // waitpid(2) with WNOHANG: std's Child cannot reap the orphans PID 1 inherits

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use uring_guest_init::{cmdline_value, results_block, MUTANT_IDS};

use crate::out::Out;
use crate::say;

/// The schema kernel's knob (io_uring/mutant.c of the private build tree).
pub const KNOB: &str = "/sys/module/io_uring_mutant/parameters/id";
/// Seconds one suite run may take when `uring.mutant_limit` does not say.
pub const DEFAULT_LIMIT: u64 = 150;
/// syslog's KERN_WARNING: a WARN_ON's report and everything worse.
const KERN_WARNING: u32 = 4;
/// open(2)'s O_NONBLOCK: /dev/kmsg reads answer EAGAIN at the end instead of waiting.
const O_NONBLOCK: i32 = 0o4000;

/// How one suite run ended.
enum End {
    Exit(i32),
    Signal(i32),
    /// Killed at the time limit.
    Timeout,
}

/// Runs the loop; returns when the boot should end (all ids done, or a reboot wanted). No
/// recheck follows the last id: nothing runs after it.
pub fn run(out: &Out, cmdline: &str, suite: &str, args: &[String], tmpdir: &str) {
    let limit = match cmdline_value(cmdline, "uring.mutant_limit").map(|v| v.parse::<u64>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(s)) if s > 0 => s,
        Some(_) => {
            say(
                out,
                "@@URING-INIT-ERROR uring.mutant_limit: not a number of seconds@@",
            );
            return;
        }
    };
    let ids: Vec<u32> = match std::fs::read_to_string(format!("/{MUTANT_IDS}")) {
        Ok(t) => match t.split_whitespace().map(str::parse).collect() {
            Ok(ids) => ids,
            Err(e) => {
                say(out, &format!("@@URING-INIT-ERROR /{MUTANT_IDS}: {e}@@"));
                return;
            }
        },
        Err(e) => {
            say(out, &format!("@@URING-INIT-ERROR /{MUTANT_IDS}: {e}@@"));
            return;
        }
    };
    let mut kmsg = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open("/dev/kmsg")
    {
        Ok(f) => f,
        Err(e) => {
            say(out, &format!("@@URING-INIT-ERROR /dev/kmsg: {e}@@"));
            return;
        }
    };
    // The boot's own records are not a mutant's.
    let _ = warnings(&mut kmsg);
    let limit = Duration::from_secs(limit);
    for (n, &id) in ids.iter().enumerate() {
        say(out, &format!("@@URING-MUTANT-BEGIN id={id}@@"));
        let clean = run_id(out, &mut kmsg, id, suite, args, tmpdir, limit);
        let last = n + 1 == ids.len();
        if clean == Some(true) || (id == 0 || last) && clean.is_some() {
            continue;
        }
        if clean.is_some() {
            say(out, &format!("@@URING-MUTANT-BEGIN id=0 recheck={id}@@"));
            if run_id(out, &mut kmsg, 0, suite, args, tmpdir, limit) == Some(true) {
                continue;
            }
        }
        say(out, &format!("@@URING-MUTANT-REBOOT after={id}@@"));
        return;
    }
    say(out, "@@URING-MUTANT-ALL-DONE@@");
}

/// One id: sets the knob, runs the suite, sends the report and the kernel's new warnings.
/// Some(clean) when it ran (clean: exit 0 and no warning), None when the kernel cannot be
/// trusted to run another (the knob would not take the id, the run hit the time limit).
fn run_id(
    out: &Out,
    kmsg: &mut std::fs::File,
    id: u32,
    suite: &str,
    args: &[String],
    tmpdir: &str,
    limit: Duration,
) -> Option<bool> {
    let start = Instant::now();
    if let Err(e) = set_knob(id) {
        say(
            out,
            &format!("@@URING-INIT-ERROR mutant knob {KNOB}: {e}@@"),
        );
        return None;
    }
    let report = format!("/results-mutant-{id}.jsonl");
    let _ = std::fs::remove_file(&report);
    let mut full = vec![format!("--report-json={report}")];
    full.extend(args.iter().cloned());
    let end = run_limited(suite, &full, tmpdir, limit);
    let end_text = match end {
        End::Exit(c) => format!("exit={c}"),
        End::Signal(s) => format!("signal={s}"),
        End::Timeout => "timeout".into(),
    };
    let bytes = std::fs::read(&report).unwrap_or_default();
    out.write_channel(&results_block(&format!("mutant-{id}"), &bytes, &end_text));
    let _ = std::fs::remove_file(&report);
    // Deferred work (the ring's exit work) runs after the suite is gone: give it a moment.
    std::thread::sleep(Duration::from_millis(200));
    let warned = warnings(kmsg);
    for (level, text) in &warned {
        say(
            out,
            &format!("@@URING-MUTANT-KMSG id={id} level={level} {text}@@"),
        );
    }
    say(
        out,
        &format!(
            "@@URING-MUTANT-END id={id} {end_text} secs={:.1}@@",
            start.elapsed().as_secs_f64()
        ),
    );
    match end {
        End::Timeout => None,
        End::Exit(0) => Some(warned.is_empty()),
        _ => Some(false),
    }
}

fn set_knob(id: u32) -> Result<(), String> {
    std::fs::write(KNOB, format!("{id}\n")).map_err(|e| format!("write: {e}"))?;
    let back = std::fs::read_to_string(KNOB).map_err(|e| format!("read: {e}"))?;
    if back.trim() != id.to_string() {
        return Err(format!("wrote {id}, reads {}", back.trim()));
    }
    Ok(())
}

/// Runs the suite (output discarded: the report holds each row's reason), killed at `limit`.
fn run_limited(suite: &str, args: &[String], tmpdir: &str, limit: Duration) -> End {
    let child = Command::new(suite)
        .args(args)
        .env_clear()
        .env("PATH", "/")
        .env("HOME", "/tmp")
        .env("TMPDIR", tmpdir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) => return End::Exit(127),
    };
    let pid = child.id() as i32;
    let start = Instant::now();
    let mut killed_at = None;
    loop {
        let mut st = 0;
        // SAFETY: waitpid with a valid pointer to a local. As PID 1 we also reap whatever
        // the suite leaves orphaned (any pid other than the suite's), as main.rs does.
        let r = unsafe { waitpid(-1, &mut st, WNOHANG) };
        if r == pid {
            if killed_at.is_some() {
                return End::Timeout;
            }
            return if st & 0x7f == 0 {
                End::Exit((st >> 8) & 0xff)
            } else {
                End::Signal(st & 0x7f)
            };
        }
        if r > 0 {
            continue;
        }
        match killed_at {
            None if start.elapsed() >= limit => {
                let _ = child.kill();
                killed_at = Some(Instant::now());
            }
            // A task stuck in the kernel may never die: wait a little, not forever.
            Some(t) if t.elapsed() >= Duration::from_secs(5) => return End::Timeout,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// waitpid(2)'s WNOHANG.
const WNOHANG: i32 = 1;

extern "C" {
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
}

/// The kernel records since the last call at KERN_WARNING or worse: (level, text).
fn warnings(kmsg: &mut std::fs::File) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match kmsg.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => found.extend(warning(&String::from_utf8_lossy(&buf[..n]))),
            // EPIPE: records were overwritten before we read them; the next read goes on.
            Err(e) if e.raw_os_error() == Some(32) => continue,
            Err(_) => break,
        }
    }
    found
}

/// (level, first line) of one /dev/kmsg record ("PRIO,SEQ,USEC,FLAGS;TEXT\n continuation
/// lines", PRIO = facility * 8 + level) when the kernel logged it (facility 0: a record user
/// space writes to /dev/kmsg, like the suite's run marker, has LOG_USER or another,
/// kernel/printk/printk.c devkmsg_write) at KERN_WARNING or worse; `@` becomes `(at)`,
/// keeping the channel's `@@` markers unambiguous.
fn warning(rec: &str) -> Option<(u32, String)> {
    let (head, text) = rec.split_once(';')?;
    let prio = head.split(',').next()?.parse::<u32>().ok()?;
    let (facility, level) = (prio >> 3, prio & 7);
    let text = text.lines().next().unwrap_or("").replace('@', "(at)");
    (facility == 0 && level <= KERN_WARNING).then_some((level, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_takes_level_four_and_worse_from_the_record_head() {
        assert_eq!(
            warning("4,812,9913110,-;WARNING: CPU: 0 PID: 9 at io_uring/rsrc.c:10\n SUBSYSTEM=x"),
            Some((4, "WARNING: CPU: 0 PID: 9 at io_uring/rsrc.c:10".into()))
        );
        assert_eq!(warning("3,9,9,-;a@@b").unwrap().1, "a(at)(at)b");
        // facility 0 (kernel), level 1 (KERN_ALERT)
        assert_eq!(warning("1,5,1,-;BUG: x").map(|w| w.0), Some(1));
        // facility 3 (daemon) * 8 + level 6 (info): not a warning
        assert_eq!(warning("30,7,2,-;started"), None);
        assert_eq!(warning("6,7,2,-;io_uring: something informative"), None);
        // user space's own record at level 4 (facility 1, LOG_USER)
        assert_eq!(warning("12,8,3,-;uring-conformance: run begins"), None);
        assert_eq!(warning("no head here"), None);
    }
}
