//! Provided-buffer rings in use on sockets: IORING_RECVSEND_BUNDLE (6.10, on
//! IOU_PBUF_RING_INC rings 6.12). Incremental consumption on sockets, pipes and files, the
//! IORING_CQE_F_BUF_MORE rules and min_left are in [`crate::buf_ring_inc`]; the helpers both
//! use are in `common::pbuf_io`.
//!
//! Socket rows use an AF_UNIX stream pair and give every RECV a length, and leave the socket
//! empty: AF_UNIX reports its queue length (`msg_inq`, which decides SOCK_NONEMPTY and the
//! bundle retry) only on newer kernels, so a row that left bytes queued would see different
//! flags for reasons outside io_uring.

use crate::common::buf_reads::publish;
use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{
    check_bytes, check_cqe, check_entry, entries_overwrite, one, received, recv_bundle,
    ring_over_itself, ring_with, socket_with, BGID, BUNDLE, MORE, NONE, SELF_BID, SOCK, SOCK_INQ,
    SOCK_NONEMPTY,
};
use crate::common::*;
use std::io::Write;
use std::os::unix::net::UnixStream;
use uring::abi::{CqeFlags, PbufFlags, RecvSendFlags, SqeFlags, RECVSEND_BUNDLE};
use uring::{op, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

const BUNDLE_INC: &[Feature] = &[
    Feature::RecvsendBundle,
    Feature::PbufRingInc,
    Feature::PbufStatus,
    Feature::OpRecvSend,
];

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- IORING_RECVSEND_BUNDLE ----
    Case::new("buf_ring_io::recv_bundle_spans_buffers")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(192, buf_flags(20, NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffers_peek; net.c:io_recv_finish (io_bundle_nbufs)")
                .man("io_uring_prep_recv.3", "IORING_RECVSEND_BUNDLE")
                .rows(&["bundle_recv_count"])
                .note(
                    "io_uring_register_buf_ring.3 says the CQE names the buffer selected: a \
                     bundle's CQE names only the first of the buffers it used, which follow in \
                     ring order; with sqe->len 0 the first pass maps one buffer unless the socket \
                     reports its queue length (msg_inq), so the row gives the length",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(192, 1);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 192), 0xb1)?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 20, 21, 22 in ring order")?;
            check_bytes(cx, &m, 192, &[0; 64], "bid 23 (not needed)")?;
            check_head(cx, &ring, BGID, 3, "after a bundle of three buffers")?;
            cx.observe(
                c,
                "on a socket holding 192 bytes; four 64-byte buffers, bids 20-23",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_short_transfer")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(100, buf_flags(20, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_bundle_nbufs (short transfer: count segments); kbuf.c:io_kbuf_commit",
            )
            .rows(&["bundle_recv_short"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(100, 2);
            let (a, b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 256), 0xb2)?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 20 and 21")?;
            check_bytes(cx, &m, 100, &[0; 28], "the rest of bid 21")?;
            check_head(
                cx,
                &ring,
                BGID,
                2,
                "after 100 bytes (the partly filled bid 21 is used up)",
            )?;
            (&b).write_all(b"next").setup("send")?;
            let n = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xb3)?;
            check_cqe(cx, "the next RECV", &n, 4, buf_flags(22, NONE))?;
            check_bytes(cx, &m, 128, b"next", "bytes in bid 22")?;
            cx.observe(
                c,
                "len 256 on a socket holding 100 bytes; four 64-byte buffers, bids 20-23",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_end_buffer_intact")
        .requires(BUNDLE)
        .needs(SOCK)
        .needs_level(&level::BUNDLE_END_BUFFER_INTACT)
        .expect(Expect::cqe(100, buf_flags(20, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (partial_map: stop at the last whole buffer)",
            )
            .rows(&["bundle_end_buffer_intact"])
            .note(
                "6.10 to 6.15 (6.12 before 6.12.35) mapped the third buffer truncated to 32 bytes \
                 and wrote len 32 into its ring entry; the row runs where the fix is known",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(100, 3);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 160), 0xb4)?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 20 and 21")?;
            check_entry(cx, &mut ring, &m, 2, 128, 64)?;
            check_head(cx, &ring, BGID, 2, "after 100 bytes")?;
            cx.observe(
                c,
                "len 160 (ends inside bid 22) on a socket holding 100 bytes; 64-byte buffers, \
                 bids 20-23",
            )
        }),
    Case::new("buf_ring_io::send_bundle_gathers_buffers")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(192, buf_flags(30, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_send_select_buffer / io_send_finish (REQ_F_BL_EMPTY ends the bundle)",
            )
            .man("io_uring_prep_send.3", "IORING_RECVSEND_BUNDLE")
            .rows(&["bundle_send_gather"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30, 31, 32])?;
            let data = pattern(192, 4);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(
                cx,
                &mut ring,
                op::send_select(fd(&a), 0, 0, BGID).ioprio(RECVSEND_BUNDLE),
                0xb5,
            )?;
            cx.check_eq(
                "bytes the peer received (bids 30, 31, 32 in ring order)",
                received(&b)?,
                data,
            )?;
            check_head(cx, &ring, BGID, 3, "after the bundle")?;
            cx.observe(
                c,
                "len 0 over three 64-byte buffers, bids 30-32, holding 192 bytes",
            )
        }),
    Case::new("buf_ring_io::sendmsg_bundle_refused")
        .requires(&[Feature::RecvsendBundle, Feature::OpRecvSend])
        .needs(SOCK)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep (IORING_RECVSEND_BUNDLE on IORING_OP_SENDMSG)")
                .man("io_uring_prep_send.3", "IORING_RECVSEND_BUNDLE")
                .rows(&["bundle_sendmsg"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            m.write(0, &pattern(64, 6));
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            // A plain SENDMSG of one 64-byte iovec: BUNDLE replaces the builder's FIXED_BUF.
            let sqe = op::sendmsg_fixed(
                cx.abi(),
                fd(&a),
                op::FixedMsg {
                    iovs: &[(m.addr(), 64)],
                    msg_flags: 0,
                    buf_index: 0,
                },
            )
            .setup("lay out the msghdr for the ring's ABI")?
            .ioprio(RECVSEND_BUNDLE);
            let c = one(cx, &mut ring, sqe, 0xb6)?;
            cx.check_eq("bytes the peer received", received(&b)?, vec![])?;
            cx.observe(
                c,
                "SENDMSG of one 64-byte iovec with IORING_RECVSEND_BUNDLE",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_inc_partial_last")
        .requires(BUNDLE_INC)
        .needs(SOCK)
        .expect(Expect::cqe(100, buf_flags(50, MORE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (INC: the end piece is mapped truncated) / \
                 io_kbuf_inc_commit",
            )
            .rows(&["bundle_inc_partial"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 64, &[50, 51])?;
            let data = pattern(100, 5);
            let (a, b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 100), 0xb6)?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 50 and 51")?;
            check_head(cx, &ring, BGID, 1, "after bid 50 is used up")?;
            check_entry(cx, &mut ring, &m, 1, 100, 28)?;
            let rest = pattern(28, 6);
            (&b).write_all(&rest).setup("send")?;
            let n = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xb7)?;
            check_cqe(
                cx,
                "the next RECV (the 28 bytes left of bid 51)",
                &n,
                28,
                buf_flags(51, NONE),
            )?;
            check_bytes(cx, &m, 100, &rest, "bytes at offset 36 of bid 51")?;
            check_head(cx, &ring, BGID, 2, "after bid 51 is used up")?;
            cx.observe(
                c,
                "len 100 on a socket holding 100 bytes; INC ring, 64-byte buffers, bids 50-51",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_inc_one_byte_into_next")
        .requires(BUNDLE_INC)
        .needs(SOCK)
        .expect(Expect::cqe(65, buf_flags(50, MORE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (needed = DIV_ROUND_UP(max_len, len): 65 bytes \
                 over 64-byte buffers need two) / io_kbuf_inc_commit",
            )
            .rows(&[])
            .note("the socket holds exactly the 65 bytes, so no retry appends"),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 64, &[50, 51])?;
            let data = pattern(65, 24);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 65), 0xc6)?;
            check_bytes(
                cx,
                &m,
                0,
                &data[..65],
                "bytes in bid 50 and the first of bid 51",
            )?;
            check_head(cx, &ring, BGID, 1, "after bid 50 is used up")?;
            check_entry(cx, &mut ring, &m, 1, 65, 63)?;
            cx.observe(
                c,
                "len 65 on a socket holding 65 bytes; INC ring, 64-byte buffers, bids 50-51",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_retry_appends")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::by_level(
            &level::BUNDLE_RECV_RETRY,
            Want::cqe(192, buf_flags(20, NONE)),
            Want::cqe(64, buf_flags(20, NONE)),
        ))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (IORING_RECV_RETRY: full transfer and msg_inq > 1) / \
                 io_recv_buf_select (max_len from msg_inq)",
            )
            .rows(&["bundle_recv_retry"])
            .note(
                "with len 0 the first pass maps one buffer; only a socket that reports its queue \
                 length lets the retry append the rest (same CQE, bid of the first)",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(192, 15);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 0), 0xb8)?;
            let appended =
                level::BUNDLE_RECV_RETRY.decide(cx.features()).verdict == level::Verdict::Has;
            let (bytes, head) = if appended { (192, 3) } else { (64, 1) };
            check_bytes(cx, &m, 0, &data[..bytes], "bytes in ring order from bid 20")?;
            check_head(cx, &ring, BGID, head, "after the bundle")?;
            cx.observe(
                c,
                "len 0 on a socket holding 192 bytes; four 64-byte buffers, bids 20-23",
            )
        }),
    Case::new("buf_ring_io::recv_overwrites_own_entry")
        .requires(&[Feature::PbufRing, Feature::PbufStatus, Feature::OpRecvSend])
        .needs(SOCK)
        .expect(Expect::cqe(32, buf_flags(SELF_BID, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (bid and length read at selection) / \
                 io_kbuf_commit (head += nr)",
            )
            .rows(&["sel_empty"])
            .note(
                "liburing's ringbuf-loop without INC: the buffer is the ring's own page and the \
                 recv overwrites its entries (bid 0x55aa, tail 1); the CQE keeps the recv's res \
                 and bid, the commit moves the head by one whatever the entry says now and \
                 writes nothing into the ring, and the next recv sees the tail the bytes wrote",
            ),
        )
        .run(|cx| {
            let (mut ring, page) = ring_over_itself(cx, PbufFlags::NONE)?;
            let data = entries_overwrite();
            let (a, b) = socket_with(&data)?;
            let c = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xb9)?;
            check_bytes(cx, &page, 0, &data, "the ring page (nothing written back)")?;
            check_head(cx, &ring, BGID, 1, "after the recv")?;
            (&b).write_all(b"next").setup("send")?;
            let n = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xba)?;
            check_cqe(
                cx,
                "the next RECV (tail 1 == head)",
                &n,
                -E::ENOBUFS.0,
                NONE,
            )?;
            cx.observe(
                c,
                "on a socket holding 32 bytes, whose buffer (bid 7, 4096 bytes) is the ring's \
                 own page: the bytes overwrite both entries (bid 0x55aa, tail 1)",
            )
        }),
    // ---- one ring, two multishot streams ----
    Case::new("buf_ring_io::recv_multishot_two_streams_share_ring")
        .requires(&[Feature::PbufRing, Feature::PbufStatus, Feature::OpRecvSend])
        .needs(SOCK)
        .expect(Expect::cqe(5, buf_flags(41, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv (io_recv_buf_select) / io_recv_finish; \
                 kbuf.c:io_ring_buffer_select (tail == head: ENOBUFS) / io_kbuf_commit",
            )
            .rows(&["sel_empty"])
            .note(
                "liburing's buf-ring-mshot: multishot recvs on two sockets take buffers from one \
                 ring in the order their data comes, whatever the stream; when the ring is empty \
                 the next shot of each ends its request with ENOBUFS (no MORE) and leaves the \
                 bytes queued; after a refill, re-armed requests take the new entries in ring \
                 order. Where AF_UNIX does not report its queue length a stream retries right \
                 after a shot, so the ENOBUFS of the stream that took the last buffer comes \
                 before the next data: the two ENOBUFS are compared in user_data order",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[40, 41, 42])?;
            let (a, pa) = UnixStream::pair().setup("socketpair A")?;
            let (b, pb) = UnixStream::pair().setup("socketpair B")?;
            let mshot = |s: &UnixStream, ud: u64| {
                op::recv_select(fd(s), 0, 0, BGID)
                    .ioprio(RecvSendFlags::RECV_MULTISHOT.0)
                    .user_data(ud)
            };
            cx.submit_batch(&mut ring, vec![mshot(&a, 0xa), mshot(&b, 0xb)], 0)?;
            no_cqes(cx, &mut ring, "both requests armed on empty sockets")?;
            let data = pattern(72, 31);
            // A 10, B 20, A 30 bytes: one buffer each, in ring order across the streams.
            let mut got = Vec::new();
            for (n, (peer, from, to)) in [(&pa, 0, 10), (&pb, 10, 30), (&pa, 30, 60)]
                .into_iter()
                .enumerate()
            {
                (&*peer).write_all(&data[from..to]).setup("send")?;
                while got.len() <= n {
                    got.extend(cx.wait(&mut ring, 1)?);
                }
            }
            // The ring is empty: A's next 7 bytes and B's next 5 end both requests.
            (&pa).write_all(&data[60..67]).setup("send")?;
            (&pb).write_all(&data[67..]).setup("send")?;
            while got.len() < 5 {
                got.extend(cx.wait(&mut ring, 1)?);
            }
            got[3..].sort_by_key(|c| c.user_data);
            let armed = CqeFlags::MORE;
            cx.check_eq(
                "the shots (user_data, res, flags), then each stream's end",
                got.iter()
                    .map(|c| (c.user_data, c.res, c.flags))
                    .collect::<Vec<_>>(),
                vec![
                    (0xa, 10, buf_flags(40, armed)),
                    (0xb, 20, buf_flags(41, armed)),
                    (0xa, 30, buf_flags(42, armed)),
                    (0xa, -E::ENOBUFS.0, NONE),
                    (0xb, -E::ENOBUFS.0, NONE),
                ],
            )?;
            no_cqes(cx, &mut ring, "after both requests ended")?;
            check_bytes(cx, &m, 0, &data[..10], "A's first bytes in bid 40")?;
            check_bytes(cx, &m, 64, &data[10..30], "B's bytes in bid 41")?;
            check_bytes(cx, &m, 128, &data[30..60], "A's second bytes in bid 42")?;
            check_head(cx, &ring, BGID, 3, "when the ring ran dry")?;
            // Refill all three (one stays, so no stream's retry finds the ring empty) and
            // re-arm: the bytes left queued go to the new entries in ring order.
            let bufs: Vec<_> = (0..3).map(|i| m.slice(i * 64, 64)).collect();
            publish(&mut ring, BGID, &bufs, &[40, 41, 42])?;
            let again = cx.submit_batch(&mut ring, vec![mshot(&a, 0xa), mshot(&b, 0xb)], 2)?;
            cx.check_eq(
                "the re-armed requests' shots (user_data, res, flags)",
                again
                    .iter()
                    .map(|c| (c.user_data, c.res, c.flags))
                    .collect::<Vec<_>>(),
                vec![
                    (0xa, 7, buf_flags(40, armed)),
                    (0xb, 5, buf_flags(41, armed)),
                ],
            )?;
            check_bytes(cx, &m, 0, &data[60..67], "A's queued bytes in bid 40")?;
            check_bytes(cx, &m, 64, &data[67..], "B's queued bytes in bid 41")?;
            check_head(cx, &ring, BGID, 5, "after the refill's two shots")?;
            no_cqes(cx, &mut ring, "with bid 42 left")?;
            cx.observe(
                again[1],
                "multishot, B re-armed after a refill with 5 bytes queued (A re-armed before it \
                 with 7); one 8-entry ring of 64-byte buffers, bids 40-42, shared by streams A \
                 and B",
            )
        }),
    // ---- selection from io-wq (IOSQE_ASYNC): kbuf.c:io_ring_buffer_select commits at once ----
    Case::new("buf_ring_io::recv_bundle_iowq_ends_at_last_buffer")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(128, buf_flags(20, SOCK_NONEMPTY)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_buf_select (IO_URING_F_UNLOCKED: io_buffer_select, one buffer \
                 per pass) / io_recv_finish (one IORING_RECV_RETRY while msg_inq > 1; \
                 REQ_F_BL_EMPTY ends the bundle); kbuf.c:io_ring_buffer_select (head + 1 == \
                 tail: REQ_F_BL_EMPTY)",
            )
            .rows(&[])
            .note(
                "from io-wq a RECV bundle selects one buffer per pass and appends one retry \
                 while the socket says more is queued; the pass that takes the ring's last \
                 buffer ends it without a retry (which would fail ENOBUFS and lose \
                 SOCK_NONEMPTY); 8 bytes stay queued each time",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21])?;
            let data = pattern(200, 19);
            let (a, _b) = socket_with(&data)?;
            let async_bundle = || recv_bundle(fd(&a), 0).add_flags(SqeFlags::ASYNC);
            let c = one(cx, &mut ring, async_bundle(), 0xbd)?;
            check_bytes(cx, &m, 0, &data[..128], "bytes in bids 20 and 21")?;
            check_head(cx, &ring, BGID, 2, "after the first bundle")?;
            let last = cx.mem(64)?;
            publish(&mut ring, BGID, &[last.slice(0, 64)], &[22])?;
            let next = one(cx, &mut ring, async_bundle(), 0xbf)?;
            check_cqe(
                cx,
                "the second bundle (72 bytes queued, one buffer left)",
                &next,
                64,
                buf_flags(22, SOCK_NONEMPTY),
            )?;
            check_bytes(cx, &last, 0, &data[128..192], "bytes in bid 22")?;
            check_head(cx, &ring, BGID, 3, "after the second bundle")?;
            cx.observe(
                c,
                "IOSQE_ASYNC, len 0, on a socket holding 200 bytes; two 64-byte buffers, \
                 bids 20-21",
            )
        }),
    Case::new("buf_ring_io::recv_iowq_keeps_buffer_across_poll")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(4, buf_flags(20, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (io_should_commit: IO_URING_F_UNLOCKED commits \
                 at once, sel.buf_list = NULL) -> net.c:io_recv (-EAGAIN: io_kbuf_recycle \
                 finds no list and keeps the buffer)",
            )
            .rows(&[])
            .note(
                "an IOSQE_ASYNC recv on an empty socket takes bid 20 on its io-wq attempt \
                 (the head moves to 1 at once) and keeps it while it waits for poll; the data \
                 lands in bid 20, not in the next buffer",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::recv_select(fd(&a), 0, 0, BGID)
                .add_flags(SqeFlags::ASYNC)
                .user_data(0xbe);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            head_reaches(cx, &ring, 1)?;
            (&b).write_all(b"held").setup("send")?;
            let c = cx.wait(&mut ring, 1)?.remove(0);
            check_bytes(cx, &m, 0, b"held", "bytes in bid 20")?;
            check_head(cx, &ring, BGID, 1, "after the recv")?;
            cx.observe(
                c,
                "IOSQE_ASYNC, len 0, on an empty socket, 4 bytes sent once io-wq took bid 20; \
                 64-byte buffers, bids 20-21",
            )
        }),
];

/// Waits until the kernel head of `BGID` is `want` (a request took its buffer), bounded by
/// half the case's time limit.
fn head_reaches(cx: &Cx, ring: &Ring, want: u32) -> Result<(), CaseError> {
    let deadline = std::time::Instant::now() + cx.time_left() / 2;
    loop {
        match ring.registrar().pbuf_status(BGID as u32) {
            Ok(h) if h == want => return Ok(()),
            Ok(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Ok(h) => {
                // Half the case's limit spent waiting: a timeout, as for any wait (a kernel
                // that never takes the buffer times out too, which fails the row).
                return Err(CaseError::Timeout(format!(
                    "PBUF_STATUS head stayed {h}, not {want}: the request never took a buffer"
                )));
            }
            Err(e) => return Err(e).setup("PBUF_STATUS"),
        }
    }
}
