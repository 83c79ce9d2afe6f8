//! Regions a ring holds for the rest of its life: [`HeldMem`] and its [`HeldSlice`]s.
//!
//! A request naming a [`BufSlice`](super::BufSlice) hands its region to the ring with the
//! SQE (an `Arc` moved in, compared, dropped) and is counted in flight until its CQE: that
//! bookkeeping is the price of a read that may name any region. A region held once with
//! [`Ring::hold`](crate::Ring::hold) is already the ring's: a `HeldSlice` is a plain
//! address plus the id of the ring holding it, and a push checks only that the id is its
//! own. The ring frees held regions only once teardown has confirmed that no request of
//! any kind is left (cancel everything, then a drained NOP), so such requests need no
//! counting; when it cannot confirm that, it leaks the regions.

use super::Mem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Source of ring ids: one per ring ever built in this process, never reused, so a slice
/// held by a ring that is gone matches no live ring.
static NEXT_RING_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh ring id.
pub(crate) fn next_ring_id() -> u64 {
    NEXT_RING_ID.fetch_add(1, Ordering::Relaxed)
}

/// A region held by one ring until that ring is torn down (see the module doc). Copy data
/// in and out through [`HeldMem::mem`]; name ranges of it in SQEs with [`HeldMem::slice`].
#[derive(Clone, Debug)]
pub struct HeldMem {
    mem: Arc<Mem>,
    ring: u64,
    /// The region's address and length, copied out of the `Mem`: a slice costs no
    /// load through the `Arc`.
    addr: u64,
    len: usize,
}

impl HeldMem {
    pub(crate) fn new(mem: Arc<Mem>, ring: u64) -> HeldMem {
        HeldMem {
            addr: mem.addr(),
            len: mem.len(),
            mem,
            ring,
        }
    }

    /// The region, for copying in and out.
    pub fn mem(&self) -> &Arc<Mem> {
        &self.mem
    }

    /// `[off, off+len)` of the region, valid in SQEs pushed to the ring holding it.
    #[inline]
    pub fn slice(&self, off: usize, len: usize) -> HeldSlice {
        HeldSlice {
            ring: self.ring,
            addr: self.addr(off, len),
            len,
        }
    }

    /// The address of `[off, off+len)` of the region; panics if it is not inside.
    #[inline]
    fn addr(&self, off: usize, len: usize) -> u64 {
        if off.checked_add(len).is_none_or(|e| e > self.len) {
            self.outside(off, len);
        }
        self.addr + off as u64
    }

    /// The ring holding the region.
    pub(crate) fn ring(&self) -> u64 {
        self.ring
    }

    /// The panic of a slice outside the region, out of line: the formatting's arguments
    /// would otherwise be stored on every slice's path.
    #[cold]
    #[inline(never)]
    fn outside(&self, off: usize, len: usize) -> ! {
        panic!("slice {off}+{len} outside {:?}", self.mem)
    }
}

/// A byte range of a [`HeldMem`]: its address and the id of the ring holding the region.
/// Pushed to any other ring, an SQE naming it is refused
/// ([`PushError::NotHeld`](crate::PushError::NotHeld)).
///
/// Only [`HeldMem::slice`] makes one: an address cannot be passed off as held memory,
///
/// ```compile_fail,E0451
/// let s = uring::HeldSlice { ring: 1, addr: 0x7f00_0000_0000, len: 4096 };
/// ```
///
/// and only [`Ring::hold`](crate::Ring::hold) makes a `HeldMem`:
///
/// ```compile_fail,E0624
/// let m = uring::Mem::new(4096).unwrap();
/// let h = uring::HeldMem::new(m, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldSlice {
    ring: u64,
    addr: u64,
    len: usize,
}

impl HeldSlice {
    /// The address of the first byte.
    #[inline]
    pub fn addr(&self) -> u64 {
        self.addr
    }
    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The id of the ring holding the region.
    #[inline]
    pub(crate) fn ring(&self) -> u64 {
        self.ring
    }
}

/// An iovec array a ring holds, for READV/WRITEV into one region the same ring holds
/// ([`Ring::hold_iovecs`](crate::Ring::hold_iovecs)): [`IOVECS`] entries, written only by
/// [`HeldIovecs::set`], from byte ranges of that region, so whatever the kernel reads from
/// it, at whatever time, names held memory of that ring. That the entries and the array are
/// the same ring's is a fact of the type, checked once when the array is made: a range of
/// it costs a bounds check, and its push the ring id compare of any held request. (The
/// array's region is not handed out: an entry written by anything else could name any
/// address.) Entries are numbered by a `u8`, so a single one needs no bounds check.
#[derive(Debug)]
pub struct HeldIovecs {
    /// The array's region (also held by the ring): kept so that `addr` stays valid.
    _mem: Arc<Mem>,
    /// The region the entries name.
    target: HeldMem,
    /// The array's address, copied out of the `Mem` (no load through the `Arc` a request).
    addr: u64,
}

/// Entries of a [`HeldIovecs`] array: one 4 KiB page of iovecs, every `u8` an index.
pub const IOVECS: usize = 256;

impl HeldIovecs {
    /// The array in `mem`, for ranges of `target` (the caller checked that the ring
    /// holding `target` holds `mem` too).
    pub(crate) fn new(mem: Arc<Mem>, target: HeldMem) -> HeldIovecs {
        assert!(
            mem.len() >= IOVECS * IOVEC_SIZE,
            "{mem:?} too small for the iovecs"
        );
        HeldIovecs {
            addr: mem.addr(),
            _mem: mem,
            target,
        }
    }

    /// Writes `bufs`, each `(offset, length)` in the region, as entries `at..at +
    /// bufs.len()`, and returns that range of the array for
    /// [`op::readv_held`](crate::op::readv_held) / [`op::writev_held`](crate::op::writev_held).
    /// Panics, with nothing written, if a range is outside the region (as
    /// [`HeldMem::slice`]) or the entries run past [`IOVECS`].
    #[inline]
    pub fn set(&mut self, at: u8, bufs: &[(usize, usize)]) -> HeldIov {
        let at = usize::from(at);
        if at + bufs.len() > IOVECS {
            self.outside(at, bufs.len());
        }
        for &(off, len) in bufs {
            self.target.addr(off, len);
        }
        for (i, &(off, len)) in bufs.iter().enumerate() {
            let entry = [self.target.addr + off as u64, len as u64];
            // SAFETY: entry `at + i` < IOVECS lies inside the array's region (checked at
            // `new`), which Rust never references: a copy into it, even while the kernel
            // reads an earlier request's entries, aliases nothing. `self.addr` is the
            // region's (the `Mem` behind `self._mem` lives as long). The range is inside
            // the target region (checked above).
            unsafe {
                let p = (self.addr as *mut [u64; 2]).add(at + i);
                std::ptr::write_unaligned(p, entry);
            }
        }
        HeldIov {
            ring: self.target.ring,
            addr: self.addr + (at * IOVEC_SIZE) as u64,
            nr: bufs.len() as u32,
        }
    }

    /// The panic of entries past the array's end, out of line.
    #[cold]
    #[inline(never)]
    fn outside(&self, at: usize, n: usize) -> ! {
        panic!("iovecs {at}+{n} outside an array of {IOVECS}")
    }
}

/// `sizeof(struct iovec)` on 64-bit Linux.
const IOVEC_SIZE: usize = 16;

/// A range of a [`HeldIovecs`] array: its address, its number of entries and the id of
/// the ring holding it (and the memory its entries name). It names the array for a
/// vectored request only, never as the buffer of a read (which would let the kernel write
/// the entries):
///
/// ```compile_fail,E0277
/// # use uring::{op, Mem, Ring};
/// let mut r = Ring::new(4).unwrap();
/// let held = r.hold(&Mem::new(4096).unwrap());
/// let mut iovs = r.hold_iovecs(&held).unwrap();
/// let iov = iovs.set(0, &[(0, 4096)]);
/// let sqe = op::read(0, iov, 16, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldIov {
    ring: u64,
    addr: u64,
    nr: u32,
}

impl HeldIov {
    /// The address of the first entry.
    pub fn addr(&self) -> u64 {
        self.addr
    }
    /// The number of entries.
    pub fn nr(&self) -> u32 {
        self.nr
    }
    /// The id of the ring holding the array.
    #[inline]
    pub(crate) fn ring(&self) -> u64 {
        self.ring
    }
}
