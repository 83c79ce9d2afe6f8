//! SEND from provided-ring buffers on AF_UNIX streams when the socket has no room (io_send
//! poll, MSG_WAITALL, a bundle's short send), where a bundle goes on or stops
//! (net.c:io_send_finish) and what the ring's cached io_async_msghdr must not carry over.

use crate::common::net::unix_drain;
use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{check_cqe, received, ring_with, BGID, BUNDLE, NONE, SOCK};
use crate::common::*;
use crate::fixed_net_send::fill_socket;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use uring::abi::{CqeFlags, PbufFlags, SqeFlags, RECVSEND_BUNDLE};
use uring::{op, Cqe, Ring, Sqe};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// A connected AF_UNIX stream pair whose first socket has the smallest send buffer
/// (SOCK_MIN_SNDBUF, about 4.5 KiB): a nonblocking send of 8 KiB stops short.
fn small_sndbuf_pair() -> Result<(UnixStream, UnixStream), CaseError> {
    use nix::sys::socket::{setsockopt, sockopt};
    let (a, b) = UnixStream::pair().setup("socketpair")?;
    setsockopt(&a, sockopt::SndBuf, &1)
        .map_err(|e| E(e as i32))
        .setup("SO_SNDBUF 1 (raised to SOCK_MIN_SNDBUF)")?;
    Ok((a, b))
}

/// Submits `sqes` without waiting, then reads the peer `b` (blocking, 1 s without bytes
/// ends it: the kernel sends the rest from task work as room appears) until `want` bytes
/// came; returns them and the `n` CQEs.
fn submit_and_read(
    cx: &Cx,
    ring: &mut Ring,
    sqes: Vec<Sqe>,
    b: &UnixStream,
    want: usize,
    n: usize,
) -> Result<(Vec<u8>, Vec<Cqe>), CaseError> {
    cx.submit_batch(ring, sqes, 0)?;
    b.set_nonblocking(false).setup("blocking peer")?;
    b.set_read_timeout(Some(Duration::from_secs(1)))
        .setup("SO_RCVTIMEO 1 s on the peer")?;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while got.len() < want {
        match (&*b).read(&mut buf) {
            Ok(0) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => return Err(e).setup("read the peer"),
        }
    }
    let cqes = cx.wait(ring, n)?;
    got.extend(unix_drain(b)?);
    Ok((got, cqes))
}

/// The CQE with user data `ud` among `cqes`.
fn by_ud(cqes: &[Cqe], ud: u64) -> Result<Cqe, CaseError> {
    cqes.iter()
        .find(|c| c.user_data == ud)
        .copied()
        .ok_or_else(|| CaseError::Fail(format!("no CQE with user_data {ud:#x}")))
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    // ---- no room on the socket ----
    Case::new("buf_ring_io::send_select_full_socket_waits")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(70, NONE)))
        .cite(
            Cite::kernel("net.c:io_send (-EAGAIN under IO_URING_F_NONBLOCK: poll, then retry)")
                .man("io_uring_prep_send.3", "MSG_DONTWAIT")
                .rows(&["bundle_send_gather"])
                .note(
                    "the inline attempt adds MSG_DONTWAIT (the submitter never blocks in the \
                     socket) and its -EAGAIN arms poll instead of completing; the buffer \
                     selected before it is kept (REQ_F_BL_NO_RECYCLE)",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[70])?;
            let data = pattern(64, 39);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let filled = fill_socket(&a)?;
            let sqe = op::send_select(fd(&a), 0, 0, BGID).user_data(1);
            let (got, cqes) = submit_and_read(cx, &mut ring, vec![sqe], &b, filled + 64, 1)?;
            let mut want = vec![0x5a; filled];
            want.extend_from_slice(&data);
            cx.check_eq(
                "the bytes the peer received (the fill, then bid 70)",
                got,
                want,
            )?;
            cx.observe(
                by_ud(&cqes, 1)?,
                "len 0, one 64-byte buffer (bid 70), no MSG_DONTWAIT, on an AF_UNIX stream \
                 whose send buffer is full; the peer then reads",
            )
        }),
    Case::new("buf_ring_io::send_select_waitall_short_send_retries")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(8192, buf_flags(71, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_send (MSG_WAITALL: min_ret, io_net_retry, done_io added to the result)",
            )
            .man("io_uring_prep_send.3", "MSG_WAITALL")
            .rows(&["bundle_send_gather"])
            .note(
                "the inline attempt sends what the smallest send buffer takes and retries the \
                 rest after poll; the request is not failed, so the linked NOP runs",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 8192, &[71])?;
            let data = pattern(8192, 41);
            m.write(0, &data);
            let (a, b) = small_sndbuf_pair()?;
            let sqes = vec![
                op::send_select(fd(&a), 0, libc::MSG_WAITALL as u32, BGID)
                    .add_flags(SqeFlags::IO_LINK)
                    .user_data(1),
                op::nop().user_data(2),
            ];
            let (got, cqes) = submit_and_read(cx, &mut ring, sqes, &b, 8192, 2)?;
            cx.check_eq("the bytes the peer received (bid 71)", got, data)?;
            check_cqe(cx, "the linked NOP", &by_ud(&cqes, 2)?, 0, NONE)?;
            cx.observe(
                by_ud(&cqes, 1)?,
                "len 0, one 8 KiB buffer (bid 71), MSG_WAITALL, linked to a NOP, on an AF_UNIX \
                 stream with the smallest send buffer; the peer reads",
            )
        }),
    // ---- bundles (IORING_RECVSEND_BUNDLE) ----
    Case::new("buf_ring_io::send_bundle_short_send_retries")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(8192, buf_flags(50, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_sendmsg_prep (a bundle sends with MSG_WAITALL) / io_send \
                 (io_net_retry, io_net_kbuf_recyle)",
            )
            .man("io_uring_prep_send.3", "IORING_RECVSEND_BUNDLE")
            .rows(&["bundle_send_gather"])
            .note(
                "a bundle that the socket takes only in part keeps its buffer and sends the \
                 rest after poll (one CQE: a polled bundle does not go on)",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 8192, &[50])?;
            let data = pattern(8192, 31);
            m.write(0, &data);
            let (a, b) = small_sndbuf_pair()?;
            let sqe = op::send_select(fd(&a), 0, 0, BGID)
                .ioprio(RECVSEND_BUNDLE)
                .user_data(1);
            let (got, cqes) = submit_and_read(cx, &mut ring, vec![sqe], &b, 8192, 1)?;
            cx.check_eq("the bytes the peer received (bid 50)", got, data)?;
            check_head(cx, &ring, BGID, 1, "after the bundle")?;
            cx.observe(
                by_ud(&cqes, 1)?,
                "bundle, len 0, one 8 KiB buffer (bid 50), on an AF_UNIX stream with the \
                 smallest send buffer; the peer reads",
            )
        }),
    Case::new("buf_ring_io::send_bundle_one_byte_goes_on")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(41, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_send_finish (bundle_finished only for sel->val <= 0; F_MORE, \
                 io_mshot_prep_retry: sr->len from mshot_len, 0)",
            )
            .man("io_uring_prep_send.3", "IORING_RECVSEND_BUNDLE")
            .rows(&["bundle_send_gather"])
            .note(
                "len 1 limits the first send to one byte of bid 40; bid 41 is left, so the \
                 bundle posts (1, F_MORE) and sends again without the limit",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[40, 41])?;
            let data = pattern(128, 33);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::send_select(fd(&a), 1, 0, BGID)
                .ioprio(RECVSEND_BUNDLE)
                .user_data(1);
            let cqes = cx.submit_batch(&mut ring, vec![sqe], 2)?;
            check_cqe(
                cx,
                "the first CQE",
                &cqes[0],
                1,
                buf_flags(40, CqeFlags::MORE),
            )?;
            let want = [&data[..1], &data[64..]].concat();
            cx.check_eq("the bytes the peer received", received(&b)?, want)?;
            check_head(cx, &ring, BGID, 2, "after the bundle")?;
            cx.observe(
                cqes[1],
                "bundle, len 1, over two 64-byte buffers (bids 40, 41): the second CQE",
            )
        }),
    Case::new("buf_ring_io::send_bundle_async_ready_canceled")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe_errno(E::ECANCELED))
        .cite(
            Cite::kernel(
                "net.c:io_sendmsg_prep (a bundle is REQ_F_MULTISHOT) / io_uring.c:\
                 io_wq_submit_work (no multishot from io-wq: arm poll, else -ECANCELED) / \
                 poll.c:io_arm_apoll (a ready file: IO_APOLL_READY)",
            )
            .rows(&["bundle_send_gather"])
            .note(
                "io-wq never runs a multishot request: it arms poll, and when the socket is \
                 writable already the arming answers IO_APOLL_READY, which io_wq_submit_work \
                 fails with -ECANCELED before any byte is selected or sent (6.18 and 7.2)",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[40, 41])?;
            let data = pattern(128, 35);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::send_select(fd(&a), 1, 0, BGID)
                .ioprio(RECVSEND_BUNDLE)
                .add_flags(SqeFlags::ASYNC)
                .user_data(1);
            let c = cx.submit_one(&mut ring, sqe)?;
            cx.check_eq("the bytes the peer received", received(&b)?, vec![])?;
            check_head(cx, &ring, BGID, 0, "after the bundle")?;
            cx.observe(
                c,
                "IOSQE_ASYNC bundle, len 1, over two 64-byte buffers (bids 40, 41), on a \
                 writable AF_UNIX stream",
            )
        }),
    Case::new("buf_ring_io::send_bundle_without_select_ends_at_zero")
        .needs_level(&uring_harness::level::BUNDLE_SEND_WITHOUT_GROUP)
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(0, NONE))
        .cite(
            Cite::kernel(
                "net.c:io_sendmsg_prep (BUNDLE is not refused without BUFFER_SELECT) / \
                 io_send_finish (bundle_finished: sel->val <= 0)",
            )
            .rows(&["bundle_send_gather"])
            .note(
                "a bundle without a buffer group sends its 64 bytes, posts them with F_MORE \
                 and sends again from the emptied iterator: 0 bytes end the bundle",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            let data = pattern(64, 43);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::send(fd(&a), m.slice(0, 64), 64, 0)
                .ioprio(RECVSEND_BUNDLE)
                .user_data(1);
            let cqes = cx.submit_batch(&mut ring, vec![sqe], 2)?;
            check_cqe(cx, "the first CQE", &cqes[0], 64, CqeFlags::MORE)?;
            cx.check_eq("the bytes the peer received", received(&b)?, data)?;
            cx.check_eq(
                "CQEs after the second",
                cx.settle(&mut ring, Duration::from_millis(50)).len(),
                0,
            )?;
            cx.observe(
                cqes[1],
                "bundle, len 64 from user memory, no IOSQE_BUFFER_SELECT",
            )
        }),
    // ---- the ring's cached io_async_msghdr ----
    Case::new("buf_ring_io::send_select_one_buffer_after_sendmsg")
        .requires(BUNDLE)
        .needs(SOCK)
        .expect(Expect::cqe(64, buf_flags(60, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_send_select_buffer (arg.nr_iovs = 1 unless a bundle, whatever the \
                 cached kmsg->vec holds)",
            )
            .rows(&["bundle_send_gather"])
            .note(
                "the SEND reuses the SENDMSG's io_async_msghdr (io_netmsg_recycle keeps its \
                 two-iovec array), whose vec.nr would let the peek map two buffers",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[60, 61])?;
            let data = pattern(128, 37);
            m.write(0, &data);
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let iov = cx.mem(64)?;
            let sqe = op::sendmsg_fixed(
                cx.abi(),
                fd(&a),
                op::FixedMsg {
                    iovs: &[(iov.addr(), 32), (iov.addr() + 32, 32)],
                    msg_flags: 0,
                    buf_index: 0,
                },
            )
            .setup("lay out the msghdr for the ring's ABI")?
            .ioprio(0);
            let first = cx.submit_one(&mut ring, sqe.user_data(1))?;
            check_cqe(cx, "the SENDMSG of two iovecs", &first, 64, NONE)?;
            cx.check_eq("the SENDMSG's bytes", received(&b)?.len(), 64)?;
            let c = cx.submit_one(&mut ring, op::send_select(fd(&a), 0, 0, BGID).user_data(2))?;
            cx.check_eq(
                "the bytes the peer received (bid 60)",
                received(&b)?,
                data[..64].to_vec(),
            )?;
            check_head(cx, &ring, BGID, 1, "after the SEND")?;
            cx.observe(
                c,
                "len 0, no bundle, over two 64-byte buffers (bids 60, 61)",
            )
        }),
];
