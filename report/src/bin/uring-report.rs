//! The report crate's readers for tools outside Rust (ci/mutants/run.py), one JSON object
//! on stdout; exit status 2 on a usage or read error.
//!
//! - `uring-report outcomes REPORT.jsonl`: a suite report's case outcomes, read through
//!   the schema's one reader: `{"whole": bool, "problem": null | "why it is not whole",
//!   "cases": {name: outcome}}`. A report that is not whole (cut, mangled, its summary
//!   disagreeing) still gives the cases that parse, with `whole` false.
//! - `uring-report boot VERDICT.json`: the matrix's verdict of a boot: `{"problems":
//!   [{"label": "PANIC", "line": ...}], "unfinished": ["time limit", ...]}` (the reasons a
//!   mode's run did not finish, each once, in [`Unfinished`] order).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use uring_report::{exit, BootVerdict, Outcome, Report, Unfinished};

/// What `outcomes` prints.
#[derive(serde::Serialize)]
struct Outcomes {
    whole: bool,
    problem: Option<String>,
    cases: BTreeMap<String, Outcome>,
}

fn outcomes(text: &str) -> Outcomes {
    let (report, problem) = match Report::read(text) {
        Ok(r) => (r, None),
        Err(e) => (Report::salvage(text), Some(e)),
    };
    Outcomes {
        whole: problem.is_none(),
        problem,
        cases: report
            .cases
            .into_iter()
            .map(|c| (c.name, c.outcome))
            .collect(),
    }
}

/// What `boot` prints: a kernel problem with its label.
#[derive(serde::Serialize)]
struct Problem {
    label: &'static str,
    line: String,
}

/// What `boot` prints.
#[derive(serde::Serialize)]
struct Boot {
    problems: Vec<Problem>,
    unfinished: Vec<&'static str>,
}

fn boot(text: &str) -> Result<Boot, String> {
    let v = BootVerdict::parse(text)?;
    let mut unfinished: Vec<Unfinished> = v
        .modes
        .iter()
        .flat_map(|m| m.unfinished.iter().copied())
        .collect();
    unfinished.sort();
    unfinished.dedup();
    Ok(Boot {
        problems: v
            .problems
            .into_iter()
            .map(|p| Problem {
                label: p.kind.label(),
                line: p.line,
            })
            .collect(),
        unfinished: unfinished.into_iter().map(Unfinished::label).collect(),
    })
}

const USAGE: &str = "usage: uring-report outcomes REPORT.jsonl | uring-report boot VERDICT.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cmd, path] = &args[..] else {
        eprintln!("{USAGE}");
        return ExitCode::from(exit::USAGE);
    };
    let read: fn(&str) -> Result<String, String> = match cmd.as_str() {
        "outcomes" => |t| serde_json::to_string(&outcomes(t)).map_err(|e| e.to_string()),
        "boot" => |t| serde_json::to_string(&boot(t)?).map_err(|e| e.to_string()),
        _ => {
            eprintln!("uring-report: unknown command {cmd:?} ({USAGE})");
            return ExitCode::from(exit::USAGE);
        }
    };
    let json = match std::fs::read_to_string(path).map_err(|e| e.to_string()) {
        Ok(text) => read(&text),
        Err(e) => Err(e),
    };
    match json {
        // A reader that went away is told by the exit status, not a panic.
        Ok(json) => match writeln!(std::io::stdout(), "{json}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("uring-report: stdout: {e}");
                ExitCode::from(exit::USAGE)
            }
        },
        Err(e) => {
            eprintln!("uring-report: {path}: {e}");
            ExitCode::from(exit::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_report_and_a_cut_one() {
        let whole = concat!(
            r#"{"type":"run","kernel":"6.18.1"}"#,
            "\n",
            r#"{"type":"case","name":"a::x","outcome":"pass"}"#,
            "\n",
            r#"{"type":"summary","pass":1}"#,
            "\n"
        );
        let o = serde_json::to_string(&outcomes(whole)).unwrap();
        assert_eq!(
            o,
            r#"{"whole":true,"problem":null,"cases":{"a::x":"pass"}}"#
        );
        let cut = &whole[..whole.find(r#"{"type":"summary"#).unwrap()];
        let o = outcomes(cut);
        assert!(!o.whole && o.problem.unwrap().contains("no summary line"));
        assert_eq!(o.cases["a::x"], Outcome::Pass);
    }

    #[test]
    fn a_boot_verdict_gives_its_problems_and_why_it_did_not_finish() {
        use uring_report::{BootProblem, ModeVerdict, ProblemKind};
        let v = BootVerdict {
            kernel: "k".into(),
            problems: vec![BootProblem {
                kind: ProblemKind::Oops,
                line: "BUG: x".into(),
            }],
            modes: vec![
                ModeVerdict {
                    mode: "default".into(),
                    unfinished: vec![Unfinished::NoResults, Unfinished::TimeLimit],
                },
                ModeVerdict {
                    mode: "strict".into(),
                    unfinished: vec![Unfinished::TimeLimit],
                },
            ],
        };
        let b = serde_json::to_string(&boot(&v.to_json()).unwrap()).unwrap();
        assert_eq!(
            b,
            r#"{"problems":[{"label":"OOPS/BUG","line":"BUG: x"}],"unfinished":["time limit","no/incomplete results"]}"#
        );
        assert!(boot("{").is_err());
    }
}
