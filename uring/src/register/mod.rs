//! Every io_uring_register(2) call the suite needs, typed, on a [`Registrar`]: the view of
//! one ring's fd that [`Ring::registrar`](crate::Ring::registrar) hands out. One module per
//! area: [`buffers`], [`files`], [`clone`], [`pbuf`], [`probe`], and [`task`] (the task's
//! ring fds, ringless messages).
//!
//! Arguments that are pointers are described by [`ArgPtr`] and [`Iov`]: memory of a [`Mem`]
//! or a [`ForeignAddr`], so the safe calls can still send NULL, unmapped or kernel addresses.
//! Structs without pointers (clone, buf status, ...) can be passed with any field values.
#![allow(unsafe_code)]

use crate::abi::RegisterOp;
use crate::compat::Abi;
use crate::mem::{BufSlice, ForeignAddr};
use crate::sys;
use crate::{Errno, Error};
use std::ffi::c_void;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

pub mod buffers;
pub mod clone;
pub mod files;
pub mod pbuf;
pub mod probe;
pub mod task;

pub use buffers::{Buffers2, BuffersUpdate};
pub use clone::CloneSrc;
pub use files::{Files2, FilesUpdate};
pub use pbuf::buf_reg;
pub use probe::{query_opcodes, Probe};
pub use task::{register_ring_fd_of, sync_msg_ring, unregister_ring_fd};

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
    fn raw(&self) -> (u64, u64) {
        match self {
            Iov::Mem(s) => (s.addr(), s.len() as u64),
            Iov::Foreign(a, l) => (a.get(), *l),
            Iov::MemLen(s, l) => (s.addr(), *l),
            Iov::Empty => (0, 0),
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
pub(super) fn array_addr<T, U>(
    arg: &ArrayArg<'_, T>,
    storage: &mut Vec<U>,
    conv: impl Fn(&T) -> U,
) -> u64 {
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

/// Lays out an iovec array argument in `abi`'s layout (into `storage`), or passes the raw
/// pointer; an iovec a compat layout cannot hold is the library's refusal.
pub(super) fn iov_array_addr(
    abi: Abi,
    arg: &ArrayArg<'_, Iov>,
    storage: &mut Vec<u8>,
) -> Result<u64, Error> {
    match arg {
        ArrayArg::Values(v) => {
            let pairs: Vec<(u64, u64)> = v.iter().map(Iov::raw).collect();
            *storage = abi.iovecs(&pairs)?;
            Ok(if storage.is_empty() {
                0
            } else {
                storage.as_ptr() as u64
            })
        }
        ArrayArg::Ptr(p) => Ok(p.addr()),
    }
}

/// io_uring_register(2) on one ring (or on any fd, to test the kernel's answer to a
/// non-ring): its buffer and file tables, buffer-ring registration, probe, restrictions.
/// Got from [`Ring::registrar`](crate::Ring::registrar); `Copy`, a borrow of the fd.
#[derive(Clone, Copy, Debug)]
pub struct Registrar<'a> {
    fd: BorrowedFd<'a>,
    /// The layout the ring reads iovecs in ([`Abi::Compat`] for a compat ring).
    abi: Abi,
}

impl<'a> Registrar<'a> {
    /// Register calls on `fd`, laying out iovecs for a ring of this ABI. Only a ring makes
    /// one ([`crate::Ring::registrar`]), so the layout is always its own: a native iovec
    /// array given to a compat ring would have the kernel pin whatever the halves of its
    /// bases and lengths name (rsrc.c io_sqe_buffers_register with io_is_compat). Register
    /// calls on other fds (the kernel's checks of non-rings) go through [`RegisterCall`].
    pub(crate) fn with_abi(fd: BorrowedFd<'a>, abi: Abi) -> Registrar<'a> {
        Registrar { fd, abi }
    }

    /// The layout the calls lay iovecs out in.
    pub fn abi(&self) -> Abi {
        self.abi
    }

    /// The fd the calls are made on.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// io_uring_register(2) on this fd with any op and argument.
    pub fn register_raw(&self, op: RegisterOp, arg: &ArgPtr, nr_args: u32) -> Result<i32, Errno> {
        register_fd_raw(self.fd(), op, arg, nr_args)
    }

    /// Sends a Rust value the kernel reads (and may write back) as the argument.
    pub(super) fn register_val<T>(
        &self,
        op: RegisterOp,
        val: &mut T,
        nr_args: u32,
    ) -> Result<i32, Errno> {
        // SAFETY: `val` is a live, exclusively borrowed value of the type this op expects
        // (callers pass the uapi struct of `op`), so the kernel's reads and writes stay
        // inside it; it holds no pointers to memory outside `Mem`/foreign addresses.
        unsafe { sys::io_uring_register(self.fd(), op, val as *mut T as *const c_void, nr_args) }
    }
}

impl AsFd for Registrar<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd
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
    /// A ring of this process (shown as `ring`): `FdArg::Ring(&ring)`.
    Ring(&'a (dyn AsRawFd + Sync)),
    /// Any number: -1, a closed fd, a registered-ring index (decimal, or hex when large).
    Num(RawFd),
    /// An open fd that is not a ring, shown by name (e.g. `/dev/null`).
    Named(RawFd, &'static str),
}

impl FdArg<'_> {
    /// The number passed to the kernel.
    pub fn raw(&self) -> RawFd {
        match *self {
            FdArg::Ring(r) => r.as_raw_fd(),
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

#[cfg(test)]
mod tests;
