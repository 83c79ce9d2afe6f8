//! The suite binary's command line, end to end: a bad option or value is an error that
//! names the option with exit status 2 (from the command line or from the environment
//! fallback), `--help` lists the suite's options beside libtest's, and the environment
//! fallbacks still work.

use std::process::{Command, Output, Stdio};
use uring_harness::baseline::Results;

const BIN: &str = env!("CARGO_BIN_EXE_uring-conformance");

/// The suite with `args` and `env`, none of its environment fallbacks inherited.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "URING_REPORT_JSON",
        "URING_REPORT_KTAP",
        "URING_REPORT_JUNIT",
        "URING_BASELINE",
        "URING_STRICT",
        "URING_KTAP",
        "URING_CASE_TIMEOUT",
        "URING_CONFORMANCE_KERNEL_VERSION",
        "URING_CONFORMANCE_HIDE",
    ] {
        cmd.env_remove(var);
    }
    // Under nextest the suite would take itself for run by nextest (skips decided at list
    // time); the suite started here is run by this test.
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("NEXTEST") {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn suite(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env)
        .output()
        .expect("run the conformance binary")
}

/// A run's JSON report, read whole (the run header, every case, the summary agreeing).
fn whole_report(path: &std::path::Path) -> Results {
    Results::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Status 0, or 77 where io_uring is disabled here (then every row skipped).
fn passed(o: &Output) -> bool {
    matches!(o.status.code(), Some(0 | 77))
}

#[test]
fn bad_values_are_errors_naming_the_option() {
    for (args, env, option) in [
        (&["--case-timeout=abc"][..], &[][..], "--case-timeout"),
        (&["--case-timeout=0"][..], &[][..], "--case-timeout"),
        (&["--case-timeout=-1"][..], &[][..], "--case-timeout"),
        (&["--kernel-version=six"][..], &[][..], "--kernel-version"),
        (&["--no-such-option"][..], &[][..], "--no-such-option"),
        (
            &[][..],
            &[("URING_CASE_TIMEOUT", "soon")][..],
            "--case-timeout",
        ),
        (&[][..], &[("URING_STRICT", "perhaps")][..], "--strict"),
        (&[][..], &[("URING_KTAP", "2")][..], "--ktap"),
        (&["--ktap", "--list"][..], &[][..], "--list"),
    ] {
        let o = suite(args, env);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(err.contains(option), "{args:?} {env:?}: {err}");
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("running "),
            "{args:?} {env:?}: no case may run"
        );
    }
}

/// `--ktap` (or `URING_KTAP=1`): stdout is the KTAP document alone, as kselftest prints it
/// (libtest's lines go to stderr), with the counts of the run's JSON report and the file
/// report's body; the exit status is the run's.
#[test]
fn ktap_on_the_console_is_the_whole_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.jsonl");
    let ktap = dir.path().join("run.ktap");
    let json_arg = format!("--report-json={}", json.display());
    let ktap_arg = format!("--report-ktap={}", ktap.display());
    for (args, env) in [
        (vec!["--ktap", &json_arg, &ktap_arg, "envelope::"], vec![]),
        (
            vec![&json_arg, &ktap_arg, "envelope::"],
            vec![("URING_KTAP", "1")],
        ),
    ] {
        let o = suite(&args, &env);
        let out = String::from_utf8(o.stdout.clone()).unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(passed(&o), "{:?}: {err}", o.status);
        assert!(out.starts_with("TAP version 13\n1..1\n"), "{out}");
        assert!(
            !out.contains("test result") && !out.contains("running "),
            "{out}"
        );
        assert!(
            err.contains("test result: "),
            "libtest's lines on stderr: {err}"
        );
        let r = whole_report(&json);
        let n = |outcome: &str| {
            r.cases
                .values()
                .filter(|c| c.outcome.name() == outcome)
                .count()
        };
        let totals = format!(
            "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}\n",
            n("pass"),
            n("fail"),
            n("skip"),
            n("broken") + n("timeout")
        );
        assert!(out.ends_with(&totals), "{out}");
        let file = std::fs::read_to_string(&ktap).unwrap();
        assert_eq!(
            file.strip_prefix("KTAP version 1\n"),
            out.strip_prefix("TAP version 13\n"),
            "one writer: the console and the file differ only in the header"
        );
    }
}

/// A name in URING_CONFORMANCE_HIDE that is no feature the probe can hide (a typo, or
/// io_uring itself, which every row runs on) stops the run before anything runs.
#[test]
fn unknown_hidden_features_are_errors() {
    for (list, named) in [
        ("io_uring", "`io_uring`"),
        ("clone_bufers", "`clone_bufers`"),
        ("clone_buffers, nope", "`nope`"),
    ] {
        let o = suite(
            &["--exact", "envelope::no_such_case"],
            &[("URING_CONFORMANCE_HIDE", list)],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{list}: {err}");
        assert!(err.contains("URING_CONFORMANCE_HIDE"), "{list}: {err}");
        assert!(err.contains(named), "{list}: {err}");
        assert!(
            err.contains("clone_buffers, clone_ranges"),
            "lists the valid names: {err}"
        );
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("running "),
            "{list}: no case may run"
        );
    }
}

/// A baseline cut short (here at a line boundary: no summary) or empty is refused by strict
/// mode and by --compare alike, before anything runs, naming the file and what is wrong.
#[test]
fn a_baseline_cut_short_is_an_error() {
    let whole = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/baselines/6.18.jsonl"
    );
    let text = std::fs::read_to_string(whole).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    for (bad, why) in [(&cut, "no summary line"), (&empty, "empty")] {
        let bad = bad.to_str().unwrap();
        let baseline = format!("--baseline={bad}");
        for args in [
            &["--strict", &baseline, "--exact", "envelope::no_such_case"][..],
            &["--compare", bad, whole][..],
            &["--compare", whole, bad][..],
        ] {
            let o = suite(args, &[]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(&format!("{bad}: ")) && err.contains(why),
                "{args:?}: {err}"
            );
            assert!(args[0] != "--strict" || err.contains("--baseline"), "{err}");
            assert!(
                !String::from_utf8_lossy(&o.stdout).contains("running "),
                "{args:?}"
            );
        }
    }
}

#[test]
fn help_lists_ours_and_libtests() {
    let o = suite(&["--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--report-json",
        "--report-ktap",
        "--report-junit",
        "--baseline",
        "--strict",
        "--cases-json",
        "--probe-report",
        "--case-timeout",
        "--kernel-version",
        "URING_REPORT_JSON",
        "--compare",
        // libtest's
        "--list",
        "--exact",
        "--skip",
        "--test-threads",
        "--include-ignored",
        "--format",
    ] {
        assert!(help.contains(opt), "{opt}:\n{help}");
    }
}

#[test]
fn environment_fallbacks_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.jsonl");
    let o = suite(
        &["--exact", "envelope::no_such_case"],
        &[
            ("URING_REPORT_JSON", json.to_str().unwrap()),
            ("URING_STRICT", "1"),
        ],
    );
    assert!(
        o.status.success() || o.status.code() == Some(77),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = std::fs::read_to_string(&json).expect("URING_REPORT_JSON names the report");
    assert!(report.contains("\"strict\":true"), "{report}");
}

/// stdout that takes no output (its reader gone before the first line, or a full device)
/// ends nothing but the output: the run goes on, its reports are whole, the status is the
/// run's, and one line on stderr says what happened; no panic.
#[test]
fn a_stdout_that_takes_no_output_ends_only_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.jsonl");
    let ktap = dir.path().join("run.ktap");
    let report = format!("--report-json={}", json.display());
    let ktap_arg = format!("--report-ktap={}", ktap.display());
    let (closed_read, closed_write) = std::io::pipe().unwrap();
    drop(closed_read);
    for (stdout, error) in [
        (Stdio::from(closed_write), "Broken pipe"),
        (
            Stdio::from(std::fs::File::create("/dev/full").unwrap()),
            "No space left on device",
        ),
    ] {
        let o = command(&[&report, &ktap_arg, "envelope::"], &[])
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(passed(&o), "{error}: {:?}\n{err}", o.status);
        assert!(!err.contains("panicked"), "{error}: {err}");
        let note: Vec<&str> = err.lines().filter(|l| l.contains("stdout: ")).collect();
        assert_eq!(note.len(), 1, "{error}: one note: {err}");
        assert!(
            note[0].contains(error) && note[0].contains("discarded"),
            "{err}"
        );
        let r = whole_report(&json);
        assert!(r.cases.keys().all(|c| c.starts_with("envelope::")) && !r.cases.is_empty());
        let ktap = std::fs::read_to_string(&ktap).unwrap();
        assert!(
            ktap.starts_with("KTAP version 1\n") && ktap.contains("# Totals: "),
            "{ktap}"
        );
    }
}

/// A report path that cannot be written stops the run before anything runs, naming the
/// option and the path; an earlier report at another given path is left as it was.
#[test]
fn a_bad_report_path_is_an_error_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("earlier.jsonl");
    std::fs::write(&earlier, "kept\n").unwrap();
    let earlier_arg = format!("--report-json={}", earlier.display());
    let dir_arg = format!("--report-ktap={}", dir.path().display());
    for (args, env, named) in [
        (
            vec!["--report-json=/nonexistent/x.jsonl"],
            vec![],
            "--report-json",
        ),
        (
            vec![earlier_arg.as_str(), dir_arg.as_str()],
            vec![],
            "--report-ktap",
        ),
        (
            vec![],
            vec![("URING_REPORT_JUNIT", "/nonexistent/j.xml")],
            "URING_REPORT_JUNIT",
        ),
    ] {
        let o = suite(&args, &env);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(
            err.contains(named) && err.contains("cannot create it"),
            "{err}"
        );
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("running "),
            "{args:?}"
        );
        assert!(!err.contains("leak check"), "no run: {err}");
    }
    assert_eq!(std::fs::read_to_string(&earlier).unwrap(), "kept\n");
}

/// A time limit far below what any wait takes (SO_RCVTIMEO, poll(2), the wait for a thread
/// to sleep in the kernel all come from it) makes rows time out, never broken or failed.
#[test]
fn a_tiny_case_timeout_gives_timeouts_not_broken_rows() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.jsonl");
    let report = format!("--report-json={}", json.display());
    let o = suite(&[&report, "--case-timeout=1e-9"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let r = whole_report(&json);
    let bad: Vec<String> = r
        .cases
        .iter()
        .filter(|(_, c)| !matches!(c.outcome.name(), "pass" | "skip" | "timeout"))
        .map(|(n, c)| format!("{n}: {}", c.reason))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The one-shot printers (`--compare`, `--cases-json`, `--probe-report`) on a full device:
/// a note on stderr, the status they would have had, no panic.
#[test]
fn one_shot_output_on_a_full_device_is_a_note() {
    let base = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/baselines/6.18.jsonl"
    );
    let new = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/baselines/7.2.jsonl"
    );
    for args in [
        &["--compare", base, new][..],
        &["--cases-json"][..],
        &["--probe-report"][..],
    ] {
        let want = suite(args, &[]).status.code();
        let o = command(args, &[])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), want, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains("stdout: No space left on device"),
            "{args:?}: {err}"
        );
    }
}
