//! The submission queue: [`Ring::push`], the batch view [`SqBatch`], publishing the tail,
//! and the SQ ring's flags and counters.

use super::Ring;
use crate::abi::{io_uring_sqe, SqRingFlags, SqeFlags};
use crate::op::{Anchors, Sqe};
use std::sync::atomic::{AtomicU32, Ordering};

/// The submission queue is full (what [`Sq::push_raw`] says; [`PushError::Full`] outside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SqFull;

/// Why a push was refused; no SQE was written. Neither is an answer of the kernel (no
/// syscall was made), and there is no conversion to [`crate::Errno`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The submission queue is full: submit first.
    Full,
    /// The SQE names a [`HeldSlice`](crate::mem::HeldSlice) of a region this ring does not
    /// hold (another ring's, or one gone): the memory might not outlive the request.
    NotHeld,
    /// The SQE names iovecs or a msghdr laid out for another ABI than the ring's (a native
    /// layout on a compat ring, or the reverse): the kernel would read them as its own.
    WrongAbi,
}

impl From<SqFull> for PushError {
    #[inline]
    fn from(_: SqFull) -> PushError {
        PushError::Full
    }
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Full => f.write_str("submission queue full"),
            PushError::NotHeld => f.write_str(
                "refused by the uring crate (no syscall made): the SQE names memory held by \
                 another ring",
            ),
            PushError::WrongAbi => f.write_str(
                "refused by the uring crate (no syscall made): the SQE names iovecs or a msghdr \
                 laid out for another ABI than the ring's",
            ),
        }
    }
}

impl std::error::Error for PushError {}

/// The SQ as the pushing code sees it. `Copy`, so that [`SqBatch`] can work on a copy in
/// registers and write the tail back once.
#[derive(Clone, Copy)]
pub(super) struct Sq {
    pub(super) khead: *const AtomicU32,
    pub(super) ktail: *const AtomicU32,
    pub(super) kflags: *const AtomicU32,
    pub(super) kdropped: *const AtomicU32,
    pub(super) sqes: *mut u8,
    /// log2 of the SQE size (6, or 7 with SQE128): slot i starts at `sqes + (i << shift)`.
    pub(super) sqe_shift: u32,
    pub(super) mask: u32,
    pub(super) entries: u32,
    /// Our tail: SQEs written but maybe not yet published.
    pub(super) tail: u32,
    /// Last head read from the kernel: refreshed only when the queue looks full.
    pub(super) cached_head: u32,
}

impl Sq {
    /// Writes `raw` into the next slot and moves our (unpublished) tail past it.
    #[inline(always)]
    pub(super) fn push_raw(&mut self, raw: &io_uring_sqe) -> Result<(), SqFull> {
        if self.tail.wrapping_sub(self.cached_head) >= self.entries {
            // Re-read the head before saying "full": SQPOLL consumes behind our back.
            // SAFETY: khead points into the SQ mapping, which the Ring owns and keeps
            // mapped for as long as this Sq (or a copy in an SqBatch borrowing it) lives.
            self.cached_head = unsafe { &*self.khead }.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.cached_head) >= self.entries {
                return Err(SqFull);
            }
        }
        let idx = (self.tail & self.mask) as usize;
        // SAFETY: idx <= mask < sq entries, so the slot lies inside the SQE mapping (of
        // `entries << sqe_shift` bytes); the kernel does not read slots between its head
        // and our unpublished tail, and the check above keeps the tail within `entries`
        // of the head, so this slot is ours.
        unsafe {
            let slot = self.sqes.add(idx << self.sqe_shift);
            // Of an SQE128 slot only the first 64 bytes are ever written: the second half
            // stays as zeroed at setup.
            std::ptr::write(slot as *mut io_uring_sqe, *raw);
        }
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }
}

/// Whether the ring has nothing to track for an SQE: it names no memory or only memory
/// this ring holds (`ring_id`'s, see [`Ring::hold`]), and selects no provided buffer,
/// unless the ring `holds` memory. (A request selecting one names no memory itself, but
/// the kernel writes into a buffer of a ring or legacy group this Ring keeps: it is in
/// flight with memory all the same, and teardown must wait for it, which the teardown of a
/// ring holding memory does for every request, counted or not.)
#[inline(always)]
fn is_plain(raw: &io_uring_sqe, anchors: &Anchors, ring_id: u64, holds: bool) -> bool {
    let untracked = match anchors {
        Anchors::None => true,
        Anchors::Held(r) => *r == ring_id,
        _ => false,
    };
    untracked && (!raw.flags.contains(SqeFlags::BUFFER_SELECT) || holds)
}

/// The rest of a push ([`SqBatch::push`], [`Ring::push`]) for an SQE the ring tracks: the
/// held-memory check, the slot, the anchors. One out-of-line call on a copy of the queue
/// state, so that the plain path keeps its registers (two calls there spilled the push
/// loop, 65 instructions per read at batch 32 instead of 61).
#[cold]
#[inline(never)]
fn push_tracked(
    ring: &mut Ring,
    sq: &mut Sq,
    ring_id: u64,
    raw: io_uring_sqe,
    anchors: Anchors,
) -> Result<(), PushError> {
    if let Some(r) = anchors.held_by() {
        if r != ring_id {
            return Err(PushError::NotHeld);
        }
    }
    if anchors
        .regions()
        .any(|m| m.layout().is_some_and(|a| a != ring.abi))
    {
        return Err(PushError::WrongAbi);
    }
    sq.push_raw(&raw)?;
    trace_push(&raw);
    ring.anchor(raw.user_data, anchors);
    Ok(())
}

/// Records a pushed SQE in the per-thread trace (nothing without the `trace` feature).
#[inline(always)]
fn trace_push(raw: &io_uring_sqe) {
    crate::trace::note(|| crate::trace::Call::Sqe {
        op: raw.opcode,
        user_data: raw.user_data,
    });
}

/// Pushes SQEs with the queue state in registers: see [`Ring::sq_batch`]. Each
/// [`SqBatch::push`] does what [`Ring::push`] does (the memory an SQE references is kept
/// alive the same way); the tail goes back to the ring when the batch is dropped.
pub struct SqBatch<'a> {
    sq: Sq,
    /// The ring's id and whether it holds memory, for the test of each push.
    id: u64,
    holds: bool,
    ring: &'a mut Ring,
}

impl SqBatch<'_> {
    /// Writes `sqe` into the next SQ slot, as [`Ring::push`] does.
    // The same lines as Ring::push, on purpose: sharing them through a helper that returns
    // the anchors to the caller (measured) lets the compiler keep the SQE in memory again,
    // and the batch loop grows from 24 to 85 instructions per NOP.
    #[inline]
    pub fn push(&mut self, sqe: Sqe) -> Result<(), PushError> {
        let Sqe { raw, anchors } = sqe;
        if is_plain(&raw, &anchors, self.id, self.holds) {
            // `Anchors::None` and `Anchors::Held` own nothing: forgetting them drops
            // nothing, and spares the SqFull return a drop of a value the compiler would
            // keep in memory.
            std::mem::forget(anchors);
            self.sq.push_raw(&raw)?;
            trace_push(&raw);
            return Ok(());
        }
        // A copy of the queue state goes to the tracked path: handing it `&mut self.sq`
        // (or `self`) would keep the batch's state in memory on the plain path too.
        let mut sq = self.sq;
        let r = push_tracked(self.ring, &mut sq, self.id, raw, anchors);
        self.sq = sq;
        r
    }

    /// Free SQ slots as of the last head this batch read (it re-reads the head only when
    /// the queue looks full).
    pub fn space(&self) -> u32 {
        self.sq.entries - self.sq.tail.wrapping_sub(self.sq.cached_head)
    }
}

impl Drop for SqBatch<'_> {
    #[inline]
    fn drop(&mut self) {
        self.ring.sq.tail = self.sq.tail;
        self.ring.sq.cached_head = self.sq.cached_head;
    }
}

impl Ring {
    /// Number of SQ entries.
    pub fn sq_entries(&self) -> u32 {
        self.sq.entries
    }

    pub(super) fn sq_khead(&self) -> &AtomicU32 {
        // SAFETY: points into the SQ mapping owned by self (see setup).
        unsafe { &*self.sq.khead }
    }

    /// Free SQ slots right now.
    pub fn sq_space(&mut self) -> u32 {
        self.sq.cached_head = self.sq_khead().load(Ordering::Acquire);
        self.sq.entries - self.sq.tail.wrapping_sub(self.sq.cached_head)
    }

    /// Writes `sqe` into the next SQ slot (not yet visible to the kernel: see [`Ring::submit`]).
    /// For many SQEs in a row, [`Ring::sq_batch`] keeps the queue state in registers.
    /// Refused ([`PushError::NotHeld`]) if it names memory held by another ring.
    #[inline]
    pub fn push(&mut self, sqe: Sqe) -> Result<(), PushError> {
        // Taken apart first: the entry then lives in registers (the slot is written
        // straight from the builder's fields), and the plain path has nothing to drop.
        let Sqe { raw, anchors } = sqe;
        if is_plain(&raw, &anchors, self.id, self.holds) {
            // `Anchors::None` and `Anchors::Held` own nothing: forgetting them drops
            // nothing, and spares the SqFull return a drop of a value the compiler would
            // keep in memory.
            std::mem::forget(anchors);
            self.sq.push_raw(&raw)?;
            trace_push(&raw);
            return Ok(());
        }
        let mut sq = self.sq;
        let r = push_tracked(self, &mut sq, self.id, raw, anchors);
        self.sq = sq;
        r
    }

    /// A view of the SQ for pushing many SQEs: the tail and the queue's geometry are
    /// copied into the view once, and written back (once) when it is dropped. The SQEs
    /// still reach the kernel only with [`Ring::submit`] (or a wait that submits).
    #[inline]
    pub fn sq_batch(&mut self) -> SqBatch<'_> {
        SqBatch {
            sq: self.sq,
            id: self.id,
            holds: self.holds,
            ring: self,
        }
    }

    /// Publishes our tail; returns the number of SQEs the kernel has not consumed yet.
    #[inline]
    pub(super) fn flush_sq(&mut self) -> u32 {
        // SAFETY: ktail points into the SQ mapping owned by self.
        unsafe { &*self.sq.ktail }.store(self.sq.tail, Ordering::Release);
        self.sq
            .tail
            .wrapping_sub(self.sq_khead().load(Ordering::Acquire))
    }

    pub(super) fn sq_flags_raw(&self) -> u32 {
        // SAFETY: kflags points into the SQ mapping owned by self.
        unsafe { &*self.sq.kflags }.load(Ordering::Acquire)
    }

    /// The SQ ring's flags word (`IORING_SQ_CQ_OVERFLOW` says CQEs wait in the overflow list).
    pub fn sq_flags(&self) -> SqRingFlags {
        SqRingFlags(self.sq_flags_raw())
    }

    /// The SQ ring's `dropped` counter: invalid SQ indices the kernel skipped.
    pub fn sq_dropped(&self) -> u32 {
        // SAFETY: kdropped points into the SQ mapping owned by self.
        unsafe { &*self.sq.kdropped }.load(Ordering::Acquire)
    }
}
