//! The KTAP v1 report (the kernel's Documentation/dev-tools/ktap.rst): one subtest per
//! interface, one result line per case, `# SKIP reason` directives, and diagnostic lines with
//! the call, the expected and the actual answer before each failed case's result line.
//!
//! Mapping: pass -> `ok`, skip -> `ok ... # SKIP reason`, fail / broken / timeout ->
//! `not ok` (KTAP has no error status; the diagnostic names the class). kunit_parser.py counts
//! them as passed, skipped and failed.

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

/// The KTAP document of a run.
pub fn render(records: &[Record]) -> String {
    let groups = by_interface(records);
    let mut out = String::from("KTAP version 1\n");
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
            let _ = writeln!(out, "ok {} {name} # SKIP every case skipped", gi + 1);
        } else {
            result_line(&mut out, "", gi + 1, &name, None, all_ok);
        }
    }
    let totals: Vec<String> = crate::report::totals(records)
        .iter()
        .map(|(o, n)| format!("{}:{n}", o.name()))
        .collect();
    let _ = writeln!(out, "# Totals: {}", totals.join(" "));
    out
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
        let k = render(&rs);
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
ok 3 c # SKIP every case skipped
# Totals: pass:1 fail:1 skip:2 broken:1 timeout:0
";
        assert_eq!(k, want);
    }

    #[test]
    fn an_empty_run_has_an_empty_plan() {
        assert_eq!(
            render(&[]),
            "KTAP version 1\n1..0\n# Totals: pass:0 fail:0 skip:0 broken:0 timeout:0\n"
        );
    }
}
