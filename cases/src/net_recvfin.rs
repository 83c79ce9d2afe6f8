//! How io_recv_finish() ends a RECV with selected buffers (issue 24, generated mutants of
//! net.c that survived): when a multishot RECV stays armed, retries at once or re-arms poll
//! (the queue length AF_UNIX reports, `msg_inq`: 0 known empty, -1 unknown), and when a
//! RECV bundle that filled its buffers retries to append what is still queued (`msg_inq >
//! 1`) or reports SOCK_NONEMPTY (`msg_inq > 0`). The rows use `buf_ring_io`'s helpers
//! (`common::pbuf_io`); its note on AF_UNIX holds here.

use crate::common::buf_reads::publish;
use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{
    check_bytes, one, recv_bundle, recv_multishot, res_flags, ring_with, shots, socket_with, BGID,
    BUNDLE, NONE, SOCK, SOCK_INQ, SOCK_NONEMPTY,
};
use crate::common::*;
use std::os::unix::net::{UnixDatagram, UnixStream};
use uring::abi::{CqeFlags, PbufFlags, SetupFlags};
use uring::register::buf_reg;
use uring::{Cqe, Ring};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// What the multishot rows require.
const MSHOT: &[Feature] = &[Feature::PbufRing, Feature::PbufStatus, Feature::OpRecvSend];

/// A RECV bundle of len 128 over three 64-byte buffers (bids 20-22) on a socket holding
/// `queued` bytes: returns the CQE, the buffers and the data.
fn bundle_of_128(
    cx: &Cx,
    queued: usize,
    seed: u8,
) -> Result<(Ring, std::sync::Arc<uring::Mem>, Vec<u8>, Cqe), CaseError> {
    let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[20, 21, 22])?;
    let data = pattern(queued, seed);
    let (a, _b) = socket_with(&data)?;
    let c = one(cx, &mut ring, recv_bundle(fd(&a), 128), 0xe1)?;
    Ok((ring, m, data, c))
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- multishot: when a shot leaves the request armed ----
    Case::new("buf_ring_io::recv_multishot_last_buffer_stays_armed")
        .requires(MSHOT)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(-E::ENOBUFS.0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (after a CQE with F_MORE: retry at once only if \
                 SOCK_NONEMPTY or msg_inq < 0, else IOU_RETRY: poll re-armed) / io_recv",
            )
            .rows(&["sel_empty"])
            .note(
                "a multishot RECV submitted on a socket holding 10 bytes, with one buffer: \
                 the shot takes it and empties the socket (msg_inq 0), so the request waits \
                 for data instead of trying the empty ring; only the next 5 bytes end it \
                 with ENOBUFS (no MORE), and they stay queued",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[30])?;
            let data = pattern(15, 41);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            use std::io::Write;
            (&b).write_all(&data[..10]).setup("send")?;
            let got = shots(cx, &mut ring, recv_multishot(fd(&a)).user_data(0xe2))?;
            cx.check_eq(
                "the shots (res, flags) until the request waits",
                res_flags(&got),
                vec![(10, buf_flags(30, CqeFlags::MORE))],
            )?;
            check_bytes(cx, &m, 0, &data[..10], "bytes in bid 30")?;
            (&b).write_all(&data[10..]).setup("send")?;
            let end = cx.wait(&mut ring, 1)?;
            no_cqes(cx, &mut ring, "after the request ended")?;
            let mut left = vec![0u8; 16];
            a.set_nonblocking(true).setup("O_NONBLOCK")?;
            let n = std::io::Read::read(&mut &a, &mut left).setup("read what is queued")?;
            cx.check_eq("the bytes left queued", &left[..n], &data[10..])?;
            cx.observe(
                end[0],
                "multishot RECV, one 64-byte buffer (bid 30) taken by the 10 bytes queued at \
                 submission, then 5 more bytes sent",
            )
        }),
    Case::new("buf_ring_io::recv_multishot_datagrams_queued")
        .requires(MSHOT)
        .needs(SOCK)
        .expect(Expect::cqe(30, buf_flags(42, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (msg_inq < 0, unknown: retry at once, up to \
                 MULTISHOT_MAX_RETRY) / io_recv; af_unix.c:unix_dgram_recvmsg (no msg_inq)",
            )
            .rows(&[])
            .note(
                "a multishot RECV submitted on an AF_UNIX datagram socket holding three \
                 datagrams: datagram sockets do not report their queue length, so each shot \
                 retries at once and all three arrive, one buffer each, before the request \
                 waits; a shot that re-armed poll instead would wait for the next wake-up",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[40, 41, 42, 43])?;
            let data = pattern(60, 43);
            let (a, b) = UnixDatagram::pair().setup("socketpair(AF_UNIX, SOCK_DGRAM)")?;
            for (from, to) in [(0, 10), (10, 30), (30, 60)] {
                b.send(&data[from..to]).setup("send a datagram")?;
            }
            let got = shots(cx, &mut ring, recv_multishot(fd(&a)).user_data(0xe3))?;
            let armed = CqeFlags::MORE;
            cx.check_eq(
                "the shots (res, flags)",
                res_flags(&got),
                vec![
                    (10, buf_flags(40, armed)),
                    (20, buf_flags(41, armed)),
                    (30, buf_flags(42, armed)),
                ],
            )?;
            check_bytes(cx, &m, 0, &data[..10], "first datagram in bid 40")?;
            check_bytes(cx, &m, 64, &data[10..30], "second datagram in bid 41")?;
            check_bytes(cx, &m, 128, &data[30..], "third datagram in bid 42")?;
            check_head(cx, &ring, BGID, 3, "after the three shots")?;
            cx.observe(
                got[2],
                "multishot RECV on an AF_UNIX datagram socket holding datagrams of 10, 20 and \
                 30 bytes; four 64-byte buffers, bids 40-43 (the third shot shown)",
            )
        }),
    // ---- bundles: the retry that appends what is still queued ----
    Case::new("buf_ring_io::recv_bundle_one_byte_left_no_retry")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(128, buf_flags(20, SOCK_NONEMPTY)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (SOCK_NONEMPTY when msg_inq > 0; the bundle retry only \
                 when msg_inq > 1)",
            )
            .rows(&[])
            .note(
                "a RECV bundle of len 128 fills bids 20 and 21 from a socket holding 129 \
                 bytes: the one byte left is reported (SOCK_NONEMPTY) but not retried for, \
                 so bid 22 stays in the ring",
            ),
        )
        .run(|cx| {
            let (ring, m, data, c) = bundle_of_128(cx, 129, 44)?;
            check_bytes(cx, &m, 0, &data[..128], "bytes in bids 20 and 21")?;
            check_bytes(cx, &m, 128, &[0; 64], "bid 22 (not used)")?;
            check_head(cx, &ring, BGID, 2, "after the bundle")?;
            cx.observe(
                c,
                "len 128 on a socket holding 129 bytes; three 64-byte buffers, bids 20-22",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_two_bytes_left_retry")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(130, buf_flags(20, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (msg_inq > 1 after a full transfer: IORING_RECV_RETRY, \
                 sr->len = msg_inq) / io_recv_buf_select (max_len from sr->len)",
            )
            .rows(&[])
            .note(
                "a RECV bundle of len 128 fills bids 20 and 21 from a socket holding 130 \
                 bytes: the two bytes left are retried for and appended from bid 22 to the \
                 same CQE, which then reports an empty socket",
            ),
        )
        .run(|cx| {
            let (ring, m, data, c) = bundle_of_128(cx, 130, 45)?;
            check_bytes(cx, &m, 0, &data, "bytes in bids 20, 21 and 22")?;
            check_head(cx, &ring, BGID, 3, "after the bundle")?;
            cx.observe(
                c,
                "len 128 on a socket holding 130 bytes; three 64-byte buffers, bids 20-22",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_one_byte_buffer_retry")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(10, buf_flags(20, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (a full transfer of this_ret > 0 bytes with msg_inq > 1: \
                 IORING_RECV_RETRY); kbuf.c:io_ring_buffers_peek (max_len 0: one entry)",
            )
            .rows(&[])
            .note(
                "a RECV bundle of len 0 maps the head buffer alone, bid 20 of one byte; the \
                 one byte filled it and 9 stay queued, so the retry appends them from bid 21 \
                 to the same CQE",
            ),
        )
        .run(|cx| {
            let (mut ring, first) = ring_with(cx, PbufFlags::NONE, 0, 1, &[20])?;
            let m = cx.mem(128)?;
            publish(
                &mut ring,
                BGID,
                &[m.slice(0, 64), m.slice(64, 64)],
                &[21, 22],
            )?;
            let data = pattern(10, 46);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 0), 0xe4)?;
            check_bytes(cx, &first, 0, &data[..1], "the byte in bid 20")?;
            check_bytes(cx, &m, 0, &data[1..], "bytes in bid 21")?;
            check_head(cx, &ring, BGID, 2, "after the bundle")?;
            cx.observe(
                c,
                "len 0 on a socket holding 10 bytes; bid 20 of 1 byte, then bids 21-22 of 64",
            )
        }),
    Case::new("buf_ring_io::recv_bundle_zero_len_head_no_retry")
        .requires(BUNDLE)
        .needs(SOCK_INQ)
        .expect(Expect::cqe(0, SOCK_NONEMPTY))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffers_peek (max_len 0: no check of the head's len) -> \
                 net.c:io_recv (0 bytes: io_kbuf_recycle) / io_recv_finish (the retry only \
                 after this_ret > 0 bytes)",
            )
            .rows(&[])
            .note(
                "a RECV bundle of len 0 whose head buffer has len 0 receives nothing: the \
                 buffer goes back (no F_BUFFER, head unmoved) and the CQE says 0 with the \
                 socket not empty; a retry would find the same empty head and fail ENOBUFS",
            ),
        )
        .run(|cx| {
            let (mut ring, _) = ring_with(cx, PbufFlags::NONE, 0, 64, &[])?;
            let m = cx.mem(64)?;
            publish(&mut ring, BGID, &[m.slice(0, 0), m.slice(0, 64)], &[20, 21])?;
            let data = pattern(10, 48);
            let (a, _b) = socket_with(&data)?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 0), 0xe5)?;
            check_bytes(cx, &m, 0, &[0; 64], "bid 21 (not used)")?;
            check_head(cx, &ring, BGID, 0, "after the bundle")?;
            cx.observe(
                c,
                "len 0 on a socket holding 10 bytes; bid 20 of length 0 at the head, bid 21 of 64",
            )
        }),
    // ---- multishot: MULTISHOT_MAX_RETRY shots inline, then the back of the queue ----
    Case::new("buf_ring_io::recv_multishot_requeue_after_max_retry")
        .requires(&[
            Feature::PbufRing,
            Feature::PbufStatus,
            Feature::OpRecvSend,
            Feature::SingleIssuer,
            Feature::DeferTaskrun,
        ])
        .needs(SOCK_INQ)
        .expect(Expect::cqe(8, buf_flags(79, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv_finish (nr_multishot_loops++ < MULTISHOT_MAX_RETRY (32): retry \
                 inline, else IOU_REQUEUE); poll.c:io_poll_check_events (IOU_POLL_REQUEUE)",
            )
            .rows(&[])
            .note(
                "two multishot RECVs of 8-byte buffers on a DEFER_TASKRUN ring, each socket \
                 sent 320 bytes before the ring runs its task work: stream A takes 33 shots \
                 (the first and 32 retries) and goes to the back of the queue, then B takes \
                 33, then A and B their last 7; with DEFER_TASKRUN the wake-ups run in order \
                 at the wait, so the interleaving is fixed",
            ),
        )
        .run(|cx| {
            const LEN: usize = 8;
            let mut ring = cx.ring_with(
                Ring::builder(8)
                    .flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN)
                    .cq_entries(256),
            )?;
            let m = cx.mem(LEN * 128)?;
            let rmem = cx.mem(4096)?;
            let br = ring
                .register_buf_ring_with(rmem.slice(0, 4096), buf_reg(BGID, 128, PbufFlags::NONE))
                .setup("register the buffer ring")?;
            for i in 0..128u16 {
                br.add(&m.slice(usize::from(i) * LEN, LEN), i, i);
            }
            br.advance(128);
            let (a, pa) = UnixStream::pair().setup("socketpair A")?;
            let (b, pb) = UnixStream::pair().setup("socketpair B")?;
            let mshot = |s: &UnixStream, ud: u64| recv_multishot(fd(s)).user_data(ud);
            cx.submit_batch(&mut ring, vec![mshot(&a, 0xa), mshot(&b, 0xb)], 0)?;
            let data = pattern(640, 47);
            use std::io::Write;
            (&pa).write_all(&data[..320]).setup("send to A")?;
            (&pb).write_all(&data[320..]).setup("send to B")?;
            let got = cx.wait(&mut ring, 80)?;
            no_cqes(cx, &mut ring, "after both sockets are empty")?;
            let mut want = Vec::new();
            let mut bid = 0u16;
            for (ud, shots, last) in [
                (0xa, 33, false),
                (0xb, 33, false),
                (0xa, 7, true),
                (0xb, 7, true),
            ] {
                for k in 0..shots {
                    let more = if last && k == shots - 1 {
                        CqeFlags::MORE
                    } else {
                        CqeFlags::MORE | SOCK_NONEMPTY
                    };
                    want.push((ud, 8, buf_flags(bid, more)));
                    bid += 1;
                }
            }
            cx.check_eq(
                "the shots (user_data, res, flags) in CQE order",
                got.iter()
                    .map(|c| (c.user_data, c.res, c.flags))
                    .collect::<Vec<_>>(),
                want,
            )?;
            cx.observe(
                got[79],
                "multishot RECVs on two AF_UNIX streams, 320 bytes each, one 128-entry ring of \
                 8-byte buffers, DEFER_TASKRUN (B's last shot shown)",
            )
        }),
];
