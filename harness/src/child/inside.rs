//! The child's own side of [`super`]: in the re-executed process, set RLIMIT_MEMLOCK, check
//! that the uid may create rings, drop privileges, verify the drop, run the case and print
//! its `RESULT` line.

use super::{
    encode_result, CHILD_FACTS_ENV, CHILD_FEATURES_ENV, CHILD_LEVELS_ENV, CHILD_MEMLOCK_ENV,
    CHILD_TIMEOUT_ENV, CHILD_UID_ENV,
};
use crate::case::{Case, CaseError, Observation};
use crate::classify::{memlock_limits, with_leftovers};
use crate::cx::Cx;
use crate::leaks::CaseScope;
use crate::probe::FeatureSet;
use crate::resource::{resource_cause, skip, Resource};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use uring::Errno;
use uring_report::SkipCause;

/// The child side: set RLIMIT_MEMLOCK, drop privileges, run the case, print it.
pub(crate) fn child_main(cases: &[Case], name: &str) -> ExitCode {
    let Some(case) = cases.iter().find(|c| c.name == name) else {
        say_broken(format!("no case named {name}"));
        return ExitCode::from(2);
    };
    let memlock: u64 = match std::env::var(CHILD_MEMLOCK_ENV).map(|s| s.parse()) {
        Ok(Ok(m)) => m,
        _ => {
            say_broken(format!("{CHILD_MEMLOCK_ENV} is not a number of bytes"));
            return ExitCode::SUCCESS;
        }
    };
    let uid: u32 = match std::env::var(CHILD_UID_ENV).map(|s| s.parse()) {
        Ok(Ok(u)) => u,
        _ => {
            say_broken(format!("{CHILD_UID_ENV} is not a uid"));
            return ExitCode::SUCCESS;
        }
    };
    if let Err(skip) = set_memlock(memlock) {
        println!("{}", encode_result(&Err(skip)));
        return ExitCode::SUCCESS;
    }
    if let Some(skip) = io_uring_refused_to(uid) {
        println!("{}", encode_result(&Err(skip)));
        return ExitCode::SUCCESS;
    }
    if let Err(e) = drop_privileges(uid) {
        say_broken(format!("dropping privileges to uid {uid}: {e}"));
        return ExitCode::SUCCESS;
    }
    if let Err(why) = check_dropped(uid, memlock) {
        say_broken(why);
        return ExitCode::SUCCESS;
    }
    // The parent's probe: probing again here would spend this user's memlock quota on
    // probe rings, whose teardown is asynchronous.
    let names = std::env::var(CHILD_FEATURES_ENV).unwrap_or_default();
    let mut fs = FeatureSet::from_names(&names, "probed by the parent process");
    fs.env = crate::env::Env::from_names(
        &std::env::var(CHILD_FACTS_ENV).unwrap_or_default(),
        "probed by the parent process",
    );
    if let Ok(v) = crate::version::running(
        std::env::var(crate::version::VERSION_OVERRIDE_ENV)
            .ok()
            .as_deref()
            .filter(|v| !v.is_empty()),
    ) {
        fs.version = v;
    }
    match crate::level::Levels::from_json(&std::env::var(CHILD_LEVELS_ENV).unwrap_or_default()) {
        Ok(levels) => fs.levels = levels,
        Err(e) => {
            say_broken(format!("{CHILD_LEVELS_ENV}: {e}"));
            return ExitCode::SUCCESS;
        }
    }
    let fs = Arc::new(fs);
    // The parent's --case-timeout; it kills this process some time after it.
    let limit = match std::env::var(CHILD_TIMEOUT_ENV) {
        Ok(ns) => match ns.parse::<u64>() {
            Ok(ns) if ns > 0 => Duration::from_nanos(ns),
            _ => {
                let why = format!("unreadable {CHILD_TIMEOUT_ENV}={ns}");
                say_broken(why);
                return ExitCode::SUCCESS;
            }
        },
        Err(_) => crate::cli::DEFAULT_CASE_TIMEOUT,
    };
    let scope = CaseScope::enter();
    let mut cx = Cx::new(fs, limit, case.abi);
    let r = (case.run)(&mut cx).map(|obs| Observation {
        call: format!(
            "{} as uid {uid} (used by no other task), RLIMIT_MEMLOCK {memlock} bytes",
            obs.call
        ),
        ..obs
    });
    println!("{}", encode_result(&with_leftovers(r, scope.leftovers())));
    ExitCode::SUCCESS
}

/// Sets RLIMIT_MEMLOCK to exactly `memlock` (soft and hard), before dropping privileges:
/// raising the hard limit needs CAP_SYS_RESOURCE (kernel/sys.c do_prlimit), and a hard limit
/// below the case's without it is a resource skip.
fn set_memlock(memlock: u64) -> Result<(), CaseError> {
    use nix::sys::resource::{setrlimit, Resource as Rlimit};
    match setrlimit(Rlimit::RLIMIT_MEMLOCK, memlock, memlock) {
        Ok(()) => Ok(()),
        Err(e) => Err(skip(resource_cause(
            Resource::LockedMemory,
            &format!("setrlimit(RLIMIT_MEMLOCK, {memlock}) for the case"),
            Some(Errno(e as i32)),
            format!(
                "the hard limit here is {} bytes; raising it needs CAP_SYS_RESOURCE",
                memlock_limits().1
            ),
        ))),
    }
}

/// Drops to `uid` and the gid of the same number, without supplementary groups (unless the
/// process has none: setgroups(2) may be denied in a user namespace, and is not needed).
fn drop_privileges(uid: u32) -> Result<(), Errno> {
    use nix::unistd::{getgroups, setgid, setgroups, setuid, Gid, Uid};
    let kernel = |e: nix::errno::Errno| Errno(e as i32);
    if !getgroups().map_err(kernel)?.is_empty() {
        setgroups(&[]).map_err(kernel)?;
    }
    setgid(Gid::from_raw(uid)).map_err(kernel)?;
    setuid(Uid::from_raw(uid)).map_err(kernel)?;
    Ok(())
}

/// Why `uid` (with the gid of the same number and no other group) may not create rings
/// here, if it may not: with kernel.io_uring_disabled = 1 (6.6+) only members of
/// kernel.io_uring_group (a gid of the initial user namespace) and CAP_SYS_ADMIN may
/// (io_uring.c:io_uring_allowed). Read from the sysctls, not by creating a ring: a probe
/// ring would be charged to the row's small memlock quota and torn down asynchronously.
fn io_uring_refused_to(uid: u32) -> Option<CaseError> {
    let read = |p: &str| std::fs::read_to_string(p).ok()?.trim().parse::<i64>().ok();
    let group = read("/proc/sys/kernel/io_uring_group");
    let gid_map = crate::env::read_id_map("/proc/self/gid_map").ok()?;
    let kgid = crate::env::to_outside(&gid_map, uid).map(i64::from);
    match crate::probe::io_uring_disabled_sysctl() {
        Some(1) if group.is_none() || group != kgid => Some(skip(SkipCause::NotPermitted {
            what: format!(
                "kernel.io_uring_disabled = 1 and kernel.io_uring_group = {}: uid {uid} (gid {uid}, {} outside this user namespace) may not create rings",
                group.map_or("unreadable".into(), |g| g.to_string()),
                kgid.map_or("unmapped".into(), |g| g.to_string())
            ),
        })),
        Some(v) if v >= 2 => Some(skip(SkipCause::IoUringUnavailable {
            reason: format!("kernel.io_uring_disabled = {v}"),
        })),
        _ => None,
    }
}

/// The child really runs as the row asked: uid and gid `uid` without supplementary groups,
/// and RLIMIT_MEMLOCK exactly `memlock`.
fn check_dropped(uid: u32, memlock: u64) -> Result<(), String> {
    use nix::unistd::{getegid, geteuid, getgid, getgroups, getuid};
    let (soft, hard) = memlock_limits();
    if soft != memlock || hard != memlock {
        return Err(format!(
            "RLIMIT_MEMLOCK is {soft}/{hard} after setting it to {memlock}"
        ));
    }
    let groups = getgroups().map_err(|e| format!("getgroups: {e}"))?;
    let ids = [
        getuid().as_raw(),
        geteuid().as_raw(),
        getgid().as_raw(),
        getegid().as_raw(),
    ];
    if ids != [uid; 4] || !groups.is_empty() {
        return Err(format!(
            "after dropping to uid {uid}: uid {} euid {} gid {} egid {} groups {groups:?}",
            ids[0], ids[1], ids[2], ids[3]
        ));
    }
    Ok(())
}

/// Prints a broken result.
fn say_broken(why: String) {
    println!("{}", encode_result(&Err(CaseError::Broken(why))));
}
