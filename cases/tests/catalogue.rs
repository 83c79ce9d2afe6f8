//! Traceability: every error path of the catalogue (fixtures/catalogue-ids.txt, the 146 ids
//! of error-paths.md §G and §1-§4) is covered by a row or listed as uncovered with a reason,
//! and every row carries a citation.

use std::collections::BTreeSet;
use uring_conformance::{TABLES, UNCOVERED};

#[test]
fn every_catalogue_path_is_covered_or_explained() {
    let ids = include_str!("../../fixtures/catalogue-ids.txt");
    let catalogue: BTreeSet<&str> = ids
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(catalogue.len(), 146, "the catalogue lists 146 error paths");
    let covered: BTreeSet<&str> = TABLES
        .iter()
        .flat_map(|t| t.iter())
        .flat_map(|c| c.cite.catalogue.iter().copied())
        .collect();
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
