//! Run records and the JSON-lines report: what libtest's output drops (outcome class,
//! skip reason, the call and the answers, the kernel release and the probe snapshot).

use crate::probe::FeatureSet;
use std::fmt::Write as _;

/// Outcome classes (see DESIGN.md for how each maps to libtest, KTAP, JUnit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// Every class, in report order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Skip,
        Outcome::Broken,
        Outcome::Timeout,
    ];
    /// The outcome with this report name.
    pub fn from_name(n: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == n)
    }
}

/// One case's result.
#[derive(Clone, Debug)]
pub struct Record {
    /// `interface::scenario`.
    pub name: String,
    /// The interface.
    pub interface: String,
    /// The class.
    pub outcome: Outcome,
    /// Skip reason, or failure / broken / timeout message.
    pub message: String,
    /// The call under test, if reached.
    pub call: Option<String>,
    /// Expected answer (rendered), if the case ran.
    pub expected: Option<String>,
    /// Actual answer (rendered), if the case ran.
    pub actual: Option<String>,
    /// For a multi-answer row: its level and how it was decided.
    pub level: Option<String>,
    /// For a row whose level nothing decided: which answer the kernel gave ("has" the
    /// change or "lacks" it), so that a baseline pins it.
    pub level_seen: Option<String>,
    /// Wall time in milliseconds.
    pub ms: f64,
}

/// JSON string literal (the escaping is the matrix crate's, which reads these reports).
pub fn json_str(s: &str) -> String {
    format!("\"{}\"", uring_matrix::json::escape(s))
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "null".to_string(), json_str)
}

/// The JSON-lines report of a run: run header, probe snapshot, cases, summary.
pub fn json_lines(fs: &FeatureSet, strict: bool, records: &[Record]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{{\"type\":\"run\",\"kernel\":{},\"version\":{},\"version_source\":{},\"strict\":{},\"setup_features\":\"{:#x}\",\"sqe_ops\":{},\"register_opcodes\":{}}}",
        json_str(&fs.kernel),
        fs.version.version.map_or("null".into(), |v| json_str(&v.to_string())),
        json_str(&fs.version.source),
        strict,
        fs.setup_features.0,
        fs.ops.len(),
        fs.register_opcodes.map_or("null".into(), |n| n.to_string())
    );
    for (f, d) in fs.detections() {
        let _ = writeln!(
            out,
            "{{\"type\":\"feature\",\"name\":{},\"present\":{},\"how\":{},\"since\":{}}}",
            json_str(f.name()),
            d.present,
            json_str(&d.how),
            json_str(&f.since().to_string())
        );
    }
    for (f, d) in fs.env.facts() {
        let _ = writeln!(
            out,
            "{{\"type\":\"fact\",\"name\":{},\"holds\":{},\"how\":{}}}",
            json_str(f.name()),
            d.present,
            json_str(&d.how)
        );
    }
    for r in records {
        let _ = writeln!(
            out,
            "{{\"type\":\"case\",\"name\":{},\"interface\":{},\"outcome\":\"{}\",\"reason\":{},\"call\":{},\"expected\":{},\"actual\":{},\"level\":{},\"level_seen\":{},\"ms\":{:.3}}}",
            json_str(&r.name),
            json_str(&r.interface),
            r.outcome.name(),
            json_str(&r.message),
            opt(&r.call),
            opt(&r.expected),
            opt(&r.actual),
            opt(&r.level),
            opt(&r.level_seen),
            r.ms
        );
    }
    let totals: Vec<String> = totals(records)
        .iter()
        .map(|(o, n)| format!("\"{}\":{n}", o.name()))
        .collect();
    let _ = writeln!(out, "{{\"type\":\"summary\",{}}}", totals.join(","));
    out
}

/// How many records of each class, in [`Outcome::ALL`] order.
pub fn totals(records: &[Record]) -> [(Outcome, usize); 5] {
    Outcome::ALL.map(|o| (o, records.iter().filter(|r| r.outcome == o).count()))
}

/// A record for tests of the renderers; `ran` gives it a call and answers.
#[cfg(test)]
pub(crate) fn test_record(name: &str, outcome: Outcome, message: &str, ran: bool) -> Record {
    Record {
        name: name.into(),
        interface: name.split("::").next().unwrap_or(name).into(),
        outcome,
        message: message.into(),
        call: ran.then(|| "io_uring_register(fd, <op>, &iov, 1)".into()),
        expected: ran.then(|| "fails with EINVAL".into()),
        actual: ran.then(|| "fails with EFAULT".into()),
        level: None,
        level_seen: None,
        ms: 1500.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn summary_counts_every_class() {
        let rs = [
            test_record("a::x", Outcome::Skip, "", false),
            test_record("a::y", Outcome::Timeout, "", false),
        ];
        let j = json_lines(&FeatureSet::synthetic(&[]), false, &rs);
        assert!(j.ends_with(
            "{\"type\":\"summary\",\"pass\":0,\"fail\":0,\"skip\":1,\"broken\":0,\"timeout\":1}\n"
        ));
    }
    #[test]
    fn json_escapes_control_characters() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
