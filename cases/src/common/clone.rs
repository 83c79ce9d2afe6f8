//! Buffer cloning: the man page, feature sets and setups shared by `clone_buffers` and
//! `clone_effects`.

use super::*;
use uring::abi::{io_uring_clone_buffers, CloneFlags};
use uring::register::Iov;
use uring::{Mem, Ring};
use uring_harness::{CaseError, CaseResult, Cx, Feature};

pub(crate) const CLONE3: &str = "io_uring_clone_buffers.3";

pub(crate) const CB: &[Feature] = &[Feature::CloneBuffers];

pub(crate) const CR_FIXED: &[Feature] = &[Feature::CloneRanges, Feature::OpReadWriteFixed];

pub(crate) const CB_FIXED: &[Feature] = &[Feature::CloneBuffers, Feature::OpReadWriteFixed];

/// A clone argument.
pub(crate) fn arg(
    src: i32,
    flags: CloneFlags,
    src_off: u32,
    dst_off: u32,
    nr: u32,
) -> io_uring_clone_buffers {
    io_uring_clone_buffers {
        src_fd: src as u32,
        flags,
        src_off,
        dst_off,
        nr,
        pad: [0; 3],
    }
}

/// CLONE_BUFFERS into `dst`, observed.
pub(crate) fn clone(cx: &Cx, dst: &Ring, a: io_uring_clone_buffers) -> CaseResult {
    cx.sync(
        format!(
            "io_uring_register(dst, CLONE_BUFFERS, {{src_fd={}, flags={:?}, src_off={}, \
             dst_off={}, nr={}, pad={:?}}}, 1)",
            a.src_fd as i32, a.flags, a.src_off, a.dst_off, a.nr, a.pad
        ),
        dst.registrar().clone_buffers_raw(a).map(|_| 0),
    )
}

/// A source ring with `n` one-page buffers, and an empty destination ring.
pub(crate) fn pair(cx: &Cx, n: usize) -> Result<(Ring, std::sync::Arc<Mem>, Ring), CaseError> {
    let (src, mem) = ring_with_buffers(cx, n)?;
    Ok((src, mem, cx.ring()?))
}

/// Checks that `ring`'s buffer table has exactly `n` slots' worth of range: an update of
/// slot `n` is out of range (EINVAL) and changes nothing.
pub(crate) fn table_ends_at(cx: &Cx, ring: &Ring, n: u32) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("BUFFERS_UPDATE of slot {n} (one past the expected table end)"),
        ring.registrar().update_buffers(n, &[Iov::Empty], &[0]),
        Err(E::EINVAL.into()),
    )
}

/// What one slot of a table must do, checked by a READ_FIXED through it.
pub(crate) enum Slot<'a> {
    /// Read into `mem + off`: the slot's buffer covers it.
    Holds(&'a Mem, usize),
    /// EFAULT at `mem + off`: the slot is empty, or its buffer does not cover that address.
    Lacks(&'a Mem, usize),
}

/// Checks a whole table: slot `i` does what `slots[i]` says, and the table ends after the
/// last one ([`table_ends_at`]).
pub(crate) fn table_is(cx: &Cx, ring: &mut Ring, slots: &[Slot<'_>]) -> Result<(), CaseError> {
    for (i, s) in slots.iter().enumerate() {
        match *s {
            Slot::Holds(m, off) => reads_into(cx, ring, i as u16, m, off)?,
            Slot::Lacks(m, off) => read_faults(cx, ring, i as u16, m, off)?,
        }
    }
    table_ends_at(cx, ring, slots.len() as u32)
}
