//! Levels whose `since` is the first kernel the matrix measured with the new answer (the
//! commit that changed it not identified): the rows that need them skip on the kernels between.

use super::{Decider, Level};
use crate::version::v;

/// A WRITE at offset -1 (the file position) that the filesystem refuses after moving
/// `ki_pos` (O_APPEND to a sealed memfd): the position stays where it was.
pub const APPEND_ERROR_KEEPS_POSITION: Level = Level {
    name: "append_error_keeps_position",
    change: "a refused WRITE_FIXED at offset -1 on an O_APPEND file: f_pos moved to i_size -> f_pos kept",
    since: v(6, 1),
    source: "rw.c:kiocb_done (f_pos = ki_pos only for ret >= 0); commit not identified: `since` is 6.1, the first kernel measured with it (6.1.192), the old answer the one measured on 5.10.223",
    decided_by: Decider::Version,
};

/// RWF_NOWAIT on a pipe: io_uring refused it unless the file had FMODE_NOWAIT.
pub const PIPE_NOWAIT_WRITE: Level = Level {
    name: "pipe_nowait_write",
    change: "WRITE_FIXED with RWF_NOWAIT to a pipe: CQE -EOPNOTSUPP -> written",
    since: v(6, 12),
    source: "rw.c:io_rw_init_file (IOCB_NOWAIT needs REQ_F_SUPPORT_NOWAIT: pipes' FMODE_NOWAIT); commit not identified: `since` is 6.12, the first kernel measured with it (6.12.95), -EOPNOTSUPP measured on 5.10.223 and 6.1.192",
    decided_by: Decider::Version,
};

/// RECVMSG into a legacy provided buffer with a msghdr that names no iovec.
pub const LEGACY_RECVMSG_DATA: Level = Level {
    name: "legacy_recvmsg_data",
    change: "RECVMSG selecting a legacy provided buffer through an iovec-less msghdr: the datagram not in the buffer -> in it",
    since: v(6, 1),
    source: "net.c:io_msg_copy_hdr / io_recvmsg (the selected buffer as the msghdr's one iovec); commit not identified: `since` is 6.1, the first kernel measured with it (6.1.192), the old answer the one measured on 5.10.223",
    decided_by: Decider::Version,
};

/// IORING_OP_SEND with IOSQE_BUFFER_SELECT (provided buffers for SEND).
pub const SEND_BUFFER_SELECT: Level = Level {
    name: "send_buffer_select",
    change: "SEND with IOSQE_BUFFER_SELECT: CQE -EOPNOTSUPP (opdef: no buffer_select) -> known",
    since: v(6, 10),
    source: "opdef.c (IORING_OP_SEND .buffer_select), net.c:io_send (\"io_uring/net: add provided buffer support for IORING_OP_SEND\", with bundles in 6.10)",
    decided_by: Decider::Version,
};

/// A SEND bundle without a buffer group: the second pass finds nothing left to send.
pub const BUNDLE_SEND_WITHOUT_GROUP: Level = Level {
    name: "bundle_send_without_group",
    change: "a SEND with IORING_RECVSEND_BUNDLE and no IOSQE_BUFFER_SELECT: one CQE -> (bytes, F_MORE) then (0, no flags)",
    since: v(6, 18),
    source: "net.c:io_send / io_send_finish (the bundle retry without a selected buffer); commit not identified: `since` is 6.18, the first kernel measured with it (6.18.44; 7.2.13 too), one CQE measured on 6.12.95 and 6.12.117",
    decided_by: Decider::Version,
};

/// A SEND_ZC refused at prep: whether it still posts F_MORE and a notification.
pub const ZC_PREP_FAILURE_NOTIFIES: Level = Level {
    name: "zc_prep_failure_notifies",
    change: "SEND_ZC refused at prep (an unknown flag): one CQE -> (error, F_MORE) then the notification",
    since: v(6, 12),
    source: "net.c:io_send_zc_prep (the notif allocated before the flag checks) / io_sendrecv_fail (F_MORE with a notif); commit not identified: `since` is 6.12, the first kernel measured with it (6.12.95), one CQE measured on 6.1.192",
    decided_by: Decider::Version,
};
