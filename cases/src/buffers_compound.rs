//! Registered buffers over compound pages without huge pages: a buffer ring the kernel
//! allocates (IOU_PBUF_RING_MMAP) of a power-of-two number of pages is one compound page
//! (memmap.c io_mem_alloc_compound), and its mmap (vm_insert_pages) can be pinned. A buffer
//! inside it is coalesced into one bvec of the folio's size (rsrc.c io_check_coalesce_buffer,
//! io_coalesce_buffer) and charged for the whole folio (io_buffer_account_pin), on the
//! minimal config too, which has neither THP nor hugetlbfs.

use crate::common::folios::{adjacent_folios, kernel_folio, map_folio, register_folio};
use crate::common::folios::{short_head_then_folio, FOLIO_PAGES};
use crate::common::*;
use uring::abi::CqeFlags;
use uring::register::Iov;
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// Bytes of the READ_FIXED: two pages of 4 KiB, inside the buffer at any page size.
const READ_LEN: usize = 8192;

/// Bytes of the READ_FIXEDs across two folios: 8 KiB, inside the buffers at any page size.
const ACROSS_LEN: usize = 8192;

/// Bytes of the READ_FIXED into a buffer's second folio: one page of 4 KiB, inside it at
/// any page size.
const SECOND_LEN: usize = 4096;

/// The rows that map kernel folios next to each other.
const ADJACENT: &[Fact] = &[Fact::RingMmapsAdjacent];

/// RLIMIT_MEMLOCK of `kernel_folio_over_quota_twice`: 2 pages of 4 KiB, half the folio.
const SMALL_MEMLOCK: u64 = 8192;

/// RLIMIT_MEMLOCK of the unprivileged row: 256 pages of 4 KiB, 16 of 64 KiB.
const MEMLOCK: u64 = 1 << 20;

/// The row of two adjacent folios (lower one first, the upper one without its first `skip`
/// pages): a buffer of `pages` pages from page `first` of the lower folio, and a READ_FIXED
/// of [`ACROSS_LEN`] bytes of a memfd into it starting `before` bytes below the seam. The
/// CQE is observed; the bytes are checked where they land and the rest of both folios
/// untouched (zero).
fn across_folios(
    cx: &Cx,
    skip: usize,
    first: usize,
    pages: usize,
    before: usize,
    what: &str,
) -> uring_harness::CaseResult {
    let ps = uring::sys::page_size();
    let mut ring = cx.ring()?;
    let (lo, hi) = adjacent_folios(&ring, skip)?;
    ring.registrar()
        .register_buffers(&[Iov::MemLen(lo.slice(first * ps, ps), (pages * ps) as u64)])
        .setup(&format!("REGISTER_BUFFERS of {what}"))?;
    let data = pattern(ACROSS_LEN, 0x4d);
    let f = sys::memfd(ACROSS_LEN as u64).setup("memfd")?;
    std::os::unix::fs::FileExt::write_all_at(&f, &data, 0).setup("write the memfd")?;
    let at = FOLIO_PAGES * ps - before;
    let c = read_fixed(
        cx,
        &mut ring,
        fd(&f),
        lo.addr() + at as u64,
        ACROSS_LEN as u32,
        0,
    )?;
    if c.res == ACROSS_LEN as i32 {
        let mut want = vec![0u8; lo.len() + hi.len()];
        want[at..at + ACROSS_LEN].copy_from_slice(&data);
        let mut got = lo.read(0, lo.len());
        got.extend(hi.read(0, hi.len()));
        cx.check(got == want, || {
            let bad = got.iter().zip(&want).position(|(g, w)| g != w).unwrap_or(0);
            format!("the two folios' bytes differ from the expected ones first at {bad:#x}")
        })?;
    }
    cx.observe(
        c,
        &format!("into a buffer of {what}, from {before} bytes before the seam"),
    )
}

/// The rows.
pub const CASES: &[Case] = &[
    Case::new("read_fixed::kernel_folio_from_second_page")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .expect(Expect::cqe(READ_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_buffer_register -> io_check_coalesce_buffer / io_coalesce_buffer \
                 (folio_shift, first_folio_page_idx)",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "a buffer of pages 1-3 of a 4-page compound buffer ring: one bvec of the folio \
                 at offset one page; a READ_FIXED of 8 KiB at 100 bytes into it",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let mut ring = cx.ring()?;
            let m = kernel_folio(&ring)?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(m.slice(ps, (FOLIO_PAGES - 1) * ps))])
                .setup("REGISTER_BUFFERS of pages 1-3 of the folio")?;
            let data = pattern(READ_LEN, 0x3c);
            let f = sys::memfd(data.len() as u64).setup("memfd")?;
            std::os::unix::fs::FileExt::write_all_at(&f, &data, 0).setup("write the memfd")?;
            let c = read_fixed(
                cx,
                &mut ring,
                fd(&f),
                m.addr() + ps as u64 + 100,
                READ_LEN as u32,
                0,
            )?;
            if c.res == READ_LEN as i32 {
                cx.check_eq("bytes at 100 into page 1", m.read(ps + 100, READ_LEN), data)?;
                let zeros = |n| vec![0u8; n];
                cx.check_eq(
                    "page 0 and page 1's first 100 bytes",
                    m.read(0, ps + 100),
                    zeros(ps + 100),
                )?;
                let end = ps + 100 + READ_LEN;
                cx.check_eq(
                    "the rest of the folio",
                    m.read(end, FOLIO_PAGES * ps - end),
                    zeros(FOLIO_PAGES * ps - end),
                )?;
            }
            cx.observe(
                c,
                "into pages 1-3 of a kernel-allocated 4-page folio, from 100 bytes in",
            )
        }),
    Case::new("register_buffers::kernel_folio_charged_whole")
        .requires(&[Feature::PbufRingMmap])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_account_pin (PageCompound: page_size(hpage)) / \
                 io_buffer_unaccount_pages",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "one page of a 4-page compound buffer ring, registered without CAP_IPC_LOCK: \
                 VmPin grows by the whole folio, and falls back when it is unregistered",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let ring = cx.ring()?;
            let m = kernel_folio(&ring)?;
            let before = crate::buffers_pinned::vm_pin_kib()?;
            let obs = register(cx, &ring, &[Iov::Mem(m.slice(ps, ps))])?;
            if obs.answer != uring_harness::Answer::Sync(Ok(0)) {
                return Ok(obs);
            }
            cx.check_eq(
                "VmPin growth (KiB) after registering one page of the folio",
                crate::buffers_pinned::vm_pin_kib()?.wrapping_sub(before),
                (FOLIO_PAGES * ps / 1024) as u64,
            )?;
            ring.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS")?;
            cx.check_eq(
                "VmPin growth (KiB) after unregistering it",
                crate::buffers_pinned::vm_pin_kib()?.wrapping_sub(before),
                0,
            )?;
            Ok(obs)
        }),
    Case::new("read_fixed::kernel_folios_tail_and_head")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(ACROSS_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (head folio ends on its last page, next folio \
                 starts on its first) / io_coalesce_buffer / io_import_fixed",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "a buffer of the last 3 pages of one 4-page kernel folio and the first 3 of the \
                 next, mapped adjacent: two bvecs of a folio each; a READ_FIXED across the seam",
            ),
        )
        .run(|cx| {
            across_folios(
                cx,
                0,
                1,
                6,
                ACROSS_LEN / 2,
                "pages 1-3 of one folio and 0-2 of the next",
            )
        }),
    Case::new("read_fixed::kernel_folios_last_page_then_whole")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(ACROSS_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (a head of one page, a whole folio after it) / \
                 io_coalesce_buffer / io_import_fixed",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "a buffer of the last page of one 4-page kernel folio and the whole next one: \
                 a READ_FIXED from 100 bytes before the seam",
            ),
        )
        .run(|cx| across_folios(cx, 0, 3, 5, 100, "page 3 of one folio and all of the next")),
    Case::new("read_fixed::kernel_folios_two_whole")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(ACROSS_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (a whole head folio: nr_pages_head = its pages) \
                 / io_coalesce_buffer / io_import_fixed",
            )
            .rows(&["rwf_kernel_folio"])
            .note("two whole adjacent 4-page kernel folios: a READ_FIXED across the seam"),
        )
        .run(|cx| across_folios(cx, 0, 0, 8, ACROSS_LEN / 2 + 100, "two whole folios")),
    Case::new("register_buffers::kernel_folio_over_quota_twice")
        .requires(&[Feature::PbufRingMmap])
        .needs_level(&level::REGION_COMPOUND_CHARGE)
        .unprivileged(SMALL_MEMLOCK)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_account_pin (io_account_mem fails: io_buffer_unaccount_hpages \
                 undoes the folio's hpage_acct reference)",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "one page of a 4-page kernel folio under an RLIMIT_MEMLOCK of 2 pages: the whole \
                 folio is charged, so it is ENOMEM, and again the second time (the first \
                 attempt left no record of the folio behind); needs a kernel that charges \
                 neither the ring nor the buffer ring (7.2)",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            // The premise: the limit holds the one page but not the folio. Above 4 KiB pages
            // 8 KiB is under one page, and a refusal would prove nothing about the folio.
            if (SMALL_MEMLOCK as usize) < ps {
                return Err(CaseError::Skip(uring_harness::SkipCause::Fact {
                    fact: "page_size".into(),
                    needs: format!(
                        "pages of at most {SMALL_MEMLOCK} bytes, so that RLIMIT_MEMLOCK holds \
                         one page of the folio but not the whole folio"
                    ),
                    probe: format!("sysconf(_SC_PAGESIZE) = {ps}"),
                }));
            }
            let ring = cx.ring()?;
            let m = kernel_folio(&ring)?;
            let iov = [Iov::Mem(m.slice(ps, ps))];
            let first = register(cx, &ring, &iov)?;
            if first.answer != uring_harness::Answer::Sync(Err(E::ENOMEM)) {
                return Ok(first);
            }
            register(cx, &ring, &iov)
        }),
    Case::new("read_fixed::kernel_folios_next_from_third_page")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(ACROSS_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (the next folio must start on its first page: \
                 folio_page_idx != 0, no coalescing) / io_import_fixed",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "pages 1-3 of one 4-page kernel folio, then pages 2-3 of the next (its first two \
                 unmapped): not coalescible, one bvec a page; a READ_FIXED across the seam",
            ),
        )
        .run(|cx| {
            across_folios(
                cx,
                2,
                1,
                5,
                ACROSS_LEN / 2,
                "pages 1-3 of one folio and 2-3 of the next",
            )
        }),
    Case::new("read_fixed::kernel_folio_short_head_then_next")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(ACROSS_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (the head folio must end on its last page: \
                 folio_page_idx != nr_pages_mid - 1, no coalescing) / io_import_fixed",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "pages 0-2 of one 4-page kernel folio (its last page unmapped), then the whole \
                 next one: not coalescible, one bvec a page; a READ_FIXED across the seam",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let mut ring = cx.ring()?;
            let [lo, hi, _top] = short_head_then_folio(&ring)?;
            ring.registrar()
                .register_buffers(&[Iov::MemLen(lo.slice(0, ps), (6 * ps) as u64)])
                .setup("REGISTER_BUFFERS of pages 0-2 of one folio and 0-2 of the next")?;
            let data = pattern(ACROSS_LEN, 0x5e);
            let f = sys::memfd(ACROSS_LEN as u64).setup("memfd")?;
            std::os::unix::fs::FileExt::write_all_at(&f, &data, 0).setup("write the memfd")?;
            let at = 3 * ps - ACROSS_LEN / 2;
            let c = read_fixed(
                cx,
                &mut ring,
                fd(&f),
                lo.addr() + at as u64,
                ACROSS_LEN as u32,
                0,
            )?;
            if c.res == ACROSS_LEN as i32 {
                let mut want = vec![0u8; lo.len() + hi.len()];
                want[at..at + ACROSS_LEN].copy_from_slice(&data);
                let mut got = lo.read(0, lo.len());
                got.extend(hi.read(0, hi.len()));
                cx.check_eq("bytes of the 3 pages and the next folio", got, want)?;
            }
            cx.observe(
                c,
                "across a head folio of 3 of its 4 pages and the next folio",
            )
        }),
    Case::new("read_fixed::kernel_folio_mapped_twice")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(ACROSS_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (a page of the same folio that is not the next \
                 one starts a new folio bvec) / io_coalesce_buffer / io_import_fixed",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "one 4-page kernel folio mapped twice, adjacent: a buffer of its last page (first \
                 mapping) and its first page (second mapping), two bvecs of the same folio; a \
                 READ_FIXED of both pages lands in pages 3 and 0 of the folio",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let mut ring = cx.ring()?;
            register_folio(&ring, 1)?;
            let mut apart = Vec::new();
            let (lo, hi) = loop {
                let hi = map_folio(&ring, 1)?;
                let lo = map_folio(&ring, 1)?;
                if lo.addr() + lo.len() as u64 == hi.addr() {
                    break (lo, hi);
                }
                if apart.len() == 32 {
                    return Err(CaseError::Skip(uring_harness::SkipCause::Environment {
                        what: "two mmaps of one kernel-allocated buffer ring never came out \
                               adjacent in 16 tries"
                            .into(),
                    }));
                }
                apart.push(hi);
                apart.push(lo);
            };
            ring.registrar()
                .register_buffers(&[Iov::MemLen(lo.slice(3 * ps, ps), (2 * ps) as u64)])
                .setup("REGISTER_BUFFERS of the folio's last page, then its first")?;
            let data = pattern(ACROSS_LEN, 0x6b);
            let f = sys::memfd(ACROSS_LEN as u64).setup("memfd")?;
            std::os::unix::fs::FileExt::write_all_at(&f, &data, 0).setup("write the memfd")?;
            let at = 4 * ps - ACROSS_LEN / 2;
            let c = read_fixed(
                cx,
                &mut ring,
                fd(&f),
                lo.addr() + at as u64,
                ACROSS_LEN as u32,
                0,
            )?;
            if c.res == ACROSS_LEN as i32 {
                // Both mappings show the one folio: the first half of the bytes at the end of
                // its last page, the second half at the start of its first.
                let half = ACROSS_LEN / 2;
                let mut folio = vec![0u8; FOLIO_PAGES * ps];
                folio[..half].copy_from_slice(&data[half..]);
                folio[at..].copy_from_slice(&data[..half]);
                cx.check_eq(
                    "the folio through the first mapping",
                    lo.read(0, lo.len()),
                    folio.clone(),
                )?;
                cx.check_eq(
                    "the folio through the second mapping",
                    hi.read(0, hi.len()),
                    folio,
                )?;
            }
            cx.observe(
                c,
                "across two mappings of one folio: its last page, then its first",
            )
        }),
    Case::new("read_fixed::kernel_folio_after_small_pages")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .expect(Expect::cqe(READ_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_buffer_register -> io_check_coalesce_buffer (every field of \
                 io_imu_folio_data set for each buffer) / io_coalesce_buffer",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "one REGISTER_BUFFERS of two buffers: two small pages, then pages 1-3 of a \
                 4-page kernel folio, whose coalescing must not inherit the first buffer's \
                 folio data; a READ_FIXED of 8 KiB at 100 bytes into the second",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let mut ring = cx.ring()?;
            let small = cx.mem(2 * ps)?;
            let m = kernel_folio(&ring)?;
            ring.registrar()
                .register_buffers(&[
                    Iov::Mem(small.slice(0, 2 * ps)),
                    Iov::Mem(m.slice(ps, (FOLIO_PAGES - 1) * ps)),
                ])
                .setup("REGISTER_BUFFERS of two small pages and pages 1-3 of the folio")?;
            let data = pattern(READ_LEN, 0x71);
            let f = sys::memfd(data.len() as u64).setup("memfd")?;
            std::os::unix::fs::FileExt::write_all_at(&f, &data, 0).setup("write the memfd")?;
            let args = uring::op::Fixed {
                addr: m.addr() + ps as u64 + 100,
                len: READ_LEN as u32,
                offset: 0,
                buf_index: 1,
            };
            let c = read_fixed_at(cx, &mut ring, fd(&f), args)?;
            if c.res == READ_LEN as i32 {
                let mut want = vec![0u8; FOLIO_PAGES * ps];
                want[ps + 100..ps + 100 + READ_LEN].copy_from_slice(&data);
                cx.check_eq("the folio's bytes", m.read(0, m.len()), want)?;
            }
            cx.observe(
                c,
                "into buffer 1 (pages 1-3 of a kernel folio, after a small-page buffer)",
            )
        }),
    Case::new("read_fixed::kernel_folios_after_small_pages_second_folio")
        .requires(&[Feature::PbufRingMmap, Feature::OpReadWriteFixed])
        .needs_level(&level::RING_MEMORY_PINNABLE)
        .needs(ADJACENT)
        .expect(Expect::cqe(SECOND_LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer (folio_shift set for each buffer) / \
                 io_import_fixed (seg_skip by folio_shift)",
            )
            .rows(&["rwf_kernel_folio"])
            .note(
                "one REGISTER_BUFFERS of two buffers: two small pages, then pages 1-3 of one \
                 kernel folio and 0-2 of the next; a READ_FIXED of 4 KiB at a page and 100 bytes \
                 into the second folio, which io_import_fixed finds by the folio size",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let mut ring = cx.ring()?;
            let small = cx.mem(2 * ps)?;
            let (lo, hi) = adjacent_folios(&ring, 0)?;
            ring.registrar()
                .register_buffers(&[
                    Iov::Mem(small.slice(0, 2 * ps)),
                    Iov::MemLen(lo.slice(ps, ps), (6 * ps) as u64),
                ])
                .setup("REGISTER_BUFFERS of two small pages and 3 + 3 pages of two folios")?;
            let data = pattern(SECOND_LEN, 0x77);
            let f = sys::memfd(data.len() as u64).setup("memfd")?;
            std::os::unix::fs::FileExt::write_all_at(&f, &data, 0).setup("write the memfd")?;
            let args = uring::op::Fixed {
                addr: hi.addr() + ps as u64 + 100,
                len: SECOND_LEN as u32,
                offset: 0,
                buf_index: 1,
            };
            let c = read_fixed_at(cx, &mut ring, fd(&f), args)?;
            if c.res == SECOND_LEN as i32 {
                let mut want = vec![0u8; hi.len()];
                want[ps + 100..ps + 100 + SECOND_LEN].copy_from_slice(&data);
                cx.check_eq("the second folio's bytes", hi.read(0, hi.len()), want)?;
                cx.check_eq(
                    "the first folio's bytes",
                    lo.read(0, lo.len()),
                    vec![0u8; lo.len()],
                )?;
            }
            cx.observe(
                c,
                "into the second folio of buffer 1 (after a small-page buffer 0)",
            )
        }),
];
