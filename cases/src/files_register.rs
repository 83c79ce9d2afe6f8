//! The registered-file table as MSG_RING's target and the fixed-file endpoints:
//! REGISTER_FILES(2), FILES_UPDATE(2), UNREGISTER_FILES (rsrc.c io_sqe_files_register,
//! __io_sqe_files_update, io_sqe_files_unregister). What a call answers, and its effect on
//! the slots: a READ through IOSQE_FIXED_FILE, the tag CQE of a replaced slot, and the slot
//! IORING_OP_FILES_UPDATE with IORING_FILE_INDEX_ALLOC picks (the lowest slot the table's
//! bitmap has free: filetable.c io_file_bitmap_get).

use crate::common::*;
use std::os::fd::RawFd;
use std::time::Duration;
use uring::abi::{CqeFlags, RsrcRegisterFlags, SqeFlags, FILE_INDEX_ALLOC, REGISTER_FILES_SKIP};
use uring::register::{ArgPtr, ArrayArg, Files2, FilesUpdate};
use uring::{op, ForeignAddr, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The tag of the rows' tagged slots.
const TAG: u64 = 0xf11e_7a6;

/// FILES2 of `a` on `ring`, observed.
fn files2(cx: &Cx, ring: &Ring, a: Files2<'_>) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, FILES2, {{nr={}, flags={:?}, data={}, tags={}}}, 32)",
        a.nr,
        a.flags,
        array_desc(&a.data),
        array_desc(&a.tags)
    );
    cx.sync(call, ring.registrar().register_files2(&a).map(|_| 0))
}

/// A FILES2 argument for `fds` with `tags` (empty: no tag array).
fn f2<'a>(fds: &'a [RawFd], tags: &'a [u64]) -> Files2<'a> {
    Files2 {
        nr: fds.len() as u32,
        flags: RsrcRegisterFlags::NONE,
        data: ArrayArg::Values(fds),
        tags: if tags.is_empty() {
            ArrayArg::NULL
        } else {
            ArrayArg::Values(tags)
        },
    }
}

/// FILES_UPDATE2 of `u` on `ring`, observed.
fn update2(cx: &Cx, ring: &Ring, u: FilesUpdate<'_>) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, FILES_UPDATE2, {{offset={}, resv={}, data={}, tags={}, nr={}}}, \
         32)",
        u.offset,
        u.resv,
        array_desc(&u.data),
        array_desc(&u.tags),
        u.nr
    );
    cx.sync(
        call,
        ring.registrar().register_files_update2(&u).map(i64::from),
    )
}

/// FILES_UPDATE (the first, untagged form) of `u` with `nr_args` entries, observed.
fn update1(cx: &Cx, ring: &Ring, u: FilesUpdate<'_>, nr_args: u32) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, FILES_UPDATE, {{offset={}, resv={}, data={}}}, {nr_args})",
        u.offset,
        u.resv,
        array_desc(&u.data)
    );
    cx.sync(
        call,
        ring.registrar()
            .register_files_update(&u, nr_args)
            .map(i64::from),
    )
}

/// An update of the slots from `offset` with `fds` and `tags` (empty: no tag array).
fn fu<'a>(offset: u32, fds: &'a [RawFd], tags: &'a [u64]) -> FilesUpdate<'a> {
    FilesUpdate {
        offset,
        resv: 0,
        data: ArrayArg::Values(fds),
        tags: if tags.is_empty() {
            ArrayArg::NULL
        } else {
            ArrayArg::Values(tags)
        },
        nr: fds.len() as u32,
    }
}

/// A ring with a file table of `n` empty slots (REGISTER_FILES of -1s).
fn ring_with_empty_slots(cx: &Cx, n: usize) -> Result<Ring, CaseError> {
    let ring = cx.ring()?;
    ring.registrar()
        .register_files(&vec![-1; n])
        .setup("a file table of empty slots")?;
    Ok(ring)
}

/// The slot IORING_OP_FILES_UPDATE with IORING_FILE_INDEX_ALLOC gives `fd` (the kernel
/// writes it over the fd in the array and answers 1).
fn alloc_slot(cx: &Cx, ring: &mut Ring, fd: RawFd) -> Result<i32, CaseError> {
    let m = cx.mem(4096)?;
    m.write(0, &fd.to_ne_bytes());
    let c = cx.submit_one(
        ring,
        op::files_update(m.slice(0, 4), 1, FILE_INDEX_ALLOC).user_data(0xa110c),
    )?;
    cx.check_eq("FILES_UPDATE (FILE_INDEX_ALLOC) res", c.res, 1)?;
    Ok(i32::from_ne_bytes(
        m.read(0, 4).try_into().expect("4 bytes"),
    ))
}

/// The answer of a FILE_INDEX_ALLOC update after `prepare` set up the table, observed: the
/// slot the kernel picked.
fn allocated_after(cx: &Cx, ring: &mut Ring, what: &str) -> CaseResult {
    let null = dev_null(false)?;
    let slot = alloc_slot(cx, ring, fd(&null))?;
    cx.sync(
        format!("IORING_OP_FILES_UPDATE(FILE_INDEX_ALLOC, [/dev/null]) {what}: the slot given"),
        Ok::<i64, E>(slot.into()),
    )
}

/// Writes 8 bytes into a pipe and READs them through fixed file `slot`, which must hold
/// the pipe's read end: the CQE's res and the bytes are checked.
fn reads_pipe_through(
    cx: &Cx,
    ring: &mut Ring,
    slot: u32,
    w: &mut std::io::PipeWriter,
) -> Result<(), CaseError> {
    use std::io::Write;
    let data = pattern(8, 0x5a);
    w.write_all(&data).setup("write 8 bytes into the pipe")?;
    let m = cx.mem(4096)?;
    let c = cx.submit_one(
        ring,
        op::read(slot as i32, m.slice(0, 8), 8, 0)
            .add_flags(SqeFlags::FIXED_FILE)
            .user_data(0xf11e),
    )?;
    cx.check_eq(&format!("READ through fixed file {slot}"), c.res, 8)?;
    cx.check_eq(&format!("bytes read through fixed file {slot}"), m.read(0, 8), data)
}

/// The CQEs a ring got within a short settle, as (user_data, res, flags).
fn tag_cqes(cx: &Cx, ring: &mut Ring) -> Vec<(u64, i32, CqeFlags)> {
    cx.settle(ring, Duration::from_millis(20))
        .iter()
        .map(|c| (c.user_data, c.res, c.flags))
        .collect()
}

/// The rows.
pub const CASES: &[Case] = &[];
