//! io_uring_setup(2), the three mappings and the pointers into them: [`RingBuilder`] and
//! the parameters the kernel returned.

use super::cq::Cq;
use super::sq::Sq;
use super::{Pending, Ring, U64Map};
use crate::abi::{io_uring_params, mmap_off, EnterFlags, FeatureFlags, SetupFlags};
use crate::compat::Abi;
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
    abi: Abi,
}

impl RingBuilder {
    /// A ring of `entries` SQEs with default parameters.
    pub fn new(entries: u32) -> RingBuilder {
        RingBuilder {
            entries,
            params: io_uring_params::default(),
            abi: Abi::Native,
        }
    }
    /// Sets the ring up through this ABI's syscall entry: [`Abi::Compat`] makes a compat
    /// ring (`int 0x80`, x86_64 only; see [`crate::compat`]).
    pub fn abi(mut self, abi: Abi) -> RingBuilder {
        self.abi = abi;
        self
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
        Ring::setup_abi(self.entries, self.params, self.abi)
    }
}

impl Ring {
    /// A ring of `entries` entries with default setup flags. Any error is the kernel's
    /// (io_uring_setup or mmap).
    pub fn new(entries: u32) -> Result<Ring, Errno> {
        Ring::setup(entries, io_uring_params::default(), Abi::Native)
    }

    /// A builder, for setup flags and CQ size.
    pub fn builder(entries: u32) -> RingBuilder {
        RingBuilder::new(entries)
    }

    /// [`Ring::setup`] through `abi`'s entry. A compat ring's params go to the kernel from
    /// memory below 4 GiB (the 32-bit entry truncates the pointer); where the crate cannot
    /// make a compat ring (not x86_64) the answer is [`Error::Unsupported`].
    fn setup_abi(entries: u32, params: io_uring_params, abi: Abi) -> Result<Ring, Error> {
        #[cfg(not(target_arch = "x86_64"))]
        if abi == Abi::Compat {
            return Err(Error::Unsupported(
                "a compat ring (the 32-bit syscall entry is x86_64 only here)",
            ));
        }
        Ring::setup(entries, params, abi).map_err(Error::Kernel)
    }

    /// io_uring_setup(2) and the mmaps; never with NO_MMAP (see [`RingBuilder::build`]).
    pub(super) fn setup(
        entries: u32,
        mut params: io_uring_params,
        abi: Abi,
    ) -> Result<Ring, Errno> {
        debug_assert!(!params.flags.intersects(SetupFlags::NO_MMAP));
        let fd = match abi {
            Abi::Native => sys::io_uring_setup(entries, &mut params)?,
            #[cfg(target_arch = "x86_64")]
            Abi::Compat => compat_setup(entries, &mut params)?,
            #[cfg(not(target_arch = "x86_64"))]
            Abi::Compat => unreachable!("setup_abi refuses compat rings here"),
        };
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
            abi,
        })
    }

    /// The layout this ring reads iovecs and msghdrs in: [`Abi::Compat`] when it was set up
    /// through the 32-bit entry.
    pub fn abi(&self) -> Abi {
        self.abi
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

/// io_uring_setup(2) through the 32-bit entry, with `params` copied through memory below
/// 4 GiB and back.
#[cfg(target_arch = "x86_64")]
fn compat_setup(entries: u32, params: &mut io_uring_params) -> Result<std::os::fd::OwnedFd, Errno> {
    let size = std::mem::size_of::<io_uring_params>();
    let low = {
        let _below = crate::compat::below_4g();
        crate::Mem::new(size)?
    };
    let at = low.addr() as *mut io_uring_params;
    // The Mem was placed by MAP_32BIT, which Linux honours or fails with ENOMEM.
    assert!(
        low.addr() + size as u64 <= 1 << 32,
        "MAP_32BIT placed {low:?} above 4 GiB"
    );
    // SAFETY: `low` is a live, page-aligned region of at least `size` bytes that nothing
    // else references; the params are copied in, then out, never borrowed in place.
    unsafe { at.write(*params) };
    // SAFETY: as above; the region stays below 4 GiB so the 32-bit argument names it, and
    // the kernel reads and writes the io_uring_params there.
    let fd = unsafe { sys::io_uring_setup_compat(entries, at) };
    // SAFETY: as above; the kernel's writes (if any) are complete when the syscall returns.
    *params = unsafe { at.read() };
    fd
}
