//! The BUFFERS2 and BUFFERS_UPDATE calls and the in-flight pipe reads that more than one
//! registered-buffer table ([`crate::register_buffers`], [`crate::register_buffers2`],
//! [`crate::buffers_update`], [`crate::unregister_buffers`]) uses.

use crate::common::*;
use std::sync::Arc;
use uring::abi::RsrcRegisterFlags;
use uring::register::{ArrayArg, Buffers2, BuffersUpdate, Iov};
use uring::{op, Mem, Ring};
use uring_harness::{CaseError, CaseResult, Cx, Setup};

/// BUFFERS_UPDATE with `u`, observed.
pub fn update(cx: &Cx, ring: &Ring, u: BuffersUpdate<'_>, nr_args: u32) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, BUFFERS_UPDATE, {{offset={}, resv={}, data={}, tags={}, nr={}, \
         resv2={}}}, {nr_args})",
        u.offset,
        u.resv,
        iov_array_desc(&u.data),
        array_desc(&u.tags),
        u.nr,
        u.resv2
    );
    cx.sync(
        call,
        ring.registrar()
            .register_buffers_update_sized(&u, nr_args)
            .map(i64::from),
    )
}

/// A well-formed BUFFERS_UPDATE argument for `iovs` at `offset` without tags.
pub fn up(offset: u32, iovs: &[Iov]) -> BuffersUpdate<'_> {
    BuffersUpdate {
        offset,
        resv: 0,
        data: ArrayArg::Values(iovs),
        tags: ArrayArg::NULL,
        nr: iovs.len() as u32,
        resv2: 0,
    }
}

/// A READ_FIXED of 8 bytes from the empty pipe `r` into `addr` of slot 0, submitted and
/// left waiting (user_data 9).
pub fn read_fixed_on_pipe(
    cx: &Cx,
    ring: &mut Ring,
    r: &std::io::PipeReader,
    addr: u64,
) -> Result<(), CaseError> {
    let _ = cx;
    ring.push(
        op::read_fixed(
            fd(r),
            op::Fixed {
                addr,
                len: 8,
                offset: 0,
                buf_index: 0,
            },
        )
        .user_data(9),
    )
    .map_err(|e| CaseError::Broken(e.to_string()))?;
    ring.submit()
        .setup("submit the READ_FIXED on an empty pipe")
        .map(|_| ())
}

/// Writes 8 bytes to the pipe and waits for the READ_FIXED's CQE (and any other CQEs up to
/// `want` in all); checks it read them into `m` at 0.
pub fn complete_pipe_read(
    cx: &Cx,
    ring: &mut Ring,
    w: &std::io::PipeWriter,
    m: &Mem,
    want: usize,
) -> Result<Vec<uring::Cqe>, CaseError> {
    use std::io::Write;
    let mut w = w;
    w.write_all(b"8 bytes!").setup("write the pipe")?;
    let cqes = cx.wait(ring, want)?;
    let read = cqes
        .iter()
        .find(|c| c.user_data == 9)
        .ok_or_else(|| CaseError::Fail(format!("no READ_FIXED CQE among {cqes:?}")))?;
    cx.check_eq("READ_FIXED CQE res", read.res, 8)?;
    cx.check_eq(
        "bytes read into the buffer the request started with",
        m.read(0, 8),
        b"8 bytes!".to_vec(),
    )?;
    Ok(cqes)
}

/// A ring with `n` pages of memory, the first two registered (BUFFERS2, tags 0) as slots
/// 0 and 1; the pages as iovecs.
pub fn two_untagged(cx: &Cx, n: usize) -> Result<(Ring, Arc<Mem>, Vec<Iov>), CaseError> {
    let ring = cx.ring()?;
    let m = cx.mem(n * 4096)?;
    let pages: Vec<Iov> = (0..n).map(|i| Iov::Mem(m.slice(i * 4096, 4096))).collect();
    ring.registrar()
        .register_buffers_tagged(&pages[..2], &[0, 0])
        .setup("register two untagged buffers")?;
    Ok((ring, m, pages))
}

/// BUFFERS2 with `a`, observed.
pub fn buffers2(cx: &Cx, ring: &Ring, a: Buffers2<'_>, nr_args: u32) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, BUFFERS2, {{nr={}, flags={:?}, resv2={}, data={}, tags={}}}, \
         {nr_args})",
        a.nr,
        a.flags,
        a.resv2,
        iov_array_desc(&a.data),
        array_desc(&a.tags)
    );
    cx.sync(
        call,
        ring.registrar()
            .register_buffers2_sized(&a, nr_args)
            .map(|_| 0),
    )
}

/// A well-formed BUFFERS2 argument for `iovs` without tags.
pub fn b2(iovs: &[Iov]) -> Buffers2<'_> {
    Buffers2 {
        nr: iovs.len() as u32,
        flags: RsrcRegisterFlags::NONE,
        resv2: 0,
        data: ArrayArg::Values(iovs),
        tags: ArrayArg::NULL,
    }
}
