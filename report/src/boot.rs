//! The QEMU matrix's verdict of one boot (`verdict.json` beside the human `verdict.txt`):
//! what the kernel log showed and why a mode's run did not finish, typed, for the tools that
//! judge boots (the mutant runner reads it through the `uring-report` binary).

use crate::ProblemKind;
use serde::{Deserialize, Serialize};

/// One boot of one kernel, every suite mode it ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootVerdict {
    /// The kernel's name in the manifest (or the image's path).
    pub kernel: String,
    /// The kernel's WARNING/BUG/Oops/panic lines.
    pub problems: Vec<BootProblem>,
    /// Each suite mode's run.
    pub modes: Vec<ModeVerdict>,
}

/// A kernel-log problem of the boot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootProblem {
    /// How bad.
    pub kind: ProblemKind,
    /// The console line, timestamp removed.
    pub line: String,
}

/// One suite mode's run in the boot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeVerdict {
    /// `default` or `strict`.
    pub mode: String,
    /// Why the run did not finish with a whole report, if it did not (every reason found).
    pub unfinished: Vec<Unfinished>,
}

/// Why a mode's run did not finish with a whole report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unfinished {
    /// The guest never reached its init.
    NoInit,
    /// The boot ran out of its time limit.
    TimeLimit,
    /// The suite died of a signal.
    SuiteCrashed,
    /// The report is missing or incomplete.
    NoResults,
}

impl BootVerdict {
    /// The verdict as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("boot verdicts serialize")
    }
    /// Reads a verdict.
    pub fn parse(text: &str) -> Result<BootVerdict, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

impl Unfinished {
    /// The label the matrix and the mutant runner's results show.
    pub fn label(self) -> &'static str {
        match self {
            Unfinished::NoInit => "never reached init",
            Unfinished::TimeLimit => "time limit",
            Unfinished::SuiteCrashed => "suite crashed",
            Unfinished::NoResults => "no/incomplete results",
        }
    }
}
