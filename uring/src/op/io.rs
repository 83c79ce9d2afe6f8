//! Builders for the plain opcodes: NOP, read/write (plain, vectored, with a provided
//! buffer), send/recv, close, FILES_UPDATE, provided-buffer groups, cancel.

use super::{IoBuf, Sqe};
use crate::abi::{CancelFlags, Opcode};
use crate::compat::{below_4g, Abi, MsgHdr};
use crate::mem::{BufSlice, HeldIov, Mem};
use crate::Error;
use std::sync::Arc;

/// IORING_OP_NOP.
pub fn nop() -> Sqe {
    Sqe::with_opcode(Opcode::NOP)
}

/// IORING_OP_READ into `buf` from file offset `off` (-1: current position).
pub fn read(fd: i32, buf: impl Into<IoBuf>, len: u32, off: u64) -> Sqe {
    Sqe::with_ptr(Opcode::READ, fd, buf.into(), len, off)
}

/// IORING_OP_READ with a provided buffer from group `bgid` (no address: the kernel picks).
pub fn read_select(fd: i32, len: u32, off: u64, bgid: u16) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::READ);
    s.raw.fd = fd;
    s.raw.len = len;
    s.raw.off = off;
    s.buffer_select(bgid)
}

/// IORING_OP_READ_MULTISHOT with provided buffers from group `bgid`; `len` is the SQE's
/// (the kernel refuses anything but 0: a builder for that refusal too).
pub fn read_multishot(fd: i32, len: u32, bgid: u16) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::READ_MULTISHOT);
    s.raw.fd = fd;
    s.raw.len = len;
    s.buffer_select(bgid)
}

/// IORING_OP_WRITE from `buf` at file offset `off`.
pub fn write(fd: i32, buf: impl Into<IoBuf>, len: u32, off: u64) -> Sqe {
    Sqe::with_ptr(Opcode::WRITE, fd, buf.into(), len, off)
}

/// A region holding `bytes` (a structure laid out for `abi`): below 4 GiB for
/// [`Abi::Compat`], whose structures point at each other with 32-bit pointers.
pub(super) fn mem_with(abi: Abi, bytes: &[u8], what: &str) -> BufSlice {
    let _below = (abi == Abi::Compat).then(below_4g);
    let mem = Mem::new(bytes.len().max(1)).unwrap_or_else(|e| panic!("mmap for {what}: {e}"));
    mem.write(0, bytes);
    mem.set_layout(abi);
    mem.slice(0, bytes.len().max(1))
}

/// An iovec array in `abi`'s layout, built in a [`Mem`] so the kernel can read it while
/// the request is in flight, and the regions its iovecs name.
fn iovec_array(abi: Abi, bufs: &[BufSlice]) -> Result<(BufSlice, Vec<Arc<Mem>>), Error> {
    let pairs: Vec<(u64, u64)> = bufs.iter().map(|b| (b.addr(), b.len() as u64)).collect();
    let arr = mem_with(abi, &abi.iovecs(&pairs)?, "an iovec array");
    let anchors: Vec<Arc<Mem>> = bufs.iter().map(|b| b.mem().clone()).collect();
    Ok((arr, anchors))
}

/// IORING_OP_READV into `bufs` (the iovecs laid out for a ring of this [`Abi`]).
pub fn readv(abi: Abi, fd: i32, bufs: &[BufSlice], off: u64) -> Result<Sqe, Error> {
    let (arr, anchors) = iovec_array(abi, bufs)?;
    let mut s = Sqe::with_ptr(Opcode::READV, fd, arr.into(), bufs.len() as u32, off);
    s.anchors.extend(anchors);
    Ok(s)
}

/// IORING_OP_READV into held memory: the entries of `iov` (see
/// [`HeldIovecs::set`](crate::HeldIovecs::set)), from file offset `off`. Like a read into
/// a [`HeldSlice`](crate::HeldSlice), it takes the plain push path on the ring holding
/// the array, and is refused by any other.
pub fn readv_held(fd: i32, iov: HeldIov, off: u64) -> Sqe {
    Sqe::with_ptr(Opcode::READV, fd, IoBuf::iovecs(iov), iov.nr(), off)
}

/// IORING_OP_WRITEV from held memory: as [`readv_held`].
pub fn writev_held(fd: i32, iov: HeldIov, off: u64) -> Sqe {
    Sqe::with_ptr(Opcode::WRITEV, fd, IoBuf::iovecs(iov), iov.nr(), off)
}

/// IORING_OP_READV with a provided buffer: iovecs of lengths `lens` (no base: the kernel
/// reads only the first iovec's length, and only when there is one, `len` 1), laid out for
/// a ring of this [`Abi`].
pub fn readv_select(abi: Abi, fd: i32, lens: &[u64], off: u64, bgid: u16) -> Result<Sqe, Error> {
    let pairs: Vec<(u64, u64)> = lens.iter().map(|&l| (0, l)).collect();
    let arr = mem_with(abi, &abi.iovecs(&pairs)?, "an iovec array");
    Ok(readv_select_at(fd, arr, lens.len() as u32, off, bgid))
}

/// Like [`readv_select`] with the iovec at any address (a foreign one: to test the kernel's checks).
pub fn readv_select_at(fd: i32, iov: impl Into<IoBuf>, iov_count: u32, off: u64, bgid: u16) -> Sqe {
    Sqe::with_ptr(Opcode::READV, fd, iov.into(), iov_count, off).buffer_select(bgid)
}

/// IORING_OP_WRITEV from `bufs` (the iovecs laid out for a ring of this [`Abi`]).
pub fn writev(abi: Abi, fd: i32, bufs: &[BufSlice], off: u64) -> Result<Sqe, Error> {
    let mut s = readv(abi, fd, bufs, off)?;
    s.raw.opcode = Opcode::WRITEV;
    Ok(s)
}

/// IORING_OP_RECV into `buf`.
pub fn recv(fd: i32, buf: impl Into<IoBuf>, len: u32, msg_flags: u32) -> Sqe {
    Sqe::with_ptr(Opcode::RECV, fd, buf.into(), len, 0).op_flags(msg_flags)
}

/// IORING_OP_RECV with a provided buffer from group `bgid`.
pub fn recv_select(fd: i32, len: u32, msg_flags: u32, bgid: u16) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::RECV);
    s.raw.fd = fd;
    s.raw.len = len;
    s.raw.op_flags = msg_flags;
    s.buffer_select(bgid)
}

/// IORING_OP_RECVMSG with a provided buffer from group `bgid`; `msghdr` holds a msghdr of
/// the ring's ABI, read at prep (with no iovec: the whole buffer; with RECV_MULTISHOT in
/// `ioprio`, its name and control lengths size the header put at the start of each buffer).
pub fn recvmsg_select(fd: i32, msghdr: BufSlice, msg_flags: u32, bgid: u16) -> Sqe {
    Sqe::with_ptr(Opcode::RECVMSG, fd, msghdr.into(), 1, 0)
        .op_flags(msg_flags)
        .buffer_select(bgid)
}

/// IORING_OP_RECVMSG with a provided buffer from group `bgid`, its msghdr (no name, no
/// control data) holding iovecs of lengths `lens` (no base: the kernel reads only the
/// first iovec's length), laid out for a ring of this [`Abi`].
pub fn recvmsg_select_lens(abi: Abi, fd: i32, lens: &[u64], bgid: u16) -> Result<Sqe, Error> {
    let pairs: Vec<(u64, u64)> = lens.iter().map(|&l| (0, l)).collect();
    let arr = mem_with(abi, &abi.iovecs(&pairs)?, "an iovec array");
    let hdr = mem_with(abi, &abi.msghdr(arr.addr(), lens.len() as u64)?, "a msghdr");
    let mut s = recvmsg_select(fd, hdr, 0, bgid);
    s.anchors.push(arr.mem().clone());
    Ok(s)
}

/// IORING_OP_RECVMSG with a provided buffer from group `bgid`, its msghdr `m` laid out
/// for a ring of this [`Abi`]; also returns the msghdr, to read back what the kernel wrote
/// into it ([`Abi::msghdr_from`]).
pub fn recvmsg_select_hdr(
    abi: Abi,
    fd: i32,
    m: &MsgHdr,
    bgid: u16,
) -> Result<(Sqe, BufSlice), Error> {
    let hdr = mem_with(abi, &abi.msghdr_of(m)?, "a msghdr");
    Ok((recvmsg_select(fd, hdr.clone(), 0, bgid), hdr))
}

/// IORING_OP_SEND from `buf`.
pub fn send(fd: i32, buf: impl Into<IoBuf>, len: u32, msg_flags: u32) -> Sqe {
    Sqe::with_ptr(Opcode::SEND, fd, buf.into(), len, 0).op_flags(msg_flags)
}

/// IORING_OP_SEND from a provided buffer of group `bgid` (no address: the kernel picks;
/// with [`crate::abi::RECVSEND_BUNDLE`] in `ioprio`, as many buffers as `len` spans, 0: all).
pub fn send_select(fd: i32, len: u32, msg_flags: u32, bgid: u16) -> Sqe {
    let mut s = recv_select(fd, len, msg_flags, bgid);
    s.raw.opcode = Opcode::SEND;
    s
}

/// IORING_OP_CLOSE of a plain fd.
pub fn close(fd: i32) -> Sqe {
    Sqe::with_opcode(Opcode::CLOSE).fd(fd)
}

/// IORING_OP_CLOSE of fixed-file slot `slot` (`file_index = slot + 1`).
pub fn close_fixed(slot: u32) -> Sqe {
    Sqe::with_opcode(Opcode::CLOSE).file_index(slot + 1)
}

/// IORING_OP_FILES_UPDATE: replaces fixed files from `offset` with the fds in `fds`
/// (an array of i32 in a `Mem`; the kernel only reads it).
pub fn files_update(fds: BufSlice, nr: u32, offset: u32) -> Sqe {
    Sqe::with_ptr(Opcode::FILES_UPDATE, -1, fds.into(), nr, offset as u64)
}

/// IORING_OP_PROVIDE_BUFFERS (legacy groups): `nbufs` buffers of `len` bytes each, laid
/// out back to back in `mem`, with ids `bid..bid+nbufs` in group `bgid`. The kernel writes
/// into them later, so the Sqe keeps `mem` alive.
pub fn provide_buffers(mem: BufSlice, len: u32, nbufs: u32, bgid: u16, bid: u16) -> Sqe {
    provide_buffers_from(mem, len, nbufs, bgid, u64::from(bid))
}

/// Like [`provide_buffers`] with the first id as the kernel reads it, the 64-bit `sqe->off`
/// (to test that ids above USHRT_MAX are refused).
pub fn provide_buffers_from(mem: BufSlice, len: u32, nbufs: u32, bgid: u16, bid: u64) -> Sqe {
    let mut s = Sqe::with_ptr(Opcode::PROVIDE_BUFFERS, nbufs as i32, mem.into(), len, bid);
    s.raw.buf_index = bgid;
    s
}

/// IORING_OP_REMOVE_BUFFERS: removes up to `nbufs` buffers of legacy group `bgid`.
pub fn remove_buffers(nbufs: u32, bgid: u16) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::REMOVE_BUFFERS).fd(nbufs as i32);
    s.raw.buf_index = bgid;
    s
}

/// IORING_OP_REMOVE_BUFFERS with `addr` and `off` as given, fields the kernel requires zero
/// (to test that it refuses them).
pub fn remove_buffers_at(nbufs: u32, bgid: u16, addr: impl Into<IoBuf>, off: u64) -> Sqe {
    let mut s = Sqe::with_ptr(Opcode::REMOVE_BUFFERS, nbufs as i32, addr.into(), 0, off);
    s.raw.buf_index = bgid;
    s
}

/// IORING_OP_ASYNC_CANCEL of the request with `user_data` (with `flags`, e.g. ALL/ANY).
pub fn cancel(target_user_data: u64, flags: CancelFlags) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::ASYNC_CANCEL);
    // `addr` is the user_data to match, compared as a number and never dereferenced.
    s.raw.addr = target_user_data;
    s.raw.op_flags = flags.0;
    s
}
