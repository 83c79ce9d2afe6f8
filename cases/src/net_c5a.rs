//! How io_recv() itself ends a RECV (issue 24, generated mutants of net.c that survived,
//! chunk 5): POLL_FIRST before the buffer is selected, which endings mark the request failed
//! (a linked NOP is cancelled only after a failure: a short receive, EOF and a truncated
//! datagram are not failures, an empty group is), MSG_WAITALL's retry and its sum, when a
//! multishot RECV ends (EOF, not a 1-byte shot) and the queue length a failed shot reports.
//! The rows use `buf_ring_io`'s helpers (`common::pbuf_io`); its note on AF_UNIX holds here.

use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{
    check_bytes, check_cqe, recv_multishot, res_flags, ring_with, shots, socket_with, BGID, NONE,
    SOCK, SOCK_INQ, SOCK_NONEMPTY,
};
use crate::common::*;
use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};
use uring::abi::{CqeFlags, PbufFlags, RecvSendFlags, SqeFlags};
use uring::mem::UserPtr;
use uring::{op, Cqe, ForeignAddr, Ring, Sqe};
use uring_harness::Setup;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// What the rows with a provided-buffer ring require.
const RING: &[Feature] = &[Feature::PbufRing, Feature::PbufStatus, Feature::OpRecvSend];

/// Submits `sqe` linked to a NOP (user_data 2) and returns both CQEs, in user_data order.
fn linked(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<(Cqe, Cqe), CaseError> {
    let sqes = vec![
        sqe.add_flags(SqeFlags::IO_LINK).user_data(1),
        op::nop().user_data(2),
    ];
    let mut got = cx.submit_batch(ring, sqes, 2)?;
    got.sort_by_key(|c| c.user_data);
    Ok((got[0], got[1]))
}

/// Checks that `sock` still holds exactly `want`.
fn check_queued(cx: &Cx, sock: &UnixStream, want: &[u8]) -> Result<(), CaseError> {
    cx.check_eq(
        "the bytes still queued",
        crate::common::net::unix_drain(sock)?,
        want.to_vec(),
    )
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- POLL_FIRST ----
    Case::new("buf_ring_io::recv_poll_first_selects_after_poll")
        .requires(RING)
        .needs(SOCK)
        .expect(Expect::cqe(-E::ENOBUFS.0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_recv (IORING_RECVSEND_POLL_FIRST: -EAGAIN before io_recv_buf_select \
                 unless REQ_F_POLLED)",
            )
            .man("io_uring_prep_recv.3", "IORING_RECVSEND_POLL_FIRST")
            .rows(&[])
            .note(
                "a RECV with POLL_FIRST from a group with no buffer on an empty socket waits \
                 for data before it selects: no CQE until 4 bytes arrive, then ENOBUFS, and \
                 the bytes stay queued",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::recv_select(fd(&a), 0, 0, BGID)
                .ioprio(RecvSendFlags::POLL_FIRST.0)
                .user_data(1);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            no_cqes(cx, &mut ring, "before data arrives")?;
            (&b).write_all(b"data").setup("send")?;
            let c = cx.wait(&mut ring, 1)?;
            check_queued(cx, &a, b"data")?;
            cx.observe(
                c[0],
                "POLL_FIRST, len 0, an empty ring, on an empty AF_UNIX stream; then 4 bytes",
            )
        }),
    // ---- what marks the request failed: the linked NOP ----
    Case::new("buf_ring_io::recv_eof_link_runs")
        .requires(RING)
        .needs(SOCK)
        .expect(Expect::cqe(0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_recv (ret < min_ret, min_ret 0 without MSG_WAITALL: EOF is no \
                 failure; req_set_fail only on a short or failed receive)",
            )
            .rows(&[])
            .note(
                "a RECV at EOF (the peer closed) completes 0 without a buffer, which stays in \
                 the ring, and its linked NOP runs",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            drop(b);
            let (c, nop) = linked(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            check_cqe(cx, "the linked NOP", &nop, 0, NONE)?;
            check_head(cx, &ring, BGID, 0, "after the RECV")?;
            cx.observe(
                c,
                "len 0, one 64-byte buffer (bid 30), linked to a NOP, at EOF",
            )
        }),
    Case::new("buf_ring_io::recv_truncated_then_waitall_links_run")
        .requires(RING)
        .needs(SOCK)
        .expect(Expect::cqe(10, buf_flags(31, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv (kmsg->msg.msg_flags cleared before each receive; \
                 req_set_fail for MSG_TRUNC only with MSG_WAITALL); \
                 af_unix.c:unix_dgram_recvmsg (MSG_TRUNC ORed into msg_flags)",
            )
            .rows(&[])
            .note(
                "a RECV of a 100-byte datagram into a 64-byte buffer is truncated without \
                 MSG_WAITALL: no failure, its linked NOP runs; a second RECV on the same \
                 ring (its io_async_msghdr recycled from the first), with MSG_WAITALL, of 10 \
                 bytes on a stream is no failure either: the first one's MSG_TRUNC is gone",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30, 31])?;
            let (a, b) = UnixDatagram::pair().setup("socketpair(AF_UNIX, SOCK_DGRAM)")?;
            let data = pattern(100, 51);
            b.send(&data).setup("send a datagram")?;
            let (first, nop) = linked(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            check_cqe(cx, "the truncated RECV", &first, 64, buf_flags(30, NONE))?;
            check_cqe(cx, "the NOP linked to it", &nop, 0, NONE)?;
            check_bytes(cx, &m, 0, &data[..64], "bytes in bid 30")?;
            let stream = pattern(10, 52);
            let (c, _d) = socket_with(&stream)?;
            let waitall = op::recv_select(fd(&c), 10, libc::MSG_WAITALL as u32, BGID);
            let (second, nop) = linked(cx, &mut ring, waitall)?;
            check_cqe(cx, "the NOP linked to the MSG_WAITALL RECV", &nop, 0, NONE)?;
            check_bytes(cx, &m, 64, &stream, "bytes in bid 31")?;
            cx.observe(
                second,
                "after a RECV of a 100-byte datagram into bid 30 (64 bytes): len 10, \
                 MSG_WAITALL, linked to a NOP, on a stream holding 10 bytes; bid 31",
            )
        }),
    Case::new("buf_ring_io::recv_empty_group_fails_link")
        .requires(RING)
        .needs(SOCK)
        .expect(Expect::cqe(-E::ENOBUFS.0, NONE))
        .cite(
            Cite::kernel("net.c:io_recv (io_recv_buf_select fails: out_free, req_set_fail)")
                .rows(&["sel_empty"])
                .note(
                    "a RECV that finds no buffer completes ENOBUFS and fails its link: the \
                     linked NOP is cancelled; the bytes stay queued",
                ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[])?;
            let (a, _b) = socket_with(b"data")?;
            let (c, nop) = linked(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            check_cqe(cx, "the linked NOP", &nop, -E::ECANCELED.0, NONE)?;
            check_queued(cx, &a, b"data")?;
            cx.observe(
                c,
                "len 0, an empty ring, linked to a NOP, on a stream holding 4 bytes",
            )
        }),
    // ---- MSG_WAITALL ----
    Case::new("buf_ring_io::recv_waitall_last_byte_counted")
        .requires(RING)
        .needs(SOCK)
        .expect(Expect::cqe(65, buf_flags(32, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv (MSG_WAITALL: min_ret the iterator's count; a short receive \
                 retries with done_io, which the last receive's result adds to, even of 1 \
                 byte)",
            )
            .man("io_uring_prep_recv.3", "MSG_WAITALL")
            .rows(&[])
            .note(
                "a RECV with MSG_WAITALL of 65 bytes into a 128-byte ring buffer, on a stream \
                 holding 64, waits for the 65th byte and reports all 65",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 128, &[32])?;
            let data = pattern(65, 53);
            let (a, b) = socket_with(&data[..64])?;
            let sqe = op::recv_select(fd(&a), 65, libc::MSG_WAITALL as u32, BGID).user_data(1);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            no_cqes(cx, &mut ring, "with 64 of the 65 bytes queued")?;
            (&b).write_all(&data[64..]).setup("send the last byte")?;
            let c = cx.wait(&mut ring, 1)?;
            check_bytes(cx, &m, 0, &data, "bytes in bid 32")?;
            check_head(cx, &ring, BGID, 1, "after the RECV")?;
            cx.observe(
                c[0],
                "len 65, MSG_WAITALL, one 128-byte buffer (bid 32), on a stream holding 64 \
                 bytes; then 1 byte",
            )
        }),
    // ---- multishot: when it ends ----
    Case::new("buf_ring_io::recv_multishot_one_byte_then_eof")
        .requires(RING)
        .needs(SOCK)
        .expect(Expect::cqe(0, NONE))
        .cite(
            Cite::kernel("net.c:io_recv (mshot_finished = ret <= 0) / io_recv_finish")
                .rows(&[])
                .note(
                    "a multishot RECV stays armed after a 1-byte shot and ends at EOF with \
                     (0, no MORE): one CQE, bid 31 unused",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30, 31])?;
            let (a, b) = socket_with(b"x")?;
            let got = shots(cx, &mut ring, recv_multishot(fd(&a)).user_data(1))?;
            cx.check_eq(
                "the shots (res, flags) before EOF",
                res_flags(&got),
                vec![(1, buf_flags(30, CqeFlags::MORE))],
            )?;
            check_bytes(cx, &m, 0, b"x", "the byte in bid 30")?;
            drop(b);
            let end = cx.wait(&mut ring, 1)?;
            no_cqes(cx, &mut ring, "after the request ended")?;
            check_head(cx, &ring, BGID, 1, "after EOF")?;
            cx.observe(
                end[0],
                "multishot RECV, 64-byte buffers (bids 30, 31), a stream holding 1 byte; then \
                 the peer closes",
            )
        }),
    // ---- the queue length a failed shot reports ----
    Case::new("buf_ring_io::recv_multishot_enobufs_after_nonempty")
        .requires(RING)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(-E::ENOBUFS.0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_recv (io_recv_buf_select fails: msg_inq = -1, unknown) / \
                 io_recv_finish (SOCK_NONEMPTY only for msg_inq > 0)",
            )
            .rows(&["sel_empty"])
            .note(
                "a multishot RECV with one 64-byte buffer on a stream holding 100 bytes: the \
                 shot reports 36 bytes left (SOCK_NONEMPTY) and retries at once; the retry \
                 finds no buffer and ends ENOBUFS without SOCK_NONEMPTY (it did not look)",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30])?;
            let (a, _b) = socket_with(&pattern(100, 54))?;
            let got = shots(cx, &mut ring, recv_multishot(fd(&a)).user_data(1))?;
            let first = buf_flags(30, CqeFlags(CqeFlags::MORE.0 | SOCK_NONEMPTY.0));
            cx.check_eq(
                "the shots (res, flags)",
                res_flags(&got),
                vec![(64, first), (-E::ENOBUFS.0, NONE)],
            )?;
            cx.observe(
                got[1],
                "multishot RECV, one 64-byte buffer (bid 30), a stream holding 100 bytes (the \
                 last CQE)",
            )
        }),
    Case::new("buf_ring_io::recv_multishot_fault_after_nonempty")
        .requires(RING)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(-E::EFAULT.0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_recv (msg_inq = -1 before each receive); af_unix.c:\
                 unix_stream_read_generic (msg_inq set only when the read did not fail)",
            )
            .rows(&[])
            .note(
                "a multishot RECV on a stream holding 100 bytes: the shot into bid 30 (64 \
                 bytes) reports 36 left (SOCK_NONEMPTY); the retry's buffer (bid 31) is \
                 unmapped, the copy faults and the request ends EFAULT without SOCK_NONEMPTY \
                 (the failed read did not report the queue)",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30])?;
            let br = ring
                .buf_ring(BGID)
                .ok_or_else(|| CaseError::Broken("the buffer ring ring_with registered".into()))?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::LOW), 64, 31, 0);
            br.advance(1);
            let data = pattern(100, 55);
            let (a, _b) = socket_with(&data)?;
            let got = shots(cx, &mut ring, recv_multishot(fd(&a)).user_data(1))?;
            let first = buf_flags(30, CqeFlags(CqeFlags::MORE.0 | SOCK_NONEMPTY.0));
            cx.check_eq(
                "the shots (res, flags)",
                res_flags(&got),
                vec![(64, first), (-E::EFAULT.0, NONE)],
            )?;
            check_queued(cx, &a, &data[64..])?;
            cx.observe(
                got[1],
                "multishot RECV, bid 30 (64 bytes) then bid 31 at unmapped memory, a stream \
                 holding 100 bytes (the last CQE)",
            )
        }),
];
