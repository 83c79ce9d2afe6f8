//! SEND with IORING_RECVSEND_FIXED_BUF beyond the bytes (7.2): what io_sendmsg_prep refuses
//! before any buffer is looked up, and the destination address (`addr2`) of io_send_setup,
//! with the ring's cached io_async_msghdr reused by the next SEND.

use crate::common::net::{ring_with_pattern, unix_drain};
use crate::common::*;
use crate::fixed_net::{send_fixed_case, NET};
use std::io::Write;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixStream};
use std::sync::atomic::{AtomicU32, Ordering};
use uring::abi::CqeFlags;
use uring::{op, Cqe, Ring, Sqe};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// An AF_UNIX datagram socket bound to a fresh abstract name, and that name as the
/// `sockaddr_un` bytes a SEND's `addr2` points to.
pub(crate) fn datagram_receiver() -> Result<(UnixDatagram, Vec<u8>), CaseError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "uring-conformance-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).setup("abstract name")?;
    let r = UnixDatagram::bind_addr(&addr).setup("bind an abstract AF_UNIX name")?;
    r.set_nonblocking(true)
        .setup("O_NONBLOCK on the receiver")?;
    let mut sa = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    sa.push(0);
    sa.extend_from_slice(name.as_bytes());
    Ok((r, sa))
}

/// SEND with FIXED_BUF of 64 bytes at the start of the buffer from an unbound, unconnected
/// datagram socket to a bound one's address (`addr2`); checks the datagram that came.
fn send_fixed_to_address(
    cx: &Cx,
    ring: &mut Ring,
    base: u64,
    data: &[u8],
) -> Result<Cqe, CaseError> {
    let (r, sa) = datagram_receiver()?;
    let s = UnixDatagram::unbound().setup("socket(AF_UNIX, SOCK_DGRAM)")?;
    let name = cx.mem(sa.len())?;
    name.write(0, &sa);
    let sqe = fixed_send(fd(&s), base, 0).dest(name.slice(0, sa.len()), sa.len() as u16);
    let c = cx.submit_one(ring, sqe.user_data(1))?;
    let mut got = vec![0u8; 128];
    let n = match r.recv(&mut got) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e).setup("recv on the receiver"),
    };
    got.truncate(n);
    let want = if c.res > 0 {
        data[..64].to_vec()
    } else {
        Vec::new()
    };
    cx.check_eq("the datagram the bound socket received", got, want)?;
    Ok(c)
}

/// SEND with FIXED_BUF of 64 bytes from `addr` (in buffer 0) with `msg_flags`.
fn fixed_send(fd: i32, addr: u64, msg_flags: u32) -> Sqe {
    op::send_fixed(
        fd,
        op::FixedNet {
            addr,
            len: 64,
            msg_flags,
            buf_index: 0,
        },
    )
}

/// SEND with FIXED_BUF of the 64 bytes `sent` at `base` on the connected stream `a` (user
/// data `ud`); checks that the peer `b` got them (nothing on failure).
fn send_64_checked(
    cx: &Cx,
    ring: &mut Ring,
    (a, b): (&UnixStream, &UnixStream),
    base: u64,
    sent: &[u8],
    ud: u64,
) -> Result<Cqe, CaseError> {
    let c = cx.submit_one(ring, fixed_send(fd(a), base, 0).user_data(ud))?;
    let want = if c.res > 0 { sent.to_vec() } else { Vec::new() };
    cx.check_eq("the bytes the peer received", unix_drain(b)?, want)?;
    Ok(c)
}

/// Writes to `s` (nonblocking) until its send buffer is full: the last one-byte write
/// would block, so any send would (sock_alloc_send_pskb waits on sk_wmem_alloc >= sk_sndbuf).
/// Returns the bytes written.
pub(crate) fn fill_socket(s: &UnixStream) -> Result<usize, CaseError> {
    s.set_nonblocking(true).setup("O_NONBLOCK")?;
    let mut total = 0;
    for chunk in [4096usize, 1] {
        let buf = vec![0x5a; chunk];
        loop {
            match (&*s).write(&buf) {
                Ok(n) => total += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e).setup("fill the socket"),
            }
        }
    }
    s.set_nonblocking(false).setup("clear O_NONBLOCK")?;
    Ok(total)
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("send_fixed::len_negative")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep (sr->len < 0)")
                .rows(&["sendf_prep_einval"])
                .note(
                    "sqe->len is read as an int: 0xffffffff is -1, refused at prep before the \
                     range is checked (which would be EFAULT)",
                ),
        )
        .run(|cx| send_fixed_case(cx, 0, u32::MAX, 0, "with len 0xffffffff")),
    Case::new("sendmsg_fixed::refused")
        .requires(&[Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep (FIXED_BUF only on IORING_OP_SEND)")
                .rows(&["sendf_prep_einval"])
                .note(
                    "SENDMSG takes registered buffers only as SENDMSG_ZC; before 7.2 FIXED_BUF \
                     was an unknown SENDMSG flag: the same errno",
                ),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::sendmsg_fixed(
                cx.abi(),
                fd(&a),
                op::FixedMsg {
                    iovs: &[(base, 64)],
                    msg_flags: 0,
                    buf_index: 0,
                },
            )
            .setup("lay out the msghdr for the ring's ABI")?;
            let c = cx.submit_one(&mut ring, sqe.user_data(1))?;
            cx.check_eq("the bytes the peer received", unix_drain(&b)?, vec![])?;
            cx.observe(
                c,
                "IORING_OP_SENDMSG with IORING_RECVSEND_FIXED_BUF, one iovec inside the buffer",
            )
        }),
    Case::new("send_fixed::to_datagram_address")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe(64, CqeFlags::NONE))
        .cite(
            Cite::kernel("net.c:io_send_setup (addr2: move_addr_to_kernel, msg_name)")
                .man("io_uring_prep_sendto.3", "addr")
                .rows(&["sendf_bytes"]),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let start = (base - mem.addr()) as usize;
            let c = send_fixed_to_address(cx, &mut ring, base, &data[start..])?;
            cx.observe(
                c,
                "64 bytes from an unconnected AF_UNIX datagram socket to a bound one's addr2",
            )
        }),
    Case::new("send_fixed::connected_after_addressed")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe(64, CqeFlags::NONE))
        .cite(
            Cite::kernel("net.c:io_send_setup (msg_name and msg_namelen reset for every SEND)")
                .rows(&["sendf_bytes"])
                .note(
                    "the second SEND reuses the first one's io_async_msghdr from the ring's \
                     cache (io_netmsg_recycle), whose msg_namelen the first set: a name left \
                     over would make a connected stream answer EISCONN",
                ),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let start = (base - mem.addr()) as usize;
            let first = send_fixed_to_address(cx, &mut ring, base, &data[start..])?;
            cx.check_eq("the addressed SEND's res", first.res, 64)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let sent = &data[start..start + 64];
            let c = send_64_checked(cx, &mut ring, (&a, &b), base, sent, 2)?;
            cx.observe(
                c,
                "64 bytes on a connected AF_UNIX stream, after an addressed SEND on the same ring",
            )
        }),
    Case::new("send_fixed::after_read_on_same_ring")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe(64, CqeFlags::NONE))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep (done_io and msg_flags set for every SEND)")
                .rows(&["sendf_bytes"])
                .note(
                    "the SEND reuses the READ's io_kiocb (the ring's free list), whose command \
                     area is not cleared: io_rw's ki_complete pointer lies where io_sr_msg \
                     keeps done_io, added to the result unless prep zeroes it",
                ),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let (r, _w) = pipe_with(b"read first")?;
            let into = cx.mem(16)?;
            let read =
                cx.submit_one(&mut ring, op::read(fd(&r), into.slice(0, 16), 16, u64::MAX))?;
            cx.check_eq("the READ's res", read.res, 10)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let start = (base - mem.addr()) as usize;
            let sent = &data[start..start + 64];
            let c = send_64_checked(cx, &mut ring, (&a, &b), base, sent, 2)?;
            cx.observe(
                c,
                "64 bytes on an AF_UNIX stream, after a READ on the same ring",
            )
        }),
    Case::new("send_fixed::dontwait_full_socket")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe_errno(E::EAGAIN))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep (MSG_DONTWAIT: REQ_F_NOWAIT) / io_send")
                .man("io_uring_prep_send.3", "MSG_DONTWAIT")
                .rows(&["sendf_bytes"])
                .note(
                    "without REQ_F_NOWAIT the -EAGAIN of the nonblocking attempt would arm poll \
                     and wait for room",
                ),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            fill_socket(&a)?;
            let sqe = fixed_send(fd(&a), base, libc::MSG_DONTWAIT as u32);
            let c = cx.submit_one(&mut ring, sqe.user_data(3))?;
            drop(b);
            cx.observe(
                c,
                "64 bytes with MSG_DONTWAIT on an AF_UNIX stream whose send buffer is full",
            )
        }),
];
