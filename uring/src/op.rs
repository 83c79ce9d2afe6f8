//! SQE builders, one per opcode, filling named fields.
//!
//! An [`Sqe`] carries the memory its addresses point into, so a ring can keep that memory
//! alive until the kernel is done. Fields the kernel interprets as addresses are only set
//! by the builders, from a [`BufSlice`] or a [`ForeignAddr`]; everything else (flags,
//! ioprio, personality, buf_index, file_index, ...) has a safe setter taking any value,
//! because sending values the kernel must reject is the point of a conformance suite.

use crate::abi::{
    io_uring_sqe, CancelFlags, MsgRingCmd, MsgRingFlags, NopFlags, Opcode, RecvSendFlags, SqeFlags,
    FILE_INDEX_ALLOC,
};
use crate::mem::{BufSlice, Mem, UserPtr};
use std::fmt;
use std::sync::Arc;

/// One submission queue entry plus the memory it references.
#[derive(Clone, Debug, Default)]
pub struct Sqe {
    pub(crate) raw: io_uring_sqe,
    pub(crate) anchors: Anchors,
}

/// The memory an SQE references: none (most SQEs), one region (a read, a send), or several
/// (vectored I/O). An enum rather than a `Vec`: the empty case, on every push's hot path,
/// is a single tag to write and to test, with nothing to drop.
#[derive(Clone, Debug, Default)]
pub(crate) enum Anchors {
    #[default]
    None,
    One(Arc<Mem>),
    Many(Vec<Arc<Mem>>),
}

impl Anchors {
    pub(crate) fn push(&mut self, m: Arc<Mem>) {
        *self = match std::mem::take(self) {
            Anchors::None => Anchors::One(m),
            Anchors::One(a) => Anchors::Many(vec![a, m]),
            Anchors::Many(mut v) => {
                v.push(m);
                Anchors::Many(v)
            }
        };
    }

    pub(crate) fn extend(&mut self, it: impl IntoIterator<Item = Arc<Mem>>) {
        for m in it {
            self.push(m);
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Anchors::None)
    }

    pub(crate) fn as_slice(&self) -> &[Arc<Mem>] {
        match self {
            Anchors::None => &[],
            Anchors::One(m) => std::slice::from_ref(m),
            Anchors::Many(v) => v,
        }
    }
}

impl Sqe {
    /// An SQE with this opcode and every other field zero (all addresses NULL).
    /// Unknown opcodes are fine: that is how a kernel's rejection of them is tested.
    pub fn with_opcode(opcode: Opcode) -> Sqe {
        Sqe {
            raw: io_uring_sqe {
                opcode,
                ..Default::default()
            },
            anchors: Anchors::None,
        }
    }

    fn with_ptr(opcode: Opcode, fd: i32, ptr: UserPtr, len: u32, off: u64) -> Sqe {
        let mut s = Sqe::with_opcode(opcode);
        s.raw.fd = fd;
        s.raw.addr = ptr.addr();
        s.raw.len = len;
        s.raw.off = off;
        s.anchors.extend(ptr.mem().cloned());
        s
    }

    /// The entry as the kernel will see it.
    pub fn raw(&self) -> &io_uring_sqe {
        &self.raw
    }

    /// Sets `user_data`.
    pub fn user_data(mut self, v: u64) -> Sqe {
        self.raw.user_data = v;
        self
    }
    /// Sets the `IOSQE_*` flags (replacing any).
    pub fn flags(mut self, f: SqeFlags) -> Sqe {
        self.raw.flags = f;
        self
    }
    /// Adds `IOSQE_*` flags.
    pub fn add_flags(mut self, f: SqeFlags) -> Sqe {
        self.raw.flags |= f;
        self
    }
    /// Sets `fd`.
    pub fn fd(mut self, fd: i32) -> Sqe {
        self.raw.fd = fd;
        self
    }
    /// Sets `ioprio` (recv/send flags for network ops).
    pub fn ioprio(mut self, v: u16) -> Sqe {
        self.raw.ioprio = v;
        self
    }
    /// Sets `personality`.
    pub fn personality(mut self, v: u16) -> Sqe {
        self.raw.personality = v;
        self
    }
    /// Sets `buf_index` (registered buffer slot for *_FIXED).
    pub fn buf_index(mut self, v: u16) -> Sqe {
        self.raw.buf_index = v;
        self
    }
    /// Selects a provided buffer from group `bgid` (`IOSQE_BUFFER_SELECT` + `buf_group`).
    pub fn buffer_select(mut self, bgid: u16) -> Sqe {
        self.raw.flags |= SqeFlags::BUFFER_SELECT;
        self.raw.buf_index = bgid;
        self
    }
    /// Sets `file_index` (target slot + 1, or the flags MSG_RING passes with FLAGS_PASS).
    pub fn file_index(mut self, v: u32) -> Sqe {
        self.raw.file_index = v;
        self
    }
    /// Sets the per-op flags word (`rw_flags`, `msg_ring_flags`, `cancel_flags`, ...).
    pub fn op_flags(mut self, v: u32) -> Sqe {
        self.raw.op_flags = v;
        self
    }
    /// Sets the read/write attribute words (6.15, IORING_FEAT_RW_ATTR): `attr_ptr` (the
    /// union with `addr3`) to `attr`, and `attr_type_mask` (the union with `__pad2[0]`).
    pub fn rw_attr(mut self, attr: impl Into<UserPtr>, type_mask: u64) -> Sqe {
        let attr = attr.into();
        self.raw.addr3 = attr.addr();
        self.raw.pad2 = type_mask;
        self.anchors.extend(attr.mem().cloned());
        self
    }
    /// Sets the file offset of a read/write (`off`).
    pub fn offset(mut self, off: u64) -> Sqe {
        if matches!(
            self.raw.opcode,
            Opcode::READ
                | Opcode::WRITE
                | Opcode::READV
                | Opcode::WRITEV
                | Opcode::READ_FIXED
                | Opcode::WRITE_FIXED
                | Opcode::READV_FIXED
                | Opcode::WRITEV_FIXED
        ) {
            self.raw.off = off;
        } else {
            panic!(
                "offset() is only for read/write opcodes, not {:?}",
                self.raw.opcode
            );
        }
        self
    }
}

/// The SQE as a reader would write the call: the opcode, then the fields that matter for
/// it (`fd` and `len` always; addresses in hex; zero optional fields left out), ending
/// with `user_data`. MSG_RING names its command, target user_data and flags.
impl fmt::Display for Sqe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.raw;
        write!(f, "{:?}(fd={}", r.opcode, r.fd)?;
        if r.opcode == Opcode::MSG_RING {
            write!(f, ", cmd={:?}, len={}", MsgRingCmd(r.addr), r.len)?;
            write!(f, ", target_user_data={:#x}", r.off)?;
            if r.addr3 != 0 {
                write!(f, ", src_slot={}", r.addr3)?;
            }
            if r.op_flags != 0 {
                write!(f, ", msg_flags={:?}", MsgRingFlags(r.op_flags))?;
            }
        } else {
            if r.addr != 0 {
                write!(f, ", addr={:#x}", r.addr)?;
            }
            write!(f, ", len={}", r.len)?;
            match r.off {
                0 => {}
                u64::MAX => f.write_str(", off=-1")?,
                off => write!(f, ", off={off:#x}")?,
            }
            if r.addr3 != 0 {
                write!(f, ", addr3={:#x}", r.addr3)?;
            }
            if r.pad2 != 0 {
                write!(f, ", attr_type_mask={:#x}", r.pad2)?;
            }
            match (r.opcode, r.op_flags) {
                (_, 0) => {}
                (Opcode::NOP, v) => write!(f, ", nop_flags={:?}", NopFlags(v))?,
                (_, v) => write!(f, ", op_flags={v:#x}")?,
            }
        }
        let net = matches!(
            r.opcode,
            Opcode::SEND | Opcode::RECV | Opcode::SENDMSG | Opcode::RECVMSG
        ) || matches!(r.opcode, Opcode::SEND_ZC | Opcode::SENDMSG_ZC);
        let fixed = matches!(
            r.opcode,
            Opcode::READ_FIXED | Opcode::WRITE_FIXED | Opcode::READV_FIXED | Opcode::WRITEV_FIXED
        ) || (net && r.ioprio & RecvSendFlags::FIXED_BUF.0 != 0)
            || (r.opcode == Opcode::NOP && r.op_flags & NopFlags::FIXED_BUFFER.0 != 0);
        if r.flags.contains(SqeFlags::BUFFER_SELECT) {
            write!(f, ", buf_group={}", r.buf_group())?;
        } else if fixed || r.buf_index != 0 {
            write!(f, ", buf_index={}", r.buf_index)?;
        }
        if r.file_index != 0 {
            match r.file_index {
                FILE_INDEX_ALLOC => f.write_str(", file_index=ALLOC")?,
                v => write!(f, ", file_index={v}")?,
            }
        }
        match (net, r.ioprio) {
            (_, 0) => {}
            (true, v) => write!(f, ", ioprio={:?}", RecvSendFlags(v))?,
            (false, v) => write!(f, ", ioprio={v:#x}")?,
        }
        if r.personality != 0 {
            write!(f, ", personality={}", r.personality)?;
        }
        if r.flags != SqeFlags::NONE {
            write!(f, ", flags={:?}", r.flags)?;
        }
        write!(f, ", user_data={:#x})", r.user_data)
    }
}

/// IORING_OP_NOP.
pub fn nop() -> Sqe {
    Sqe::with_opcode(Opcode::NOP)
}

/// IORING_OP_READ into `buf` from file offset `off` (-1: current position).
pub fn read(fd: i32, buf: impl Into<UserPtr>, len: u32, off: u64) -> Sqe {
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

/// IORING_OP_WRITE from `buf` at file offset `off`.
pub fn write(fd: i32, buf: impl Into<UserPtr>, len: u32, off: u64) -> Sqe {
    Sqe::with_ptr(Opcode::WRITE, fd, buf.into(), len, off)
}

/// IORING_OP_READ_FIXED: `addr` lies inside registered buffer `buf_index`. The kernel
/// only writes to the pages pinned at registration, so `addr` is a plain number here.
pub fn read_fixed(fd: i32, addr: u64, len: u32, off: u64, buf_index: u16) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::READ_FIXED);
    s.raw.fd = fd;
    s.raw.addr = addr;
    s.raw.len = len;
    s.raw.off = off;
    s.raw.buf_index = buf_index;
    s
}

/// IORING_OP_WRITE_FIXED from registered buffer `buf_index` at `addr`.
pub fn write_fixed(fd: i32, addr: u64, len: u32, off: u64, buf_index: u16) -> Sqe {
    let mut s = read_fixed(fd, addr, len, off, buf_index);
    s.raw.opcode = Opcode::WRITE_FIXED;
    s
}

/// An iovec array in kernel layout, built in a [`Mem`] so the kernel can read it while the
/// request is in flight.
fn iovec_array(bufs: &[BufSlice]) -> (BufSlice, Vec<Arc<Mem>>) {
    let arr = Mem::new(bufs.len().max(1) * 16).expect("mmap for an iovec array");
    let mut bytes = Vec::with_capacity(bufs.len() * 16);
    for b in bufs {
        bytes.extend_from_slice(&b.addr().to_ne_bytes());
        bytes.extend_from_slice(&(b.len() as u64).to_ne_bytes());
    }
    arr.write(0, &bytes);
    let anchors: Vec<Arc<Mem>> = bufs.iter().map(|b| b.mem().clone()).collect();
    (arr.slice(0, bytes.len().max(16)), anchors)
}

/// IORING_OP_READV into `bufs`.
pub fn readv(fd: i32, bufs: &[BufSlice], off: u64) -> Sqe {
    let (arr, anchors) = iovec_array(bufs);
    let mut s = Sqe::with_ptr(Opcode::READV, fd, arr.into(), bufs.len() as u32, off);
    s.anchors.extend(anchors);
    s
}

/// IORING_OP_READV with a provided buffer (`len` must be 1; the iovec gives the length).
pub fn readv_select(fd: i32, iov: BufSlice, iov_count: u32, off: u64, bgid: u16) -> Sqe {
    readv_select_at(fd, iov, iov_count, off, bgid)
}

/// Like [`readv_select`] with the iovec at any address (a foreign one: to test the kernel's checks).
pub fn readv_select_at(
    fd: i32,
    iov: impl Into<UserPtr>,
    iov_count: u32,
    off: u64,
    bgid: u16,
) -> Sqe {
    Sqe::with_ptr(Opcode::READV, fd, iov.into(), iov_count, off).buffer_select(bgid)
}

/// IORING_OP_WRITEV from `bufs`.
pub fn writev(fd: i32, bufs: &[BufSlice], off: u64) -> Sqe {
    let (arr, anchors) = iovec_array(bufs);
    let mut s = Sqe::with_ptr(Opcode::WRITEV, fd, arr.into(), bufs.len() as u32, off);
    s.anchors.extend(anchors);
    s
}

/// An iovec array in kernel layout whose entries are plain `{addr, len}` numbers, for the
/// vectored fixed-buffer opcodes: their iovecs name ranges of a registered buffer, and the
/// kernel only touches the pages pinned at registration, never these addresses as user
/// memory. Only the array itself is read as user memory, so only it lives in a [`Mem`].
fn iovec_numbers(iovs: &[(u64, u64)]) -> BufSlice {
    let arr = Mem::new(iovs.len().max(1) * 16).expect("mmap for an iovec array");
    let mut bytes = Vec::with_capacity(iovs.len() * 16);
    for (addr, len) in iovs {
        bytes.extend_from_slice(&addr.to_ne_bytes());
        bytes.extend_from_slice(&len.to_ne_bytes());
    }
    arr.write(0, &bytes);
    arr.slice(0, bytes.len().max(16))
}

/// IORING_OP_READV_FIXED: reads into the ranges `iovs` (`{addr, len}`) of registered buffer
/// `buf_index`, from file offset `off`.
pub fn readv_fixed(fd: i32, iovs: &[(u64, u64)], off: u64, buf_index: u16) -> Sqe {
    readv_fixed_at(fd, iovec_numbers(iovs), iovs.len() as u32, off, buf_index)
}

/// Like [`readv_fixed`] with the iovec array at any address and any count `nr` (a foreign
/// array, a count the array does not hold: to test the kernel's checks).
pub fn readv_fixed_at(fd: i32, iovs: impl Into<UserPtr>, nr: u32, off: u64, buf_index: u16) -> Sqe {
    Sqe::with_ptr(Opcode::READV_FIXED, fd, iovs.into(), nr, off).buf_index(buf_index)
}

/// IORING_OP_WRITEV_FIXED: writes the ranges `iovs` of registered buffer `buf_index`.
pub fn writev_fixed(fd: i32, iovs: &[(u64, u64)], off: u64, buf_index: u16) -> Sqe {
    let mut s = readv_fixed(fd, iovs, off, buf_index);
    s.raw.opcode = Opcode::WRITEV_FIXED;
    s
}

/// A send/recv SQE on registered buffer `buf_index` at `addr` (a number inside it):
/// `IORING_RECVSEND_FIXED_BUF` in `ioprio`.
fn net_fixed(opcode: Opcode, fd: i32, addr: u64, len: u32, msg_flags: u32, buf_index: u16) -> Sqe {
    let mut s = Sqe::with_opcode(opcode);
    s.raw.fd = fd;
    s.raw.addr = addr;
    s.raw.len = len;
    s.raw.op_flags = msg_flags;
    s.raw.ioprio = RecvSendFlags::FIXED_BUF.0;
    s.raw.buf_index = buf_index;
    s
}

/// IORING_OP_SEND of `len` bytes at `addr` of registered buffer `buf_index`.
pub fn send_fixed(fd: i32, addr: u64, len: u32, msg_flags: u32, buf_index: u16) -> Sqe {
    net_fixed(Opcode::SEND, fd, addr, len, msg_flags, buf_index)
}

/// IORING_OP_RECV of up to `len` bytes into `addr` of registered buffer `buf_index`.
pub fn recv_fixed(fd: i32, addr: u64, len: u32, msg_flags: u32, buf_index: u16) -> Sqe {
    net_fixed(Opcode::RECV, fd, addr, len, msg_flags, buf_index)
}

/// IORING_OP_SEND_ZC of `len` bytes at `addr` of registered buffer `buf_index` (the
/// notification CQE carries the SQE's user_data: `addr3` is 0).
pub fn send_zc_fixed(fd: i32, addr: u64, len: u32, msg_flags: u32, buf_index: u16) -> Sqe {
    net_fixed(Opcode::SEND_ZC, fd, addr, len, msg_flags, buf_index)
}

/// `struct msghdr` (x86_64 layout, 56 bytes) with only `msg_iov`/`msg_iovlen` set.
fn msghdr_with_iov(iov: &BufSlice, iovlen: usize) -> (BufSlice, Arc<Mem>) {
    let hdr = Mem::new(MSGHDR_SIZE).expect("mmap for a msghdr");
    let mut bytes = [0u8; MSGHDR_SIZE];
    bytes[16..24].copy_from_slice(&iov.addr().to_ne_bytes());
    bytes[24..32].copy_from_slice(&(iovlen as u64).to_ne_bytes());
    hdr.write(0, &bytes);
    (hdr.slice(0, MSGHDR_SIZE), iov.mem().clone())
}

/// `sizeof(struct msghdr)` on 64-bit Linux.
const MSGHDR_SIZE: usize = 56;

/// IORING_OP_SENDMSG_ZC of the ranges `iovs` of registered buffer `buf_index`
/// (`IORING_RECVSEND_FIXED_BUF`; the msghdr names no address and no control data).
pub fn sendmsg_zc_fixed(fd: i32, iovs: &[(u64, u64)], msg_flags: u32, buf_index: u16) -> Sqe {
    let arr = iovec_numbers(iovs);
    let (hdr, arr_mem) = msghdr_with_iov(&arr, iovs.len());
    let mut s = Sqe::with_ptr(Opcode::SENDMSG_ZC, fd, hdr.into(), 1, 0)
        .op_flags(msg_flags)
        .ioprio(RecvSendFlags::FIXED_BUF.0)
        .buf_index(buf_index);
    s.anchors.push(arr_mem);
    s
}

/// IORING_OP_NOP with `IORING_NOP_*` flags (`len` is the injected result, `fd` the file
/// and `buf_index` the buffer the flags name).
pub fn nop_with(flags: NopFlags, fd: i32, len: u32, buf_index: u16) -> Sqe {
    let mut s = nop().op_flags(flags.0).fd(fd).buf_index(buf_index);
    s.raw.len = len;
    s
}

/// IORING_OP_RECV into `buf`.
pub fn recv(fd: i32, buf: impl Into<UserPtr>, len: u32, msg_flags: u32) -> Sqe {
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

/// IORING_OP_SEND from `buf`.
pub fn send(fd: i32, buf: impl Into<UserPtr>, len: u32, msg_flags: u32) -> Sqe {
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

/// IORING_OP_MSG_RING, `IORING_MSG_DATA`: the target ring gets a CQE
/// `{user_data: target_user_data, res: res as i32}`.
pub fn msg_ring_data(target_fd: i32, res: u32, target_user_data: u64, flags: MsgRingFlags) -> Sqe {
    msg_ring(target_fd, MsgRingCmd::DATA, res, target_user_data).op_flags(flags.0)
}

/// IORING_OP_MSG_RING with any command value (`sqe->addr`; unknown ones test -EINVAL).
/// The command is a small number: as an address it lies in the never-mapped low page.
pub fn msg_ring(target_fd: i32, cmd: MsgRingCmd, len: u32, target_user_data: u64) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::MSG_RING);
    s.raw.fd = target_fd;
    s.raw.addr = crate::mem::ForeignAddr::new(cmd.0).map_or(0, |a| a.get());
    assert_eq!(
        s.raw.addr, cmd.0,
        "a MSG_RING command must be below 64 KiB or a foreign address"
    );
    s.raw.len = len;
    s.raw.off = target_user_data;
    s
}

/// IORING_OP_MSG_RING, `IORING_MSG_SEND_FD`: installs the source's fixed file `src_slot`
/// into the target's slot `dst_slot` (or a free one with [`FILE_INDEX_ALLOC`]).
pub fn msg_ring_fd(
    target_fd: i32,
    src_slot: u32,
    dst_slot: MsgFdSlot,
    target_user_data: u64,
    flags: MsgRingFlags,
) -> Sqe {
    let mut s = msg_ring(target_fd, MsgRingCmd::SEND_FD, 0, target_user_data).op_flags(flags.0);
    s.raw.addr3 = src_slot as u64;
    s.raw.file_index = match dst_slot {
        MsgFdSlot::Slot(n) => n.wrapping_add(1),
        MsgFdSlot::Alloc => FILE_INDEX_ALLOC,
        MsgFdSlot::RawFileIndex(v) => v,
    };
    s
}

/// The target slot of a SEND_FD message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgFdSlot {
    /// A given slot (encoded as `file_index = slot + 1`).
    Slot(u32),
    /// `IORING_FILE_INDEX_ALLOC`: the kernel picks a free slot and reports it in `res`.
    Alloc,
    /// The raw `file_index` value (0 is invalid: it means slot UINT_MAX).
    RawFileIndex(u32),
}

impl Sqe {
    /// Sets MSG_RING's source fixed-file index (`addr3`), e.g. non-zero for MSG_DATA.
    pub fn msg_src_slot(mut self, slot: u64) -> Sqe {
        assert_eq!(
            self.raw.opcode,
            Opcode::MSG_RING,
            "addr3 is only set for MSG_RING"
        );
        self.raw.addr3 = slot;
        self
    }
}

/// IORING_OP_PROVIDE_BUFFERS (legacy groups): `nbufs` buffers of `len` bytes each, laid
/// out back to back in `mem`, with ids `bid..bid+nbufs` in group `bgid`. The kernel writes
/// into them later, so the Sqe keeps `mem` alive.
pub fn provide_buffers(mem: BufSlice, len: u32, nbufs: u32, bgid: u16, bid: u16) -> Sqe {
    let mut s = Sqe::with_ptr(
        Opcode::PROVIDE_BUFFERS,
        nbufs as i32,
        mem.into(),
        len,
        bid as u64,
    );
    s.raw.buf_index = bgid;
    s
}

/// IORING_OP_REMOVE_BUFFERS: removes up to `nbufs` buffers of legacy group `bgid`.
pub fn remove_buffers(nbufs: u32, bgid: u16) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::REMOVE_BUFFERS).fd(nbufs as i32);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::FILE_INDEX_ALLOC;

    #[test]
    fn msg_ring_fields_follow_the_uapi_mapping() {
        let s = msg_ring_fd(7, 3, MsgFdSlot::Slot(4), 0xabc, MsgRingFlags::CQE_SKIP);
        let r = s.raw();
        assert_eq!(
            (r.opcode, r.fd, r.addr, r.addr3, r.file_index, r.off),
            (Opcode::MSG_RING, 7, 1, 3, 5, 0xabc)
        );
        assert_eq!(r.msg_ring_flags(), 1);
        let a = msg_ring_fd(7, 0, MsgFdSlot::Alloc, 0, MsgRingFlags::NONE);
        assert_eq!(a.raw().file_index, FILE_INDEX_ALLOC);
        let d = msg_ring_data(9, 0x8000_0001, 42, MsgRingFlags::NONE);
        assert_eq!(
            (d.raw().addr, d.raw().len, d.raw().off),
            (0, 0x8000_0001, 42)
        );
    }

    #[test]
    fn display_names_the_opcode_and_the_fields_that_matter() {
        let r = read_select(3, 64, u64::MAX, 7).user_data(0x42).to_string();
        assert_eq!(
            r,
            "READ(fd=3, len=64, off=-1, buf_group=7, flags=BUFFER_SELECT, user_data=0x42)"
        );
        let m = msg_ring_fd(5, 2, MsgFdSlot::Alloc, 0xabc, MsgRingFlags::CQE_SKIP).to_string();
        assert_eq!(
            m,
            "MSG_RING(fd=5, cmd=SEND_FD, len=0, target_user_data=0xabc, src_slot=2, \
             msg_flags=CQE_SKIP, file_index=ALLOC, user_data=0x0)"
        );
        let x = read_fixed(4, 0x1000, 8, 0, 0).to_string();
        assert_eq!(
            x,
            "READ_FIXED(fd=4, addr=0x1000, len=8, buf_index=0, user_data=0x0)"
        );
    }

    #[test]
    fn buffer_select_sets_flag_and_group() {
        let s = recv_select(3, 0, 0, 9);
        assert!(s.raw().flags.contains(SqeFlags::BUFFER_SELECT));
        assert_eq!(s.raw().buf_group(), 9);
        assert_eq!(s.raw().addr, 0);
    }

    #[test]
    fn fixed_vectored_builders_fill_the_uapi_fields() {
        let s = readv_fixed(3, &[(0x1000, 10), (0x2000, 20)], 8, 2);
        let r = s.raw();
        assert_eq!(
            (r.opcode, r.fd, r.len, r.off, r.buf_index),
            (Opcode::READV_FIXED, 3, 2, 8, 2)
        );
        let arr = &s.anchors.as_slice()[0];
        assert_eq!(arr.addr(), r.addr);
        assert_eq!(arr.read(16, 8), 0x2000u64.to_ne_bytes());
        assert_eq!(arr.read(24, 8), 20u64.to_ne_bytes());
        assert_eq!(
            writev_fixed(3, &[], 0, 0).raw().opcode,
            Opcode::WRITEV_FIXED
        );
        let z = sendmsg_zc_fixed(4, &[(0x3000, 5)], 0, 1);
        let hdr = &z.anchors.as_slice()[0];
        let iov = &z.anchors.as_slice()[1];
        assert_eq!(hdr.read(16, 8), iov.addr().to_ne_bytes());
        assert_eq!(hdr.read(24, 8), 1u64.to_ne_bytes());
        assert_eq!(iov.read(0, 8), 0x3000u64.to_ne_bytes());
        assert_eq!(z.raw().ioprio, RecvSendFlags::FIXED_BUF.0);
        assert_eq!(MSGHDR_SIZE, std::mem::size_of::<libc::msghdr>());
        assert_eq!(std::mem::offset_of!(libc::msghdr, msg_iov), 16);
        assert_eq!(std::mem::offset_of!(libc::msghdr, msg_iovlen), 24);
    }

    #[test]
    fn display_names_nop_and_recvsend_flags() {
        let n = nop_with(NopFlags::FIXED_BUFFER | NopFlags::INJECT_RESULT, 0, 7, 0).to_string();
        assert_eq!(
            n,
            "NOP(fd=0, len=7, nop_flags=INJECT_RESULT|FIXED_BUFFER, buf_index=0, user_data=0x0)"
        );
        let s = send_fixed(5, 0x1000, 4, 0, 0).to_string();
        assert_eq!(
            s,
            "SEND(fd=5, addr=0x1000, len=4, buf_index=0, ioprio=FIXED_BUF, user_data=0x0)"
        );
    }

    #[test]
    fn send_select_is_a_send_with_a_buffer_group_and_no_address() {
        let s = send_select(3, 0, 0, 9).ioprio(crate::abi::RECVSEND_BUNDLE);
        let r = s.raw();
        assert_eq!(
            (r.opcode, r.addr, r.buf_group(), r.ioprio),
            (Opcode::SEND, 0, 9, 16)
        );
        assert!(r.flags.contains(SqeFlags::BUFFER_SELECT));
    }

    #[test]
    fn readv_builds_an_iovec_array_and_anchors_it() {
        let m = Mem::new(8192).unwrap();
        let s = readv(0, &[m.slice(0, 10), m.slice(100, 20)], 0);
        assert_eq!(s.raw().len, 2);
        assert_eq!(s.anchors.as_slice().len(), 3);
        let arr = &s.anchors.as_slice()[0];
        assert_eq!(arr.read(0, 8), m.addr().to_ne_bytes());
        assert_eq!(arr.read(24, 8), 20u64.to_ne_bytes());
    }
}
