//! The console classifier: what a boot's serial log says happened.

use uring_matrix::classify::*;
use uring_matrix::report::{self, Column, ModeColumn};
use uring_matrix::results::Results;
use uring_matrix::results_block;

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
    let res = r.results_text.as_deref().map(Results::salvage);
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
        Results::salvage(r.results_text.as_deref().unwrap())
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
    let dr = Results::salvage(d.results_text.as_deref().unwrap());
    let sr = Results::salvage(st.results_text.as_deref().unwrap());
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

// ---- the results channel -----------------------------------------------------------------

/// What guest-init writes to the results channel for one boot with both modes clean: its
/// own lines only (no kernel messages, no `\r`), each report framed with its length by
/// guest-init's own [`results_block`].
fn channel_text() -> String {
    let block = |mode: &str, report: &str| {
        let framed = results_block(mode, report.as_bytes(), "exit=0");
        format!(
            "@@URING-SUITE-BEGIN mode={mode} args=--report-json=/results-{mode}.jsonl@@\n\
             suite| test a::b ... ok\n{}",
            String::from_utf8(framed).unwrap()
        )
    };
    format!(
        "\n@@URING-INIT kernel=7.2.13+deb14-rt-amd64 cpus=1 tmpdir=/tmp scratch=unsupported \
         fail_nth=no lo=up channel=debugcon@@\n{}{}@@URING-POWEROFF@@\n",
        block("default", OK_RESULTS),
        block("strict", &strict_ok()),
    )
}

fn strict_ok() -> String {
    OK_RESULTS.replace("\"strict\":false", "\"strict\":true")
}

/// The console of the PREEMPT_RT boot under TCG: the kernel disabled the 8250's IRQ, and the
/// output stops in the middle of the strict report (the power-off cut what was buffered).
fn console_cut_in_strict_report() -> String {
    let cut = &strict_ok()[..40];
    format!(
        "[    0.000000] Linux version 7.2.13+deb14-rt-amd64\r\n\
         @@URING-INIT kernel=7.2.13+deb14-rt-amd64 cpus=1 tmpdir=/tmp scratch=unsupported fail_nth=no lo=up channel=debugcon@@\r\n\
         @@URING-SUITE-BEGIN mode=default args=--report-json=/results-default.jsonl@@\r\n\
         [    9.100000] irq 4: nobody cared (try booting with the \"irqpoll\" option)\r\n\
         [    9.100100] Disabling IRQ #4\r\n\
         suite| test a::b ... ok\r\n\
         @@URING-RESULTS-BEGIN mode=default bytes={}@@\r\n{OK_RESULTS}@@URING-RESULTS-END mode=default exit=0@@\r\n\
         @@URING-SUITE-BEGIN mode=strict args=--report-json=/results-strict.jsonl --strict@@\r\n\
         suite| test a::b ... ok\r\n\
         @@URING-RESULTS-BEGIN mode=strict bytes={}@@\r\n{cut}",
        OK_RESULTS.len(),
        strict_ok().len(),
    )
}

#[test]
fn channel_gives_the_report_the_console_lost() {
    let console = console_cut_in_strict_report();
    let channel = channel_text();
    let end = VmEnd::Exited(Some(0));
    // The console alone: the strict report is cut, the boot would be flagged.
    let st = classify_mode(&console, end, "strict");
    assert!(st.suite_started && !st.results_complete);
    assert_eq!(st.flags(None), vec![Flag::NoResults]);
    // With the channel: both reports whole, read from the channel, the boot clean.
    for mode in ["default", "strict"] {
        let r = classify_boot(&console, &channel, end, mode);
        assert_eq!(r.source, Source::Channel, "{mode}");
        assert!(
            r.results_complete && !r.results_cut && r.powered_off,
            "{mode}"
        );
        assert_eq!(r.suite_exit, Some(SuiteExit::Code(0)));
        assert_eq!(r.channel.as_deref(), Some("debugcon"));
        assert_eq!(r.scratch.as_deref(), Some("unsupported"));
        let res = Results::salvage(r.results_text.as_deref().unwrap());
        assert_eq!((res.cases.len(), res.bad_lines.len()), (1, 0), "{mode}");
        assert_eq!(res.run.map(|r| r.strict), Some(mode == "strict"));
        assert_eq!(
            r.flags(Some(&Results::salvage(r.results_text.as_deref().unwrap()))),
            vec![]
        );
    }
}

#[test]
fn channel_kernel_problems_come_from_the_console() {
    let console = console_cut_in_strict_report().replace(
        "suite| test a::b ... ok\r\n@@URING-RESULTS-BEGIN mode=default",
        "suite| test a::b ... ok\r\n[    9.2] WARNING: CPU: 0 PID: 77 at io_uring/kbuf.c:12 io_x+0x1/0x2\r\n\
         @@URING-RESULTS-BEGIN mode=default",
    );
    let channel = channel_text();
    let r = classify_boot(&console, &channel, VmEnd::Exited(Some(0)), "default");
    assert_eq!(r.source, Source::Channel);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].line.starts_with("WARNING: CPU: 0"));
    let res = Results::salvage(r.results_text.as_deref().unwrap());
    assert_eq!(
        r.flags(Some(&res)),
        vec![Flag::Kernel(ProblemKind::Warning)]
    );
}

#[test]
fn channel_cut_report_is_cut() {
    let end = VmEnd::Exited(Some(0));
    // The VM went away while the strict report was being written: no end marker.
    let whole = channel_text();
    let at = whole.find("\"type\":\"summary\",\"pass\":1,\"fail\":0,\"skip\":0,\"broken\":0,\"timeout\":0}\n@@URING-RESULTS-END mode=strict").unwrap();
    let console = console_cut_in_strict_report();
    let r = classify_boot(&console, &whole[..at], end, "strict");
    assert_eq!(r.source, Source::Channel);
    assert!(r.suite_started && !r.results_complete);
    assert_eq!(r.flags(None), vec![Flag::NoResults]);
    // A report shorter than its marker says (a line lost), end marker present: cut too.
    let short = whole.replace(
        "{\"type\":\"run\",\"kernel\":\"6.1.0\",\"strict\":true}\n",
        "",
    );
    let r = classify_boot(&console, &short, end, "strict");
    assert!(r.results_cut && !r.results_complete);
    assert_eq!(r.flags(None), vec![Flag::NoResults]);
    // The default report in the same channel is whole.
    let d = classify_boot(&console, &short, end, "default");
    assert!(d.results_complete && !d.results_cut && d.source == Source::Channel);
}

#[test]
fn channel_absent_falls_back_to_the_console() {
    let end = VmEnd::Exited(Some(0));
    let console = two_mode_console(&strict_ok(), "exit=0");
    // No channel file content (a kernel without ioperm, another architecture): the console.
    for channel in ["", "garbage without the init line\n"] {
        let r = classify_boot(&console, channel, end, "strict");
        assert_eq!(r, classify_mode(&console, end, "strict"));
        assert_eq!(r.source, Source::Console);
        assert!(r.results_complete);
    }
    // On the console, `bytes=` is not checked: kernel lines can land inside a report.
    let with_len = console.replace(
        "@@URING-RESULTS-BEGIN mode=strict@@",
        "@@URING-RESULTS-BEGIN mode=strict bytes=1@@",
    );
    assert!(classify_mode(&with_len, end, "strict").results_complete);
    // A channel whose strict report is cut while the console's is whole: the console's.
    let cut = channel_text().replace("mode=strict exit=0", "");
    let cut = &cut[..cut.find("@@URING-RESULTS-END @@").unwrap()];
    let r = classify_boot(&console, cut, end, "strict");
    assert_eq!(r.source, Source::Console);
    assert!(r.results_complete);
}
