//! IORING_REGISTER_QUERY (6.18) as a second source of truth: its answers cross-checked
//! against the calls that discriminate the same features.

#[allow(unused_imports)]
use crate::common::*;
use uring_harness::Case;

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[];
