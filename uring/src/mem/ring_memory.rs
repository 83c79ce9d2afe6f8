//! [`Mem`]s over memory an io_uring instance allocated ([`Backing::RingMemory`]), mapped
//! from its fd where the kernel chooses, whole or with pages at either end unmapped again.
#![allow(unsafe_code)]

use super::{census, Backing, Mapping, Mem};
use crate::sys::page_size;
use crate::Errno;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::Arc;

impl Mapping {
    /// munmap(2) of the last `bytes` (page-aligned, less than the whole) of this mapping.
    pub(super) fn trim_back(&mut self, bytes: usize) -> Result<(), Errno> {
        assert!(
            bytes.is_multiple_of(page_size()) && bytes < self.len,
            "trim of {bytes} bytes off a mapping of {}",
            self.len
        );
        let keep = self.len - bytes;
        // SAFETY: the last `bytes` of a mapping we own (keep < len); nothing refers to them
        // (the Mem that holds this mapping exposes only its first `keep` bytes from now on).
        if unsafe { libc::munmap(self.ptr.as_ptr().add(keep) as *mut _, bytes) } < 0 {
            return Err(Errno::last());
        }
        self.len = keep;
        census::unmapped(self.ptr.as_ptr() as usize);
        census::mapped(self.ptr.as_ptr() as usize, keep);
        Ok(())
    }

    /// munmap(2) of the first `bytes` (page-aligned, less than the whole) of this mapping,
    /// which then starts after them.
    pub(super) fn trim_front(&mut self, bytes: usize) -> Result<(), Errno> {
        assert!(
            bytes.is_multiple_of(page_size()) && bytes < self.len,
            "trim of {bytes} bytes off a mapping of {}",
            self.len
        );
        // SAFETY: the first `bytes` of a mapping we own; nothing refers to them (the Mem
        // that will hold this mapping is not built yet).
        if unsafe { libc::munmap(self.ptr.as_ptr() as *mut _, bytes) } < 0 {
            return Err(Errno::last());
        }
        census::unmapped(self.ptr.as_ptr() as usize);
        // SAFETY: `bytes < len`, so the new start lies inside the old mapping.
        self.ptr = unsafe { NonNull::new_unchecked(self.ptr.as_ptr().add(bytes)) };
        self.len -= bytes;
        census::mapped(self.ptr.as_ptr() as usize, self.len);
        Ok(())
    }
}

impl Mem {
    /// The `len` bytes at mmap offset `offset` of the io_uring instance `ring_fd` (e.g.
    /// `IORING_OFF_PBUF_RING | bgid << 16`), mapped MAP_SHARED where the kernel chooses
    /// ([`Backing::RingMemory`]; no guard page follows it).
    pub fn ring_memory(
        ring_fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
    ) -> Result<Arc<Mem>, Errno> {
        Self::ring_memory_from(ring_fd, offset, len, 0)
    }

    /// [`Mem::ring_memory`] of `len` bytes with the first `skip` (page-aligned) unmapped again
    /// at once: the region starts `skip` bytes into the ring memory (io_uring maps a region
    /// only from its start).
    pub fn ring_memory_from(
        ring_fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        skip: usize,
    ) -> Result<Arc<Mem>, Errno> {
        Self::ring_memory_trimmed(ring_fd, offset, len, skip, 0)
    }

    /// [`Mem::ring_memory`] of `len` bytes with the last `drop` (page-aligned) unmapped again
    /// at once: the region ends `drop` bytes before the ring memory does, and the room after
    /// it is free for another mapping.
    pub fn ring_memory_head(
        ring_fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        drop: usize,
    ) -> Result<Arc<Mem>, Errno> {
        Self::ring_memory_trimmed(ring_fd, offset, len, 0, drop)
    }

    /// `len` bytes of ring memory mapped, then `skip` unmapped at the start and `drop` at
    /// the end.
    fn ring_memory_trimmed(
        ring_fd: BorrowedFd<'_>,
        offset: u64,
        len: usize,
        skip: usize,
        drop: usize,
    ) -> Result<Arc<Mem>, Errno> {
        let mut map = Mapping::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            Some(ring_fd),
            offset,
        )?;
        if skip > 0 {
            map.trim_front(skip)?;
        }
        if drop > 0 {
            map.trim_back(drop)?;
        }
        Ok(Arc::new(Mem {
            map,
            start: 0,
            len: len - skip - drop,
            backing: Backing::RingMemory,
            layout: std::sync::OnceLock::new(),
        }))
    }
}
