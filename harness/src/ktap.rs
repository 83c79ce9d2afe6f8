//! The KTAP v1 document of a run (the kernel's Documentation/dev-tools/ktap.rst), for the
//! `--report-ktap` file and the `--ktap` console alike: one top-level test per interface with
//! its cases as nested subtests, `# SKIP reason` directives, and diagnostic lines with the
//! call, the expected and the actual answer before each failed case's result line, then
//! kselftest's totals line (tools/testing/selftests/kselftest.h, `ksft_print_cnts`).
//!
//! Mapping: pass -> `ok`, skip -> `ok ... # SKIP reason`, fail / broken / timeout ->
//! `not ok` (KTAP has no error status; the diagnostic names the class). kunit_parser.py counts
//! them as passed, skipped and failed; the totals line counts fail as `fail` and broken and
//! timeout as `error` (kselftest's `ksft_test_result_error`: the test could not run).

use crate::report::{Outcome, Record};
use std::fmt::Write as _;

/// Interfaces in order of first appearance, each with its records.
pub fn by_interface(records: &[Record]) -> Vec<(&str, Vec<&Record>)> {
    let mut groups: Vec<(&str, Vec<&Record>)> = Vec::new();
    for r in records {
        match groups.iter_mut().find(|(i, _)| *i == r.interface) {
            Some((_, v)) => v.push(r),
            None => groups.push((&r.interface, vec![r])),
        }
    }
    groups
}

/// One line of text safe inside a KTAP line: no newline, no `#` (which starts a directive).
fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('#', "no.")
}

/// The diagnostic lines of a failed / broken / timed-out case.
fn diagnostics(r: &Record, indent: &str, out: &mut String) {
    let _ = writeln!(out, "{indent}# {}: {}", r.name, r.outcome.name());
    let mut field = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(out, "{indent}# {k}: {}", one_line(v));
        }
    };
    field("call", &r.call);
    field("expected", &r.expected);
    field("actual", &r.actual);
    if r.answer.is_none() {
        // No observation: the reason says what happened instead.
        for l in r.reason.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = writeln!(out, "{indent}# {l}");
        }
    }
}

fn result_line(out: &mut String, indent: &str, n: usize, name: &str, r: Option<&Record>, ok: bool) {
    let status = if ok { "ok" } else { "not ok" };
    match r {
        Some(r) if r.outcome == Outcome::Skip => {
            let _ = writeln!(
                out,
                "{indent}{status} {n} {name} # SKIP {}",
                one_line(&r.reason)
            );
        }
        _ => {
            let _ = writeln!(out, "{indent}{status} {n} {name}");
        }
    }
}

/// The document's first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// `KTAP version 1` (the `--report-ktap` file).
    Ktap,
    /// `TAP version 13`, as kselftest's `ksft_print_header` prints it (the `--ktap` console).
    Kselftest,
    /// None: kselftest's runner (`KSFT_TAP_LEVEL` set) printed the header already, and
    /// `ksft_print_header` prints none then.
    Omitted,
}

impl Header {
    /// The console's header: [`Header::Kselftest`], or [`Header::Omitted`] under kselftest's
    /// runner, exactly as `ksft_print_header` decides.
    pub fn console() -> Header {
        if std::env::var_os("KSFT_TAP_LEVEL").is_some() {
            Header::Omitted
        } else {
            Header::Kselftest
        }
    }

    fn line(self) -> &'static str {
        match self {
            Header::Ktap => "KTAP version 1\n",
            Header::Kselftest => "TAP version 13\n",
            Header::Omitted => "",
        }
    }
}

/// kselftest's totals line (`ksft_print_cnts`): broken and timeout are `error`, and there
/// are no expected failures or passes.
fn totals_line(records: &[Record]) -> String {
    let totals = crate::report::totals(records);
    let count = |o: Outcome| totals.iter().find(|(c, _)| *c == o).map_or(0, |(_, n)| *n);
    format!(
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}\n",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Skip),
        count(Outcome::Broken) + count(Outcome::Timeout)
    )
}

/// The skip reason of an interface whose every case skipped: their reason when they share
/// one (io_uring unavailable, as kselftest's `ksft_exit_skip` gives it), else a summary.
fn all_skipped_reason(recs: &[&Record]) -> String {
    match recs.split_first() {
        Some((first, rest)) if rest.iter().all(|r| r.reason == first.reason) => {
            one_line(&first.reason)
        }
        _ => "every case skipped".to_string(),
    }
}

/// The KTAP document of a run.
pub fn render(records: &[Record], header: Header) -> String {
    let groups = by_interface(records);
    let mut out = String::from(header.line());
    let _ = writeln!(out, "1..{}", groups.len());
    for (gi, (iface, recs)) in groups.iter().enumerate() {
        let ind = "    ";
        let _ = writeln!(out, "{ind}KTAP version 1");
        let _ = writeln!(out, "{ind}# Subtest: {}", one_line(iface));
        let _ = writeln!(out, "{ind}1..{}", recs.len());
        for (i, r) in recs.iter().enumerate() {
            let ok = matches!(r.outcome, Outcome::Pass | Outcome::Skip);
            if !ok {
                diagnostics(r, ind, &mut out);
            }
            result_line(&mut out, ind, i + 1, &one_line(&r.name), Some(r), ok);
        }
        let all_ok = recs
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Pass | Outcome::Skip));
        let all_skipped = recs.iter().all(|r| r.outcome == Outcome::Skip);
        let name = one_line(iface);
        if all_skipped {
            let reason = all_skipped_reason(recs);
            let _ = writeln!(out, "ok {} {name} # SKIP {reason}", gi + 1);
        } else {
            result_line(&mut out, "", gi + 1, &name, None, all_ok);
        }
    }
    out + &totals_line(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, outcome: Outcome, message: &str) -> Record {
        let ran = matches!(outcome, Outcome::Pass | Outcome::Fail);
        crate::report::test_record(name, outcome, message, ran)
    }

    #[test]
    fn renders_nested_subtests_with_skips_and_diagnostics() {
        let rs = vec![
            rec("a::one", Outcome::Pass, ""),
            rec(
                "b::two",
                Outcome::Skip,
                "feature missing: x (since 6.12)\n# y",
            ),
            rec("a::three", Outcome::Fail, "case a::three\n  call: ..."),
            rec(
                "b::four",
                Outcome::Broken,
                "case b::four\n  broken: mmap failed",
            ),
            rec("c::five", Outcome::Skip, "no"),
        ];
        let k = render(&rs, Header::Ktap);
        let want = "\
KTAP version 1
1..3
    KTAP version 1
    # Subtest: a
    1..2
    ok 1 a::one
    # a::three: fail
    # call: io_uring_register(fd, <op>, &iov, 1)
    # expected: fails with EINVAL
    # actual: fails with EFAULT
    not ok 2 a::three
not ok 1 a
    KTAP version 1
    # Subtest: b
    1..2
    ok 1 b::two # SKIP environment: feature missing: x (since 6.12) no. y
    # b::four: broken
    # case b::four
    # broken: mmap failed
    not ok 2 b::four
not ok 2 b
    KTAP version 1
    # Subtest: c
    1..1
    ok 1 c::five # SKIP environment: no
ok 3 c # SKIP environment: no
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:2 error:1
";
        assert_eq!(k, want);
    }

    #[test]
    fn an_empty_run_has_an_empty_plan() {
        assert_eq!(
            render(&[], Header::Ktap),
            "KTAP version 1\n1..0\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n"
        );
    }

    /// io_uring unavailable (exit status 77): every case and every interface is `ok ... #
    /// SKIP` with the probe's reason, as kselftest's `ksft_exit_skip` prints it, in a whole
    /// document; timeouts count as `error` in the totals.
    #[test]
    fn an_unavailable_io_uring_is_a_whole_document_of_skips() {
        let denied = |name: &str| {
            Record::skipped(
                name,
                name.split("::").next().unwrap(),
                uring_report::SkipCause::IoUringUnavailable {
                    reason: "EPERM (kernel.io_uring_disabled 2)".into(),
                },
            )
        };
        let rs = [denied("a::one"), denied("a::two"), denied("b::three")];
        let k = render(&rs, Header::Kselftest);
        let want = "\
TAP version 13
1..2
    KTAP version 1
    # Subtest: a
    1..2
    ok 1 a::one # SKIP io_uring unavailable: EPERM (kernel.io_uring_disabled 2)
    ok 2 a::two # SKIP io_uring unavailable: EPERM (kernel.io_uring_disabled 2)
ok 1 a # SKIP io_uring unavailable: EPERM (kernel.io_uring_disabled 2)
    KTAP version 1
    # Subtest: b
    1..1
    ok 1 b::three # SKIP io_uring unavailable: EPERM (kernel.io_uring_disabled 2)
ok 2 b # SKIP io_uring unavailable: EPERM (kernel.io_uring_disabled 2)
# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:3 error:0
";
        assert_eq!(k, want);
        let timeout = rec("a::t", Outcome::Timeout, "case a::t\n  timeout: 10 s");
        let k = render(&[timeout], Header::Omitted);
        assert!(k.starts_with("1..1\n"), "{k}");
        assert!(k.contains("    # a::t: timeout\n    # case a::t\n"), "{k}");
        assert!(k.ends_with("not ok 1 a\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:1\n"));
    }
}
