//! §4.4: IORING_REGISTER_SEND_MSG_RING, a MSG_DATA message without a source ring
//! (`io_uring_register(-1, SEND_MSG_RING, &sqe, 1)`, 6.13).

use crate::common::msg::{data, disabled, no_target_cqe, send_fd, target_cqe, DST_UD, MR};
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingFlags, RegisterOp, SqeFlags};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::register::{sync_msg_ring, ArgPtr, FdArg, RegisterCall};
use uring::ForeignAddr;
use uring_harness::level;
use uring_harness::{Case, CaseResult, Cite, Cx, Expect, Feature, Setup, Want};

const SYNC3: &str = "io_uring_register_sync_msg.3";
const SYNC: &[Feature] = &[Feature::SyncMsgRing];

/// REGISTER_SEND_MSG_RING (fd -1, nr_args 1) of `sqe`, observed; `context` says what the
/// setup was.
fn sync(cx: &Cx, sqe: Sqe, context: &str) -> CaseResult {
    sync_on(cx, FdArg::Num(-1), sqe, 1, context)
}

/// REGISTER_SEND_MSG_RING on `fd` with `nr_args`, described from the SQE it sends.
fn sync_on(cx: &Cx, fd: FdArg<'_>, sqe: Sqe, nr_args: u32, context: &str) -> CaseResult {
    let call = format!("io_uring_register({fd}, SEND_MSG_RING, &{sqe}, {nr_args})");
    let call = match context {
        "" => call,
        ctx => format!("{call} {ctx}"),
    };
    cx.sync(call, sync_msg_ring(fd.raw(), &sqe, nr_args))
}

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The IORING_REGISTER_SEND_MSG_RING rows.
pub const CASES: &[Case] = &[
    Case::new("sync_msg_ring::opcode_supported")
        .requires(MR)
        .expect(Expect::by_level(
            &level::SYNC_MSG_RING,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("register.c:SYSCALL_DEFINE4 (opcode >= IORING_REGISTER_LAST)")
                .man(SYNC3, "Available since 6.13")
                .rows(&["sync_unsupported"]),
        )
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(cx, data(t.fd()), "")?;
            if obs.answer == uring_harness::Answer::Sync(Ok(0)) {
                cx.check_eq("target CQE res", target_cqe(cx, &mut t)?.res, 7)?;
            }
            Ok(obs)
        }),
    Case::new("sync_msg_ring::fd_not_minus_one")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (default: -EINVAL)")
                .rows(&["sync_fd_not_minus1"]),
        )
        .run(|cx| {
            let r = cx.ring()?;
            let t = cx.ring()?;
            sync_on(cx, FdArg::Ring(&r), data(t.fd()), 1, "")
        }),
    Case::new("sync_msg_ring::arg_null")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_uring_register_send_msg_ring (!arg || nr_args != 1)")
                .rows(&["sync_args"]),
        )
        .run(|cx| {
            cx.register(RegisterCall::new(
                FdArg::Num(-1),
                RegisterOp::SEND_MSG_RING,
                ArgPtr::NULL,
                1,
            ))
        }),
    Case::new("sync_msg_ring::nr_args_two")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_uring_register_send_msg_ring (!arg || nr_args != 1)")
                .rows(&["sync_args"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            sync_on(cx, FdArg::Num(-1), data(t.fd()), 2, "")
        }),
    Case::new("sync_msg_ring::sqe_unmapped")
        .requires(SYNC)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("register.c:io_uring_register_send_msg_ring (copy_from_user)")
                .rows(&["sync_fault"]),
        )
        .run(|cx| {
            cx.register(RegisterCall::new(
                FdArg::Num(-1),
                RegisterOp::SEND_MSG_RING,
                ArgPtr::Foreign(ForeignAddr::LOW),
                1,
            ))
        }),
    Case::new("sync_msg_ring::sqe_flags_set")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_uring_register_send_msg_ring (sqe.flags)")
                .rows(&["sync_sqe_flags"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            sync(cx, data(t.fd()).flags(SqeFlags::ASYNC), "")
        }),
    Case::new("sync_msg_ring::opcode_not_msg_ring")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "register.c:io_uring_register_send_msg_ring (opcode != IORING_OP_MSG_RING)",
            )
            .man(SYNC3, "DESCRIPTION")
            .rows(&["sync_opcode"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            sync(cx, op::nop().fd(t.fd()), "")
        }),
    Case::new("sync_msg_ring::send_fd_command")
        .requires(&[Feature::SyncMsgRing, Feature::MsgSendFd])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (cmd != IORING_MSG_DATA)")
                .man(SYNC3, "only data requests")
                .rows(&["sync_send_fd"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            t.registrar()
                .register_files_sparse(1)
                .setup("target table")?;
            sync(
                cx,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "",
            )
        }),
    Case::new("sync_msg_ring::send_fd_without_file_index")
        .requires(&[Feature::SyncMsgRing, Feature::MsgSendFd])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (cmd != IORING_MSG_DATA)")
                .man(SYNC3, "only data requests")
                .rows(&["sync_send_fd"])
                .note(
                    "source slot 0 and file_index 0: a SEND_FD that every check of the data path \
                     would let through, so only the command check refuses it (send_fd_command's \
                     file_index is refused by __io_msg_ring_data too); the target gets no CQE",
                ),
        )
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(
                cx,
                send_fd(t.fd(), MsgFdSlot::RawFileIndex(0), MsgRingFlags::NONE),
                "with source slot 0 and file_index 0",
            )?;
            no_target_cqe(cx, &mut t, "target after a refused sync SEND_FD")?;
            Ok(obs)
        }),
    Case::new("sync_msg_ring::target_not_open")
        .requires(SYNC)
        .expect(Expect::errno(E::EBADF))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (fdget)").rows(&["sync_target"]))
        .run(|cx| sync(cx, data(NEVER_OPEN_FD), "to an fd that is not open")),
    Case::new("sync_msg_ring::target_not_a_ring")
        .requires(SYNC)
        .expect(Expect::errno(E::EBADFD))
        .cite(
            Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (!io_is_uring_fops)")
                .rows(&["sync_target"]),
        )
        .run(|cx| {
            let f = dev_null(false)?;
            sync(cx, data(fd(&f)), "to /dev/null")
        }),
    Case::new("sync_msg_ring::target_disabled")
        .requires(&[Feature::SyncMsgRing, Feature::RingDisabled])
        .expect(Expect::errno(E::EBADFD))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (IORING_SETUP_R_DISABLED)")
                .rows(&["sync_target"]),
        )
        .run(|cx| {
            let t = disabled(cx)?;
            sync(cx, data(t.fd()), "to an R_DISABLED ring")
        }),
    Case::new("sync_msg_ring::buf_index_set")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_prep (buf_index)").rows(&["sync_data_errors"]))
        .run(|cx| {
            let t = cx.ring()?;
            sync(cx, data(t.fd()).buf_index(1), "")
        }),
    Case::new("sync_msg_ring::cqe_skip")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (flags & ~FLAGS_PASS)")
                .rows(&["sync_data_errors"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            sync(
                cx,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 7,
                        user_data: DST_UD,
                        flags: MsgRingFlags::CQE_SKIP,
                    },
                ),
                "",
            )
        }),
    Case::new("sync_msg_ring::file_index_without_flags_pass")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (file_index && !FLAGS_PASS)")
                .rows(&["sync_data_errors"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            sync(cx, data(t.fd()).file_index(5), "")
        }),
    Case::new("sync_msg_ring::src_slot_set")
        .requires(SYNC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (src_fd)").rows(&["sync_data_errors"]))
        .run(|cx| {
            let t = cx.ring()?;
            sync(cx, data(t.fd()).msg_src_slot(1), "")
        }),
    Case::new("sync_msg_ring::ioprio_not_checked")
        .requires(SYNC)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (no io_init_req)")
                .rows(&["sync_data_errors", "msg_ioprio"])
                .note(
                    "catalogue: sync path gives the SQE path's errnos; the ioprio check lives in \
                     io_init_req, which the sync path never calls, so ioprio is accepted",
                ),
        )
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(cx, data(t.fd()).ioprio(1), "")?;
            cx.check_eq("target CQE res", target_cqe(cx, &mut t)?.res, 7)?;
            Ok(obs)
        }),
    Case::new("sync_msg_ring::flags_pass_cqe_f32")
        .requires(&[Feature::SyncMsgRing, Feature::MsgFlagsPass])
        .expect(Expect::by_level(
            &level::MSG_CQE_F32_CHECK,
            Want::errno(E::EINVAL),
            Want::ok(0),
        ))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags")
                .rows(&["sync_data_errors", "msgd_cqe_f32"]),
        )
        .run(|cx| {
            let t = cx.ring()?;
            sync(
                cx,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 7,
                        user_data: DST_UD,
                        flags: MsgRingFlags::FLAGS_PASS,
                    },
                )
                .file_index(CqeFlags::F_32.0),
                "",
            )
        }),
    Case::new("sync_msg_ring::delivers_target_cqe")
        .requires(SYNC)
        .expect(Expect::ok(0))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring").man(SYNC3, "DESCRIPTION"))
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(
                cx,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 9,
                        user_data: DST_UD,
                        flags: MsgRingFlags::NONE,
                    },
                ),
                "",
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (9, CqeFlags::NONE),
            )?;
            Ok(obs)
        }),
];
