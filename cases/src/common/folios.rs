//! Compound pages without huge pages, for the rows of `buffers_compound`: a buffer ring the
//! kernel allocates (IOU_PBUF_RING_MMAP) of a power-of-two number of pages is one folio
//! (memmap.c io_mem_alloc_compound), mapped where io_uring chooses (io_uring_get_unmapped_area
//! refuses an address); these place such mappings next to each other.

use std::sync::Arc;
use uring::abi::{mmap_off, PbufFlags};
use uring::register::buf_reg;
use uring::{Mem, Ring};
use uring_harness::{CaseError, Setup};

/// Pages of the kernel-allocated folio: order 2, below PAGE_ALLOC_COSTLY_ORDER, so the
/// allocator does not give up on it.
pub(crate) const FOLIO_PAGES: usize = 4;

/// [`FOLIO_PAGES`] pages that `ring` allocated as one compound page: the mmap of its buffer
/// ring of group 1, registered with IOU_PBUF_RING_MMAP.
pub(crate) fn kernel_folio(ring: &Ring) -> Result<Arc<Mem>, CaseError> {
    register_folio(ring, 1)?;
    map_folio(ring, 1)
}

/// Registers the buffer ring of group `bgid`, [`FOLIO_PAGES`] pages the kernel allocates.
pub(crate) fn register_folio(ring: &Ring, bgid: u16) -> Result<(), CaseError> {
    let len = FOLIO_PAGES * uring::sys::page_size();
    ring.registrar()
        .register_pbuf_ring_raw(None, buf_reg(bgid, (len / 16) as u32, PbufFlags::MMAP))
        .setup("REGISTER_PBUF_RING (IOU_PBUF_RING_MMAP) of a power-of-two number of pages")
}

/// An mmap of group `bgid`'s whole kernel-allocated buffer ring.
pub(crate) fn map_folio(ring: &Ring, bgid: u16) -> Result<Arc<Mem>, CaseError> {
    let len = FOLIO_PAGES * uring::sys::page_size();
    Mem::ring_memory(ring.as_fd(), mmap_off::pbuf_ring(bgid), len)
        .setup("mmap of the kernel-allocated buffer ring")
}

/// Two folios of `ring` (groups 1 and 2) mapped next to each other, group 1's first, group
/// 2's without its first `skip` pages (unmapped again: the room they leave joins the free
/// space below, where group 1's then lands).
/// io_uring maps only where the kernel chooses (io_uring_get_unmapped_area refuses an
/// address), which is below the last mapping when the room there is free: group 2's is
/// mapped first, then group 1's, again until group 1's ends where group 2's starts (other
/// threads may map in between), a skip after a few tries.
pub(crate) fn adjacent_folios(ring: &Ring, skip: usize) -> Result<(Arc<Mem>, Arc<Mem>), CaseError> {
    register_folio(ring, 1)?;
    register_folio(ring, 2)?;
    // Mappings that came out apart stay mapped until the end: the next pair then goes to
    // other gaps instead of the same two.
    let mut apart = Vec::new();
    for _ in 0..16 {
        let ps = uring::sys::page_size();
        let hi = Mem::ring_memory_from(
            ring.as_fd(),
            mmap_off::pbuf_ring(2),
            FOLIO_PAGES * ps,
            skip * ps,
        )
        .setup("mmap of the kernel-allocated buffer ring")?;
        let lo = map_folio(ring, 1)?;
        if lo.addr() + lo.len() as u64 == hi.addr() {
            return Ok((lo, hi));
        }
        apart.push((hi, lo));
    }
    Err(CaseError::Skip(uring_harness::SkipCause::Environment {
        what: "two mmaps of kernel-allocated buffer rings never came out adjacent in 16 tries"
            .into(),
    }))
}

/// Group 1's folio without its last page, and group 2's whole folio right after it: a head
/// folio that does not end on its last page. io_uring maps only where the kernel chooses (the
/// top of the highest free gap that fits), so the room is made: group 3's folio on top, a
/// filler of 3 pages (group 4's folio without its first page) below it, group 1's folio below
/// that, with its last page unmapped again; the filler goes, which leaves a gap of exactly
/// one folio between group 1's pages and group 3's, where group 2's folio lands. Tried again
/// (the failed mappings kept, fillers too, so that the next try goes to fresh room) until the
/// pieces lie so, a skip after a few tries. Returns [group 1's 3 pages, group 2's folio,
/// group 3's folio].
pub(crate) fn short_head_then_folio(ring: &Ring) -> Result<[Arc<Mem>; 3], CaseError> {
    let ps = uring::sys::page_size();
    let len = FOLIO_PAGES * ps;
    for g in 1..=4 {
        register_folio(ring, g)?;
    }
    let map = |what: Result<Arc<Mem>, uring::Errno>| what.setup("mmap of a buffer ring");
    let mut apart = Vec::new();
    for _ in 0..16 {
        let top = map_folio(ring, 3)?;
        let filler = map(Mem::ring_memory_from(
            ring.as_fd(),
            mmap_off::pbuf_ring(4),
            len,
            ps,
        ))?;
        let lo = map(Mem::ring_memory_head(
            ring.as_fd(),
            mmap_off::pbuf_ring(1),
            len,
            ps,
        ))?;
        let placed = filler.addr() + filler.len() as u64 == top.addr()
            && lo.addr() + len as u64 == filler.addr();
        if placed {
            drop(filler);
            let hi = map_folio(ring, 2)?;
            if lo.addr() + lo.len() as u64 == hi.addr() {
                return Ok([lo, hi, top]);
            }
            apart.push(hi);
        } else {
            apart.push(filler);
        }
        apart.push(lo);
        apart.push(top);
    }
    Err(CaseError::Skip(uring_harness::SkipCause::Environment {
        what: "the mmaps of kernel-allocated buffer rings never came out in place in 16 tries"
            .into(),
    }))
}
