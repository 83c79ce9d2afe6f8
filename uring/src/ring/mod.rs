//! [`Ring`]: an io_uring instance. Its parts, one module each: setup and the mappings
//! ([`setup`]), the submission queue ([`sq`]), the completion queue ([`cq`]), submitting and
//! timed waits ([`wait`]), and what must outlive the requests ([`lifetime`]).
#![allow(unsafe_code)]

mod cq;
mod lifetime;
mod setup;
mod sq;
mod wait;

use cq::Cq;
pub use cq::Cqe;
pub(crate) use lifetime::Attachment;
use lifetime::{Attachments, Pending, U64Map};
pub use setup::RingBuilder;
use sq::Sq;
pub use sq::{PushError, SqBatch};
pub use wait::WaitError;

use crate::abi::{io_uring_params, EnterFlags, RegisterOp};
use crate::mem::{Mapping, Mem};
use crate::register::{self, Registrar};
use crate::sys;
use crate::Errno;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

/// An io_uring instance: fd, mapped rings, and the memory its requests reference.
pub struct Ring {
    sq: Sq,
    cq: Cq,
    params: io_uring_params,
    registered_index: Option<u32>,
    /// What io_uring_enter(2) is given as its fd: the registered index or the ring fd.
    enter_fd: RawFd,
    /// `IORING_ENTER_REGISTERED_RING` once the ring registered itself, else empty.
    enter_flags: EnterFlags,
    /// This ring's id: a [`crate::mem::HeldSlice`] names the ring holding its region.
    id: u64,
    /// Whether the ring holds regions ([`Ring::hold`]): requests using them, and requests
    /// selecting a provided buffer, are not counted, so teardown confirms that no request
    /// at all is left before freeing.
    holds: bool,
    /// Whether teardown must confirm with the kernel that no request is left before it
    /// frees anything: set by the first [`Ring::hold`] or counted request. The in-flight
    /// counts cannot decide it: a CQE posted into this ring by another (MSG_RING data with
    /// a counted request's user_data) lowers them as the real one would.
    must_confirm: bool,
    /// `IORING_SETUP_SQPOLL`, looked up once (the hot path tests it on every submit).
    sqpoll: bool,
    /// In-flight requests that reference memory, by user_data (a count per value).
    pending: Pending,
    /// What the ring holds for the kernel besides SQE memory (buffer rings), by kind and id.
    attached: Attachments,
    fd: OwnedFd,
    _sq_map: Mapping,
    _cq_map: Option<Mapping>,
    _sqe_map: Mapping,
    /// Every region an SQE or a buffer ring ever handed to the kernel, by address.
    /// Dropped after the fd is closed and the requests using them are done.
    anchors: U64Map<Arc<Mem>>,
    /// The address of the region last added to (or found in) `anchors`: a request using
    /// the same region again needs no lookup. Regions leave `anchors` only at teardown,
    /// so the address cannot have been reused by another region meanwhile.
    last_anchor: u64,
    /// How it was set up: the layout it reads iovecs and msghdrs in.
    abi: crate::compat::Abi,
}

// SAFETY: the raw pointers point into mappings owned by the Ring; SQ and CQ state is only
// touched through `&mut self`, so moving the Ring to another thread is sound.
unsafe impl Send for Ring {}
// SAFETY: `&self` methods only read the immutable parameters, the fd, or atomics of the
// shared rings (loads), and issue io_uring_register calls, which the kernel serialises.
unsafe impl Sync for Ring {}

impl Ring {
    /// The ring fd.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Enables a ring created with `IORING_SETUP_R_DISABLED` (IORING_REGISTER_ENABLE_RINGS).
    pub fn enable(&self) -> Result<(), Errno> {
        // SAFETY: ENABLE_RINGS takes no argument.
        unsafe { sys::io_uring_register(self.fd(), RegisterOp::ENABLE_RINGS, std::ptr::null(), 0) }
            .map(|_| ())
    }

    /// io_uring_register(2) calls on this ring: its buffer and file tables, buffer-ring
    /// registration, probe, restrictions (see [`Registrar`]).
    pub fn registrar(&self) -> Registrar<'_> {
        Registrar::with_abi(self.fd.as_fd(), self.abi)
    }

    /// Registers this ring's own fd with the calling task (IORING_REGISTER_RING_FDS);
    /// io_uring_enter(2) then uses the index. Returns the index.
    pub fn register_ring_fd(&mut self) -> Result<u32, Errno> {
        let idx = register::register_ring_fd_of(self.fd())?;
        self.set_registered_index(Some(idx));
        Ok(idx)
    }

    fn set_registered_index(&mut self, idx: Option<u32>) {
        self.registered_index = idx;
        (self.enter_fd, self.enter_flags) = match idx {
            Some(i) => (i as RawFd, EnterFlags::REGISTERED_RING),
            None => (self.fd.as_raw_fd(), EnterFlags::NONE),
        };
    }

    /// The index of this ring in the task's registered ring fds, if it registered itself.
    pub fn registered_index(&self) -> Option<u32> {
        self.registered_index
    }

    /// Borrows the fd.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Ring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests;
