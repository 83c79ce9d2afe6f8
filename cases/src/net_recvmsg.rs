//! RECVMSG and RECV with provided buffers: what io_recvmsg_prep and its msghdr copy
//! (net.c io_recvmsg_copy_hdr, io_recvmsg_mshot_prep) decide, and what a receive leaves in
//! the request's recycled io_async_msghdr. Rows added for net.c's generated mutants that
//! survived (fixtures/mutants/pending/g_net-triage-recvmsg.tsv); the rows also run on compat
//! rings, whose msghdr and control messages have the 32-bit layout.

use crate::common::pbuf::check_head;
use crate::common::pbuf_io::{
    check_bytes, check_cqe, one, recv_bundle, ring_with, socket_with, BGID, BUNDLE, NONE, SOCK,
    SOCK_NONEMPTY,
};
use crate::common::*;
use nix::sys::socket::{setsockopt, sockopt};
use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use uring::abi::{CqeFlags, PbufFlags, RecvSendFlags, RECVSEND_BUNDLE};
use uring::{op, Abi, ForeignAddr, MsgHdr, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup};

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// What the multishot RECVMSG rows require (multishot receive is 6.0; the rows read the
/// ring head with PBUF_STATUS).
const MSHOT: &[Feature] = &[Feature::PbufRing, Feature::PbufStatus, Feature::OpRecvSend];

/// A ring with one 128-byte buffer (bid 1) in group `BGID`, an AF_UNIX datagram pair whose
/// second socket has sent `data` to the first, and RECVMSG with the msghdr `m` (in the
/// ring's layout) submitted with `ioprio`; returns the ring, the buffer, the msghdr and the
/// CQE.
fn recvmsg_datagram(
    cx: &Cx,
    m: &MsgHdr,
    ioprio: u16,
    data: &[u8],
) -> Result<
    (
        Ring,
        std::sync::Arc<uring::Mem>,
        uring::BufSlice,
        uring::Cqe,
    ),
    CaseError,
> {
    let (mut ring, buf) = ring_with(cx, PbufFlags::NONE, 0, 128, &[1])?;
    let (a, b) = UnixDatagram::pair().setup("socketpair(SOCK_DGRAM)")?;
    b.send(data).setup("send the datagram")?;
    let (sqe, hdr) = op::recvmsg_select_hdr(cx.abi(), fd(&a), m, BGID)
        .setup("lay out the msghdr for the ring's ABI")?;
    let c = one(cx, &mut ring, sqe.ioprio(ioprio), 0x4d5)?;
    Ok((ring, buf, hdr, c))
}

/// An `io_uring_recvmsg_out` header: (namelen, controllen, payloadlen, flags).
fn recvmsg_out(namelen: u32, controllen: u32, payloadlen: u32, flags: u32) -> Vec<u8> {
    [namelen, controllen, payloadlen, flags]
        .iter()
        .flat_map(|f| f.to_ne_bytes())
        .collect()
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("net_recvmsg::multishot_negative_namelen")
        .requires(MSHOT)
        .needs(SOCK)
        .expect(Expect::cqe_errno(E::EOVERFLOW))
        .cite(
            Cite::kernel("net.c:io_recvmsg_mshot_prep (namelen < 0: EOVERFLOW)")
                .rows(&[])
                .note(
                    "msg_name NULL with msg_namelen -1: __copy_msghdr takes a NULL name as \
                     length 0 (no EINVAL), but the multishot header is sized from the msghdr's \
                     own namelen, which must not be negative; the buffer stays unused",
                ),
        )
        .run(|cx| {
            let m = MsgHdr {
                namelen: -1,
                ..MsgHdr::default()
            };
            let multishot = RecvSendFlags::RECV_MULTISHOT.0;
            let (ring, buf, _hdr, c) = recvmsg_datagram(cx, &m, multishot, &pattern(8, 40))?;
            check_head(cx, &ring, BGID, 0, "after the refused RECVMSG")?;
            check_bytes(cx, &buf, 0, &[0; 128], "the unused buffer (bid 1)")?;
            cx.observe(
                c,
                "RECV_MULTISHOT, msghdr with msg_name NULL and msg_namelen -1, an 8-byte \
                 datagram queued",
            )
        }),
    Case::new("net_recvmsg::multishot_control_room")
        .requires(MSHOT)
        .needs(SOCK)
        .expect(Expect::cqe(60, buf_flags(1, CqeFlags::MORE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg_mshot_prep (iomsg->controllen) / io_recvmsg_prep_multishot \
                 (header + name + control room before the payload) / io_recvmsg_multishot",
            )
            .rows(&[])
            .note(
                "msg_controllen 24 reserves 24 bytes after the 16-byte io_uring_recvmsg_out \
                 header: the payload starts at 40 and the CQE counts header, room and payload; \
                 AF_UNIX without SO_PASSCRED sends no control message, so the header's \
                 controllen is 0 and the room stays as it was",
            ),
        )
        .run(|cx| {
            let m = MsgHdr {
                controllen: 24,
                ..MsgHdr::default()
            };
            let data = pattern(20, 41);
            let multishot = RecvSendFlags::RECV_MULTISHOT.0;
            let (ring, buf, _hdr, c) = recvmsg_datagram(cx, &m, multishot, &data)?;
            check_head(cx, &ring, BGID, 1, "after the first shot")?;
            check_bytes(
                cx,
                &buf,
                0,
                &recvmsg_out(0, 0, 20, 0),
                "io_uring_recvmsg_out",
            )?;
            check_bytes(cx, &buf, 16, &[0; 24], "the control room (no control data)")?;
            check_bytes(cx, &buf, 40, &data, "the payload after the control room")?;
            cx.observe(
                c,
                "RECV_MULTISHOT, msghdr with no name and msg_controllen 24, a 20-byte datagram \
                 (128-byte buffer, bid 1)",
            )
        }),
    Case::new("net_recvmsg::select_ignores_iov_base")
        .requires(&[Feature::PbufRing, Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets, Fact::AccessOkRejectsKernel])
        .native_only("a compat iovec's 32-bit base cannot name a kernel address")
        .expect(Expect::cqe(16, buf_flags(1, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_msg_copy_hdr (BUFFER_SELECT: only the iovec's length is read) / \
                 io_recvmsg_copy_hdr (no io_net_import_vec when selecting)",
            )
            .rows(&["sel_readv_len"])
            .note(
                "the msghdr's one iovec has a kernel address as its base: with a provided \
                 buffer the kernel takes only its length (16), so the base is never checked; \
                 a kernel that imported the iovec would fail EFAULT at access_ok",
            ),
        )
        .run(|cx| {
            let iov = cx.mem(16)?;
            iov.write(0, &ForeignAddr::KERNEL.get().to_ne_bytes());
            iov.write(8, &16u64.to_ne_bytes());
            let m = MsgHdr {
                iov: iov.addr(),
                iovlen: 1,
                ..MsgHdr::default()
            };
            let data = pattern(32, 42);
            let (_ring, buf, hdr, c) = recvmsg_datagram(cx, &m, 0, &data)?;
            if c.res == 16 {
                check_bytes(cx, &buf, 0, &data[..16], "the first 16 bytes in bid 1")?;
                check_bytes(cx, &buf, 16, &[0; 112], "the rest of bid 1")?;
                let back = cx.abi().msghdr_from(&hdr.mem().read(0, hdr.len()));
                cx.check_eq("msg_flags written back", back.flags, libc::MSG_TRUNC as u32)?;
            }
            cx.observe(
                c,
                "a 32-byte datagram, one iovec {a kernel address, 16} (128-byte buffer)",
            )
        }),
    Case::new("net_recvmsg::bundle_refused")
        .requires(MSHOT)
        .needs(SOCK)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_recvmsg_prep (IORING_RECVSEND_BUNDLE on RECVMSG: EINVAL)")
                .man("io_uring_prep_recv.3", "IORING_RECVSEND_BUNDLE")
                .rows(&[])
                .note(
                    "bundles are RECV and SEND only; before 6.10 the flag is unknown to \
                     io_recvmsg_prep, EINVAL all the same; the datagram stays queued",
                ),
        )
        .run(|cx| {
            let data = pattern(8, 43);
            let (ring, buf, _hdr, c) =
                recvmsg_datagram(cx, &MsgHdr::default(), RECVSEND_BUNDLE, &data)?;
            check_head(cx, &ring, BGID, 0, "after the refused RECVMSG")?;
            check_bytes(cx, &buf, 0, &[0; 128], "the unused buffer (bid 1)")?;
            cx.observe(c, "IORING_RECVSEND_BUNDLE, an 8-byte datagram queued")
        }),
    Case::new("net_recvmsg::select_credentials_cmsg")
        .requires(&[Feature::PbufRing, Feature::OpRecvSend])
        .needs(SOCK)
        .expect(Expect::cqe(8, buf_flags(1, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg_prep (io_is_compat: MSG_CMSG_COMPAT); net/core/scm.c:put_cmsg \
                 (put_cmsg_compat); net/socket.c:____sys_recvmsg (msg_controllen written back \
                 in the caller's layout)",
            )
            .rows(&[])
            .note(
                "SO_PASSCRED on the receiver: the SCM_CREDENTIALS message (pid, uid, gid of the \
                 sender, this process) comes in the ring's layout, a 16-byte cmsghdr and \
                 CMSG_SPACE 32 on a native ring, a 12-byte compat_cmsghdr and 24 on a compat \
                 one, and msg_controllen is written back at that layout's offset",
            ),
        )
        .run(|cx| {
            let (mut ring, buf) = ring_with(cx, PbufFlags::NONE, 0, 128, &[1])?;
            let (a, b) = UnixDatagram::pair().setup("socketpair(SOCK_DGRAM)")?;
            setsockopt(&a, sockopt::PassCred, &true)
                .map_err(std::io::Error::from)
                .setup("SO_PASSCRED on the receiver")?;
            let data = pattern(8, 44);
            b.send(&data).setup("send the datagram")?;
            let control = cx.mem(64)?;
            let m = MsgHdr {
                control: control.addr(),
                controllen: 64,
                ..MsgHdr::default()
            };
            let (sqe, hdr) = op::recvmsg_select_hdr(cx.abi(), fd(&a), &m, BGID)
                .setup("lay out the msghdr for the ring's ABI")?;
            let c = one(cx, &mut ring, sqe, 0x4d6)?;
            if c.res == 8 {
                check_bytes(cx, &buf, 0, &data, "the datagram in bid 1")?;
                let (want, space) = credentials_cmsg(cx.abi());
                check_bytes(cx, &control, 0, &want, "the control data")?;
                let back = cx.abi().msghdr_from(&hdr.mem().read(0, hdr.len()));
                cx.check_eq(
                    "msg_controllen and msg_flags written back",
                    (back.controllen, back.flags),
                    (space, 0),
                )?;
            }
            cx.observe(
                c,
                "an 8-byte datagram to a socket with SO_PASSCRED, 64 bytes of control room",
            )
        }),
    Case::new("net_recvmsg::recv_bundle_after_short_recv")
        .requires(BUNDLE)
        .needs(SOCK)
        .needs_level(&level::BUNDLE_RECV_RETRY)
        .expect(Expect::cqe(192, buf_flags(2, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg_prep_setup (RECV: msg_inq = 0) / io_recv_buf_select (len 0: \
                 max_len from msg_inq) / io_netmsg_recycle",
            )
            .rows(&["bundle_recv_retry"])
            .note(
                "a RECV that leaves 32 bytes queued ends with msg_inq 32 in its io_async_msghdr, \
                 which the ring's cache hands to the next request; the next RECV bundle of len 0 \
                 must start from msg_inq 0 and map one whole buffer, then retry for the other \
                 128 bytes: from a stale 32 it would cut its first buffer to 32 bytes \
                 (partial_map: no retry) and complete with 32",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[1, 2, 3, 4, 5])?;
            let first = pattern(48, 45);
            let (a, b) = socket_with(&first)?;
            let short = one(cx, &mut ring, op::recv_select(fd(&a), 16, 0, BGID), 0x4d7)?;
            check_cqe(
                cx,
                "the 16-byte RECV",
                &short,
                16,
                buf_flags(1, SOCK_NONEMPTY),
            )?;
            let mut rest = [0u8; 32];
            (&a).read_exact(&mut rest).setup("read the 32 bytes left")?;
            let data = pattern(192, 46);
            (&b).write_all(&data).setup("send")?;
            let c = one(cx, &mut ring, recv_bundle(fd(&a), 0), 0x4d8)?;
            check_bytes(cx, &m, 64, &data, "bytes in bids 2, 3 and 4 in ring order")?;
            check_bytes(cx, &m, 256, &[0; 64], "bid 5 (not needed)")?;
            check_head(cx, &ring, BGID, 4, "after the bundle")?;
            cx.observe(
                c,
                "len 0 on a socket holding 192 bytes, after a 16-byte RECV on the same ring \
                 left 32 queued; 64-byte buffers, bids 2-5",
            )
        }),
    Case::new("net_recvmsg::recv_multishot_total_limit")
        .requires(MSHOT)
        .needs(SOCK)
        .needs_level(&level::RECV_MSHOT_TOTAL_LIMIT)
        .expect(Expect::cqe(20, buf_flags(1, NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recvmsg_prep (RECV multishot: mshot_total_len = sqe->optlen) / \
                 io_recv_finish (the limit reached: IORING_RECV_MSHOT_DONE, no F_MORE)",
            )
            .rows(&[])
            .note(
                "optlen 10 is the total the request may receive: the first shot takes all 20 \
                 queued bytes (the limit does not shorten a single buffer's receive) and, \
                 having reached it, ends the request",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with(cx, PbufFlags::NONE, 0, 64, &[1, 2])?;
            let data = pattern(20, 47);
            let (a, _b) = socket_with(&data)?;
            // sqe->optlen shares its word with file_index.
            let recv = op::recv_select(fd(&a), 0, 0, BGID)
                .ioprio(RecvSendFlags::RECV_MULTISHOT.0)
                .file_index(10);
            let c = one(cx, &mut ring, recv, 0x4d9)?;
            check_bytes(cx, &m, 0, &data, "the bytes in bid 1")?;
            cx.observe(
                c,
                "RECV_MULTISHOT with optlen 10 on a socket holding 20 bytes (64-byte buffers)",
            )
        }),
];

/// The SCM_CREDENTIALS message of this process in `abi`'s layout, and its CMSG_SPACE.
fn credentials_cmsg(abi: Abi) -> (Vec<u8>, u64) {
    let hdr = abi.cmsghdr_size();
    let len = hdr + 12;
    let mut b = match abi {
        Abi::Native => (len as u64).to_ne_bytes().to_vec(),
        Abi::Compat => (len as u32).to_ne_bytes().to_vec(),
    };
    for v in [
        libc::SOL_SOCKET,
        libc::SCM_CREDENTIALS,
        std::process::id() as i32,
        nix::unistd::getuid().as_raw() as i32,
        nix::unistd::getgid().as_raw() as i32,
    ] {
        b.extend_from_slice(&v.to_ne_bytes());
    }
    // CMSG_ALIGN: to a long, 8 bytes native, 4 compat (CMSG_COMPAT_ALIGN).
    let space = len.next_multiple_of(match abi {
        Abi::Native => 8,
        Abi::Compat => 4,
    });
    b.resize(64, 0);
    (b, space as u64)
}
