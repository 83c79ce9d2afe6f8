//! Probes of MSG_RING and its variants: send-fd, CQE_SKIP, FLAGS_PASS, the synchronous
//! register call.

use super::*;

/// The msg_ring features, probed between two rings of their own where the kernel has
/// IORING_OP_MSG_RING.
pub(super) const MSG_RING_FEATURES: [Feature; 4] = [
    Feature::MsgSendFd,
    Feature::MsgCqeSkip,
    Feature::MsgFlagsPass,
    Feature::SyncMsgRing,
];

/// The msg_ring features ([`MSG_RING_FEATURES`]), each by a message of its own.
pub(super) fn msg_ring(d: &mut Detections, has_msg_ring: bool) {
    if !has_msg_ring {
        for f in MSG_RING_FEATURES {
            d.set(f, false, "no IORING_OP_MSG_RING".into());
        }
        return;
    }
    let (mut src, dst) = match (Ring::new(4), Ring::new(4)) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => {
            // ENOMEM (the memlock quota) or EMFILE: these features are undetermined.
            for f in MSG_RING_FEATURES {
                let how = format!("two probe rings: io_uring_setup -> {e}");
                d.set_answer(f, &Err::<(), _>(e), false, how);
            }
            return;
        }
    };
    msg_send_fd(d, &mut src, &dst);
    msg_cqe_skip(d, &mut src, &dst);
    msg_flags_pass(d, &mut src);
    sync_msg_ring(d, &dst);
}

/// MSG_RING SEND_FD from `src` (which has no file table) to slot 0 of `dst`.
pub(super) fn send_fd(dst: &Ring, flags: MsgRingFlags) -> op::Sqe {
    op::msg_ring_fd(dst.fd(), 0, op::MsgFdSlot::Slot(0), 0, flags)
}

/// [`Feature::MsgSendFd`]: SEND_FD from a ring without files, -EBADF where it exists.
pub(super) fn msg_send_fd(d: &mut Detections, src: &mut Ring, dst: &Ring) {
    let r = one_res(src, send_fd(dst, MsgRingFlags::NONE));
    d.set(
        Feature::MsgSendFd,
        r == Ok(-libc::EBADF),
        format!(
            "MSG_RING SEND_FD, source without files -> res {} (-EBADF: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::MsgCqeSkip`]: the same with CQE_SKIP.
pub(super) fn msg_cqe_skip(d: &mut Detections, src: &mut Ring, dst: &Ring) {
    let r = one_res(src, send_fd(dst, MsgRingFlags::CQE_SKIP));
    d.set(
        Feature::MsgCqeSkip,
        r == Ok(-libc::EBADF),
        format!(
            "MSG_RING SEND_FD + CQE_SKIP -> res {} (-EBADF: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::MsgFlagsPass`]: MSG_DATA with FLAGS_PASS to the ring itself (its CQE is
/// drained).
pub(super) fn msg_flags_pass(d: &mut Detections, src: &mut Ring) {
    let own = src.fd();
    let r = one_res(
        src,
        op::msg_ring_data(
            own,
            op::MsgData {
                res: 0,
                user_data: 2,
                flags: MsgRingFlags::FLAGS_PASS,
            },
        ),
    );
    d.set(
        Feature::MsgFlagsPass,
        r == Ok(0),
        format!(
            "MSG_RING DATA + FLAGS_PASS to own ring -> res {}",
            answer(&r)
        ),
    );
    let _ = src.drain();
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
