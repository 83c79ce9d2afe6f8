//! §3 in use, continued: incremental consumption (IOU_PBUF_RING_INC, 6.12) on sockets, pipes
//! and files, the IORING_CQE_F_BUF_MORE rules, and min_left. IORING_RECVSEND_BUNDLE is in
//! [`crate::buf_ring_io`], whose note on AF_UNIX socket rows holds here too.

use crate::common::buf_reads::FILE_NOT_POLLABLE;
use crate::common::pbuf::{check_head, INC, RBR};
use crate::common::pbuf_io::{
    check_bytes, check_cqe, check_entry, entries_overwrite, one, ring_over_itself, ring_with,
    socket_with, BGID, MORE, NONE, SELF_BID, SOCK,
};
use crate::common::*;
use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};
use uring::abi::{CqeFlags, Opcode, PbufFlags, RecvSendFlags};
use uring::{op, Cqe, Mem, Ring, Sqe};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup, Want};

const INC_NET: &[Feature] = &[
    Feature::PbufRingInc,
    Feature::PbufStatus,
    Feature::OpRecvSend,
];

const INC_MSHOT: &[Feature] = &[
    Feature::PbufRingInc,
    Feature::PbufStatus,
    Feature::OpReadMultishot,
];

const MIN_LEFT: &[Feature] = &[Feature::PbufMinLeft, Feature::PbufStatus];

/// A READ from `BGID` of up to `len` bytes at the current position.
fn read_sel(fd: i32, len: u32) -> Sqe {
    op::read_select(fd, len, u64::MAX, BGID)
}

/// The life of a multishot request on an INC ring of one 128-byte buffer `bid` (in `m`):
/// writes 40, 30 and 58 bytes to `w` (a completion each: the first two with BUF_MORE, the
/// third using the buffer up), then one more byte, and collects completions until the
/// request ends with -ENOBUFS. The end may come right after the third shot: a socket whose
/// queue length is unknown (msg_inq < 0) is read again at once and finds the ring empty;
/// otherwise the next byte triggers it. Returns the first completion.
fn multishot_life(
    cx: &Cx,
    ring: &mut Ring,
    m: &Mem,
    w: &mut impl Write,
    bid: u16,
    seed: u8,
) -> Result<Cqe, CaseError> {
    let data = pattern(128, seed);
    let mut got: Vec<Cqe> = Vec::new();
    for (i, (from, to)) in [(0, 40), (40, 70), (70, 128)].into_iter().enumerate() {
        w.write_all(&data[from..to]).setup("write to the peer")?;
        if got.len() <= i {
            got.extend(cx.wait(ring, 1)?);
        }
    }
    w.write_all(b"x").setup("write to the peer")?;
    if got.len() < 4 {
        got.extend(cx.wait(ring, 1)?);
    }
    no_cqes(cx, ring, "after the request ended")?;
    let armed = CqeFlags(MORE.0 | CqeFlags::MORE.0);
    let want = [
        (40, buf_flags(bid, armed)),
        (30, buf_flags(bid, armed)),
        (58, buf_flags(bid, CqeFlags::MORE)),
        (-E::ENOBUFS.0, NONE),
    ];
    let seen: Vec<(i32, CqeFlags)> = got.iter().map(|c| (c.res, c.flags)).collect();
    cx.check_eq(
        "the shots (40 and 30 bytes with BUF_MORE, 58 using the buffer up, then -ENOBUFS)",
        seen,
        want.to_vec(),
    )?;
    check_bytes(cx, m, 0, &data, "bytes of the three shots in one bid")?;
    check_head(cx, ring, BGID, 1, "after the buffer is used up")?;
    Ok(got[0])
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- IOU_PBUF_RING_INC and BUF_MORE ----
    Case::new("buf_ring_io::inc_socket_recv_continues")
        .requires(INC_NET)
        .needs(SOCK)
        .expect(Expect::cqe(100, buf_flags(40, MORE)))
        .cite(
            Cite::kernel("kbuf.c:io_kbuf_inc_commit (addr += n, len -= n); net.c:io_recv_finish")
                .man(RBR, "IOU_PBUF_RING_INC")
                .rows(&["inc_buf_more_continue"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 256, &[40])?;
            let first = pattern(100, 7);
            let (a, b) = socket_with(&first)?;
            let c = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xc1)?;
            check_entry(cx, &mut ring, &m, 0, 100, 156)?;
            check_head(cx, &ring, BGID, 0, "after 100 of 256 bytes")?;
            let second = pattern(50, 8);
            (&b).write_all(&second).setup("send")?;
            let n = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xc2)?;
            check_cqe(cx, "the second RECV", &n, 50, buf_flags(40, MORE))?;
            check_bytes(cx, &m, 0, &first, "first bytes at offset 0 of bid 40")?;
            check_bytes(cx, &m, 100, &second, "second bytes at offset 100 of bid 40")?;
            check_entry(cx, &mut ring, &m, 0, 150, 106)?;
            cx.observe(
                c,
                "on a socket holding 100 bytes; INC ring, one 256-byte buffer, bid 40",
            )
        }),
    Case::new("buf_ring_io::inc_pipe_read_stops_at_buffer_end")
        .requires(INC)
        .expect(Expect::cqe(24, buf_flags(41, NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (len = what is left of the entry) / \
                 io_kbuf_inc_commit",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_buffer_end"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 64, &[41, 42])?;
            let data = pattern(80, 9);
            let (r, _w) = pipe_with(&data[..40])?;
            let first = one(cx, &mut ring, read_sel(fd(&r), 0), 0xc3)?;
            check_cqe(
                cx,
                "the first READ (40 of 64 bytes)",
                &first,
                40,
                buf_flags(41, MORE),
            )?;
            let mut w = _w;
            w.write_all(&data[40..]).setup("write the pipe")?;
            let c = one(cx, &mut ring, read_sel(fd(&r), 0), 0xc4)?;
            check_head(cx, &ring, BGID, 1, "after bid 41 is used up")?;
            let last = one(cx, &mut ring, read_sel(fd(&r), 0), 0xc5)?;
            check_cqe(
                cx,
                "the third READ (the 16 bytes left in the pipe)",
                &last,
                16,
                buf_flags(42, MORE),
            )?;
            check_bytes(cx, &m, 0, &data, "bytes across bids 41 and 42")?;
            cx.observe(
                c,
                "on a pipe holding 40 bytes, 24 left in bid 41 (INC ring, 64-byte buffers, bids \
                 41-42)",
            )
        }),
    Case::new("buf_ring_io::inc_pipe_eof_keeps_buffer")
        .requires(INC)
        .expect(Expect::by_level(
            &level::INC_ZERO_LEN_BUF_MORE,
            Want::cqe(0, buf_flags(43, MORE)),
            Want::cqe(0, buf_flags(43, NONE)),
        ))
        .cite(
            Cite::kernel(
                "kbuf.c:io_kbuf_inc_commit (no data consumed: the buffer stays); rw.c:kiocb_done",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_zero_len"])
            .note(
                "on a pipe the buffer is committed at completion with the bytes read: at EOF that \
                 is 0, the entry and the head stay on both levels; only BUF_MORE changed (2026)",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 64, &[43])?;
            let data = pattern(10, 10);
            let (r, w) = pipe_with(&data)?;
            drop(w);
            let first = one(cx, &mut ring, read_sel(fd(&r), 0), 0xc6)?;
            check_cqe(
                cx,
                "the READ of the 10 bytes",
                &first,
                10,
                buf_flags(43, MORE),
            )?;
            let c = one(cx, &mut ring, read_sel(fd(&r), 0), 0xc7)?;
            check_entry(cx, &mut ring, &m, 0, 10, 54)?;
            check_head(cx, &ring, BGID, 0, "after EOF")?;
            check_bytes(cx, &m, 0, &data, "bytes in bid 43")?;
            cx.observe(
                c,
                "at EOF of a pipe (writer closed) after 10 of 64 bytes of bid 43 (INC ring)",
            )
        }),
    Case::new("buf_ring_io::inc_file_read_buf_more")
        .requires(INC)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::by_level(
            &level::INC_EARLY_COMMIT_BUF_MORE,
            Want::cqe(64, buf_flags(44, MORE)),
            Want::cqe(64, buf_flags(44, NONE)),
        ))
        .cite(
            Cite::kernel(
                "kbuf.c:io_should_commit (!io_file_can_poll: commit at selection) / \
                 io_ring_buffer_select",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_file_early_commit"])
            .note(
                "a regular file that cannot be polled (not FUSE: tmpdir_file_not_pollable) \
                 commits the buffer at selection with the requested length; the entry advances on \
                 both levels, BUF_MORE only since the 2026 fix. On a pollable file the commit at \
                 completion gives BUF_MORE on every level, which would misreport the level",
            ),
        )
        .run(|cx| {
            let (f, data) = data_file(cx, 200, 11)?;
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 256, &[44])?;
            let c = one(cx, &mut ring, op::read_select(fd(&f), 64, 0, BGID), 0xc8)?;
            check_entry(cx, &mut ring, &m, 0, 64, 192)?;
            check_head(cx, &ring, BGID, 0, "after 64 of 256 bytes")?;
            let n = one(cx, &mut ring, op::read_select(fd(&f), 64, 64, BGID), 0xc9)?;
            check_cqe(cx, "the READ at offset 64", &n, 64, c.flags)?;
            check_bytes(
                cx,
                &m,
                0,
                &data[..128],
                "file bytes 0-127 at offsets 0-127 of bid 44",
            )?;
            check_entry(cx, &mut ring, &m, 0, 128, 128)?;
            cx.observe(
                c,
                "len 64 at offset 0 of a 200-byte file (INC ring, one 256-byte buffer, bid 44)",
            )
        }),
    Case::new("buf_ring_io::inc_file_eof_consumes_requested_len")
        .requires(INC)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::by_level(
            &level::INC_EARLY_COMMIT_BUF_MORE,
            Want::cqe(0, buf_flags(45, MORE)),
            Want::cqe(0, buf_flags(45, NONE)),
        ))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select -> io_should_commit (!io_file_can_poll) -> \
                 io_kbuf_commit(*len) before the read",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_file_early_commit", "inc_zero_len"])
            .note(
                "unlike a pipe, a regular file that cannot be polled (tmpdir_file_not_pollable) \
                 at EOF still consumes the requested 64 bytes of the entry: it was committed at \
                 selection (io_should_commit: !io_file_can_poll). A FUSE file polls and is \
                 committed at completion with 0 bytes, like the pipe",
            ),
        )
        .run(|cx| {
            let (f, _data) = data_file(cx, 200, 12)?;
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 256, &[45])?;
            let c = one(cx, &mut ring, op::read_select(fd(&f), 64, 200, BGID), 0xca)?;
            check_entry(cx, &mut ring, &m, 0, 64, 192)?;
            check_head(cx, &ring, BGID, 0, "after the read at EOF")?;
            check_bytes(
                cx,
                &m,
                0,
                &[0; 64],
                "bid 45's first 64 bytes (nothing read)",
            )?;
            cx.observe(
                c,
                "len 64 at offset 200 (EOF) of a 200-byte file (INC ring, one 256-byte buffer, \
                 bid 45)",
            )
        }),
    Case::new("buf_ring_io::inc_read_multishot_same_bid")
        .requires(INC_MSHOT)
        .expect(Expect::cqe(
            40,
            buf_flags(60, CqeFlags(MORE.0 | CqeFlags::MORE.0)),
        ))
        .cite(
            Cite::kernel(
                "rw.c:io_read_mshot (rw->len reset: each shot takes what is left) / \
                 kbuf.c:io_kbuf_inc_commit",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_multishot", "inc_buf_more_continue"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 128, &[60])?;
            let (r, mut w) = pipe()?;
            let sqe = Sqe::with_opcode(Opcode::READ_MULTISHOT)
                .fd(fd(&r))
                .buffer_select(BGID)
                .user_data(0xd1);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            let first = multishot_life(cx, &mut ring, &m, &mut w, 60, 13)?;
            cx.observe(
                first,
                "on a pipe, first 40 bytes (INC ring, one 128-byte buffer, bid 60)",
            )
        }),
    Case::new("buf_ring_io::inc_recv_multishot_same_bid")
        .requires(&[
            Feature::PbufRingInc,
            Feature::PbufStatus,
            Feature::OpRecvSend,
        ])
        .needs(SOCK)
        .expect(Expect::cqe(
            40,
            buf_flags(61, CqeFlags(MORE.0 | CqeFlags::MORE.0)),
        ))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (io_put_kbuf, then IORING_CQE_F_MORE) / \
                 kbuf.c:io_kbuf_inc_commit",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_multishot", "inc_buf_more_continue"])
            .note(
                "where AF_UNIX does not report its queue length (no unix_inq) the request is \
                 retried at once after a shot, so the -ENOBUFS end follows the shot that used the \
                 buffer up; elsewhere it waits for the next byte",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 0, 128, &[61])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::recv_select(fd(&a), 0, 0, BGID)
                .ioprio(uring::abi::RECV_MULTISHOT)
                .user_data(0xd2);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            let first = multishot_life(cx, &mut ring, &m, &mut &b, 61, 16)?;
            cx.observe(
                first,
                "multishot on a socket, first 40 bytes (INC ring, one 128-byte buffer, bid 61)",
            )
        }),
    Case::new("buf_ring_io::inc_recv_overwrites_own_entry")
        .requires(INC_NET)
        .needs(SOCK)
        .needs_level(&level::INC_COMMIT_STOPS_AT_ZERO_LEN)
        .expect(Expect::cqe(32, buf_flags(SELF_BID, MORE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (bid and length read at selection) / \
                 io_kbuf_inc_commit (a zero-length entry stops the loop)",
            )
            .man(RBR, "IOU_PBUF_RING_INC")
            .rows(&["inc_buf_more_continue"])
            .note(
                "liburing's ringbuf-loop: a socket is pollable, so the INC buffer is committed \
                 at completion, from the entry as the recv left it: len 0, which consumes \
                 nothing and keeps the buffer (BUF_MORE); the CQE's res and bid are the recv's, \
                 not the 32 bytes' bid 0x55aa, and the head stays. Before the fix the commit \
                 looped for ever on the zero length",
            ),
        )
        .run(|cx| {
            let (mut ring, page) = ring_over_itself(cx, PbufFlags::INC)?;
            let data = entries_overwrite();
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID), 0xe6)?;
            check_bytes(
                cx,
                &page,
                0,
                &data,
                "the ring page (addr + 0 and len 0 written back)",
            )?;
            check_head(cx, &ring, BGID, 0, "after a commit of nothing")?;
            cx.observe(
                c,
                "on a socket holding 32 bytes, whose buffer (bid 7, 4096 bytes) is the INC \
                 ring's own page: the bytes overwrite both entries (entry 0 len 0, bid 0x55aa)",
            )
        }),
    // ---- min_left ----
    Case::new("buf_ring_io::min_left_retires_below")
        .requires(MIN_LEFT)
        .expect(Expect::cqe(1, buf_flags(70, NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_kbuf_inc_commit (buf_len > min_left_sub_one keeps the buffer)")
                .man(RBR, "min_left")
                .rows(&["pbuf_min_left_retire"])
                .note(
                    "kept while at least min_left bytes remain (32 left of min_left 32: \
                     BUF_MORE); one byte more retires it with len 0 written back and addr not \
                     advanced",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 32, 128, &[70, 71])?;
            let data = pattern(102, 14);
            let (r, mut w) = pipe_with(&data[..96])?;
            let first = one(cx, &mut ring, read_sel(fd(&r), 0), 0xe1)?;
            check_cqe(
                cx,
                "the READ leaving exactly min_left (32) bytes",
                &first,
                96,
                buf_flags(70, MORE),
            )?;
            check_entry(cx, &mut ring, &m, 0, 96, 32)?;
            w.write_all(&data[96..97]).setup("write the pipe")?;
            let c = one(cx, &mut ring, read_sel(fd(&r), 0), 0xe2)?;
            check_head(cx, &ring, BGID, 1, "after the buffer is retired")?;
            check_entry(cx, &mut ring, &m, 0, 96, 0)?;
            w.write_all(&data[97..]).setup("write the pipe")?;
            let next = one(cx, &mut ring, read_sel(fd(&r), 0), 0xe3)?;
            check_cqe(
                cx,
                "the next READ (bid 71 from its start)",
                &next,
                5,
                buf_flags(71, MORE),
            )?;
            check_bytes(cx, &m, 0, &data[..97], "bytes in bid 70")?;
            check_bytes(cx, &m, 128, &data[97..], "bytes at offset 0 of bid 71")?;
            cx.observe(
                c,
                "of 1 byte on a pipe, 32 bytes left of bid 70 (INC ring, min_left 32, 128-byte \
                 buffers, bids 70-71)",
            )
        }),
    Case::new("buf_ring_io::recvmsg_multishot_min_left_header_room")
        .requires(&[
            Feature::PbufMinLeft,
            Feature::PbufStatus,
            Feature::OpRecvSend,
        ])
        .needs(SOCK)
        .expect(Expect::cqe(36, buf_flags(81, CqeFlags::MORE.with(MORE))))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg_prep_multishot (len < hdr: EFAULT); kbuf.c:io_kbuf_inc_commit \
                 (min_left)",
            )
            .man(RBR, "min_left")
            .rows(&["pbuf_min_left_retire"])
            .note(
                "liburing's recvmsg-inc-tail on AF_UNIX datagrams: each shot takes the 16-byte \
                 io_uring_recvmsg_out header (no name, no control) plus the payload; min_left 16 \
                 retires the 8-byte tail the first shot leaves, so the second shot starts the \
                 next entry instead of failing EFAULT on a tail below the header",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::INC, 16, 64, &[80, 81])?;
            let (a, b) = UnixDatagram::pair().setup("socketpair(SOCK_DGRAM)")?;
            let data = pattern(60, 21);
            b.send(&data[..40]).setup("send the first datagram")?;
            let msghdr = cx.mem(64)?;
            // All zeros: no name, no control data, no iovec, in either ABI's layout.
            let recvmsg = op::recvmsg_select(fd(&a), msghdr.slice(0, 64), 0, BGID)
                .ioprio(RecvSendFlags::RECV_MULTISHOT.0)
                .user_data(0xe5);
            let first = cx.submit_batch(&mut ring, vec![recvmsg], 1)?.remove(0);
            check_cqe(
                cx,
                "the first shot (16 + 40 of bid 80, 8 left < min_left)",
                &first,
                56,
                buf_flags(80, CqeFlags::MORE),
            )?;
            check_head(cx, &ring, BGID, 1, "after the first shot retired bid 80")?;
            b.send(&data[40..]).setup("send the second datagram")?;
            let c = cx.wait(&mut ring, 1)?.remove(0);
            check_head(cx, &ring, BGID, 1, "after the second shot (bid 81 kept)")?;
            check_entry(cx, &mut ring, &m, 1, 64 + 36, 28)?;
            for (off, payload) in [(0, &data[..40]), (64, &data[40..])] {
                let mut out = [0u8; 16];
                out[8..12].copy_from_slice(&(payload.len() as u32).to_ne_bytes());
                check_bytes(cx, &m, off, &out, "io_uring_recvmsg_out (payloadlen only)")?;
                check_bytes(cx, &m, off + 16, payload, "the payload after the header")?;
            }
            cx.observe(
                c,
                "multishot on an AF_UNIX datagram socket, second datagram of 20 bytes, 8 bytes \
                 left of bid 80 (INC ring, min_left 16, 64-byte buffers, bids 80-81)",
            )
        }),
];
