//! Legacy provided buffers (IORING_OP_PROVIDE_BUFFERS / REMOVE_BUFFERS): the bounds of
//! their SQE fields, the per-group limit, the ids they hand out and how a bundle takes
//! them. Ring-versus-legacy interplay and selection's error paths are in
//! [`crate::buf_select`], whose row names these share.

use crate::common::pbuf::*;
use crate::common::*;
use std::io::Write;
use std::os::unix::net::UnixStream;
use uring::abi::{CqeFlags, SqeFlags};
use uring::{op, Cqe, ForeignAddr};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup};

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// What the rows on legacy groups require.
const LEGACY: &[Feature] = &[Feature::OpProvideBuffers];

/// The rows on legacy provided buffers.
pub const CASES: &[Case] = &[
    Case::new("buffer_select::legacy_recv_bundle_appends_per_buffer")
        .requires(&[Feature::RecvsendBundle, Feature::OpProvideBuffers])
        .needs(&[Fact::UnixSockets, Fact::UnixInq])
        .expect(Expect::cqe(128, buf_flags(0, CqeFlags::SOCK_NONEMPTY)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (one IORING_RECV_RETRY while msg_inq > 1; REQ_F_BL_EMPTY \
                 ends the bundle) / kbuf.c:io_provided_buffer_select (REQ_F_BL_EMPTY once the \
                 list is empty), io_kbuf_drop_legacy (the next pass selects again)",
            )
            .rows(&[])
            .note(
                "a legacy group hands a bundle one buffer per selection: a RECV bundle maps \
                 bid 0, and as the socket says more is queued, retries once and appends bid 1; \
                 72 bytes stay queued (SOCK_NONEMPTY)",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(192)?;
            let c = cx.submit_one(
                &mut ring,
                op::provide_buffers(m.slice(0, 192), 64, 3, BGID, 0).user_data(9),
            )?;
            provided(&c)?;
            let data = pattern(200, 20);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(&data).setup("send")?;
            let recv = op::recv_select(fd(&a), 0, 0, BGID).ioprio(uring::abi::RECVSEND_BUNDLE);
            let c = sel(cx, &mut ring, recv)?;
            cx.check_eq(
                "bytes in bids 0 and 1",
                m.read(0, 128),
                data[..128].to_vec(),
            )?;
            cx.check_eq("bid 2 (not used)", m.read(128, 64), vec![0; 64])?;
            cx.observe(
                c,
                "bundle, len 0, on a socket holding 200 bytes; a legacy group of three 64-byte \
                 buffers, bids 0-2",
            )
        }),
    Case::new("buffer_select::legacy_limit_counts_taken_buffers")
        .requires(&[Feature::OpProvideBuffers])
        .needs_level(&level::LEGACY_LIST_LIMIT)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "kbuf.c:io_add_buffers (bl->nbufs == MAX_BIDS_PER_BGID: EOVERFLOW; nbufs++) / \
                 io_provided_buffer_select and io_remove_buffers_legacy (nbufs--) / \
                 io_provide_buffers_prep and io_remove_buffers_prep (up to MAX_BIDS_PER_BGID)",
            )
            .rows(&[])
            .note(
                "a legacy group holds at most 65536 buffers at once (one PROVIDE_BUFFERS may \
                 bring them all); one taken by a read or removed makes room for one more",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(65536)?;
            let provide = |bid: u16, nbufs: u32, ud: u64| {
                op::provide_buffers(m.slice(0, nbufs as usize), 1, nbufs, BGID, bid).user_data(ud)
            };
            let full = cx.submit_one(&mut ring, provide(0, 65536, 1))?;
            res_is(
                cx,
                "PROVIDE_BUFFERS of 65536 one-byte buffers, bids 0-65535",
                &full,
                0,
            )?;
            let (r, _w) = pipe_with(b"x")?;
            let read = sel(
                cx,
                &mut ring,
                op::read_select(fd(&r), READ_LEN, u64::MAX, BGID),
            )?;
            res_is(cx, "READ taking bid 0", &read, 1)?;
            let c = cx.submit_one(&mut ring, provide(0, 1, 2))?;
            let over = cx.submit_one(&mut ring, provide(0, 1, 3))?;
            res_is(
                cx,
                "one more PROVIDE_BUFFERS (the list full again)",
                &over,
                -75,
            )?;
            let rm = cx.submit_one(&mut ring, op::remove_buffers(1, BGID).user_data(4))?;
            res_is(cx, "REMOVE_BUFFERS of 1", &rm, 1)?;
            let after = cx.submit_one(&mut ring, provide(0, 1, 5))?;
            res_is(cx, "PROVIDE_BUFFERS after the remove", &after, 0)?;
            let all = cx.submit_one(&mut ring, op::remove_buffers(65536, BGID).user_data(6))?;
            res_is(cx, "REMOVE_BUFFERS of 65536 (all)", &all, 65536)?;
            let last = cx.submit_one(&mut ring, provide(65535, 1, 7))?;
            res_is(cx, "PROVIDE_BUFFERS of bid 65535 alone", &last, 0)?;
            let past = cx.submit_one(&mut ring, provide(1, 65536, 8))?;
            res_is(cx, "PROVIDE_BUFFERS of bids 1-65536", &past, -22)?;
            cx.observe(
                c,
                "PROVIDE_BUFFERS of one buffer (bid 0 again) into a legacy group that held \
                 65536 until a READ took one",
            )
        }),
    Case::new("buffer_select::provide_bounds")
        .requires(LEGACY)
        .expect(Expect::cqe_errno(E::E2BIG))
        .cite(
            Cite::kernel(
                "kbuf.c:io_provide_buffers_prep (nbufs above MAX_BIDS_PER_BGID or a bid above \
                 USHRT_MAX: E2BIG; rw_flags set: EINVAL)",
            )
            .man("io_uring_prep_provide_buffers.3", "ERRORS")
            .rows(&[]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(4096)?;
            let c = cx.submit_one(
                &mut ring,
                op::provide_buffers(m.slice(0, 4096), 1, 65537, BGID, 0).user_data(1),
            )?;
            let bid = cx.submit_one(&mut ring, provide_sqe(&m, 65536).user_data(2))?;
            res_is(cx, "PROVIDE_BUFFERS of bid 65536", &bid, -7)?;
            let flags = cx.submit_one(&mut ring, provide_sqe(&m, 0).op_flags(1).user_data(3))?;
            res_is(cx, "PROVIDE_BUFFERS with rw_flags 1", &flags, -22)?;
            cx.observe(c, "of 65537 buffers")
        }),
    Case::new("buffer_select::provide_bid_reaches_cqe")
        .requires(LEGACY)
        .expect(Expect::cqe(4, buf_flags(7, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_provide_buffers_prep (p->bid = sqe->off) / io_add_buffers")
                .man("io_uring_prep_provide_buffers.3", "bid")
                .rows(&[]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            let p = cx.submit_one(
                &mut ring,
                op::provide_buffers(m.slice(0, 64), 64, 1, BGID, 7).user_data(1),
            )?;
            provided(&p)?;
            let (r, _w) = pipe_with(b"bid7")?;
            let c = sel(
                cx,
                &mut ring,
                op::read_select(fd(&r), READ_LEN, u64::MAX, BGID),
            )?;
            cx.check_eq("bytes in the buffer", m.read(0, 4), b"bid7".to_vec())?;
            cx.observe(c, "on a pipe, from the one buffer provided with bid 7")
        }),
    Case::new("buffer_select::remove_bounds_and_fields")
        .requires(LEGACY)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "kbuf.c:io_remove_buffers_prep (rw_flags, addr, len, off or splice_fd_in set, \
                 or nbufs 0 or above MAX_BIDS_PER_BGID: EINVAL)",
            )
            .rows(&[]),
        )
        .run(|cx| {
            let mut ring = with_legacy(cx, 4)?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(0, BGID).user_data(1))?;
            let bad = [
                ("nbufs 65537", op::remove_buffers(65537, BGID)),
                ("rw_flags 1", op::remove_buffers(1, BGID).op_flags(1)),
                (
                    "addr set",
                    op::remove_buffers_at(1, BGID, ForeignAddr::LOW, 0),
                ),
                (
                    "off 1",
                    op::remove_buffers_at(1, BGID, ForeignAddr::NULL, 1),
                ),
            ];
            for (i, (what, sqe)) in bad.into_iter().enumerate() {
                let r = cx.submit_one(&mut ring, sqe.user_data(2 + i as u64))?;
                res_is(cx, &format!("REMOVE_BUFFERS with {what}"), &r, -22)?;
            }
            let rm = cx.submit_one(&mut ring, op::remove_buffers(8, BGID).user_data(9))?;
            res_is(cx, "REMOVE_BUFFERS of 8 after the refused ones", &rm, 4)?;
            cx.observe(c, "of 0 buffers from a group of 4")
        }),
    Case::new("buffer_select::remove_takes_count")
        .requires(LEGACY)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel("kbuf.c:io_remove_buffers_legacy (up to nbufs, from the list's head)")
                .man("io_uring_prep_remove_buffers.3", "nr")
                .rows(&[]),
        )
        .run(|cx| {
            let mut ring = with_legacy(cx, 4)?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(2, BGID).user_data(1))?;
            let (r, _w) = pipe_with(b"next")?;
            let read = sel(
                cx,
                &mut ring,
                op::read_select(fd(&r), READ_LEN, u64::MAX, BGID),
            )?;
            // Which two of the four go depends on the list's shape: from the head (bid 2
            // left first) on 6.1 and later; 5.10's __io_remove_buffers takes the entries after
            // the head first (bid 3 was read there). A READ from bid 0 or 1 fails the row,
            // and the count below pins how many were removed.
            cx.check(
                read.res == 4
                    && [buf_flags(2, CqeFlags::NONE), buf_flags(3, CqeFlags::NONE)]
                        .contains(&read.flags),
                || {
                    format!(
                        "READ after the remove: expected res 4 from bid 2 or 3, got res {} \
                         flags {:?}",
                        read.res, read.flags
                    )
                },
            )?;
            let rest = cx.submit_one(&mut ring, op::remove_buffers(8, BGID).user_data(2))?;
            res_is(cx, "REMOVE_BUFFERS of 8 (bid 3 left)", &rest, 1)?;
            cx.observe(c, "of 2 from a group of 4, bids 0-3")
        }),
    Case::new("buffer_select::provide_fields_per_buffer")
        .requires(LEGACY)
        .expect(Expect::cqe(8, buf_flags(5, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_add_buffers (buf->len, buf->bid) / io_provided_buffer_select")
                .rows(&[])
                .note(
                    "a buffer provided with len 8 and bid 5 right after a 64-byte bid 0 was \
                     used and freed: the READ takes 8 bytes of the pipe's 16 and names bid 5",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(128)?;
            let first = cx.submit_one(
                &mut ring,
                op::provide_buffers(m.slice(0, 64), 64, 1, BGID, 0).user_data(1),
            )?;
            provided(&first)?;
            let (r, _w) = pipe_with(b"warm")?;
            let used = sel(
                cx,
                &mut ring,
                op::read_select(fd(&r), READ_LEN, u64::MAX, BGID),
            )?;
            res_is(cx, "READ of bid 0", &used, 4)?;
            let second = cx.submit_one(
                &mut ring,
                op::provide_buffers(m.slice(64, 8), 8, 1, BGID, 5).user_data(2),
            )?;
            provided(&second)?;
            let data = pattern(16, 26);
            let (r, _w) = pipe_with(&data)?;
            let c = sel(
                cx,
                &mut ring,
                op::read_select(fd(&r), READ_LEN, u64::MAX, BGID),
            )?;
            cx.check_eq("bytes in bid 5", m.read(64, 8), data[..8].to_vec())?;
            cx.check_eq("bytes after bid 5 (untouched)", m.read(72, 8), vec![0; 8])?;
            cx.observe(
                c,
                "len 64 on a pipe holding 16 bytes, from bid 5 of 8 bytes",
            )
        }),
    Case::new("buffer_select::legacy_failure_breaks_link")
        .requires(LEGACY)
        .expect(Expect::cqe_errno(E::ECANCELED))
        .cite(
            Cite::kernel(
                "kbuf.c:io_manage_buffers_legacy (req_set_fail only when ret < 0) -> a link \
                 goes on after PROVIDE_BUFFERS and is cancelled after a failed REMOVE_BUFFERS",
            )
            .rows(&[]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            let link = SqeFlags::IO_LINK;
            let sqes = vec![
                op::provide_buffers(m.slice(0, 64), 64, 1, BGID, 0)
                    .add_flags(link)
                    .user_data(1),
                op::nop().user_data(2),
                op::remove_buffers(1, 200).add_flags(link).user_data(3),
                op::nop().user_data(4),
            ];
            cx.submit_batch(&mut ring, sqes, 0)?;
            let mut cqes = cx.wait(&mut ring, 4)?;
            cqes.sort_by_key(|c| c.user_data);
            provided(&cqes[0])?;
            cx.check_eq(
                "the NOP linked after PROVIDE_BUFFERS, REMOVE_BUFFERS of group 200: res",
                [cqes[1].res, cqes[2].res],
                [0, -E::ENOENT.0],
            )?;
            cx.observe(
                cqes[3],
                "NOP linked after REMOVE_BUFFERS of a group that does not exist",
            )
        }),
];

/// The length every READ here asks for: at least each buffer, so the buffer's length bounds
/// it. A length of 0 is not "the buffer's length" everywhere: 5.10's legacy selection keeps
/// it and reads 0 bytes (measured in the matrix), so no row relies on it.
const READ_LEN: u32 = 64;

/// A ring whose group `BGID` is a legacy list of `n` 64-byte buffers, bids 0.. in order.
fn with_legacy(cx: &Cx, n: u32) -> Result<uring::Ring, CaseError> {
    ring_with_legacy(cx, n)
}

/// PROVIDE_BUFFERS of one 64-byte buffer with id `bid` (a u32: a bid above USHRT_MAX goes
/// into the 64-bit `off` as given).
fn provide_sqe(m: &std::sync::Arc<uring::Mem>, bid: u32) -> uring::Sqe {
    op::provide_buffers_from(m.slice(0, 64), 64, 1, BGID, u64::from(bid))
}

/// A PROVIDE_BUFFERS the row builds on: a failure breaks the row (success is res 0 on
/// recent kernels, the count of buffers added on old ones).
fn provided(c: &Cqe) -> Result<(), CaseError> {
    if c.res < 0 {
        return Err(CaseError::Broken(format!("PROVIDE_BUFFERS: res {}", c.res)));
    }
    Ok(())
}

/// Checks a completion's res.
fn res_is(cx: &Cx, what: &str, c: &Cqe, res: i32) -> Result<(), CaseError> {
    cx.check_eq(&format!("{what}: res"), c.res, res)
}
