//! Registered buffers over compound pages without THP or hugetlb: a ring's own SQE array,
//! one compound allocation (memmap.c io_mem_alloc_compound), mapped and registered as a fixed
//! buffer of another ring. What the RLIMIT_MEMLOCK charge of such pages is (rsrc.c
//! io_buffer_account_pin, hpage_acct_ref/unref: the whole compound page, once per ring, until
//! its last holder lets go), seen in `VmPin` of /proc/self/status (`mm->pinned_vm`, which
//! io_account_mem moves with the user's charge). The THP and hugetlb rows are in
//! [`crate::fixed_io_pages`] and [`crate::clone_sharing`]; they skip where the kernel has
//! neither, as the `minimal` config has not.

use crate::common::clone::*;
use crate::common::*;
use std::sync::Arc;
use uring::abi::{io_uring_sqe, mmap_off, CloneFlags};
use uring::register::Iov;
use uring::{Mem, Ring};
use uring_harness::{level, Case, CaseError, Cite, Cx, Expect, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// RLIMIT_MEMLOCK of the rows: room for the compound page, which is 4 base pages.
const MEMLOCK: u64 = 256 * 1024;

/// Base pages in the donor ring's SQE array: one compound allocation of order 2.
const COMPOUND_PAGES: usize = 4;

/// A ring used only for its memory (nothing is ever submitted on it) and its SQE array
/// mapped: [`COMPOUND_PAGES`] pages, the last one the mapping's guard, so three usable.
fn donor(cx: &Cx) -> Result<(Ring, Arc<Mem>), CaseError> {
    let page = uring::sys::page_size();
    let entries = (COMPOUND_PAGES * page / std::mem::size_of::<io_uring_sqe>()) as u32;
    let ring = cx.ring_with(Ring::builder(entries))?;
    let len = (COMPOUND_PAGES - 1) * page;
    let mem = Mem::map_ring(ring.as_fd(), mmap_off::SQES, len).setup(&format!(
        "mmap the SQE array of a ring of {entries} entries"
    ))?;
    Ok((ring, mem))
}

/// `mm->pinned_vm` in base pages (`VmPin` of /proc/self/status).
fn pinned_pages() -> Result<usize, CaseError> {
    let status = std::fs::read_to_string("/proc/self/status").setup("read /proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmPin:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .ok_or_else(|| CaseError::Broken("no VmPin line in /proc/self/status".into()))?;
    Ok(kb * 1024 / uring::sys::page_size())
}

/// Pages pinned since `base` (a reading of [`pinned_pages`]), for a check.
fn charged_since(base: usize) -> Result<isize, CaseError> {
    Ok(pinned_pages()? as isize - base as isize)
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("register_buffers::compound_page_charged_whole_once")
        .requires(RSRC)
        .needs_level(&level::RING_MEMORY_BUFFERS)
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_account_pin (hpage_acct_ref: acct_new charges page_size(hpage) \
                 once) / io_buffer_unaccount_pages (hpage_acct_unref: the last reference \
                 uncharges it)",
            )
            .rows(&["buf_reg_memlock"])
            .note(
                "a one-page buffer inside a 4-page compound allocation charges all 4 pages; a \
                 second buffer in the same compound page, added by BUFFERS_UPDATE, charges \
                 nothing more; unregistering both returns all 4",
            ),
        )
        .run(|cx| {
            let (_donor, mem) = donor(cx)?;
            let page = uring::sys::page_size();
            let ring = cx.ring()?;
            let base = pinned_pages()?;
            let obs = register(cx, &ring, &[Iov::Mem(mem.slice(0, page)), Iov::Empty])?;
            let after_register = charged_since(base)?;
            ring.registrar()
                .update_buffers(1, &[Iov::Mem(mem.slice(page, page))], &[])
                .setup("BUFFERS_UPDATE slot 1 with the compound page's second page")?;
            let after_update = charged_since(base)?;
            ring.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS")?;
            cx.check_eq(
                "pages pinned (VmPin) after registering page 0 of the compound page, after \
                 adding page 1 to slot 1, after unregistering",
                [after_register, after_update, charged_since(base)?],
                [COMPOUND_PAGES as isize, COMPOUND_PAGES as isize, 0],
            )?;
            Ok(obs)
        }),
    Case::new("clone_buffers::compound_charge_kept_until_last_holder")
        .requires(CB)
        .needs_level(&level::RING_MEMORY_BUFFERS)
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_acct_cloned_hpages (the clone takes its own hpage_acct \
                 reference, no charge) / io_buffer_unmap (only the last holder uncharges)",
            )
            .man(CLONE3, "DESCRIPTION")
            .note(
                "a clone of a buffer in a compound page charges nothing; unregistering the \
                 source keeps the charge (the clone still pins the page), unregistering the \
                 clone then returns it whole",
            ),
        )
        .run(|cx| {
            let (_donor, mem) = donor(cx)?;
            let page = uring::sys::page_size();
            let src = cx.ring()?;
            let dst = cx.ring()?;
            let base = pinned_pages()?;
            src.registrar()
                .register_buffers(&[Iov::Mem(mem.slice(0, page))])
                .setup("register page 0 of the compound page in src")?;
            let registered = charged_since(base)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))?;
            let cloned = charged_since(base)?;
            src.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS on src")?;
            let src_gone = charged_since(base)?;
            dst.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS on dst")?;
            let c = COMPOUND_PAGES as isize;
            cx.check_eq(
                "pages pinned (VmPin) after src registers, after the clone, after src \
                 unregisters, after dst unregisters",
                [registered, cloned, src_gone, charged_since(base)?],
                [c, c, c, 0],
            )?;
            Ok(obs)
        }),
    Case::new("read_fixed::compound_buffer_then_base_pages")
        .requires(FIXED)
        .needs_level(&level::RING_MEMORY_BUFFERS)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_buffer_register (io_check_coalesce_buffer -> io_coalesce_buffer:                  one bvec, imu->folio_shift = the folio's; else PAGE_SHIFT)",
            )
            .note(
                "three pages of a 4-page compound allocation are one bvec of the folio's size;                  reads through it land at their offsets across its base pages. The next buffer                  of the ring reuses the cached io_mapped_ubuf, and its base pages need                  folio_shift set back to PAGE_SHIFT",
            ),
        )
        .run(|cx| {
            let (_donor, mem) = donor(cx)?;
            let page = uring::sys::page_size();
            let mut ring = cx.ring()?;
            let obs = register(cx, &ring, &[Iov::Mem(mem.all())])?;
            reads_into(cx, &mut ring, 0, &mem, page - 32)?;
            reads_into(cx, &mut ring, 0, &mem, 2 * page + 7)?;
            ring.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS")?;
            let anon = cx.mem(2 * page)?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(anon.all())])
                .setup("register two anonymous pages in the same ring")?;
            reads_into(cx, &mut ring, 0, &anon, page - 32)?;
            Ok(obs)
        }),
];
