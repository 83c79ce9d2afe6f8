//! Calls about the task rather than one ring's tables: the task's registered ring fds
//! (RING_FDS), and MSG_RING data messages sent without a source ring (SEND_MSG_RING).

use crate::abi::{io_uring_rsrc_update, RegisterOp};
use crate::op::Sqe;
use crate::sys;
use crate::Errno;
use std::ffi::c_void;
use std::os::fd::RawFd;

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
