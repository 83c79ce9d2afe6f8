//! RECV and RECVMSG from provided-ring buffers where net.c's receive paths decide what a
//! completion says: a RECVMSG's result, failure and buffer at 0, 1 and all of its bytes
//! (net.c:io_recvmsg), its queue-length flag, a multishot RECV draining what was queued
//! before it (io_recv_finish), and which buffers a RECV maps (io_recv_buf_select) for a
//! datagram: one per shot without a length, the cached iovec array's count, one without a
//! bundle.

use crate::common::pbuf_io::{
    check_bytes, check_cqe, one, ring_with, socket_with, BGID, BUNDLE, NONE, SOCK, SOCK_INQ,
    SOCK_NONEMPTY,
};
use crate::common::*;
use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::{UnixDatagram, UnixStream};
use uring::abi::{CqeFlags, PbufFlags, RecvSendFlags, SqeFlags, RECVSEND_BUNDLE};
use uring::{op, Sqe};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// What a RECV or RECVMSG from a buffer ring requires.
const RECV_RING: &[Feature] = &[Feature::PbufRing, Feature::OpRecvSend];

/// A RECVMSG of `a` with a buffer of `BGID` and `msg_flags`, its msghdr all zeros (no name,
/// no control data, no iovec: the whole buffer) in `msghdr`.
fn recvmsg(cx: &Cx, a: i32, msg_flags: u32) -> Result<Sqe, CaseError> {
    let msghdr = cx.mem(64)?;
    Ok(op::recvmsg_select(a, msghdr.slice(0, 64), msg_flags, BGID))
}

/// A connected AF_UNIX datagram pair; each of `datagrams` already sent to the first.
fn dgram_with(datagrams: &[&[u8]]) -> Result<(UnixDatagram, UnixDatagram), CaseError> {
    let (a, b) = UnixDatagram::pair().setup("socketpair(SOCK_DGRAM)")?;
    for d in datagrams {
        b.send(d).setup("send a datagram")?;
    }
    Ok((a, b))
}

/// (res, flags) of each CQE.
fn res_flags(cqes: &[uring::Cqe]) -> Vec<(i32, CqeFlags)> {
    cqes.iter().map(|c| (c.res, c.flags)).collect()
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- RECVMSG: the result, the failure and the buffer ----
    Case::new("buf_ring_io::recvmsg_waitall_full_link_goes_on")
        .requires(RECV_RING)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(50, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg (ret < min_ret: retry or req_set_fail; MSG_WAITALL with \
                 MSG_TRUNC|MSG_CTRUNC: req_set_fail)",
            )
            .man("io_uring_prep_recvmsg.3", "MSG_WAITALL")
            .rows(&[])
            .note(
                "a MSG_WAITALL RECVMSG that gets all of its 64-byte buffer at once completes \
                 with it, unfailed: its linked NOP runs",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[50])?;
            let data = pattern(64, 43);
            let (a, _b) = socket_with(&data)?;
            let sqes = vec![
                recvmsg(cx, fd(&a), libc::MSG_WAITALL as u32)?
                    .add_flags(SqeFlags::IO_LINK)
                    .user_data(1),
                op::nop().user_data(2),
            ];
            let cqes = cx.submit_batch(&mut ring, sqes, 2)?;
            let nop = cqes.iter().find(|c| c.user_data == 2).copied();
            cx.check_eq(
                "the linked NOP (res, flags)",
                nop.map(|c| (c.res, c.flags)),
                Some((0, NONE)),
            )?;
            check_bytes(cx, &m, 0, &data, "bytes in bid 50")?;
            let c = cqes.iter().find(|c| c.user_data == 1).copied();
            let c = c.ok_or_else(|| CaseError::Fail("no CQE for the RECVMSG".into()))?;
            cx.observe(
                c,
                "MSG_WAITALL, IOSQE_IO_LINK to a NOP, one 64-byte ring buffer (bid 50), on an \
                 AF_UNIX stream holding 64 bytes",
            )
        }),
    Case::new("buf_ring_io::recvmsg_waitall_short_appends")
        .requires(RECV_RING)
        .needs(SOCK)
        .expect(Expect::cqe(128, buf_flags(59, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg (ret < min_ret: -EAGAIN under IO_URING_F_NONBLOCK retries \
                 from poll; a short MSG_WAITALL read adds done_io and keeps its buffer: \
                 io_net_retry, io_net_kbuf_recyle)",
            )
            .man("io_uring_prep_recvmsg.3", "MSG_WAITALL")
            .rows(&[])
            .note(
                "a MSG_WAITALL RECVMSG that finds 64 of its 128 bytes keeps them and waits: \
                 the next 64 follow them in the same buffer and the CQE counts both",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 128, &[59])?;
            let data = pattern(128, 59);
            let (a, b) = socket_with(&data[..64])?;
            let sqe = recvmsg(cx, fd(&a), libc::MSG_WAITALL as u32)?.user_data(1);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            no_cqes(cx, &mut ring, "64 of 128 bytes queued")?;
            (&b).write_all(&data[64..])
                .setup("send the other 64 bytes")?;
            let c = cx.wait(&mut ring, 1)?[0];
            check_bytes(cx, &m, 0, &data, "bytes in bid 59")?;
            cx.observe(
                c,
                "MSG_WAITALL, one 128-byte ring buffer (bid 59), on an AF_UNIX stream holding \
                 64 bytes; the peer then sends 64 more",
            )
        }),
    Case::new("buf_ring_io::recvmsg_dontwait_with_data")
        .requires(RECV_RING)
        .needs(SOCK)
        .expect(Expect::cqe(10, buf_flags(49, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg (-EAGAIN before receiving only with \
                 IORING_RECVSEND_POLL_FIRST and not yet polled); io_uring.c:io_queue_async \
                 (REQ_F_NOWAIT: -EAGAIN completes)",
            )
            .man("io_uring_prep_recvmsg.3", "MSG_DONTWAIT")
            .rows(&[])
            .note("a MSG_DONTWAIT RECVMSG on a socket holding data receives it at once"),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[49])?;
            let data = pattern(10, 61);
            let (a, _b) = socket_with(&data)?;
            let sqe = recvmsg(cx, fd(&a), libc::MSG_DONTWAIT as u32)?;
            let c = one(cx, &mut ring, sqe, 1)?;
            check_bytes(cx, &m, 0, &data, "bytes in bid 49")?;
            cx.observe(
                c,
                "MSG_DONTWAIT, one 64-byte ring buffer (bid 49), on an AF_UNIX stream holding \
                 10 bytes",
            )
        }),
    Case::new("buf_ring_io::recvmsg_one_byte_takes_buffer")
        .requires(RECV_RING)
        .needs(SOCK)
        .expect(Expect::cqe(1, buf_flags(51, NONE)))
        .cite(
            Cite::kernel("net.c:io_recvmsg (ret > 0: the result; else the buffer is recycled)")
                .rows(&[])
                .note("a one-byte RECVMSG keeps (names) the buffer it filled"),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[51, 52])?;
            let (a, _b) = socket_with(&[0x7e])?;
            let c = one(cx, &mut ring, recvmsg(cx, fd(&a), 0)?, 1)?;
            check_bytes(cx, &m, 0, &[0x7e], "the byte in bid 51")?;
            cx.observe(
                c,
                "two 64-byte ring buffers (bids 51, 52), on an AF_UNIX stream holding 1 byte",
            )
        }),
    Case::new("buf_ring_io::recvmsg_eof_returns_buffer")
        .requires(RECV_RING)
        .needs(SOCK)
        .expect(Expect::cqe(0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg (ret 0, nothing done before: io_kbuf_recycle) -> \
                 io_recv_finish (io_put_kbuf of a recycled request: no IORING_CQE_F_BUFFER)",
            )
            .rows(&[])
            .note(
                "a RECVMSG at end of stream (res 0) gives its buffer back: the CQE names none \
                 and the next RECVMSG takes that same buffer",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[53, 54])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            b.shutdown(Shutdown::Write)
                .setup("shutdown(SHUT_WR) of the peer")?;
            let c = one(cx, &mut ring, recvmsg(cx, fd(&a), 0)?, 1)?;
            let (a2, _b2) = socket_with(&[0x11, 0x22])?;
            let c2 = one(cx, &mut ring, recvmsg(cx, fd(&a2), 0)?, 2)?;
            check_cqe(
                cx,
                "a RECVMSG of 2 bytes after it",
                &c2,
                2,
                buf_flags(53, NONE),
            )?;
            check_bytes(cx, &m, 0, &[0x11, 0x22], "bytes in bid 53")?;
            cx.observe(
                c,
                "two 64-byte ring buffers (bids 53, 54), on an AF_UNIX stream whose peer shut \
                 down writing",
            )
        }),
    Case::new("buf_ring_io::recvmsg_sock_nonempty")
        .requires(RECV_RING)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(64, buf_flags(55, SOCK_NONEMPTY)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg (msg_get_inq = 1) -> af_unix.c:unix_stream_read_generic \
                 (msg_inq) -> io_recv_finish (msg_inq > 0: IORING_CQE_F_SOCK_NONEMPTY)",
            )
            .rows(&[])
            .note(
                "a RECVMSG that leaves bytes queued says so; the one that takes the rest does \
                 not",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[55, 56])?;
            let (a, _b) = socket_with(&pattern(128, 45))?;
            let c = one(cx, &mut ring, recvmsg(cx, fd(&a), 0)?, 1)?;
            let c2 = one(cx, &mut ring, recvmsg(cx, fd(&a), 0)?, 2)?;
            check_cqe(cx, "the second RECVMSG", &c2, 64, buf_flags(56, NONE))?;
            cx.observe(
                c,
                "two 64-byte ring buffers (bids 55, 56), on an AF_UNIX stream holding 128 bytes",
            )
        }),
    Case::new("buf_ring_io::recvmsg_dgram_after_recv_not_nonempty")
        .requires(RECV_RING)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(20, buf_flags(58, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg (msg_inq = -1 before each receive) / io_recv_finish; \
                 af_unix.c:__unix_dgram_recvmsg (never sets msg_inq); io_netmsg_recycle",
            )
            .rows(&[])
            .note(
                "a datagram RECVMSG never says SOCK_NONEMPTY, even on the io_async_msghdr a \
                 RECV that left 64 bytes queued just gave back to the ring's cache",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[57, 58])?;
            let (s, _sb) = socket_with(&pattern(128, 47))?;
            let recv = op::recv_select(fd(&s), 0, 0, BGID);
            let c1 = one(cx, &mut ring, recv, 1)?;
            check_cqe(
                cx,
                "the RECV on the stream",
                &c1,
                64,
                buf_flags(57, SOCK_NONEMPTY),
            )?;
            let data = pattern(20, 49);
            let (a, _b) = dgram_with(&[&data])?;
            let c = one(cx, &mut ring, recvmsg(cx, fd(&a), 0)?, 2)?;
            check_bytes(cx, &m, 64, &data, "bytes in bid 58")?;
            cx.observe(
                c,
                "after a RECV of 64 of 128 bytes on a stream; 64-byte ring buffers (bids 57, \
                 58), on an AF_UNIX datagram socket holding 20 bytes",
            )
        }),
    // ---- RECV: what a multishot drains, which buffers a shot maps ----
    Case::new("buf_ring_io::recv_multishot_drains_queued")
        .requires(RECV_RING)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(64, buf_flags(63, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (SOCK_NONEMPTY or msg_inq unknown: receive again, up to \
                 MULTISHOT_MAX_RETRY, then requeue)",
            )
            .man("io_uring_prep_recv.3", "io_uring_prep_recv_multishot")
            .rows(&[])
            .note(
                "a multishot RECV armed on a stream already holding 256 bytes takes them in \
                 four 64-byte shots with no more data coming",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[60, 61, 62, 63, 64])?;
            let data = pattern(256, 51);
            let (a, _b) = socket_with(&data)?;
            let sqe = op::recv_select(fd(&a), 0, 0, BGID)
                .ioprio(RecvSendFlags::RECV_MULTISHOT.0)
                .user_data(1);
            let cqes = cx.submit_batch(&mut ring, vec![sqe], 4)?;
            let armed = CqeFlags::MORE;
            let left = CqeFlags(armed.0 | SOCK_NONEMPTY.0);
            cx.check_eq(
                "the four shots (res, flags): bytes left queued after the first three",
                res_flags(&cqes),
                vec![
                    (64, buf_flags(60, left)),
                    (64, buf_flags(61, left)),
                    (64, buf_flags(62, left)),
                    (64, buf_flags(63, armed)),
                ],
            )?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 60-63")?;
            cx.observe(
                cqes[3],
                "(the fourth shot) len 0, five 64-byte ring buffers (bids 60-64), on an AF_UNIX \
                 stream holding 256 bytes",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_dgram_multishot_one_buffer_each")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(81, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_buf_select (no length and msg_inq <= 1: no max_len, so \
                 kbuf.c:io_ring_buffers_peek maps nr_iovs, 1, buffers); \
                 af_unix.c:__unix_dgram_recvmsg (truncates, never sets msg_inq)",
            )
            .rows(&["bundle_recv_count"])
            .note(
                "a multishot bundle RECV without a length on a datagram socket maps one buffer \
                 per shot: each 100-byte datagram is cut to its 64-byte buffer",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[80, 81, 82, 83, 84])?;
            let data = pattern(200, 53);
            let (a, _b) = dgram_with(&[&data[..100], &data[100..]])?;
            let sqe = op::recv_select(fd(&a), 0, 0, BGID)
                .ioprio(RecvSendFlags::RECV_MULTISHOT.0 | RECVSEND_BUNDLE)
                .user_data(1);
            let cqes = cx.submit_batch(&mut ring, vec![sqe], 2)?;
            let armed = CqeFlags::MORE;
            cx.check_eq(
                "the two shots (res, flags)",
                res_flags(&cqes),
                vec![(64, buf_flags(80, armed)), (64, buf_flags(81, armed))],
            )?;
            cx.observe(
                cqes[1],
                "(the second shot) multishot, len 0, five 64-byte ring buffers (bids 80-84), on \
                 an AF_UNIX datagram socket holding two 100-byte datagrams",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_dgram_reuses_cached_iovecs")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(128, buf_flags(72, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_buf_select (a cached kmsg->vec: nr_iovs = vec.nr; a new array: \
                 vec.nr = ret) / io_netmsg_recycle; kbuf.c:io_ring_buffers_peek",
            )
            .rows(&["bundle_recv_count"])
            .note(
                "a bundle RECV of 128 bytes maps two buffers into an array the ring caches; a \
                 bundle RECV without a length that reuses it maps as many, two, and gets a \
                 whole 128-byte datagram",
            ),
        )
        .run(|cx| {
            let bids = [70, 71, 72, 73, 74, 75];
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &bids)?;
            let data = pattern(256, 55);
            let (a, _b) = dgram_with(&[&data[..128], &data[128..]])?;
            let first = op::recv_select(fd(&a), 128, 0, BGID).ioprio(RECVSEND_BUNDLE);
            let c1 = one(cx, &mut ring, first, 1)?;
            check_cqe(cx, "the RECV of 128", &c1, 128, buf_flags(70, NONE))?;
            let second = op::recv_select(fd(&a), 0, 0, BGID).ioprio(RECVSEND_BUNDLE);
            let c = one(cx, &mut ring, second, 2)?;
            check_bytes(cx, &m, 128, &data[128..], "bytes in bids 72, 73")?;
            cx.observe(
                c,
                "after a bundle RECV of 128 bytes over two buffers; six 64-byte ring buffers \
                 (bids 70-75), on an AF_UNIX datagram socket holding a 128-byte datagram",
            )
        }),
    Case::new("buf_ring_io::recv_select_len_over_buffer_takes_one")
        .requires(RECV_RING)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(90, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_buf_select (no bundle: io_buffer_select, one buffer, len cut to \
                 it) / io_recv_prep",
            )
            .man("io_uring_prep_recv.3", "IOSQE_BUFFER_SELECT")
            .rows(&[])
            .note(
                "a RECV (no bundle) of 128 bytes from 64-byte buffers takes one: a 128-byte \
                 datagram is cut to 64",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[90, 91])?;
            let data = pattern(128, 57);
            let (a, _b) = dgram_with(&[&data])?;
            let c = one(cx, &mut ring, op::recv_select(fd(&a), 128, 0, BGID), 1)?;
            check_bytes(cx, &m, 0, &data[..64], "bytes in bid 90")?;
            cx.observe(
                c,
                "two 64-byte ring buffers (bids 90, 91), on an AF_UNIX datagram socket holding \
                 a 128-byte datagram",
            )
        }),
];
