//! A baseline and a new report compared: every difference sorted ([`compare`]) and the
//! compare report as text ([`render`]).

use super::results::{Results, Xfail};
use crate::report::Outcome;
use std::fmt::Write as _;
use uring_report::LevelSeen;

/// Kinds of difference between a baseline and a new run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Worse than the baseline: makes the compare fail.
    Regression,
    /// Better than the baseline.
    Fix,
    /// A known kernel bug, still failing.
    Xfail,
    /// A known kernel bug that now passes.
    Xpass,
    /// A case the baseline does not have.
    New,
    /// A case the new run does not have.
    Removed,
    /// Something else changed (fail -> broken, feature gained).
    Changed,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Regression => "REGRESSION",
            Kind::Fix => "FIX",
            Kind::Xfail => "XFAIL",
            Kind::Xpass => "XPASS",
            Kind::New => "NEW",
            Kind::Removed => "REMOVED",
            Kind::Changed => "CHANGED",
        }
    }
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// Its kind.
    pub kind: Kind,
    /// `case NAME` or `feature NAME`.
    pub subject: String,
    /// What changed, e.g. `pass -> fail`.
    pub change: String,
    /// The new run's reason, or the xfail's reason and reference.
    pub detail: String,
}

fn bad(o: Outcome) -> bool {
    matches!(o, Outcome::Fail | Outcome::Broken | Outcome::Timeout)
}

/// Every difference between `base` and `new`, regressions first.
pub fn compare(base: &Results, new: &Results, xfail: &[Xfail]) -> Vec<Diff> {
    let series = crate::strict::series(&new.kernel).unwrap_or_default();
    let known = |case: &str| {
        xfail
            .iter()
            .find(|x| x.case == case && (x.series == "*" || x.series == series))
    };
    let mut out = Vec::new();
    let mut push = |kind, subject: String, change: String, detail: String| {
        out.push(Diff {
            kind,
            subject,
            change,
            detail,
        })
    };
    for (f, was) in &base.features {
        let lost = if base.process_features.contains(f) {
            Kind::Changed
        } else {
            Kind::Regression
        };
        match (*was, new.features.get(f)) {
            (true, Some(false)) => push(
                lost,
                format!("feature {f}"),
                "present -> missing".into(),
                String::new(),
            ),
            // A feature this version of the suite no longer probes (its probe was the call
            // of a row, or it became a fact of the environment): not the kernel's doing.
            (true, None) => push(
                Kind::Changed,
                format!("feature {f}"),
                "no longer probed".into(),
                String::new(),
            ),
            (false, Some(true)) => push(
                Kind::Changed,
                format!("feature {f}"),
                "missing -> present".into(),
                String::new(),
            ),
            _ => {}
        }
    }
    for name in &new.order {
        let n = &new.cases[name];
        let subject = format!("case {name}");
        let Some(b) = base.cases.get(name) else {
            push(Kind::New, subject, n.outcome.name().into(), n.headline());
            continue;
        };
        // A row that accepts either answer of an undecided level: the baseline pins the one
        // it saw, and the kernel going back to the old answer is a regression.
        if let (Outcome::Pass, Outcome::Pass, Some(was), Some(now)) =
            (b.outcome, n.outcome, b.level_seen, n.level_seen)
        {
            let kind = match (was, now) {
                (LevelSeen::Has, LevelSeen::Lacks) => Some(Kind::Regression),
                (LevelSeen::Lacks, LevelSeen::Has) => Some(Kind::Changed),
                _ => None,
            };
            if let Some(kind) = kind {
                let change = format!("level: {} the change -> {}", was.name(), now.name());
                push(kind, subject, change, n.headline());
                continue;
            }
        }
        let change = format!("{} -> {}", b.outcome.name(), n.outcome.name());
        if let Some(x) = known(name) {
            let why = format!("{} ({})", x.reason, x.reference);
            if bad(n.outcome) {
                push(Kind::Xfail, subject, change, why);
                continue;
            }
            if n.outcome == Outcome::Pass {
                push(Kind::Xpass, subject, change, why);
                continue;
            }
        }
        let kind = match (b.outcome, n.outcome) {
            (x, y) if x == y => continue,
            (Outcome::Pass, _) => Kind::Regression,
            (Outcome::Skip, y) if bad(y) => Kind::Regression,
            (_, Outcome::Pass) => Kind::Fix,
            _ => Kind::Changed,
        };
        push(kind, subject, change, n.headline());
    }
    for name in &base.order {
        if !new.cases.contains_key(name) {
            push(
                Kind::Removed,
                format!("case {name}"),
                format!("was {}", base.cases[name].outcome.name()),
                String::new(),
            );
        }
    }
    out.sort_by_key(|d| d.kind);
    out
}

/// The compare report as text.
pub fn render(base: &Results, new: &Results, diffs: &[Diff]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "baseline: kernel {} ({} cases); new: kernel {} ({} cases)",
        base.kernel,
        base.cases.len(),
        new.kernel,
        new.cases.len()
    );
    for d in diffs {
        let _ = write!(o, "{:<10} {}: {}", d.kind.label(), d.subject, d.change);
        if !d.detail.is_empty() {
            let _ = write!(o, " ({})", d.detail);
        }
        o.push('\n');
    }
    let n = |k: Kind| diffs.iter().filter(|d| d.kind == k).count();
    let _ = writeln!(
        o,
        "{} regressions, {} fixes, {} xfail, {} xpass, {} new, {} removed, {} other changes",
        n(Kind::Regression),
        n(Kind::Fix),
        n(Kind::Xfail),
        n(Kind::Xpass),
        n(Kind::New),
        n(Kind::Removed),
        n(Kind::Changed)
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::results::{parse_xfail, report};

    #[test]
    fn a_baseline_pins_the_answer_of_an_undecided_level() {
        let run = |seen: &str| {
            let s = format!(
                "{{\"type\":\"run\",\"kernel\":\"6.12.50\"}}\n{{\"type\":\"case\",\"name\":\"a::x\",\"interface\":\"a\",\"outcome\":\"pass\",\"reason\":\"\",\"level\":\"l: undecided\",\"level_seen\":\"{seen}\"}}\n{{\"type\":\"summary\",\"pass\":1}}\n"
            );
            Results::parse(&s).unwrap()
        };
        let d = compare(&run("has"), &run("lacks"), &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, Kind::Regression, "{}", d[0].change);
        assert_eq!(d[0].change, "level: has the change -> lacks");
        let d = compare(&run("lacks"), &run("has"), &[]);
        assert_eq!(d[0].kind, Kind::Changed);
        assert!(compare(&run("has"), &run("has"), &[]).is_empty());
    }

    #[test]
    fn a_feature_no_longer_probed_is_no_regression() {
        let base = report("6.18.1", &[("blind_register", true)], &[]);
        let new = report("6.18.1", &[], &[]);
        let d = compare(&base, &new, &[]);
        assert_eq!(d[0].kind, Kind::Changed);
        assert_eq!(d[0].change, "no longer probed");
    }

    #[test]
    fn sorts_regressions_fixes_new_and_removed() {
        let base = report(
            "6.18.1",
            &[("f", true), ("g", false), ("h", true), ("cap", true)],
            &[
                ("a::p2f", "pass"),
                ("a::p2s", "pass"),
                ("a::f2p", "fail"),
                ("a::s2f", "skip"),
                ("a::same", "pass"),
                ("a::gone", "pass"),
                ("a::f2b", "fail"),
            ],
        );
        let new = report(
            "6.18.9",
            &[("f", false), ("g", true), ("h", true), ("cap", false)],
            &[
                ("a::p2f", "fail"),
                ("a::p2s", "skip"),
                ("a::f2p", "pass"),
                ("a::s2f", "timeout"),
                ("a::same", "pass"),
                ("a::f2b", "broken"),
                ("a::fresh", "pass"),
            ],
        );
        let d = compare(&base, &new, &[]);
        let got: Vec<(Kind, &str, &str)> = d
            .iter()
            .map(|d| (d.kind, d.subject.as_str(), d.change.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Regression, "feature f", "present -> missing"),
                (Kind::Regression, "case a::p2f", "pass -> fail"),
                (Kind::Regression, "case a::p2s", "pass -> skip"),
                (Kind::Regression, "case a::s2f", "skip -> timeout"),
                (Kind::Fix, "case a::f2p", "fail -> pass"),
                (Kind::New, "case a::fresh", "pass"),
                (Kind::Removed, "case a::gone", "was pass"),
                (Kind::Changed, "feature cap", "present -> missing"),
                (Kind::Changed, "feature g", "missing -> present"),
                (Kind::Changed, "case a::f2b", "fail -> broken"),
            ]
        );
        let text = render(&base, &new, &d);
        assert!(text.contains("REGRESSION case a::p2f: pass -> fail (why \"A\")\n"));
        assert!(text.ends_with(
            "4 regressions, 1 fixes, 0 xfail, 0 xpass, 1 new, 1 removed, 3 other changes\n"
        ));
    }

    #[test]
    fn known_kernel_bugs_are_xfail_and_xpass() {
        let xf = parse_xfail(
            "# known bugs\n\
             a::bug | 6.18 | https://example.invalid/bug | EFAULT instead of EINVAL\n\
             a::any | * | commit 0123abcd | wrong flags\n\
             a::other | 6.1 | ref | only on 6.1\n",
        )
        .unwrap();
        assert_eq!(xf.len(), 3);
        let base = report(
            "6.18.1",
            &[],
            &[("a::bug", "pass"), ("a::any", "fail"), ("a::other", "pass")],
        );
        let new = report(
            "6.18.2",
            &[],
            &[("a::bug", "fail"), ("a::any", "pass"), ("a::other", "fail")],
        );
        let d = compare(&base, &new, &xf);
        let kinds: Vec<(Kind, &str)> = d.iter().map(|d| (d.kind, d.subject.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Kind::Regression, "case a::other"),
                (Kind::Xfail, "case a::bug"),
                (Kind::Xpass, "case a::any"),
            ]
        );
        assert_eq!(
            d[1].detail,
            "EFAULT instead of EINVAL (https://example.invalid/bug)"
        );
        assert!(parse_xfail("a::x | 6.18 | ref").is_err());
    }
}
