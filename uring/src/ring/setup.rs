//! io_uring_setup(2), the three mappings and the pointers into them: [`RingBuilder`] and
//! the parameters the kernel returned.

use super::cq::Cq;
use super::sq::Sq;
use super::{Pending, Ring, U64Map};
use crate::abi::{io_uring_params, mmap_off, EnterFlags, FeatureFlags, SetupFlags};
use crate::mem::Mapping;
use crate::sys;
use crate::{Errno, Error};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::AtomicU32;

/// Options of io_uring_setup(2).
#[derive(Clone, Debug)]
pub struct RingBuilder {
    entries: u32,
    params: io_uring_params,
}

impl RingBuilder {
    /// A ring of `entries` SQEs with default parameters.
    pub fn new(entries: u32) -> RingBuilder {
        RingBuilder {
            entries,
            params: io_uring_params::default(),
        }
    }
    /// Adds `IORING_SETUP_*` flags.
    pub fn flags(mut self, f: SetupFlags) -> RingBuilder {
        self.params.flags |= f;
        self
    }
    /// Asks for `n` CQ entries (`IORING_SETUP_CQSIZE`).
    pub fn cq_entries(mut self, n: u32) -> RingBuilder {
        self.params.flags |= SetupFlags::CQSIZE;
        self.params.cq_entries = n;
        self
    }
    /// The raw parameters, for values no builder method sets (`resv`, `wq_fd`, ...).
    pub fn params_mut(&mut self) -> &mut io_uring_params {
        &mut self.params
    }
    /// io_uring_setup(2) and the mmaps. Fails without a syscall ([`Error::Unsupported`])
    /// for `IORING_SETUP_NO_MMAP`, whose ring memory the caller would have to provide.
    pub fn build(self) -> Result<Ring, Error> {
        if self.params.flags.intersects(SetupFlags::NO_MMAP) {
            return Err(Error::Unsupported(
                "IORING_SETUP_NO_MMAP (the ring memory would have to come from the caller)",
            ));
        }
        Ring::setup(self.entries, self.params).map_err(Error::Kernel)
    }
}

impl Ring {
    /// A ring of `entries` entries with default setup flags. Any error is the kernel's
    /// (io_uring_setup or mmap).
    pub fn new(entries: u32) -> Result<Ring, Errno> {
        Ring::setup(entries, io_uring_params::default())
    }

    /// A builder, for setup flags and CQ size.
    pub fn builder(entries: u32) -> RingBuilder {
        RingBuilder::new(entries)
    }

    /// io_uring_setup(2) and the mmaps; never with NO_MMAP (see [`RingBuilder::build`]).
    pub(super) fn setup(entries: u32, mut params: io_uring_params) -> Result<Ring, Errno> {
        debug_assert!(!params.flags.intersects(SetupFlags::NO_MMAP));
        let fd = sys::io_uring_setup(entries, &mut params)?;
        let p = &params;
        let sqe_size = if p.flags.contains(SetupFlags::SQE128) {
            128
        } else {
            64
        };
        let cqe_size = if p.flags.contains(SetupFlags::CQE32) {
            32
        } else {
            16
        };
        let mut sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let mut cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * cqe_size;
        let single = p.features.contains(FeatureFlags::SINGLE_MMAP);
        if single {
            sq_len = sq_len.max(cq_len);
            cq_len = sq_len;
        }
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let shared = libc::MAP_SHARED | libc::MAP_POPULATE;
        let sq_map = Mapping::map(sq_len, prot, shared, Some(fd.as_fd()), mmap_off::SQ_RING)?;
        let cq_map = if single {
            None
        } else {
            Some(Mapping::map(
                cq_len,
                prot,
                shared,
                Some(fd.as_fd()),
                mmap_off::CQ_RING,
            )?)
        };
        let sqe_len = p.sq_entries as usize * sqe_size;
        let sqe_map = Mapping::map(sqe_len, prot, shared, Some(fd.as_fd()), mmap_off::SQES)?;
        let sqb = sq_map.ptr();
        let cqb = cq_map.as_ref().map_or(sqb, |m| m.ptr());
        // SAFETY: every offset comes from the kernel's io_sqring_offsets/io_cqring_offsets
        // for the mappings just made, whose lengths cover them (computed as liburing and the
        // kernel do); the u32 fields are 4-byte aligned as the uapi guarantees. The SQE
        // mapping is `sqe_len` writable bytes, and no SQE has been submitted yet.
        let (sq, cq) = unsafe {
            let at = |base: *mut u8, off: u32| base.add(off as usize) as *const AtomicU32;
            let sq = Sq {
                khead: at(sqb, p.sq_off.head),
                ktail: at(sqb, p.sq_off.tail),
                kflags: at(sqb, p.sq_off.flags),
                kdropped: at(sqb, p.sq_off.dropped),
                sqes: sqe_map.ptr(),
                sqe_shift: sqe_size.trailing_zeros(),
                mask: *(sqb.add(p.sq_off.ring_mask as usize) as *const u32),
                entries: *(sqb.add(p.sq_off.ring_entries as usize) as *const u32),
                tail: 0,
                cached_head: 0,
            };
            // Every SQE starts zeroed, so the bytes past our 64-byte `io_uring_sqe` in an
            // SQE128 slot read as zero for good (push never writes them).
            std::ptr::write_bytes(sqe_map.ptr(), 0, sqe_len);
            if !p.flags.contains(SetupFlags::NO_SQARRAY) {
                // The index array maps SQ slot i to SQE i, once and for all.
                let array = sqb.add(p.sq_off.array as usize) as *mut u32;
                for i in 0..sq.entries {
                    array.add(i as usize).write(i);
                }
            }
            let cq = Cq {
                khead: at(cqb, p.cq_off.head),
                ktail: at(cqb, p.cq_off.tail),
                koverflow: at(cqb, p.cq_off.overflow),
                cqes: cqb.add(p.cq_off.cqes as usize),
                cqe_shift: cqe_size.trailing_zeros(),
                mask: *(cqb.add(p.cq_off.ring_mask as usize) as *const u32),
                entries: *(cqb.add(p.cq_off.ring_entries as usize) as *const u32),
            };
            (sq, cq)
        };
        Ok(Ring {
            sq,
            cq,
            enter_fd: fd.as_raw_fd(),
            enter_flags: EnterFlags::NONE,
            id: crate::mem::next_ring_id(),
            holds: false,
            must_confirm: false,
            sqpoll: params.flags.contains(SetupFlags::SQPOLL),
            params,
            registered_index: None,
            pending: Pending::default(),
            attached: Default::default(),
            fd,
            _sq_map: sq_map,
            _cq_map: cq_map,
            _sqe_map: sqe_map,
            anchors: U64Map::default(),
            last_anchor: 0,
        })
    }

    /// The parameters as the kernel returned them (entries, features, offsets).
    pub fn params(&self) -> &io_uring_params {
        &self.params
    }

    /// The setup flags this ring was created with.
    pub fn setup_flags(&self) -> SetupFlags {
        self.params.flags
    }

    /// The kernel's `IORING_FEAT_*` bits.
    pub fn features(&self) -> FeatureFlags {
        self.params.features
    }
}
