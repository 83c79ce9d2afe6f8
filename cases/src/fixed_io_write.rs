//! §1.5 continued: how rw.c:io_write issues a WRITE_FIXED and when it completes. A regular
//! file without FOP_BUFFER_WASYNC (tmpfs, ext4) is written from io-wq and its full write
//! completes through kiocb_done, which moves the file position of an offset -1 write; a pipe
//! is written inline with IOCB_NOWAIT (so RWF_NOWAIT writes it), and a full one arms poll
//! instead of blocking io_uring_enter, then completes when a read makes room.

use crate::common::*;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uring::abi::CqeFlags;
use uring::{op, Ring};
use uring_harness::{resource, Case, CaseError, Cite, Cx, Expect, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The SQE offset that means "the file position" (-1 as a loff_t).
const CUR_POS: u64 = u64::MAX;

/// The bytes every row writes.
const LEN: usize = 16;

/// A WRITE_FIXED of the first [`LEN`] bytes of buffer 0 (holding `data`) of a fresh ring to
/// `fd` at `offset` with `rw_flags`, its SQE (user_data 0x91) and the ring.
fn write_sqe(
    cx: &Cx,
    fd: i32,
    offset: u64,
    rw_flags: u32,
    data: &[u8],
) -> Result<(Ring, uring::Sqe), CaseError> {
    let (ring, m) = ring_with_buffers(cx, 1)?;
    m.write(0, data);
    let sqe = op::write_fixed(
        fd,
        op::Fixed {
            addr: m.addr(),
            len: data.len() as u32,
            offset,
            buf_index: 0,
        },
    )
    .op_flags(rw_flags)
    .user_data(0x91);
    Ok((ring, sqe))
}

/// Everything the pipe holds now (its read end made nonblocking for this).
fn drain(r: &std::io::PipeReader) -> Result<Vec<u8>, CaseError> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    fcntl(r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .map_err(|e| E(e as i32))
        .setup("O_NONBLOCK on the pipe's read end")?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut r = r;
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) => return Err(e).setup("read the pipe"),
        }
    }
}

/// Fills the pipe `w` to its capacity (writes of one page while it takes them, with
/// O_NONBLOCK set for this and cleared again, so the write under test may block); returns
/// how many bytes it holds.
fn fill(w: &std::io::PipeWriter) -> Result<usize, CaseError> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let set = |flags: OFlag, what: &str| {
        fcntl(w, FcntlArg::F_SETFL(flags))
            .map_err(|e| E(e as i32))
            .setup(what)
    };
    set(OFlag::O_NONBLOCK, "O_NONBLOCK on the pipe's write end")?;
    let page = vec![0x5au8; 4096];
    let mut held = 0;
    let mut w = w;
    loop {
        match w.write(&page) {
            Ok(n) => held += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).setup("fill the pipe"),
        }
    }
    set(OFlag::empty(), "clear O_NONBLOCK on the pipe's write end")?;
    Ok(held)
}

/// The rows.
pub const CASES: &[Case] = &[
    Case::new("write_fixed::cur_pos_write_advances")
        .requires(FIXED)
        .expect(Expect::cqe(LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_write (a regular file without FOP_BUFFER_WASYNC goes to io-wq; a full \
                 write, ret2 == req->cqe.res, completes through kiocb_done), kiocb_done \
                 (f_pos = ki_pos for ret >= 0 with REQ_F_CUR_POS)",
            )
            .man(ENTER, "IORING_OP_WRITEV (see pwritev2(2))")
            .rows(&[])
            .note(
                "16 bytes at offset -1 to a temp file whose position is 8: the position must \
                 be 24; a full write taken for a partial one (io_write's short-write branch) \
                 fails from io-wq through io_rw_fail, which leaves the position",
            ),
        )
        .run(|cx| {
            let mut f = cx.file_for_writes(64)?;
            f.write_all(&[7u8; 8]).setup("write 8 bytes")?;
            let data = pattern(LEN, 41);
            let (mut ring, sqe) = write_sqe(cx, fd(&f), CUR_POS, 0, &data)?;
            let c = cx.submit_one(&mut ring, sqe)?;
            let pos = f.stream_position().setup("lseek(SEEK_CUR)")?;
            cx.check_eq(
                "the file position after the WRITE_FIXED",
                pos,
                8 + LEN as u64,
            )?;
            let mut back = Vec::new();
            f.seek(SeekFrom::Start(0)).setup("lseek to 0")?;
            f.read_to_end(&mut back).setup("read the file back")?;
            let mut want = vec![7u8; 8];
            if c.res == LEN as i32 {
                want.extend_from_slice(&data);
            }
            cx.check_eq("the file after the WRITE_FIXED", back, want)?;
            cx.observe(
                c,
                "at offset -1 to a temp file of 8 bytes whose position is 8",
            )
        }),
    Case::new("write_fixed::nowait_pipe_with_room")
        .requires(FIXED)
        .expect(Expect::cqe(LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_rw_init_file (RWF_NOWAIT: REQ_F_NOWAIT), io_write (a pipe, \
                 FMODE_NOWAIT and not S_ISREG, is written inline with IOCB_NOWAIT; only its \
                 -EAGAIN is final), fs/pipe.c:pipe_write",
            )
            .man(ENTER, "IORING_OP_WRITEV (see pwritev2(2) RWF_NOWAIT)")
            .rows(&[])
            .note(
                "RWF_NOWAIT refuses only what would wait: an empty pipe has room, so the \
                 write must happen, once, not be punted (-EAGAIN) nor be done twice",
            ),
        )
        .run(|cx| {
            let (r, w) = pipe()?;
            let data = pattern(LEN, 43);
            let flags = libc::RWF_NOWAIT as u32;
            let (mut ring, sqe) = write_sqe(cx, fd(&w), 0, flags, &data)?;
            let c = cx.submit_one(&mut ring, sqe)?;
            let want = if c.res == LEN as i32 { data } else { vec![] };
            cx.check_eq(
                "what the pipe holds after the WRITE_FIXED",
                drain(&r)?,
                want,
            )?;
            cx.observe(c, "with RWF_NOWAIT to an empty pipe")
        }),
    Case::new("write_fixed::full_pipe_waits_for_room")
        .requires(FIXED)
        .expect(Expect::cqe(LEN as i32, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rw.c:io_write (inline with IOCB_NOWAIT; pipe_write's -EAGAIN on a full pipe \
                 goes to ret_eagain), io_uring.c:io_queue_async -> io_arm_poll_handler (the \
                 write is retried when the pipe is writable)",
            )
            .man(ENTER, "IORING_OP_WRITEV")
            .rows(&[])
            .note(
                "a blocking pipe filled to capacity: io_uring_enter must return at once with \
                 no CQE (not wait for room, not post -EAGAIN); a read of one page makes room \
                 and the write then completes with all 16 bytes after the pipe's content",
            ),
        )
        .run(|cx| {
            let (r, w) = pipe()?;
            let held = fill(&w)?;
            let data = pattern(LEN, 47);
            let (mut ring, sqe) = write_sqe(cx, fd(&w), 0, 0, &data)?;
            let drained = AtomicBool::new(false);
            let (go, wait_go) = std::sync::mpsc::channel::<()>();
            let first_page = std::thread::scope(|s| {
                // Makes room when told, or after 2 s if the submission blocks (a wrong
                // kernel), so that the row ends either way.
                let (r, drained) = (&r, &drained);
                let reader = resource::spawn_scoped(s, "pipe reader", move || {
                    let _ = wait_go.recv_timeout(Duration::from_secs(2));
                    let mut page = vec![0u8; 4096];
                    let got = { r }.read_exact(&mut page).map(|()| page);
                    drained.store(true, Ordering::SeqCst);
                    got
                })?;
                cx.submit_batch(&mut ring, vec![sqe], 0)?;
                let waited = drained.load(Ordering::SeqCst);
                let early = cx.settle(&mut ring, Duration::from_millis(20));
                let _ = go.send(());
                let page = reader
                    .join()
                    .map_err(|_| CaseError::Broken("the pipe reader panicked".into()))?
                    .setup("read a page of the full pipe")?;
                cx.check(!waited, || {
                    "io_uring_enter returned only after the pipe had room: the write \
                     blocked the submission"
                        .into()
                })?;
                cx.check(early.is_empty(), || {
                    format!("a CQE before the pipe had room: {early:?}")
                })?;
                Ok::<_, CaseError>(page)
            })?;
            cx.check_eq("the page read", first_page, vec![0x5au8; 4096])?;
            let c = cx.wait(&mut ring, 1)?.remove(0);
            let mut want = vec![0x5au8; held - 4096];
            if c.res == LEN as i32 {
                want.extend_from_slice(&data);
            }
            cx.check_eq("what the pipe holds after the write", drain(&r)?, want)?;
            cx.observe(
                c,
                "to a full blocking pipe, a page read after the submission",
            )
        }),
];
