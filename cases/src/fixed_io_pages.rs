//! §1.5 continued: READ_FIXED / WRITE_FIXED on huge pages (hugetlb and THP), with O_DIRECT,
//! on pages kept after munmap, and the attribute words (6.15) and MAX_RW_COUNT (7.x). The
//! errors and the ordinary offset classes are in [`crate::fixed_io`]; a buffer ending one byte
//! into a page.

use crate::common::*;
use uring::abi::{CqeFlags, RW_ATTR_FLAG_PI};
use uring::mem::Backing;
use uring::register::Iov;
use uring::{op, ForeignAddr};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Setup, Want};

/// A READ_FIXED with the attribute words set (`attr`, `mask`): where the kernel ignores
/// them the 8 bytes arrive, where it rejects them the buffer stays untouched.
fn read_fixed_attr(cx: &Cx, what: &str, attr: ForeignAddr, mask: u64) -> CaseResult {
    let (mut ring, m) = ring_with_buffers(cx, 1)?;
    let (f, data) = data_file(cx, 64, 1)?;
    let sqe = op::read_fixed(
        fd(&f),
        op::Fixed {
            addr: m.addr(),
            len: 8,
            offset: 0,
            buf_index: 0,
        },
    )
    .rw_attr(attr, mask);
    let c = cx.submit_one(&mut ring, sqe.user_data(1))?;
    let want = if c.res == 8 {
        data[..8].to_vec()
    } else {
        vec![0; 8]
    };
    cx.check_eq(
        "bytes in the buffer after the READ_FIXED",
        m.read(0, 8),
        want,
    )?;
    cx.observe(c, what)
}

/// Huge-page memory of `kind` (two huge pages of the size probed: the PMD size for THP,
/// the smallest hugetlb pool with two free pages), with two buffers: slot 0 the whole of
/// it, slot 1 starting 5 base pages + 123 bytes in and crossing into the second huge page.
/// READ_FIXEDs at each offset class (in base pages of this kernel), each checked; the
/// crossing read of slot 1 is observed.
fn huge_offsets(cx: &Cx, kind: Backing) -> CaseResult {
    let page = uring::sys::page_size();
    let (m, huge) = map_huge(kind, 2)?;
    let what = uring_harness::env::size_name(huge);
    let (f, data) = data_file(cx, 2 * page + 4096, 13)?;
    let mut ring = cx.ring()?;
    let s1 = 5 * page + 123;
    ring.registrar()
        .register_buffers(&[Iov::Mem(m.all()), Iov::Mem(m.slice(s1, huge + huge / 2))])
        .setup("register the huge-page buffers")?;
    // (slot, offset in the memory, length, file offset)
    let classes: [(u16, usize, usize, usize); 5] = [
        (0, 0, 300, 0),                      // the start of the first huge page
        (0, 3 * page + 17, page + 904, 100), // a later base page of it, crossing a page
        (0, huge + 2 * page + 5, 700, 200),  // inside the second huge page
        (1, s1 + page + 9, 300, 300),        // slot 1 (starts mid-folio), a later page
        (1, huge - 100, 4096, 1000),         // slot 1, crossing the huge page boundary
    ];
    let mut last = None;
    // Zeroed once; after each read only its range is zeroed again (the rest was checked to
    // be zero), and the rest is compared with zeros as slices (memcmp): a fill and a byte
    // loop over the whole memory per class took more than the case's 10 s under TCG with
    // 32 MiB pages.
    m.fill(0);
    let zeros = vec![0u8; m.len()];
    for (slot, at, len, off) in classes {
        let sqe = op::read_fixed(
            fd(&f),
            op::Fixed {
                addr: m.addr() + at as u64,
                len: len as u32,
                offset: off as u64,
                buf_index: slot,
            },
        )
        .user_data(0x100 + at as u64);
        let c = cx.submit_one(&mut ring, sqe)?;
        cx.check_eq(
            &format!("READ_FIXED res (slot {slot}, offset {at:#x})"),
            c.res,
            len as i32,
        )?;
        let all = m.read(0, m.len());
        cx.check(all[at..at + len] == data[off..off + len], || {
            format!("bytes read at offset {at:#x} through slot {slot} differ from the file's")
        })?;
        cx.check(
            all[..at] == zeros[..at] && all[at + len..] == zeros[at + len..],
            || format!("the read at offset {at:#x} wrote outside its range"),
        )?;
        m.write(at, &vec![0; len]);
        last = Some(c);
    }
    let c = last.expect("five classes");
    cx.observe(
        c,
        &format!(
            "crossing the {what} huge page boundary through slot 1 ({kind:?} memory; four \
             other offset classes checked)"
        ),
    )
}

/// A temp file holding `data`, opened again with O_DIRECT. The file has no name from the
/// start ([`Cx::file_with`]), so nothing is left in TMPDIR on any path; the O_DIRECT open
/// goes through this thread's /proc/thread-self/fd link (a case thread has its own fd
/// table, which /proc/self/fd, the thread group leader's, is not).
pub(crate) fn o_direct_file(cx: &Cx, data: &[u8]) -> Result<std::fs::File, CaseError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let plain = cx.file_with(data)?;
    plain.sync_all().setup("fsync the data file")?;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(format!("/proc/thread-self/fd/{}", plain.as_raw_fd()))
        .setup("open the data file again with O_DIRECT")
}

/// A WRITE_FIXED of `data` (4 KiB, copied into buffer 0 at `m` first) at offset 4096 of the
/// 8 KiB file `f`, user_data 1.
pub(crate) fn o_direct_write(f: &std::fs::File, m: &uring::Mem, data: &[u8]) -> uring::Sqe {
    m.write(0, data);
    op::write_fixed(
        fd(f),
        op::Fixed {
            addr: m.addr(),
            len: 4096,
            offset: 4096,
            buf_index: 0,
        },
    )
    .user_data(1)
}

/// Checks the 8 KiB file `f` (zeros before) after [`o_direct_write`] answered `res`: `data`
/// at 4096 if it wrote 4096 bytes, zeros else. Read through a reopen without O_DIRECT.
pub(crate) fn check_o_direct_write(
    cx: &Cx,
    f: &std::fs::File,
    data: &[u8],
    res: i32,
) -> Result<(), CaseError> {
    use std::os::unix::fs::FileExt;
    let mut back = vec![0u8; 8192];
    let g = std::fs::File::open(format!("/proc/thread-self/fd/{}", fd(f)))
        .setup("reopen the file without O_DIRECT")?;
    g.read_exact_at(&mut back, 0).setup("read the file back")?;
    let mut want = vec![0u8; 4096];
    if res == 4096 {
        want.extend_from_slice(data)
    } else {
        want.resize(8192, 0)
    }
    cx.check_eq("the file after the O_DIRECT write", back, want)
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The fixed-I/O rows.
pub const CASES: &[Case] = &[
    // ---- huge pages, O_DIRECT, munmap ----
    // (The O_DIRECT rows' 4096s are the filesystem's block, O_DIRECT's alignment rule
    // (iomap_dio_bio_iter: logical block size, dma alignment), not a page: they hold on
    // every page size.)
    Case::new("read_fixed::hugetlb_offsets")
        .requires(FIXED)
        .needs(&[Fact::HugetlbPages])
        .expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer / io_coalesce_buffer, io_import_fixed \
                 (folio_shift)",
            )
            .man(MAN3, "DESCRIPTION")
            .rows(&["rwf_huge_pages"]),
        )
        .run(|cx| huge_offsets(cx, Backing::Hugetlb)),
    Case::new("read_fixed::thp_offsets")
        .requires(FIXED)
        .needs(&[Fact::TransparentHugepages])
        .expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_check_coalesce_buffer / io_coalesce_buffer, io_import_fixed \
                 (folio_shift)",
            )
            .man(MAN3, "DESCRIPTION")
            .rows(&["rwf_huge_pages"])
            .note(
                "with THP the kernel may or may not back the memory with huge folios; the bytes \
                 must be right either way",
            ),
        )
        .run(|cx| huge_offsets(cx, Backing::Thp)),
    Case::new("read_fixed::o_direct")
        .requires(FIXED)
        .needs(&[Fact::TmpdirODirect])
        .expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_read -> the filesystem's direct I/O (the bvec iter of the registered \
                 pages)",
            )
            .man(MAN3, "DESCRIPTION")
            .rows(&["rwf_o_direct"]),
        )
        .run(|cx| {
            let data = pattern(8192, 23);
            let f = o_direct_file(cx, &data)?;
            let (mut ring, m) = ring_with_buffers(cx, 2)?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr() + 4096,
                        len: 4096,
                        offset: 4096,
                        buf_index: 1,
                    },
                )
                .user_data(1),
            )?;
            let want = if c.res == 4096 {
                data[4096..].to_vec()
            } else {
                vec![0; 4096]
            };
            cx.check_eq(
                "bytes in buffer 1 after the O_DIRECT read",
                m.read(4096, 4096),
                want,
            )?;
            cx.check_eq("buffer 0 (not read into)", m.read(0, 4096), vec![0; 4096])?;
            cx.observe(c, "of an O_DIRECT file at offset 4096 into buffer 1")
        }),
    Case::new("write_fixed::o_direct")
        .requires(FIXED)
        .needs(&[Fact::TmpdirODirect])
        .expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(
            Cite::kernel("rw.c:io_write -> the filesystem's direct I/O")
                .man(MAN3, "DESCRIPTION")
                .rows(&["rwf_o_direct"]),
        )
        .run(|cx| {
            let f = o_direct_file(cx, &[0u8; 8192])?;
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let data = pattern(4096, 29);
            let c = cx.submit_one(&mut ring, o_direct_write(&f, &m, &data))?;
            check_o_direct_write(cx, &f, &data, c.res)?;
            cx.observe(c, "to an O_DIRECT file at offset 4096 from buffer 0")
        }),
    Case::new("read_fixed::after_munmap")
        .requires(FIXED)
        .expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_buffer_register (pages pinned FOLL_LONGTERM) / io_import_fixed \
                 (imu->bvec, not the address)",
            )
            .man(MAN3, "DESCRIPTION")
            .rows(&["rwf_after_munmap"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 2)?;
            let kept = pattern(4096, 31);
            m.write(4096, &kept);
            let addr = m.addr();
            drop(m); // munmap: only the registration holds the pages now
            let (src, data) = data_file(cx, 4096, 37)?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&src),
                    op::Fixed {
                        addr,
                        len: 4096,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            // The pages are seen again only through the registration: write both out.
            let out = cx.file_for_writes(8192)?;
            let w0 = cx.submit_one(
                &mut ring,
                op::write_fixed(
                    fd(&out),
                    op::Fixed {
                        addr,
                        len: 4096,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(2),
            )?;
            let w1 = cx.submit_one(
                &mut ring,
                op::write_fixed(
                    fd(&out),
                    op::Fixed {
                        addr: addr + 4096,
                        len: 4096,
                        offset: 4096,
                        buf_index: 1,
                    },
                )
                .user_data(3),
            )?;
            cx.check_eq(
                "WRITE_FIXED res of the two unmapped buffers",
                (w0.res, w1.res),
                (4096, 4096),
            )?;
            let mut back = vec![0u8; 8192];
            use std::os::unix::fs::FileExt;
            out.read_exact_at(&mut back, 0)
                .setup("read the written file")?;
            let want0 = if c.res == 4096 { data } else { vec![0; 4096] };
            cx.check_eq(
                "buffer 0 (read into after munmap), as written out",
                back[..4096].to_vec(),
                want0,
            )?;
            cx.check_eq(
                "buffer 1 (written before munmap), as written out",
                back[4096..].to_vec(),
                kept,
            )?;
            cx.observe(c, "into buffer 0 after its memory was unmapped")
        }),
    // ---- the attribute words (6.15) and MAX_RW_COUNT (7.x) ----
    Case::new("read_fixed::attr_type_unknown")
        .requires(FIXED)
        .expect(Expect::by_level(
            &level::RW_ATTR,
            Want::cqe_errno(E::EINVAL),
            Want::cqe(8, CqeFlags::NONE),
        ))
        .cite(
            Cite::kernel("rw.c:__io_prep_rw (attr_type_mask != IORING_RW_ATTR_FLAG_PI)")
                .rows(&["rwf_attr"])
                .note(
                    "before 6.15 the words were addr3/__pad2, which reads never looked at: the \
                     read goes through",
                ),
        )
        .run(|cx| {
            read_fixed_attr(
                cx,
                "(attr_type_mask bit 1: no such attribute)",
                ForeignAddr::NULL,
                1 << 1,
            )
        }),
    Case::new("read_fixed::attr_pi_unmapped")
        .requires(FIXED)
        .expect(Expect::by_level(
            &level::RW_ATTR,
            Want::cqe_errno(E::EFAULT),
            Want::cqe(8, CqeFlags::NONE),
        ))
        .cite(
            Cite::kernel("rw.c:io_prep_rw_pi (copy_from_user of struct io_uring_attr_pi)")
                .rows(&["rwf_attr"]),
        )
        .run(|cx| {
            read_fixed_attr(
                cx,
                "(PI attribute at an unmapped attr_ptr)",
                ForeignAddr::LOW,
                RW_ATTR_FLAG_PI,
            )
        }),
    Case::new("read_fixed::len_over_max_rw_count")
        .requires(FIXED)
        .needs(&[Fact::MemAvailable3G, Fact::CapIpcLock])
        .needs_level(&level::BUFFER_SIZE_1TIB)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:validate_fixed_range (len > MAX_RW_COUNT)")
                .rows(&["rwf_len_max"])
                .note(
                    "needs a buffer above 2 GiB, which only the 1 TiB limit (7.2) allows; the row \
                     faults in and pins 2 GiB",
                ),
        )
        .run(|cx| {
            const LEN: usize = 2 << 30;
            let m = cx.mem(LEN)?;
            let mut ring = cx.ring()?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(m.all())])
                .setup("register a 2 GiB buffer")?;
            let (f, data) = data_file(cx, 64, 41)?;
            let tail = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr() + (LEN - 64) as u64,
                        len: 64,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(2),
            )?;
            cx.check_eq(
                "READ_FIXED of the last 64 bytes of the 2 GiB buffer",
                tail.res,
                64,
            )?;
            cx.check_eq(
                "bytes at the end of the 2 GiB buffer",
                m.read(LEN - 64, 64),
                data,
            )?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr(),
                        len: 0x7fff_f001,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.check_eq(
                "the start of the buffer after the refused read",
                m.read(0, 64),
                vec![0; 64],
            )?;
            cx.observe(c, "(MAX_RW_COUNT + 1 bytes) inside a 2 GiB buffer")
        }),
    Case::new("read_fixed::buffer_one_byte_into_last_page")
        .requires(FIXED)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "memmap.c:io_pin_pages (end rounded up by PAGE_SIZE - 1) <- \
                 rsrc.c:io_sqe_buffer_register",
            )
            .rows(&["rwf_offsets"])
            .note(
                "a buffer of one page and one byte pins two pages: a read of its last two \
                 bytes lands in both",
            ),
        )
        .run(|cx| {
            let page = uring::sys::page_size();
            let m = cx.mem(2 * page)?;
            crate::fixed_io::read_into(
                cx,
                &m,
                0,
                page + 1,
                page - 1,
                2,
                0,
                "the last 2 bytes of a buffer of one page and one byte",
            )
        }),
    Case::new("register_buffers::one_tib_page_array_too_big")
        .requires(FIXED)
        .needs(&[Fact::Page4K])
        .needs_level(&level::BUFFER_SIZE_1TIB)
        .expect(Expect::errno(E::EOVERFLOW))
        .cite(
            Cite::kernel(
                "memmap.c:io_pin_pages (nr_pages > INT_MAX / sizeof(struct page *)) <- \
                 rsrc.c:io_sqe_buffer_register",
            )
            .rows(&["rwf_len_max"])
            .note(
                "a 1 TiB buffer is within the 1 TiB cap (7.2) but is 2^28 pages of 4 KiB: its \
                 page array would pass INT_MAX bytes, so nothing is pinned; with larger pages \
                 1 TiB is fewer pages, hence 4 KiB pages only",
            ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let iov = [Iov::Foreign(ForeignAddr::LOW, 1 << 40)];
            cx.sync(
                "io_uring_register(ring, REGISTER_BUFFERS, [{0x1000, 1 TiB}], 1)",
                ring.registrar().register_buffers(&iov).map(|_| 0),
            )
        }),
];
