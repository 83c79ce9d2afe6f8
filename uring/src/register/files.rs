//! The registered-file table: REGISTER_FILES(2), FILES_UPDATE, FILE_ALLOC_RANGE, UNREGISTER_FILES.

use super::{ArgPtr, Registrar};
use crate::abi::{
    io_uring_file_index_range, io_uring_rsrc_register, io_uring_rsrc_update, RegisterOp,
    RsrcRegisterFlags,
};
use crate::sys;
use crate::Errno;
use std::ffi::c_void;
use std::os::fd::RawFd;

impl Registrar<'_> {
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
}
