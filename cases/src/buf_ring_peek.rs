//! What io_ring_buffers_peek() maps from a provided-buffer ring for a SEND (with or without
//! IORING_RECVSEND_BUNDLE) and for a RECV bundle whose length or queue ends inside a buffer:
//! how many entries, how long, and what the head says after. The rows are named in
//! `buf_ring_io` (the table of rings in use on sockets, whose note on AF_UNIX holds here) and
//! use its helpers (`common::pbuf_io`).

use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{
    check_bytes, one, received, recv_bundle, ring_with, socket_with, BGID, BUNDLE, NONE, SOCK,
    SOCK_INQ, SOCK_NONEMPTY,
};
use crate::common::*;
use std::os::unix::net::UnixStream;
use uring::abi::{PbufFlags, SqeFlags, RECVSEND_BUNDLE};
use uring::bufring::BufRingMemory;
use uring::mem::UserPtr;
use uring::{op, ForeignAddr, Sqe};
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Fact, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// Sockets, and an access_ok() that refuses a kernel address.
const SOCK_KERNEL_ADDR: &[Fact] = &[Fact::UnixSockets, Fact::AccessOkRejectsKernel];

/// A SEND of up to `len` bytes from `BGID` (one buffer; a bundle with `RECVSEND_BUNDLE`).
fn send_sel(fd: i32, len: u32) -> Sqe {
    op::send_select(fd, len, 0, BGID)
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- what a SEND takes from the ring (kbuf.c:io_ring_buffers_peek) ----
    Case::new("buf_ring_io::send_select_len_inside_buffer")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(16, buf_flags(30, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (len > max_len: the first buffer is mapped \
                 truncated, only a later one ends the map) / io_buffers_select (commit)",
            )
            .rows(&[])
            .note(
                "a SEND with a length smaller than the head buffer sends that many bytes of it \
                 and uses the buffer up",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30, 31])?;
            let data = pattern(128, 16);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(cx, &mut ring, send_sel(fd(&a), 16), 0xb9)?;
            cx.check_eq(
                "bytes the peer received (the first 16 of bid 30)",
                received(&b)?,
                data[..16].to_vec(),
            )?;
            check_head(cx, &ring, BGID, 1, "after the SEND (bid 30 used up)")?;
            cx.observe(c, "len 16 over two 64-byte buffers, bids 30-31")
        }),
    Case::new("buf_ring_io::send_select_takes_one_buffer")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(30, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (no KBUF_MODE_EXPAND: nr_iovs stays 1) via \
                 net.c:io_send_select_buffer",
            )
            .rows(&[])
            .note("without IORING_RECVSEND_BUNDLE a SEND of len 0 sends one whole buffer"),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30, 31, 32])?;
            let data = pattern(192, 17);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(cx, &mut ring, send_sel(fd(&a), 0), 0xba)?;
            cx.check_eq(
                "bytes the peer received (bid 30 only)",
                received(&b)?,
                data[..64].to_vec(),
            )?;
            check_head(cx, &ring, BGID, 1, "after the SEND")?;
            cx.observe(
                c,
                "len 0, no bundle, over three 64-byte buffers, bids 30-32",
            )
        }),
    Case::new("buf_ring_io::send_bundle_zero_len_head")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffers_peek (max_len set and the head's len 0: ENOBUFS)")
                .rows(&[]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            m.write(0, &pattern(64, 18));
            let br = ring
                .setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("register the buffer ring")?;
            br.add(&m.slice(0, 0), 30, 0);
            br.add(&m.slice(0, 64), 31, 1);
            br.advance(2);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(
                cx,
                &mut ring,
                send_sel(fd(&a), 0).ioprio(RECVSEND_BUNDLE),
                0xbb,
            )?;
            cx.check_eq("bytes the peer received", received(&b)?, vec![])?;
            check_head(cx, &ring, BGID, 0, "after the refused bundle")?;
            cx.observe(
                c,
                "bundle, len 0; bid 30 of len 0 at the head, bid 31 of 64 bytes after it",
            )
        }),
    Case::new("buf_ring_io::send_kernel_address_entry")
        .requires(BUNDLE)
        .needs(SOCK_KERNEL_ADDR)
        .expect(Expect::by_level(
            &level::PEEK_ACCESS_OK,
            Want::cqe_errno(E::EFAULT),
            Want::cqe(-14, buf_flags(30, NONE)),
        ))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffers_peek (access_ok: EFAULT before the commit)")
                .rows(&[])
                .note(
                    "the peek refuses the entry before io_buffers_select commits it: no \
                     F_BUFFER, the head stays",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            let br = ring
                .setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("register the buffer ring")?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::KERNEL), 64, 30, 0);
            br.add(&m.slice(0, 64), 31, 1);
            br.advance(2);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(cx, &mut ring, send_sel(fd(&a), 0), 0xbc)?;
            cx.check_eq("bytes the peer received", received(&b)?, vec![])?;
            // The head that goes with the CQE seen (the CQE itself is checked by level).
            let head = if c.flags == NONE { 0 } else { 1 };
            check_head(cx, &ring, BGID, head, "after the failed SEND")?;
            cx.observe(c, "len 0; the head entry (bid 30) at a kernel address")
        }),
    Case::new("buf_ring_io::send_bundle_buffers_apart")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(128, buf_flags(40, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_send_select_buffer (one buffer: import_ubuf; more: iov_iter_init over \
                 the iovecs)",
            )
            .rows(&["bundle_send_gather"])
            .note(
                "the other bundle rows lay their buffers out back to back in ring order, where \
                 one range from the first buffer's address would send the same bytes",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(256)?;
            let data = pattern(256, 23);
            m.write(0, &data);
            let br = ring
                .setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("register the buffer ring")?;
            br.add(&m.slice(128, 64), 40, 0);
            br.add(&m.slice(0, 64), 41, 1);
            br.advance(2);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(
                cx,
                &mut ring,
                send_sel(fd(&a), 0).ioprio(RECVSEND_BUNDLE),
                0xbd,
            )?;
            let want = [&data[128..192], &data[..64]].concat();
            cx.check_eq(
                "bytes the peer received (bid 40, then bid 41)",
                received(&b)?,
                want,
            )?;
            check_head(cx, &ring, BGID, 2, "after the bundle")?;
            cx.observe(
                c,
                "bundle, len 0; bid 40 at +128 of the memory, bid 41 at +0 (not adjacent)",
            )
        }),
    Case::new("buf_ring_io::send_select_from_iowq")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(30, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_buffers_select (IO_URING_F_UNLOCKED: commit, drop the list, unlock \
                 uring_lock) via net.c:io_send_select_buffer",
            )
            .rows(&[])
            .note("an IOSQE_ASYNC SEND selects from io-wq, which takes and drops uring_lock"),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30, 31])?;
            let data = pattern(128, 21);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = send_sel(fd(&a), 0).add_flags(SqeFlags::ASYNC);
            let c = one(cx, &mut ring, sqe, 0xc1)?;
            cx.check_eq(
                "bytes the peer received (bid 30)",
                received(&b)?,
                data[..64].to_vec(),
            )?;
            check_head(cx, &ring, BGID, 1, "after the SEND")?;
            let again = one(cx, &mut ring, send_sel(fd(&a), 0), 0xc2)?;
            cx.check_eq(
                "a second SEND, inline (res, flags)",
                (again.res, again.flags),
                (64, buf_flags(31, NONE)),
            )?;
            cx.observe(
                c,
                "IOSQE_ASYNC, len 0, over two 64-byte buffers, bids 30-31",
            )
        }),
    Case::new("buf_ring_io::send_select_no_group")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe_errno(E::ENOENT))
        .cite(Cite::kernel("kbuf.c:io_buffers_select (no such group: -ENOENT)").rows(&[]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = one(cx, &mut ring, send_sel(fd(&a), 0), 0xc3)?;
            cx.check_eq("bytes the peer received", received(&b)?, vec![])?;
            cx.observe(c, "len 0, group 9 never registered")
        }),
    Case::new("buf_ring_io::recv_bundle_retry_reuses_iovecs")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(256, buf_flags(20, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_buf_select (the first pass's iovec array kept in kmsg->vec, \
                 KBUF_MODE_FREE) -> kbuf.c:io_ring_buffers_peek (an array big enough is \
                 reused, not freed) / net.c:io_recv_finish (one IORING_RECV_RETRY)",
            )
            .rows(&[])
            .note(
                "len 128 over four 64-byte buffers with 256 bytes queued: the first pass maps \
                 bids 20-21 into a new two-entry array, the retry maps bids 22-23 into the same \
                 array and appends",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(256, 25);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 128), 0xc7)?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 20-23")?;
            check_head(cx, &ring, BGID, 4, "after the bundle")?;
            cx.observe(
                c,
                "len 128 on a socket holding 256 bytes; four 64-byte buffers, bids 20-23",
            )
        }),
    // ---- RECV bundles that end inside a buffer ----
    Case::new("buf_ring_io::recv_bundle_len_inside_buffer_no_retry")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .needs_level(&level::BUNDLE_END_BUFFER_INTACT)
        .expect(Expect::cqe(64, buf_flags(20, SOCK_NONEMPTY)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (max_len runs out inside bid 21: not mapped, \
                 partial_map) -> net.c:io_recv_finish (IORING_RECV_PARTIAL_MAP: no retry)",
            )
            .rows(&[])
            .note(
                "a RECV bundle of len 100 over 64-byte buffers maps bid 20 alone; though the \
                 socket holds more, the mapped-short bundle is not retried",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(200, 22);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 100), 0xc4)?;
            check_bytes(cx, &m, 0, &data[..64], "bytes in bid 20")?;
            check_bytes(cx, &m, 64, &[0; 64], "bid 21 (not mapped)")?;
            check_head(cx, &ring, BGID, 1, "after the bundle")?;
            cx.observe(
                c,
                "len 100 on a socket holding 200 bytes; four 64-byte buffers, bids 20-23",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_retry_stops_at_whole_buffers")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .needs_level(&level::BUNDLE_END_BUFFER_INTACT)
        .expect(Expect::cqe(192, buf_flags(20, SOCK_NONEMPTY)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (max_len 0: one entry, no KBUF_MODE_EXPAND \
                 array; then max_len from msg_inq, the end piece not mapped) / \
                 net.c:io_recv_finish (one IORING_RECV_RETRY)",
            )
            .rows(&[])
            .note(
                "len 0: the first pass maps bid 20 alone; its retry maps what msg_inq (136) \
                 fills of whole buffers, bids 21 and 22, and leaves 8 bytes queued",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22, 23])?;
            let data = pattern(200, 23);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 0), 0xc5)?;
            check_bytes(cx, &m, 0, &data[..192], "bytes in bids 20, 21, 22")?;
            check_bytes(cx, &m, 192, &[0; 64], "bid 23 (not mapped)")?;
            check_head(cx, &ring, BGID, 3, "after the bundle")?;
            cx.observe(
                c,
                "len 0 on a socket holding 200 bytes; four 64-byte buffers, bids 20-23",
            )
        }),
];
