//! §1.5 continued: the file position after READ_FIXED / WRITE_FIXED. With offset -1
//! (REQ_F_CUR_POS) the request starts at the file's position and moves it by what it
//! transferred, like read(2)/write(2); an explicit offset, like pread(2), leaves it; a failed
//! request leaves it too (rw.c:kiocb_done stores ki_pos into f_pos only for `ret >= 0`).

use crate::common::*;
use std::io::{Seek, SeekFrom};
use std::os::fd::AsFd;
use uring::abi::CqeFlags;
use uring::{op, Ring};
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The SQE offset that means "the file position" (-1 as a loff_t).
const CUR_POS: u64 = u64::MAX;

/// Submits one READ_FIXED or WRITE_FIXED (`sqe` from `op::read_fixed`/`op::write_fixed`) of
/// buffer 0 of `ring` and returns its CQE.
fn fixed_rw(
    cx: &Cx,
    ring: &mut Ring,
    make: fn(i32, op::Fixed) -> uring::Sqe,
    fd: i32,
    args: op::Fixed,
) -> Result<uring::Cqe, CaseError> {
    cx.submit_one(ring, make(fd, args).user_data(0x90))
}

/// Checks the file position of `f` (lseek SEEK_CUR).
fn check_pos(cx: &Cx, f: &mut std::fs::File, want: u64, when: &str) -> Result<(), CaseError> {
    let pos = f.stream_position().setup("lseek(SEEK_CUR)")?;
    cx.check_eq(&format!("the file position {when}"), pos, want)
}

/// A READ_FIXED of `len` bytes at SQE offset `offset` from a 60-byte data file whose position
/// is 10, into buffer 0: checks the bytes and that the position is `want_pos` afterwards.
fn read_from_pos_10(cx: &Cx, len: u32, offset: u64, want_pos: u64, what: &str) -> CaseResult {
    let (mut f, data) = data_file(cx, 60, 17)?;
    f.seek(SeekFrom::Start(10)).setup("lseek to 10")?;
    let (mut ring, m) = ring_with_buffers(cx, 1)?;
    let args = op::Fixed {
        addr: m.addr(),
        len,
        offset,
        buf_index: 0,
    };
    let c = fixed_rw(cx, &mut ring, op::read_fixed, fd(&f), args)?;
    let from = if offset == CUR_POS {
        10
    } else {
        offset as usize
    };
    check_read_bytes(cx, &c, &m, 0, &data[from..])?;
    check_pos(cx, &mut f, want_pos, "after the READ_FIXED")?;
    cx.observe(c, what)
}

/// The file-position rows.
pub const CASES: &[Case] = &[
    Case::new("read_fixed::offset_leaves_file_position")
        .requires(FIXED)
        .expect(Expect::cqe(16, CqeFlags::NONE))
        .cite(
            Cite::kernel("rw.c:kiocb_done (f_pos = ki_pos only with REQ_F_CUR_POS)")
                .man(ENTER, "IORING_OP_READV (see preadv2(2))")
                .rows(&[]),
        )
        .run(|cx| read_from_pos_10(cx, 16, 8, 10, "at offset 8 of a file whose position is 10")),
    Case::new("read_fixed::cur_pos_short_read_advances")
        .requires(FIXED)
        .expect(Expect::cqe(50, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_kiocb_update_pos (offset -1: REQ_F_CUR_POS), __io_read (the short \
                 read's retry ends at EOF with ret 0), kiocb_done (f_pos = ki_pos for ret >= 0)",
            )
            .man(ENTER, "IORING_OP_READV (see preadv2(2))")
            .rows(&[])
            .note(
                "100 bytes asked at position 10 of a 60-byte file: the first pass reads 50 and, \
                 on a regular file, __io_read retries the rest (inline or from io-wq), which \
                 reads 0 at EOF; kiocb_done then sees ret 0 and must still move the position",
            ),
        )
        .run(|cx| {
            read_from_pos_10(
                cx,
                100,
                CUR_POS,
                60,
                "at offset -1 (position 10) of a 60-byte file, 100 bytes asked",
            )
        }),
    Case::new("write_fixed::failed_append_leaves_file_position")
        .needs_level(&uring_harness::level::APPEND_ERROR_KEEPS_POSITION)
        .requires(FIXED)
        .needs(&[Fact::MemfdShmem])
        .expect(Expect::cqe_errno(E(libc::EPERM)))
        .cite(
            Cite::kernel(
                "rw.c:kiocb_done (f_pos = ki_pos only for ret >= 0); \
                 fs/read_write.c:generic_write_checks_count (IOCB_APPEND: ki_pos = i_size); \
                 mm/shmem.c:shmem_write_begin (F_SEAL_WRITE: -EPERM)",
            )
            .man(ENTER, "IORING_OP_WRITEV (see pwritev2(2))")
            .rows(&[])
            .note(
                "an O_APPEND memfd sealed with F_SEAL_WRITE, position 0: the write moves ki_pos \
                 to i_size (64) before shmem refuses it; the position must stay 0",
            ),
        )
        .run(|cx| {
            use nix::fcntl::{fcntl, FcntlArg, OFlag, SealFlag};
            use nix::sys::memfd::{memfd_create, MFdFlags};
            let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
            let nix_err = |e: nix::errno::Errno| E(e as i32);
            let fd_owned = memfd_create(c"uring-conformance-seal", flags)
                .map_err(nix_err)
                .setup("memfd_create(MFD_ALLOW_SEALING)")?;
            let mut f = std::fs::File::from(fd_owned);
            use std::io::Write;
            f.write_all(&pattern(64, 3)).setup("write the memfd")?;
            f.seek(SeekFrom::Start(0)).setup("lseek to 0")?;
            fcntl(f.as_fd(), FcntlArg::F_SETFL(OFlag::O_APPEND))
                .map_err(nix_err)
                .setup("F_SETFL O_APPEND")?;
            fcntl(f.as_fd(), FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_WRITE))
                .map_err(nix_err)
                .setup("F_ADD_SEALS F_SEAL_WRITE")?;
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let args = op::Fixed {
                addr: m.addr(),
                len: 8,
                offset: CUR_POS,
                buf_index: 0,
            };
            let c = fixed_rw(cx, &mut ring, op::write_fixed, fd(&f), args)?;
            check_pos(cx, &mut f, 0, "after the refused WRITE_FIXED")?;
            let size = f.metadata().setup("fstat the memfd")?.len();
            cx.check_eq("the memfd's size", size, 64)?;
            cx.observe(
                c,
                "at offset -1 to an O_APPEND memfd sealed with F_SEAL_WRITE",
            )
        }),
];
