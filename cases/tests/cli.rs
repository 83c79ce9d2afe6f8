//! The suite binary's command line, end to end: a bad option or value is an error that
//! names the option with exit status 2 (from the command line or from the environment
//! fallback), `--help` lists the suite's options beside libtest's, and the environment
//! fallbacks still work.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_uring-conformance");

fn suite(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "URING_REPORT_JSON",
        "URING_REPORT_KTAP",
        "URING_REPORT_JUNIT",
        "URING_BASELINE",
        "URING_STRICT",
        "URING_CASE_TIMEOUT",
        "URING_CONFORMANCE_KERNEL_VERSION",
        "URING_CONFORMANCE_HIDE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run the conformance binary")
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
