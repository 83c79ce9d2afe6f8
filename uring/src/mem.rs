//! Memory the kernel may read or write: [`Mem`], page-granular mmap regions followed by a
//! guard page; and [`ForeignAddr`], addresses this process never maps.
//!
//! Every address the safe API hands to the kernel is one of these two, which is what makes
//! it safe: Rust never forms a reference into a `Mem` (all access is by copy), a kernel
//! write that runs past the end of a region faults on the guard page, pages the kernel
//! pins stay valid after `munmap`, and a ring keeps every `Mem` an SQE referenced alive
//! until the kernel is done with it.
#![allow(unsafe_code)]

use crate::census;
use crate::sys::page_size;
use crate::Errno;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::Arc;

mod foreign;
mod held;
mod ring_memory;
pub use foreign::{ForeignAddr, UserPtr};
pub(crate) use held::next_ring_id;
pub use held::{HeldIov, HeldIovecs, HeldMem, HeldSlice, IOVECS};

/// A raw mapping, unmapped on drop. Crate-internal building block of `Mem` and the rings.
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Mapping is a plain address range; all access to its contents goes through raw
// pointers with the synchronisation the user of the mapping provides (atomics for rings).
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only exposes the address and length.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// mmap(2) with the given arguments; `len` must be non-zero.
    pub(crate) fn map(
        len: usize,
        prot: i32,
        flags: i32,
        fd: Option<BorrowedFd<'_>>,
        offset: u64,
    ) -> Result<Mapping, Errno> {
        let raw_fd = fd.map_or(-1, |f| f.as_raw_fd());
        // SAFETY: a NULL hint without MAP_FIXED never replaces an existing mapping; the
        // kernel picks a fresh range that no Rust object uses.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                flags,
                raw_fd,
                offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        census::mapped(p as usize, len);
        Ok(Mapping {
            ptr: NonNull::new(p as *mut u8).expect("mmap returned NULL"),
            len,
        })
    }

    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// mprotect(2) on a page-aligned sub-range.
    pub(crate) fn protect(&self, off: usize, len: usize, prot: i32) -> Result<(), Errno> {
        assert!(
            off.is_multiple_of(page_size()) && off + len <= self.len,
            "protect range out of the mapping"
        );
        // SAFETY: the range lies inside this mapping, which only raw pointers access.
        let r = unsafe { libc::mprotect(self.ptr.as_ptr().add(off) as *mut _, len, prot) };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own this mapping; nothing refers to it after drop (users hold the
        // Mapping for as long as they use its pointer).
        unsafe { libc::munmap(self.ptr.as_ptr() as *mut _, self.len) };
        census::unmapped(self.ptr.as_ptr() as usize);
    }
}

/// How a [`Mem`] is backed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// MAP_PRIVATE | MAP_ANONYMOUS.
    Anonymous,
    /// A memfd (shmem) mapped MAP_SHARED.
    Memfd,
    /// A regular file mapped MAP_SHARED.
    FileShared,
    /// A regular file mapped MAP_PRIVATE.
    FilePrivate,
    /// Anonymous hugetlbfs memory (MAP_HUGETLB), aligned to the huge page size.
    Hugetlb,
    /// Anonymous memory aligned to the huge page size with madvise(MADV_HUGEPAGE), so
    /// the kernel may back it with transparent huge pages (it need not).
    Thp,
    /// Memory an io_uring instance allocated (its SQE array, rings, a region, a buffer ring of
    /// IOU_PBUF_RING_MMAP), mapped MAP_SHARED from its fd: the pages the kernel chose, one
    /// compound allocation where it could. io_uring refuses a given address
    /// (io_uring_get_unmapped_area): `Mem::map_ring` guards the page after it by mprotect,
    /// the `ring_memory` constructors have no guard page.
    RingMemory,
}

/// A page-aligned region the kernel may read and write, followed by a PROT_NONE guard page.
///
/// Share it as `Arc<Mem>`; take [`BufSlice`]s of it for SQEs and registrations.
pub struct Mem {
    map: Mapping,
    /// Where the region starts inside `map` (0 unless it was aligned).
    start: usize,
    len: usize,
    backing: Backing,
    /// The ABI whose structures (iovecs, msghdrs) this region holds, if any: a push refuses an
    /// SQE naming such a region on a ring of another ABI ([`crate::PushError::WrongAbi`]), since
    /// the kernel would read its pointers and lengths out of the wrong halves.
    layout: std::sync::OnceLock<crate::compat::Abi>,
}

impl fmt::Debug for Mem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Mem({:#x}+{:#x}, {:?})",
            self.addr(),
            self.len,
            self.backing
        )
    }
}

impl Mem {
    /// Anonymous, zero-filled, read-write memory of at least `len` bytes (rounded up to pages).
    pub fn new(len: usize) -> Result<Arc<Mem>, Errno> {
        Self::build(
            len,
            Backing::Anonymous,
            None,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        )
    }

    /// Shared memory from a fresh memfd (shmem), mapped MAP_SHARED.
    pub fn memfd(len: usize) -> Result<Arc<Mem>, Errno> {
        let len = round_up(len.max(1));
        // SAFETY: the name is a valid NUL-terminated string; memfd_create has no other inputs.
        let fd = unsafe { libc::memfd_create(c"uring-mem".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: memfd_create returned a new fd we own.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let file = std::fs::File::from(fd);
        // ftruncate itself, so that the error is always the kernel's (File::set_len can
        // fail without a syscall, and would need an errno made up for it).
        let size = libc::off_t::try_from(len).expect("a page-rounded usize fits in off_t");
        // SAFETY: ftruncate on the memfd owned by `file`; no memory is involved.
        if unsafe { libc::ftruncate(file.as_raw_fd(), size) } < 0 {
            return Err(Errno::last());
        }
        Self::map_file(&file, len, true)
    }

    /// Maps `len` bytes of a regular file (which must be at least that long), shared or private.
    pub fn map_file(file: &std::fs::File, len: usize, shared: bool) -> Result<Arc<Mem>, Errno> {
        use std::os::fd::AsFd;
        let (backing, flags) = if shared {
            (Backing::FileShared, libc::MAP_SHARED)
        } else {
            (Backing::FilePrivate, libc::MAP_PRIVATE)
        };
        let backing = if is_memfd(file) {
            Backing::Memfd
        } else {
            backing
        };
        Self::build(len, backing, Some(file.as_fd()), flags)
    }

    /// Anonymous memory of `len` bytes (rounded up to `huge`, the huge page size) starting
    /// on a `huge` boundary: hugetlbfs pages ([`Backing::Hugetlb`], MAP_HUGETLB; fails
    /// where none are free) or madvise(MADV_HUGEPAGE) memory ([`Backing::Thp`]).
    pub fn huge(len: usize, huge: usize, backing: Backing) -> Result<Arc<Mem>, Errno> {
        assert!(
            huge.is_power_of_two() && huge >= page_size(),
            "huge page size {huge}"
        );
        let len = len.max(1).div_ceil(huge) * huge;
        let flags = match backing {
            Backing::Hugetlb => {
                // MAP_HUGE_<size>: this page size, whatever the default hugetlb size is.
                let size = (huge.trailing_zeros() as i32) << libc::MAP_HUGE_SHIFT;
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB | size
            }
            Backing::Thp => libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            other => panic!("Mem::huge of {other:?}"),
        };
        let mem = Self::build_aligned(len, huge, backing, None, flags)?;
        if backing == Backing::Thp {
            // SAFETY: advice on the region we just mapped; it changes no contents.
            let r = unsafe { libc::madvise(mem.base() as *mut _, len, libc::MADV_HUGEPAGE) };
            if r < 0 {
                return Err(Errno::last());
            }
        }
        Ok(mem)
    }

    fn build(
        len: usize,
        backing: Backing,
        fd: Option<BorrowedFd<'_>>,
        flags: i32,
    ) -> Result<Arc<Mem>, Errno> {
        Self::build_aligned(round_up(len.max(1)), page_size(), backing, fd, flags)
    }

    /// `len` bytes of the io_uring instance `ring_fd` from its mmap offset `offset`
    /// (`abi::mmap_off::SQES`, ...), MAP_SHARED ([`Backing::RingMemory`]): the kernel's own
    /// pages of that ring, which stay allocated while this mapping lives. The page after `len`
    /// (rounded up to pages) is mapped too and made PROT_NONE, the guard page: io_uring's mmap
    /// takes no address (io_uring_get_unmapped_area refuses one), so it cannot be placed in
    /// front of a reserved guard as [`Mem::new`] does.
    pub fn map_ring(ring_fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Arc<Mem>, Errno> {
        let len = round_up(len.max(1));
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let map = Mapping::map(
            len + page_size(),
            prot,
            libc::MAP_SHARED,
            Some(ring_fd),
            offset,
        )?;
        map.protect(len, page_size(), libc::PROT_NONE)?;
        Ok(Arc::new(Mem {
            map,
            start: 0,
            len,
            backing: Backing::RingMemory,
            layout: std::sync::OnceLock::new(),
        }))
    }

    /// Maps `len` bytes (a multiple of `align`, itself a multiple of the page size) at an
    /// `align` boundary, followed by a guard page.
    fn build_aligned(
        len: usize,
        align: usize,
        backing: Backing,
        fd: Option<BorrowedFd<'_>>,
        flags: i32,
    ) -> Result<Arc<Mem>, Errno> {
        let ps = page_size();
        // Reserve region + alignment slack + guard page as PROT_NONE, then map the region
        // over it with MAP_FIXED: the guard page is ours and stays inaccessible.
        let slack = align - ps;
        let map = Mapping::map(
            len + slack + ps,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | crate::compat::placement_flags(),
            None,
            0,
        )?;
        let start = (map.ptr() as usize).next_multiple_of(align) - map.ptr() as usize;
        let raw_fd = fd.map_or(-1, |f| f.as_raw_fd());
        // SAFETY: MAP_FIXED over `len` bytes at `start` inside the reservation we own
        // (start <= slack, so start + len + ps fits) and that nothing references yet; it
        // cannot clobber any other mapping.
        let p = unsafe {
            libc::mmap(
                map.ptr().add(start) as *mut _,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags | libc::MAP_FIXED,
                raw_fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Arc::new(Mem {
            map,
            start,
            len,
            backing,
            layout: std::sync::OnceLock::new(),
        }))
    }

    /// Marks the region as holding structures laid out for `abi` (once; the op builders do).
    pub(crate) fn set_layout(&self, abi: crate::compat::Abi) {
        let _ = self.layout.set(abi);
    }

    /// The ABI of the structures the region holds, if it holds any.
    pub(crate) fn layout(&self) -> Option<crate::compat::Abi> {
        self.layout.get().copied()
    }

    /// The start of the region.
    fn base(&self) -> *mut u8 {
        // SAFETY: `start` lies inside the reservation (see build_aligned).
        unsafe { self.map.ptr().add(self.start) }
    }

    /// Maps `len` bytes of `file` (from its offset 0, MAP_SHARED or MAP_PRIVATE) over the
    /// page-aligned `[off, off+len)` of this region, replacing what was there: one region
    /// that spans mappings of different kinds. Slices and registrations made before keep
    /// the addresses; pages pinned before stay the old ones.
    pub fn map_file_over(
        &self,
        off: usize,
        len: usize,
        file: &std::fs::File,
        shared: bool,
    ) -> Result<(), Errno> {
        assert!(
            off.is_multiple_of(page_size())
                && len > 0
                && off.checked_add(len).is_some_and(|e| e <= self.len),
            "map_file_over outside {self:?}"
        );
        let flags = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        // SAFETY: MAP_FIXED over a page-aligned range inside this region (checked above),
        // which Rust only ever accesses by copy through raw pointers: replacing its pages
        // invalidates no reference. The reservation's munmap on drop covers it.
        let p = unsafe {
            libc::mmap(
                self.base().add(off) as *mut _,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags | libc::MAP_FIXED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// The start address.
    #[inline]
    pub fn addr(&self) -> u64 {
        self.base() as u64
    }

    /// The usable length in bytes (a multiple of the page size; the guard page is extra).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a `Mem` has at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// How this memory is backed.
    pub fn backing(&self) -> Backing {
        self.backing
    }

    /// A slice `[off, off+len)` of this region.
    #[inline]
    pub fn slice(self: &Arc<Self>, off: usize, len: usize) -> BufSlice {
        assert!(
            off.checked_add(len).is_some_and(|e| e <= self.len),
            "slice {off}+{len} outside {self:?}"
        );
        BufSlice {
            mem: self.clone(),
            off,
            len,
        }
    }

    /// The whole region as a slice.
    pub fn all(self: &Arc<Self>) -> BufSlice {
        self.slice(0, self.len)
    }

    /// Copies `data` into the region at `off`.
    pub fn write(&self, off: usize, data: &[u8]) {
        assert!(
            off.checked_add(data.len()).is_some_and(|e| e <= self.len),
            "write outside {self:?}"
        );
        // SAFETY: the range is inside our read-write mapping (checked above); we never form
        // references into it, so a concurrent kernel access is no Rust aliasing violation.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base().add(off), data.len()) };
    }

    /// Copies `len` bytes at `off` out of the region.
    pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
        assert!(
            off.checked_add(len).is_some_and(|e| e <= self.len),
            "read outside {self:?}"
        );
        let mut out = vec![0u8; len];
        // SAFETY: as in `write`; `out` is a fresh buffer of `len` bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.base().add(off), out.as_mut_ptr(), len) };
        out
    }

    /// Fills the whole region with `byte`.
    pub fn fill(&self, byte: u8) {
        // SAFETY: as in `write`, over exactly the region.
        unsafe { std::ptr::write_bytes(self.base(), byte, self.len) };
    }

    /// Changes the protection of page-aligned `[off, off+len)` (e.g. PROT_READ, PROT_NONE).
    pub fn protect(&self, off: usize, len: usize, prot: i32) -> Result<(), Errno> {
        assert!(off + len <= self.len, "protect outside {self:?}");
        self.map.protect(self.start + off, len, prot)
    }
}

fn round_up(len: usize) -> usize {
    let ps = page_size();
    len.div_ceil(ps) * ps
}

fn is_memfd(file: &std::fs::File) -> bool {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()));
    link.is_ok_and(|p| p.to_string_lossy().starts_with("/memfd:"))
}

/// A byte range of a [`Mem`], holding the region alive.
#[derive(Clone, Debug)]
pub struct BufSlice {
    mem: Arc<Mem>,
    off: usize,
    len: usize,
}

impl BufSlice {
    /// The address of the first byte.
    #[inline]
    pub fn addr(&self) -> u64 {
        self.mem.addr() + self.off as u64
    }
    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The region this slice belongs to.
    pub fn mem(&self) -> &Arc<Mem> {
        &self.mem
    }
    /// The address of the first byte and the region, which moves out (no refcount traffic).
    #[inline]
    pub(crate) fn into_parts(self) -> (u64, Arc<Mem>) {
        (self.addr(), self.mem)
    }
    /// Offset of the slice inside its region.
    pub fn offset(&self) -> usize {
        self.off
    }
    /// Copies the slice's bytes out.
    pub fn read(&self) -> Vec<u8> {
        self.mem.read(self.off, self.len)
    }
    /// Copies `data` into the start of the slice.
    pub fn write(&self, data: &[u8]) {
        assert!(data.len() <= self.len, "write larger than the slice");
        self.mem.write(self.off, data)
    }
    /// A sub-slice.
    pub fn sub(&self, off: usize, len: usize) -> BufSlice {
        assert!(off + len <= self.len, "sub-slice outside the slice");
        self.mem.slice(self.off + off, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_memory_is_aligned_and_file_pages_map_over_a_region() {
        const HUGE: usize = 2 << 20;
        let m = Mem::huge(HUGE + 1, HUGE, Backing::Thp).unwrap();
        assert_eq!((m.addr() as usize % HUGE, m.len()), (0, 2 * HUGE));
        m.write(HUGE, b"thp");
        assert_eq!(m.read(HUGE, 3), b"thp");
        let a = Mem::new(3 * page_size()).unwrap();
        a.write(page_size(), b"anon");
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &vec![b'f'; page_size()]).unwrap();
        a.map_file_over(page_size(), page_size(), &f, true).unwrap();
        assert_eq!(a.read(page_size(), 4), b"ffff");
        a.write(page_size(), b"x");
        let mut back = [0u8; 1];
        std::os::unix::fs::FileExt::read_at(&f, &mut back, 0).unwrap();
        assert_eq!(&back, b"x", "the page is the file's, shared");
    }

    #[test]
    fn mem_round_trip_and_guard() {
        let m = Mem::new(10).unwrap();
        assert_eq!(m.len(), page_size());
        m.write(3, b"abc");
        assert_eq!(m.read(2, 5), b"\0abc\0");
        let s = m.slice(3, 3);
        assert_eq!(s.read(), b"abc");
        assert_eq!(s.addr(), m.addr() + 3);
        // The guard page after the region is PROT_NONE: mincore still sees it mapped,
        // but a read through the kernel faults.
        let ps = page_size();
        let mut v = [0u8; 1];
        assert_eq!(kernel_read_of(m.addr() + ps as u64 - 1, &mut v), Ok(1));
        let n = kernel_read_of(m.addr() + ps as u64, &mut v);
        assert_eq!(n, Err(Errno::EFAULT));
    }

    /// A second mapping of a ring's SQE array is the ring's memory: what it holds is what the
    /// kernel allocated (zeroed), and it lives as long as the mapping, not the ring.
    #[test]
    fn map_ring_maps_the_sqe_array() {
        let entries = (2 * page_size() / std::mem::size_of::<crate::abi::io_uring_sqe>()) as u32;
        let ring = crate::Ring::new(entries).unwrap();
        let m = Mem::map_ring(ring.as_fd(), crate::abi::mmap_off::SQES, 10).unwrap();
        drop(ring);
        assert_eq!(m.backing(), Backing::RingMemory);
        assert_eq!(m.len(), page_size());
        assert_eq!(m.read(0, page_size()), vec![0u8; page_size()]);
        m.write(page_size() - 3, b"sqe");
        assert_eq!(m.read(page_size() - 3, 3), b"sqe");
        let mut v = [0u8; 1];
        assert_eq!(
            kernel_read_of(m.addr() + page_size() as u64, &mut v),
            Err(Errno::EFAULT)
        );
    }

    /// write(2) into a pipe from an address: EFAULT tells us the kernel cannot read it.
    fn kernel_read_of(addr: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        let (_r, w) = std::io::pipe().unwrap();
        // SAFETY: the kernel only reads from `addr`; a fault is reported as EFAULT.
        let r = unsafe { libc::write(w.as_raw_fd(), addr as *const _, 1) };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(r as usize)
        }
    }

    #[test]
    fn memfd_backing_is_detected() {
        let m = Mem::memfd(100).unwrap();
        assert_eq!(m.backing(), Backing::Memfd);
        m.write(0, b"x");
        assert_eq!(m.read(0, 1), b"x");
    }

    #[test]
    fn foreign_addresses_are_only_unmappable_ones() {
        assert!(ForeignAddr::new(4096).is_some());
        assert!(ForeignAddr::new(0x7f00_0000_0000).is_none());
        assert!(ForeignAddr::new(0xffff_8000_0000_0000).is_some());
    }
}
