//! READV_FIXED's vector: the estimate of the bvec segments its iovecs need (rsrc.c
//! io_estimate_bvec_size: per iovec `(iov_len >> folio_shift) + 2`, at most INT_MAX in all)
//! before it is grown to hold them (io_import_reg_vec -> io_vec_realloc), and its reuse by the
//! ring's next READV_FIXED (rw.c io_rw_recycle keeps the request's async data, and the vector
//! unless it has more than IO_VEC_CACHE_SOFT_CAP entries). The iovec rows are in
//! [`crate::fixed_ops`]; the estimate's rows use its buffer and checks.

use crate::common::*;
use crate::fixed_ops::{readv_fixed_case, RVF};
use std::sync::Arc;
use uring::{op, Mem, Ring};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Setup};

/// Where the reused-vector rows' file is read from, and how long it is.
const FILE_LEN: usize = 4096;

/// A ring with one registered buffer of two pages of fresh memory and a data file of
/// [`FILE_LEN`] bytes: the ring, the memory and the file's bytes.
fn ring_and_file(cx: &Cx) -> Result<(Ring, Arc<Mem>, std::fs::File, Vec<u8>), CaseError> {
    let mem = cx.mem(2 * uring::sys::page_size())?;
    let (ring, _) = ring_with_buffer_in(cx, &mem, 0)?;
    let (f, data) = data_file(cx, FILE_LEN, 7)?;
    Ok((ring, mem, f, data))
}

/// READV_FIXED (user_data 1) with these arguments on `ring`, submitted; its CQE.
pub(crate) fn submit_readv_fixed(
    cx: &Cx,
    ring: &mut Ring,
    f: &std::fs::File,
    args: op::FixedVec<'_>,
) -> Result<uring::Cqe, CaseError> {
    let sqe =
        op::readv_fixed(cx.abi(), fd(f), args).setup("lay out the iovecs for the ring's ABI")?;
    cx.submit_one(ring, sqe.user_data(1))
}

/// READV_FIXED of `iovs` (addresses relative to `mem`) from file offset `offset` into slot 0.
fn readv_at(
    cx: &Cx,
    ring: &mut Ring,
    f: &std::fs::File,
    mem: &Mem,
    iovs: &[(u64, u64)],
    offset: u64,
) -> Result<uring::Cqe, CaseError> {
    let iovs: Vec<(u64, u64)> = iovs.iter().map(|&(o, l)| (mem.addr() + o, l)).collect();
    let args = op::FixedVec {
        iovs: &iovs,
        offset,
        buf_index: 0,
    };
    submit_readv_fixed(cx, ring, f, args)
}

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
    Case::new("readv_fixed::small_after_large_vector")
        .requires(RVF)
        .expect(Expect::cqe(0x20, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_rw_recycle (vec.nr > IO_VEC_CACHE_SOFT_CAP: io_vec_free) -> rsrc.c:\
                 io_vec_free (iovec = NULL, nr = 0) / io_prep_reg_iovec",
            )
            .rows(&["rvf_nr_iovecs"])
            .note(
                "a READV_FIXED of 1024 iovecs needs a vector of 2048 entries, which the recycled \
                 request drops; the ring's next READV_FIXED reuses that request and must grow \
                 a new vector",
            ),
        )
        .run(|cx| {
            let (mut ring, mem, f, data) = ring_and_file(cx)?;
            let many: Vec<(u64, u64)> = (0..1024).map(|i| (3 * i, 1)).collect();
            let first = readv_at(cx, &mut ring, &f, &mem, &many, 0)?;
            cx.check_eq(
                "res of the READV_FIXED of 1024 one-byte iovecs",
                first.res,
                1024,
            )?;
            let page = uring::sys::page_size() as u64;
            let c = readv_at(
                cx,
                &mut ring,
                &f,
                &mem,
                &[(page + 0x10, 0x10), (page, 0x10)],
                0,
            )?;
            cx.check_eq(
                "the second page after the second read",
                mem.read(page as usize, 0x20),
                [&data[0x10..0x20], &data[..0x10]].concat(),
            )?;
            cx.observe(
                c,
                "with iovecs [{buf+page+0x10, 0x10}, {buf+page, 0x10}], after a READV_FIXED of \
                 1024 iovecs on the same ring",
            )
        }),
    Case::new("readv_fixed::no_iovecs_after_short_read")
        .requires(RVF)
        .expect(Expect::cqe(0, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_import_reg_vec (nr_iovs 0: an empty bvec iter)")
                .rows(&["rvf_no_iovecs"])
                .note(
                    "the recycled request still holds the iterator of the ring's previous \
                     READV_FIXED, which a short read left with bytes to go; none of them may be \
                     read by a READV_FIXED of no iovecs",
                ),
        )
        .run(|cx| {
            let (mut ring, mem, f, data) = ring_and_file(cx)?;
            let short = readv_at(
                cx,
                &mut ring,
                &f,
                &mem,
                &[(0, 0x100)],
                FILE_LEN as u64 - 0x10,
            )?;
            cx.check_eq(
                "res of the read of 0x100 bytes 0x10 before EOF",
                short.res,
                0x10,
            )?;
            let c = readv_at(cx, &mut ring, &f, &mem, &[], 0)?;
            let mut want = vec![0u8; mem.len()];
            want[..0x10].copy_from_slice(&data[FILE_LEN - 0x10..]);
            cx.check_eq("the buffer after both reads", mem.read(0, mem.len()), want)?;
            cx.observe(
                c,
                "with no iovecs (len 0), after a short READV_FIXED on the same ring",
            )
        }),
];
