//! The fixed-buffer opcodes beyond READ/WRITE_FIXED: IORING_OP_READV_FIXED /
//! WRITEV_FIXED (6.15). NOP with IORING_NOP_FIXED_BUFFER / FIXED_FILE (6.13) is in
//! `fixed_nop`. The socket
//! opcodes on registered buffers are in `fixed_net` (SEND/RECV with
//! IORING_RECVSEND_FIXED_BUF) and `fixed_net_zc` (SEND_ZC, SENDMSG_ZC).

use crate::common::*;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use uring::register::Iov;
use uring::{op, ForeignAddr, Mem, Ring};
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

pub(crate) const RVF: &[Feature] = &[Feature::OpReadvFixed];

/// Where the registered buffer of the vectored rows starts in its memory: not on a page
/// boundary, so the first bvec has a `bv_offset` that io_vec_fill_bvec must account for.
const LEAD: usize = 0x100;
/// The vectored rows' buffer: three pages of this machine from `LEAD` on, so that it ends on
/// a page boundary and its ranges can cross two (a literal 4096 crosses none on 16 KiB pages).
fn buf_len() -> usize {
    buf_len_at(uring::sys::page_size())
}

/// [`buf_len`] with pages of `page` bytes.
fn buf_len_at(page: usize) -> usize {
    3 * page - LEAD
}
/// The length of the data file the reads read from.
const FILE_LEN: usize = 16384;

/// A ring with one registered buffer of [`buf_len`] bytes at `LEAD` into fresh (zeroed)
/// memory; returns the ring, the memory and the buffer's address.
fn ring_with_vector_buffer(cx: &Cx) -> Result<(Ring, Arc<Mem>, u64), CaseError> {
    let mem = cx.mem(LEAD + buf_len())?;
    let (ring, base) = ring_with_buffer_in(cx, &mem, LEAD)?;
    Ok((ring, mem, base))
}

/// `[{buf+off, len}, ...]`, relative to the registered buffer's start.
fn iovs_rel(base: u64, iovs: &[(u64, u64)]) -> String {
    let one = |&(a, l): &(u64, u64)| match a {
        0 => format!("{{NULL, {l:#x}}}"),
        a if a >= base => format!("{{buf+{:#x}, {l:#x}}}", a - base),
        a => format!("{{buf-{:#x}, {l:#x}}}", base - a),
    };
    format!("[{}]", iovs.iter().map(one).collect::<Vec<_>>().join(", "))
}

/// READV_FIXED of `iovs` from a fresh data file into buffer `buf_index` of a ring made by
/// [`ring_with_buffer`], observed. Checks the effect: on success each iovec holds the next
/// bytes of the file, in order, and no other byte of the memory changed; on failure no
/// byte changed.
pub(crate) fn readv_fixed_case(
    cx: &Cx,
    iovs: impl Fn(u64) -> Vec<(u64, u64)>,
    buf_index: u16,
    what: &str,
) -> CaseResult {
    let (mut ring, mem, base) = ring_with_vector_buffer(cx)?;
    let iovs = iovs(base);
    let (f, data) = data_file(cx, FILE_LEN, 3)?;
    let c = cx.submit_one(
        &mut ring,
        op::readv_fixed(
            cx.abi(),
            fd(&f),
            op::FixedVec {
                iovs: &iovs,
                offset: 0,
                buf_index,
            },
        )
        .setup("lay out the iovecs for the ring's ABI")?
        .user_data(1),
    )?;
    let mut want = vec![0u8; mem.len()];
    if c.res > 0 {
        let mut pos = 0usize;
        for &(a, l) in &iovs {
            let n = (l as usize).min(c.res as usize - pos);
            let off = a.checked_sub(mem.addr()).map(|o| o as usize);
            let Some(off) = off.filter(|o| o + n <= want.len()) else {
                return Err(CaseError::Fail(format!(
                    "res {} although the iovecs {} leave the memory",
                    c.res,
                    iovs_rel(base, &iovs)
                )));
            };
            want[off..off + n].copy_from_slice(&data[pos..pos + n]);
            pos += n;
        }
    }
    cx.check_eq(
        "the memory after the read (iovec ranges hold the file's bytes in order, the rest zero)",
        mem.read(0, mem.len()),
        want,
    )?;
    cx.observe(
        c,
        &format!(
            "with iovecs {} into a buffer of {:#x} bytes at a page offset {LEAD:#x}, {what}",
            iovs_rel(base, &iovs),
            buf_len()
        ),
    )
}

/// WRITEV_FIXED of `iovs` of a buffer holding a pattern into an empty file, observed;
/// checks the file holds the ranges' bytes in order (nothing where the call failed).
fn writev_fixed_case(cx: &Cx, iovs: impl Fn(u64) -> Vec<(u64, u64)>, what: &str) -> CaseResult {
    let (mut ring, mem, base) = ring_with_vector_buffer(cx)?;
    let src = pattern(mem.len(), 9);
    mem.write(0, &src);
    let iovs = iovs(base);
    let f = cx.file_for_writes(buf_len() as u64)?;
    let c = cx.submit_one(
        &mut ring,
        op::writev_fixed(
            cx.abi(),
            fd(&f),
            op::FixedVec {
                iovs: &iovs,
                offset: 0,
                buf_index: 0,
            },
        )
        .setup("lay out the iovecs for the ring's ABI")?
        .user_data(1),
    )?;
    let mut want = Vec::new();
    if c.res > 0 {
        for &(a, l) in &iovs {
            let range = a.checked_sub(mem.addr()).and_then(|o| {
                let o = o as usize;
                src.get(o..o.checked_add(l as usize)?)
            });
            let Some(range) = range else {
                return Err(CaseError::Fail(format!(
                    "res {} although the iovecs {} leave the memory",
                    c.res,
                    iovs_rel(base, &iovs)
                )));
            };
            want.extend_from_slice(range);
        }
    }
    let mut got = vec![0u8; want.len() + 64];
    let n = f.read_at(&mut got, 0).setup("read the file back")?;
    got.truncate(n);
    cx.check_eq("the file after the write", got, want)?;
    cx.observe(
        c,
        &format!(
            "with iovecs {} of a buffer at a page offset {LEAD:#x}, {what}",
            iovs_rel(base, &iovs)
        ),
    )
}

/// Ranges inside the buffer that cross both page boundaries, out of address order, the last
/// ending at the buffer's last byte but one. With 4 KiB pages: +0x1e00, +0xe80, +0x1000, +0,
/// +0x2200.
fn across_pages(b: u64) -> Vec<(u64, u64)> {
    across_pages_at(b, uring::sys::page_size())
}

/// [`across_pages`] with pages of `page` bytes.
fn across_pages_at(b: u64, page: usize) -> Vec<(u64, u64)> {
    // The buffer's page boundaries, relative to its start.
    let (first, second) = ((page - LEAD) as u64, (2 * page - LEAD) as u64);
    vec![
        (b + second - 0x100, 0x300),
        (b + first - 0x80, 0x100),
        (b + first + 0x100, 0xd00),
        (b, 1),
        (b + buf_len_at(page) as u64 - 0xd00, 0xcff),
    ]
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("readv_fixed::ranges_across_pages")
        .requires(RVF)
        .expect(Expect::cqe(0x1e00, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_import_reg_vec -> io_vec_fill_bvec")
                .rows(&["rvf_ranges"])
                .note(
                    "four ranges out of address order, crossing both page boundaries of a buffer \
                     that starts 0x100 into its page (bvec[0].bv_offset)",
                ),
        )
        .run(|cx| readv_fixed_case(cx, across_pages, 0, "from a 16 KiB file")),
    Case::new("readv_fixed::second_buffer")
        .requires(RVF)
        .expect(Expect::cqe(0x200, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_find_buf_node (req->buf_index) -> io_vec_fill_bvec")
                .rows(&["rvf_ranges"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let mem = cx.mem(2 * 4096)?;
            ring.registrar()
                .register_buffers(&[
                    Iov::Mem(mem.slice(0, 4096)),
                    Iov::Mem(mem.slice(4096, 4096)),
                ])
                .setup("register two buffers")?;
            let (f, data) = data_file(cx, 4096, 5)?;
            let b1 = mem.addr() + 4096;
            let iovs = [(b1 + 0x800, 0x100), (b1 + 0x10, 0x100)];
            let c = cx.submit_one(
                &mut ring,
                op::readv_fixed(
                    cx.abi(),
                    fd(&f),
                    op::FixedVec {
                        iovs: &iovs,
                        offset: 0,
                        buf_index: 1,
                    },
                )
                .setup("lay out the iovecs for the ring's ABI")?
                .user_data(1),
            )?;
            let mut want = vec![0u8; 2 * 4096];
            want[4096 + 0x800..4096 + 0x900].copy_from_slice(&data[..0x100]);
            want[4096 + 0x10..4096 + 0x110].copy_from_slice(&data[0x100..0x200]);
            cx.check_eq("both buffers after the read", mem.read(0, 2 * 4096), want)?;
            cx.observe(
                c,
                "with iovecs [{buf1+0x800, 0x100}, {buf1+0x10, 0x100}] into buffer 1 of 2",
            )
        }),
    Case::new("readv_fixed::iovec_of_other_buffer")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_vec_fill_bvec -> validate_fixed_range")
                .rows(&["rvf_range"])
                .note(
                    "every iovec must lie in the buffer buf_index names; one inside another \
                     registered buffer is EFAULT",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let mem = cx.mem(2 * 4096)?;
            ring.registrar()
                .register_buffers(&[
                    Iov::Mem(mem.slice(0, 4096)),
                    Iov::Mem(mem.slice(4096, 4096)),
                ])
                .setup("register two buffers")?;
            let (f, _) = data_file(cx, 4096, 5)?;
            let c = cx.submit_one(
                &mut ring,
                op::readv_fixed(
                    cx.abi(),
                    fd(&f),
                    op::FixedVec {
                        iovs: &[(mem.addr() + 4096, 16), (mem.addr(), 16)],
                        offset: 0,
                        buf_index: 1,
                    },
                )
                .setup("lay out the iovecs for the ring's ABI")?
                .user_data(1),
            )?;
            cx.check_eq(
                "both buffers after the read",
                mem.read(0, 2 * 4096),
                vec![0u8; 2 * 4096],
            )?;
            cx.observe(c, "with iovecs [{buf1, 16}, {buf0, 16}] and buf_index 1")
        }),
    Case::new("readv_fixed::iovec_before_buffer")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:validate_fixed_range (buf_addr < imu->ubuf)").rows(&["rvf_range"]),
        )
        .run(|cx| readv_fixed_case(cx, |b| vec![(b - 1, 8)], 0, "one byte before the buffer")),
    Case::new("readv_fixed::iovec_across_end")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:validate_fixed_range (buf_end > imu->ubuf + imu->len)")
                .rows(&["rvf_range"]),
        )
        .run(|cx| {
            readv_fixed_case(
                cx,
                |b| vec![(b + buf_len() as u64 - 8, 9)],
                0,
                "ending one byte past the buffer",
            )
        }),
    Case::new("readv_fixed::last_iovec_outside")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_vec_fill_bvec (every iovec validated before any I/O)")
                .rows(&["rvf_range"])
                .note(
                    "the import checks all iovecs first: the valid ones before the bad one \
                     receive nothing",
                ),
        )
        .run(|cx| {
            readv_fixed_case(
                cx,
                |b| vec![(b, 0x100), (b + 0x1000, 0x100), (b + buf_len() as u64, 1)],
                0,
                "the third one byte past the end",
            )
        }),
    Case::new("readv_fixed::up_to_the_end")
        .requires(RVF)
        .expect(Expect::cqe(0x10, uring::abi::CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:validate_fixed_range").rows(&["rvf_range"]))
        .run(|cx| {
            readv_fixed_case(
                cx,
                |b| vec![(b + buf_len() as u64 - 8, 8), (b, 8)],
                0,
                "the first ending at the buffer's last byte",
            )
        }),
    Case::new("readv_fixed::zero_length_iovec")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_vec_fill_bvec (!iov_len)")
                .rows(&["rvf_zero_len"])
                .note(
                    "unlike READV, whose zero-length iovecs are skipped, a zero-length entry \
                     inside the buffer is EFAULT",
                ),
        )
        .run(|cx| {
            readv_fixed_case(
                cx,
                |b| vec![(b, 0x10), (b + 0x20, 0)],
                0,
                "the second of length 0",
            )
        }),
    Case::new("readv_fixed::null_iovec")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_vec_fill_bvec -> validate_fixed_range").rows(&["rvf_null"]))
        .run(|cx| readv_fixed_case(cx, |b| vec![(b, 0x10), (0, 0)], 0, "the second {NULL, 0}")),
    Case::new("readv_fixed::iov_len_above_ssize_max")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "rsrc.c:io_prep_reg_iovec -> lib/iov_iter.c:iovec_from_user ((ssize_t)len < 0; \
                 copy_compat_iovec_from_user: (compat_ssize_t)len < 0)",
            )
            .rows(&["rvf_iov_len"]),
        )
        .run(|cx| {
            let len = cx.abi().first_negative_iov_len();
            let what = format!("of length 2^{}", len.trailing_zeros());
            readv_fixed_case(cx, |b| vec![(b, len)], 0, &what)
        }),
    Case::new("readv_fixed::iovecs_1024")
        .requires(RVF)
        .expect(Expect::cqe(1024, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_prep_reg_iovec -> iovec_from_user (UIO_MAXIOV)")
                .rows(&["rvf_nr_iovecs"]),
        )
        .run(|cx| {
            readv_fixed_case(
                cx,
                |b| (0..1024).rev().map(|i| (b + 3 * i, 1)).collect(),
                0,
                "1024 one-byte iovecs, every third byte, last first",
            )
        }),
    Case::new("readv_fixed::iovecs_1025")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_prep_reg_iovec -> iovec_from_user (nr_segs > UIO_MAXIOV)")
                .rows(&["rvf_nr_iovecs"]),
        )
        .run(|cx| {
            readv_fixed_case(
                cx,
                |b| (0..1025).map(|i| (b + i, 1)).collect(),
                0,
                "1025 one-byte iovecs",
            )
        }),
    Case::new("readv_fixed::no_iovecs")
        .requires(RVF)
        .expect(Expect::cqe(0, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_import_reg_vec (nr_iovs 0: an empty bvec iter)")
                .rows(&["rvf_no_iovecs"]),
        )
        .run(|cx| readv_fixed_case(cx, |_| vec![], 0, "none (len 0)")),
    Case::new("readv_fixed::iovec_array_unmapped")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_prep_reg_iovec -> iovec_from_user (copy_from_user)")
                .rows(&["rvf_iovec_array"]),
        )
        .run(|cx| {
            let (mut ring, _m, _) = ring_with_vector_buffer(cx)?;
            let (f, _) = data_file(cx, 64, 1)?;
            let c = cx.submit_one(
                &mut ring,
                op::readv_fixed_at(
                    fd(&f),
                    op::FixedVecAt {
                        iovs: ForeignAddr::LOW.into(),
                        nr: 2,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.observe(c, "with the iovec array at 0x1000 (never mapped)")
        }),
    Case::new("readv_fixed::index_out_of_range")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_import_reg_vec -> io_find_buf_node")
                .man(ENTER, "ERRORS: EFAULT")
                .rows(&["rvf_bad_index"]),
        )
        .run(|cx| readv_fixed_case(cx, |b| vec![(b, 8)], 1, "and buf_index 1 of a 1-slot table")),
    Case::new("readv_fixed::no_table")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_import_reg_vec -> io_find_buf_node").rows(&["rvf_bad_index"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let mem = cx.mem(4096)?;
            let (f, _) = data_file(cx, 64, 1)?;
            let c = cx.submit_one(
                &mut ring,
                op::readv_fixed(
                    cx.abi(),
                    fd(&f),
                    op::FixedVec {
                        iovs: &[(mem.addr(), 8)],
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .setup("lay out the iovecs for the ring's ABI")?
                .user_data(1),
            )?;
            cx.check_eq("the memory", mem.read(0, 8), vec![0u8; 8])?;
            cx.observe(c, "with no buffers registered")
        }),
    Case::new("writev_fixed::ranges_across_pages")
        .requires(RVF)
        .expect(Expect::cqe(0x1e00, uring::abi::CqeFlags::NONE))
        .cite(
            Cite::kernel("rw.c:io_write -> io_rw_import_reg_vec -> rsrc.c:io_vec_fill_bvec")
                .rows(&["wvf_gather"]),
        )
        .run(|cx| writev_fixed_case(cx, across_pages, "into an empty file")),
    Case::new("writev_fixed::iovec_across_end")
        .requires(RVF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:validate_fixed_range").rows(&["wvf_range"]))
        .run(|cx| {
            writev_fixed_case(
                cx,
                |b| vec![(b, 0x10), (b + buf_len() as u64 - 1, 2)],
                "the second one byte past the end",
            )
        }),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// At every page size the ranges stay inside the buffer, add up to the 0x1e00 bytes the
    /// rows expect, and cross both of its page boundaries; with 4 KiB pages they are the
    /// offsets the rows always used.
    #[test]
    fn across_pages_crosses_both_boundaries_at_every_page_size() {
        for page in [4096usize, 16384, 65536] {
            let (len, ranges) = (buf_len_at(page) as u64, across_pages_at(0, page));
            assert!(ranges.iter().all(|&(a, l)| a + l <= len), "page {page}");
            assert_eq!(ranges.iter().map(|r| r.1).sum::<u64>(), 0x1e00);
            for boundary in [page - LEAD, 2 * page - LEAD] {
                let b = boundary as u64;
                assert!(
                    ranges.iter().any(|&(a, l)| a < b && a + l > b),
                    "page {page}: nothing crosses +{b:#x}"
                );
            }
        }
        let at_4k: Vec<u64> = across_pages_at(0, 4096).iter().map(|r| r.0).collect();
        assert_eq!(at_4k, [0x1e00, 0xe80, 0x1000, 0, 0x2200]);
    }
}
