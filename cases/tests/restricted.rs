//! The suite in restricted environments: a seccomp filter, an unprivileged uid, a small
//! RLIMIT_MEMLOCK, and the io_uring_disabled sysctl. Each runs the conformance binary in a
//! child process and checks that the outcome is a clear skip (or a clean run), never a
//! crash or a wall of failures. Serialized: the sysctl test changes machine-wide state.
#![allow(unsafe_code)] // seccomp (prctl) and pre_exec in the children that restrict themselves
#![cfg(target_arch = "x86_64")]

use serial_test::serial;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_uring-conformance");
const NOBODY: u32 = 65_534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs the suite with `setup` applied in the child between fork and exec.
fn run_suite(setup: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--test-threads=2")
        .env_remove("URING_CONFORMANCE_HIDE");
    // Under nextest this test's environment says NEXTEST=1 ...: the suite would take it for
    // being run by nextest and mark its skips as ignored at list time, without running them
    // and so without printing their reasons. The suite started here is run by this test.
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("NEXTEST") {
            cmd.env_remove(var);
        }
    }
    // SAFETY: the closure only makes async-signal-safe syscalls (prctl, setrlimit,
    // setgroups, setgid, setuid) on values it owns; it allocates nothing.
    unsafe { cmd.pre_exec(setup) };
    cmd.output().expect("run the conformance binary")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn last_line_counts(o: &Output) -> (usize, usize, usize) {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("test result:"))
        .unwrap_or_default();
    let num = |key: &str| {
        line.split(';')
            .find(|p| p.contains(key))
            .and_then(|p| p.split_whitespace().find_map(|w| w.parse::<usize>().ok()))
            .unwrap_or(usize::MAX)
    };
    (num("passed"), num("failed"), num("ignored"))
}

fn check(r: libc::c_int) -> std::io::Result<()> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A seccomp filter answering io_uring_setup with `errno` (as container runtimes do).
fn deny_io_uring_setup(errno: u32) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    move || {
        const LD_NR: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS, k = offsetof(seccomp_data, nr)
        const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
        const RET: u16 = 0x06; // BPF_RET | BPF_K
        let prog = [
            libc::sock_filter {
                code: LD_NR,
                jt: 0,
                jf: 0,
                k: 0,
            },
            libc::sock_filter {
                code: JEQ,
                jt: 0,
                jf: 1,
                k: libc::SYS_io_uring_setup as u32,
            },
            libc::sock_filter {
                code: RET,
                jt: 0,
                jf: 0,
                k: 0x0005_0000 | errno,
            }, // SECCOMP_RET_ERRNO
            libc::sock_filter {
                code: RET,
                jt: 0,
                jf: 0,
                k: 0x7fff_0000,
            }, // SECCOMP_RET_ALLOW
        ];
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut _,
        };
        // SAFETY: prctl with a filter program that lives on this frame for the call.
        unsafe {
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            check(libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const _,
            ))?;
        }
        Ok(())
    }
}

/// Drops to uid/gid nobody, optionally with a lower RLIMIT_MEMLOCK first.
fn become_nobody(
    memlock: Option<u64>,
) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    move || {
        use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
        if let Some(m) = memlock {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK, m, m)?;
        }
        setgroups(&[])?;
        setgid(Gid::from_raw(NOBODY))?;
        setuid(Uid::from_raw(NOBODY))?;
        Ok(())
    }
}

#[test]
#[serial]
fn seccomp_eperm_skips_everything_with_the_reason() {
    for errno in [libc::EPERM, libc::ENOSYS] {
        let o = run_suite(deny_io_uring_setup(errno as u32));
        let t = text(&o);
        assert_eq!(
            o.status.code(),
            Some(77),
            "exit status for 'not testable here'\n{t}"
        );
        let (passed, failed, ignored) = last_line_counts(&o);
        assert_eq!((passed, failed), (0, 0), "{t}");
        assert!(ignored > 50, "every case skipped: {ignored}\n{t}");
        assert!(
            t.contains("io_uring unavailable"),
            "the reason is given\n{t}"
        );
    }
}

#[test]
#[serial]
fn unprivileged_user_runs_clean() {
    if !is_root() {
        return; // already unprivileged: the plain test run covers it
    }
    let o = run_suite(become_nobody(None));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let (passed, failed, _) = last_line_counts(&o);
    assert!(passed > 50 && failed == 0, "{t}");
}

#[test]
#[serial]
fn small_memlock_skips_what_needs_more() {
    if !is_root() {
        return;
    }
    // Rings of earlier runs as nobody are torn down asynchronously and stay charged to
    // nobody's memlock quota for a moment: while not even one ring fits, wait.
    let mut o = run_suite(become_nobody(Some(16 * 1024)));
    for _ in 0..50 {
        if !(o.status.code() == Some(77) && text(&o).contains("ENOMEM")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        o = run_suite(become_nobody(Some(16 * 1024)));
    }
    let t = text(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "no case may fail or break under a small RLIMIT_MEMLOCK\n{t}"
    );
    assert!(
        t.contains("resource:"),
        "cases that need more memory say so\n{t}"
    );
}

/// Sets kernel.io_uring_disabled for the test and restores it. Opt-in
/// (URING_CONFORMANCE_SYSCTL_TEST=1): it is machine-wide and would disturb other processes.
#[test]
#[serial]
fn io_uring_disabled_sysctl_skips_everything() {
    const PATH: &str = "/proc/sys/kernel/io_uring_disabled";
    if std::env::var("URING_CONFORMANCE_SYSCTL_TEST").as_deref() != Ok("1") {
        return;
    }
    let Ok(old) = std::fs::read_to_string(PATH) else {
        return;
    };
    if std::fs::write(PATH, "2").is_err() {
        return; // not permitted here (no root, or /proc/sys read-only)
    }
    let o = run_suite(|| Ok(()));
    std::fs::write(PATH, old.trim()).expect("restore kernel.io_uring_disabled");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(77), "{t}");
    assert!(t.contains("kernel.io_uring_disabled = 2"), "{t}");
}

/// With kernel.io_uring_disabled = 1 root still has io_uring, other uids only as members of
/// kernel.io_uring_group: the rows that run as a spare uid skip and say why, the others run.
/// Opt-in like the test above.
#[test]
#[serial]
fn io_uring_group_restriction_skips_the_unprivileged_rows() {
    const DISABLED: &str = "/proc/sys/kernel/io_uring_disabled";
    const GROUP: &str = "/proc/sys/kernel/io_uring_group";
    if std::env::var("URING_CONFORMANCE_SYSCTL_TEST").as_deref() != Ok("1") || !is_root() {
        return;
    }
    let (Ok(old), Ok(old_group)) = (
        std::fs::read_to_string(DISABLED),
        std::fs::read_to_string(GROUP),
    ) else {
        return; // before 6.6
    };
    if std::fs::write(GROUP, "-1").is_err() || std::fs::write(DISABLED, "1").is_err() {
        return;
    }
    let o = run_suite(|| Ok(()));
    std::fs::write(DISABLED, old.trim()).expect("restore kernel.io_uring_disabled");
    std::fs::write(GROUP, old_group.trim()).expect("restore kernel.io_uring_group");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("register_buffers::memlock_exceeded") && t.contains("may not create rings"),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.contains("register_buffers::nr_zero ") && l.ends_with("... ok")),
        "{t}"
    );
}

/// A task restriction (7.x: IORING_REGISTER_RESTRICTIONS on fd -1) that allows nothing, as
/// a sandbox would set it before running the suite; children inherit it.
fn restrict_task() -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    || {
        /// struct io_uring_task_restriction with no entries: restrict every op.
        #[repr(C)]
        struct TaskRestriction {
            flags: u16,
            nr_res: u16,
            resv: [u32; 3],
        }
        let tres = TaskRestriction {
            flags: 0,
            nr_res: 0,
            resv: [0; 3],
        };
        const RESTRICTIONS: libc::c_long = 11;
        // SAFETY: io_uring_register reads one struct that lives on this frame for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                -1 as libc::c_long,
                RESTRICTIONS,
                &tres as *const TaskRestriction,
                1 as libc::c_long,
            )
        };
        check(r as libc::c_int)
    }
}

/// A restricted task: the suite measures nothing and says why (exit 77), rather than
/// reporting a sandbox's EACCES as the kernel's answers. Skips itself on kernels without
/// task restrictions (the registration fails there).
#[test]
#[serial]
fn inherited_task_restrictions_skip_everything() {
    let mut probe = Command::new("/bin/true");
    // SAFETY: the closure makes one syscall on its own stack between fork and exec.
    unsafe { probe.pre_exec(restrict_task()) };
    if probe.status().is_err() {
        return; // before 7.x, or not permitted: nothing to restrict with
    }
    let o = run_suite(restrict_task());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(77), "{t}");
    assert!(t.contains("io_uring restrictions or BPF filters"), "{t}");
}
