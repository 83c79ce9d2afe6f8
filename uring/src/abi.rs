//! Hand-written mirrors of `include/uapi/linux/io_uring.h` (values from the 7.3 header).
//!
//! Opcodes, register ops and flags are integer newtypes with named constants: an opcode
//! the kernel does not know is an ordinary value, which is exactly what a conformance
//! suite needs to send. Layouts are checked field by field in the tests at the bottom.

#![allow(non_camel_case_types)]

use std::fmt;

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

/// `struct io_sqring_offsets`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_sqring_offsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    pub array: u32,
    pub resv1: u32,
    pub user_addr: u64,
}

/// `struct io_cqring_offsets`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_cqring_offsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub overflow: u32,
    pub cqes: u32,
    pub flags: u32,
    pub resv1: u32,
    pub user_addr: u64,
}

/// `struct io_uring_params`: in and out argument of io_uring_setup(2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_params {
    pub sq_entries: u32,
    pub cq_entries: u32,
    pub flags: SetupFlags,
    pub sq_thread_cpu: u32,
    pub sq_thread_idle: u32,
    pub features: FeatureFlags,
    pub wq_fd: u32,
    pub resv: [u32; 3],
    pub sq_off: io_sqring_offsets,
    pub cq_off: io_cqring_offsets,
}

/// `struct io_uring_sqe` (64 bytes). The uapi unions are flattened into one named field
/// each, named after their most common member; the other members are accessor methods.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct io_uring_sqe {
    /// Type of operation.
    pub opcode: Opcode,
    /// `IOSQE_*` flags.
    pub flags: SqeFlags,
    /// `ioprio`; for recv/send the `IORING_RECVSEND_*` flags.
    pub ioprio: u16,
    /// File descriptor (or fixed-file index, or the target ring of MSG_RING).
    pub fd: i32,
    /// Union `off` / `addr2` / `cmd_op`: file offset, or MSG_RING's target user_data.
    pub off: u64,
    /// Union `addr` / `splice_off_in`: buffer address, or MSG_RING's command.
    pub addr: u64,
    /// Buffer length or iovec count, or MSG_RING's target res.
    pub len: u32,
    /// Union of the per-op flags: `rw_flags`, `msg_ring_flags`, `cancel_flags`, ...
    pub op_flags: u32,
    /// Passed back in the CQE.
    pub user_data: u64,
    /// Union `buf_index` / `buf_group` (packed u16).
    pub buf_index: u16,
    /// Personality to issue with.
    pub personality: u16,
    /// Union `splice_fd_in` / `file_index` / `optlen` / `addr_len`.
    pub file_index: u32,
    /// `addr3`: MSG_RING's source fixed-file index for SEND_FD.
    pub addr3: u64,
    /// `__pad2[1]`.
    pub pad2: u64,
}

#[allow(missing_docs)]
impl io_uring_sqe {
    pub fn addr2(&self) -> u64 {
        self.off
    }
    pub fn rw_flags(&self) -> u32 {
        self.op_flags
    }
    pub fn msg_ring_flags(&self) -> u32 {
        self.op_flags
    }
    pub fn buf_group(&self) -> u16 {
        self.buf_index
    }
    pub fn splice_fd_in(&self) -> i32 {
        self.file_index as i32
    }
}

/// `struct io_uring_cqe` (16 bytes; 32 with IORING_SETUP_CQE32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_cqe {
    pub user_data: u64,
    pub res: i32,
    pub flags: CqeFlags,
}

/// `struct io_uring_rsrc_register`: argument of REGISTER_BUFFERS2 / FILES2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_rsrc_register {
    pub nr: u32,
    pub flags: RsrcRegisterFlags,
    pub resv2: u64,
    pub data: u64,
    pub tags: u64,
}

/// `struct io_uring_rsrc_update` (also `io_uring_files_update`): argument of FILES_UPDATE.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_rsrc_update {
    pub offset: u32,
    pub resv: u32,
    pub data: u64,
}

/// `struct io_uring_files_update`: the older name of [`io_uring_rsrc_update`].
pub type io_uring_files_update = io_uring_rsrc_update;

/// `struct io_uring_rsrc_update2`: argument of BUFFERS_UPDATE / FILES_UPDATE2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_rsrc_update2 {
    pub offset: u32,
    pub resv: u32,
    pub data: u64,
    pub tags: u64,
    pub nr: u32,
    pub resv2: u32,
}

/// `struct io_uring_buf_reg`: argument of REGISTER/UNREGISTER_PBUF_RING.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_buf_reg {
    pub ring_addr: u64,
    pub ring_entries: u32,
    pub bgid: u16,
    pub flags: PbufFlags,
    /// Since the 2026 backports; `resv` bytes before.
    pub min_left: u32,
    pub resv: [u32; 5],
}

/// `struct io_uring_buf`: one entry of a provided-buffer ring.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_buf {
    pub addr: u64,
    pub len: u32,
    pub bid: u16,
    pub resv: u16,
}

/// Byte offset of the 16-bit tail inside a buffer ring (it overlays `bufs[0].resv`).
pub const BUF_RING_TAIL_OFFSET: usize = 14;

/// `struct io_uring_buf_status`: argument of REGISTER_PBUF_STATUS.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_buf_status {
    pub buf_group: u32,
    pub head: u32,
    pub resv: [u32; 8],
}

/// `struct io_uring_clone_buffers`: argument of REGISTER_CLONE_BUFFERS
/// (6.12: `src_fd, flags, pad[6]`; the offsets arrived in 6.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_clone_buffers {
    pub src_fd: u32,
    pub flags: CloneFlags,
    pub src_off: u32,
    pub dst_off: u32,
    pub nr: u32,
    pub pad: [u32; 3],
}

/// `struct io_uring_probe` header; `ops[]` follows in memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_probe {
    pub last_op: u8,
    pub ops_len: u8,
    pub resv: u16,
    pub resv2: [u32; 3],
}

/// `struct io_uring_probe_op`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_probe_op {
    pub op: u8,
    pub resv: u8,
    pub flags: u16,
    pub resv2: u32,
}

/// `struct io_uring_restriction`; the uapi union (`register_op`/`sqe_op`/`sqe_flags`) is `arg`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_restriction {
    pub opcode: RestrictionOp,
    pub arg: u8,
    pub resv: u8,
    pub resv2: [u32; 3],
}

/// `struct io_uring_file_index_range`: argument of REGISTER_FILE_ALLOC_RANGE.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_file_index_range {
    pub off: u32,
    pub len: u32,
    pub resv: u64,
}

/// `struct __kernel_timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct kernel_timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// `struct io_uring_getevents_arg`: the argument of io_uring_enter(2) with EXT_ARG.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_getevents_arg {
    pub sigmask: u64,
    pub sigmask_sz: u32,
    pub min_wait_usec: u32,
    pub ts: u64,
}

/// `struct io_uring_query_hdr` (REGISTER_QUERY, 6.18-era).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_query_hdr {
    pub next_entry: u64,
    pub query_data: u64,
    pub query_op: u32,
    pub size: u32,
    pub result: i32,
    pub resv: [u32; 3],
}

/// `struct io_uring_query_opcode`: the answer to `IO_URING_QUERY_OPCODES` (query_op 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct io_uring_query_opcode {
    pub nr_request_opcodes: u32,
    pub nr_register_opcodes: u32,
    pub feature_flags: u64,
    pub ring_setup_flags: u64,
    pub enter_flags: u64,
    pub sqe_flags: u64,
    pub nr_query_opcodes: u32,
    pub pad: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// Asserts size, alignment and every (field, offset) of a struct against the uapi.
    macro_rules! layout {
        ($t:ty, size $s:expr, align $a:expr, { $($f:ident : $o:expr),* $(,)? }) => {{
            assert_eq!(size_of::<$t>(), $s, "size of {}", stringify!($t));
            assert_eq!(align_of::<$t>(), $a, "align of {}", stringify!($t));
            $(assert_eq!(offset_of!($t, $f), $o, "{}.{}", stringify!($t), stringify!($f));)*
        }};
    }

    #[test]
    fn sqe_layout() {
        layout!(io_uring_sqe, size 64, align 8, {
            opcode: 0, flags: 1, ioprio: 2, fd: 4, off: 8, addr: 16, len: 24, op_flags: 28,
            user_data: 32, buf_index: 40, personality: 42, file_index: 44, addr3: 48, pad2: 56,
        });
    }

    #[test]
    fn cqe_and_params_layout() {
        layout!(io_uring_cqe, size 16, align 8, { user_data: 0, res: 8, flags: 12 });
        layout!(io_sqring_offsets, size 40, align 8, {
            head: 0, tail: 4, ring_mask: 8, ring_entries: 12, flags: 16, dropped: 20, array: 24,
            resv1: 28, user_addr: 32,
        });
        layout!(io_cqring_offsets, size 40, align 8, {
            head: 0, tail: 4, ring_mask: 8, ring_entries: 12, overflow: 16, cqes: 20, flags: 24,
            resv1: 28, user_addr: 32,
        });
        layout!(io_uring_params, size 120, align 8, {
            sq_entries: 0, cq_entries: 4, flags: 8, sq_thread_cpu: 12, sq_thread_idle: 16,
            features: 20, wq_fd: 24, resv: 28, sq_off: 40, cq_off: 80,
        });
    }

    #[test]
    fn rsrc_layouts() {
        layout!(io_uring_rsrc_register, size 32, align 8, { nr: 0, flags: 4, resv2: 8, data: 16, tags: 24 });
        layout!(io_uring_rsrc_update, size 16, align 8, { offset: 0, resv: 4, data: 8 });
        layout!(io_uring_rsrc_update2, size 32, align 8, {
            offset: 0, resv: 4, data: 8, tags: 16, nr: 24, resv2: 28,
        });
        layout!(io_uring_clone_buffers, size 32, align 4, {
            src_fd: 0, flags: 4, src_off: 8, dst_off: 12, nr: 16, pad: 20,
        });
        layout!(io_uring_file_index_range, size 16, align 8, { off: 0, len: 4, resv: 8 });
    }

    #[test]
    fn buffer_ring_layouts() {
        layout!(io_uring_buf, size 16, align 8, { addr: 0, len: 8, bid: 12, resv: 14 });
        assert_eq!(BUF_RING_TAIL_OFFSET, offset_of!(io_uring_buf, resv));
        layout!(io_uring_buf_reg, size 40, align 8, {
            ring_addr: 0, ring_entries: 8, bgid: 12, flags: 14, min_left: 16, resv: 20,
        });
        layout!(io_uring_buf_status, size 40, align 4, { buf_group: 0, head: 4, resv: 8 });
    }

    #[test]
    fn probe_restriction_and_arg_layouts() {
        layout!(io_uring_probe, size 16, align 4, { last_op: 0, ops_len: 1, resv: 2, resv2: 4 });
        layout!(io_uring_probe_op, size 8, align 4, { op: 0, resv: 1, flags: 2, resv2: 4 });
        layout!(io_uring_restriction, size 16, align 4, { opcode: 0, arg: 2, resv: 3, resv2: 4 });
        layout!(io_uring_getevents_arg, size 24, align 8, {
            sigmask: 0, sigmask_sz: 8, min_wait_usec: 12, ts: 16,
        });
        layout!(kernel_timespec, size 16, align 8, { tv_sec: 0, tv_nsec: 8 });
        layout!(io_uring_query_hdr, size 40, align 8, {
            next_entry: 0, query_data: 8, query_op: 16, size: 20, result: 24, resv: 28,
        });
        layout!(io_uring_query_opcode, size 48, align 8, {
            nr_request_opcodes: 0, nr_register_opcodes: 4, feature_flags: 8, ring_setup_flags: 16,
            enter_flags: 24, sqe_flags: 32, nr_query_opcodes: 40, pad: 44,
        });
    }

    #[test]
    fn uapi_numbers() {
        assert_eq!(Opcode::MSG_RING.0, 40);
        assert_eq!(Opcode::READV_FIXED.0, 60);
        assert_eq!(RegisterOp::CLONE_BUFFERS.0, 30);
        assert_eq!(RegisterOp::SEND_MSG_RING.0, 31);
        assert_eq!(RegisterOp::QUERY.0, 35);
        assert_eq!(RegisterOp::BUFFERS.via_registered_ring().0, 0x8000_0000);
        assert_eq!(SetupFlags::NO_SQARRAY.0, 0x10000);
        assert_eq!(CqeFlags::BUF_MORE.0, 16);
        assert_eq!(RECVSEND_BUNDLE, 16);
        assert_eq!(mmap_off::pbuf_ring(3), 0x8003_0000);
        assert_eq!(FILE_INDEX_ALLOC, 0xffff_ffff);
        assert_eq!(Opcode::WRITEV_FIXED.0, 61);
        assert_eq!(Opcode::SEND_ZC.0, 47);
        assert_eq!(Opcode::SENDMSG_ZC.0, 48);
        assert_eq!(NopFlags::FIXED_BUFFER.0, 8);
        assert_eq!(NopFlags::CQE32.0, 32);
        assert_eq!(RecvSendFlags::FIXED_BUF.0, 4);
        assert_eq!(RecvSendFlags::SEND_VECTORIZED.0, 32);
        assert_eq!(RecvSendFlags::RECV_MULTISHOT.0, RECV_MULTISHOT);
    }

    #[test]
    fn unknown_values_stay_representable_and_print() {
        assert_eq!(format!("{:?}", Opcode(200)), "Opcode(200)");
        assert_eq!(format!("{:?}", Opcode::READ_FIXED), "READ_FIXED");
        assert_eq!(format!("{:?}", CqeFlags(0x10001 | 0x40)), "BUFFER|0x10040");
        assert_eq!(CqeFlags(0x0008_0001).buffer_id(), Some(8));
        assert_eq!(format!("{:?}", SqeFlags::NONE), "0");
    }
}
