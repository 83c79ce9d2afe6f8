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
use crate::readv_fixed_segments::submit_readv_fixed;
use std::sync::Arc;
use uring::abi::{io_uring_sqe, mmap_off, CloneFlags};
use uring::register::Iov;
use uring::{op, Mem, Ring};
use uring_harness::resource::Resource;
use uring_harness::{level, Case, CaseError, Cite, Cx, Expect, Setup, SkipCause};

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

/// The largest SQE array, IORING_MAX_ENTRIES (32768) SQEs of 64 bytes: 2 MiB, one compound
/// allocation where the kernel found that much contiguous memory.
const BIG_SQES: usize = 32768 * 64;

/// RLIMIT_MEMLOCK of the row over [`BIG_SQES`]: the buffer's 2 MiB, and the donor ring's own
/// 3.2 MiB on the 6.18-era kernels that charge rings.
const BIG_MEMLOCK: u64 = 8 << 20;

/// MAX_RW_COUNT (include/linux/fs.h): INT_MAX rounded down to a page.
fn max_rw_count() -> u64 {
    i32::MAX as u64 & !(uring::sys::page_size() as u64 - 1)
}

/// A ring of IORING_MAX_ENTRIES used only for its memory, its whole SQE array mapped (the
/// guard page lies past it), and a ring with two slots: 0 one page of that array, 1 all of it.
/// Skips unless the array is one compound allocation, as the charge of slot 0 tells (all
/// 2 MiB; slot 1 then adds nothing).
fn big_donor(cx: &Cx) -> Result<(Ring, Arc<Mem>, Ring), CaseError> {
    let donor = cx.ring_with(Ring::builder(32768))?;
    let mem = Mem::map_ring(donor.as_fd(), mmap_off::SQES, BIG_SQES)
        .setup("mmap the 2 MiB SQE array of a ring of 32768 entries")?;
    let page = uring::sys::page_size();
    let ring = cx.ring()?;
    let base = pinned_pages()?;
    ring.registrar()
        .register_buffers(&[Iov::Mem(mem.slice(0, page)), Iov::Empty])
        .setup("register one page of the SQE array in slot 0")?;
    let charged = charged_since(base)?;
    if charged != (BIG_SQES / page) as isize {
        return Err(CaseError::Skip(SkipCause::Resource {
            resource: Resource::HugePages,
            step: "the ring's 2 MiB SQE array is not one compound allocation (no 2 MiB of \
                   contiguous memory: io_mem_alloc_compound fell back to single pages)"
                .into(),
            errno: None,
            limit: format!("one page of it registered charges {charged} pages, not all"),
        }));
    }
    ring.registrar()
        .update_buffers(1, &[Iov::Mem(mem.all())], &[])
        .setup("BUFFERS_UPDATE slot 1 with the whole SQE array")?;
    Ok((donor, mem, ring))
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
                "rsrc.c:io_sqe_buffer_register (io_check_coalesce_buffer -> io_coalesce_buffer: \
                 one bvec, imu->folio_shift = the folio's; else PAGE_SHIFT)",
            )
            .note(
                "three pages of a 4-page compound allocation are one bvec of the folio's size; \
                 reads through it land at their offsets across its base pages. The next buffer \
                 of the ring reuses the cached io_mapped_ubuf, and its base pages need \
                 folio_shift set back to PAGE_SHIFT",
            ),
        )
        .run(|cx| {
            let (_donor, mem) = donor(cx)?;
            let page = uring::sys::page_size();
            let mut ring = cx.ring()?;
            let obs = register(cx, &ring, &[Iov::Mem(mem.all())])?;
            // Refused (ENOMEM under a small RLIMIT_MEMLOCK, as nobody): the harness judges
            // that answer; there is nothing to read through.
            if !answered_zero(&obs) {
                return Ok(obs);
            }
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
    Case::new("readv_fixed::total_len_at_max_rw_count")
        .requires(&[uring_harness::Feature::OpReadvFixed])
        .needs_level(&level::RING_MEMORY_BUFFERS)
        .unprivileged(BIG_MEMLOCK)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_vec_fill_bvec (total_len > MAX_RW_COUNT)")
                .rows(&["rvf_nr_iovecs"])
                .note(
                    "1024 iovecs over one 2 MiB folio (3 segments each, so the vector fits \
                     kmalloc) add up to MAX_RW_COUNT and read the file; one byte more is \
                     EINVAL",
                ),
        )
        .run(|cx| {
            let (_donor, mem, mut ring) = big_donor(cx)?;
            let (f, data) = data_file(cx, 64, 23)?;
            let big = BIG_SQES as u64;
            let last = max_rw_count() - 1023 * big;
            let iovs = |last: u64| {
                let mut v = vec![(mem.addr(), big); 1023];
                v.push((mem.addr(), last));
                v
            };
            let read = |ring: &mut Ring, iovs: &[(u64, u64)]| {
                let args = op::FixedVec {
                    iovs,
                    offset: 0,
                    buf_index: 1,
                };
                submit_readv_fixed(cx, ring, &f, args)
            };
            let at_max = read(&mut ring, &iovs(last))?;
            cx.check_eq(
                "res of the READV_FIXED of MAX_RW_COUNT bytes in all",
                at_max.res,
                64,
            )?;
            cx.check_eq("the bytes read", mem.read(0, 64), data)?;
            let over = read(&mut ring, &iovs(last + 1))?;
            cx.observe(
                over,
                "with 1023 iovecs of the whole 2 MiB buffer of slot 1 and one more: \
                 MAX_RW_COUNT + 1 bytes",
            )
        }),
];
