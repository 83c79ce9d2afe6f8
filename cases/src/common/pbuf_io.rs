//! The rings, sockets and checks the tables of provided-buffer rings in use
//! ([`crate::buf_ring_io`], [`crate::buf_ring_inc`]; `check_cqe` in [`crate::buf_select`] too)
//! build their rows from.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use uring::abi::{io_uring_buf_reg, CqeFlags, PbufFlags, RecvSendFlags, RECVSEND_BUNDLE};
use uring::register::buf_reg;
use uring::{op, Cqe, Mem, Ring, Sqe};
use uring_harness::{CaseError, Cx, Fact, Feature, Setup};

/// The buffer group of every ring these rows register.
pub const BGID: u16 = 9;
/// What the socket rows need: AF_UNIX stream sockets.
pub const SOCK: &[Fact] = &[Fact::UnixSockets];
/// What the bundle rows require (the feature that decides first: a skip names the first
/// one missing).
pub const BUNDLE: &[Feature] = &[
    Feature::RecvsendBundle,
    Feature::PbufRing,
    Feature::PbufStatus,
    Feature::OpRecvSend,
];
/// Sockets whose queue length decides SOCK_NONEMPTY and the bundle retry.
pub const SOCK_INQ: &[Fact] = &[Fact::UnixSockets, Fact::UnixInq];
/// A CQE that leaves bytes queued on its socket.
pub const SOCK_NONEMPTY: CqeFlags = CqeFlags::SOCK_NONEMPTY;
/// No flags besides the buffer id: `buf_flags(bid, NONE)`.
pub const NONE: CqeFlags = CqeFlags::NONE;
/// A CQE whose buffer stays in use (IORING_CQE_F_BUF_MORE).
pub const MORE: CqeFlags = CqeFlags::BUF_MORE;

/// A ring whose group `BGID` is an 8-entry application ring registered with `flags` and
/// `min_left`, holding one `len`-byte buffer per bid (buffer `i` at `i * len` of the memory
/// returned).
pub fn ring_with(
    cx: &Cx,
    flags: PbufFlags,
    min_left: u32,
    len: usize,
    bids: &[u16],
) -> Result<(Ring, Arc<Mem>), CaseError> {
    let mut ring = cx.ring()?;
    let mem = cx.mem((len * bids.len()).max(1))?;
    let rmem = cx.mem(4096)?;
    let reg = io_uring_buf_reg {
        min_left,
        ..buf_reg(BGID, 8, flags)
    };
    let br = ring
        .register_buf_ring_with(rmem.slice(0, 4096), reg)
        .setup("register the buffer ring")?;
    for (i, bid) in bids.iter().enumerate() {
        br.add(&mem.slice(i * len, len), *bid, i as u16);
    }
    br.advance(bids.len() as u16);
    Ok((ring, mem))
}

/// The bid of the one buffer of [`ring_over_itself`].
pub const SELF_BID: u16 = 7;

/// A ring whose group `BGID` is a 2-entry ring registered with `flags` over a page of its
/// own, holding one buffer (bid [`SELF_BID`]): that same page, whose first 32 bytes are the
/// two entries (entry 0's last two bytes the tail). Returns the page.
pub fn ring_over_itself(cx: &Cx, flags: PbufFlags) -> Result<(Ring, Arc<Mem>), CaseError> {
    let mut ring = cx.ring()?;
    let page = cx.mem(4096)?;
    let br = ring
        .register_buf_ring_with(page.slice(0, 4096), buf_reg(BGID, 2, flags))
        .setup("register the buffer ring")?;
    br.add(&page.slice(0, 4096), SELF_BID, 0);
    br.advance(1);
    Ok((ring, page))
}

/// 32 bytes that, received into the page of [`ring_over_itself`], overwrite both entries:
/// entry 0 {addr 0x1000, len 0, bid 0x55aa, tail 1}, entry 1 {addr 0x2000, len 64, bid
/// 0x66bb}.
pub fn entries_overwrite() -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    for (addr, len, bid, last) in [(0x1000u64, 0u32, 0x55aau16, 1u16), (0x2000, 64, 0x66bb, 0)] {
        b.extend_from_slice(&addr.to_ne_bytes());
        b.extend_from_slice(&len.to_ne_bytes());
        b.extend_from_slice(&bid.to_ne_bytes());
        b.extend_from_slice(&last.to_ne_bytes());
    }
    b
}

/// Ring entry `i` as the kernel left it: (addr, len).
pub fn entry(ring: &mut Ring, i: u32) -> (u64, u32) {
    let e = ring.buf_ring(BGID).map(|b| b.entry(i)).unwrap_or_default();
    (e.addr, e.len)
}

/// Checks ring entry `i` (addr relative to `mem`, len).
pub fn check_entry(
    cx: &Cx,
    ring: &mut Ring,
    mem: &Mem,
    i: u32,
    off: u64,
    len: u32,
) -> Result<(), CaseError> {
    let (addr, l) = entry(ring, i);
    cx.check_eq(
        &format!("ring entry {i} (offset in the buffers, len)"),
        (addr.wrapping_sub(mem.addr()), l),
        (off, len),
    )
}

/// Checks a completion's (res, flags).
pub fn check_cqe(cx: &Cx, what: &str, c: &Cqe, res: i32, flags: CqeFlags) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("{what} (res, flags)"),
        (c.res, c.flags),
        (res, flags),
    )
}

/// Checks that `mem[off..]` holds `data`.
pub fn check_bytes(
    cx: &Cx,
    mem: &Mem,
    off: usize,
    data: &[u8],
    what: &str,
) -> Result<(), CaseError> {
    cx.check_eq(what, mem.read(off, data.len()), data.to_vec())
}

/// A connected AF_UNIX stream pair; `data` already written to the first, to be read from
/// the second.
pub fn socket_with(data: &[u8]) -> Result<(UnixStream, UnixStream), CaseError> {
    let (a, b) = UnixStream::pair().setup("socketpair")?;
    (&b).write_all(data).setup("send")?;
    Ok((a, b))
}

/// Submits `sqe` and waits for its CQE.
pub fn one(cx: &Cx, ring: &mut Ring, sqe: Sqe, ud: u64) -> Result<Cqe, CaseError> {
    cx.submit_one(ring, sqe.user_data(ud))
}

/// What the peer of a SEND has received so far (nothing: empty).
pub fn received(b: &UnixStream) -> Result<Vec<u8>, CaseError> {
    b.set_nonblocking(true).setup("O_NONBLOCK on the peer")?;
    let mut got = vec![0u8; 4096];
    let n = match (&*b).read(&mut got) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e).setup("read the peer"),
    };
    got.truncate(n);
    Ok(got)
}

/// A RECV bundle of up to `len` bytes from `BGID`.
pub fn recv_bundle(fd: i32, len: u32) -> Sqe {
    op::recv_select(fd, len, 0, BGID).ioprio(RECVSEND_BUNDLE)
}

/// A multishot RECV (len 0: each shot one whole buffer) from `BGID`.
pub fn recv_multishot(fd: i32) -> Sqe {
    op::recv_select(fd, 0, 0, BGID).ioprio(RecvSendFlags::RECV_MULTISHOT.0)
}

/// Submits `sqe`, waits for its first CQE and collects what else comes within the settle
/// time, in order.
pub fn shots(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<Vec<Cqe>, CaseError> {
    let mut got = cx.submit_batch(ring, vec![sqe], 1)?;
    got.extend(cx.settle(ring, std::time::Duration::from_millis(50)));
    Ok(got)
}

/// (res, flags) of each CQE.
pub fn res_flags(cqes: &[Cqe]) -> Vec<(i32, CqeFlags)> {
    cqes.iter().map(|c| (c.res, c.flags)).collect()
}
