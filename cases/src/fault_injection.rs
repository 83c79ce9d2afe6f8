//! Allocation-failure paths reached with the kernel's fault injection
//! (/proc/thread-self/fail-nth): ENOMEM of registration, clone, buffer rings and MSG_RING, and
//! the EOVERFLOW of a failed overflow-entry allocation. Each checks nothing is left half-installed.

#[allow(unused_imports)]
use crate::common::*;
use uring_harness::Case;

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[];
