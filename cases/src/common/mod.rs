//! Small vocabulary shared by the tables: call descriptions and recurring setups, so a
//! row's action reads as one or two lines. Helpers that more than one table uses live here
//! (or in a submodule here), once, and the tables import them from here only.

pub mod buf_reads;
pub mod buffers;
pub mod clone;
pub mod fault;
pub mod folios;
pub mod msg;
pub mod net;
pub mod pbuf;
pub mod pbuf_io;
pub mod pbuf_reg;
pub mod query;

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use uring::abi::RegisterOp;
use uring::register::{ArgPtr, ArrayArg, FdArg, Iov, RegisterCall};
use uring::{Errno, Mem, Ring};
use uring_harness::{CaseError, CaseResult, Cx, Feature, Setup};

/// `{base, len}` as a reader would write it.
pub fn iov_desc(iov: &Iov) -> String {
    match iov {
        Iov::Mem(s) => format!("{{mem+{:#x}, {}}}", s.offset(), s.len()),
        Iov::MemLen(s, l) => format!("{{mem+{:#x}, {l:#x}}}", s.offset()),
        Iov::Foreign(a, l) => format!("{{{:#x}, {l:#x}}}", a.get()),
        Iov::Empty => "{NULL, 0}".into(),
    }
}

/// A list of iovecs.
pub fn iovs_desc(iovs: &[Iov]) -> String {
    format!(
        "[{}]",
        iovs.iter().map(iov_desc).collect::<Vec<_>>().join(", ")
    )
}

/// An array argument.
pub fn array_desc<T: std::fmt::Debug>(a: &ArrayArg<'_, T>) -> String {
    match a {
        ArrayArg::Values(v) => format!("{v:?}"),
        ArrayArg::Ptr(ArgPtr::Foreign(f)) if f.get() == 0 => "NULL".into(),
        ArrayArg::Ptr(p) => format!("{p:?}"),
    }
}

/// An iovec array argument: the iovecs, or the raw pointer.
pub fn iov_array_desc(a: &ArrayArg<'_, Iov>) -> String {
    match a {
        ArrayArg::Values(v) => iovs_desc(v),
        other => array_desc(other),
    }
}

/// REGISTER_BUFFERS with these iovecs, observed.
pub fn register(cx: &Cx, ring: &Ring, iovs: &[Iov]) -> CaseResult {
    cx.sync(
        format!(
            "io_uring_register(ring, REGISTER_BUFFERS, {}, {})",
            iovs_desc(iovs),
            iovs.len()
        ),
        ring.registrar().register_buffers(iovs).map(|_| 0),
    )
}

/// Any register op with a raw argument on `ring`, observed.
pub fn register_raw(cx: &Cx, ring: &Ring, op: RegisterOp, arg: ArgPtr, nr: u32) -> CaseResult {
    cx.register(RegisterCall::new(FdArg::Ring(ring), op, arg, nr))
}

/// One page of fresh memory as a registered-buffer iovec.
pub fn page(cx: &Cx) -> Result<Iov, CaseError> {
    Ok(Iov::Mem(cx.mem(4096)?.slice(0, 4096)))
}

/// A ring with `n` one-page buffers registered; returns the ring and the memory.
pub fn ring_with_buffers(cx: &Cx, n: usize) -> Result<(Ring, Arc<Mem>), CaseError> {
    let ring = cx.ring()?;
    let mem = cx.mem(4096 * n)?;
    let iovs: Vec<Iov> = (0..n)
        .map(|i| Iov::Mem(mem.slice(i * 4096, 4096)))
        .collect();
    ring.registrar()
        .register_buffers(&iovs)
        .setup("register the buffers")?;
    Ok((ring, mem))
}

/// A fresh ring with one registered buffer: `mem` from byte `lead` to its end (a buffer at
/// a page offset). Returns the ring and the buffer's address.
pub fn ring_with_buffer_in(cx: &Cx, mem: &Arc<Mem>, lead: usize) -> Result<(Ring, u64), CaseError> {
    let ring = cx.ring()?;
    let len = mem.len() - lead;
    ring.registrar()
        .register_buffers(&[Iov::Mem(mem.slice(lead, len))])
        .setup(&format!(
            "register a buffer of {len:#x} bytes at +{lead:#x}"
        ))?;
    Ok((ring, mem.addr() + lead as u64))
}

/// Submits one READ_FIXED (user_data 0x42) of `len` bytes from file offset 0 into `addr`
/// of registered buffer `buf_index` and returns its CQE.
pub fn read_fixed(
    cx: &Cx,
    ring: &mut Ring,
    fd: i32,
    addr: u64,
    len: u32,
    buf_index: u16,
) -> Result<uring::Cqe, CaseError> {
    let args = uring::op::Fixed {
        addr,
        len,
        offset: 0,
        buf_index,
    };
    read_fixed_at(cx, ring, fd, args)
}

/// Submits one READ_FIXED (user_data 0x42) with these named arguments and returns its CQE.
pub fn read_fixed_at(
    cx: &Cx,
    ring: &mut Ring,
    fd: i32,
    args: uring::op::Fixed,
) -> Result<uring::Cqe, CaseError> {
    cx.submit_one(ring, uring::op::read_fixed(fd, args).user_data(0x42))
}

/// Where a read's CQE counts bytes (res > 0), checks that they are the first res bytes of
/// `want` and landed at the start of `mem + off`.
pub fn check_read_bytes(
    cx: &Cx,
    c: &uring::Cqe,
    mem: &Mem,
    off: usize,
    want: &[u8],
) -> Result<(), CaseError> {
    if c.res > 0 {
        let n = c.res as usize;
        cx.check_eq(
            "the bytes read",
            mem.read(off, n),
            want[..n.min(want.len())].to_vec(),
        )?;
    }
    Ok(())
}

/// A deterministic pattern of `len` bytes (no two nearby bytes alike).
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(seed as u32 * 7 + 1) as u8
        })
        .collect()
}

/// A temp file holding `pattern(len, seed)`.
pub fn data_file(cx: &Cx, len: usize, seed: u8) -> Result<(File, Vec<u8>), CaseError> {
    let data = pattern(len, seed);
    Ok((cx.file_with(&data)?, data))
}

/// Opens `/dev/null` with these options (for fd-mode checks and non-ring fds). The rows
/// that use it need the null character device (1:3); a container or chroot without it, or
/// with something else at that path, makes them skip with what was found there.
pub fn dev_null(write: bool) -> Result<File, CaseError> {
    let skip = |what: String| {
        CaseError::Skip(uring_harness::SkipCause::Environment {
            what: format!("/dev/null {what}"),
        })
    };
    let f = std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
        .map_err(|e| skip(format!("cannot be opened: {e}")))?;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = f.metadata().map_err(|e| skip(format!("fstat: {e}")))?;
    if !m.file_type().is_char_device() || m.rdev() != libc::makedev(1, 3) {
        return Err(skip(format!(
            "is not the null character device 1:3 (mode {:#o}, rdev {:#x})",
            m.mode(),
            m.rdev()
        )));
    }
    Ok(f)
}

/// A pipe (read end, write end).
pub fn pipe() -> Result<(std::io::PipeReader, std::io::PipeWriter), CaseError> {
    std::io::pipe().setup("pipe")
}

/// The raw fd of a file.
pub fn fd(f: &impl AsRawFd) -> i32 {
    f.as_raw_fd()
}

/// An fd number that is never open: far above any RLIMIT_NOFILE.
pub const NEVER_OPEN_FD: i32 = 0x3fff_fff0;

/// `sizeof(struct io_uring_rsrc_register)` == `sizeof(struct io_uring_rsrc_update2)`: the
/// `nr_args` of BUFFERS2 and BUFFERS_UPDATE.
pub const RR: u32 = 32;

/// READ_FIXED of 64 file bytes through `ring`'s slot `slot` at `mem + off`; returns the
/// CQE res and checks that the bytes landed there when it succeeded.
pub fn read_through(
    cx: &Cx,
    ring: &mut Ring,
    slot: u16,
    mem: &Mem,
    off: usize,
) -> Result<i32, CaseError> {
    let (f, data) = data_file(cx, 64, (slot as u8).wrapping_add(11))?;
    let c = read_fixed(cx, ring, fd(&f), mem.addr() + off as u64, 64, slot)?;
    if c.res == 64 {
        cx.check_eq(
            &format!("bytes read through slot {slot} at mem+{off:#x}"),
            mem.read(off, 64),
            data,
        )?;
    }
    Ok(c.res)
}

/// `read_through` whose CQE res must be `want`.
fn read_answers(
    cx: &Cx,
    ring: &mut Ring,
    slot: u16,
    at: (&Mem, usize),
    want: i32,
) -> Result<(), CaseError> {
    let (mem, off) = at;
    let r = read_through(cx, ring, slot, mem, off)?;
    cx.check_eq(
        &format!("READ_FIXED res through slot {slot} at mem+{off:#x}"),
        r,
        want,
    )
}

/// `read_through` that must succeed.
pub fn reads_into(
    cx: &Cx,
    ring: &mut Ring,
    slot: u16,
    mem: &Mem,
    off: usize,
) -> Result<(), CaseError> {
    read_answers(cx, ring, slot, (mem, off), 64)
}

/// `read_through` that must fail with EFAULT (empty slot, index out of range, or the
/// address is not inside that slot's buffer).
pub fn read_faults(
    cx: &Cx,
    ring: &mut Ring,
    slot: u16,
    mem: &Mem,
    off: usize,
) -> Result<(), CaseError> {
    read_answers(cx, ring, slot, (mem, off), -libc::EFAULT)
}

/// The few system calls of this table beyond the ring's: signals for the row that interrupts
/// a waiting call (it runs in a child process of its own, `.unprivileged`, so the handler it
/// installs is its alone), a thread's tid, a memfd as a file, a socket's peek offset and
/// which pages of a file are cached.
pub mod sys {
    use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};

    /// The kernel's answer in a nix error.
    fn kernel(e: nix::errno::Errno) -> uring::Errno {
        uring::Errno(e as i32)
    }

    /// A memfd of `len` bytes, as a file.
    pub fn memfd(len: u64) -> Result<std::fs::File, uring::Errno> {
        use nix::sys::memfd::{memfd_create, MFdFlags};
        let fd = memfd_create(c"uring-conformance", MFdFlags::MFD_CLOEXEC).map_err(kernel)?;
        let len = i64::try_from(len).map_err(|_| uring::Errno::EFBIG)?;
        nix::unistd::ftruncate(&fd, len).map_err(kernel)?;
        Ok(std::fs::File::from(fd))
    }

    /// Which pages of the first `len` bytes of `f` are in the page cache: mincore(2) of a
    /// shared read-only mapping of it (mapping faults nothing in), unmapped before it returns.
    #[allow(unsafe_code)] // mmap, mincore, munmap
    pub fn resident_pages(f: &std::fs::File, len: usize) -> Result<Vec<bool>, uring::Errno> {
        use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
        let size = std::num::NonZeroUsize::new(len).ok_or(uring::Errno::EINVAL)?;
        // SAFETY: a new mapping at an address the kernel picks (no existing memory is
        // replaced); it is never dereferenced, only passed to mincore and munmap below.
        let addr = unsafe { mmap(None, size, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, f, 0) }
            .map_err(kernel)?;
        let mut vec = vec![0u8; len.div_ceil(uring::sys::page_size())];
        // SAFETY: `addr` starts a live mapping of `len` bytes and `vec` has one byte for
        // each of its pages.
        let r = unsafe { libc::mincore(addr.as_ptr(), len, vec.as_mut_ptr()) };
        let err = nix::errno::Errno::last();
        // SAFETY: the mapping made above, of `len` bytes; nothing refers to it after this.
        let _ = unsafe { munmap(addr, len) };
        if r != 0 {
            return Err(kernel(err));
        }
        Ok(vec.iter().map(|b| b & 1 == 1).collect())
    }

    extern "C" fn nothing(_: libc::c_int) {}

    /// Installs a handler that does nothing for SIGUSR1, without SA_RESTART.
    #[allow(unsafe_code)] // sigaction
    pub fn catch_sigusr1() -> Result<(), uring::Errno> {
        let sa = SigAction::new(
            SigHandler::Handler(nothing),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler is async-signal-safe (it does nothing), and this process (an
        // unprivileged child running one row) installs no other SIGUSR1 handler.
        unsafe { nix::sys::signal::sigaction(Signal::SIGUSR1, &sa) }
            .map(drop)
            .map_err(kernel)
    }

    /// This thread, to signal.
    pub fn this_thread() -> Pthread {
        pthread_self()
    }

    /// Sends SIGUSR1 to thread `t` (alive: the sender is joined before it returns).
    pub fn sigusr1(t: Pthread) {
        let _ = pthread_kill(t, Signal::SIGUSR1);
    }

    /// This thread's tid.
    pub fn gettid() -> i32 {
        nix::unistd::gettid().as_raw()
    }

    /// Sets SO_PEEK_OFF of socket `sock` to `off` bytes: a MSG_PEEK recv then starts that far
    /// into the queue (nix has no such option).
    #[allow(unsafe_code)] // setsockopt
    pub fn set_peek_off(sock: &impl std::os::fd::AsRawFd, off: i32) -> Result<(), uring::Errno> {
        // SAFETY: setsockopt reads `optlen` bytes from a live c_int; `sock` is an open fd.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEEK_OFF,
                (&off as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(kernel(nix::errno::Errno::last()))
        }
    }
}

/// Errno shorthand for tables.
pub use uring::Errno as E;

/// Asserts that no completion shows up within a short settle time.
pub fn no_cqes(cx: &Cx, ring: &mut Ring, what: &str) -> Result<(), CaseError> {
    let got = cx.settle(ring, std::time::Duration::from_millis(20));
    cx.check(got.is_empty(), || {
        format!("{what}: expected no CQE, got {got:?}")
    })
}

/// CQE flags of a completion that used provided buffer `bid`: `IORING_CQE_F_BUFFER |
/// bid << 16`, plus `extra` (BUF_MORE, MORE, ...).
pub const fn buf_flags(bid: u16, extra: uring::abi::CqeFlags) -> uring::abi::CqeFlags {
    uring::abi::CqeFlags(
        uring::abi::CqeFlags::BUFFER.0
            | (bid as u32) << uring::abi::CqeFlags::BUFFER_SHIFT
            | extra.0,
    )
}

#[allow(dead_code)]
fn _errno_in_scope(_: Errno) {}

/// `pages` huge pages of `kind`, mapped and touched ([`touch_huge`]), of the size this
/// kernel has (probed, `uring_harness::env::huge_page_sizes`): the PMD size for THP, the
/// smallest hugetlb pool with `pages` free pages (at most 1 GiB in all) for hugetlb. Returns
/// the memory and the huge page size; where no size fits, the skip says what was found.
pub fn map_huge(kind: uring::mem::Backing, pages: usize) -> Result<(Arc<Mem>, usize), CaseError> {
    let sizes = uring_harness::env::huge_page_sizes();
    let huge = match kind {
        uring::mem::Backing::Thp => sizes.thp(pages)?,
        _ => sizes.hugetlb(pages as u64, uring::sys::page_size(), 1 << 30)?,
    };
    let what = uring_harness::env::size_name(huge);
    let m = Mem::huge(pages * huge, huge, kind)
        .setup(&format!("mmap {pages} huge page(s) of {what} ({kind:?})"))?;
    touch_huge(&m, kind)?;
    Ok((m, huge))
}

/// Touches every page of a huge-page region (the first touch decides a THP's size) and,
/// for THP, checks /proc/self/smaps: a row about huge-page buffers proves nothing on the
/// small pages the kernel may give instead, so it skips and says so.
pub fn touch_huge(m: &Mem, kind: uring::mem::Backing) -> Result<(), CaseError> {
    m.fill(0x5a);
    if kind != uring::mem::Backing::Thp {
        return Ok(());
    }
    let kb = anon_huge_kb(m.addr()).setup("read /proc/self/smaps")?;
    if kb == 0 {
        return Err(CaseError::Skip(uring_harness::SkipCause::Resource {
            resource: uring_harness::resource::Resource::HugePages,
            step: format!(
                "the kernel backed the MADV_HUGEPAGE region {:#x} with small pages",
                m.addr()
            ),
            errno: None,
            limit: "smaps AnonHugePages 0 kB".into(),
        }));
    }
    Ok(())
}

/// AnonHugePages (kB) of the mapping holding `addr`, from /proc/self/smaps.
fn anon_huge_kb(addr: u64) -> std::io::Result<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut inside = false;
    for line in smaps.lines() {
        let range = line
            .split_whitespace()
            .next()
            .and_then(|r| r.split_once('-'));
        if let Some((a, b)) = range {
            if let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                inside = a <= addr && addr < b;
                continue;
            }
        }
        if let Some(v) = line.strip_prefix("AnonHugePages:").filter(|_| inside) {
            return Ok(v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
        }
    }
    Ok(0)
}

/// The man page of io_uring_enter(2), cited by rows of several tables.
pub const ENTER: &str = "io_uring_enter.2";
/// The man page of io_uring_register(2), cited by rows of several tables.
pub const REG: &str = "io_uring_register.2";

/// A pipe whose read end already holds `data`.
pub(crate) fn pipe_with(
    data: &[u8],
) -> Result<(std::io::PipeReader, std::io::PipeWriter), CaseError> {
    let (r, mut w) = pipe()?;
    w.write_all(data).setup("write the pipe")?;
    Ok((r, w))
}

/// The man page of io_uring_register_buffers(3), cited by the fixed-I/O rows.
pub const MAN3: &str = "io_uring_register_buffers.3";
/// What the rows on resource tags (BUFFERS2, BUFFERS_UPDATE with tags) require.
pub const RSRC: &[Feature] = &[Feature::RsrcTags];
/// What READ_FIXED / WRITE_FIXED rows require.
pub const FIXED: &[Feature] = &[Feature::OpReadWriteFixed];

/// Whether a synchronous call answered 0 (a row goes on to check the effect only then; any
/// other answer is the harness's to judge, a memlock ENOMEM included).
pub(crate) fn answered_zero(o: &uring_harness::Observation) -> bool {
    matches!(o.answer, uring_harness::Answer::Sync(Ok(0)))
}
