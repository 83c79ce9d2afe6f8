//! §1.5 continued: READ_FIXED reads that come back short on their first, nonblocking pass
//! and must still complete whole: rw.c:__io_read retries the rest of a regular file's read
//! (inline with IOCB_WAITQ where the filesystem can wait for a page asynchronously, from
//! io-wq otherwise), and a read from io-wq that ends at EOF is final.

use crate::common::*;
use std::os::unix::fs::FileExt;
use uring::abi::{CqeFlags, SqeFlags};
use uring::op;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Setup, SkipCause};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The file of the cached-head row: its first 4 KiB cached, the rest not.
const FILE_LEN: usize = 8192;

/// Where the cached-head row's READ starts: the last byte of the cached first 4 KiB.
const START: usize = 4095;

/// Makes a temp file of [`FILE_LEN`] pattern bytes whose byte [`START`] is in the page cache
/// and byte [`START`] + 1 is not: the first 4 KiB written through the page cache and fsynced,
/// the second written with O_DIRECT (which leaves the page cache alone and drops any page of
/// its range: kiocb_invalidate_pages). No fadvise: the minimal kernels lack it
/// (CONFIG_ADVISE_SYSCALLS). Checked with mincore(2); where the premise does not hold (both
/// bytes in one page: a page above 4 KiB; a filesystem that caches O_DIRECT writes) the row
/// skips.
fn file_with_cached_head(cx: &Cx) -> Result<(std::fs::File, Vec<u8>), CaseError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let data = pattern(FILE_LEN, 29);
    let f = cx.file_with(&data[..4096])?;
    f.sync_all().setup("fsync the data file")?;
    let direct = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(format!("/proc/thread-self/fd/{}", f.as_raw_fd()))
        .setup("open the data file again with O_DIRECT")?;
    // O_DIRECT wants a block-aligned buffer: the 4096-aligned 4 KiB inside a larger vector.
    let mut room = vec![0u8; 8192];
    let at = room.as_ptr().align_offset(4096);
    room[at..at + 4096].copy_from_slice(&data[4096..]);
    direct
        .write_all_at(&room[at..at + 4096], 4096)
        .setup("write the second 4 KiB with O_DIRECT")?;
    let cached = sys::resident_pages(&f, FILE_LEN).setup("mincore of the data file")?;
    let page = uring::sys::page_size();
    let (head, tail) = (START / page, (START + 1) / page);
    if head == tail || !cached[head] || cached[tail] {
        return Err(CaseError::Skip(SkipCause::Environment {
            what: format!(
                "the premise of a cached byte 4095 and an uncached byte 4096 does not hold: \
                 mincore of the {page}-byte pages {cached:?}"
            ),
        }));
    }
    Ok((f, data))
}

/// The short-first-pass rows.
pub const CASES: &[Case] = &[
    Case::new("read_fixed::cached_head_read_completes")
        .requires(FIXED)
        .needs(&[Fact::TmpdirODirect])
        .expect(Expect::cqe(4097, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:__io_read (a short nonblocking pass of a regular file: the retry loop, \
                 io_rw_should_retry, IOCB_WAITQ); mm/filemap.c:filemap_get_pages \
                 (IOCB_NOWAIT: -EAGAIN at a folio still being read)",
            )
            .man(ENTER, "IORING_OP_READV (see preadv2(2))")
            .rows(&[])
            .note(
                "4097 bytes from offset 4095 of an 8 KiB file whose first page is cached and \
                 whose second is not: the nonblocking pass copies the one cached byte and stops \
                 at page 1, whose readahead waits in the submission plug; a regular file's \
                 short read is continued, so the CQE counts all 4097",
            ),
        )
        .run(|cx| {
            let (f, data) = file_with_cached_head(cx)?;
            let mem = cx.mem(FILE_LEN)?;
            let (mut ring, addr) = ring_with_buffer_in(cx, &mem, 0)?;
            let args = op::Fixed {
                addr,
                len: (FILE_LEN - START) as u32,
                offset: START as u64,
                buf_index: 0,
            };
            let c = read_fixed_at(cx, &mut ring, fd(&f), args)?;
            check_read_bytes(cx, &c, &mem, 0, &data[START..])?;
            cx.observe(
                c,
                "of 4097 bytes at offset 4095, only the first page of the file cached",
            )
        }),
    Case::new("read_fixed::async_short_read_at_eof")
        .requires(FIXED)
        .needs(&[Fact::MemfdShmem])
        .expect(Expect::cqe(60, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:__io_read (!force_nonblock: a blocking read's short count is final), \
                 kiocb_done (f_pos = ki_pos); io_uring.c:io_wq_submit_work (-EAGAIN from io-wq \
                 fails the request), rw.c:io_rw_fail (a failure after bytes_done reports them)",
            )
            .man(ENTER, "IOSQE_ASYNC")
            .rows(&[])
            .note(
                "100 bytes asked at offset -1 (position 0) of a 60-byte memfd with IOSQE_ASYNC: \
                 io-wq's blocking read stops at EOF after 60 and completes with them, moving \
                 the position to 60; shmem cannot wait for a page asynchronously (no \
                 FOP_BUFFER_RASYNC), so a retry from io-wq would fail -EAGAIN, which io_rw_fail \
                 reports as the 60 bytes done but which leaves the position at 0",
            ),
        )
        .run(|cx| {
            use std::io::Seek;
            let data = pattern(60, 31);
            let mut f = sys::memfd(0).setup("memfd_create")?;
            f.write_all_at(&data, 0).setup("write the memfd")?;
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let args = op::Fixed {
                addr: m.addr(),
                len: 100,
                offset: u64::MAX,
                buf_index: 0,
            };
            let sqe = op::read_fixed(fd(&f), args).add_flags(SqeFlags::ASYNC);
            let c = cx.submit_one(&mut ring, sqe.user_data(0x43))?;
            check_read_bytes(cx, &c, &m, 0, &data)?;
            let pos = f.stream_position().setup("lseek(SEEK_CUR)")?;
            cx.check_eq("the file position after the READ_FIXED", pos, 60)?;
            cx.observe(
                c,
                "with IOSQE_ASYNC at offset -1 (position 0), 100 bytes asked of a 60-byte memfd",
            )
        }),
];
