//! The level table and its deciders.

use super::*;
use crate::version::v;

#[test]
fn the_backport_table_parses_and_names_known_levels() {
    let t = parse_backports(BACKPORTS_TXT).unwrap();
    for b in &t {
        let l = ALL.iter().find(|l| l.name == b.level);
        let l = l.unwrap_or_else(|| panic!("backports.txt names unknown level {}", b.level));
        assert_eq!(
            l.decided_by,
            Decider::Version,
            "{}: only version-decided levels use the table",
            l.name
        );
        assert!(
            b.from < l.since,
            "{}: a backport {} at or after {}",
            l.name,
            b.from,
            l.since
        );
    }
    assert!(parse_backports("x 6.12").is_err());
    assert!(parse_backports("x six").is_err());
}

/// Every level's first version is at most 7.3 (the newest series the suite was checked
/// on).
#[test]
fn every_since_is_a_real_release() {
    for l in ALL {
        assert!(l.since <= v(7, 3), "{}: since {}", l.name, l.since);
    }
}

#[test]
fn level_names_are_unique() {
    let mut names: Vec<_> = ALL.iter().map(|l| l.name).collect();
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    assert_eq!(n, names.len());
}

#[test]
fn the_version_rule() {
    let l = Level {
        name: "test_level",
        change: "x",
        since: v(7, 1),
        source: "x",
        decided_by: Decider::Version,
    };
    let d = |k| l.decide_by_version(Some(k), "test").verdict;
    assert_eq!(d(v(7, 1)), Verdict::Has);
    assert_eq!(d(KernelVersion::new(7, 2, 3)), Verdict::Has);
    assert_eq!(d(KernelVersion::new(6, 12, 200)), Verdict::Either);
    assert_eq!(l.decide_by_version(None, "x").verdict, Verdict::Either);
}

/// The committed table's 6.17.8 backport of the clone owner check: from that patch level
/// of 6.17 on the new answer is required, below it either is accepted, and another
/// series is not touched by it.
#[test]
fn a_listed_backport_decides_its_series() {
    let d = |k| CLONE_SRC_ISSUER_CHECK.decide_by_version(Some(k), "test");
    let has = d(KernelVersion::new(6, 17, 8));
    assert_eq!(has.verdict, Verdict::Has, "{has}");
    assert!(has.how.contains("backport table"), "{has}");
    assert_eq!(d(KernelVersion::new(6, 17, 7)).verdict, Verdict::Either);
    let other = d(KernelVersion::new(6, 12, 200));
    assert_eq!(other.verdict, Verdict::Either);
    assert!(other.how.contains("no backport to 6.12"), "{other}");
    assert_eq!(d(v(6, 18)).verdict, Verdict::Has);
}
