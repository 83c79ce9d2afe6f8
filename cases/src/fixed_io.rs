//! §1.5: fixed I/O through registered buffers — READ_FIXED / WRITE_FIXED: their errors,
//! and the bytes at the ordinary offset classes (page crossings, later pages and segments,
//! short reads, EOF). Huge pages, O_DIRECT, munmap and the attribute words are in
//! [`crate::fixed_io_pages`].

use crate::common::*;
use uring::abi::{CqeFlags, SetupFlags, SqeFlags};
use uring::register::Iov;
use uring::{op, Mem, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseResult, Cite, Cx, Expect, Feature, Setup, Want};

/// A READ_FIXED observed as the call under test.
fn observe_read_fixed(
    cx: &Cx,
    ring: &mut Ring,
    fd: i32,
    addr: u64,
    len: u32,
    buf_index: u16,
    what: &str,
) -> CaseResult {
    let c = read_fixed(cx, ring, fd, addr, len, buf_index)?;
    cx.observe(c, what)
}

/// An 8-byte READ_FIXED of a data file into a registered page, with one field changed by
/// `tweak`: the shape of every "one bad field" READ_FIXED row.
fn read_fixed_variant(cx: &Cx, what: &str, tweak: fn(uring::Sqe) -> uring::Sqe) -> CaseResult {
    let (mut ring, m) = ring_with_buffers(cx, 1)?;
    let (f, _) = data_file(cx, 64, 1)?;
    let c = cx.submit_one(
        &mut ring,
        tweak(
            op::read_fixed(
                fd(&f),
                op::Fixed {
                    addr: m.addr(),
                    len: 8,
                    offset: 0,
                    buf_index: 0,
                },
            )
            .user_data(1),
        ),
    )?;
    cx.observe(c, what)
}

/// Registers `[buf_off, buf_off+buf_len)` of `m` as buffer 0, READ_FIXEDs `len` bytes of a
/// data file (from file offset `file_off`) to `io_off` inside it, and checks that exactly
/// those bytes changed in the whole of `m`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_into(
    cx: &Cx,
    m: &std::sync::Arc<Mem>,
    buf_off: usize,
    buf_len: usize,
    io_off: usize,
    len: usize,
    file_off: usize,
    what: &str,
) -> CaseResult {
    let (f, data) = data_file(cx, file_off + len, 11)?;
    let mut ring = cx.ring()?;
    ring.registrar()
        .register_buffers(&[Iov::Mem(m.slice(buf_off, buf_len))])
        .setup("register the buffer")?;
    let at = buf_off + io_off;
    let args = op::Fixed {
        addr: m.addr() + at as u64,
        len: len as u32,
        offset: file_off as u64,
        buf_index: 0,
    };
    let c = read_fixed_at(cx, &mut ring, fd(&f), args)?;
    let mut want = vec![0u8; m.len()];
    if c.res == len as i32 {
        want[at..at + len].copy_from_slice(&data[file_off..]);
    }
    cx.check(m.read(0, m.len()) == want, || {
        format!("{what}: the memory does not hold exactly the {len} bytes read at offset {at:#x}")
    })?;
    cx.observe(c, what)
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The fixed-I/O rows.
pub const CASES: &[Case] = &[
    Case::new("register_buffers::unaligned_buffer_read_fixed")
        .requires(FIXED)
        .expect(Expect::cqe(3000, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_import_reg_buf")
                .man(MAN3, "DESCRIPTION")
                .rows(&[]),
        )
        .run(|cx| {
            let (f, data) = data_file(cx, 8192, 9)?;
            let m = cx.mem(3 * 4096)?;
            let buf = m.slice(777, 5000);
            let mut ring = cx.ring()?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(buf.clone())])
                .setup("register an unaligned buffer")?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: buf.addr() + 100,
                        len: 3000,
                        offset: 1234,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            if c.res == 3000 {
                cx.check_eq(
                    "bytes read into the registered buffer",
                    m.read(777 + 100, 3000),
                    data[1234..4234].to_vec(),
                )?;
            }
            cx.observe(c, "into a buffer at page offset 777")
        }),
    Case::new("register_buffers::write_fixed_then_read_back")
        .requires(FIXED)
        .expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:io_import_reg_buf").man(MAN3, "DESCRIPTION"))
        .run(|cx| {
            let f = cx.file_for_writes(4096)?;
            let (mut ring, m) = ring_with_buffers(cx, 2)?;
            let data = pattern(4096, 5);
            m.write(4096, &data);
            let c = cx.submit_one(
                &mut ring,
                op::write_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr() + 4096,
                        len: 4096,
                        offset: 0,
                        buf_index: 1,
                    },
                )
                .user_data(1),
            )?;
            let mut back = vec![0u8; 4096];
            use std::os::unix::fs::FileExt;
            let n = f.read_at(&mut back, 0).setup("read the file back")?;
            cx.check(c.res != 4096 || (n == 4096 && back == data), || {
                "the file does not hold the bytes of buffer 1".into()
            })?;
            cx.observe(c, "from buffer 1 into an empty file")
        }),
    // ---- §1.5 READ_FIXED / WRITE_FIXED ----
    Case::new("read_fixed::no_table")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_import_reg_buf / rw.c:io_prep_rw_fixed")
                .man(ENTER, "ERRORS: EFAULT")
                .rows(&["rwf_no_table"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(
                cx,
                &mut ring,
                fd(&f),
                0x10000,
                8,
                0,
                "with no buffers registered",
            )
        }),
    Case::new("read_fixed::index_out_of_range")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_find_buf_node -> io_rsrc_node_lookup")
                .man(ENTER, "ERRORS: EINVAL (buf_index)")
                .rows(&["rwf_index_oob"])
                .note(
                    "io_uring_enter.2 says an invalid buf_index is EINVAL; the kernel answers \
                     EFAULT on every version",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(cx, &mut ring, fd(&f), m.addr(), 8, 5, "with a 1-slot table")
        }),
    Case::new("read_fixed::empty_slot")
        .requires(&[Feature::SparseBuffers, Feature::OpReadWriteFixed])
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_find_buf_node").rows(&["rwf_sparse_slot"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            ring.registrar()
                .register_buffers_sparse(2)
                .setup("sparse table")?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(
                cx,
                &mut ring,
                fd(&f),
                0x10000,
                8,
                1,
                "into an empty (sparse) slot",
            )
        }),
    Case::new("read_fixed::addr_before_buffer")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:validate_fixed_range / io_import_fixed")
                .man(ENTER, "ERRORS: EFAULT")
                .rows(&["rwf_range"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(
                cx,
                &mut ring,
                fd(&f),
                m.addr() - 1,
                8,
                0,
                "one byte before the buffer",
            )
        }),
    Case::new("read_fixed::end_past_buffer")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:validate_fixed_range / io_import_fixed")
                .man(ENTER, "ERRORS: EFAULT")
                .rows(&["rwf_range"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(
                cx,
                &mut ring,
                fd(&f),
                m.addr() + 4090,
                8,
                0,
                "ending 2 bytes past the buffer",
            )
        }),
    Case::new("read_fixed::len_zero_at_end")
        .requires(FIXED)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:io_import_fixed").rows(&["rwf_len0"]))
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(
                cx,
                &mut ring,
                fd(&f),
                m.addr() + 4096,
                0,
                0,
                "with len 0 at the buffer's end",
            )
        }),
    Case::new("read_fixed::buffer_select")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(
            Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)")
                .man(ENTER, "ERRORS: EOPNOTSUPP")
                .rows(&["rwf_buffer_select"]),
        )
        .run(|cx| read_fixed_variant(cx, "", |s| s.add_flags(SqeFlags::BUFFER_SELECT))),
    Case::new("read_fixed::fd_write_only")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("rw.c:io_rw_init_file (FMODE_READ)")
                .man(ENTER, "ERRORS: EBADF")
                .rows(&["rwf_fmode"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let f = dev_null(true)?;
            observe_read_fixed(
                cx,
                &mut ring,
                fd(&f),
                m.addr(),
                8,
                0,
                "on an fd open for writing only",
            )
        }),
    Case::new("write_fixed::fd_read_only")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("rw.c:io_rw_init_file (FMODE_WRITE)")
                .man(ENTER, "ERRORS: EBADF")
                .rows(&["rwf_fmode"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let f = dev_null(false)?;
            let c = cx.submit_one(
                &mut ring,
                op::write_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr(),
                        len: 8,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.observe(c, "on an fd open for reading only")
        }),
    Case::new("read_fixed::fd_not_open")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_assign_file")
                .man(ENTER, "ERRORS: EBADF")
                .rows(&["rwf_bad_fd"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            observe_read_fixed(
                cx,
                &mut ring,
                NEVER_OPEN_FD,
                m.addr(),
                8,
                0,
                "on an fd that is not open",
            )
        }),
    Case::new("read_fixed::fixed_file_slot_empty")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_assign_file")
                .man(ENTER, "ERRORS: EBADF")
                .rows(&["rwf_bad_fd"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            ring.registrar()
                .register_files(&[-1, -1])
                .setup("register an empty file table")?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    1,
                    op::Fixed {
                        addr: m.addr(),
                        len: 8,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .add_flags(SqeFlags::FIXED_FILE)
                .user_data(1),
            )?;
            cx.observe(c, "with fixed-file slot 1 empty")
        }),
    Case::new("read_fixed::rw_flags_unknown")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(
            Cite::kernel("rw.c:io_rw_init_file -> kiocb_set_rw_flags")
                .man(ENTER, "READV (see preadv2(2))")
                .rows(&["rwf_rw_flags"]),
        )
        .run(|cx| read_fixed_variant(cx, "(an unknown RWF_ bit)", |s| s.op_flags(0x8000_0000))),
    Case::new("read_fixed::ioprio_invalid_class")
        .requires(FIXED)
        .expect(Expect::by_level(
            &level::BLOCK_LAYER,
            Want::cqe_errno(E::EINVAL),
            Want::cqe_errno(E(libc::ENOTBLK)),
        ))
        .cite(Cite::kernel("rw.c:__io_prep_rw -> ioprio_check_cap").rows(&["rwf_ioprio"]))
        .run(|cx| read_fixed_variant(cx, "(ioprio class 7)", |s| s.ioprio(7 << 13))),
    Case::new("read_fixed::negative_offset")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("rw.c:__io_read -> rw_verify_area").rows(&["rwf_verify_area"]))
        .run(|cx| read_fixed_variant(cx, "(off 2^63: a negative loff_t)", |s| s.offset(1 << 63))),
    Case::new("read_fixed::iopoll_buffered_file")
        .requires(FIXED)
        .expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("rw.c:io_rw_init_file (IOPOLL needs ->iopoll)").rows(&["rwf_iopoll"]))
        .run(|cx| {
            let mut ring = cx.ring_with(Ring::builder(4).flags(SetupFlags::IOPOLL))?;
            let m = cx.mem(4096)?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(m.slice(0, 4096))])
                .setup("register")?;
            let (f, _) = data_file(cx, 64, 1)?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr(),
                        len: 8,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.observe(c, "on a buffered file in an IOPOLL ring")
        }),
    // ---- offset classes, short reads, EOF ----
    Case::new("read_fixed::crosses_page_boundary")
        .requires(FIXED)
        .expect(Expect::cqe(200, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_import_fixed (bvec of the first page, then the next)")
                .man(MAN3, "DESCRIPTION")
                .rows(&["rwf_offsets"]),
        )
        .run(|cx| {
            // In pages of this machine: a literal 4096 crosses nothing on 16 KiB pages.
            let page = uring::sys::page_size();
            let m = cx.mem(3 * page)?;
            read_into(
                cx,
                &m,
                0,
                3 * page,
                page - 100,
                200,
                0,
                "100 bytes before the end of page 0 of a 3-page buffer",
            )
        }),
    Case::new("read_fixed::starts_in_later_page")
        .requires(FIXED)
        .expect(Expect::cqe(1000, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_import_fixed (seg_skip over whole folios)")
                .man(MAN3, "DESCRIPTION")
                .rows(&["rwf_offsets"]),
        )
        .run(|cx| {
            let page = uring::sys::page_size();
            let m = cx.mem(4 * page)?;
            read_into(
                cx,
                &m,
                0,
                4 * page,
                2 * page + 123,
                1000,
                50,
                "at page 2 + 123 of a 4-page buffer",
            )
        }),
    Case::new("read_fixed::offset_in_later_segment")
        .requires(FIXED)
        .expect(Expect::cqe(3000, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_import_fixed (first bvec shorter: offset -= bv_len, then & folio_mask)",
            )
            .man(MAN3, "DESCRIPTION")
            .rows(&["rwf_offsets"]),
        )
        .run(|cx| {
            // The buffer starts 777 bytes into a page, so its first segment is a page less
            // 777 bytes; the read starts 55 bytes into its third segment (page 2) and ends
            // inside it.
            let page = uring::sys::page_size();
            let m = cx.mem(5 * page)?;
            read_into(
                cx,
                &m,
                777,
                4 * page - 777,
                (page - 777) + page + 55,
                3000,
                7,
                "55 bytes into segment 2 of a buffer at page offset 777",
            )
        }),
    Case::new("read_fixed::short_read_near_eof")
        .requires(FIXED)
        .expect(Expect::cqe(100, CqeFlags::NONE))
        .cite(
            Cite::kernel("rw.c:io_read -> the file's read_iter (short at EOF)")
                .man(ENTER, "READ_FIXED (see preadv2(2))")
                .rows(&["rwf_short_eof"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (f, data) = data_file(cx, 8192, 21)?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr(),
                        len: 4096,
                        offset: 8092,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            let mut want = data[8092..].to_vec();
            want.resize(4096, 0);
            cx.check_eq(
                "the buffer after a read with 100 bytes left",
                m.read(0, 4096),
                want,
            )?;
            cx.observe(c, "of 4096 bytes at offset 8092 of an 8192-byte file")
        }),
    Case::new("read_fixed::at_eof")
        .requires(FIXED)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("rw.c:io_read -> the file's read_iter (0 at EOF)")
                .man(ENTER, "READ_FIXED (see preadv2(2))")
                .rows(&["rwf_short_eof"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            m.fill(0x5a);
            let (f, _) = data_file(cx, 8192, 21)?;
            let c = cx.submit_one(
                &mut ring,
                op::read_fixed(
                    fd(&f),
                    op::Fixed {
                        addr: m.addr(),
                        len: 4096,
                        offset: 8192,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.check_eq(
                "the buffer after a read at EOF",
                m.read(0, 4096),
                vec![0x5a; 4096],
            )?;
            cx.observe(c, "of 4096 bytes at the end of an 8192-byte file")
        }),
];
