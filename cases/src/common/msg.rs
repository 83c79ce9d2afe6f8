//! MSG_RING: the man pages, feature sets, user_data values and setups shared by the tables
//! of §4 (`msg_ring`, `msg_ring_delivery`, `sync_msg_ring`) and the fault-injection rows.

use super::*;
use std::fs::File;
use uring::abi::{CqeFlags, MsgRingFlags, SetupFlags, SqeFlags};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::{Cqe, Ring};
use uring_harness::{CaseError, CaseResult, Cx, Feature, Setup};

pub(crate) const MSG3: &str = "io_uring_prep_msg_ring.3";

pub(crate) const MSGFD3: &str = "io_uring_prep_msg_ring_fd.3";

pub(crate) const MR: &[Feature] = &[Feature::OpMsgRing];

pub(crate) const FD: &[Feature] = &[Feature::MsgSendFd];

pub(crate) const PASS: &[Feature] = &[Feature::MsgFlagsPass];

/// user_data of the source request.
pub(crate) const SRC_UD: u64 = 0x5e4d;

/// user_data the target's CQE is asked to carry.
pub(crate) const DST_UD: u64 = 0xd57;

/// Submits `sqe` (user_data SRC_UD) on `src` and observes the source CQE.
/// `context` says what the setup was; the SQE describes itself.
pub(crate) fn send(cx: &Cx, src: &mut Ring, sqe: Sqe, context: &str) -> CaseResult {
    let c = cx.submit_one(src, sqe.user_data(SRC_UD))?;
    cx.observe(c, context)
}

/// Like [`send`] but also returns the CQE for effect checks.
pub(crate) fn send_c(cx: &Cx, src: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
    cx.submit_one(src, sqe.user_data(SRC_UD))
}

/// MSG_DATA to `target` with `len` = 7, user_data DST_UD.
pub(crate) fn data(target: i32) -> Sqe {
    op::msg_ring_data(
        target,
        op::MsgData {
            res: 7,
            user_data: DST_UD,
            flags: MsgRingFlags::NONE,
        },
    )
}

/// A source ring with `file` in fixed slot 0.
pub(crate) fn fd_source(cx: &Cx, file: &File) -> Result<Ring, CaseError> {
    let r = cx.ring()?;
    r.registrar()
        .register_files(&[fd(file)])
        .setup("register the source's fixed file")?;
    Ok(r)
}

/// A data file, a source ring holding it in slot 0, and a target ring with `n` empty slots.
pub(crate) fn fd_pair(cx: &Cx, n: u32) -> Result<(File, Vec<u8>, Ring, Ring), CaseError> {
    let (f, d) = data_file(cx, 256, 21)?;
    let src = fd_source(cx, &f)?;
    let dst = cx.ring()?;
    dst.registrar()
        .register_files_sparse(n)
        .setup("sparse file table in the target")?;
    Ok((f, d, src, dst))
}

/// SEND_FD of source slot 0 to `target` at `slot`.
pub(crate) fn send_fd(target: i32, slot: MsgFdSlot, flags: MsgRingFlags) -> Sqe {
    op::msg_ring_fd(target, 0, slot, DST_UD, flags)
}

/// Reads 64 bytes at offset 0 through `ring`'s fixed file `slot` and compares with `data`.
pub(crate) fn fixed_file_reads(
    cx: &Cx,
    ring: &mut Ring,
    slot: u32,
    data: &[u8],
) -> Result<(), CaseError> {
    let m = cx.mem(4096)?;
    let c = cx.submit_one(
        ring,
        op::read(slot as i32, m.slice(0, 64), 64, 0)
            .add_flags(SqeFlags::FIXED_FILE)
            .user_data(0xf11e),
    )?;
    cx.check_eq(
        &format!("READ through the target's fixed file {slot}"),
        c.res,
        64,
    )?;
    cx.check_eq(
        &format!("bytes read through fixed file {slot}"),
        m.read(0, 64),
        data[..64].to_vec(),
    )
}

/// The one CQE the target got (bounded wait), checked for user_data.
pub(crate) fn target_cqe(cx: &Cx, dst: &mut Ring) -> Result<Cqe, CaseError> {
    let c = cx.wait(dst, 1)?;
    cx.check_eq("target CQE user_data", c[0].user_data, DST_UD)?;
    Ok(c[0])
}

/// Checks that `target` got no CQE, with no settle time. A message's target CQE is posted
/// before the source's CQE (io_msg_install_complete and __io_msg_ring_data post under the
/// target's lock before they return the source's result), or, for a DEFER_TASKRUN target,
/// queued as its local work, which the io_uring_enter(GETEVENTS) made here runs: once the
/// caller has the source CQE (its positive sync point), nothing of that message can still
/// arrive. The target must be owned by this thread (a DEFER_TASKRUN ring refuses others).
pub(crate) fn no_target_cqe(cx: &Cx, target: &mut Ring, what: &str) -> Result<(), CaseError> {
    target
        .flush_overflow()
        .setup("io_uring_enter(GETEVENTS) on the target")?;
    let got = target.drain();
    cx.check(got.is_empty(), || {
        format!("{what}: expected no CQE, got {got:?}")
    })
}

/// A target ring created disabled (IORING_SETUP_R_DISABLED).
pub(crate) fn disabled(cx: &Cx) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::R_DISABLED))
}

/// A DEFER_TASKRUN target (this thread is its submitter task).
pub(crate) fn defer_target(cx: &Cx) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN))
}

/// A DEFER_TASKRUN target (this thread is its submitter task) with `n` empty fixed-file
/// slots.
pub(crate) fn defer_target_with_slots(cx: &Cx, n: u32) -> Result<Ring, CaseError> {
    let t = defer_target(cx)?;
    t.registrar()
        .register_files_sparse(n)
        .setup("target table")?;
    Ok(t)
}

/// Runs `f` on a fresh thread and returns its result (a spawn the task limit refuses is a
/// skip naming it: [`uring_harness::resource::spawn_thread`]).
pub(crate) fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CaseError> {
    uring_harness::resource::spawn_thread("msg_ring helper", f)?
        .join()
        .map_err(|_| CaseError::Broken("helper thread panicked".into()))
}

/// Submitting a setup message that must succeed.
pub(crate) trait SubmitOk {
    fn submit_one_ok(&mut self, cx: &Cx, sqe: Sqe) -> Result<(), CaseError>;
}

impl SubmitOk for Ring {
    fn submit_one_ok(&mut self, cx: &Cx, sqe: Sqe) -> Result<(), CaseError> {
        let c = cx.submit_one(self, sqe.user_data(SRC_UD - 1))?;
        if c.res < 0 {
            return Err(CaseError::Broken(format!(
                "setup message failed: res {}",
                c.res
            )));
        }
        Ok(())
    }
}

/// The target's CQEs after an io_uring_enter(GETEVENTS) that waits (bounded) for `n`,
/// as (user_data, res, flags).
pub fn reaped(
    cx: &Cx,
    target: &mut Ring,
    n: usize,
) -> Result<Vec<(u64, i32, CqeFlags)>, CaseError> {
    Ok(cx
        .wait(target, n)?
        .iter()
        .map(|c| (c.user_data, c.res, c.flags))
        .collect())
}
