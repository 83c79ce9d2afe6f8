//! Run records and the JSON-lines report: what libtest's output drops (outcome class,
//! skip reason, the call and the answers, the kernel release and the probe snapshot).

use crate::probe::FeatureSet;
use crate::suite::SuiteVersion;
pub use uring_report::Outcome;
use uring_report::{Fact, Feature, Line, Run, Summary};

/// One case's result: the report crate's case record, built by the harness and rendered
/// by every report (there is no second model of it).
pub use uring_report::Case as Record;

/// The JSON-lines report of a run: run header, probe snapshot, cases, summary.
pub fn json_lines(
    fs: &FeatureSet,
    suite: SuiteVersion,
    strict: bool,
    records: &[Record],
) -> String {
    let run = Line::Run(Run {
        kernel: fs.kernel.clone(),
        version: fs.version.version.map(|v| v.to_string()),
        version_source: fs.version.source.clone(),
        strict,
        setup_features: format!("{:#x}", fs.setup_features.0),
        sqe_ops: fs.ops.len() as u64,
        register_opcodes: fs.register_opcodes.map(u64::from),
        suite_version: Some(suite.version.into()),
        suite_commit: Some(suite.commit.into()),
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
    // The time to the microsecond.
    let cases = records.iter().map(|r| {
        Line::Case(Box::new(Record {
            ms: (r.ms * 1000.0).round() / 1000.0,
            ..r.clone()
        }))
    });
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

/// A record for tests of the renderers; `ran` gives it a call and answers, else the message
/// is an error's detail (or, skipped, an environment's cause).
#[cfg(test)]
pub(crate) fn test_record(name: &str, outcome: Outcome, message: &str, ran: bool) -> Record {
    let interface = name.split("::").next().unwrap_or(name);
    let mut r = match outcome {
        Outcome::Skip => Record::skipped(
            name,
            interface,
            uring_report::SkipCause::Environment {
                what: message.into(),
            },
        ),
        _ => Record::new(name, interface, outcome),
    };
    if outcome != Outcome::Skip {
        r.reason = message.into();
    }
    if ran {
        r.call = Some("io_uring_register(fd, <op>, &iov, 1)".into());
        r.expected = Some("fails with EINVAL".into());
        r.actual = Some("fails with EFAULT".into());
        r.accepts = Some(vec![uring_report::Answer::Err(22)]);
        r.answer = Some(uring_report::Answer::Err(14));
    } else if outcome.is_failing() {
        r.detail = message.lines().last().map(|l| l.trim().to_string());
    }
    r.ms = 1500.0;
    r
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
        let j = json_lines(
            &FeatureSet::synthetic(&[]),
            SuiteVersion::UNKNOWN,
            false,
            &rs,
        );
        assert!(j.ends_with(
            "{\"type\":\"summary\",\"pass\":0,\"fail\":0,\"skip\":1,\"broken\":0,\"timeout\":1}\n"
        ));
    }
    #[test]
    fn json_escapes_control_characters() {
        let mut r = test_record("a::x", Outcome::Fail, "a\"b\\c\nd\u{1}", false);
        r.ms = 1.23456;
        let j = json_lines(
            &FeatureSet::synthetic(&[]),
            SuiteVersion::UNKNOWN,
            false,
            &[r],
        );
        assert!(j.contains(r#""reason":"a\"b\\c\nd\u0001","#), "{j}");
        assert!(j.contains(r#""ms":1.235,"detail":"d\u0001"}"#), "{j}");
    }

    /// A report the harness writes reads back through the report crate as the same records
    /// and the same text, typed fields included.
    #[test]
    fn a_written_report_round_trips() {
        let mut fail = test_record("a::f", Outcome::Fail, "case a::f\n  call: c", true);
        fail.decision = Some(uring_report::LevelDecision {
            level: "l".into(),
            verdict: uring_report::LevelVerdict::Either,
            how: "h".into(),
        });
        let rs = [
            test_record("a::p", Outcome::Pass, "", true),
            test_record("a::s", Outcome::Skip, "x", false),
            fail,
            test_record("a::b", Outcome::Broken, "case a::b\n  broken: y", false),
        ];
        let suite = SuiteVersion {
            version: "1.2.3",
            commit: "0123abc",
            commit_how: "",
        };
        let text = json_lines(&FeatureSet::synthetic(&[]), suite, true, &rs);
        let lines = uring_report::read_report(&text).unwrap();
        let Some(uring_report::Line::Run(run)) = lines.first() else {
            panic!("{text}")
        };
        assert_eq!(
            (run.suite_version.as_deref(), run.suite_commit.as_deref()),
            (Some("1.2.3"), Some("0123abc"))
        );
        for (line, original) in lines.iter().zip(text.lines()) {
            assert_eq!(line.to_json(), original);
        }
        let report = uring_report::Report::read(&text).unwrap();
        assert_eq!(report.cases, rs);
        assert_eq!(
            report.case("a::s").and_then(|c| c.cause.clone()),
            Some(uring_report::SkipCause::Environment { what: "x".into() })
        );
    }
}
