//! The uapi structs: ring setup and offsets, SQE and CQE, registration arguments,
//! buffer rings, probe, restrictions, waits, and queries.

#![allow(non_camel_case_types)]

use super::*;

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
