//! Zero copy from registered buffers: SEND_ZC with a registered buffer (6.0) and SENDMSG_ZC
//! with vectored registered buffers (6.15), with their notification CQEs. SEND / RECV with
//! IORING_RECVSEND_FIXED_BUF are in [`crate::fixed_net`].

use crate::common::net::{buf_len, drain_socket, ring_with_pattern, unix_drain, LEAD};
use crate::common::*;
use crate::fixed_net_send::datagram_receiver;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixDatagram, UnixStream};
use uring::abi::CqeFlags;
use uring::register::Iov;
use uring::{op, Cqe, Ring, Sqe};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

const ZC: &[Feature] = &[Feature::OpSendZc];
const ZC_NOTE: &str = "SEND_ZC always posts two CQEs: the result with IORING_CQE_F_MORE, then the \
                       notification (res 0, IORING_CQE_F_NOTIF, the same user_data) once the \
                       kernel has released the pages; io_sendrecv_fail sets F_MORE on a failure \
                       too";

/// Everything the TCP peer `s` holds now, read without blocking.
fn tcp_drain(s: &TcpStream) -> Result<Vec<u8>, CaseError> {
    drain_socket(s, TcpStream::set_nonblocking)
}

/// Fills `buf` from the peer `s` within the case's time limit: a limit already spent, or
/// one that runs out before the bytes came, is a timeout (SO_RCVTIMEO of 0 would mean "wait
/// for ever", which std refuses).
fn read_from_peer(cx: &Cx, s: &TcpStream, buf: &mut [u8], what: &str) -> Result<(), CaseError> {
    let len = buf.len();
    let timeout = || {
        CaseError::Timeout(format!(
            "{what}: {len} bytes did not come within the case's time limit"
        ))
    };
    let left = cx.time_left();
    if left.is_zero() {
        return Err(timeout());
    }
    s.set_read_timeout(Some(left)).setup("SO_RCVTIMEO")?;
    match (&*s).read_exact(buf) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(timeout())
        }
        r => r.setup(what),
    }
}

/// A connected TCP pair over 127.0.0.1 (the zero-copy path needs an inet socket).
fn tcp_pair() -> Result<(TcpStream, TcpStream), CaseError> {
    let l = TcpListener::bind("127.0.0.1:0").setup("bind 127.0.0.1:0")?;
    let a = TcpStream::connect(l.local_addr().setup("local_addr")?).setup("connect")?;
    let (b, _) = l.accept().setup("accept")?;
    Ok((a, b))
}

/// What a peer with a closed receive window has been sent before the row's own send: more
/// than its 4 KiB SO_RCVBUF (8 KiB as the kernel doubles it) takes, so the rest waits in
/// the sender's queue until the peer reads.
const WINDOW_FILL: usize = 32 * 1024;

/// A TCP pair over 127.0.0.1 whose receiver's window is closed: [`WINDOW_FILL`] bytes are
/// queued ahead, so what the first socket sends next leaves only when the second reads. The
/// bytes a zero-copy send queued stay referenced until then, and so does its notification
/// (loopback copies the pages only when it delivers them: msg_zerocopy.rst).
fn tcp_pair_window_closed() -> Result<(TcpStream, TcpStream), CaseError> {
    use nix::sys::socket::{setsockopt, sockopt};
    let l = TcpListener::bind("127.0.0.1:0").setup("bind 127.0.0.1:0")?;
    // Set on the listener, so the accepted socket has it before its window is offered.
    let errno = |e: nix::errno::Errno| E(e as i32);
    setsockopt(&l, sockopt::RcvBuf, &4096)
        .map_err(errno)
        .setup("SO_RCVBUF 4096 on the listener")?;
    let a = TcpStream::connect(l.local_addr().setup("local_addr")?).setup("connect")?;
    let (b, _) = l.accept().setup("accept")?;
    setsockopt(&a, sockopt::SndBuf, &(1 << 20))
        .map_err(errno)
        .setup("SO_SNDBUF 1 MiB")?;
    a.set_nonblocking(true).setup("O_NONBLOCK on the sender")?;
    let n = (&a)
        .write(&[0x5a; WINDOW_FILL])
        .setup("queue the bytes that close the window")?;
    if n != WINDOW_FILL {
        return Err(CaseError::Broken(format!(
            "the send queue took {n} of {WINDOW_FILL} bytes (SO_SNDBUF 1 MiB)"
        )));
    }
    Ok((a, b))
}

/// Submits a zero-copy send and waits for both of its CQEs (bounded); checks the
/// notification (res 0, F_NOTIF, the same user_data) and returns the first.
pub(crate) fn zc_pair(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
    let ud = sqe.raw().user_data;
    let cqes = cx.submit_batch(ring, vec![sqe], 2)?;
    cx.check_eq(
        "the two CQEs (result, then notification)",
        cqes.iter()
            .map(|c| (c.user_data, c.flags.low()))
            .collect::<Vec<_>>(),
        vec![(ud, CqeFlags::MORE), (ud, CqeFlags::NOTIF)],
    )?;
    cx.check_eq("the notification's res", cqes[1].res, 0)?;
    Ok(cqes[0])
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("send_zc::fixed_unix_socket")
        .requires(ZC)
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(-E::EOPNOTSUPP.0, CqeFlags::MORE))
        .cite(
            Cite::kernel("net.c:io_sendmsg_zc (SOCK_SUPPORT_ZC) / io_sendrecv_fail")
                .rows(&["zc_unix"])
                .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = zc_pair(
                cx,
                &mut ring,
                op::send_zc_fixed(
                    fd(&a),
                    op::FixedNet {
                        addr: base,
                        len: 64,
                        msg_flags: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.check_eq("the bytes the peer received", unix_drain(&b)?, vec![])?;
            cx.observe(c, "to an AF_UNIX socket (no MSG_ZEROCOPY support)")
        }),
    Case::new("send_zc::fixed_tcp_bytes")
        .requires(ZC)
        .needs(&[Fact::Loopback])
        .expect(Expect::cqe(6000, CqeFlags::MORE))
        .cite(
            Cite::kernel("net.c:io_send_zc_prep / io_sendmsg_zc -> io_send_zc_import")
                .rows(&["zc_fixed_bytes"])
                .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let (a, b) = tcp_pair()?;
            let c = zc_pair(
                cx,
                &mut ring,
                op::send_zc_fixed(
                    fd(&a),
                    op::FixedNet {
                        addr: base + 0x300,
                        len: 6000,
                        msg_flags: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            let start = (base - mem.addr()) as usize + 0x300;
            let mut got = vec![0u8; 6000];
            read_from_peer(cx, &b, &mut got, "read 6000 bytes from the peer")?;
            cx.check_eq(
                "the bytes the peer received",
                got,
                data[start..start + 6000].to_vec(),
            )?;
            cx.observe(
                c,
                "over TCP on 127.0.0.1, from +0x300 of a buffer at page offset 0x80",
            )
        }),
    Case::new("send_zc::fixed_unregistered_before_notif")
        .requires(&[Feature::OpSendZc, Feature::RsrcTags])
        .needs(&[Fact::Loopback])
        .needs_level(&level::UNREGISTER_NO_WAIT)
        .expect(Expect::cqe(0, CqeFlags::NOTIF))
        .cite(
            Cite::kernel(
                "net.c:io_send_zc_import (io_import_reg_buf on the notif) / \
                 io_uring.c:io_req_put_rsrc_nodes -> rsrc.c:io_free_rsrc_node",
            )
            .rows(&["zc_fixed_bytes", "bufunreg_inflight"])
            .note(
                "liburing's sendzc-bug: the buffer's node belongs to the notification, not to \
                 the send, so UNREGISTER_BUFFERS while the bytes are still queued frees nothing: \
                 the pages stay pinned (even unmapped) until the notification, and the slot's tag \
                 CQE follows it. Needs the 6.13 rework, where unregister returns at once and \
                 posts tags when the node goes (unregister_posts_tags, the same version)",
            ),
        )
        .run(|cx| {
            const TAG: u64 = 0x7a6;
            let mem = cx.mem((LEAD + buf_len()) as usize)?;
            let data = pattern(mem.len(), 9);
            mem.write(0, &data);
            let mut ring = cx.ring()?;
            ring.registrar()
                .register_buffers_tagged(
                    &[Iov::Mem(mem.slice(LEAD as usize, buf_len() as usize))],
                    &[TAG],
                )
                .setup("register the buffer with tag 0x7a6")?;
            let (a, b) = tcp_pair_window_closed()?;
            let sqe = op::send_zc_fixed(
                fd(&a),
                op::FixedNet {
                    addr: mem.addr() + LEAD + 0x300,
                    len: 6000,
                    msg_flags: 0,
                    buf_index: 0,
                },
            );
            let sent = cx.submit_batch(&mut ring, vec![sqe.user_data(1)], 1)?;
            cx.check_eq(
                "the send's CQE (user_data, res, flags)",
                sent.iter()
                    .map(|c| (c.user_data, c.res, c.flags))
                    .collect::<Vec<_>>(),
                vec![(1, 6000, CqeFlags::MORE)],
            )?;
            no_cqes(
                cx,
                &mut ring,
                "while the bytes wait behind the closed window",
            )?;
            ring.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS before the notification")?;
            no_cqes(
                cx,
                &mut ring,
                "after UNREGISTER_BUFFERS (the notification holds the node: no tag CQE yet)",
            )?;
            let start = (LEAD + 0x300) as usize;
            let want = data[start..start + 6000].to_vec();
            // munmap: only the node's pin keeps the pages the queued bytes point into.
            drop(mem);
            let mut got = vec![0u8; WINDOW_FILL + 6000];
            read_from_peer(cx, &b, &mut got, "read what was queued from the peer")?;
            cx.check_eq(
                "the zero-copy bytes the peer received (the unmapped buffer's)",
                got.split_off(WINDOW_FILL),
                want,
            )?;
            let cqes = cx.wait(&mut ring, 2)?;
            cx.check_eq(
                "the notification, then the tag CQE (user_data, res, flags)",
                cqes.iter()
                    .map(|c| (c.user_data, c.res, c.flags))
                    .collect::<Vec<_>>(),
                vec![(1, 0, CqeFlags::NOTIF), (TAG, 0, CqeFlags::NONE)],
            )?;
            cx.observe(
                cqes[0],
                "over TCP on 127.0.0.1 behind a closed window, 6000 bytes from +0x300 of a \
                 buffer tagged 0x7a6; UNREGISTER_BUFFERS and munmap before the peer reads",
            )
        }),
    Case::new("send_zc::fixed_index_out_of_range")
        .requires(ZC)
        .needs(&[Fact::Loopback])
        .expect(Expect::cqe(-E::EFAULT.0, CqeFlags::MORE))
        .cite(
            Cite::kernel(
                "net.c:io_send_zc_import -> rsrc.c:io_import_reg_buf (<= 6.12: io_send_zc_prep, \
                 nr_user_bufs)",
            )
            .rows(&["zc_fixed_bad"])
            .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = tcp_pair()?;
            let c = zc_pair(
                cx,
                &mut ring,
                op::send_zc_fixed(
                    fd(&a),
                    op::FixedNet {
                        addr: base,
                        len: 64,
                        msg_flags: 0,
                        buf_index: 1,
                    },
                )
                .user_data(1),
            )?;
            cx.check_eq("the bytes the peer received", tcp_drain(&b)?, vec![])?;
            cx.observe(
                c,
                "over TCP on 127.0.0.1 with buf_index 1 of a 1-slot table",
            )
        }),
    Case::new("sendmsg_zc::fixed_vectored")
        .requires(&[Feature::OpSendmsgZc])
        .needs(&[Fact::Loopback])
        .expect(Expect::by_level(
            &level::SENDMSG_ZC_FIXED_BUF,
            Want::cqe(0x1080, CqeFlags::MORE),
            Want::cqe(-E::EINVAL.0, CqeFlags::MORE),
        ))
        .cite(
            Cite::kernel(
                "net.c:io_sendmsg_setup -> rsrc.c:io_prep_reg_iovec; io_send_zc_import -> \
                 io_import_reg_vec",
            )
            .rows(&["zc_sendmsg_fixed"])
            .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let (a, b) = tcp_pair()?;
            let iovs = [(base + 0x1000, 0xf80), (base + 0xf00, 0x100)];
            let c = zc_pair(
                cx,
                &mut ring,
                op::sendmsg_zc_fixed(
                    cx.abi(),
                    fd(&a),
                    op::FixedMsg {
                        iovs: &iovs,
                        msg_flags: 0,
                        buf_index: 0,
                    },
                )
                .setup("lay out the iovecs for the ring's ABI")?
                .user_data(1),
            )?;
            let mut want = Vec::new();
            if c.res > 0 {
                for (addr, len) in iovs {
                    let s = (addr - mem.addr()) as usize;
                    want.extend_from_slice(&data[s..s + len as usize]);
                }
                let mut got = vec![0u8; want.len()];
                read_from_peer(cx, &b, &mut got, "read from the peer")?;
                cx.check_eq("the bytes the peer received", got, want)?;
            } else {
                cx.check_eq("the bytes the peer received", tcp_drain(&b)?, want)?;
            }
            cx.observe(
                c,
                "over TCP on 127.0.0.1, iovecs [{buf+0x1000, 0xf80}, {buf+0xf00, 0x100}] (the \
                 first ending at the buffer's end)",
            )
        }),
    Case::new("sendmsg_zc::fixed_named_after_send")
        .requires(&[Feature::OpSendmsgZc])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::by_level(
            &level::SENDMSG_ZC_FIXED_BUF,
            Want::cqe(-E::EOPNOTSUPP.0, CqeFlags::MORE),
            Want::cqe(-E::EINVAL.0, CqeFlags::MORE),
        ))
        .cite(
            Cite::kernel(
                "net.c:io_msg_copy_hdr (msg_name = &iomsg->addr at every header copy) -> \
                 socket.c:__copy_msghdr (move_addr_to_kernel into it); io_sendmsg_zc \
                 (SOCK_SUPPORT_ZC)",
            )
            .rows(&["zc_unix"])
            .note(
                "the SENDMSG_ZC reuses the SEND's io_async_msghdr from the ring's cache \
                 (io_netmsg_recycle), whose msg_name io_send_setup left NULL: the header copy \
                 must point it at the request's own address storage again before the name \
                 is copied in, or prep fails (EFAULT); then AF_UNIX refuses zero copy",
            ),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let first = cx.mem(8)?;
            let sent = cx.submit_one(&mut ring, op::send(fd(&a), first.slice(0, 8), 8, 0))?;
            cx.check_eq("the SEND's res", sent.res, 8)?;
            drop(b);
            let (r, sa) = datagram_receiver()?;
            let s = UnixDatagram::unbound().setup("socket(AF_UNIX, SOCK_DGRAM)")?;
            let name = cx.mem(sa.len())?;
            name.write(0, &sa);
            let m = op::FixedMsg {
                iovs: &[(base, 64)],
                msg_flags: 0,
                buf_index: 0,
            };
            let sqe = op::sendmsg_zc_fixed_to(cx.abi(), fd(&s), m, name.slice(0, sa.len()))
                .setup("lay out the msghdr for the ring's ABI")?;
            let c = zc_pair(cx, &mut ring, sqe.user_data(1))?;
            let mut got = [0u8; 128];
            cx.check(r.recv(&mut got).is_err(), || {
                "the receiver got a datagram from a refused zero-copy send".into()
            })?;
            cx.observe(
                c,
                "64 bytes to a bound AF_UNIX datagram socket's name (msg_name), after a SEND \
                 on the same ring",
            )
        }),
];
