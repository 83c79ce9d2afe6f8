//! Hand-written mirrors of `include/uapi/linux/io_uring.h` (values from the 7.3 header).
//!
//! Opcodes, register ops and flags are integer newtypes with named constants: an opcode
//! the kernel does not know is an ordinary value, which is exactly what a conformance
//! suite needs to send. The structs are in [`layout`] (re-exported here), their layouts
//! checked field by field against the uapi in the tests.

#![allow(non_camel_case_types)]

use std::fmt;

mod layout;
pub use layout::*;

/// Declares an integer newtype with named constants and a Debug that prints the name
/// (or, for flag sets, `A|B|0x40` with unknown bits in hex).
macro_rules! newtype {
    ($(#[$m:meta])* $name:ident($ty:ty) enum { $($(#[$cm:meta])* $c:ident = $v:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[repr(transparent)]
        pub struct $name(pub $ty);
        #[allow(missing_docs)]
        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*
            /// Every named value, in declaration order.
            pub const NAMED: &'static [(&'static str, $name)] = &[$((stringify!($c), $name($v))),*];
            /// The uapi name without prefix, if this value has one.
            pub fn name(self) -> Option<&'static str> {
                Self::NAMED.iter().find(|(_, v)| *v == self).map(|(n, _)| *n)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() { Some(n) => f.write_str(n), None => write!(f, "{}({})", stringify!($name), self.0) }
            }
        }
    };
    ($(#[$m:meta])* $name:ident($ty:ty) flags { $($(#[$cm:meta])* $c:ident = $v:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(pub $ty);
        #[allow(missing_docs)]
        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*
            /// The empty set.
            pub const NONE: $name = $name(0);
            /// Every named bit, in declaration order.
            pub const NAMED: &'static [(&'static str, $name)] = &[$((stringify!($c), $name($v))),*];
            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: $name) -> bool { self.0 & other.0 == other.0 }
            /// Whether any bit of `other` is set in `self`.
            pub const fn intersects(self, other: $name) -> bool { self.0 & other.0 != 0 }
            /// The union of both sets.
            pub const fn with(self, other: $name) -> $name { $name(self.0 | other.0) }
            /// The raw bits.
            pub const fn bits(self) -> $ty { self.0 }
        }
        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, o: $name) -> $name { $name(self.0 | o.0) }
        }
        impl std::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, o: $name) { self.0 |= o.0 }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0 == 0 { return f.write_str("0"); }
                let mut rest = self.0;
                let mut first = true;
                for (n, v) in Self::NAMED {
                    if v.0 != 0 && rest & v.0 == v.0 {
                        if !first { f.write_str("|")?; }
                        f.write_str(n)?;
                        rest &= !v.0;
                        first = false;
                    }
                }
                if rest != 0 {
                    if !first { f.write_str("|")?; }
                    write!(f, "{:#x}", rest)?;
                }
                Ok(())
            }
        }
    };
}

newtype! {
    /// `IORING_OP_*`: the SQE opcode.
    Opcode(u8) enum {
        NOP = 0, READV = 1, WRITEV = 2, FSYNC = 3, READ_FIXED = 4, WRITE_FIXED = 5, POLL_ADD = 6,
        POLL_REMOVE = 7, SYNC_FILE_RANGE = 8, SENDMSG = 9, RECVMSG = 10, TIMEOUT = 11,
        TIMEOUT_REMOVE = 12, ACCEPT = 13, ASYNC_CANCEL = 14, LINK_TIMEOUT = 15, CONNECT = 16,
        FALLOCATE = 17, OPENAT = 18, CLOSE = 19, FILES_UPDATE = 20, STATX = 21, READ = 22,
        WRITE = 23, FADVISE = 24, MADVISE = 25, SEND = 26, RECV = 27, OPENAT2 = 28,
        EPOLL_CTL = 29, SPLICE = 30, PROVIDE_BUFFERS = 31, REMOVE_BUFFERS = 32, TEE = 33,
        SHUTDOWN = 34, RENAMEAT = 35, UNLINKAT = 36, MKDIRAT = 37, SYMLINKAT = 38, LINKAT = 39,
        MSG_RING = 40, FSETXATTR = 41, SETXATTR = 42, FGETXATTR = 43, GETXATTR = 44, SOCKET = 45,
        URING_CMD = 46, SEND_ZC = 47, SENDMSG_ZC = 48, READ_MULTISHOT = 49, WAITID = 50,
        FUTEX_WAIT = 51, FUTEX_WAKE = 52, FUTEX_WAITV = 53, FIXED_FD_INSTALL = 54,
        FTRUNCATE = 55, BIND = 56, LISTEN = 57, RECV_ZC = 58, EPOLL_WAIT = 59, READV_FIXED = 60,
        WRITEV_FIXED = 61, PIPE = 62,
    }
}

newtype! {
    /// `IORING_REGISTER_*` / `IORING_UNREGISTER_*`: the `opcode` of io_uring_register(2).
    RegisterOp(u32) enum {
        BUFFERS = 0, UNREGISTER_BUFFERS = 1, FILES = 2, UNREGISTER_FILES = 3, EVENTFD = 4,
        UNREGISTER_EVENTFD = 5, FILES_UPDATE = 6, EVENTFD_ASYNC = 7, PROBE = 8, PERSONALITY = 9,
        UNREGISTER_PERSONALITY = 10, RESTRICTIONS = 11, ENABLE_RINGS = 12, FILES2 = 13,
        FILES_UPDATE2 = 14, BUFFERS2 = 15, BUFFERS_UPDATE = 16, IOWQ_AFF = 17,
        UNREGISTER_IOWQ_AFF = 18, IOWQ_MAX_WORKERS = 19, RING_FDS = 20, UNREGISTER_RING_FDS = 21,
        PBUF_RING = 22, UNREGISTER_PBUF_RING = 23, SYNC_CANCEL = 24, FILE_ALLOC_RANGE = 25,
        PBUF_STATUS = 26, NAPI = 27, UNREGISTER_NAPI = 28, CLOCK = 29, CLONE_BUFFERS = 30,
        SEND_MSG_RING = 31, ZCRX_IFQ = 32, RESIZE_RINGS = 33, MEM_REGION = 34, QUERY = 35,
    }
}

impl RegisterOp {
    /// `IORING_REGISTER_USE_REGISTERED_RING`: `fd` is an index into the task's registered rings.
    pub const USE_REGISTERED_RING: u32 = 1 << 31;
    /// This op with [`Self::USE_REGISTERED_RING`] set.
    pub const fn via_registered_ring(self) -> RegisterOp {
        RegisterOp(self.0 | Self::USE_REGISTERED_RING)
    }
}

newtype! {
    /// `IORING_SETUP_*`: `io_uring_params.flags`.
    SetupFlags(u32) flags {
        IOPOLL = 1 << 0, SQPOLL = 1 << 1, SQ_AFF = 1 << 2, CQSIZE = 1 << 3, CLAMP = 1 << 4,
        ATTACH_WQ = 1 << 5, R_DISABLED = 1 << 6, SUBMIT_ALL = 1 << 7, COOP_TASKRUN = 1 << 8,
        TASKRUN_FLAG = 1 << 9, SQE128 = 1 << 10, CQE32 = 1 << 11, SINGLE_ISSUER = 1 << 12,
        DEFER_TASKRUN = 1 << 13, NO_MMAP = 1 << 14, REGISTERED_FD_ONLY = 1 << 15,
        NO_SQARRAY = 1 << 16, HYBRID_IOPOLL = 1 << 17, CQE_MIXED = 1 << 18, SQE_MIXED = 1 << 19,
        SQ_REWIND = 1 << 20,
    }
}

newtype! {
    /// `IORING_FEAT_*`: `io_uring_params.features`, filled in by the kernel.
    FeatureFlags(u32) flags {
        SINGLE_MMAP = 1 << 0, NODROP = 1 << 1, SUBMIT_STABLE = 1 << 2, RW_CUR_POS = 1 << 3,
        CUR_PERSONALITY = 1 << 4, FAST_POLL = 1 << 5, POLL_32BITS = 1 << 6,
        SQPOLL_NONFIXED = 1 << 7, EXT_ARG = 1 << 8, NATIVE_WORKERS = 1 << 9, RSRC_TAGS = 1 << 10,
        CQE_SKIP = 1 << 11, LINKED_FILE = 1 << 12, REG_REG_RING = 1 << 13,
        RECVSEND_BUNDLE = 1 << 14, MIN_TIMEOUT = 1 << 15, RW_ATTR = 1 << 16, NO_IOWAIT = 1 << 17,
    }
}

newtype! {
    /// `IORING_ENTER_*`: flags of io_uring_enter(2).
    EnterFlags(u32) flags {
        GETEVENTS = 1 << 0, SQ_WAKEUP = 1 << 1, SQ_WAIT = 1 << 2, EXT_ARG = 1 << 3,
        REGISTERED_RING = 1 << 4, ABS_TIMER = 1 << 5, EXT_ARG_REG = 1 << 6, NO_IOWAIT = 1 << 7,
    }
}

newtype! {
    /// `IORING_SQ_*`: the SQ ring's `flags` word, written by the kernel.
    SqRingFlags(u32) flags { NEED_WAKEUP = 1 << 0, CQ_OVERFLOW = 1 << 1, TASKRUN = 1 << 2 }
}

newtype! {
    /// `IOSQE_*`: per-SQE flags.
    SqeFlags(u8) flags {
        FIXED_FILE = 1 << 0, IO_DRAIN = 1 << 1, IO_LINK = 1 << 2, IO_HARDLINK = 1 << 3,
        ASYNC = 1 << 4, BUFFER_SELECT = 1 << 5, CQE_SKIP_SUCCESS = 1 << 6,
    }
}

newtype! {
    /// `IORING_CQE_F_*`: the CQE's `flags` (the upper 16 bits carry a buffer id with F_BUFFER).
    CqeFlags(u32) flags {
        BUFFER = 1 << 0, MORE = 1 << 1, SOCK_NONEMPTY = 1 << 2, NOTIF = 1 << 3,
        BUF_MORE = 1 << 4, SKIP = 1 << 5, F_32 = 1 << 15,
    }
}

impl CqeFlags {
    /// `IORING_CQE_BUFFER_SHIFT`: the buffer id sits in the upper 16 bits.
    pub const BUFFER_SHIFT: u32 = 16;
    /// The low 16 flag bits, without the buffer id.
    pub const fn low(self) -> CqeFlags {
        CqeFlags(self.0 & 0xffff)
    }
    /// The buffer id, if `IORING_CQE_F_BUFFER` is set.
    pub const fn buffer_id(self) -> Option<u16> {
        if self.0 & Self::BUFFER.0 != 0 {
            Some((self.0 >> Self::BUFFER_SHIFT) as u16)
        } else {
            None
        }
    }
}

newtype! {
    /// `IORING_MSG_*`: the MSG_RING command, carried in `sqe->addr`.
    MsgRingCmd(u64) enum { DATA = 0, SEND_FD = 1 }
}

newtype! {
    /// `IORING_MSG_RING_*`: `sqe->msg_ring_flags`.
    MsgRingFlags(u32) flags { CQE_SKIP = 1 << 0, FLAGS_PASS = 1 << 1 }
}

newtype! {
    /// `IOU_PBUF_RING_*`: `io_uring_buf_reg.flags`.
    PbufFlags(u16) flags { MMAP = 1 << 0, INC = 1 << 1 }
}

newtype! {
    /// `IORING_REGISTER_SRC_REGISTERED` / `IORING_REGISTER_DST_REPLACE`: `io_uring_clone_buffers.flags`.
    CloneFlags(u32) flags { SRC_REGISTERED = 1 << 0, DST_REPLACE = 1 << 1 }
}

newtype! {
    /// `IORING_RSRC_REGISTER_*`: `io_uring_rsrc_register.flags`.
    RsrcRegisterFlags(u32) flags { SPARSE = 1 << 0 }
}

newtype! {
    /// `IORING_ASYNC_CANCEL_*`: `sqe->cancel_flags`.
    CancelFlags(u32) flags {
        ALL = 1 << 0, FD = 1 << 1, ANY = 1 << 2, FD_FIXED = 1 << 3, USERDATA = 1 << 4, OP = 1 << 5,
    }
}

newtype! {
    /// `IORING_NOP_*`: `sqe->nop_flags` (the `rw_flags` word of a NOP).
    NopFlags(u32) flags {
        INJECT_RESULT = 1 << 0, FILE = 1 << 1, FIXED_FILE = 1 << 2, FIXED_BUFFER = 1 << 3,
        TW = 1 << 4, CQE32 = 1 << 5,
    }
}

newtype! {
    /// `IORING_RECVSEND_*` / `IORING_SEND_*` / `IORING_RECV_*`: `sqe->ioprio` of the
    /// send/recv opcodes.
    RecvSendFlags(u16) flags {
        POLL_FIRST = 1 << 0, RECV_MULTISHOT = 1 << 1, FIXED_BUF = 1 << 2,
        ZC_REPORT_USAGE = 1 << 3, BUNDLE = 1 << 4, SEND_VECTORIZED = 1 << 5,
    }
}

newtype! {
    /// `IORING_RESTRICTION_*`: `io_uring_restriction.opcode`.
    RestrictionOp(u16) enum {
        REGISTER_OP = 0, SQE_OP = 1, SQE_FLAGS_ALLOWED = 2, SQE_FLAGS_REQUIRED = 3,
    }
}

/// `IORING_FILE_INDEX_ALLOC`: let the kernel pick a free fixed-file slot.
pub const FILE_INDEX_ALLOC: u32 = !0;
/// `IORING_REGISTER_FILES_SKIP`: leave this slot unchanged in a files update.
pub const REGISTER_FILES_SKIP: i32 = -2;
/// `IORING_MAX_REG_BUFFERS` (since 5.13).
pub const MAX_REG_BUFFERS: u32 = 1 << 14;
/// `IORING_RW_ATTR_FLAG_PI`: the one attribute type `sqe->attr_type_mask` may name (6.15).
pub const RW_ATTR_FLAG_PI: u64 = 1;
/// `IO_URING_OP_SUPPORTED`: `io_uring_probe_op.flags` bit.
pub const IO_URING_OP_SUPPORTED: u16 = 1;
/// `IORING_RECV_MULTISHOT` (in `sqe->ioprio` for recv).
pub const RECV_MULTISHOT: u16 = 1 << 1;
/// `IORING_RECVSEND_BUNDLE` (in `sqe->ioprio` for recv/send with a buffer ring, 6.10): one
/// request takes as many buffers as the transfer needs.
pub const RECVSEND_BUNDLE: u16 = 1 << 4;

/// mmap offsets of the rings (`IORING_OFF_*`).
pub mod mmap_off {
    /// `IORING_OFF_SQ_RING`.
    pub const SQ_RING: u64 = 0;
    /// `IORING_OFF_CQ_RING`.
    pub const CQ_RING: u64 = 0x800_0000;
    /// `IORING_OFF_SQES`.
    pub const SQES: u64 = 0x1000_0000;
    /// `IORING_OFF_PBUF_RING`.
    pub const PBUF_RING: u64 = 0x8000_0000;
    /// `IORING_OFF_PBUF_SHIFT`.
    pub const PBUF_SHIFT: u32 = 16;
    /// `IORING_OFF_MMAP_MASK`.
    pub const MMAP_MASK: u64 = 0xf800_0000;
    /// The mmap offset of the kernel-allocated buffer ring of group `bgid`.
    pub const fn pbuf_ring(bgid: u16) -> u64 {
        PBUF_RING | ((bgid as u64) << PBUF_SHIFT)
    }
}

#[cfg(test)]
mod tests;
