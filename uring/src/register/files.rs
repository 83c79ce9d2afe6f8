//! The registered-file table: REGISTER_FILES(2), FILES_UPDATE, FILE_ALLOC_RANGE, UNREGISTER_FILES.

use super::{array_addr, ArgPtr, ArrayArg, Registrar};
use crate::abi::{
    io_uring_file_index_range, io_uring_rsrc_register, io_uring_rsrc_update, io_uring_rsrc_update2,
    RegisterOp, RsrcRegisterFlags,
};
use crate::sys;
use crate::Errno;
use std::ffi::c_void;
use std::os::fd::RawFd;

/// The fields of `struct io_uring_rsrc_register` for REGISTER_FILES2.
#[derive(Clone, Debug)]
pub struct Files2<'a> {
    /// `nr`.
    pub nr: u32,
    /// `flags` (SPARSE).
    pub flags: RsrcRegisterFlags,
    /// `data`: the fds (-1: an empty slot).
    pub data: ArrayArg<'a, RawFd>,
    /// `tags`.
    pub tags: ArrayArg<'a, u64>,
}

/// The fields of `struct io_uring_rsrc_update2` for REGISTER_FILES_UPDATE2; FILES_UPDATE
/// reads only `offset`, `resv` and `data` (its `struct io_uring_rsrc_update`).
#[derive(Clone, Debug)]
pub struct FilesUpdate<'a> {
    /// First slot.
    pub offset: u32,
    /// `resv` (must be 0).
    pub resv: u32,
    /// `data`: the fds (-1: empty the slot, IORING_REGISTER_FILES_SKIP: leave it).
    pub data: ArrayArg<'a, RawFd>,
    /// `tags` (FILES_UPDATE2 only).
    pub tags: ArrayArg<'a, u64>,
    /// Number of entries (FILES_UPDATE2 only; FILES_UPDATE takes `nr_args`).
    pub nr: u32,
}

impl Registrar<'_> {
    /// IORING_REGISTER_FILES2 with any fields.
    pub fn register_files2(&self, a: &Files2<'_>) -> Result<(), Errno> {
        let (mut fd_store, mut tag_store) = (Vec::new(), Vec::new());
        let mut rr = io_uring_rsrc_register {
            nr: a.nr,
            flags: a.flags,
            resv2: 0,
            data: array_addr(&a.data, &mut fd_store, |f| *f),
            tags: array_addr(&a.tags, &mut tag_store, |t| *t),
        };
        self.register_val(
            RegisterOp::FILES2,
            &mut rr,
            std::mem::size_of::<io_uring_rsrc_register>() as u32,
        )
        .map(|_| ())
    }

    /// IORING_REGISTER_FILES_UPDATE2 (`tags` and `nr` read); returns the count.
    pub fn register_files_update2(&self, u: &FilesUpdate<'_>) -> Result<u32, Errno> {
        let (mut fd_store, mut tag_store) = (Vec::new(), Vec::new());
        let mut up = io_uring_rsrc_update2 {
            offset: u.offset,
            resv: u.resv,
            data: array_addr(&u.data, &mut fd_store, |f| *f),
            tags: array_addr(&u.tags, &mut tag_store, |t| *t),
            nr: u.nr,
            resv2: 0,
        };
        self.register_val(
            RegisterOp::FILES_UPDATE2,
            &mut up,
            std::mem::size_of::<io_uring_rsrc_update2>() as u32,
        )
        .map(|n| n as u32)
    }

    /// IORING_REGISTER_FILES_UPDATE with `nr_args` entries (`tags` and `nr` unused).
    pub fn register_files_update(&self, u: &FilesUpdate<'_>, nr_args: u32) -> Result<u32, Errno> {
        let mut fd_store = Vec::new();
        let mut up = io_uring_rsrc_update {
            offset: u.offset,
            resv: u.resv,
            data: array_addr(&u.data, &mut fd_store, |f| *f),
        };
        self.register_val(RegisterOp::FILES_UPDATE, &mut up, nr_args)
            .map(|n| n as u32)
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
}
