//! The report schema of uring-conformance, in one place: the JSON-lines records the suite
//! writes with `--report-json` (run header, feature, fact, case, summary), the outcome
//! classes, the suite's exit codes, the kernel-log problem kinds, and the record a child
//! sends its parent. The suite writes through it; `--compare`, the baselines and the QEMU
//! matrix read through it.
//!
//! A report is one JSON object a line, each with a `type` ([`Line`]). Readers ignore record
//! types they do not know and fields they do not know; a field a record lacks takes its
//! default, so older reports still read.

use serde::{Deserialize, Serialize};

mod boot;
mod child;
pub mod exit;
mod kernel_log;
mod reader;
mod verdict;

pub use boot::{BootProblem, BootVerdict, ModeVerdict, Unfinished};
pub use child::{ChildResult, PREFIX as CHILD_RESULT_PREFIX};
pub use kernel_log::{problem_kind, ProblemKind};
pub use reader::Report;
pub use verdict::{Answer, Errno, LevelDecision, LevelSeen, LevelVerdict, Resource, SkipCause};

/// Outcome classes (the README's "Outcomes" table maps each to libtest, KTAP and JUnit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The kernel answered as expected.
    Pass,
    /// It did not.
    Fail,
    /// The case could not run here; the reason says why.
    Skip,
    /// Setup failed unexpectedly: the call under test was never reached.
    Broken,
    /// A wait on the kernel ran out of time.
    Timeout,
}

impl Outcome {
    /// Every class, in report order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Skip,
        Outcome::Broken,
        Outcome::Timeout,
    ];
    /// The lowercase name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Broken => "broken",
            Outcome::Timeout => "timeout",
        }
    }
    /// The outcome with this report name.
    pub fn from_name(n: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == n)
    }
    /// Whether this outcome makes a run fail (anything but pass and skip).
    pub fn is_failing(self) -> bool {
        !matches!(self, Outcome::Pass | Outcome::Skip)
    }
}

/// The run header: the kernel and what the probe saw of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// The upstream version the suite decided on (`6.12.95`), if any.
    pub version: Option<String>,
    /// Where that version came from.
    pub version_source: String,
    /// Whether the run was `--strict`.
    pub strict: bool,
    /// `io_uring_params.features` of a probe ring, as hex (`0x1fff`).
    pub setup_features: String,
    /// How many SQE opcodes the kernel reports.
    pub sqe_ops: u64,
    /// How many register opcodes, where the kernel tells.
    pub register_opcodes: Option<u64>,
    /// The suite's version (`0.1.0`). Absent in reports written before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_version: Option<String>,
    /// The source commit the suite was built from (`-dirty` with local changes, `unknown`
    /// outside a git checkout). Absent in reports written before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_commit: Option<String>,
}

/// One feature of the kernel (or, with `since` "-", of this process) and how it was found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Feature {
    /// The feature's name.
    pub name: String,
    /// Whether it is there.
    pub present: bool,
    /// How the probe decided.
    pub how: String,
    /// The first kernel version with it, or "-" for a feature of the process.
    pub since: String,
}

/// One fact of the environment (not of the kernel's io_uring) and how it was found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fact {
    /// The fact's name.
    pub name: String,
    /// Whether it holds.
    pub holds: bool,
    /// How it was decided.
    pub how: String,
}

/// One case's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// `interface::scenario`.
    #[serde(default)]
    pub name: String,
    /// The interface.
    #[serde(default)]
    pub interface: String,
    /// The class.
    pub outcome: Outcome,
    /// Skip reason, or failure / broken / timeout message.
    #[serde(default)]
    pub reason: String,
    /// The call under test, if reached.
    #[serde(default)]
    pub call: Option<String>,
    /// Expected answer (rendered), if the case ran.
    #[serde(default)]
    pub expected: Option<String>,
    /// Actual answer (rendered), if the case ran.
    #[serde(default)]
    pub actual: Option<String>,
    /// For a multi-answer row: its level and how it was decided.
    #[serde(default)]
    pub level: Option<String>,
    /// For a row whose level nothing decided: which answer the kernel gave ("has" the
    /// change or "lacks" it), so that a baseline pins it.
    #[serde(default)]
    pub level_seen: Option<LevelSeen>,
    /// Wall time in milliseconds, to the microsecond.
    #[serde(default)]
    pub ms: f64,
    /// Why it was skipped (typed; `reason` is its text). Absent in reports before the
    /// typed vocabulary, and for other outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<SkipCause>,
    /// The answers the row accepts on this kernel (typed `expected`), if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepts: Option<Vec<Answer>>,
    /// The kernel's answer (typed `actual`), if the call was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The level and how it was decided (typed `level`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<LevelDecision>,
    /// What went wrong where no answer tells it: an effect check's failure (bytes, slots,
    /// CQEs, as text: they are free-form), a setup step that broke, a wait that ran out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Case {
    /// A record of case `name` of `interface` with this outcome and nothing else yet.
    pub fn new(name: &str, interface: &str, outcome: Outcome) -> Case {
        Case {
            name: name.into(),
            interface: interface.into(),
            outcome,
            reason: String::new(),
            call: None,
            expected: None,
            actual: None,
            level: None,
            level_seen: None,
            ms: 0.0,
            cause: None,
            accepts: None,
            answer: None,
            decision: None,
            detail: None,
        }
    }
    /// A skipped case: the cause, and its text as the reason.
    pub fn skipped(name: &str, interface: &str, cause: SkipCause) -> Case {
        Case {
            reason: cause.to_string(),
            cause: Some(cause),
            ..Case::new(name, interface, Outcome::Skip)
        }
    }
    /// One line that says why the case is not a plain pass: the skip cause, the expected and
    /// the actual answer, or the detail; built from the typed fields (from `reason`'s first
    /// line only for a report written before them).
    pub fn headline(&self) -> String {
        if self.outcome == Outcome::Pass {
            return String::new();
        }
        if let Some(c) = &self.cause {
            return c.to_string();
        }
        if let Some(d) = &self.detail {
            return d.lines().next().unwrap_or("").trim().to_string();
        }
        if let (Some(e), Some(a)) = (&self.expected, &self.actual) {
            if self.answer.is_some() {
                return format!("expected {e}, got {a}");
            }
        }
        self.reason.lines().next().unwrap_or("").trim().to_string()
    }
}

/// How many cases of each class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Passed.
    pub pass: u64,
    /// Failed.
    pub fail: u64,
    /// Skipped.
    pub skip: u64,
    /// Broken.
    pub broken: u64,
    /// Timed out.
    pub timeout: u64,
}

impl Summary {
    /// The counts of these outcomes.
    pub fn of(outcomes: impl IntoIterator<Item = Outcome>) -> Summary {
        let mut s = Summary::default();
        for o in outcomes {
            *s.count_mut(o) += 1;
        }
        s
    }
    /// The count of one class.
    pub fn count(&self, o: Outcome) -> u64 {
        let mut s = *self;
        *s.count_mut(o)
    }
    /// `pass 3, fail 0, skip 1, broken 0, timeout 0`.
    pub fn counts(&self) -> String {
        Outcome::ALL
            .map(|o| format!("{} {}", o.name(), self.count(o)))
            .join(", ")
    }
    fn count_mut(&mut self, o: Outcome) -> &mut u64 {
        match o {
            Outcome::Pass => &mut self.pass,
            Outcome::Fail => &mut self.fail,
            Outcome::Skip => &mut self.skip,
            Outcome::Broken => &mut self.broken,
            Outcome::Timeout => &mut self.timeout,
        }
    }
}

/// One line of a JSON-lines report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Line {
    /// The run header, first.
    Run(Run),
    /// A feature of the probe snapshot.
    Feature(Feature),
    /// A fact of the environment.
    Fact(Fact),
    /// A case's result (boxed: it is the largest record by far).
    Case(Box<Case>),
    /// The totals, last.
    Summary(Summary),
    /// A record type this version does not know (read only).
    #[serde(other)]
    Other,
}

impl Line {
    /// The record as one JSON line (no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report records serialize")
    }
    /// Parses one line.
    pub fn parse(line: &str) -> Result<Line, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }
}

/// The lines of a report, blank lines left out: (1-based line number, text, parsed record).
pub fn parse_lines(text: &str) -> impl Iterator<Item = (usize, &str, Result<Line, String>)> {
    text.lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(n, l)| (n, l, Line::parse(l)))
}

/// A whole report, read and checked: the run header first (naming its kernel), every line a
/// well-formed record, each case named once, the summary last and its counts those of the
/// case lines. A report cut short (at a line boundary too), empty, or whose summary disagrees
/// with its cases is an error that says what is wrong, never a partial result: a baseline
/// missing its last cases would otherwise excuse their loss. Returns the records in order.
pub fn read_report(text: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut summary = None;
    for (n, _, line) in parse_lines(text) {
        let line = line.map_err(|e| format!("line {n}: {e}"))?;
        if summary.is_some() {
            return Err(format!("line {n}: a record after the summary line"));
        }
        match (&line, lines.is_empty()) {
            (Line::Run(r), true) if r.kernel.is_empty() => {
                return Err(format!("line {n}: the run header names no kernel"))
            }
            (Line::Run(_), true) => {}
            (_, true) => return Err(format!("line {n}: the first record is not the run header")),
            (Line::Run(_), false) => return Err(format!("line {n}: a second run header")),
            (Line::Case(c), _) if c.name.is_empty() => {
                return Err(format!("line {n}: a case without a name"))
            }
            (Line::Case(c), _) if !names.insert(c.name.clone()) => {
                return Err(format!("line {n}: case {} a second time", c.name))
            }
            (Line::Summary(s), _) => summary = Some(*s),
            _ => {}
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err("empty: no run header, no cases, no summary".into());
    }
    let counted = Summary::of(lines.iter().filter_map(|l| match l {
        Line::Case(c) => Some(c.outcome),
        _ => None,
    }));
    let Some(summary) = summary else {
        return Err(format!(
            "no summary line after {} case lines: the report was cut short",
            names.len()
        ));
    };
    if summary != counted {
        return Err(format!(
            "the summary says {} but the case lines are {}",
            summary.counts(),
            counted.counts()
        ));
    }
    Ok(lines)
}
