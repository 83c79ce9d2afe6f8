//! The suite's command line: our options beside libtest-mimic's arguments, parsed by one
//! clap parser, so `--help` lists both and a bad value is an error naming the option
//! (exit status 2), never a silent default.
//!
//! `--compare BASELINE NEW` (as the first argument) is a separate mode handled before this
//! parser (see [`crate::baseline::compare_main`]).

use crate::feature::Feature;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser};
use libtest_mimic::Arguments;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

/// The default time limit of one case.
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole command line: ours, then libtest's.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "uring-conformance",
    about = "io_uring conformance suite: registered buffers, clone, buffer rings, MSG_RING",
    disable_version_flag = true
)]
pub struct Cli {
    /// The suite's own options.
    #[command(flatten)]
    pub options: Options,
    /// libtest's options and filter (`--list`, `--exact`, `--skip`, `--test-threads`, ...).
    #[command(flatten, next_help_heading = "libtest options")]
    pub libtest: Arguments,
}

/// The suite's own options (each with its environment-variable fallback where it has one).
#[derive(Args, Clone, Debug, PartialEq)]
#[command(next_help_heading = "Suite options")]
pub struct Options {
    /// Write a JSON-lines report (run header, probe snapshot, one line per case, summary).
    #[arg(long, value_name = "PATH", env = "URING_REPORT_JSON")]
    pub report_json: Option<String>,
    /// Write a KTAP v1 report (one subtest per interface).
    #[arg(long, value_name = "PATH", env = "URING_REPORT_KTAP")]
    pub report_ktap: Option<String>,
    /// Write a JUnit XML report (one testsuite per interface).
    #[arg(long, value_name = "PATH", env = "URING_REPORT_JUNIT")]
    pub report_junit: Option<String>,
    /// In strict mode, the features this baseline (a --report-json file) found are required
    /// too.
    #[arg(long, value_name = "PATH", env = "URING_BASELINE")]
    pub baseline: Option<String>,
    /// Strict mode: a feature this kernel must have but the probe did not find is a failure,
    /// not a skip (env: 1/0, true/false, yes/no, on/off).
    #[arg(long, env = "URING_STRICT", action = ArgAction::SetTrue,
          value_parser = parse_boolish)]
    pub strict: bool,
    /// Print the run on stdout as KTAP, as a kselftest prints it (`TAP version 13`, one test
    /// per interface with its cases nested, kselftest's totals line); libtest's lines go to
    /// stderr (env: 1/0, true/false, yes/no, on/off).
    #[arg(long, env = "URING_KTAP", action = ArgAction::SetTrue, value_parser = parse_boolish,
          conflicts_with_all = ["cases_json", "probe_report", "list"])]
    pub ktap: bool,
    /// Print the whole case table as JSON and exit.
    #[arg(long)]
    pub cases_json: bool,
    /// Print every feature the suite knows (present or not, how it was detected) and exit.
    #[arg(long)]
    pub probe_report: bool,
    /// Print the suite's version and the source commit it was built from, and exit.
    #[arg(long)]
    pub version: bool,
    /// Time limit of one case, in seconds (> 0, fractions allowed).
    #[arg(long, value_name = "SECS", env = "URING_CASE_TIMEOUT", default_value = "10",
          value_parser = parse_case_timeout, allow_negative_numbers = true)]
    pub case_timeout: Duration,
    /// The kernel version to judge the kernel by instead of `uname -r`
    /// (X.Y[.Z][-suffix], e.g. 6.18.0-rc3).
    #[arg(long, value_name = "RELEASE", env = "URING_CONFORMANCE_KERNEL_VERSION",
          value_parser = parse_kernel_version)]
    pub kernel_version: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            report_json: None,
            report_ktap: None,
            report_junit: None,
            baseline: None,
            strict: false,
            ktap: false,
            cases_json: false,
            probe_report: false,
            version: false,
            case_timeout: DEFAULT_CASE_TIMEOUT,
            kernel_version: None,
        }
    }
}

/// `URING_STRICT`, `URING_KTAP`: 1/0, true/false, yes/no, on/off; empty (`URING_STRICT=`) is
/// off, as it was before the environment was parsed by clap.
fn parse_boolish(s: &str) -> Result<bool, String> {
    if s.is_empty() {
        return Ok(false);
    }
    let parser = BoolishValueParser::new();
    let cmd = clap::Command::new("uring-conformance");
    clap::builder::TypedValueParser::parse_ref(&parser, &cmd, None, std::ffi::OsStr::new(s))
        .map_err(|_| format!("`{s}` is not one of 1/0, true/false, yes/no, on/off"))
}

/// `--case-timeout`: a positive, finite number of seconds.
fn parse_case_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!(
            "the time limit must be more than 0 seconds, not {s}"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

/// `--kernel-version`: a release as `uname -r` writes it (`X.Y[.Z][suffix]`), checked by the
/// one parser the version rules use ([`crate::version::KernelVersion::parse`]).
fn parse_kernel_version(s: &str) -> Result<String, String> {
    crate::version::KernelVersion::parse(s).map(|_| s.to_string())
}

/// The environment variable naming features the probe is to report missing (comma
/// separated), to check that strict mode notices a lost feature.
pub const HIDE_ENV: &str = "URING_CONFORMANCE_HIDE";

/// The features [`HIDE_ENV`] names; a name that is no feature the probe can hide (a typo,
/// `io_uring`) is an error listing the ones it can, never silently ignored.
pub fn hidden_features() -> Result<Vec<Feature>, String> {
    match std::env::var(HIDE_ENV) {
        Ok(list) => parse_hidden(&list),
        Err(std::env::VarError::NotPresent) => Ok(Vec::new()),
        Err(std::env::VarError::NotUnicode(v)) => Err(format!("{HIDE_ENV}={v:?} is not UTF-8")),
    }
}

/// `a,b,...` (blanks around names and empty items ignored) as features that can be hidden.
fn parse_hidden(list: &str) -> Result<Vec<Feature>, String> {
    let mut hidden = Vec::new();
    let mut refused = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Feature::from_name(name).filter(|f| f.can_be_hidden()) {
            Some(f) if hidden.contains(&f) => {}
            Some(f) => hidden.push(f),
            None => refused.push(format!("`{name}`")),
        }
    }
    if refused.is_empty() {
        return Ok(hidden);
    }
    let io_uring = if refused.iter().any(|n| n == "`io_uring`") {
        " (io_uring itself cannot be hidden: every row runs on it; set kernel.io_uring_disabled \
         to run without it)"
    } else {
        ""
    };
    let valid: Vec<&str> = Feature::ALL
        .iter()
        .filter(|f| f.can_be_hidden())
        .map(|f| f.name())
        .collect();
    Err(format!(
        "{HIDE_ENV}: no feature the probe can hide: {}{io_uring}; the features it can hide \
         (`--probe-report` shows how each is detected): {}",
        refused.join(", "),
        valid.join(", ")
    ))
}

/// Parses `args` (with the program name first). On `--help` it prints the help and returns
/// `Err(0)`; on a bad option or value it prints clap's error (which names the option) and
/// returns `Err(2)`.
pub fn parse<I, T>(args: I) -> Result<Cli, ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    try_parse(args).map_err(|e| {
        let _ = e.print();
        ExitCode::from(if e.use_stderr() { 2 } else { 0 })
    })
}

/// The parser. libtest-mimic's `Arguments` brings its own help template and after-help,
/// which would otherwise replace ours when it is flattened in: they are set again here.
fn try_parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cmd = Cli::command()
        .help_template("{about}\n\nUsage: {usage}\n\n{all-args}{after-help}")
        .after_help(AFTER_HELP);
    Cli::from_arg_matches(&cmd.try_get_matches_from(args)?)
}

const AFTER_HELP: &str = "\
Other mode: `--compare BASELINE.jsonl NEW.jsonl [--xfail=PATH]` as the first argument compares
two --report-json files (exit 1 on a regression, 2 on a read error or a report that is not
whole).

Environment: URING_CONFORMANCE_HIDE=feature,... makes the probe report those features as
missing (a name that is no such feature is an error).

Exit status: 0 all passed or skipped, 101 a case failed, 2 a bad option, value, baseline or
report path (before anything runs) or a report that could not be written, 3 the leak check or
the kernel log found a problem, 77 io_uring is not usable here (every case skipped). A stdout
that stops taking output (a reader gone, a full device) changes none of these: the run goes
on, the reports are written, stderr says what was discarded.";

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        try_parse(std::iter::once("bin").chain(args.iter().copied()))
    }

    #[test]
    fn ours_and_libtests_parse_together() {
        let c = cli(&[
            "--strict",
            "--report-json=/x",
            "--report-ktap=/k",
            "--report-junit",
            "/j",
            "--case-timeout=2.5",
            "--kernel-version=6.18.0-rc3",
            "--exact",
            "--test-threads=1",
            "--skip",
            "msg_ring",
            "envelope::",
        ])
        .unwrap();
        let o = &c.options;
        assert!(o.strict);
        assert_eq!(o.report_json.as_deref(), Some("/x"));
        assert_eq!(o.report_ktap.as_deref(), Some("/k"));
        assert_eq!(o.report_junit.as_deref(), Some("/j"));
        assert_eq!(o.case_timeout, Duration::from_millis(2500));
        assert_eq!(o.kernel_version.as_deref(), Some("6.18.0-rc3"));
        assert!(c.libtest.exact);
        assert_eq!(c.libtest.test_threads, Some(1));
        assert_eq!(c.libtest.skip, vec!["msg_ring".to_string()]);
        assert_eq!(c.libtest.filter.as_deref(), Some("envelope::"));
    }

    #[test]
    fn defaults() {
        let c = cli(&[]).unwrap();
        assert_eq!(c.options.case_timeout, DEFAULT_CASE_TIMEOUT);
        assert!(!c.options.cases_json && !c.options.probe_report);
    }

    #[test]
    fn bad_values_name_the_option() {
        for (args, option) in [
            (&["--case-timeout=abc"][..], "--case-timeout"),
            (&["--case-timeout=0"][..], "--case-timeout"),
            (&["--case-timeout=-3"][..], "--case-timeout"),
            (&["--case-timeout", "-3"][..], "--case-timeout"),
            (&["--case-timeout=inf"][..], "--case-timeout"),
            (&["--kernel-version=6"][..], "--kernel-version"),
            (&["--kernel-version=6.x.1"][..], "--kernel-version"),
            (&["--kernel-version=x6.1"][..], "--kernel-version"),
            (&["--kernel-version="][..], "--kernel-version"),
            (&["--no-such-option"][..], "--no-such-option"),
            (&["--test-threads=many"][..], "--test-threads"),
        ] {
            let e = cli(args).expect_err(&format!("{args:?} must be refused"));
            assert!(e.use_stderr(), "{args:?}");
            assert_eq!(e.exit_code(), 2, "{args:?}");
            let text = e.to_string();
            assert!(text.contains(option), "{args:?}: {text}");
        }
    }

    /// `--ktap` prints the run; with a mode that prints something else instead of running
    /// (`--list`, `--cases-json`, `--probe-report`) it is an error naming both.
    #[test]
    fn ktap_is_a_run_mode() {
        assert!(cli(&["--ktap"]).unwrap().options.ktap);
        for other in ["--list", "--cases-json", "--probe-report"] {
            let e = cli(&["--ktap", other]).expect_err(other);
            assert_eq!(e.exit_code(), 2, "{other}");
            let text = e.to_string();
            assert!(text.contains("--ktap") && text.contains(other), "{text}");
        }
    }

    #[test]
    fn hidden_features_are_known_names() {
        assert_eq!(parse_hidden(""), Ok(vec![]));
        assert_eq!(
            parse_hidden(" clone_buffers, ,pbuf_ring,clone_buffers"),
            Ok(vec![Feature::CloneBuffers, Feature::PbufRing])
        );
        for (list, named) in [
            ("io_uring", "`io_uring`"),
            ("clone_buffers,clone_bufers", "`clone_bufers`"),
            ("Clone_Buffers", "`Clone_Buffers`"),
        ] {
            let e = parse_hidden(list).expect_err(list);
            assert!(e.starts_with(HIDE_ENV), "{e}");
            assert!(e.contains(&format!("can hide: {named}")), "{e}");
            assert!(e.contains("pbuf_ring, "), "lists the valid names: {e}");
            assert!(
                e.contains("): register_probe, "),
                "io_uring is not offered: {e}"
            );
        }
        assert!(parse_hidden("io_uring")
            .unwrap_err()
            .contains("io_uring_disabled"));
    }

    #[test]
    fn kernel_versions() {
        // Whatever `uname -r` prints, Debian's `+deb13` releases included.
        for ok in [
            "6.18",
            "6.18.0",
            "7.2.1-amd64",
            "6.12.38+deb13-cloud-amd64",
            "7.3-rc7",
        ] {
            assert!(parse_kernel_version(ok).is_ok(), "{ok}");
        }
        for bad in ["six", "6", "", "x6.1"] {
            assert!(parse_kernel_version(bad).is_err(), "{bad}");
        }
    }
}
