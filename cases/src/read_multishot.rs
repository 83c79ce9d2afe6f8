//! §3.3 continued: READ_MULTISHOT's completions (rw.c:io_read_mshot) and what a failed READ
//! does with its selected buffer (rw.c:io_read): the length each shot selects with, the
//! retry after a CQE, how end of file and errors end the request (CQE, buffer given back,
//! a failure breaks a link, end of file does not).

use crate::common::buf_reads::FILE_NOT_POLLABLE;
use crate::common::pbuf::*;
use crate::common::*;
use std::io::Write;
use uring::abi::{CqeFlags, PbufFlags, SqeFlags};
use uring::bufring::BufRingMemory;
use uring::mem::UserPtr;
use uring::{op, Cqe, ForeignAddr, Ring, Sqe};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// READ_MULTISHOT with a buffer ring.
const MSHOT: &[Feature] = &[Feature::OpReadMultishot, Feature::PbufRing];

/// READ_MULTISHOT with a legacy (PROVIDE_BUFFERS) group.
const MSHOT_LEGACY: &[Feature] = &[Feature::OpReadMultishot, Feature::OpProvideBuffers];

/// user_data of the READ_MULTISHOT under test.
const UD: u64 = 0x30;

/// user_data of the NOP submitted after it as a marker.
const MARKER: u64 = 0x31;

/// READ_MULTISHOT of `r` from group `BGID`, user_data [`UD`].
fn mshot(r: &impl std::os::fd::AsRawFd) -> Sqe {
    op::read_multishot(fd(r), 0, BGID).user_data(UD)
}

/// Writes the pipe `w` once more and checks that the READ_MULTISHOT, its ring now empty,
/// ends with ENOBUFS (nothing left in flight).
fn dry(cx: &Cx, ring: &mut Ring, w: &mut impl Write) -> Result<(), CaseError> {
    w.write_all(b"more").setup("write the pipe")?;
    let end = [(-E::ENOBUFS.0, CqeFlags::NONE)];
    expect_cqes(cx, ring, &end, "after the ring ran dry").map(drop)
}

/// Submits `sqe` through the context (so its CQEs can be observed) without waiting.
fn start(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<(), CaseError> {
    cx.submit_batch(ring, vec![sqe], 0).map(drop)
}

/// Waits for `n` CQEs and checks their (res, flags) against `want`, in order; returns them.
fn expect_cqes(
    cx: &Cx,
    ring: &mut Ring,
    want: &[(i32, CqeFlags)],
    what: &str,
) -> Result<Vec<Cqe>, CaseError> {
    let got = cx.wait(ring, want.len())?;
    let pairs: Vec<_> = got.iter().map(|c| (c.res, c.flags)).collect();
    cx.check_eq(&format!("{what}: CQEs (res, flags)"), pairs, want.to_vec())?;
    Ok(got)
}

/// Submits `sqe` with IOSQE_IO_LINK to a NOP ([`MARKER`]) in one batch and returns both
/// CQEs, `sqe`'s first. The request under test completes inline at submission; the NOP runs
/// after it, or fails ECANCELED when the request was marked failed (REQ_F_FAIL).
fn linked_to_nop(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<(Cqe, Cqe), CaseError> {
    let sqe = sqe.add_flags(SqeFlags::IO_LINK);
    let cqes = cx.submit_batch(ring, vec![sqe, op::nop().user_data(MARKER)], 2)?;
    let pairs: Vec<_> = cqes.iter().map(|c| c.user_data).collect();
    match cqes[..] {
        [a, b] if a.user_data == UD && b.user_data == MARKER => Ok((a, b)),
        _ => Err(CaseError::Fail(format!(
            "expected the READ_MULTISHOT's CQE, then the linked NOP's: user_data {pairs:x?}"
        ))),
    }
}

/// The READ_MULTISHOT rows.
pub const CASES: &[Case] = &[
    Case::new("buffer_select::read_fault_on_pipe_recycles")
        .requires(&[Feature::PbufRing, Feature::PbufStatus])
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel(
                "rw.c:io_read (a failed read gives back a buffer whose commit is pending: \
                 REQ_F_BUFFERS_COMMIT -> io_kbuf_recycle); kbuf.c:io_should_commit",
            )
            .rows(&[])
            .note(
                "a pipe can be polled, so its READ's ring buffer is committed at completion; \
                 a copy that faults (bid 8 points at unmapped memory) fails EFAULT, the buffer \
                 goes back: the CQE has no F_BUFFER and the head stays 0",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let br = ring
                .setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("ring")?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::LOW), 64, 8, 0);
            br.advance(1);
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            check_head(cx, &ring, BGID, 0, "after the failed read")?;
            cx.observe(
                c,
                "on a pipe holding 4 bytes, the ring entry (bid 8) at unmapped memory",
            )
        }),
    Case::new("buffer_select::read_multishot_retry_resets_len")
        .requires(MSHOT)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe(100, buf_flags(2, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "rw.c:io_read_mshot (-EAGAIN: io_kbuf_recycle, then rw->len = 0), \
                 kbuf.c:io_ring_buffer_select (len 0: the whole buffer)",
            )
            .rows(&[])
            .note(
                "on an empty pipe the first shot selects bid 1 (32 bytes), gets -EAGAIN and \
                 gives it back; a file READ takes bid 1; when 100 bytes arrive the shot selects \
                 bid 2 (128 bytes) with length 0 again and reads all 100 (unlike a plain READ, \
                 buffer_select::read_retry_keeps_first_len)",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_32_128(cx)?;
            let (r, mut w) = pipe()?;
            start(cx, &mut ring, mshot(&r))?;
            file_read_takes_bid_1(cx, &mut ring)?;
            let data = pattern(100, 9);
            w.write_all(&data).setup("write the pipe")?;
            let got = expect_cqes(
                cx,
                &mut ring,
                &[(100, buf_flags(2, CqeFlags::MORE))],
                "READ_MULTISHOT after 100 bytes",
            )?;
            cx.check_eq("bytes in bid 2", m.read(32, 100), data)?;
            dry(cx, &mut ring, &mut w)?;
            cx.observe(
                got[0],
                "READ_MULTISHOT(pipe), its first buffer given back and taken by a file READ",
            )
        }),
    Case::new("buffer_select::read_multishot_fills_each_buffer")
        .requires(MSHOT)
        .expect(Expect::cqe(100, buf_flags(2, CqeFlags::MORE)))
        .cite(
            Cite::kernel("rw.c:io_read_mshot (after a CQE: rw->len = 0, io_poll_multishot_retry)")
                .rows(&[])
                .note(
                    "one write of 132 bytes to the armed pipe: the shot fills bid 1 (32 bytes), \
                 posts, retries at once without a new wakeup and fills 100 of bid 2's 128 \
                 (selected with length 0, not the 32 of the shot before); the empty ring ends \
                 it with ENOBUFS",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_32_128(cx)?;
            let (r, mut w) = pipe()?;
            start(cx, &mut ring, mshot(&r))?;
            let data = pattern(132, 4);
            w.write_all(&data).setup("write the pipe")?;
            let got = expect_cqes(
                cx,
                &mut ring,
                &[
                    (32, buf_flags(1, CqeFlags::MORE)),
                    (100, buf_flags(2, CqeFlags::MORE)),
                ],
                "READ_MULTISHOT after one write of 132 bytes",
            )?;
            cx.check_eq("bytes in bids 1 and 2", m.read(0, 132), data)?;
            dry(cx, &mut ring, &mut w)?;
            cx.observe(got[1], "READ_MULTISHOT(pipe): the second shot of one write")
        }),
    Case::new("buffer_select::read_multishot_eof_ends")
        .requires(MSHOT)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_read_mshot (ret > 0: a CQE with F_MORE; ret 0: io_kbuf_recycle and \
                 the final CQE)",
            )
            .rows(&[])
            .note(
                "a 1-byte write posts (1, bid 1 | F_MORE); closing the write end ends the \
                 request with res 0, no buffer (bid 2 given back: the head stays 1) and no \
                 F_MORE",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) =
                ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1, 2])?;
            let (r, mut w) = pipe()?;
            start(cx, &mut ring, mshot(&r))?;
            w.write_all(b"x").setup("write the pipe")?;
            expect_cqes(
                cx,
                &mut ring,
                &[(1, buf_flags(1, CqeFlags::MORE))],
                "after a 1-byte write",
            )?;
            drop(w);
            let got = expect_cqes(
                cx,
                &mut ring,
                &[(0, CqeFlags::NONE)],
                "after closing the write end",
            )?;
            if cx.has(Feature::PbufStatus) {
                check_head(cx, &ring, BGID, 1, "after the end of file")?;
            }
            cx.observe(got[0], "READ_MULTISHOT(pipe) when the write end closes")
        }),
    Case::new("buffer_select::read_multishot_eof_link_continues")
        .requires(MSHOT)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_read_mshot (ret 0 is no failure: req_set_fail only for ret < 0); \
                 io_uring.c:io_queue_next (a failed link head cancels the rest)",
            )
            .man(ENTER, "IOSQE_IO_LINK")
            .rows(&[])
            .note(
                "READ_MULTISHOT linked to a NOP, on a pipe whose write end is closed: it \
                 completes inline with res 0, a success, and the NOP runs (res 0)",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (r, w) = pipe()?;
            drop(w);
            let (read, nop) = linked_to_nop(cx, &mut ring, mshot(&r))?;
            cx.check_eq(
                "READ_MULTISHOT at end of file: res, flags",
                (read.res, read.flags),
                (0, CqeFlags::NONE),
            )?;
            cx.observe(
                nop,
                "NOP linked to a READ_MULTISHOT of a pipe at end of file",
            )
        }),
    Case::new("buffer_select::read_multishot_enobufs_breaks_link")
        .requires(MSHOT)
        .expect(Expect::cqe_errno(E::ECANCELED))
        .cite(
            Cite::kernel(
                "rw.c:io_read_mshot (ret < 0: req_set_fail); io_uring.c:io_queue_next (a failed \
                 link head cancels the rest)",
            )
            .man(ENTER, "IOSQE_IO_LINK")
            .rows(&[])
            .note(
                "READ_MULTISHOT linked to a NOP, from an empty ring on a pipe holding data: it \
                 fails ENOBUFS, so the NOP is cancelled",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[])?;
            let (r, _w) = pipe_with(b"data")?;
            let (read, nop) = linked_to_nop(cx, &mut ring, mshot(&r))?;
            cx.check_eq(
                "READ_MULTISHOT from an empty ring: res, flags",
                (read.res, read.flags),
                (-E::ENOBUFS.0, CqeFlags::NONE),
            )?;
            cx.observe(
                nop,
                "NOP linked to a READ_MULTISHOT of a pipe, the ring empty",
            )
        }),
    Case::new("buffer_select::read_multishot_eof_recycles_legacy")
        .requires(MSHOT_LEGACY)
        .expect(Expect::cqe(4, buf_flags(5, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "rw.c:io_read_mshot (ret 0: io_kbuf_recycle); kbuf.c:io_kbuf_recycle_legacy \
                 (back to the group's list), io_clean_op (a buffer still held is freed)",
            )
            .rows(&[])
            .note(
                "the shot selects legacy bid 5 and reads 0 (write end closed): the buffer goes \
                 back to the group, so a READ of a pipe holding 4 bytes selects it again",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_legacy_bufs(cx, 1, 64, 5)?;
            let (r, w) = pipe()?;
            drop(w);
            let c = sel(cx, &mut ring, mshot(&r))?;
            cx.check_eq(
                "READ_MULTISHOT at end of file: res, flags",
                (c.res, c.flags),
                (0, CqeFlags::NONE),
            )?;
            let (r2, _w2) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r2), 0, u64::MAX, BGID))?;
            if c.res == 4 {
                cx.check_eq("bytes in bid 5", m.read(0, 4), b"data".to_vec())?;
            }
            cx.observe(
                c,
                "READ(pipe, BUFFER_SELECT) after a READ_MULTISHOT ended at EOF",
            )
        }),
];
