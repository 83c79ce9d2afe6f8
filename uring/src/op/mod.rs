//! SQE builders, one per opcode, filling named fields.
//!
//! An [`Sqe`] carries the memory its addresses point into, so a ring can keep that memory
//! alive until the kernel is done. Fields the kernel interprets as addresses are only set
//! by the builders, from a [`BufSlice`](crate::BufSlice) or a [`ForeignAddr`]; everything else (flags,
//! ioprio, personality, buf_index, file_index, ...) has a safe setter taking any value,
//! because sending values the kernel must reject is the point of a conformance suite.

use crate::abi::{
    io_uring_sqe, MsgRingCmd, MsgRingFlags, NopFlags, Opcode, RecvSendFlags, SqeFlags,
    FILE_INDEX_ALLOC,
};
use crate::mem::{BufSlice, ForeignAddr, HeldIov, HeldSlice, Mem, UserPtr};
use std::fmt;
use std::sync::Arc;

mod fixed;
mod io;
mod msg;

pub use fixed::{
    nop_with, read_fixed, readv_fixed, readv_fixed_at, recv_fixed, send_fixed, send_zc_fixed,
    sendmsg_fixed, sendmsg_zc_fixed, sendmsg_zc_fixed_at, sendmsg_zc_fixed_to, write_fixed,
    writev_fixed, Fixed, FixedMsg, FixedNet, FixedVec, FixedVecAt, NopArgs,
};
pub use io::{
    cancel, close, close_fixed, files_update, nop, provide_buffers, provide_buffers_from, read,
    read_multishot, read_select, readv, readv_held, readv_select, readv_select_at, recv,
    recv_select, recvmsg_select, recvmsg_select_hdr, recvmsg_select_lens, remove_buffers,
    remove_buffers_at, send, send_select, write, writev, writev_held,
};
pub use msg::{msg_ring, msg_ring_data, msg_ring_fd, Msg, MsgData, MsgFdSlot};

/// One submission queue entry plus the memory it references.
#[derive(Clone, Debug, Default)]
pub struct Sqe {
    pub(crate) raw: io_uring_sqe,
    pub(crate) anchors: Anchors,
}

/// The memory an SQE references: none (most SQEs), a region a ring holds (the id of that
/// ring), one region (a read, a send), or several (vectored I/O). An enum rather than a
/// `Vec`: the empty and held cases, on every push's hot path, are a tag (and an id) to
/// write and to test, with nothing to drop.
#[derive(Clone, Debug, Default)]
pub(crate) enum Anchors {
    #[default]
    None,
    /// Memory held by the ring with this id ([`crate::Ring::hold`]).
    Held(u64),
    One(Arc<Mem>),
    /// Several regions, and the id of the ring holding the held one among them, if any.
    Many(Vec<Arc<Mem>>, Option<u64>),
}

impl Anchors {
    pub(crate) fn push(&mut self, m: Arc<Mem>) {
        *self = match std::mem::take(self) {
            Anchors::None => Anchors::One(m),
            Anchors::Held(r) => Anchors::Many(vec![m], Some(r)),
            Anchors::One(a) => Anchors::Many(vec![a, m], None),
            Anchors::Many(mut v, r) => {
                v.push(m);
                Anchors::Many(v, r)
            }
        };
    }

    /// The id of the ring that must hold this SQE's held memory, if it names any.
    #[inline]
    pub(crate) fn held_by(&self) -> Option<u64> {
        match self {
            Anchors::Held(r) | Anchors::Many(_, Some(r)) => Some(*r),
            _ => None,
        }
    }

    /// The regions named (none for the empty and held cases).
    pub(crate) fn regions(&self) -> impl Iterator<Item = &Arc<Mem>> {
        let (one, many): (Option<&Arc<Mem>>, &[Arc<Mem>]) = match self {
            Anchors::One(m) => (Some(m), &[]),
            Anchors::Many(v, _) => (None, v),
            _ => (None, &[]),
        };
        one.into_iter().chain(many)
    }

    pub(crate) fn extend(&mut self, it: impl IntoIterator<Item = Arc<Mem>>) {
        for m in it {
            self.push(m);
        }
    }

    #[cfg(test)]
    pub(crate) fn as_slice(&self) -> &[Arc<Mem>] {
        match self {
            Anchors::None | Anchors::Held(_) => &[],
            Anchors::One(m) => std::slice::from_ref(m),
            Anchors::Many(v, _) => v,
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

    /// An SQE whose `addr` is `buf`: the region `buf` names moves into the SQE's anchors
    /// (no clone of the `Arc` and no drop of the original: a read's builder did both).
    #[inline]
    fn with_ptr(opcode: Opcode, fd: i32, buf: IoBuf, len: u32, off: u64) -> Sqe {
        let IoBuf { addr, anchors } = buf;
        Sqe {
            raw: io_uring_sqe {
                opcode,
                fd,
                addr,
                len,
                off,
                ..Default::default()
            },
            anchors,
        }
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
    /// Sets a SEND's destination, as sendto(2): `addr2` to the sockaddr at `addr` and
    /// `addr_len` to `len` (`__pad3[0]`, which follows it in the `file_index` union, stays 0).
    pub fn dest(mut self, addr: impl Into<UserPtr>, len: u16) -> Sqe {
        assert!(
            matches!(self.raw.opcode, Opcode::SEND | Opcode::SEND_ZC),
            "a destination address is a SEND's or SEND_ZC's, not {:?}'s",
            self.raw.opcode
        );
        let addr = addr.into();
        let [lo, hi] = len.to_ne_bytes();
        self.raw.off = addr.addr();
        self.raw.file_index = u32::from_ne_bytes([lo, hi, 0, 0]);
        self.anchors.extend(addr.mem().cloned());
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

/// The address of a read, write, send or recv, and what keeps its memory alive: a
/// [`BufSlice`] (its region moves into the SQE, and the ring keeps it from the push on), a
/// [`HeldSlice`] (its region is already held by a ring: the cheapest, see
/// [`crate::Ring::hold`]), a [`ForeignAddr`] (nothing to keep), or a [`UserPtr`] (either of
/// the first and the last).
#[derive(Debug)]
pub struct IoBuf {
    addr: u64,
    anchors: Anchors,
}

impl From<BufSlice> for IoBuf {
    #[inline]
    fn from(s: BufSlice) -> IoBuf {
        let (addr, mem) = s.into_parts();
        IoBuf {
            addr,
            anchors: Anchors::One(mem),
        }
    }
}

impl From<HeldSlice> for IoBuf {
    #[inline]
    fn from(s: HeldSlice) -> IoBuf {
        IoBuf {
            addr: s.addr(),
            anchors: Anchors::Held(s.ring()),
        }
    }
}

impl IoBuf {
    /// A held iovec array as the address of a vectored request. Not a `From`: the array
    /// must never be the buffer of a read (the kernel would write its entries).
    #[inline]
    pub(crate) fn iovecs(v: HeldIov) -> IoBuf {
        IoBuf {
            addr: v.addr(),
            anchors: Anchors::Held(v.ring()),
        }
    }
}

impl From<ForeignAddr> for IoBuf {
    #[inline]
    fn from(f: ForeignAddr) -> IoBuf {
        IoBuf {
            addr: f.get(),
            anchors: Anchors::None,
        }
    }
}

impl From<UserPtr> for IoBuf {
    #[inline]
    fn from(p: UserPtr) -> IoBuf {
        match p {
            UserPtr::Mem(s) => s.into(),
            UserPtr::Foreign(f) => f.into(),
        }
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

#[cfg(test)]
mod tests;
