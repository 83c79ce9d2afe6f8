//! A per-thread record of the io_uring calls this crate makes, for a conformance suite that
//! must show which call a probe made and which call a test checked. Off unless the
//! `trace` cargo feature is on (the suite's tests turn it on); with the feature off,
//! [`record`] runs its closure and records nothing, and the hot paths carry no hook.

use crate::abi::{Opcode, RegisterOp};
use std::cell::RefCell;

/// One call, as much of it as tells two calls apart for that purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    /// io_uring_setup(2) with these setup flags.
    Setup {
        /// `params.flags`.
        flags: u32,
    },
    /// io_uring_register(2) with this opcode.
    Register {
        /// The register opcode.
        op: RegisterOp,
        /// Whether `fd` was -1 (the blind, ring-less form).
        blind: bool,
    },
    /// An SQE pushed to a ring.
    Sqe {
        /// Its opcode.
        op: Opcode,
        /// Its user_data (to match its CQE).
        user_data: u64,
    },
}

thread_local! {
    static CALLS: RefCell<Option<Vec<Call>>> = const { RefCell::new(None) };
}

/// Whether this build records calls (the `trace` feature).
pub const ENABLED: bool = cfg!(feature = "trace");

/// Runs `f` and returns what it returned and the calls it made on this thread (none when
/// the feature is off). Nested use records into the innermost.
pub fn record<R>(f: impl FnOnce() -> R) -> (R, Vec<Call>) {
    let outer = CALLS.with(|c| c.replace(Some(Vec::new())));
    let r = f();
    let calls = CALLS.with(|c| c.replace(outer)).unwrap_or_default();
    (r, calls)
}

/// Takes the calls recorded so far by the innermost [`record`] on this thread.
pub fn take() -> Vec<Call> {
    CALLS.with(|c| {
        c.borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    })
}

/// The calls recorded so far by the innermost [`record`], without taking them.
pub fn peek() -> Vec<Call> {
    CALLS.with(|c| c.borrow().clone().unwrap_or_default())
}

#[inline(always)]
pub(crate) fn note(call: impl FnOnce() -> Call) {
    if ENABLED {
        CALLS.with(|c| {
            if let Some(v) = c.borrow_mut().as_mut() {
                v.push(call());
            }
        });
    }
}
