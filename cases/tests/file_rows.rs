//! docs/file-rows-audit.md is the audit of the rows that do I/O on a file in TMPDIR: every
//! row it names exists and declares exactly the TMPDIR facts (`tmpdir_*`) its last column
//! gives, and every row that declares a TMPDIR fact is named there. A row that starts to
//! depend on the temp directory's filesystem, or stops, shows up here until the audit says so.

use std::collections::{BTreeMap, BTreeSet};
use uring_conformance::TABLES;

const AUDIT: &str = include_str!("../../docs/file-rows-audit.md");

/// The backticked words of a table cell.
fn ticked(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2)
}

/// The audit's rows: case name -> the TMPDIR facts it declares.
fn audited() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut rows = BTreeMap::new();
    for line in AUDIT.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        assert_eq!(cells.len(), 4, "an audit row has four cells: {line}");
        let facts: BTreeSet<&str> = ticked(cells[3])
            .filter(|f| f.starts_with("tmpdir_"))
            .collect();
        for name in ticked(cells[0]).filter(|n| !n.contains('*')) {
            assert!(
                rows.insert(name, facts.clone()).is_none(),
                "{name} is in the audit twice"
            );
        }
    }
    rows
}

/// Every case of the table: name -> the TMPDIR facts it needs.
fn declared() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .map(|c| {
            let facts = c
                .needs
                .iter()
                .map(|f| f.name())
                .filter(|f| f.starts_with("tmpdir_"))
                .collect();
            (c.name, facts)
        })
        .collect()
}

#[test]
fn the_audit_names_rows_that_exist_with_the_facts_they_declare() {
    let declared = declared();
    let audited = audited();
    assert!(audited.len() > 100, "the audit's table was not read");
    for (name, facts) in &audited {
        let Some(has) = declared.get(name) else {
            panic!("the audit names {name}, which is no row");
        };
        assert_eq!(has, facts, "{name}: TMPDIR facts in the table vs the audit");
    }
}

#[test]
fn every_row_that_declares_a_tmpdir_fact_is_audited() {
    let audited = audited();
    let missing: Vec<_> = declared()
        .into_iter()
        .filter(|(name, facts)| !facts.is_empty() && !audited.contains_key(name))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/file-rows-audit.md: {missing:?}"
    );
}
