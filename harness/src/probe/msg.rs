//! Probes of MSG_RING and its variants: send-fd, CQE_SKIP, FLAGS_PASS, the synchronous
//! register call.

use super::*;
use std::os::fd::AsRawFd;

/// The msg_ring features, probed between two rings of their own where the kernel has
/// IORING_OP_MSG_RING.
pub(super) const MSG_RING_FEATURES: [Feature; 4] = [
    Feature::MsgSendFd,
    Feature::MsgCqeSkip,
    Feature::MsgFlagsPass,
    Feature::SyncMsgRing,
];

/// The msg_ring features ([`MSG_RING_FEATURES`]), each by a message of its own.
///
/// SEND_FD, CQE_SKIP and FLAGS_PASS are probed by whether `io_msg_ring_prep` accepts the
/// SQE word that names them, in a message to a pipe: a kernel that knows the word gets as
/// far as `io_msg_ring`, which refuses a target that is no ring with -EBADFD; one that does
/// not refuses the SQE in prep with -EINVAL. None of these messages reaches the code the
/// rows test (the source's table, the target's checks, the CQE flags), so a kernel that
/// breaks that code fails the rows instead of losing the feature.
pub(super) fn msg_ring(d: &mut Detections, has_msg_ring: bool) {
    if !has_msg_ring {
        for f in MSG_RING_FEATURES {
            d.set(f, false, "no IORING_OP_MSG_RING".into());
        }
        return;
    }
    let rings = Ring::new(4).and_then(|s| Ok((s, Ring::new(4)?)));
    let not_a_ring = nix::unistd::pipe().map_err(|e| Errno(e as i32));
    let ((mut src, dst), (pipe_r, _pipe_w)) = match (rings, not_a_ring) {
        (Ok(rings), Ok(pipe)) => (rings, pipe),
        (Err(e), _) | (_, Err(e)) => {
            // ENOMEM (the memlock quota) or EMFILE: these features are undetermined.
            for f in MSG_RING_FEATURES {
                let how = format!("two probe rings and a pipe -> {e}");
                d.set_answer(f, &Err::<(), _>(e), false, how);
            }
            return;
        }
    };
    let target = pipe_r.as_raw_fd();
    msg_send_fd(d, &mut src, target);
    msg_cqe_skip(d, &mut src, target);
    msg_flags_pass(d, &mut src, target);
    sync_msg_ring(d, &dst);
}

/// MSG_RING SEND_FD of slot 0 to `target` (a pipe: no ring).
fn send_fd(target: i32, flags: MsgRingFlags) -> op::Sqe {
    op::msg_ring_fd(target, 0, op::MsgFdSlot::Slot(0), 0, flags)
}

/// Sets `f` from the answer to `sqe`, a message to a pipe: -EBADFD (io_msg_ring: no ring)
/// where prep accepted it, -EINVAL (prep) where the kernel does not know `what`.
fn prep_accepts(d: &mut Detections, src: &mut Ring, f: Feature, sqe: op::Sqe, what: &str) {
    let r = one_res(src, sqe);
    d.set(
        f,
        r == Ok(-libc::EBADFD),
        format!(
            "MSG_RING {what} to a pipe -> res {} (-EBADFD: past prep, present)",
            answer(&r)
        ),
    );
}

/// [`Feature::MsgSendFd`]: SEND_FD (`addr` = IORING_MSG_SEND_FD; 5.18 and 5.19 refuse a
/// nonzero `addr` in prep).
fn msg_send_fd(d: &mut Detections, src: &mut Ring, target: i32) {
    let sqe = send_fd(target, MsgRingFlags::NONE);
    prep_accepts(d, src, Feature::MsgSendFd, sqe, "SEND_FD");
}

/// [`Feature::MsgCqeSkip`]: the same with IORING_MSG_RING_CQE_SKIP.
fn msg_cqe_skip(d: &mut Detections, src: &mut Ring, target: i32) {
    let sqe = send_fd(target, MsgRingFlags::CQE_SKIP);
    prep_accepts(d, src, Feature::MsgCqeSkip, sqe, "SEND_FD + CQE_SKIP");
}

/// [`Feature::MsgFlagsPass`]: MSG_DATA with IORING_MSG_RING_FLAGS_PASS (6.0-6.2 refuse
/// any flag but CQE_SKIP in prep).
fn msg_flags_pass(d: &mut Detections, src: &mut Ring, target: i32) {
    let m = op::MsgData {
        res: 0,
        user_data: 2,
        flags: MsgRingFlags::FLAGS_PASS,
    };
    let sqe = op::msg_ring_data(target, m);
    prep_accepts(d, src, Feature::MsgFlagsPass, sqe, "DATA + FLAGS_PASS");
}

/// [`Feature::SyncMsgRing`]: MSG_DATA to `dst` without a ring of one's own.
pub(super) fn sync_msg_ring(d: &mut Detections, dst: &Ring) {
    let r = register::sync_msg_ring(
        -1,
        &op::msg_ring_data(
            dst.fd(),
            op::MsgData {
                res: 0,
                user_data: 3,
                flags: MsgRingFlags::NONE,
            },
        ),
        1,
    );
    d.set(
        Feature::SyncMsgRing,
        r == Ok(0),
        format!("register(-1, SEND_MSG_RING, MSG_DATA) -> {}", answer(&r)),
    );
}
