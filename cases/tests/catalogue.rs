//! Traceability: every error path of the catalogue (fixtures/catalogue-ids.txt, the 146 ids
//! of error-paths.md §G and §1-§4) is covered by a row or listed as uncovered with a reason;
//! every path beyond it (fixtures/extension-ids.txt) is covered by a row; every id a row
//! cites is in one of the two lists; and every row carries a citation.

use std::collections::BTreeSet;
use uring_conformance::{TABLES, UNCOVERED};

/// The ids of an id list: one per line, `#` comments and blank lines ignored.
fn ids(text: &'static str) -> BTreeSet<&'static str> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect()
}

fn catalogue_ids() -> BTreeSet<&'static str> {
    ids(include_str!("../../fixtures/catalogue-ids.txt"))
}

fn extension_ids() -> BTreeSet<&'static str> {
    ids(include_str!("../../fixtures/extension-ids.txt"))
}

/// Every id cited by some row.
fn covered_ids() -> BTreeSet<&'static str> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .flat_map(|c| c.cite.catalogue.iter().copied())
        .collect()
}

#[test]
fn every_catalogue_path_is_covered_or_explained() {
    let catalogue = catalogue_ids();
    assert_eq!(catalogue.len(), 146, "the catalogue lists 146 error paths");
    let covered = covered_ids();
    let uncovered: BTreeSet<&str> = UNCOVERED
        .iter()
        .flat_map(|t| t.iter())
        .map(|(id, _)| *id)
        .collect();
    let missing: Vec<_> = catalogue
        .iter()
        .filter(|id| !covered.contains(*id) && !uncovered.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogue paths neither covered nor explained: {missing:?}"
    );
    let both: Vec<_> = covered.intersection(&uncovered).collect();
    assert!(
        both.is_empty(),
        "listed as uncovered but covered by a row: {both:?}"
    );
    let unknown: Vec<_> = uncovered
        .iter()
        .filter(|id| !catalogue.contains(*id))
        .collect();
    assert!(
        unknown.is_empty(),
        "uncovered ids not in the catalogue: {unknown:?}"
    );
}

#[test]
fn every_path_beyond_the_catalogue_is_covered() {
    let extensions = extension_ids();
    let catalogue = catalogue_ids();
    let overlap: Vec<_> = extensions.intersection(&catalogue).collect();
    assert!(overlap.is_empty(), "listed in both id files: {overlap:?}");
    let covered = covered_ids();
    let missing: Vec<_> = extensions.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "extension paths no row covers: {missing:?}"
    );
}

/// A cited id that is in neither list is a typo or an undocumented path.
#[test]
fn every_cited_id_is_listed() {
    let known: BTreeSet<&str> = catalogue_ids().union(&extension_ids()).copied().collect();
    let unknown: Vec<_> = covered_ids()
        .into_iter()
        .filter(|id| !known.contains(id))
        .collect();
    assert!(
        unknown.is_empty(),
        "rows cite ids in neither fixtures/catalogue-ids.txt nor fixtures/extension-ids.txt: {unknown:?}"
    );
}

#[test]
fn every_row_cites_a_kernel_function() {
    for c in TABLES.iter().flat_map(|t| t.iter()) {
        assert!(
            c.cite.kernel.contains(':') || c.cite.kernel.contains('.'),
            "{} cites no kernel function: {:?}",
            c.name,
            c.cite.kernel
        );
        assert!(
            c.name.contains("::"),
            "{} is not interface::scenario",
            c.name
        );
    }
}

/// Row names are unique: reports, baselines and xfail entries are keyed by them.
#[test]
fn row_names_are_unique() {
    let mut seen = BTreeSet::new();
    let dups: Vec<&str> = TABLES
        .iter()
        .flat_map(|t| t.iter())
        .map(|c| c.name)
        .filter(|n| !seen.insert(*n))
        .collect();
    assert!(dups.is_empty(), "duplicate row names: {dups:?}");
}
