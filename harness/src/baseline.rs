//! Baselines and the compare command.
//!
//! A baseline is the JSON-lines report (`--report-json`) of a known-good run on one kernel
//! series, kept as `fixtures/baselines/<series>.jsonl`. [`compare`] reads a baseline and a new
//! report and sorts every difference: regressions (pass -> fail / skip / broken / timeout,
//! skip -> fail, a feature the baseline had and the new run lost), fixes (fail -> pass),
//! new and removed cases. Known kernel bugs are listed in an xfail file
//! (`fixtures/xfail.txt`): such a case failing is `xfail`, passing is `xpass`; neither is a
//! regression.

mod compare;
mod results;

pub use compare::{compare, render, Diff, Kind};
pub use results::{parse_xfail, CaseRow, Results, Xfail};
use std::path::PathBuf;
use std::process::ExitCode;

/// `compare BASELINE NEW [--xfail=PATH]`: prints the differences; exit status 1 on any
/// regression, 2 on a usage or read error, 0 otherwise. The xfail list defaults to
/// `URING_XFAIL`, else `xfail.txt` in the parent of the baseline's directory
/// (`fixtures/xfail.txt` for `fixtures/baselines/6.18.jsonl`) if it exists.
pub fn compare_main(args: &[String]) -> ExitCode {
    let mut paths = Vec::new();
    let mut xfail_path: Option<PathBuf> = std::env::var_os("URING_XFAIL").map(PathBuf::from);
    for a in args {
        if let Some(p) = a.strip_prefix("--xfail=") {
            xfail_path = Some(p.into());
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let [base_path, new_path] = &paths[..] else {
        eprintln!("usage: compare BASELINE.jsonl NEW.jsonl [--xfail=PATH]");
        return ExitCode::from(uring_report::exit::USAGE);
    };
    let xfail_path = xfail_path.or_else(|| {
        let p = base_path.parent()?.parent()?.join("xfail.txt");
        p.exists().then_some(p)
    });
    let run = || -> Result<(String, bool), String> {
        let base = Results::load(base_path)?;
        let new = Results::load(new_path)?;
        let xfail = match &xfail_path {
            Some(p) => parse_xfail(
                &std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
            )?,
            None => Vec::new(),
        };
        let diffs = compare(&base, &new, &xfail);
        let regressed = diffs.iter().any(|d| d.kind == Kind::Regression);
        Ok((render(&base, &new, &diffs), regressed))
    };
    match run() {
        Ok((text, regressed)) => {
            crate::output::print_stdout(&text);
            if regressed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::from(uring_report::exit::USAGE)
        }
    }
}
