//! Unit tests of the parts of uring-matrix that need no VM: the cpio writer, the JSON-lines
//! report reader, the console classifier, apt source parsing, manifest/lock, versions and tables.

use std::cmp::Ordering;

use uring_matrix::aptsrc::*;
use uring_matrix::classify::*;
use uring_matrix::cpio::*;
use uring_matrix::report::{self, Column, ModeColumn};
use uring_matrix::results::{Outcome, Results};
use uring_matrix::{
    cmdline_value, elf_is_static, kconfig_can_use_scratch, kconfig_enabled, parse_modes,
};

// ---- cpio --------------------------------------------------------------------------------

fn sample_archive() -> Vec<u8> {
    let mut w = CpioWriter::new();
    w.dir("dev", 0o755);
    w.dir("/tmp", 0o1777);
    w.char_dev("dev/console", 0o600, 5, 1);
    w.file("init", 0o755, b"#!hello\n");
    w.file("odd", 0o644, b"abcde"); // length not a multiple of 4
    w.symlink("sbin-init", "/init");
    w.finish()
}

#[test]
fn cpio_round_trip() {
    let a = sample_archive();
    assert_eq!(a.len() % 512, 0);
    assert_eq!(&a[..6], b"070701");
    let e = read_newc(&a).unwrap();
    let names: Vec<&str> = e.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        ["dev", "tmp", "dev/console", "init", "odd", "sbin-init"]
    );
    assert_eq!(e[1].mode, S_IFDIR | 0o1777);
    assert_eq!(e[2].mode, S_IFCHR | 0o600);
    assert_eq!(e[2].rdev, (5, 1));
    assert_eq!(e[3].data, b"#!hello\n");
    assert_eq!(e[3].mode, S_IFREG | 0o755);
    assert_eq!(e[4].data, b"abcde");
    assert_eq!(e[5].data, b"/init");
}

#[test]
fn cpio_header_bytes() {
    let mut w = CpioWriter::new();
    w.char_dev("dev/console", 0o600, 5, 1);
    let a = w.finish();
    let h = std::str::from_utf8(&a[..110]).unwrap();
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
    // rdevminor, namesize, check
    assert_eq!(&h[6..14], "00000001");
    assert_eq!(&h[14..22], "00002180"); // S_IFCHR | 0600
    assert_eq!(&h[22..38], "0000000000000000");
    assert_eq!(&h[38..46], "00000001");
    assert_eq!(&h[54..62], "00000000");
    assert_eq!(&h[78..86], "00000005");
    assert_eq!(&h[86..94], "00000001");
    assert_eq!(&h[94..102], "0000000c"); // "dev/console\0"
    assert_eq!(&a[110..122], b"dev/console\0");
    // 110 + 12 = 122 -> padded to 124, then the trailer header.
    assert_eq!(&a[122..124], b"\0\0");
    assert_eq!(&a[124..130], b"070701");
    assert!(std::str::from_utf8(&a[234..245])
        .unwrap()
        .starts_with("TRAILER!!!"));
}

#[test]
fn cpio_accepted_by_gnu_cpio() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("cpio")
        .args(["-t", "-v", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("cpio not installed: skipping the cross-check");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&sample_archive())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[2].starts_with("crw-------"), "{}", lines[2]);
    assert!(
        lines[2].contains("5,") && lines[2].ends_with("dev/console"),
        "{}",
        lines[2]
    );
    assert!(lines[1].starts_with("drwxrwxrwt"), "{}", lines[1]);
    assert!(lines[3].starts_with("-rwxr-xr-x") && lines[3].ends_with(" init"));
    assert!(lines[5].starts_with("lrwxrwxrwx") && lines[5].ends_with("sbin-init -> /init"));
}

#[test]
fn cpio_reader_rejects_garbage() {
    assert!(read_newc(b"not an archive at all, definitely not one, no, nope ....................................................................").is_err());
    let a = sample_archive();
    assert!(read_newc(&a[..200]).is_err());
}

// ---- the suite's report -----------------------------------------------------------------

const REPORT: &str = r#"{"type":"run","kernel":"6.12.95+deb12-cloud-amd64","version":"6.12.95","version_source":"uname -r 6.12.95+deb12-cloud-amd64","strict":false,"setup_features":"0xffff","sqe_ops":58,"register_opcodes":null}
{"type":"feature","name":"clone_buffers","present":true,"how":"CLONE_BUFFERS from an empty ring -> ENXIO","since":"6.12"}
{"type":"feature","name":"pbuf_ring","present":false,"how":"REGISTER_PBUF_RING -> EINVAL","since":"5.19","extra":{"x":[1]}}
{"type":"fact","name":"tmpfs","holds":true,"how":"statfs /tmp"}
{"type":"case","name":"register_buffers::nr_zero","interface":"register_buffers","outcome":"pass","reason":"","call":"io_uring_register(fd, REGISTER_BUFFERS, &iov, 0)","expected":"fails with EINVAL","actual":"fails with EINVAL","level":null,"level_seen":null,"ms":1.230}
{"type":"case","name":"register_buffers::too_many","interface":"register_buffers","outcome":"fail","reason":"expected EINVAL, got \"ENOMEM\"","call":"io_uring_register(fd, REGISTER_BUFFERS, &iov, 32768)","expected":"fails with EINVAL","actual":"fails with ENOMEM","level":null,"level_seen":"lacks","ms":0.500,"new_field":7}
this line got mangled by [    3.1] a kernel message
{"type":"case","name":"probe::ops","interface":"register_probe","outcome":"skip","reason":"needs register_probe (5.6)","call":null,"expected":null,"actual":null,"level":null,"level_seen":null,"ms":0.000}
{"type":"something_new","x":1}
{"type":"summary","pass":1,"fail":1,"skip":1,"broken":0,"timeout":0}
"#;

#[test]
fn results_parse_contract() {
    let r = Results::parse(REPORT);
    let run = r.run.clone().unwrap();
    assert_eq!(run.kernel, "6.12.95+deb12-cloud-amd64");
    assert_eq!(
        (run.version.as_deref(), run.strict),
        (Some("6.12.95"), false)
    );
    assert_eq!(r.features.len(), 2);
    assert_eq!(r.features[0].name, "clone_buffers");
    assert!(r.features[0].present);
    assert_eq!(r.features[0].since, "6.12");
    assert!(!r.features[1].present);
    assert_eq!(r.cases.len(), 3);
    assert_eq!(r.cases[0].ms, 1.23);
    assert_eq!(r.cases[1].outcome, Outcome::Fail);
    assert_eq!(r.cases[1].reason, "expected EINVAL, got \"ENOMEM\"");
    assert_eq!(r.cases[1].level_seen.as_deref(), Some("lacks"));
    assert_eq!(r.cases[2].call, None);
    assert_eq!(r.bad_lines.len(), 1);
    let s = r.summary.unwrap();
    assert_eq!(
        (s.pass, s.fail, s.skip, s.broken, s.timeout),
        (1, 1, 1, 0, 0)
    );
    assert_eq!(r.counted(), s);
    let failing: Vec<&str> = r.failing_cases().map(|c| c.name.as_str()).collect();
    assert_eq!(failing, ["register_buffers::too_many"]);
}

/// A report the suite wrote (the committed 6.18 baseline) reads whole: every line a
/// record, the counted outcomes the summary's.
#[test]
fn a_suite_report_reads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/baselines/6.18.jsonl"
    );
    let r = Results::parse(&std::fs::read_to_string(path).unwrap());
    assert!(r.bad_lines.is_empty(), "{:?}", r.bad_lines);
    assert!(r
        .run
        .as_ref()
        .is_some_and(|run| run.kernel.starts_with("6.18")));
    assert!(!r.features.is_empty() && !r.cases.is_empty());
    assert_eq!(Some(r.counted()), r.summary);
}

// ---- console classifier ------------------------------------------------------------------

fn framed(results: &str, end: &str) -> String {
    format!(
        "[    0.000000] Linux version 6.1.0\r\n\
         [    1.397193] mtrr: your CPUs had inconsistent MTRRdefType settings\r\n\
         [    0.512345] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!\r\n\
         \r\n\
         @@URING-INIT kernel=6.1.0-56-cloud-amd64 cpus=2@@\r\n\
         @@URING-SUITE-BEGIN args=--report-json=/results.jsonl --test-threads=2@@\r\n\
         suite| running 3 tests\r\n\
         suite| test register_buffers::nr_zero ... ok\r\n\
         suite! some stderr WARNING: not the kernel's BUG: at all\r\n\
         @@URING-RESULTS-BEGIN@@\r\n{results}@@URING-RESULTS-END {end}@@\r\n\
         @@URING-POWEROFF@@\r\n[    4.1] reboot: Restarting system\r\n"
    )
}

const OK_RESULTS: &str = "{\"type\":\"run\",\"kernel\":\"6.1.0\",\"strict\":false}\n\
{\"type\":\"case\",\"name\":\"a::b\",\"interface\":\"a\",\"outcome\":\"pass\",\"reason\":\"\",\"call\":\"c\",\"expected\":\"returns 0\",\"actual\":\"returns 0\",\"level\":null,\"level_seen\":null,\"ms\":1.000}\n\
{\"type\":\"summary\",\"pass\":1,\"fail\":0,\"skip\":0,\"broken\":0,\"timeout\":0}\n";

fn flags_of(console: &str, end: VmEnd) -> (BootReport, Vec<Flag>) {
    let r = classify(console, end);
    let res = r.results_text.as_deref().map(Results::parse);
    let f = r.flags(res.as_ref());
    (r, f)
}

#[test]
fn classify_clean_run() {
    let (r, f) = flags_of(&framed(OK_RESULTS, "exit=0"), VmEnd::Exited(Some(0)));
    assert!(r.reached_init && r.suite_started && r.results_complete && r.powered_off);
    assert_eq!(r.kernel_release.as_deref(), Some("6.1.0-56-cloud-amd64"));
    assert_eq!(r.suite_exit, Some(SuiteExit::Code(0)));
    assert!(r.problems.is_empty(), "{:?}", r.problems); // RETBleed and suite text are not kernel problems
    assert_eq!(f, vec![]);
    assert_eq!(
        Results::parse(r.results_text.as_deref().unwrap())
            .cases
            .len(),
        1
    );
}

#[test]
fn classify_cases_failed() {
    let res = OK_RESULTS.replace("\"pass\",\"reason\"", "\"fail\",\"reason\"");
    let (_, f) = flags_of(&framed(&res, "exit=101"), VmEnd::Exited(Some(0)));
    assert_eq!(f, vec![Flag::CasesFailed(1)]);
}

#[test]
fn classify_suite_crash() {
    let (r, f) = flags_of(&framed("", "signal=11"), VmEnd::Exited(Some(0)));
    assert_eq!(r.suite_exit, Some(SuiteExit::Signal(11)));
    assert_eq!(f, vec![Flag::SuiteCrashed(11)]);
}

#[test]
fn classify_missing_results() {
    let (r, f) = flags_of(&framed("", "exit=127 missing"), VmEnd::Exited(Some(0)));
    assert!(r.results_missing);
    assert_eq!(f, vec![Flag::NoResults]);
    // Nonzero exit with no failing case record is not "clean" either.
    let no_case = OK_RESULTS;
    let (_, f) = flags_of(&framed(no_case, "exit=1"), VmEnd::Exited(Some(0)));
    assert_eq!(f, vec![Flag::NoResults]);
}

#[test]
fn classify_leak_found_by_the_suite() {
    let leak = "suite! leak check: the run left something behind: fd 9 -> pipe:[12]";
    let console = framed(OK_RESULTS, "exit=3").replace(
        "@@URING-RESULTS-BEGIN@@",
        &format!("{leak}\r\n@@URING-RESULTS-BEGIN@@"),
    );
    let (_, f) = flags_of(&console, VmEnd::Exited(Some(0)));
    assert_eq!(
        f,
        vec![Flag::Leaked(
            "leak check: the run left something behind: fd 9 -> pipe:[12]".into()
        )]
    );
    // Exit 3 without the leak line: the suite said something is wrong, nothing says what.
    let (_, f) = flags_of(&framed(OK_RESULTS, "exit=3"), VmEnd::Exited(Some(0)));
    assert_eq!(f, vec![Flag::NoResults]);
}

#[test]
fn classify_kernel_warning_during_suite() {
    let log = "[    0.1] Linux version 6.12\n\
        @@URING-INIT kernel=6.12.95 cpus=2@@\n\
        @@URING-SUITE-BEGIN args=x@@\n\
        suite| test register_buffers::nr_zero ... ok\n\
        [   12.345678] ------------[ cut here ]------------\n\
        [   12.345679] WARNING: CPU: 1 PID: 77 at io_uring/rsrc.c:123 io_sqe_buffers_register+0x1/0x2\n\
        [   12.345680] Modules linked in:\n\
        [   12.345681] RIP: 0010:io_sqe_buffers_register+0x1/0x2\n\
        [   12.345682] Call Trace:\n\
        suite| test register_buffers::too_many ... ok\n\
        [   12.345690] WARNING: CPU: 1 PID: 77 at io_uring/rsrc.c:123 io_sqe_buffers_register+0x1/0x2\n\
        @@URING-RESULTS-BEGIN@@\n";
    let full = format!("{log}{OK_RESULTS}@@URING-RESULTS-END exit=0@@\n@@URING-POWEROFF@@\n");
    let (r, f) = flags_of(&full, VmEnd::Exited(Some(0)));
    assert_eq!(r.problems.len(), 1, "repeats are folded: {:?}", r.problems);
    let p = &r.problems[0];
    assert_eq!(p.kind, ProblemKind::Warning);
    assert!(p
        .line
        .starts_with("WARNING: CPU: 1 PID: 77 at io_uring/rsrc.c:123"));
    assert_eq!(
        p.after_suite_line.as_deref(),
        Some("test register_buffers::nr_zero ... ok")
    );
    assert!(p.during_suite);
    assert_eq!(p.context[1], "RIP: 0010:io_sqe_buffers_register+0x1/0x2");
    assert_eq!(f, vec![Flag::Kernel(ProblemKind::Warning)]);
}

#[test]
fn classify_panic() {
    let log = "[    0.1] Linux version 5.10\n\
        @@URING-INIT kernel=5.10.0 cpus=1@@\n\
        @@URING-SUITE-BEGIN args=x@@\n\
        suite| test a::b ... ok\n\
        [    5.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008\n\
        [    5.000002] Oops: 0000 [#1] SMP NOPTI\n\
        [    5.000003] Kernel panic - not syncing: Fatal exception\n";
    let (r, f) = flags_of(log, VmEnd::Exited(Some(0)));
    assert_eq!(r.problems.len(), 3);
    assert!(!r.results_complete);
    // Panic first, then the oops; the missing results are implied by the panic.
    assert_eq!(f[0], Flag::Kernel(ProblemKind::Panic));
    assert_eq!(f[1], Flag::Kernel(ProblemKind::Oops));
    assert!(!f.contains(&Flag::NoResults), "{f:?}");
    // Without a panic message, a VM that vanished mid-suite is still not clean.
    let cut = "@@URING-INIT kernel=x cpus=2@@\n@@URING-SUITE-BEGIN args=@@\nsuite| test a ... \n";
    let (_, f) = flags_of(cut, VmEnd::Exited(Some(0)));
    assert_eq!(f, vec![Flag::NoResults]);
}

#[test]
fn classify_panic_before_init() {
    let log = "[    0.1] Linux version 7.3\n\
        [    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n";
    let (r, f) = flags_of(log, VmEnd::Exited(Some(0)));
    assert!(!r.reached_init && !r.reached_suite());
    assert_eq!(f, vec![Flag::Kernel(ProblemKind::Panic), Flag::NoInit]);
    assert!(!r.problems[0].during_suite && r.problems[0].after_suite_line.is_none());
}

#[test]
fn classify_never_reached_init() {
    let (r, f) = flags_of("", VmEnd::Exited(Some(1)));
    assert_eq!(r.qemu_status, Some(1));
    assert_eq!(f, vec![Flag::NoInit]);
    assert!(!r.reached_suite());
    let (_, f) = flags_of("[    0.1] Linux version 7.3\n", VmEnd::TimedOut);
    assert_eq!(f, vec![Flag::Timeout("before init")]);
}

#[test]
fn classify_timeouts() {
    let started =
        "@@URING-INIT kernel=x cpus=2@@\n@@URING-SUITE-BEGIN args=@@\nsuite| test a ... \n";
    let (r, f) = flags_of(started, VmEnd::TimedOut);
    assert!(r.timed_out && r.reached_suite());
    assert_eq!(f, vec![Flag::Timeout("suite running")]);
    let (_, f) = flags_of("@@URING-INIT kernel=x cpus=2@@\n", VmEnd::TimedOut);
    assert_eq!(f, vec![Flag::Timeout("before the suite")]);
    let (_, f) = flags_of(
        &framed(OK_RESULTS, "exit=0").replace("@@URING-POWEROFF@@", ""),
        VmEnd::TimedOut,
    );
    assert_eq!(f, vec![Flag::Timeout("after the suite")]);
}

#[test]
fn classify_interleaved_kernel_line() {
    // Serial output can splice a kernel line into a suite line.
    let log = "@@URING-INIT kernel=x cpus=2@@\n@@URING-SUITE-BEGIN args=@@\n\
        suite| test a::b ...[   9.1] BUG: unable to handle page fault for address: ffff\n";
    let (r, f) = flags_of(log, VmEnd::TimedOut);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(
        r.problems[0].line,
        "BUG: unable to handle page fault for address: ffff"
    );
    assert_eq!(f[0], Flag::Kernel(ProblemKind::Oops));
}

#[test]
fn classify_stalls_and_smoke() {
    assert_eq!(
        problem_kind("rcu: INFO: rcu_preempt self-detected stall on CPU"),
        Some(ProblemKind::Warning)
    );
    assert_eq!(
        problem_kind("watchdog: BUG: soft lockup - CPU#0 stuck for 22s!"),
        Some(ProblemKind::Oops)
    );
    assert_eq!(
        problem_kind("INFO: task kworker:1 blocked for more than 120 seconds."),
        Some(ProblemKind::Warning)
    );
    assert_eq!(
        problem_kind("traps: PANIC: double fault, error_code: 0x0"),
        Some(ProblemKind::Oops)
    );
    assert_eq!(
        problem_kind("RETBleed: WARNING: Spectre v2 mitigation"),
        None
    );
    assert_eq!(problem_kind("io_uring: something informative"), None);
    let r = classify(
        "@@URING-INIT kernel=x cpus=1@@\n@@URING-SMOKE-OK@@\n@@URING-POWEROFF@@\n",
        VmEnd::Exited(Some(0)),
    );
    assert!(r.smoke_ok && r.powered_off && !r.suite_started);
}

// ---- apt sources, manifest, lock, versions -----------------------------------------------

const DEB822: &str = "Types: deb\n\
# http://snapshot.example/archive/debian/20250520T000000Z\n\
URIs: http://mirror.example/debian\n\
Suites: bookworm bookworm-updates\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
\n\
Types: deb\n\
URIs: http://mirror.example/debian-security/\n\
Suites: bookworm-security\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

#[test]
fn apt_deb822_uris() {
    let e = parse_deb822(DEB822);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].uris, ["http://mirror.example/debian"]);
    assert_eq!(e[0].suites, ["bookworm", "bookworm-updates"]);
    assert_eq!(e[1].suites, ["bookworm-security"]);
    let m = pick_mirrors(&e).unwrap();
    assert_eq!(m.archive, "http://mirror.example/debian");
    assert_eq!(m.security, "http://mirror.example/debian-security");
}

#[test]
fn apt_deb822_disabled_and_src() {
    let t = "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n\
             Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n\
             Types: deb\nURIs: https://on.example/debian\nSuites: bookworm\n";
    let m = pick_mirrors(&parse_deb822(t)).unwrap();
    assert_eq!(m.archive, "https://on.example/debian");
    // No security entry: derived the way Debian lays it out.
    assert_eq!(m.security, "https://on.example/debian-security");
}

#[test]
fn apt_one_line_sources() {
    let t = "# comment\n\
        deb [arch=amd64 signed-by=/x.gpg] http://one.example/debian bookworm main contrib\n\
        deb-src http://one.example/debian bookworm main\n\
        deb http://sec.example/debian-security bookworm-security main # trailing\n";
    let e = parse_one_line(t);
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].uris, ["http://one.example/debian"]);
    assert_eq!(e[0].components, ["main", "contrib"]);
    let m = pick_mirrors(&e).unwrap();
    assert_eq!(m.archive, "http://one.example/debian");
    assert_eq!(m.security, "http://sec.example/debian-security");
    assert_eq!(pick_mirrors(&parse_one_line("# nothing\n")), None);
}

#[test]
fn manifest_parsing() {
    let m = parse_manifest(
        "# c\n5.10 bullseye linux-image-5.10.*-cloud-amd64-unsigned\n\n\
         6.1 bookworm,bookworm-security linux-image-6.1.*  # trailing\n",
    )
    .unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].suites, ["bookworm", "bookworm-security"]);
    assert_eq!(m[1].package, "linux-image-6.1.*");
    assert!(parse_manifest("a b\n").is_err());
    assert!(parse_manifest("a/b s p\n").is_err());
    assert!(parse_manifest("a s p\na s q\n").is_err());
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/kernels.manifest"
    ))
    .unwrap();
    let shipped = parse_manifest(&shipped).unwrap();
    assert_eq!(
        shipped
            .iter()
            .filter(|e| e.build_config().is_none())
            .count(),
        6
    );
    let built: Vec<(&str, &str)> = shipped
        .iter()
        .filter_map(|e| Some((e.build_config()?, e.source_version()?)))
        .collect();
    assert_eq!(
        built,
        [("tiny", "7.2"), ("minimal", "7.2"), ("faultinject", "7.2")]
    );
    // Every build: entry names a fragment that exists.
    for (config, _) in built {
        let f = format!(
            "{}/../../fixtures/kernel-configs/{config}.config",
            env!("CARGO_MANIFEST_DIR")
        );
        assert!(std::path::Path::new(&f).is_file(), "{f}");
    }
}

#[test]
fn manifest_build_entries() {
    let m = parse_manifest(
        "7.2-tiny build:tiny linux-source-7.2\n\
         7.2 sid linux-binary-unsigned-7.2*-cloud-amd64\n\
         x build:fault_inject-2 linux-source-10.11\n",
    )
    .unwrap();
    assert_eq!(m[0].build_config(), Some("tiny"));
    assert_eq!(m[0].source_version(), Some("7.2"));
    assert_eq!(m[0].suites, ["build:tiny"]);
    assert_eq!(m[1].build_config(), None);
    assert_eq!(m[1].source_version(), None);
    assert_eq!(m[2].build_config(), Some("fault_inject-2"));
    assert_eq!(m[2].source_version(), Some("10.11"));
    for bad in [
        "a build: linux-source-7.2\n",         // no config name
        "a build:Tiny linux-source-7.2\n",     // upper case
        "a build:-x linux-source-7.2\n",       // leading dash
        "a build:../x linux-source-7.2\n",     // a path
        "a build:tiny,sid linux-source-7.2\n", // mixed with a suite
        "a sid,build:tiny linux-source-7.2\n", // mixed with a suite
        "a build:tiny linux-image-7.2\n",      // not a source package
        "a build:tiny linux-source-7\n",       // not X.Y
        "a build:tiny linux-source-7.2.13\n",  // not X.Y
        "a build:tiny linux-source-7.x\n",     // not digits
    ] {
        assert!(parse_manifest(bad).is_err(), "{bad}");
    }
}

#[test]
fn config_names() {
    for ok in ["tiny", "minimal", "faultinject", "a", "7", "fault-inject_2"] {
        assert!(valid_config_name(ok), "{ok}");
    }
    for bad in ["", "Tiny", "-x", "_x", "a/b", "a.config", "a b", "..", "ä"] {
        assert!(!valid_config_name(bad), "{bad}");
    }
}

#[test]
fn suite_modes() {
    assert_eq!(
        parse_modes("default,strict").unwrap(),
        ["default", "strict"]
    );
    assert_eq!(parse_modes(" strict ").unwrap(), ["strict"]);
    assert_eq!(
        parse_modes("strict,,default").unwrap(),
        ["strict", "default"]
    );
    assert!(parse_modes("").is_err());
    assert!(parse_modes(",").is_err());
    assert!(parse_modes("default,default").is_err());
    assert!(parse_modes("lenient").is_err());
}

#[test]
fn kconfig_checks() {
    let minimal = "CONFIG_BLOCK=y\nCONFIG_PCI=y\nCONFIG_BLK_DEV_NVME=y\nCONFIG_EXT4_FS=y\n\
                   CONFIG_FAULT_INJECTION=y\n# CONFIG_NET is not set\n";
    assert!(kconfig_enabled(minimal, "CONFIG_BLOCK"));
    assert!(kconfig_enabled(minimal, "CONFIG_FAULT_INJECTION"));
    assert!(!kconfig_enabled(minimal, "CONFIG_NET"));
    assert!(!kconfig_enabled(minimal, "CONFIG_FAULT")); // a prefix is not the option
    assert!(kconfig_can_use_scratch(minimal));
    assert!(!kconfig_can_use_scratch(
        &minimal.replace("NVME=y", "NVME=m")
    ));
    let tiny = "# CONFIG_BLOCK is not set\n# CONFIG_PCI is not set\nCONFIG_IO_URING=y\n";
    assert!(!kconfig_can_use_scratch(tiny));
    assert!(!kconfig_can_use_scratch(""));
}

#[test]
fn lock_round_trip() {
    let l = vec![LockEntry {
        name: "7.2".into(),
        package: "linux-binary-unsigned-7.2.13+deb14-cloud-amd64".into(),
        version: "7.2.13-1".into(),
        sha256: "ab".repeat(32),
    }];
    assert_eq!(parse_lock(&format_lock(&l)), l);
}

#[test]
fn package_globs() {
    assert!(glob_match(
        "linux-image-5.10.*-cloud-amd64-unsigned",
        "linux-image-5.10.0-32-cloud-amd64-unsigned"
    ));
    assert!(!glob_match(
        "linux-image-5.10.*-cloud-amd64-unsigned",
        "linux-image-5.10.0-32-cloud-amd64-unsigned-dbg"
    ));
    assert!(!glob_match(
        "linux-image-6.1.*-cloud-amd64-unsigned",
        "linux-image-6.12.95+deb12-cloud-amd64-unsigned"
    ));
    assert!(glob_match(
        "linux-binary-unsigned-7.2*-cloud-amd64",
        "linux-binary-unsigned-7.2.13+deb14-cloud-amd64"
    ));
    assert!(!glob_match(
        "linux-binary-unsigned-7.3*-cloud-amd64",
        "linux-binary-unsigned-7.2.13+deb14-cloud-amd64"
    ));
    assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    assert!(
        glob_match("a*b*c", "abc") && glob_match("a*b*c", "a-b-b-c") && !glob_match("a*b*c", "ac")
    );
    assert!(!glob_match("ab*ba", "aba"));
}

#[test]
fn debian_versions() {
    use Ordering::*;
    for (a, b, o) in [
        ("5.10.223-1", "5.10.218-1", Greater),
        ("6.1.192-2", "6.1.192-1", Greater),
        ("7.3~rc7-1~exp1", "7.3-1", Less),
        ("7.3~rc7-1~exp1", "7.2.13-1", Greater),
        ("1.0~rc1", "1.0", Less),
        ("1:0.1", "2.0", Greater),
        ("1.0", "1.0", Equal),
        ("1.0-1", "1.0", Greater),
        ("1.0a", "1.0", Greater),
        ("1.0+deb12u1", "1.0", Greater),
        ("2023.3+deb12u2", "2025.1", Less),
        ("1.001", "1.1", Equal),
    ] {
        assert_eq!(compare_debian_versions(a, b), o, "{a} vs {b}");
        assert_eq!(compare_debian_versions(b, a), o.reverse(), "{b} vs {a}");
    }
}

#[test]
fn apt_cache_stanzas() {
    let s = parse_stanzas(
        "Package: a\nVersion: 1.0-1\nDescription: x\n more\nSHA256: abc\n\nPackage: b\n",
    );
    assert_eq!(s.len(), 2);
    assert_eq!(stanza_field(&s[0], "version"), Some("1.0-1"));
    assert_eq!(stanza_field(&s[0], "SHA256"), Some("abc"));
}

// ---- misc -------------------------------------------------------------------------------

#[test]
fn kernel_cmdline_values() {
    let c = "console=ttyS0 panic=-1 uring.threads=2 uring.args=\"--strict --filter a::b\" xuring.smoke=1\n";
    assert_eq!(cmdline_value(c, "uring.threads").as_deref(), Some("2"));
    assert_eq!(
        cmdline_value(c, "uring.args").as_deref(),
        Some("--strict --filter a::b")
    );
    assert_eq!(cmdline_value(c, "uring.smoke"), None);
    assert_eq!(cmdline_value(c, "panic").as_deref(), Some("-1"));
}

#[test]
fn elf_static_check() {
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    // The test binary is a normal dynamically linked executable.
    assert_eq!(elf_is_static(&me), Ok(false));
    assert!(elf_is_static(b"#!/bin/sh\n").is_err());
    let mut fake = vec![0u8; 64];
    fake[..4].copy_from_slice(b"\x7fELF");
    fake[4] = 2;
    fake[5] = 1;
    assert_eq!(elf_is_static(&fake), Ok(true)); // no program headers, so no interpreter
}

fn one_mode<'a>(flags: &'a [Flag], results: Option<&'a Results>) -> Vec<ModeColumn<'a>> {
    vec![ModeColumn {
        mode: "default",
        flags,
        results,
    }]
}

#[test]
fn tables() {
    let ok = Results::parse(REPORT);
    let flags_a = vec![];
    let flags_b = vec![Flag::Kernel(ProblemKind::Warning), Flag::CasesFailed(1)];
    let cols = [
        Column {
            name: "6.1",
            release: Some("6.1.0-56"),
            modes: one_mode(&flags_a, Some(&ok)),
        },
        Column {
            name: "7.3-rc",
            release: None,
            modes: one_mode(&flags_b, None),
        },
    ];
    let t = report::case_table(&cols, false);
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("case") && lines[0].ends_with("7.3-rc"));
    assert!(
        lines[2].starts_with("(boot)")
            && lines[2].contains("ok")
            && lines[2].ends_with("WARN+FAIL(1)")
    );
    assert!(t.contains("register_buffers::too_many") && t.contains("FAIL"));
    let md = report::feature_table(&cols, true);
    assert!(md.starts_with("| feature"), "{md}");
    assert!(md.lines().nth(2).unwrap().contains("| clone_buffers"));
    assert!(md.contains("| yes") && md.contains("| no"));
}

#[test]
fn combined_cells() {
    let v = |x: &[Option<&str>]| -> Vec<Option<String>> {
        x.iter().map(|o| o.map(str::to_string)).collect()
    };
    assert_eq!(
        report::combine_cells(&v(&[Some("pass"), Some("pass")])),
        "pass"
    );
    assert_eq!(report::combine_cells(&v(&[None, Some("pass")])), "pass");
    assert_eq!(
        report::combine_cells(&v(&[Some("skip"), Some("FAIL")])),
        "skip/FAIL"
    );
    assert_eq!(
        report::combine_cells(&v(&[Some("skip"), None, Some("FAIL")])),
        "skip/-/FAIL"
    );
    assert_eq!(report::combine_cells(&v(&[None, None])), "-");
    assert_eq!(report::combine_cells(&v(&[])), "-");
}

/// A boot that ran the suite twice: default (clean) and strict (one failing case).
fn two_mode_console(strict_results: &str, strict_end: &str) -> String {
    format!(
        "[    0.000000] Linux version 7.2.13\r\n\
         @@URING-INIT kernel=7.2.13 cpus=1 tmpdir=/tmp fail_nth=yes@@\r\n\
         @@URING-SUITE-BEGIN mode=default args=--report-json=/results-default.jsonl@@\r\n\
         suite| test a::b ... ok\r\n\
         @@URING-RESULTS-BEGIN mode=default@@\r\n{OK_RESULTS}@@URING-RESULTS-END mode=default exit=0@@\r\n\
         @@URING-SUITE-BEGIN mode=strict args=--report-json=/results-strict.jsonl --strict@@\r\n\
         suite| test a::b ... FAILED\r\n\
         suite! leak check: the run left fd 3 open\r\n\
         @@URING-RESULTS-BEGIN mode=strict@@\r\n{strict_results}@@URING-RESULTS-END mode=strict {strict_end}@@\r\n\
         @@URING-POWEROFF@@\r\n"
    )
}

#[test]
fn classify_two_modes() {
    let failing = OK_RESULTS
        .replace("\"strict\":false", "\"strict\":true")
        .replace("\"outcome\":\"pass\"", "\"outcome\":\"fail\"")
        .replace("\"pass\":1,\"fail\":0", "\"pass\":0,\"fail\":1");
    let console = two_mode_console(&failing, "exit=1");
    let end = VmEnd::Exited(Some(0));
    let d = classify_mode(&console, end, "default");
    let st = classify_mode(&console, end, "strict");
    assert_eq!(d, classify(&console, end)); // default is the mode without a name too
    assert_eq!(d.fail_nth, Some(true));
    for r in [&d, &st] {
        assert!(r.reached_init && r.suite_started && r.results_complete && r.powered_off);
    }
    assert_eq!(d.suite_exit, Some(SuiteExit::Code(0)));
    assert_eq!(st.suite_exit, Some(SuiteExit::Code(1)));
    let dr = Results::parse(d.results_text.as_deref().unwrap());
    let sr = Results::parse(st.results_text.as_deref().unwrap());
    let strict = |r: &Results| r.run.as_ref().map(|r| r.strict);
    assert_eq!((strict(&dr), strict(&sr)), (Some(false), Some(true)));
    assert_eq!(d.flags(Some(&dr)), vec![]);
    assert_eq!(st.flags(Some(&sr)), vec![Flag::CasesFailed(1)]);
    // A mode that never ran: not started, no results.
    let none = classify_mode(&console, end, "other");
    assert!(!none.suite_started && !none.results_complete && none.results_text.is_none());
    // The old single-run framing is the default mode's.
    let (r, _) = flags_of(&framed(OK_RESULTS, "exit=0"), end);
    assert!(r.results_complete && r.fail_nth.is_none());

    let flags_a: Vec<Flag> = vec![];
    let flags_b = vec![Flag::CasesFailed(1)];
    let cols = [Column {
        name: "7.2-tiny",
        release: Some("7.2.13"),
        modes: vec![
            ModeColumn {
                mode: "default",
                flags: &flags_a,
                results: Some(&dr),
            },
            ModeColumn {
                mode: "strict",
                flags: &flags_b,
                results: Some(&sr),
            },
        ],
    }];
    let t = report::case_table(&cols, false);
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("case [default/strict]"), "{t}");
    assert!(
        lines[2].starts_with("(boot)") && lines[2].ends_with("ok/FAIL(1)"),
        "{t}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("a::b") && l.ends_with("pass/FAIL")),
        "{t}"
    );
}

/// ci/build-kernel.sh: bad arguments exit 2 with a message, before touching any cache.
#[test]
fn build_kernel_arguments() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../build-kernel.sh");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(script)
            .args(args)
            .env("URING_CACHE", "/nonexistent/never-created")
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    for (args, says) in [
        (
            &["--config", "nope"][..],
            "no fragment fixtures/kernel-configs/nope.config",
        ),
        (&["--config", "Tiny"][..], "--config wants a name"),
        (&["--config", "../minimal"][..], "--config wants a name"),
        (&["--config"][..], "--config needs a name"),
        (&["--version", "7"][..], "--version wants X.Y"),
        (&["--jobs", "0"][..], "--jobs wants a positive number"),
        (&["--bogus"][..], "unknown argument --bogus"),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, out, _) = run(&["--list"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["faultinject", "minimal", "tiny"]
    );
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("--config NAME"), "{out}");
}
