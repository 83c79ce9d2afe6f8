//! The level table and its deciders.

use super::*;
use crate::version::v;

/// The committed table, parsed strictly: any bad line fails here (and exits 2 at run
/// time), never reads as an empty table.
#[test]
fn the_committed_backport_table_is_well_formed() {
    let t = Backports::parse(BACKPORTS_TXT).unwrap_or_else(|e| panic!("{e}"));
    assert!(t.iter().count() >= 4, "{t:?}");
    assert_eq!(Backports::committed(), Ok(&t));
}

/// Each kind of bad line is an error naming its line.
#[test]
fn a_malformed_backport_line_is_an_error_naming_it() {
    let reject = |line: &str, want: &str| {
        let text = format!("# comment\n\nclone_src_issuer_check 6.17.8 ref\n{line}\n");
        let e = Backports::parse(&text).expect_err(line);
        assert_eq!(e.line, 4, "{line}: {e}");
        assert!(e.to_string().contains(want), "{line}: {e}");
    };
    reject("pbuf_inc_flag", "want `level X.Y.Z reference`");
    reject("pbuf_inc_flag 6.6.1", "no reference");
    reject("no_such_level 6.6.1 ref", "is not a level");
    reject("pbuf_ring 5.15.1 ref", "not by version");
    reject("pbuf_inc_flag six ref", "not a kernel version");
    reject("pbuf_inc_flag 6.6.1-rc1 ref", "not exactly X.Y.Z");
    reject("pbuf_inc_flag 6.6 ref", "names no patch level");
    reject("pbuf_inc_flag 6.12.3 ref", "at or after its first version");
    reject(
        "clone_src_issuer_check 6.17.9 ref",
        "listed for 6.17 already",
    );
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
    let d = |k| {
        l.decide_by_version(Some(k), "test", &Backports::NONE)
            .verdict
    };
    assert_eq!(d(v(7, 1)), Verdict::Has);
    assert_eq!(d(KernelVersion::new(7, 2, 3)), Verdict::Has);
    assert_eq!(d(KernelVersion::new(6, 12, 200)), Verdict::Either);
    let unknown = l.decide_by_version(None, "x", &Backports::NONE);
    assert_eq!(unknown.verdict, Verdict::Either);
}

/// The committed table's 6.17.8 backport of the clone owner check: from that patch level
/// of 6.17 on the new answer is required, below it either is accepted, and another
/// series is not touched by it.
#[test]
fn a_listed_backport_decides_its_series() {
    let table = Backports::committed().unwrap();
    let d = |k| CLONE_SRC_ISSUER_CHECK.decide_by_version(Some(k), "test", table);
    let has = d(KernelVersion::new(6, 17, 8));
    assert_eq!(has.verdict, Verdict::Has, "{has}");
    assert!(has.how.contains("backport table"), "{has}");
    assert_eq!(d(KernelVersion::new(6, 17, 7)).verdict, Verdict::Either);
    let other = d(KernelVersion::new(6, 12, 200));
    assert_eq!(other.verdict, Verdict::Either);
    assert!(other.how.contains("no backport to 6.12"), "{other}");
    assert_eq!(d(v(6, 18)).verdict, Verdict::Has);
}

/// The snapshot holds every level; `decide` reads it (a feature set whose snapshot says
/// otherwise than its probe is believed), and hiding a feature decides again the levels
/// its probe decides.
#[test]
fn levels_are_read_from_the_snapshot() {
    let mut fs = FeatureSet::synthetic(&[Feature::SyncMsgRing]);
    assert_eq!(fs.levels.iter().count(), ALL.len());
    assert_eq!(BLIND_REGISTER.decide(&fs).verdict, Verdict::Has);
    fs.hide(&[Feature::SyncMsgRing]);
    assert_eq!(BLIND_REGISTER.decide(&fs).verdict, Verdict::Lacks);
    let mut told = FeatureSet::synthetic(&[]);
    told.levels = fs.levels.clone();
    told.version = crate::version::from_release("7.2.13", "");
    assert_eq!(
        PBUF_MMAP_REGION_ERRNO.decide(&told).verdict,
        Verdict::Either
    );
}

/// A child process gets exactly the parent's decisions, and a damaged hand-over is an error.
#[test]
fn levels_round_trip_to_a_child() {
    let mut fs = FeatureSet::synthetic(&[Feature::PbufRing]);
    fs.version = crate::version::from_release("6.17.8", "");
    let levels = Levels::decide(&fs, Backports::committed().unwrap());
    let back = Levels::from_json(&levels.to_json()).unwrap();
    assert_eq!(back, levels);
    assert_eq!(
        back.get(&CLONE_SRC_ISSUER_CHECK).unwrap().verdict,
        Verdict::Has
    );
    assert!(Levels::from_json("").is_err());
    assert!(Levels::from_json("{}").unwrap_err().contains("is missing"));
    let unknown = levels
        .to_json()
        .replacen('{', "{\"x\":{\"verdict\":\"has\",\"how\":\"\"},", 1);
    assert!(Levels::from_json(&unknown)
        .unwrap_err()
        .contains("unknown level"));
    let bad = levels.to_json().replace("\"has\"", "\"maybe\"");
    assert!(Levels::from_json(&bad).is_err());
}
