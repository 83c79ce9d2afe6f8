//! The fixed-buffer opcodes beyond READ/WRITE_FIXED: IORING_OP_READV_FIXED /
//! WRITEV_FIXED (6.15), NOP with IORING_NOP_FIXED_BUFFER / FIXED_FILE (6.13), SEND/RECV with
//! IORING_RECVSEND_FIXED_BUF, SEND_ZC / SENDMSG_ZC with fixed buffers.

#[allow(unused_imports)]
use crate::common::*;
use uring_harness::Case;

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[];
