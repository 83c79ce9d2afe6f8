//! §4.1-§4.2: the error paths of IORING_OP_MSG_RING common to both commands and those of
//! MSG_DATA (CQE_SKIP, FLAGS_PASS). MSG_SEND_FD's are in [`crate::msg_ring_send_fd`], what
//! a message delivers in [`crate::msg_ring_delivery`] and [`crate::msg_ring_targets`],
//! IORING_REGISTER_SEND_MSG_RING in [`crate::sync_msg_ring`]; the helpers the MSG_RING
//! tables share are in `common::msg`.

use crate::common::msg::*;
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingCmd, MsgRingFlags, RegisterOp, SqeFlags};
use uring::op::{self, MsgFdSlot};
use uring::register::ArgPtr;
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Fact, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[(
    "msgd_ownerdead",
    "6.12-only code on the data path, reachable only with a NULL submitter_task on an enabled \
     ring (verify.md §4.2)",
)];

/// The MSG_RING error rows.
pub const CASES: &[Case] = &[
    // ---- §4.1 common checks ----
    Case::new("msg_ring::opcode_supported")
        .expect(Expect::by_level(
            &level::MSG_RING_OP,
            Want::res(0),
            Want::cqe_errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("io_uring.c:io_init_req (opcode >= IORING_OP_LAST)")
                .man(ENTER, "IORING_OP_MSG_RING (since 5.18)")
                .rows(&["msg_unsupported"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let own = r.fd();
            send(cx, &mut r, data(own), "to the submitting ring")
        }),
    Case::new("msg_ring::target_fd_not_open")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_assign_file")
                .man(ENTER, "ERRORS: EBADF")
                .rows(&["msg_target_badf"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            send(cx, &mut r, data(NEVER_OPEN_FD), "to an fd that is not open")
        }),
    Case::new("msg_ring::target_fixed_slot_empty")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_assign_file (fixed)")
                .man(ENTER, "ERRORS: EBADF")
                .rows(&["msg_target_badf"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            r.registrar()
                .register_files(&[-1])
                .setup("one empty fixed-file slot")?;
            send(
                cx,
                &mut r,
                data(0).add_flags(SqeFlags::FIXED_FILE),
                "with fixed file 0 empty",
            )
        }),
    Case::new("msg_ring::target_not_a_ring")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EBADFD))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring (!io_is_uring_fops)")
                .man(MSG3, "ERRORS: EBADFD")
                .rows(&["msg_target_not_ring"]),
        )
        .run(|cx| {
            let f = dev_null(false)?;
            let mut r = cx.ring()?;
            send(cx, &mut r, data(fd(&f)), "to /dev/null")
        }),
    Case::new("msg_ring::target_fixed_file_not_a_ring")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EBADFD))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring (!io_is_uring_fops)")
                .man(MSG3, "ERRORS: EBADFD")
                .rows(&["msg_target_not_ring"]),
        )
        .run(|cx| {
            let f = dev_null(false)?;
            let mut r = fd_source(cx, &f)?;
            send(
                cx,
                &mut r,
                data(0).add_flags(SqeFlags::FIXED_FILE),
                "with fixed file 0 = /dev/null",
            )
        }),
    Case::new("msg_ring::buf_index_set")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_prep (buf_index || personality)")
                .man(MSG3, "ERRORS: EINVAL")
                .rows(&["msg_prep_fields"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(cx, &mut r, data(t.fd()).buf_index(1), "")
        }),
    Case::new("msg_ring::registered_personality")
        .requires(MR)
        .needs(&[Fact::NoLsmConfinement])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_prep (buf_index || personality)")
                .rows(&["msg_prep_fields"])
                .note(
                    "a registered personality passes io_init_req and is refused by the MSG_RING \
                     prep",
                ),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            let id = r
                .registrar()
                .register_raw(RegisterOp::PERSONALITY, &ArgPtr::NULL, 0)
                .setup("register a personality")?;
            send(
                cx,
                &mut r,
                data(t.fd()).personality(id as u16),
                "with a registered personality",
            )
        }),
    Case::new("msg_ring::unknown_flag")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_prep (msg_ring_flags & ~IORING_MSG_RING_MASK)")
                .man(MSG3, "flags")
                .rows(&["msg_bad_flags"])
                .note(
                    "io_uring_prep_msg_ring.3 says no flags are valid; CQE_SKIP and FLAGS_PASS are",
                ),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(cx, &mut r, data(t.fd()).op_flags(1 << 2), "")
        }),
    Case::new("msg_ring::send_fd_unknown_flag")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_prep (msg->flags & ~IORING_MSG_RING_MASK)")
                .man(MSGFD3, "flags")
                .rows(&["msg_bad_flags"])
                .note(
                    "SEND_FD has no flag check of its own (only DATA looks at FLAGS_PASS): the \
                     prep mask alone refuses bit 2, and nothing is installed",
                ),
        )
        .run(|cx| {
            let (_f, _d, mut src, mut t) = fd_pair(cx, 1)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags(1 << 2)),
            )?;
            cx.check_eq(
                "CQEs in the target after the refused SEND_FD",
                t.cq_ready(),
                0,
            )?;
            let m = cx.mem(4096)?;
            let r = cx.submit_one(
                &mut t,
                op::read(0, m.slice(0, 64), 64, 0)
                    .add_flags(SqeFlags::FIXED_FILE)
                    .user_data(0xf11e),
            )?;
            cx.check_eq(
                "READ through the target's fixed file 0 (still empty)",
                r.res,
                -E::EBADF.0,
            )?;
            cx.observe(
                c,
                "with msg_ring_flags bit 2 (unknown), to a target with a free slot 0",
            )
        }),
    Case::new("msg_ring::ioprio_set")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("io_uring.c:io_init_req (!def->ioprio && sqe->ioprio)")
                .rows(&["msg_ioprio"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(cx, &mut r, data(t.fd()).ioprio(1), "")
        }),
    Case::new("msg_ring::buffer_select")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(
            Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)")
                .man(ENTER, "ERRORS: EOPNOTSUPP")
                .rows(&["msg_buffer_select"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(
                cx,
                &mut r,
                data(t.fd()).add_flags(SqeFlags::BUFFER_SELECT),
                "",
            )
        }),
    Case::new("msg_ring::unknown_command")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring (default: -EINVAL)")
                .man(MSG3, "ERRORS: EINVAL")
                .rows(&["msg_unknown_cmd"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(
                cx,
                &mut r,
                op::msg_ring(
                    t.fd(),
                    op::Msg {
                        cmd: MsgRingCmd(2),
                        len: 0,
                        user_data: DST_UD,
                    },
                ),
                "",
            )
        }),
    Case::new("msg_ring::data_target_disabled")
        .requires(&[Feature::OpMsgRing, Feature::RingDisabled])
        .expect(Expect::cqe_errno(E::EBADFD))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (IORING_SETUP_R_DISABLED)")
                .man(MSG3, "ERRORS: EBADFD")
                .rows(&["msg_target_disabled"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = disabled(cx)?;
            send(cx, &mut r, data(t.fd()), "to an R_DISABLED ring")
        }),
    Case::new("msg_ring::send_fd_target_disabled")
        .requires(&[Feature::MsgSendFd, Feature::RingDisabled])
        .expect(Expect::by_level(
            &level::MSG_SEND_FD_DISABLED,
            Want::cqe_errno(E::EBADFD),
            Want::res(0),
        ))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_send_fd (IORING_SETUP_R_DISABLED)")
                .man(MSGFD3, "ERRORS: EBADFD")
                .rows(&["msg_target_disabled"])
                .note(
                    "6.1.192 has no disabled-target check for SEND_FD (installs the file); \
                     msg_send_fd_checks (the len check of the same rework) marks the level",
                ),
        )
        .run(|cx| {
            let (_f, _d, mut src, _) = fd_pair(cx, 1)?;
            let t = disabled(cx)?;
            t.registrar()
                .register_files_sparse(1)
                .setup("sparse table in the disabled target")?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "to an R_DISABLED ring with a free slot 0",
            )
        }),
    // ---- §4.2 MSG_DATA ----
    Case::new("msg_ring::data_src_slot_set")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (msg->src_fd)")
                .man(MSG3, "ERRORS: EINVAL")
                .rows(&["msgd_src_fd"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(cx, &mut r, data(t.fd()).msg_src_slot(1), "")
        }),
    Case::new("msg_ring::data_cqe_skip")
        .requires(&[Feature::OpMsgRing, Feature::MsgCqeSkip])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (flags & ~FLAGS_PASS)")
                .rows(&["msgd_flags"])
                .note("uapi: CQE_SKIP is not applicable to MSG_DATA; the man pages are silent"),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(
                cx,
                &mut r,
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
    Case::new("msg_ring::data_file_index_without_flags_pass")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (file_index && !FLAGS_PASS)")
                .man(MSG3, "ERRORS: EINVAL")
                .rows(&["msgd_file_index"]),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            send(cx, &mut r, data(t.fd()).file_index(5), "")
        }),
    Case::new("msg_ring::data_flags_pass_cqe_f32")
        .requires(PASS)
        .expect(Expect::by_level(
            &level::MSG_CQE_F32_CHECK,
            Want::cqe_errno(E::EINVAL),
            Want::res(0),
        ))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags (F_32 without CQE32/CQE_MIXED)")
                .rows(&["msgd_cqe_f32"])
                .note(
                    "6.12-6.18 post the flag verbatim (target sees IORING_CQE_F_32 on a 16-byte \
                     CQE)",
                ),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(
                cx,
                &mut r,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 7,
                        user_data: DST_UD,
                        flags: MsgRingFlags::FLAGS_PASS,
                    },
                )
                .file_index(CqeFlags::F_32.0),
            )?;
            if c.res == 0 {
                cx.check_eq(
                    "target CQE flags",
                    target_cqe(cx, &mut t)?.flags,
                    CqeFlags::F_32,
                )?;
            } else {
                no_target_cqe(cx, &mut t, "target after a refused F_32 message")?;
            }
            cx.observe(c, "(CQE flags IORING_CQE_F_32) to a 16-byte-CQE ring")
        }),
];
