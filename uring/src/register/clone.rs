//! CLONE_BUFFERS: another ring's registered buffers into this one.

use super::Registrar;
use crate::abi::{io_uring_clone_buffers, CloneFlags, RegisterOp};
use crate::Errno;
use std::os::fd::RawFd;

/// Where CLONE_BUFFERS takes the buffers from.
#[derive(Clone, Copy, Debug)]
pub enum CloneSrc {
    /// A ring fd (or any fd: non-rings test EOPNOTSUPP).
    Fd(RawFd),
    /// An index into the calling task's registered ring fds (sets SRC_REGISTERED).
    Registered(u32),
}

impl Registrar<'_> {
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
}
