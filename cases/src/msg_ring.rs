//! §4.1-§4.3: the error paths of IORING_OP_MSG_RING (MSG_DATA, MSG_SEND_FD, CQE_SKIP,
//! FLAGS_PASS, FILE_INDEX_ALLOC). What a message delivers is in
//! [`crate::msg_ring_delivery`], IORING_REGISTER_SEND_MSG_RING in [`crate::sync_msg_ring`];
//! the helpers the three share are in `common::msg`.

use crate::common::msg::*;
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingCmd, MsgRingFlags, RegisterOp, SetupFlags, SqeFlags};
use uring::op::{self, MsgFdSlot};
use uring::register::ArgPtr;
use uring::Ring;
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
    // ---- §4.3 MSG_SEND_FD ----
    Case::new("msg_ring::send_fd_len_set")
        .requires(FD)
        .expect(Expect::by_level(
            &level::MSG_SEND_FD_CHECKS,
            Want::cqe_errno(E::EINVAL),
            Want::res(0),
        ))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_send_fd (msg->len)")
                .man(MSGFD3, "ERRORS: EINVAL")
                .rows(&["msgf_len"])
                .note("6.1.192 ignores len (installs the file)"),
        )
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 1)?;
            let sqe = op::msg_ring(
                t.fd(),
                op::Msg {
                    cmd: MsgRingCmd::SEND_FD,
                    len: 1,
                    user_data: DST_UD,
                },
            )
            .file_index(1);
            send(cx, &mut src, sqe, "")
        }),
    Case::new("msg_ring::send_fd_to_self")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_send_fd (target_ctx == ctx)")
                .man(MSGFD3, "ERRORS: EINVAL (target ring is identical)")
                .rows(&["msgf_self"]),
        )
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let own = src.fd();
            send(
                cx,
                &mut src,
                send_fd(own, MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "to the submitting ring",
            )
        }),
    Case::new("msg_ring::send_fd_src_no_table")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_grab_file")
                .rows(&["msgf_src_slot"])
                .note("the man pages do not list EBADF for the source slot"),
        )
        .run(|cx| {
            let mut src = cx.ring()?;
            let t = cx.ring()?;
            t.registrar()
                .register_files_sparse(1)
                .setup("target table")?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "from a ring without fixed files",
            )
        }),
    Case::new("msg_ring::send_fd_src_slot_out_of_range")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_grab_file (io_rsrc_node_lookup)")
                .rows(&["msgf_src_slot"]),
        )
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 1)?;
            send(
                cx,
                &mut src,
                op::msg_ring_fd(t.fd(), 1, MsgFdSlot::Slot(0), DST_UD, MsgRingFlags::NONE),
                "with a source table of 1",
            )
        }),
    Case::new("msg_ring::send_fd_src_slot_empty")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("msg_ring.c:io_msg_grab_file").rows(&["msgf_src_slot"]))
        .run(|cx| {
            let mut src = cx.ring()?;
            src.registrar()
                .register_files(&[-1])
                .setup("one empty source slot")?;
            let t = cx.ring()?;
            t.registrar()
                .register_files_sparse(1)
                .setup("target table")?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "with source slot 0 empty",
            )
        }),
    Case::new("msg_ring::send_fd_dst_no_table")
        .requires(FD)
        .expect(Expect::cqe_errno(E::ENXIO))
        .cite(
            Cite::kernel("filetable.c:io_install_fixed_file (!file_table.data.nr)")
                .rows(&["msgf_dst_no_table"])
                .note("ENXIO is not in io_uring_prep_msg_ring_fd.3"),
        )
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = cx.ring()?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "to a target without files",
            )
        }),
    Case::new("msg_ring::send_fd_alloc_dst_no_table")
        .requires(FD)
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel("filetable.c:io_file_bitmap_get (!table->bitmap)")
                .man(MSGFD3, "ERRORS: ENFILE (only for a full table)")
                .rows(&["msgf_dst_no_table"]),
        )
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = cx.ring()?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
                "to a target without files",
            )
        }),
    Case::new("msg_ring::send_fd_dst_slot_out_of_range")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("filetable.c:io_install_fixed_file (slot_index >= nr)")
                .man(MSGFD3, "ERRORS: EINVAL")
                .rows(&["msgf_dst_slot"]),
        )
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 2)?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(2), MsgRingFlags::NONE),
                "to a target table of 2",
            )
        }),
    Case::new("msg_ring::send_fd_file_index_zero")
        .requires(FD)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("filetable.c:io_install_fixed_file (file_index 0 -> slot UINT_MAX)")
                .rows(&["msgf_dst_slot"]),
        )
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 2)?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::RawFileIndex(0), MsgRingFlags::NONE),
                "",
            )
        }),
    Case::new("msg_ring::send_fd_alloc_dst_full")
        .requires(FD)
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel("filetable.c:io_file_bitmap_get")
                .man(MSGFD3, "ERRORS: ENFILE")
                .rows(&["msgf_dst_full"]),
        )
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = cx.ring()?;
            t.registrar()
                .register_files(&[fd(&f)])
                .setup("target table of one used slot")?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
                "to a full target",
            )
        }),
    Case::new("msg_ring::send_fd_alloc_outside_range_full")
        .requires(FD)
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel("filetable.c:io_file_bitmap_get (alloc range)")
                .man(MSGFD3, "ERRORS: ENFILE")
                .rows(&["msgf_dst_full"]),
        )
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 4)?;
            t.registrar()
                .register_file_alloc_range(3, 1)
                .setup("alloc range = slot 3")?;
            src.submit_one_ok(cx, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE))?;
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
                "a second time, into a 1-slot alloc range (slots 0-2 free)",
            )
        }),
    Case::new("msg_ring::send_fd_defer_target_exited")
        .requires(&[Feature::MsgSendFd, Feature::DeferTaskrun])
        .expect(Expect::by_level(
            &level::MSG_FD_REMOTE_INSTALL,
            Want::cqe_errno(E::EOWNERDEAD),
            Want::res(0),
        ))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_fd_remote (task_work_add fails) / io_msg_tw_fd_complete \
                 (PF_EXITING)",
            )
            .rows(&["msgf_ownerdead"])
            .note(
                "6.1 installs the fd directly (no remote path, res 0; seen on the matrix); the \
                 remote path through the target task's task_work arrived in 6.2",
            ),
        )
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = on_thread(|| -> Result<Ring, uring::Error> {
                let t = Ring::builder(4)
                    .flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN)
                    .build()?;
                t.registrar().register_files_sparse(1)?;
                Ok(t)
            })?
            .setup("DEFER_TASKRUN target made by a thread that then exited")?;
            // No settle time: join() returns once the kernel cleared the thread's tid
            // (exit_mm, after exit_signals set PF_EXITING), so the install either finds
            // task_work_add refused or runs in exit_task_work with PF_EXITING: EOWNERDEAD.
            send(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
                "to a DEFER_TASKRUN ring whose submitter thread exited",
            )
        }),
    Case::new("msg_ring::send_fd_flags_pass_not_passed")
        .requires(&[Feature::MsgSendFd, Feature::MsgFlagsPass])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete (io_post_aux_cqe(..., 0))")
                .rows(&["msgf_flags_pass"])
                .note(
                    "with FLAGS_PASS, file_index still selects the slot and no flags reach the \
                     target",
                ),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::FLAGS_PASS),
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (0, CqeFlags::NONE),
            )?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::ring_fd_not_allowed_in_file_table")
        .expect(Expect::errno(E::EBADF))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_files_register (io_is_uring_fops)")
                .rows(&[])
                .note(
                    "so MSG_RING with IOSQE_FIXED_FILE can never address a ring (catalogue §4.5 \
                     #10)",
                ),
        )
        .run(|cx| {
            let r = cx.ring()?;
            let t = cx.ring()?;
            cx.sync(
                "io_uring_register(ring, REGISTER_FILES, [another ring's fd], 1)",
                r.registrar().register_files(&[t.fd()]).map(|_| 0),
            )
        }),
];
