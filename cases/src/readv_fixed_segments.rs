//! READV_FIXED's estimate of the bvec segments its iovecs need (rsrc.c io_estimate_bvec_size:
//! per iovec `(iov_len >> folio_shift) + 2`, at most INT_MAX in all) before the vector is
//! grown to hold them (io_import_reg_vec -> io_vec_realloc). The iovec rows are in
//! [`crate::fixed_ops`]; these use its buffer and checks.

use crate::common::*;
use crate::fixed_ops::{readv_fixed_case, RVF};
use uring_harness::{Case, Cite, Expect};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// An iovec length whose estimate is `segments`: `(segments - 2)` folios of a buffer of
/// base pages (folio_shift is PAGE_SHIFT where nothing was coalesced).
fn len_for_segments(segments: u64) -> u64 {
    (segments - 2) << uring::sys::page_size().trailing_zeros()
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("readv_fixed::segments_over_int_max")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EOVERFLOW))
        .cite(
            Cite::kernel("rsrc.c:io_estimate_bvec_size (max_segs > INT_MAX)")
                .rows(&["rvf_iov_len"])
                .note(
                    "an iovec longer than the buffer is refused before its range is checked: \
                     one whose segment estimate is INT_MAX + 1 is EOVERFLOW, not EFAULT",
                ),
        )
        .run(|cx| {
            let len = len_for_segments(i32::MAX as u64 + 1);
            let what = format!("of length {len:#x} (an estimate of INT_MAX + 1 segments)");
            readv_fixed_case(cx, |b| vec![(b, len)], 0, &what)
        }),
    Case::new("readv_fixed::segments_at_int_max")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::ENOMEM))
        .cite(
            Cite::kernel("rsrc.c:io_estimate_bvec_size -> io_import_reg_vec -> io_vec_realloc")
                .rows(&["rvf_iov_len"])
                .note(
                    "an estimate of exactly INT_MAX segments passes, and the vector of INT_MAX \
                     entries it asks for is more than kmalloc ever gives: ENOMEM, before the \
                     iovec's range is checked",
                ),
        )
        .run(|cx| {
            let len = len_for_segments(i32::MAX as u64);
            let what = format!("of length {len:#x} (an estimate of INT_MAX segments)");
            readv_fixed_case(cx, |b| vec![(b, len)], 0, &what)
        }),
];
