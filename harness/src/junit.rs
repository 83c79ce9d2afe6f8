//! The JUnit XML report: one `<testsuite>` per interface, one `<testcase>` per case.
//!
//! Mapping: skip -> `<skipped message=reason/>`, fail -> `<failure message=... >details`,
//! broken and timeout -> `<error type="broken|timeout" message=...>details` (the case could
//! not be judged, which JUnit readers count as errors, not failures).

use crate::ktap::by_interface;
use crate::report::{Outcome, Record};
use crate::suite::SuiteVersion;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The failure's text: the record's reason, which names the call, the expected and the
/// actual answer, the level and the citation.
fn details(r: &Record) -> String {
    let mut d = r.reason.clone();
    if !d.is_empty() && !d.ends_with('\n') {
        d.push('\n');
    }
    d
}

/// A one-line summary of a failure for the `message` attribute ([`Record::headline`]).
fn summary(r: &Record) -> String {
    match r.headline() {
        h if h.is_empty() => r.outcome.name().to_string(),
        h => h,
    }
}

fn duration(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1e3).unwrap_or_default()
}

/// The JUnit status of a record: skipped with its reason; fail a `<failure>`, broken and
/// timeout an `<error>` typed by the outcome's name, each with the one-line summary and the
/// whole reason.
fn status(r: &Record) -> TestCaseStatus {
    let kind = match r.outcome {
        Outcome::Pass => return TestCaseStatus::success(),
        Outcome::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(r.reason.as_str());
            return s;
        }
        Outcome::Fail => NonSuccessKind::Failure,
        Outcome::Broken | Outcome::Timeout => NonSuccessKind::Error,
    };
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(summary(r))
        .set_type(r.outcome.name())
        .set_description(details(r));
    s
}

/// The JUnit XML document of a run; `kernel`, `strict` and the suite's version and commit go
/// into each suite's properties.
pub fn render(kernel: &str, version: SuiteVersion, strict: bool, records: &[Record]) -> String {
    let mut report = Report::new("uring-conformance");
    for (iface, rs) in by_interface(records) {
        let mut suite = TestSuite::new(iface);
        suite.add_property(Property::new("kernel", kernel));
        suite.add_property(Property::new("strict", strict.to_string()));
        suite.add_property(Property::new("suite_version", version.version));
        suite.add_property(Property::new("suite_commit", version.commit));
        suite.set_time(rs.iter().map(|r| duration(r.ms)).sum());
        for r in rs {
            let mut case = TestCase::new(r.name.as_str(), status(r));
            case.set_classname(iface).set_time(duration(r.ms));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.set_time(records.iter().map(|r| duration(r.ms)).sum());
    // The crate writes to a String: only a record it cannot represent would fail, and the
    // suite's records are text.
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- the JUnit report could not be written: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::test_record as rec;

    #[test]
    fn renders_skips_failures_and_errors() {
        let rs = vec![
            rec("a::ok", Outcome::Pass, "", true),
            rec("a::skipped", Outcome::Skip, "feature missing: \"x\"", false),
            rec(
                "a::failed",
                Outcome::Fail,
                "case a::failed\n  call: io_uring_register(fd, <op>, &iov, 1)",
                true,
            ),
            rec(
                "b::broke",
                Outcome::Broken,
                "case b::broke\n  broken: mmap & co\u{1}",
                false,
            ),
            rec(
                "b::slow",
                Outcome::Timeout,
                "case b::slow\n  timeout: 10s",
                false,
            ),
        ];
        let x = render("6.18.44", SuiteVersion::UNKNOWN, false, &rs);
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"uring-conformance\" tests=\"5\" skipped=\"1\" failures=\"1\" errors=\"2\" time=\"7.500\">\n"), "{x}");
        for want in [
            "<testsuite name=\"a\" tests=\"3\" skipped=\"1\" errors=\"0\" failures=\"1\" time=\"4.500\">",
            "<property name=\"kernel\" value=\"6.18.44\"/>",
            "<property name=\"strict\" value=\"false\"/>",
            "<property name=\"suite_commit\" value=\"unknown\"/>",
            "<testcase name=\"a::ok\" classname=\"a\" time=\"1.500\"/>",
            "<skipped message=\"environment: feature missing: &quot;x&quot;\"/>",
            "<failure message=\"expected fails with EINVAL, got fails with EFAULT\" type=\"fail\">case a::failed\n  call: io_uring_register(fd, &lt;op&gt;, &amp;iov, 1)\n</failure>",
            // XML 1.0 has no \u{1}: dropped.
            "<error message=\"broken: mmap &amp; co\" type=\"broken\">case b::broke\n  broken: mmap &amp; co\n</error>",
            "<error message=\"timeout: 10s\" type=\"timeout\">",
        ] {
            assert!(x.contains(want), "{want}\n{x}");
        }
        assert_eq!(x.matches("<testcase ").count(), 5);
        assert_eq!(x.matches("<testsuite ").count(), 2);
        assert!(x.trim_end().ends_with("</testsuite>\n</testsuites>"), "{x}");
    }
}
