//! Builders for the registered-buffer opcodes (READ/WRITE_FIXED, READV/WRITEV_FIXED,
//! SEND/RECV/SEND_ZC/SENDMSG_ZC with `IORING_RECVSEND_FIXED_BUF`, NOP with `IORING_NOP_*`).
//!
//! Their integers are named, in a struct per shape ([`Fixed`], [`FixedVec`],
//! [`FixedVecAt`], [`FixedNet`], [`FixedMsg`], [`NopArgs`]), so that an address, a length,
//! a file offset and a buffer index cannot trade places unnoticed; every field still takes
//! any value, since the kernel's rejection of wrong ones is what the suite tests.
//! Addresses inside a registered buffer are plain numbers: the kernel only touches the
//! pages pinned at registration, never these addresses as user memory.

use super::io::mem_with;
use super::{nop, Sqe};
use crate::abi::{NopFlags, Opcode, RecvSendFlags};
use crate::compat::Abi;
use crate::mem::{BufSlice, ForeignAddr, UserPtr};
use crate::Error;

/// A range of a registered buffer for READ_FIXED / WRITE_FIXED: `len` bytes at `addr`
/// (inside buffer `buf_index`), to or from file offset `offset` (-1: current position).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fixed {
    /// `addr`: where in the registered buffer.
    pub addr: u64,
    /// `len`: bytes.
    pub len: u32,
    /// `off`: the file offset.
    pub offset: u64,
    /// `buf_index`: the registered buffer's slot.
    pub buf_index: u16,
}

/// IORING_OP_READ_FIXED: reads into `f.addr` of registered buffer `f.buf_index`.
pub fn read_fixed(fd: i32, f: Fixed) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::READ_FIXED);
    s.raw.fd = fd;
    s.raw.addr = f.addr;
    s.raw.len = f.len;
    s.raw.off = f.offset;
    s.raw.buf_index = f.buf_index;
    s
}

/// IORING_OP_WRITE_FIXED: writes from `f.addr` of registered buffer `f.buf_index`.
pub fn write_fixed(fd: i32, f: Fixed) -> Sqe {
    let mut s = read_fixed(fd, f);
    s.raw.opcode = Opcode::WRITE_FIXED;
    s
}

/// Ranges of a registered buffer for READV_FIXED / WRITEV_FIXED: the `{addr, len}` iovecs
/// (laid out by the builder), file offset `offset`, buffer slot `buf_index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedVec<'a> {
    /// The iovecs, `{addr, len}` inside the registered buffer.
    pub iovs: &'a [(u64, u64)],
    /// `off`: the file offset.
    pub offset: u64,
    /// `buf_index`: the registered buffer's slot.
    pub buf_index: u16,
}

/// [`FixedVec`] with the iovec array given as an address and any count `nr` (a foreign
/// array, a count the array does not hold: to test the kernel's checks).
#[derive(Clone, Debug)]
pub struct FixedVecAt {
    /// `addr`: the iovec array.
    pub iovs: UserPtr,
    /// `len`: the number of iovecs.
    pub nr: u32,
    /// `off`: the file offset.
    pub offset: u64,
    /// `buf_index`: the registered buffer's slot.
    pub buf_index: u16,
}

/// An iovec array in `abi`'s layout whose entries are plain `{addr, len}` numbers, for the
/// vectored fixed-buffer opcodes: their iovecs name ranges of a registered buffer. Only the
/// array itself is read as user memory, so only it lives in a [`Mem`].
fn iovec_numbers(abi: Abi, iovs: &[(u64, u64)]) -> Result<BufSlice, Error> {
    Ok(mem_with(abi, &abi.iovecs(iovs)?, "an iovec array"))
}

/// IORING_OP_READV_FIXED: reads into the ranges `v.iovs` of registered buffer `v.buf_index`,
/// the iovecs laid out for a ring of this [`Abi`] (one a compat layout cannot hold is
/// [`Error::Above32Bits`]).
pub fn readv_fixed(abi: Abi, fd: i32, v: FixedVec<'_>) -> Result<Sqe, Error> {
    Ok(readv_fixed_at(
        fd,
        FixedVecAt {
            iovs: iovec_numbers(abi, v.iovs)?.into(),
            nr: v.iovs.len() as u32,
            offset: v.offset,
            buf_index: v.buf_index,
        },
    ))
}

/// Like [`readv_fixed`] with the iovec array at any address and any count.
pub fn readv_fixed_at(fd: i32, v: FixedVecAt) -> Sqe {
    Sqe::with_ptr(Opcode::READV_FIXED, fd, v.iovs.into(), v.nr, v.offset).buf_index(v.buf_index)
}

/// IORING_OP_WRITEV_FIXED: writes the ranges `v.iovs` of registered buffer `v.buf_index`.
pub fn writev_fixed(abi: Abi, fd: i32, v: FixedVec<'_>) -> Result<Sqe, Error> {
    let mut s = readv_fixed(abi, fd, v)?;
    s.raw.opcode = Opcode::WRITEV_FIXED;
    Ok(s)
}

/// A range of a registered buffer for SEND / RECV / SEND_ZC with `IORING_RECVSEND_FIXED_BUF`:
/// `len` bytes at `addr` of buffer `buf_index`, with `msg_flags` (`MSG_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedNet {
    /// `addr`: where in the registered buffer.
    pub addr: u64,
    /// `len`: bytes.
    pub len: u32,
    /// `msg_flags`.
    pub msg_flags: u32,
    /// `buf_index`: the registered buffer's slot.
    pub buf_index: u16,
}

/// A send/recv SQE on a registered buffer: `IORING_RECVSEND_FIXED_BUF` in `ioprio`.
fn net_fixed(opcode: Opcode, fd: i32, n: FixedNet) -> Sqe {
    let mut s = Sqe::with_opcode(opcode);
    s.raw.fd = fd;
    s.raw.addr = n.addr;
    s.raw.len = n.len;
    s.raw.op_flags = n.msg_flags;
    s.raw.ioprio = RecvSendFlags::FIXED_BUF.0;
    s.raw.buf_index = n.buf_index;
    s
}

/// IORING_OP_SEND of `n.len` bytes at `n.addr` of registered buffer `n.buf_index`.
pub fn send_fixed(fd: i32, n: FixedNet) -> Sqe {
    net_fixed(Opcode::SEND, fd, n)
}

/// IORING_OP_RECV of up to `n.len` bytes into `n.addr` of registered buffer `n.buf_index`.
pub fn recv_fixed(fd: i32, n: FixedNet) -> Sqe {
    net_fixed(Opcode::RECV, fd, n)
}

/// IORING_OP_SEND_ZC of `n.len` bytes at `n.addr` of registered buffer `n.buf_index` (the
/// notification CQE carries the SQE's user_data: `addr3` is 0).
pub fn send_zc_fixed(fd: i32, n: FixedNet) -> Sqe {
    net_fixed(Opcode::SEND_ZC, fd, n)
}

/// Ranges of a registered buffer for SENDMSG_ZC with `IORING_RECVSEND_FIXED_BUF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedMsg<'a> {
    /// The iovecs, `{addr, len}` inside the registered buffer.
    pub iovs: &'a [(u64, u64)],
    /// `msg_flags`.
    pub msg_flags: u32,
    /// `buf_index`: the registered buffer's slot.
    pub buf_index: u16,
}

/// IORING_OP_SENDMSG_ZC of the ranges `m.iovs` of registered buffer `m.buf_index` (the
/// msghdr names no address and no control data), the msghdr and its iovecs laid out for a
/// ring of this [`Abi`].
pub fn sendmsg_zc_fixed(abi: Abi, fd: i32, m: FixedMsg<'_>) -> Result<Sqe, Error> {
    sendmsg_fixed_as(Opcode::SENDMSG_ZC, abi, fd, m, None)
}

/// IORING_OP_SENDMSG_ZC with `IORING_RECVSEND_FIXED_BUF` whose msghdr pointer is `hdr` as
/// is: an address nothing is mapped at ([`ForeignAddr`]), for the header copy at prep to fail.
pub fn sendmsg_zc_fixed_at(fd: i32, hdr: ForeignAddr, buf_index: u16) -> Sqe {
    Sqe::with_ptr(Opcode::SENDMSG_ZC, fd, hdr.into(), 1, 0)
        .ioprio(RecvSendFlags::FIXED_BUF.0)
        .buf_index(buf_index)
}

/// [`sendmsg_zc_fixed`] whose msghdr names the destination address `to` (a sockaddr,
/// `msg_name` and `msg_namelen`), as sendmsg(2) to an unconnected socket.
pub fn sendmsg_zc_fixed_to(abi: Abi, fd: i32, m: FixedMsg<'_>, to: BufSlice) -> Result<Sqe, Error> {
    sendmsg_fixed_as(Opcode::SENDMSG_ZC, abi, fd, m, Some(to))
}

/// IORING_OP_SENDMSG (not ZC) with IORING_RECVSEND_FIXED_BUF, laid out as
/// [`sendmsg_zc_fixed`]: the flag the kernel takes only on SEND and SENDMSG_ZC.
pub fn sendmsg_fixed(abi: Abi, fd: i32, m: FixedMsg<'_>) -> Result<Sqe, Error> {
    sendmsg_fixed_as(Opcode::SENDMSG, abi, fd, m, None)
}

fn sendmsg_fixed_as(
    opcode: Opcode,
    abi: Abi,
    fd: i32,
    m: FixedMsg<'_>,
    to: Option<BufSlice>,
) -> Result<Sqe, Error> {
    let arr = iovec_numbers(abi, m.iovs)?;
    let name = to.as_ref().map_or((0, 0), |t| (t.addr(), t.len() as u32));
    let hdr = mem_with(
        abi,
        &abi.msghdr_named(name, arr.addr(), m.iovs.len() as u64)?,
        "a msghdr",
    );
    let mut s = Sqe::with_ptr(opcode, fd, hdr.into(), 1, 0)
        .op_flags(m.msg_flags)
        .ioprio(RecvSendFlags::FIXED_BUF.0)
        .buf_index(m.buf_index);
    s.anchors.push(arr.mem().clone());
    if let Some(t) = to {
        s.anchors.push(t.mem().clone());
    }
    Ok(s)
}

/// What a NOP with `IORING_NOP_*` flags names: the file `fd`, the injected result `len`,
/// the registered buffer `buf_index`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NopArgs {
    /// `fd` (a fixed-file slot with `IORING_NOP_FIXED_FILE`).
    pub fd: i32,
    /// `len`: the result to inject with `IORING_NOP_INJECT_RESULT`.
    pub len: u32,
    /// `buf_index`, looked up with `IORING_NOP_FIXED_BUFFER`.
    pub buf_index: u16,
    /// `off` and `addr`: the two `big_cqe` words a NOP with `IORING_NOP_CQE32` posts.
    pub extra: [u64; 2],
}

/// IORING_OP_NOP with `IORING_NOP_*` flags and the fields they name.
pub fn nop_with(flags: NopFlags, a: NopArgs) -> Sqe {
    let mut s = nop().op_flags(flags.0).fd(a.fd).buf_index(a.buf_index);
    s.raw.len = a.len;
    s.raw.off = a.extra[0];
    s.raw.addr = a.extra[1];
    s
}
