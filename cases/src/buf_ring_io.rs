//! Provided-buffer rings in use on sockets, pipes and files: IORING_RECVSEND_BUNDLE (6.10,
//! on IOU_PBUF_RING_INC rings 6.15), incremental consumption (IOU_PBUF_RING_INC) and the
//! IORING_CQE_F_BUF_MORE rules, min_left.

#[allow(unused_imports)]
use crate::common::*;
use uring_harness::Case;

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[];
