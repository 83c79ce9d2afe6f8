//! Every io_uring_register(2) call the suite needs, typed.
//!
//! Arguments that are pointers are described by [`ArgPtr`] and [`Iov`]: memory of a [`Mem`]
//! or a [`ForeignAddr`], so the safe calls can still send NULL, unmapped or kernel addresses.
//! Structs without pointers (clone, buf status, ...) can be passed with any field values.
#![allow(unsafe_code)]

use crate::abi::{
    io_uring_buf_reg, io_uring_buf_status, io_uring_clone_buffers, io_uring_file_index_range,
    io_uring_probe, io_uring_probe_op, io_uring_query_hdr, io_uring_query_opcode,
    io_uring_restriction, io_uring_rsrc_register, io_uring_rsrc_update, io_uring_rsrc_update2,
    CloneFlags, Opcode, PbufFlags, RegisterOp, RsrcRegisterFlags, IO_URING_OP_SUPPORTED,
};
use crate::mem::{BufSlice, ForeignAddr, UserPtr};
use crate::op::Sqe;
use crate::ring::Ring;
use crate::sys;
use crate::{Errno, Error};
use std::ffi::c_void;
use std::os::fd::RawFd;

/// A pointer argument: into a `Mem`, foreign (NULL, unmapped, kernel), or a Rust value
/// the call itself owns for its duration (used internally).
#[derive(Clone, Debug)]
pub enum ArgPtr {
    /// Memory of a `Mem` (the kernel may read or write it; a guard page follows the region).
    Mem(BufSlice),
    /// An address never mapped here.
    Foreign(ForeignAddr),
}

impl ArgPtr {
    /// NULL.
    pub const NULL: ArgPtr = ArgPtr::Foreign(ForeignAddr::NULL);
    fn addr(&self) -> u64 {
        match self {
            ArgPtr::Mem(s) => s.addr(),
            ArgPtr::Foreign(f) => f.get(),
        }
    }
}

/// One `struct iovec` of a buffer registration.
#[derive(Clone, Debug)]
pub enum Iov {
    /// A slice of a `Mem`.
    Mem(BufSlice),
    /// `{iov_base, iov_len}` with a foreign base (e.g. NULL with a length, or the top page).
    Foreign(ForeignAddr, u64),
    /// A slice's base with another length (0, or past the end: the kernel pins, never writes).
    MemLen(BufSlice, u64),
    /// `{NULL, 0}`: an empty slot.
    Empty,
}

impl Iov {
    fn raw(&self) -> [u64; 2] {
        match self {
            Iov::Mem(s) => [s.addr(), s.len() as u64],
            Iov::Foreign(a, l) => [a.get(), *l],
            Iov::MemLen(s, l) => [s.addr(), *l],
            Iov::Empty => [0, 0],
        }
    }
}

/// An array argument given either as values (laid out by the call) or as a raw pointer.
#[derive(Clone, Debug)]
pub enum ArrayArg<'a, T> {
    /// These values.
    Values(&'a [T]),
    /// A pointer instead (NULL, unmapped, ...).
    Ptr(ArgPtr),
}

impl<'a, T> ArrayArg<'a, T> {
    /// No array: NULL.
    pub const NULL: ArrayArg<'a, T> = ArrayArg::Ptr(ArgPtr::NULL);
}

/// Lays out an array argument: the values' address, or the raw pointer.
fn array_addr<T, U>(arg: &ArrayArg<'_, T>, storage: &mut Vec<U>, conv: impl Fn(&T) -> U) -> u64 {
    match arg {
        ArrayArg::Values(v) => {
            storage.extend(v.iter().map(conv));
            if storage.is_empty() {
                0
            } else {
                storage.as_ptr() as u64
            }
        }
        ArrayArg::Ptr(p) => p.addr(),
    }
}

/// The fields of `struct io_uring_rsrc_register` for REGISTER_BUFFERS2.
#[derive(Clone, Debug)]
pub struct Buffers2<'a> {
    /// `nr`.
    pub nr: u32,
    /// `flags` (SPARSE).
    pub flags: RsrcRegisterFlags,
    /// `resv2` (must be 0).
    pub resv2: u64,
    /// `data`: the iovecs.
    pub data: ArrayArg<'a, Iov>,
    /// `tags`.
    pub tags: ArrayArg<'a, u64>,
}

/// The fields of `struct io_uring_rsrc_update2` for REGISTER_BUFFERS_UPDATE.
#[derive(Clone, Debug)]
pub struct BuffersUpdate<'a> {
    /// First slot.
    pub offset: u32,
    /// `resv` (must be 0).
    pub resv: u32,
    /// `data`: the iovecs.
    pub data: ArrayArg<'a, Iov>,
    /// `tags`.
    pub tags: ArrayArg<'a, u64>,
    /// Number of entries.
    pub nr: u32,
    /// `resv2` (must be 0).
    pub resv2: u32,
}

/// The answer of IORING_REGISTER_PROBE.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Highest opcode the kernel knows.
    pub last_op: u8,
    /// The per-opcode entries returned.
    pub ops: Vec<io_uring_probe_op>,
}

impl Probe {
    /// Whether `op` is supported.
    pub fn supports(&self, op: Opcode) -> bool {
        self.ops
            .iter()
            .any(|o| o.op == op.0 && o.flags & IO_URING_OP_SUPPORTED != 0)
    }
}

/// Where CLONE_BUFFERS takes the buffers from.
#[derive(Clone, Copy, Debug)]
pub enum CloneSrc {
    /// A ring fd (or any fd: non-rings test EOPNOTSUPP).
    Fd(RawFd),
    /// An index into the calling task's registered ring fds (sets SRC_REGISTERED).
    Registered(u32),
}

impl Ring {
    /// io_uring_register(2) on this ring with any op and argument.
    pub fn register_raw(&self, op: RegisterOp, arg: &ArgPtr, nr_args: u32) -> Result<i32, Errno> {
        register_fd_raw(self.fd(), op, arg, nr_args)
    }

    /// Sends a Rust value the kernel reads (and may write back) as the argument.
    fn register_val<T>(&self, op: RegisterOp, val: &mut T, nr_args: u32) -> Result<i32, Errno> {
        // SAFETY: `val` is a live, exclusively borrowed value of the type this op expects
        // (callers pass the uapi struct of `op`), so the kernel's reads and writes stay
        // inside it; it holds no pointers to memory outside `Mem`/foreign addresses.
        unsafe { sys::io_uring_register(self.fd(), op, val as *mut T as *const c_void, nr_args) }
    }

    /// IORING_REGISTER_BUFFERS with these iovecs.
    pub fn register_buffers(&self, iovs: &[Iov]) -> Result<(), Errno> {
        self.register_buffers_arg(&ArrayArg::Values(iovs), iovs.len() as u32)
    }

    /// IORING_REGISTER_BUFFERS with any array argument and count.
    pub fn register_buffers_arg(&self, iovs: &ArrayArg<'_, Iov>, nr: u32) -> Result<(), Errno> {
        let mut store: Vec<[u64; 2]> = Vec::new();
        let addr = array_addr(iovs, &mut store, Iov::raw);
        // SAFETY: the iovec array (if ours) lives in `store` for the call; the kernel only
        // reads it and pins the pages it names, which are `Mem` pages or foreign addresses.
        unsafe { sys::io_uring_register(self.fd(), RegisterOp::BUFFERS, addr as *const c_void, nr) }
            .map(|_| ())
    }

    /// IORING_REGISTER_BUFFERS2 (tags, sparse).
    pub fn register_buffers2(&self, a: &Buffers2<'_>) -> Result<(), Errno> {
        self.register_buffers2_sized(a, std::mem::size_of::<io_uring_rsrc_register>() as u32)
    }

    /// IORING_REGISTER_BUFFERS2 with any `nr_args` (the kernel wants the struct size).
    pub fn register_buffers2_sized(&self, a: &Buffers2<'_>, nr_args: u32) -> Result<(), Errno> {
        let (mut iov_store, mut tag_store) = (Vec::new(), Vec::new());
        let mut rr = io_uring_rsrc_register {
            nr: a.nr,
            flags: a.flags,
            resv2: a.resv2,
            data: array_addr(&a.data, &mut iov_store, Iov::raw),
            tags: array_addr(&a.tags, &mut tag_store, |t| *t),
        };
        self.register_val(RegisterOp::BUFFERS2, &mut rr, nr_args)
            .map(|_| ())
    }

    /// A fully sparse table of `nr` slots (BUFFERS2 + IORING_RSRC_REGISTER_SPARSE).
    pub fn register_buffers_sparse(&self, nr: u32) -> Result<(), Errno> {
        self.register_buffers2(&Buffers2 {
            nr,
            flags: RsrcRegisterFlags::SPARSE,
            resv2: 0,
            data: ArrayArg::NULL,
            tags: ArrayArg::NULL,
        })
    }

    /// `nr` buffers with tags (BUFFERS2 without SPARSE).
    pub fn register_buffers_tagged(&self, iovs: &[Iov], tags: &[u64]) -> Result<(), Errno> {
        self.register_buffers2(&Buffers2 {
            nr: iovs.len() as u32,
            flags: RsrcRegisterFlags::NONE,
            resv2: 0,
            data: ArrayArg::Values(iovs),
            tags: ArrayArg::Values(tags),
        })
    }

    /// IORING_REGISTER_BUFFERS_UPDATE; returns the number of entries updated.
    pub fn register_buffers_update(&self, u: &BuffersUpdate<'_>) -> Result<u32, Errno> {
        self.register_buffers_update_sized(u, std::mem::size_of::<io_uring_rsrc_update2>() as u32)
    }

    /// IORING_REGISTER_BUFFERS_UPDATE with any `nr_args`.
    pub fn register_buffers_update_sized(
        &self,
        u: &BuffersUpdate<'_>,
        nr_args: u32,
    ) -> Result<u32, Errno> {
        let (mut iov_store, mut tag_store) = (Vec::new(), Vec::new());
        let mut up = io_uring_rsrc_update2 {
            offset: u.offset,
            resv: u.resv,
            data: array_addr(&u.data, &mut iov_store, Iov::raw),
            tags: array_addr(&u.tags, &mut tag_store, |t| *t),
            nr: u.nr,
            resv2: u.resv2,
        };
        self.register_val(RegisterOp::BUFFERS_UPDATE, &mut up, nr_args)
            .map(|n| n as u32)
    }

    /// Updates slots from `offset` with `iovs` and `tags` (io_uring_register_buffers_update_tag).
    pub fn update_buffers(&self, offset: u32, iovs: &[Iov], tags: &[u64]) -> Result<u32, Errno> {
        self.register_buffers_update(&BuffersUpdate {
            offset,
            resv: 0,
            data: ArrayArg::Values(iovs),
            tags: if tags.is_empty() {
                ArrayArg::NULL
            } else {
                ArrayArg::Values(tags)
            },
            nr: iovs.len() as u32,
            resv2: 0,
        })
    }

    /// IORING_UNREGISTER_BUFFERS.
    pub fn unregister_buffers(&self) -> Result<(), Errno> {
        self.register_raw(RegisterOp::UNREGISTER_BUFFERS, &ArgPtr::NULL, 0)
            .map(|_| ())
    }

    /// IORING_REGISTER_FILES with these fds (-1: empty slot).
    pub fn register_files(&self, fds: &[RawFd]) -> Result<(), Errno> {
        let mut v = fds.to_vec();
        let p = if v.is_empty() {
            std::ptr::null()
        } else {
            v.as_mut_ptr() as *const c_void
        };
        // SAFETY: the kernel reads `fds.len()` i32s from `v`, which lives for the call.
        unsafe { sys::io_uring_register(self.fd(), RegisterOp::FILES, p, fds.len() as u32) }
            .map(|_| ())
    }

    /// A sparse file table of `nr` slots (FILES2 + SPARSE).
    pub fn register_files_sparse(&self, nr: u32) -> Result<(), Errno> {
        let mut rr = io_uring_rsrc_register {
            nr,
            flags: RsrcRegisterFlags::SPARSE,
            ..Default::default()
        };
        self.register_val(
            RegisterOp::FILES2,
            &mut rr,
            std::mem::size_of::<io_uring_rsrc_register>() as u32,
        )
        .map(|_| ())
    }

    /// IORING_UNREGISTER_FILES.
    pub fn unregister_files(&self) -> Result<(), Errno> {
        self.register_raw(RegisterOp::UNREGISTER_FILES, &ArgPtr::NULL, 0)
            .map(|_| ())
    }

    /// IORING_REGISTER_FILES_UPDATE: sets slots from `offset` to `fds`; returns the count.
    pub fn update_files(&self, offset: u32, fds: &[RawFd]) -> Result<u32, Errno> {
        let v = fds.to_vec();
        let mut up = io_uring_rsrc_update {
            offset,
            resv: 0,
            data: v.as_ptr() as u64,
        };
        self.register_val(RegisterOp::FILES_UPDATE, &mut up, fds.len() as u32)
            .map(|n| n as u32)
    }

    /// IORING_REGISTER_FILE_ALLOC_RANGE: where FILE_INDEX_ALLOC may allocate.
    pub fn register_file_alloc_range(&self, off: u32, len: u32) -> Result<(), Errno> {
        let mut r = io_uring_file_index_range { off, len, resv: 0 };
        self.register_val(RegisterOp::FILE_ALLOC_RANGE, &mut r, 0)
            .map(|_| ())
    }

    /// Registers this ring's own fd with the calling task (IORING_REGISTER_RING_FDS);
    /// io_uring_enter(2) then uses the index. Returns the index.
    pub fn register_ring_fd(&mut self) -> Result<u32, Errno> {
        let idx = register_ring_fd_of(self.fd())?;
        self.set_registered_index(Some(idx));
        Ok(idx)
    }

    /// IORING_REGISTER_RESTRICTIONS (ring must be R_DISABLED).
    pub fn register_restrictions(&self, res: &[io_uring_restriction]) -> Result<(), Errno> {
        let mut v = res.to_vec();
        // SAFETY: the kernel reads `res.len()` restriction structs from `v`.
        unsafe {
            sys::io_uring_register(
                self.fd(),
                RegisterOp::RESTRICTIONS,
                v.as_mut_ptr() as *const c_void,
                v.len() as u32,
            )
        }
        .map(|_| ())
    }

    /// IORING_REGISTER_PROBE for all 256 opcodes.
    pub fn probe(&self) -> Result<Probe, Errno> {
        #[repr(C)]
        struct Buf {
            hdr: io_uring_probe,
            ops: [io_uring_probe_op; 256],
        }
        let mut b = Buf {
            hdr: Default::default(),
            ops: [Default::default(); 256],
        };
        self.register_val(RegisterOp::PROBE, &mut b, 256)?;
        let n = (b.hdr.ops_len as usize).min(256);
        Ok(Probe {
            last_op: b.hdr.last_op,
            ops: b.ops[..n].to_vec(),
        })
    }

    /// IORING_REGISTER_CLONE_BUFFERS into this ring (the destination) with raw fields.
    pub fn clone_buffers_raw(&self, arg: io_uring_clone_buffers) -> Result<(), Errno> {
        let mut a = arg;
        self.register_val(RegisterOp::CLONE_BUFFERS, &mut a, 1)
            .map(|_| ())
    }

    /// Clones `nr` buffers from `src` (`src_off`) into this ring (`dst_off`); all zero = whole table.
    pub fn clone_buffers(
        &self,
        src: CloneSrc,
        flags: CloneFlags,
        src_off: u32,
        dst_off: u32,
        nr: u32,
    ) -> Result<(), Errno> {
        let (fd, flags) = match src {
            CloneSrc::Fd(fd) => (fd as u32, flags),
            CloneSrc::Registered(i) => (i, flags | CloneFlags::SRC_REGISTERED),
        };
        self.clone_buffers_raw(io_uring_clone_buffers {
            src_fd: fd,
            flags,
            src_off,
            dst_off,
            nr,
            pad: [0; 3],
        })
    }

    /// IORING_REGISTER_PBUF_RING with raw fields and the ring memory (if not kernel-allocated).
    /// Prefer [`Ring::setup_buf_ring`]; this is for sending invalid registrations.
    pub fn register_pbuf_ring_raw(
        &self,
        ring: Option<&UserPtr>,
        reg: io_uring_buf_reg,
    ) -> Result<(), Errno> {
        let mut r = reg;
        if let Some(p) = ring {
            r.ring_addr = p.addr();
        }
        // The ring memory, if any, is a Mem or foreign: pinned by the kernel, never freed under it.
        self.register_val(RegisterOp::PBUF_RING, &mut r, 1)
            .map(|_| ())
    }

    /// IORING_UNREGISTER_PBUF_RING with raw fields (only `bgid` should be set).
    /// A `ring_addr` that is neither 0 nor foreign is refused without a syscall
    /// ([`Error::Usage`]): unregistering never needs a real address, and the safe API hands
    /// the kernel no address outside a `Mem`.
    pub fn unregister_pbuf_ring_raw(&self, reg: io_uring_buf_reg) -> Result<(), Error> {
        let mut r = reg;
        if r.ring_addr != 0 && ForeignAddr::new(r.ring_addr).is_none() {
            return Err(Error::Usage(
                "UNREGISTER_PBUF_RING with a real ring_addr (unregistering never needs one)",
            ));
        }
        self.register_val(RegisterOp::UNREGISTER_PBUF_RING, &mut r, 1)
            .map(|_| ())
            .map_err(Error::Kernel)
    }

    /// IORING_REGISTER_PBUF_STATUS: the kernel's head of group `bgid`'s ring.
    pub fn pbuf_status(&self, bgid: u32) -> Result<u32, Errno> {
        self.pbuf_status_raw(io_uring_buf_status {
            buf_group: bgid,
            ..Default::default()
        })
        .map(|s| s.head)
    }

    /// IORING_REGISTER_PBUF_STATUS with raw fields.
    pub fn pbuf_status_raw(&self, st: io_uring_buf_status) -> Result<io_uring_buf_status, Errno> {
        let mut s = st;
        self.register_val(RegisterOp::PBUF_STATUS, &mut s, 1)?;
        Ok(s)
    }
}

/// io_uring_register(2) on any fd (a closed one, a non-ring, -1) with any op and argument.
pub fn register_fd_raw(
    fd: RawFd,
    op: RegisterOp,
    arg: &ArgPtr,
    nr_args: u32,
) -> Result<i32, Errno> {
    // SAFETY: the argument is inside a `Mem` (raw memory with a guard page after it, which
    // the kernel may read or write; it writes at most a few KiB from the start) or an
    // address this process never maps; pages the kernel pins outlive our unmapping.
    unsafe { sys::io_uring_register(fd, op, arg.addr() as *const c_void, nr_args) }
}

/// The `fd` argument of io_uring_register(2), named as a reader would write it.
#[derive(Clone, Copy)]
pub enum FdArg<'a> {
    /// A ring of this process (shown as `ring`).
    Ring(&'a Ring),
    /// Any number: -1, a closed fd, a registered-ring index (decimal, or hex when large).
    Num(RawFd),
    /// An open fd that is not a ring, shown by name (e.g. `/dev/null`).
    Named(RawFd, &'static str),
}

impl FdArg<'_> {
    /// The number passed to the kernel.
    pub fn raw(&self) -> RawFd {
        match *self {
            FdArg::Ring(r) => r.fd(),
            FdArg::Num(fd) | FdArg::Named(fd, _) => fd,
        }
    }
}

impl std::fmt::Debug for FdArg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self} (fd {})", self.raw())
    }
}

impl std::fmt::Display for FdArg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            FdArg::Ring(_) => f.write_str("ring"),
            FdArg::Num(fd) if fd.unsigned_abs() >= 0x1_0000 => write!(f, "{fd:#x}"),
            FdArg::Num(fd) => write!(f, "{fd}"),
            FdArg::Named(_, name) => f.write_str(name),
        }
    }
}

impl std::fmt::Display for ArgPtr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgPtr::Foreign(a) if a.get() == 0 => f.write_str("NULL"),
            ArgPtr::Foreign(a) => write!(f, "{:#x}", a.get()),
            ArgPtr::Mem(s) => write!(f, "mem+{:#x} ({} bytes)", s.offset(), s.len()),
        }
    }
}

/// One raw io_uring_register(2) call as a value: what it sends, how a reader would write
/// it (its `Display`, e.g. `io_uring_register(-1, BUFFERS, NULL, 0)`), and [`Self::invoke`]
/// to make it; a test observes the call and describes it from the same value.
#[derive(Clone, Debug)]
pub struct RegisterCall<'a> {
    /// The ring (or other fd) the call is made on.
    pub fd: FdArg<'a>,
    /// The opcode, possibly with `USE_REGISTERED_RING`.
    pub op: RegisterOp,
    /// The argument pointer.
    pub arg: ArgPtr,
    /// `nr_args`.
    pub nr: u32,
}

impl<'a> RegisterCall<'a> {
    /// `io_uring_register(fd, op, arg, nr)`.
    pub fn new(fd: FdArg<'a>, op: RegisterOp, arg: ArgPtr, nr: u32) -> RegisterCall<'a> {
        RegisterCall { fd, op, arg, nr }
    }
    /// Makes the syscall.
    pub fn invoke(&self) -> Result<i32, Errno> {
        register_fd_raw(self.fd.raw(), self.op, &self.arg, self.nr)
    }
}

impl std::fmt::Display for RegisterCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "io_uring_register({}, ", self.fd)?;
        if self.op.0 & RegisterOp::USE_REGISTERED_RING != 0 {
            let base = RegisterOp(self.op.0 & !RegisterOp::USE_REGISTERED_RING);
            write!(f, "{base:?}|USE_REGISTERED_RING")?;
        } else {
            write!(f, "{:?}", self.op)?;
        }
        write!(f, ", {}, {})", self.arg, self.nr)
    }
}

/// Registers ring `fd` with the calling task (IORING_REGISTER_RING_FDS, offset -1: any
/// free index); returns the index. Unregister with [`unregister_ring_fd`].
pub fn register_ring_fd_of(fd: RawFd) -> Result<u32, Errno> {
    let mut up = io_uring_rsrc_update {
        offset: u32::MAX,
        resv: 0,
        data: fd as u64,
    };
    // SAFETY: one rsrc_update read and written back (the chosen offset) by the kernel.
    unsafe {
        sys::io_uring_register(
            fd,
            RegisterOp::RING_FDS,
            &mut up as *mut _ as *const c_void,
            1,
        )
    }?;
    Ok(up.offset)
}

/// Removes index `idx` from the calling task's registered ring fds (via any ring `fd`).
pub fn unregister_ring_fd(fd: RawFd, idx: u32) -> Result<(), Errno> {
    let mut up = io_uring_rsrc_update {
        offset: idx,
        resv: 0,
        data: 0,
    };
    // SAFETY: one rsrc_update read by the kernel.
    unsafe {
        sys::io_uring_register(
            fd,
            RegisterOp::UNREGISTER_RING_FDS,
            &mut up as *mut _ as *const c_void,
            1,
        )
    }
    .map(|_| ())
}

/// IORING_REGISTER_SEND_MSG_RING: posts a MSG_RING data message without a source ring
/// (`fd` is -1 for the real call; any other value tests its rejection).
pub fn sync_msg_ring(fd: RawFd, sqe: &Sqe, nr_args: u32) -> Result<i32, Errno> {
    let mut raw = *sqe.raw();
    // SAFETY: the kernel reads one 64-byte SQE from `raw`; a MSG_RING SQE carries no
    // pointer the kernel writes through.
    unsafe {
        sys::io_uring_register(
            fd,
            RegisterOp::SEND_MSG_RING,
            &mut raw as *mut _ as *const c_void,
            nr_args,
        )
    }
}

/// IORING_REGISTER_QUERY (opcodes): the kernel's counts and supported flag masks.
pub fn query_opcodes() -> Result<io_uring_query_opcode, Errno> {
    let mut out = io_uring_query_opcode::default();
    let mut hdr = io_uring_query_hdr {
        query_data: &mut out as *mut _ as u64,
        query_op: 0,
        size: std::mem::size_of::<io_uring_query_opcode>() as u32,
        ..Default::default()
    };
    // SAFETY: the kernel reads `hdr`, writes `hdr.result`/`size` and at most `size` bytes
    // into `out`; both live on this frame for the call.
    unsafe {
        sys::io_uring_register(
            -1,
            RegisterOp::QUERY,
            &mut hdr as *mut _ as *const c_void,
            0,
        )
    }?;
    Errno::from_res(hdr.result)?;
    Ok(out)
}

/// `io_uring_buf_reg` for group `bgid` with `entries` and `flags`, other fields zero.
pub fn buf_reg(bgid: u16, entries: u32, flags: PbufFlags) -> io_uring_buf_reg {
    io_uring_buf_reg {
        ring_entries: entries,
        bgid,
        flags,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::Mem;
    use crate::{op, Errno};
    use std::io::Write;
    use std::time::Duration;

    #[test]
    fn probe_sees_nop_and_read_fixed() {
        let r = Ring::new(4).unwrap();
        let p = r.probe().unwrap();
        assert!(p.supports(Opcode::NOP) && p.supports(Opcode::READ_FIXED));
        assert!(!p.supports(Opcode(255)));
    }

    #[test]
    fn read_fixed_reads_a_file_byte_for_byte() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
        f.write_all(&data).unwrap();
        let mut r = Ring::new(4).unwrap();
        let m = Mem::new(16384).unwrap();
        r.register_buffers(&[Iov::Mem(m.slice(0, 16384))]).unwrap();
        use std::os::fd::AsRawFd;
        // Read 9000 bytes from file offset 1000 into the buffer at offset 123.
        r.push(op::read_fixed(f.as_raw_fd(), m.addr() + 123, 9000, 1000, 0).user_data(5))
            .unwrap();
        r.submit_and_wait_timeout(1, Duration::from_secs(5))
            .unwrap();
        let c = r.next_cqe().unwrap();
        assert_eq!((c.user_data, c.res), (5, 9000));
        assert_eq!(m.read(123, 9000), &data[1000..10_000]);
        r.unregister_buffers().unwrap();
        assert_eq!(r.unregister_buffers(), Err(Errno::ENXIO));
    }

    #[test]
    fn unregister_with_a_real_address_is_the_crates_refusal() {
        let r = Ring::new(4).unwrap();
        let m = Mem::new(4096).unwrap();
        let reg = io_uring_buf_reg {
            ring_addr: m.addr(),
            bgid: 3,
            ..Default::default()
        };
        assert!(matches!(
            r.unregister_pbuf_ring_raw(reg),
            Err(Error::Usage(_))
        ));
        // The same without the address goes to the kernel: no such group.
        let reg = io_uring_buf_reg {
            ring_addr: 0,
            ..reg
        };
        assert_eq!(
            r.unregister_pbuf_ring_raw(reg),
            Err(Error::Kernel(Errno::ENOENT))
        );
    }

    #[test]
    fn register_envelope_answers() {
        assert_eq!(
            register_fd_raw(999_999, RegisterOp::PROBE, &ArgPtr::NULL, 0),
            Err(Errno::EBADF)
        );
        let r = Ring::new(4).unwrap();
        assert_eq!(
            r.register_raw(RegisterOp(200), &ArgPtr::NULL, 0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn register_call_reads_as_written() {
        let c = RegisterCall::new(FdArg::Num(-1), RegisterOp::BUFFERS, ArgPtr::NULL, 0);
        assert_eq!(c.to_string(), "io_uring_register(-1, BUFFERS, NULL, 0)");
        let v = RegisterCall::new(
            FdArg::Num(16),
            RegisterOp::UNREGISTER_BUFFERS.via_registered_ring(),
            ArgPtr::Foreign(ForeignAddr::LOW),
            1,
        );
        assert_eq!(
            v.to_string(),
            "io_uring_register(16, UNREGISTER_BUFFERS|USE_REGISTERED_RING, 0x1000, 1)"
        );
        let r = Ring::new(4).unwrap();
        let on_ring = RegisterCall::new(FdArg::Ring(&r), RegisterOp(200), ArgPtr::NULL, 0);
        assert_eq!(
            on_ring.to_string(),
            "io_uring_register(ring, RegisterOp(200), NULL, 0)"
        );
        assert_eq!(on_ring.invoke(), Err(Errno::EINVAL));
    }
}
