//! §4.3: the error paths of MSG_RING MSG_SEND_FD (source and destination tables, the alloc
//! range, FLAGS_PASS, a ring fd as the file). The common checks and MSG_DATA are in
//! [`crate::msg_ring`]; the helpers the MSG_RING tables share are in `common::msg`.

use crate::common::msg::*;
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingCmd, MsgRingFlags, SetupFlags};
use uring::op::{self, MsgFdSlot};
use uring::Ring;
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The MSG_RING error rows.
pub const CASES: &[Case] = &[
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
