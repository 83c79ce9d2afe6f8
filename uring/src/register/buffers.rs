//! The registered-buffer table: REGISTER_BUFFERS(2), BUFFERS_UPDATE, UNREGISTER_BUFFERS.

use super::{array_addr, iov_array_addr, ArgPtr, ArrayArg, Iov, Registrar};
use crate::abi::{io_uring_rsrc_register, io_uring_rsrc_update2, RegisterOp, RsrcRegisterFlags};
use crate::sys;
use crate::{Errno, Error};
use std::ffi::c_void;

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

impl Registrar<'_> {
    /// IORING_REGISTER_BUFFERS with these iovecs (laid out for the ring's [`Abi`]: an
    /// iovec a compat ring cannot be given is [`Error::Above32Bits`], no syscall made).
    ///
    /// [`Abi`]: crate::Abi
    pub fn register_buffers(&self, iovs: &[Iov]) -> Result<(), Error> {
        self.register_buffers_arg(&ArrayArg::Values(iovs), iovs.len() as u32)
    }

    /// IORING_REGISTER_BUFFERS with any array argument and count.
    pub fn register_buffers_arg(&self, iovs: &ArrayArg<'_, Iov>, nr: u32) -> Result<(), Error> {
        let mut store = Vec::new();
        let addr = iov_array_addr(self.abi(), iovs, &mut store)?;
        // SAFETY: the iovec array (if ours) lives in `store` for the call; the kernel only
        // reads it and pins the pages it names, which are `Mem` pages or foreign addresses.
        unsafe { sys::io_uring_register(self.fd(), RegisterOp::BUFFERS, addr as *const c_void, nr) }
            .map(|_| ())
            .map_err(Error::Kernel)
    }

    /// IORING_REGISTER_BUFFERS2 (tags, sparse).
    pub fn register_buffers2(&self, a: &Buffers2<'_>) -> Result<(), Error> {
        self.register_buffers2_sized(a, std::mem::size_of::<io_uring_rsrc_register>() as u32)
    }

    /// IORING_REGISTER_BUFFERS2 with any `nr_args` (the kernel wants the struct size).
    pub fn register_buffers2_sized(&self, a: &Buffers2<'_>, nr_args: u32) -> Result<(), Error> {
        let (mut iov_store, mut tag_store) = (Vec::new(), Vec::new());
        let mut rr = io_uring_rsrc_register {
            nr: a.nr,
            flags: a.flags,
            resv2: a.resv2,
            data: iov_array_addr(self.abi(), &a.data, &mut iov_store)?,
            tags: array_addr(&a.tags, &mut tag_store, |t| *t),
        };
        Ok(self
            .register_val(RegisterOp::BUFFERS2, &mut rr, nr_args)
            .map(|_| ())?)
    }

    /// A fully sparse table of `nr` slots (BUFFERS2 + IORING_RSRC_REGISTER_SPARSE).
    pub fn register_buffers_sparse(&self, nr: u32) -> Result<(), Error> {
        self.register_buffers2(&Buffers2 {
            nr,
            flags: RsrcRegisterFlags::SPARSE,
            resv2: 0,
            data: ArrayArg::NULL,
            tags: ArrayArg::NULL,
        })
    }

    /// `nr` buffers with tags (BUFFERS2 without SPARSE).
    pub fn register_buffers_tagged(&self, iovs: &[Iov], tags: &[u64]) -> Result<(), Error> {
        self.register_buffers2(&Buffers2 {
            nr: iovs.len() as u32,
            flags: RsrcRegisterFlags::NONE,
            resv2: 0,
            data: ArrayArg::Values(iovs),
            tags: ArrayArg::Values(tags),
        })
    }

    /// IORING_REGISTER_BUFFERS_UPDATE; returns the number of entries updated.
    pub fn register_buffers_update(&self, u: &BuffersUpdate<'_>) -> Result<u32, Error> {
        self.register_buffers_update_sized(u, std::mem::size_of::<io_uring_rsrc_update2>() as u32)
    }

    /// IORING_REGISTER_BUFFERS_UPDATE with any `nr_args`.
    pub fn register_buffers_update_sized(
        &self,
        u: &BuffersUpdate<'_>,
        nr_args: u32,
    ) -> Result<u32, Error> {
        let (mut iov_store, mut tag_store) = (Vec::new(), Vec::new());
        let mut up = io_uring_rsrc_update2 {
            offset: u.offset,
            resv: u.resv,
            data: iov_array_addr(self.abi(), &u.data, &mut iov_store)?,
            tags: array_addr(&u.tags, &mut tag_store, |t| *t),
            nr: u.nr,
            resv2: u.resv2,
        };
        Ok(self
            .register_val(RegisterOp::BUFFERS_UPDATE, &mut up, nr_args)
            .map(|n| n as u32)?)
    }

    /// Updates slots from `offset` with `iovs` and `tags` (io_uring_register_buffers_update_tag).
    pub fn update_buffers(&self, offset: u32, iovs: &[Iov], tags: &[u64]) -> Result<u32, Error> {
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
}
