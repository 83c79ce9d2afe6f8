//! Small vocabulary shared by the tables: call descriptions and recurring setups, so a
//! row's action reads as one or two lines.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use uring::abi::RegisterOp;
use uring::register::{ArgPtr, ArrayArg, FdArg, Iov, RegisterCall};
use uring::{Errno, Mem, Ring};
use uring_harness::{CaseError, CaseResult, Cx, Setup};

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
        ring.register_buffers(iovs).map(|_| 0),
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
    ring.register_buffers(&iovs).setup("register the buffers")?;
    Ok((ring, mem))
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

/// Opens `/dev/null` with these options (for fd-mode checks and non-ring fds).
pub fn dev_null(write: bool) -> Result<File, CaseError> {
    std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
        .setup("open /dev/null")
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
