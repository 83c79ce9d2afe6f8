//! §1.5 continued: how rw.c:io_write issues a WRITE_FIXED and when it completes. A regular
//! file without FOP_BUFFER_WASYNC (tmpfs, ext4) is written from io-wq and its full write
//! completes through kiocb_done, which moves the file position of an offset -1 write; a pipe
//! is written inline with IOCB_NOWAIT (so RWF_NOWAIT writes it), and a full one arms poll
//! instead of blocking io_uring_enter, then completes when a read makes room. A short write
//! to a regular file (fewer bytes than asked, 0 too) is a partial one (level
//! `short_write_retry`): it completes through io_rw_fail, with the bytes written or -EAGAIN
//! for none, and leaves the position of an offset -1 write. An O_DIRECT write to ext4 is
//! issued inline, and its error is posted as it is.

use crate::common::*;
use crate::fixed_io_pages::{check_o_direct_write, o_direct_file, o_direct_write};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uring::abi::CqeFlags;
use uring::{op, Ring};
use uring_harness::{level, resource, Case, CaseError, Cite, Cx, Expect, Fact, Setup, Want};

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

/// /proc/PID/mem of a child that has since exited (and been reaped): the file holds the
/// child's mm without a user (proc_mem_open: mmgrab, mmput), so once the child's exit_mm
/// dropped the last user, mem_rw's mmget_not_zero fails and it writes nothing (returns 0).
/// The child waits on a pipe until the file is open; it is reaped on every path.
#[allow(unsafe_code)] // fork and _exit
fn exited_child_mem() -> Result<std::fs::File, CaseError> {
    use nix::sys::wait::waitpid;
    use nix::unistd::ForkResult;
    use std::os::fd::AsRawFd;
    let (r, w) = pipe()?;
    let forked = resource::retry_task_limit("fork", || {
        // SAFETY: the child makes two syscalls (read, _exit) and runs nothing of the parent.
        unsafe { nix::unistd::fork() }.map_err(|e| E(e as i32))
    })?;
    let pid = match forked {
        Ok(ForkResult::Parent { child }) => child,
        Ok(ForkResult::Child) => {
            let mut byte = 0u8;
            // SAFETY: closes the child's copy of the write end (so that the read sees end
            // of file once the parent closes its own), reads at most one byte into `byte`,
            // then ends the child without the parent's cleanup.
            unsafe {
                libc::close(w.as_raw_fd());
                libc::read(r.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                libc::_exit(0)
            }
        }
        Err(e) => {
            return Err(resource::setup_skip("fork", e)
                .unwrap_or_else(|| CaseError::Broken(format!("fork: {e}"))))
        }
    };
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/mem"));
    // The child reads end of file and exits; reaped here.
    drop(w);
    let _ = waitpid(pid, None);
    opened.setup("open /proc/PID/mem of the child")
}

/// The largest position lseek(2) accepts for `f`: s_maxbytes, the largest file size
/// (generic_file_llseek_size -> vfs_setpos refuses a larger offset with EINVAL). Leaves the
/// position at 0.
fn max_file_size(f: &mut std::fs::File) -> Result<u64, CaseError> {
    let (mut ok, mut bad) = (0u64, i64::MAX as u64 + 1);
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        match f.seek(SeekFrom::Start(mid)) {
            Ok(_) => ok = mid,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => bad = mid,
            Err(e) => return Err(e).setup("lseek in search of s_maxbytes"),
        }
    }
    f.seek(SeekFrom::Start(0)).setup("lseek to 0")?;
    Ok(ok)
}

/// FS_IMMUTABLE_FL (include/uapi/linux/fs.h).
const FS_IMMUTABLE_FL: libc::c_int = 0x10;

/// Sets (or clears) FS_IMMUTABLE_FL of `f`'s inode through FS_IOC_GETFLAGS/SETFLAGS.
#[allow(unsafe_code)] // ioctl
fn set_immutable(f: &std::fs::File, on: bool) -> Result<(), E> {
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int (the kernel's get_user size) into `flags`,
    // which lives across the call.
    if unsafe { libc::ioctl(fd(f), libc::FS_IOC_GETFLAGS, &mut flags) } < 0 {
        return Err(E::last());
    }
    flags = if on {
        flags | FS_IMMUTABLE_FL
    } else {
        flags & !FS_IMMUTABLE_FL
    };
    // SAFETY: FS_IOC_SETFLAGS reads one int from `flags`, which lives across the call.
    if unsafe { libc::ioctl(fd(f), libc::FS_IOC_SETFLAGS, &flags) } < 0 {
        return Err(E::last());
    }
    Ok(())
}

/// Makes a file immutable for its lifetime; clears the flag again when dropped, so the
/// temp file can be freed on every path.
struct Immutable<'a>(&'a std::fs::File);

impl<'a> Immutable<'a> {
    /// CAP_LINUX_IMMUTABLE is needed (ext4_ioctl_setflags): EPERM is this run's skip.
    fn set(f: &'a std::fs::File) -> Result<Self, CaseError> {
        match set_immutable(f, true) {
            Ok(()) => Ok(Immutable(f)),
            Err(E::EPERM) => Err(CaseError::Skip(uring_harness::SkipCause::NotPermitted {
                what: "FS_IOC_SETFLAGS(FS_IMMUTABLE_FL) -> EPERM (needs CAP_LINUX_IMMUTABLE)"
                    .into(),
            })),
            Err(e) => Err(e).setup("FS_IOC_SETFLAGS(FS_IMMUTABLE_FL) on the temp file"),
        }
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = set_immutable(self.0, false);
    }
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
        .needs_level(&level::PIPE_NOWAIT_WRITE)
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
    Case::new("write_fixed::zero_byte_write_is_partial")
        .requires(FIXED)
        .expect(Expect::by_level(
            &level::SHORT_WRITE_RETRY,
            Want::cqe_errno(E::EAGAIN),
            Want::cqe(0, CqeFlags::NONE),
        ))
        .cite(
            Cite::kernel(
                "rw.c:io_write (a regular file's short write, ret2 >= 0 and != req->cqe.res: \
                 bytes_done += 0, -EAGAIN), io_wq_submit_work (-EAGAIN is final off IOPOLL: \
                 io_req_task_queue_fail), io_rw_fail (bytes_done 0: the -EAGAIN is posted), \
                 fs/proc/base.c:mem_rw (mmget_not_zero fails: 0), loop_rw_iter",
            )
            .man(ENTER, "IORING_OP_WRITEV")
            .rows(&[])
            .note(
                "/proc/PID/mem opened before its process exited is a regular file \
                 (S_IFREG) whose ->write then writes nothing; io_uring takes the 0 for a \
                 partial write and posts -EAGAIN (before 6.0 kiocb_done posted the 0)",
            ),
        )
        .run(|cx| {
            let mem = exited_child_mem()?;
            let data = pattern(LEN, 53);
            let (mut ring, sqe) = write_sqe(cx, fd(&mem), 4096, 0, &data)?;
            let c = cx.submit_one(&mut ring, sqe)?;
            cx.observe(c, "to /proc/PID/mem of a child that exited after the open")
        }),
    Case::new("write_fixed::cur_pos_short_write_keeps_position")
        .requires(FIXED)
        .needs(&[Fact::TmpdirExt4])
        .expect(Expect::cqe(8, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "fs/read_write.c:generic_write_check_limits (a write is cut at s_maxbytes), \
                 rw.c:io_write (a regular file without FOP_BUFFER_WASYNC is written from \
                 io-wq; the short write: bytes_done += 8, -EAGAIN), io_rw_fail (posts \
                 bytes_done; no f_pos store), kiocb_done (stores f_pos for REQ_F_CUR_POS)",
            )
            .man(ENTER, "IORING_OP_WRITEV (see pwritev2(2))")
            .rows(&[])
            .note(
                "16 bytes at offset -1 to an ext4 file whose position is 8 below the largest \
                 file size (s_maxbytes, found with lseek): 8 are written and the CQE says 8; \
                 the position stays from 6.0 (level short_write_retry; before, kiocb_done \
                 moved it to s_maxbytes)",
            ),
        )
        .run(|cx| {
            let mut f = resource::temp_file("create the file to write into")?;
            let max = max_file_size(&mut f)?;
            // generic_write_check_limits would cut at (or signal SIGXFSZ for) a smaller
            // RLIMIT_FSIZE.
            if let Some(limit) = resource::file_size_limit().filter(|l| *l < max) {
                use resource::ResourceLimit;
                return Err(resource::Resource::FileSize.skip(
                    &format!("a write up to s_maxbytes {max} (RLIMIT_FSIZE {limit})"),
                    E::EFBIG,
                ));
            }
            let start = max - 8;
            f.seek(SeekFrom::Start(start))
                .setup("lseek to s_maxbytes - 8")?;
            let data = pattern(LEN, 59);
            let (mut ring, sqe) = write_sqe(cx, fd(&f), CUR_POS, 0, &data)?;
            let c = cx.submit_one(&mut ring, sqe)?;
            let size = f.metadata().setup("fstat the file")?.len();
            let pos = f.stream_position().setup("lseek(SEEK_CUR)")?;
            if c.res == 8 {
                cx.check_eq("the file's size after the write", size, max)?;
                let level = level::SHORT_WRITE_RETRY.decide(cx.features()).verdict;
                let want: &[u64] = match level {
                    level::Verdict::Has => &[start],
                    level::Verdict::Lacks => &[max],
                    level::Verdict::Either => &[start, max],
                };
                cx.check(want.contains(&pos), || {
                    format!("the position after the short write is {pos}, want one of {want:?}")
                })?;
            }
            cx.observe(
                c,
                "at offset -1 to an ext4 temp file whose position is 8 below s_maxbytes",
            )
        }),
    Case::new("write_fixed::o_direct_immutable")
        .requires(FIXED)
        .needs(&[Fact::TmpdirExt4, Fact::TmpdirODirect])
        .expect(Expect::cqe_errno(E::EPERM))
        .cite(
            Cite::kernel(
                "rw.c:io_write (O_DIRECT on ext4, FMODE_NOWAIT: issued inline; an error \
                 other than -EAGAIN goes to kiocb_done), fs/ext4/file.c:ext4_dio_write_iter \
                 -> ext4_generic_write_checks (IS_IMMUTABLE: -EPERM)",
            )
            .man(ENTER, "IORING_OP_WRITEV (see pwritev2(2))")
            .rows(&[])
            .note(
                "a file opened for writing and then made immutable refuses the write: -EPERM, \
                 once, the file unchanged (the -1 is no partial write of -1 bytes)",
            ),
        )
        .run(|cx| {
            let f = o_direct_file(cx, &[0u8; 8192])?;
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let data = pattern(4096, 61);
            let sqe = o_direct_write(&f, &m, &data);
            let c = {
                let _immutable = Immutable::set(&f)?;
                cx.submit_one(&mut ring, sqe)?
            };
            check_o_direct_write(cx, &f, &data, c.res)?;
            cx.observe(c, "to an O_DIRECT ext4 file made immutable after its open")
        }),
];
