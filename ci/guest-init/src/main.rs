//! PID 1 of the test VM (built static, packed as /init of the initramfs).
//!
//! Mounts proc, sysfs, devtmpfs and a tmpfs on /tmp, then runs the suite once per mode of
//! `uring.modes` (default `default`; the matrix passes `default,strict`):
//! `/uring-conformance --report-json=/results-MODE.jsonl --test-threads=N [--strict]
//! [uring.args...]` with its output prefixed `suite| ` / `suite! ` on the console, framed by
//! `@@URING-SUITE-BEGIN mode=MODE args=...@@`, and prints each report framed by
//! `@@URING-RESULTS-BEGIN mode=MODE bytes=LEN@@` / `@@URING-RESULTS-END mode=MODE exit=N@@`
//! (or `signal=N`), then powers off. Every line it prints also goes to the results channel
//! (QEMU's isa-debugcon, see [`uring_guest_init::CHANNEL_PORT`]) when the VM has one, where
//! `bytes=LEN` lets the host tell a whole report from a cut one; the console is written by a
//! thread of its own, so a console that stops draining holds up neither the suite nor the
//! channel. The init line says `channel=debugcon` or `channel=none` (the reason follows as
//! an init error). Kernel command line knobs: `uring.modes=default,strict`,
//! `uring.args="..."` (extra suite arguments, split on spaces), `uring.threads=N` (default 2),
//! `uring.smoke=1` (print a marker and power off), `uring.exec=LIST` (run the programs LIST
//! names instead of the suite, see [`uring_guest_init::exec`]), `uring.gcov=1` (after the runs, send the
//! kernel's gcov counters over the results channel, see [`uring_guest_init::gcov`]), `uring.scratch=DEV` (mount /dev/DEV, an
//! ext4 disk, on /scratch and make it the suite's TMPDIR, so the rows that map regular files
//! get a disk filesystem rather than tmpfs; `scratch=` on the init line says `mounted`,
//! `unsupported` when the kernel has no built-in ext4 or NVMe driver (Debian's generic and RT
//! flavours build them as modules, which this initramfs does not load: TMPDIR stays /tmp, as
//! on a kernel the host gives no disk), `error` or `none`). The `@@URING-INIT ...@@` line
//! also says whether the kernel has fault injection (`fail_nth=yes`: /proc/thread-self/fail-nth exists; then
//! debugfs is mounted and failslab is set to fail GFP_KERNEL allocations too, see
//! `fault_injection_knobs`) and `lo=up|absent|error`: the loopback interface is brought up
//! (absent without INET). `uring.mutants=1`: the mutant-schemata loop instead of the modes
//! (see [`mutants`]).

#![allow(unsafe_code)] // PID 1 of the guest: mount, reboot, uname, chdir as raw syscalls (std only)

use std::ffi::{c_char, c_int, c_ulong, c_void, CString};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use uring_guest_init::gcov::{done_marker, gcov_block, path_ok, GCOV_ROOT};
use uring_guest_init::{cmdline_value, results_block, CHANNEL_DEBUGCON, MODES, RESULTS_MISSING};

use crate::out::{Debugcon, Out};

mod mutants;
mod out;
mod run_exec;

extern "C" {
    fn mount(
        src: *const c_char,
        target: *const c_char,
        fstype: *const c_char,
        flags: c_ulong,
        data: *const c_void,
    ) -> c_int;
    fn reboot(cmd: c_int) -> c_int;
    fn sync();
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn uname(buf: *mut Utsname) -> c_int;
    fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    // Variadic, as glibc declares it: on ppc64le (ELFv2) a variadic callee stores its
    // argument registers in a parameter save area its caller must provide, which a call
    // through a fixed prototype does not; there ioctl overwrote the ifreq on our stack
    // and SIOCGIFFLAGS answered ENODEV for the mangled name.
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn close(fd: c_int) -> c_int;
}

/// `struct ifreq` as SIOCGIFFLAGS/SIOCSIFFLAGS use it: the name, then `ifr_flags` at the
/// start of the 24-byte union.
#[repr(C)]
struct IfreqFlags {
    name: [c_char; 16],
    flags: i16,
    pad: [u8; 22],
}

/// Brings the loopback interface up, as any init does, so the rows that need a TCP peer on
/// 127.0.0.1 can run (they skip on their `loopback` fact otherwise). "absent" on a kernel
/// without INET (the socket fails), where there is nothing to bring up.
fn loopback_up() -> Result<&'static str, String> {
    const AF_INET: c_int = 2;
    const SOCK_DGRAM: c_int = 2;
    const SIOCGIFFLAGS: c_ulong = 0x8913;
    const SIOCSIFFLAGS: c_ulong = 0x8914;
    const IFF_UP: i16 = 1;
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { socket(AF_INET, SOCK_DGRAM, 0) };
    if fd < 0 {
        return Ok("absent");
    }
    let mut req = IfreqFlags {
        name: [0; 16],
        flags: 0,
        pad: [0; 22],
    };
    for (d, s) in req.name.iter_mut().zip(b"lo") {
        *d = *s as c_char;
    }
    let req: *mut IfreqFlags = &mut req;
    // SAFETY: both ioctls read and write the one ifreq behind `req`, which lives on this
    // frame and is reached only through that pointer meanwhile; fd is our socket.
    let r = unsafe {
        if ioctl(fd, SIOCGIFFLAGS, req.cast::<c_void>()) < 0 {
            -1
        } else {
            (*req).flags |= IFF_UP;
            ioctl(fd, SIOCSIFFLAGS, req.cast::<c_void>())
        }
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: closes the socket opened above, used by nothing else.
    unsafe { close(fd) };
    if r < 0 {
        Err(format!("bringing lo up: {err}"))
    } else {
        Ok("up")
    }
}

/// glibc's `struct utsname` on Linux: six 65-byte fields.
#[repr(C)]
struct Utsname {
    fields: [[c_char; 65]; 6],
}

/// The kernel release from uname(2): /proc/sys (PROC_SYSCTL) is off in tinyconfig kernels.
fn uname_release() -> Option<String> {
    let mut u = Utsname {
        fields: [[0; 65]; 6],
    };
    // SAFETY: uname fills the struct it is given.
    if unsafe { uname(&mut u) } != 0 {
        return None;
    }
    let f = &u.fields[2];
    let bytes: Vec<u8> = f
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Restart, not power-off: QEMU runs with -no-reboot, so a restart ends it too, and it
/// needs no power-off driver (a kernel without ACPI halts on RB_POWER_OFF and would sit
/// there until the time limit).
const RB_AUTOBOOT: c_int = 0x0123_4567;
const SUITE: &str = "/uring-conformance";
/// Where mode MODE's report goes: on the initramfs root, which is writable.
fn report_path(mode: &str) -> String {
    format!("/results-{mode}.jsonl")
}

fn say(out: &Out, line: &str) {
    out.write(format!("{line}\n").into_bytes());
}

fn do_mount(src: &str, target: &str, fstype: &str, data: &str) -> Result<(), String> {
    let _ = std::fs::create_dir_all(target);
    let c = |s: &str| CString::new(s).unwrap();
    let (s, t, f, d) = (c(src), c(target), c(fstype), c(data));
    let dp = if data.is_empty() {
        std::ptr::null()
    } else {
        d.as_ptr() as *const c_void
    };
    // SAFETY: valid NUL-terminated strings that outlive the call.
    let rc = unsafe { mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, dp) };
    if rc != 0 {
        return Err(format!(
            "mount {fstype} on {target}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Whether the kernel can mount the scratch disk at all: ext4 registered
/// (/proc/filesystems) and the NVMe PCI driver present (/sys/bus/pci/drivers/nvme). Both are
/// there before init runs when built in; as modules they never appear here.
fn scratch_supported() -> bool {
    let ext4 = std::fs::read_to_string("/proc/filesystems").is_ok_and(|t| {
        t.lines()
            .any(|l| l.split_whitespace().last() == Some("ext4"))
    });
    ext4 && std::path::Path::new("/sys/bus/pci/drivers/nvme").is_dir()
}

/// Mounts the scratch disk (the host attached it): waits for the device node, which
/// appears once the driver has probed the disk, asynchronously to init.
fn mount_scratch(dev: &str) -> Result<&'static str, String> {
    let node = format!("/dev/{dev}");
    let start = std::time::Instant::now();
    while !std::path::Path::new(&node).exists() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "scratch disk: {node} did not appear within 10 s (no NVMe driver?)"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    do_mount(&node, "/scratch", "ext4", "").map_err(|e| format!("scratch disk: {e}"))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions("/scratch", std::fs::Permissions::from_mode(0o1777))
        .map_err(|e| format!("scratch disk: chmod /scratch: {e}"))?;
    Ok("/scratch")
}

/// How long the power-off waits for the console to print what is queued.
const CONSOLE_DRAIN: Duration = Duration::from_secs(10);

fn power_off(out: &Out) -> ! {
    say(out, "@@URING-POWEROFF@@");
    out.drain_console(CONSOLE_DRAIN);
    // SAFETY: plain syscalls; as PID 1 we hold CAP_SYS_BOOT.
    unsafe {
        sync();
        reboot(RB_AUTOBOOT);
    }
    say(
        out,
        &format!(
            "@@URING-INIT-ERROR reboot failed: {}@@",
            std::io::Error::last_os_error()
        ),
    );
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// The mutant loop's end: everything went over the results channel already, and a mutant
/// may have left the kernel unable to finish a sync(2) or drain the console, so neither is
/// waited for (the scratch disk is a snapshot the host discards).
fn restart_now(out: &Out) -> ! {
    say(out, "@@URING-POWEROFF@@");
    // SAFETY: a plain syscall; as PID 1 we hold CAP_SYS_BOOT.
    unsafe { reboot(RB_AUTOBOOT) };
    power_off(out)
}

fn pump(
    src: impl Read + Send + 'static,
    prefix: &'static str,
    out: Arc<Out>,
    done: std::sync::mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(src);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    say(
                        &out,
                        &format!("{prefix}{}", text.trim_end_matches(['\n', '\r'])),
                    );
                }
            }
        }
        let _ = done.send(());
    });
}

/// With fault injection: debugfs, and the failslab knobs the fault-injection rows need.
/// `ignore-gfp-wait` N makes fail-nth count (and fail) GFP_KERNEL slab allocations, not only
/// GFP_ATOMIC/NOWAIT ones (mm/failslab.c defaults it to Y); `verbose` 0 keeps an injected
/// failure from printing a stack trace on the serial console. Both change nothing while no
/// thread has fail-nth set and `probability` stays 0 (lib/fault-inject.c:should_fail_ex).
/// fail_page_alloc keeps its defaults (GFP_KERNEL and order-0 pages not failed).
fn fault_injection_knobs() -> Result<(), String> {
    const DEBUGFS: &str = "/sys/kernel/debug";
    do_mount("debugfs", DEBUGFS, "debugfs", "")?;
    for (knob, value) in [
        ("failslab/ignore-gfp-wait", "N"),
        ("failslab/verbose", "0"),
        ("fail_page_alloc/verbose", "0"),
    ] {
        let path = format!("{DEBUGFS}/{knob}");
        std::fs::write(&path, value).map_err(|e| format!("write {value} to {path}: {e}"))?;
    }
    Ok(())
}

fn main() {
    // Before any thread starts: the port permission is inherited, not shared.
    let channel = Debugcon::open();
    let mut errors = Vec::new();
    let channel = channel
        .map_err(|e| {
            errors.push(format!(
                "results channel: {e}; reports go over the console only"
            ))
        })
        .ok();
    let out = Arc::new(Out::new(channel));
    for (src, target, fs, data) in [
        ("proc", "/proc", "proc", ""),
        ("sysfs", "/sys", "sysfs", ""),
        ("devtmpfs", "/dev", "devtmpfs", ""),
        ("tmpfs", "/tmp", "tmpfs", "mode=1777"),
        ("tmpfs", "/dev/shm", "tmpfs", "mode=1777"),
    ] {
        if let Err(e) = do_mount(src, target, fs, data) {
            errors.push(e);
        }
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(uname_release)
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let (tmpdir, scratch) = match cmdline_value(&cmdline, "uring.scratch") {
        Some(_) if !scratch_supported() => ("/tmp", "unsupported"),
        Some(dev) => match mount_scratch(&dev) {
            Ok(dir) => (dir, "mounted"),
            Err(e) => {
                errors.push(e);
                ("/tmp", "error")
            }
        },
        None => ("/tmp", "none"),
    };
    let fail_nth = if std::path::Path::new("/proc/thread-self/fail-nth").exists() {
        if let Err(e) = fault_injection_knobs() {
            errors.push(e);
        }
        "yes"
    } else {
        "no"
    };
    let lo = loopback_up().unwrap_or_else(|e| {
        errors.push(e);
        "error"
    });
    say(&out, "");
    say(
        &out,
        &format!(
            "@@URING-INIT kernel={release} cpus={cpus} tmpdir={tmpdir} scratch={scratch} \
             fail_nth={fail_nth} lo={lo} channel={}@@",
            if out.has_channel() {
                CHANNEL_DEBUGCON
            } else {
                "none"
            }
        ),
    );
    for e in &errors {
        say(&out, &format!("@@URING-INIT-ERROR {e}@@"));
    }
    if cmdline_value(&cmdline, "uring.smoke").is_some() {
        say(&out, "@@URING-SMOKE-OK@@");
        power_off(&out);
    }

    let threads = cmdline_value(&cmdline, "uring.threads").unwrap_or_else(|| "2".into());
    let extra: Vec<String> = cmdline_value(&cmdline, "uring.args")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let modes = cmdline_value(&cmdline, "uring.modes").unwrap_or_else(|| "default".into());
    // The suite runs in /tmp. Not with Command::current_dir: that takes std's fork path,
    // which (Rust 1.95) passes a pidfd over an AF_UNIX socketpair and so fails ENOSYS on a
    // kernel without NET (7.2-tiny); inherited from us, the spawn stays on posix_spawn.
    if let Err(e) = std::env::set_current_dir("/tmp") {
        say(&out, &format!("@@URING-INIT-ERROR chdir /tmp: {e}@@"));
    }
    if cmdline_value(&cmdline, "uring.mutants").as_deref() == Some("1") {
        let mut args = vec![format!("--test-threads={threads}")];
        args.extend(extra.iter().cloned());
        mutants::run(&out, &cmdline, SUITE, &args, tmpdir);
        restart_now(&out);
    }
    let exec = cmdline_value(&cmdline, "uring.exec");
    if let Some(list) = &exec {
        run_exec::run_list(&out, list, tmpdir);
    }
    for mode in modes.split(',').filter(|m| !m.is_empty() && exec.is_none()) {
        let Some((_, mode_args)) = MODES.iter().find(|(m, _)| *m == mode) else {
            say(
                &out,
                &format!("@@URING-INIT-ERROR unknown suite mode {mode} (uring.modes)@@"),
            );
            continue;
        };
        let mut args = vec![
            format!("--report-json={}", report_path(mode)),
            format!("--test-threads={threads}"),
        ];
        args.extend(mode_args.iter().map(|a| a.to_string()));
        args.extend(extra.iter().cloned());
        if !out.has_channel() {
            out.wait_console_written(Duration::from_secs(30));
        }
        run_suite(&out, mode, &args, tmpdir);
    }
    match cmdline_value(&cmdline, "uring.gcov").as_deref() {
        None => {}
        Some("1") => send_gcov(&out),
        Some(v) => say(
            &out,
            &format!("@@URING-INIT-ERROR uring.gcov={v}: only uring.gcov=1 is known@@"),
        ),
    }
    power_off(&out);
}

/// `uring.gcov=1`: sends every `.gcda` file under [`GCOV_ROOT`] over the results channel
/// (only: they are bulk data, see [`uring_guest_init::gcov`]), then the done marker. The
/// counters are the boot's and every mode's runs together.
fn send_gcov(out: &Out) {
    if !std::path::Path::new(GCOV_ROOT).is_dir() {
        // Not mounted yet (fault_injection_knobs mounts it only with fault injection).
        if let Err(e) = do_mount("debugfs", "/sys/kernel/debug", "debugfs", "") {
            say(out, &format!("@@URING-INIT-ERROR gcov: {e}@@"));
        }
    }
    let mut files = Vec::new();
    if let Err(e) = find_gcda(std::path::Path::new(GCOV_ROOT), &mut files) {
        say(
            out,
            &format!("@@URING-INIT-ERROR gcov: {e} (no CONFIG_GCOV_KERNEL?)@@"),
        );
    }
    files.sort();
    let mut sent = 0;
    for file in &files {
        let path = file.strip_prefix(GCOV_ROOT).unwrap_or(file);
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                say(out, &format!("@@URING-INIT-ERROR gcov: read {file}: {e}@@"));
                continue;
            }
        };
        if !path_ok(path) {
            say(
                out,
                &format!("@@URING-INIT-ERROR gcov: cannot send {file:?}@@"),
            );
        } else if out.write_channel(&gcov_block(path, &data)) {
            sent += 1;
        } else {
            say(
                out,
                "@@URING-INIT-ERROR gcov: no results channel to send it over@@",
            );
            return;
        }
    }
    say(out, &done_marker(sent));
}

/// Every `*.gcda` path under `dir`, depth first (the gcov tree mirrors the build tree;
/// its `.gcno` entries are symlinks to the build host's files and are not followed).
fn find_gcda(dir: &std::path::Path, files: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        if kind.is_dir() {
            find_gcda(&path, files)?;
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "gcda") {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Runs the suite once with `args`, its output on the console, then prints its report
/// framed by the results markers of `mode`.
fn run_suite(out: &Arc<Out>, mode: &str, args: &[String], tmpdir: &str) {
    say(
        out,
        &format!("@@URING-SUITE-BEGIN mode={mode} args={}@@", args.join(" ")),
    );
    let report = report_path(mode);
    let child = Command::new(SUITE)
        .args(args)
        .env_clear()
        .env("PATH", "/")
        .env("HOME", "/tmp")
        .env("TMPDIR", tmpdir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            say(
                out,
                &format!("@@URING-INIT-ERROR cannot start {SUITE}: {e}@@"),
            );
            say_results(
                out,
                mode,
                Vec::new(),
                &format!("exit=127 {RESULTS_MISSING}"),
            );
            return;
        }
    };
    let pid = child.id() as c_int;
    let (tx, rx) = std::sync::mpsc::channel();
    pump(
        child.stdout.take().unwrap(),
        "suite| ",
        out.clone(),
        tx.clone(),
    );
    pump(child.stderr.take().unwrap(), "suite! ", out.clone(), tx);

    // As PID 1 we also reap whatever the suite leaves orphaned, until the suite itself ends.
    let status = loop {
        let mut st: c_int = 0;
        // SAFETY: waitpid with a valid pointer.
        let r = unsafe { waitpid(-1, &mut st, 0) };
        if r == pid {
            break st;
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(4) {
            break -1;
        }
    };
    // Let the output pumps drain (bounded: a leftover grandchild may hold the pipes).
    for _ in 0..2 {
        let _ = rx.recv_timeout(Duration::from_secs(5));
    }
    let end = if status == -1 {
        "exit=-1".to_string()
    } else if status & 0x7f == 0 {
        format!("exit={}", (status >> 8) & 0xff)
    } else {
        format!("signal={}", status & 0x7f)
    };
    match std::fs::read(&report) {
        Ok(bytes) => say_results(out, mode, bytes, &end),
        Err(_) => say_results(out, mode, Vec::new(), &format!("{end} {RESULTS_MISSING}")),
    }
}

/// Prints mode `mode`'s report framed by the results markers ([`results_block`]), in one
/// write so that no line of a pump (a leftover grandchild's output) lands inside.
fn say_results(out: &Out, mode: &str, report: Vec<u8>, end: &str) {
    out.write(results_block(mode, &report, end));
}
