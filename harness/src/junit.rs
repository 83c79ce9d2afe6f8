//! The JUnit XML report: one `<testsuite>` per interface, one `<testcase>` per case.
//!
//! Mapping: skip -> `<skipped message=reason/>`, fail -> `<failure message=... >details`,
//! broken and timeout -> `<error type="broken|timeout" message=...>details` (the case could
//! not be judged, which JUnit readers count as errors, not failures).

use crate::ktap::by_interface;
use crate::report::{Outcome, Record};
use std::fmt::Write as _;

/// Text escaped for an XML attribute or element; characters XML 1.0 forbids are dropped.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' | '\t' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => o.push(c),
        }
    }
    o
}

/// Attribute text: newlines would be normalised away by readers, so encode them.
fn attr(s: &str) -> String {
    xml_escape(s).replace('\n', "&#10;").replace('\t', "&#9;")
}

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

/// The JUnit XML document of a run; `kernel` goes into each suite's properties.
pub fn render(kernel: &str, strict: bool, records: &[Record]) -> String {
    let count =
        |rs: &[&Record], f: &dyn Fn(Outcome) -> bool| rs.iter().filter(|r| f(r.outcome)).count();
    let all: Vec<&Record> = records.iter().collect();
    let secs = |rs: &[&Record]| rs.iter().map(|r| r.ms).sum::<f64>() / 1e3;
    let is_err = |o: Outcome| matches!(o, Outcome::Broken | Outcome::Timeout);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"uring-conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        all.len(),
        count(&all, &|o| o == Outcome::Fail),
        count(&all, &is_err),
        count(&all, &|o| o == Outcome::Skip),
        secs(&all)
    );
    for (iface, rs) in by_interface(records) {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            attr(iface),
            rs.len(),
            count(&rs, &|o| o == Outcome::Fail),
            count(&rs, &is_err),
            count(&rs, &|o| o == Outcome::Skip),
            secs(&rs)
        );
        let _ = writeln!(
            out,
            "    <properties>\n      <property name=\"kernel\" value=\"{}\"/>\n      <property name=\"strict\" value=\"{strict}\"/>\n    </properties>",
            attr(kernel)
        );
        for r in rs {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                attr(&r.name),
                attr(iface),
                r.ms / 1e3
            );
            match r.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Skip => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        attr(&r.reason)
                    );
                }
                o => {
                    let tag = if o == Outcome::Fail {
                        "failure"
                    } else {
                        "error"
                    };
                    let _ = writeln!(
                        out,
                        ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                        attr(&summary(r)),
                        o.name(),
                        xml_escape(&details(r))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
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
        let x = render("6.18.44", false, &rs);
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"uring-conformance\" tests=\"5\" failures=\"1\" errors=\"2\" skipped=\"1\" time=\"7.500\">\n"), "{x}");
        assert!(x.contains("  <testsuite name=\"a\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"4.500\">"));
        assert!(x.contains("<property name=\"kernel\" value=\"6.18.44\"/>"));
        assert!(x.contains("<testcase name=\"a::ok\" classname=\"a\" time=\"1.500\"/>"));
        assert!(x.contains("<skipped message=\"environment: feature missing: &quot;x&quot;\"/>"));
        assert!(x.contains("<failure message=\"expected fails with EINVAL, got fails with EFAULT\" type=\"fail\">case a::failed\n  call: io_uring_register(fd, &lt;op&gt;, &amp;iov, 1)\n</failure>"), "{x}");
        assert!(x.contains("<error message=\"broken: mmap &amp; co\" type=\"broken\">case b::broke\n  broken: mmap &amp; co\n</error>"), "{x}");
        assert!(x.contains("<error message=\"timeout: 10s\" type=\"timeout\">"));
        assert_eq!(x.matches("<testcase ").count(), 5);
        assert!(x.ends_with("  </testsuite>\n</testsuites>\n"));
    }
}
