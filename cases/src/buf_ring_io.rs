//! Provided-buffer rings in use on sockets: IORING_RECVSEND_BUNDLE (6.10, on
//! IOU_PBUF_RING_INC rings 6.12). Incremental consumption on sockets, pipes and files, the
//! IORING_CQE_F_BUF_MORE rules and min_left are in [`crate::buf_ring_inc`]; the helpers both
//! use are in `common::pbuf_io`.
//!
//! Socket rows use an AF_UNIX stream pair and give every RECV a length, and leave the socket
//! empty: AF_UNIX reports its queue length (`msg_inq`, which decides SOCK_NONEMPTY and the
//! bundle retry) only on newer kernels, so a row that left bytes queued would see different
//! flags for reasons outside io_uring.

use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{
    check_bytes, check_cqe, check_entry, one, ring_with, socket_with, BGID, MORE, NONE, SOCK,
};
use crate::common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use uring::abi::{PbufFlags, RECVSEND_BUNDLE};
use uring::{op, Sqe};
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

// The feature that decides first: a skip names the first one missing.
const BUNDLE: &[Feature] = &[
    Feature::RecvsendBundle,
    Feature::PbufRing,
    Feature::PbufStatus,
    Feature::OpRecvSend,
];
const BUNDLE_INC: &[Feature] = &[
    Feature::RecvsendBundle,
    Feature::PbufRingInc,
    Feature::PbufStatus,
    Feature::OpRecvSend,
];
/// A RECV bundle of up to `len` bytes from `BGID`.
fn recv_bundle(fd: i32, len: u32) -> Sqe {
    op::recv_select(fd, len, 0, BGID).ioprio(RECVSEND_BUNDLE)
}

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
            b.set_nonblocking(true).setup("O_NONBLOCK on the peer")?;
            let mut got = vec![0u8; 256];
            let n = (&b).read(&mut got).unwrap_or(0);
            cx.check_eq(
                "bytes the peer received (bids 30, 31, 32 in ring order)",
                got[..n].to_vec(),
                data,
            )?;
            check_head(cx, &ring, BGID, 3, "after the bundle")?;
            cx.observe(
                c,
                "len 0 over three 64-byte buffers, bids 30-32, holding 192 bytes",
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
];
