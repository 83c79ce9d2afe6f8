//! Run records and the JSON-lines report: what libtest's output drops (outcome class,
//! skip reason, the call and the answers, the kernel release and the probe snapshot).

use crate::probe::FeatureSet;
pub use uring_report::Outcome;
use uring_report::{Case, Fact, Feature, Line, Run, Summary};

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

impl Record {
    /// A record of a trial that made no call (skipped, refused, or a strict check).
    pub fn without_call(name: &str, interface: &str, outcome: Outcome, message: String) -> Record {
        Record {
            name: name.to_string(),
            interface: interface.to_string(),
            outcome,
            message,
            call: None,
            expected: None,
            actual: None,
            level: None,
            level_seen: None,
            ms: 0.0,
        }
    }

    /// The report's case record; the time to the microsecond.
    pub fn to_case(&self) -> Case {
        Case {
            name: self.name.clone(),
            interface: self.interface.clone(),
            outcome: self.outcome,
            reason: self.message.clone(),
            call: self.call.clone(),
            expected: self.expected.clone(),
            actual: self.actual.clone(),
            level: self.level.clone(),
            level_seen: self.level_seen.clone(),
            ms: (self.ms * 1000.0).round() / 1000.0,
        }
    }
}

/// The JSON-lines report of a run: run header, probe snapshot, cases, summary.
pub fn json_lines(fs: &FeatureSet, strict: bool, records: &[Record]) -> String {
    let run = Line::Run(Run {
        kernel: fs.kernel.clone(),
        version: fs.version.version.map(|v| v.to_string()),
        version_source: fs.version.source.clone(),
        strict,
        setup_features: format!("{:#x}", fs.setup_features.0),
        sqe_ops: fs.ops.len() as u64,
        register_opcodes: fs.register_opcodes.map(u64::from),
    });
    let features = fs.detections().map(|(f, d)| {
        Line::Feature(Feature {
            name: f.name().into(),
            present: d.present,
            how: d.how.clone(),
            since: f.since().to_string(),
        })
    });
    let facts = fs.env.facts().map(|(f, d)| {
        Line::Fact(Fact {
            name: f.name().into(),
            holds: d.present,
            how: d.how.clone(),
        })
    });
    let cases = records.iter().map(|r| Line::Case(r.to_case()));
    let summary = Line::Summary(Summary::of(records.iter().map(|r| r.outcome)));
    std::iter::once(run)
        .chain(features)
        .chain(facts)
        .chain(cases)
        .chain([summary])
        .map(|l| l.to_json() + "\n")
        .collect()
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
        let mut r = test_record("a::x", Outcome::Fail, "a\"b\\c\nd\u{1}", false);
        r.ms = 1.23456;
        let j = json_lines(&FeatureSet::synthetic(&[]), false, &[r]);
        assert!(j.contains(r#""reason":"a\"b\\c\nd\u0001","#), "{j}");
        assert!(j.contains(r#""ms":1.235}"#), "{j}");
    }
}
