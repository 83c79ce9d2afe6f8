//! §4.5: what a MSG_RING message delivers: the target's CQE (res, flags, user_data, and
//! when it becomes visible), the installed file, the alloc range, CQE_SKIP, and targets of
//! every kind: another thread's SINGLE_ISSUER or DEFER_TASKRUN ring, 32-byte and mixed CQEs.

use crate::common::msg::*;
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingFlags, SetupFlags, SqeFlags};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::{Cqe, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup, Want};

/// Flags a FLAGS_PASS message asks the target's CQE to carry (bit 6: no IORING_CQE_F_* bit,
/// so the ring's own reading of the CQE cannot change it).
const PASSED: CqeFlags = CqeFlags(0x40);

/// A SINGLE_ISSUER (not DEFER_TASKRUN) target owned by this thread.
fn single_issuer_target(cx: &Cx) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER))
}

/// Submits `sqe` (user_data SRC_UD) on `src` from a helper thread that then exits, and
/// reaps the source CQE here with a bounded wait; returns it, the number of CQEs `target`'s
/// CQ held at that moment (read from the ring's memory, the target never entered the
/// kernel), the SQE as written, and the source ring. This thread is the target's task:
/// where a kernel posts through that task's task_work, the wait on the source ring runs it.
fn from_thread(
    cx: &Cx,
    target: &Ring,
    src: Ring,
    sqe: Sqe,
) -> Result<(Cqe, u32, String, Ring), CaseError> {
    let sqe = sqe.user_data(SRC_UD);
    let desc = format!("{sqe} from another thread");
    let mut src = on_thread(move || -> Result<Ring, String> {
        let mut src = src;
        src.push(sqe).map_err(|e| format!("push: {e}"))?;
        src.submit().map_err(|e| format!("submit: {e}"))?;
        Ok(src)
    })?
    .map_err(|e| CaseError::Broken(format!("submitting from another thread: {e}")))?;
    let c = cx.wait(&mut src, 1)?;
    Ok((c[0], target.cq_ready(), desc, src))
}

/// [`from_thread`], then the target's one CQE, reaped with a bounded GETEVENTS wait, must
/// be `want` (user_data, res, flags).
fn delivered_from_thread(
    cx: &Cx,
    target: &mut Ring,
    src: Ring,
    sqe: Sqe,
    want: (u64, i32, CqeFlags),
) -> Result<(Cqe, u32, String, Ring), CaseError> {
    let out = from_thread(cx, target, src, sqe)?;
    cx.check_eq(
        "target CQE after io_uring_enter(GETEVENTS)",
        reaped(cx, target, 1)?,
        vec![want],
    )?;
    Ok(out)
}

/// The row's answer: how many CQEs the `kind` target's CQ held when the source CQE `c`
/// (checked: res 0) of `desc` arrived, before the target entered.
fn visible_before(cx: &Cx, kind: &str, c: Cqe, before: u32, desc: &str) -> CaseResult {
    cx.check_eq(
        "source CQE (res, flags)",
        (c.res, c.flags),
        (0, CqeFlags::NONE),
    )?;
    cx.sync(
        format!(
            "CQEs in the {kind} target's CQ when the source CQE of {desc} arrived, before the \
             target entered"
        ),
        Ok::<i64, E>(before as i64),
    )
}

/// The target's CQEs after an io_uring_enter(GETEVENTS) that waits (bounded) for `n`,
/// as (user_data, res, flags).
fn reaped(cx: &Cx, target: &mut Ring, n: usize) -> Result<Vec<(u64, i32, CqeFlags)>, CaseError> {
    Ok(cx
        .wait(target, n)?
        .iter()
        .map(|c| (c.user_data, c.res, c.flags))
        .collect())
}

/// A 4-slot target table with the alloc range set to slots 2-3, and a source holding the
/// data file in slot 0.
fn alloc_range_pair(cx: &Cx) -> Result<(std::fs::File, Vec<u8>, Ring, Ring), CaseError> {
    let (f, d, src, dst) = fd_pair(cx, 4)?;
    dst.registrar()
        .register_file_alloc_range(2, 2)
        .setup("alloc range = slots 2-3")?;
    Ok((f, d, src, dst))
}

/// A READ through `ring`'s fixed file `slot` answers `res` (-EBADF: the slot is empty).
fn fixed_read_res(cx: &Cx, ring: &mut Ring, slot: u32) -> Result<i32, CaseError> {
    let m = cx.mem(4096)?;
    let sqe = op::read(slot as i32, m.slice(0, 64), 64, 0).add_flags(SqeFlags::FIXED_FILE);
    Ok(cx.submit_one(ring, sqe.user_data(0xf11e))?.res)
}

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The message rows.
pub const CASES: &[Case] = &[
    // ---- §4.5 semantics: one target, this thread ----
    Case::new("msg_ring::data_delivers_target_cqe")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data").man(MSG3, "DESCRIPTION"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(cx, &mut r, data(t.fd()))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (7, CqeFlags::NONE),
            )?;
            cx.observe(c, "to another ring")
        }),
    Case::new("msg_ring::data_len_arrives_as_signed_res")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (res = (s32)len)")
                .man(MSG3, "DESCRIPTION (len)"),
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
                        res: 0x8000_0001,
                        user_data: DST_UD,
                        flags: MsgRingFlags::NONE,
                    },
                ),
            )?;
            cx.check_eq(
                "target CQE res",
                target_cqe(cx, &mut t)?.res,
                -2_147_483_647,
            )?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::data_to_own_ring_two_cqes")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring_data"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let own = r.fd();
            r.push(data(own).user_data(SRC_UD))
                .map_err(|e| CaseError::Broken(e.to_string()))?;
            r.submit().setup("submit")?;
            let mut cqes = cx.wait(&mut r, 2)?;
            cqes.sort_by_key(|c| c.user_data);
            cx.check_eq(
                "CQE user_data values",
                cqes.iter().map(|c| c.user_data).collect::<Vec<_>>(),
                vec![DST_UD, SRC_UD],
            )?;
            cx.check_eq("message CQE res", cqes[0].res, 7)?;
            cx.cqe("MSG_RING DATA to the submitting ring (source CQE)", cqes[1])
        }),
    Case::new("msg_ring::flags_pass_delivers_flags")
        .requires(PASS)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags")
                .man(MSG3, "io_uring_prep_msg_ring_cqe_flags"),
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
                .file_index(0x42),
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (7, CqeFlags(0x42)),
            )?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::send_fd_slot_replaces_and_works")
        .requires(FD)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete -> filetable.c:__io_fixed_fd_install")
                .man(MSGFD3, "DESCRIPTION"),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let null = dev_null(false)?;
            t.registrar()
                .update_files(1, &[fd(&null)])
                .setup("occupy target slot 1 with /dev/null")?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::NONE),
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (0, CqeFlags::NONE),
            )?;
            src.registrar()
                .unregister_files()
                .setup("drop the source's table")?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.observe(c, "with target slot 1 occupied")
        }),
    Case::new("msg_ring::send_fd_alloc_reports_slot")
        .requires(FD)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete (ret = allocated slot)")
                .man(MSGFD3, "io_uring_prep_msg_ring_fd_alloc"),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 4)?;
            let null = dev_null(false)?;
            t.registrar()
                .update_files(0, &[fd(&null), fd(&null)])
                .setup("occupy target slots 0 and 1")?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            cx.check_eq(
                "target CQE res (the allocated slot)",
                target_cqe(cx, &mut t)?.res,
                c.res,
            )?;
            if c.res >= 0 {
                fixed_file_reads(cx, &mut t, c.res as u32, &d)?;
            }
            cx.observe(c, "with target slots 0-1 used")
        }),
    Case::new("msg_ring::send_fd_cqe_skip_suppresses_target_cqe")
        .requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete (CQE_SKIP)")
                .man(MSGFD3, "IORING_MSG_RING_CQE_SKIP"),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::CQE_SKIP),
            )?;
            no_target_cqe(cx, &mut t, "target after SEND_FD with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            cx.observe(c, "into an empty 2-slot table")
        }),
    Case::new("msg_ring::data_overflow_all_delivered")
        .requires(MR)
        .expect(Expect::ok(6))
        .cite(
            Cite::kernel("io_uring.c:io_post_aux_cqe -> io_cqe_overflow")
                .man(MSG3, "ERRORS: EOVERFLOW"),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring_with(Ring::builder(1))?;
            for i in 0..6 {
                let c = send_c(
                    cx,
                    &mut r,
                    op::msg_ring_data(
                        t.fd(),
                        op::MsgData {
                            res: i,
                            user_data: DST_UD + i as u64,
                            flags: MsgRingFlags::NONE,
                        },
                    ),
                )?;
                cx.check_eq(&format!("source CQE res of message {i}"), c.res, 0)?;
            }
            let got = cx.wait(&mut t, 6)?;
            cx.check_eq(
                "target (user_data, res) in order",
                got.iter().map(|c| (c.user_data, c.res)).collect::<Vec<_>>(),
                (0..6).map(|i| (DST_UD + i, i as i32)).collect::<Vec<_>>(),
            )?;
            cx.sync(
                format!(
                    "6 MSG_RING DATA into a ring with {} CQ entries, then reap: CQEs delivered",
                    t.cq_entries()
                ),
                Ok::<i64, E>(got.len() as i64),
            )
        }),
    Case::new("msg_ring::send_fd_to_defer_taskrun_target")
        .requires(&[Feature::MsgSendFd, Feature::DeferTaskrun])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_fd_remote -> io_msg_tw_fd_complete")
                .man(MSGFD3, "NOTES"),
        )
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 22)?;
            let mut t = defer_target(cx)?;
            t.registrar()
                .register_files_sparse(2)
                .setup("target table")?;
            let (tfd, sfd) = (t.fd(), fd(&f));
            let mut src = on_thread(move || -> Result<Ring, E> {
                let r = Ring::new(4)?;
                r.registrar().register_files(&[sfd])?;
                Ok(r)
            })?
            .setup("source ring with the file")?;
            // The source is not SINGLE_ISSUER: this thread may submit on it; the target's
            // submitter task is this thread, which runs the install when it waits below.
            src.push(send_fd(tfd, MsgFdSlot::Slot(1), MsgRingFlags::NONE).user_data(SRC_UD))
                .map_err(|e| CaseError::Broken(e.to_string()))?;
            src.submit().setup("submit")?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 0)?;
            let c = cx.wait(&mut src, 1)?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.cqe("MSG_RING SEND_FD into slot 1 of a DEFER_TASKRUN ring", c[0])
        }),
    // ---- the alloc range, CQE_SKIP, the source's table ----
    Case::new("msg_ring::send_fd_alloc_honours_range_start")
        .requires(FD)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "filetable.c:io_file_bitmap_get (alloc_hint clamped to [file_alloc_start, \
                 file_alloc_end)) / io_register_file_alloc_range",
            )
            .man(MSGFD3, "io_uring_prep_msg_ring_fd_alloc")
            .rows(&["msgf_alloc_range"])
            .note(
                "the first allocation takes the range's first slot although slots 0-1 are free, \
                 the next one the slot after it; source and target CQE both carry the slot",
            ),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = alloc_range_pair(cx)?;
            let first = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            let second = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            cx.check_eq("source CQE res of the second allocation", second.res, 3)?;
            cx.check_eq(
                "target CQEs (user_data, res, flags)",
                reaped(cx, &mut t, 2)?,
                vec![(DST_UD, 2, CqeFlags::NONE), (DST_UD, 3, CqeFlags::NONE)],
            )?;
            for slot in [0, 1] {
                cx.check_eq(
                    &format!("READ through target slot {slot} outside the range"),
                    fixed_read_res(cx, &mut t, slot)?,
                    -E::EBADF.0,
                )?;
            }
            fixed_file_reads(cx, &mut t, 2, &d)?;
            fixed_file_reads(cx, &mut t, 3, &d)?;
            cx.observe(
                first,
                "into a 4-slot table with alloc range 2-3 (slots 0-1 free)",
            )
        }),
    Case::new("msg_ring::send_fd_alloc_range_exhausted")
        .requires(FD)
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel(
                "filetable.c:io_file_bitmap_get (no free bit in [file_alloc_start, \
                 file_alloc_end))",
            )
            .man(MSGFD3, "ERRORS: ENFILE")
            .rows(&["msgf_alloc_range"])
            .note(
                "with slots 0-1 still free, a third allocation into the full range 2-3 is ENFILE; \
                 the target gets no CQE for it",
            ),
        )
        .run(|cx| {
            let (_f, _d, mut src, mut t) = alloc_range_pair(cx)?;
            for want in [2, 3] {
                let c = send_c(
                    cx,
                    &mut src,
                    send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
                )?;
                cx.check_eq("source CQE res of a setup allocation", c.res, want)?;
            }
            cx.check_eq(
                "target CQE res values",
                reaped(cx, &mut t, 2)?
                    .iter()
                    .map(|c| c.1)
                    .collect::<Vec<_>>(),
                vec![2, 3],
            )?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            no_target_cqe(cx, &mut t, "target after the refused allocation")?;
            cx.check_eq(
                "READ through target slot 0 (outside the range)",
                fixed_read_res(cx, &mut t, 0)?,
                -E::EBADF.0,
            )?;
            cx.observe(
                c,
                "a third time into alloc range 2-3 of a 4-slot table (slots 0-1 free)",
            )
        }),
    Case::new("msg_ring::send_fd_cqe_skip_explicit_slot")
        .requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_install_complete (CQE_SKIP after __io_fixed_fd_install)",
            )
            .man(MSGFD3, "IORING_MSG_RING_CQE_SKIP")
            .rows(&["msgf_cqe_skip_slot"]),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::CQE_SKIP),
            )?;
            no_target_cqe(cx, &mut t, "target after SEND_FD into slot 1 with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.check_eq(
                "READ through target slot 0 (not addressed)",
                fixed_read_res(cx, &mut t, 0)?,
                -E::EBADF.0,
            )?;
            cx.observe(c, "into slot 1 of an empty 2-slot table")
        }),
    Case::new("msg_ring::send_fd_cqe_skip_install_fails")
        .requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip])
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_install_complete (install error: goto out_unlock, before the \
                 CQE_SKIP test)",
            )
            .man(MSGFD3, "IORING_MSG_RING_CQE_SKIP")
            .rows(&["msgf_cqe_skip_fail"])
            .note(
                "CQE_SKIP only skips the target's CQE of a completed install: the source still \
                 gets the error, the target nothing, and the target's slot keeps its file",
            ),
        )
        .run(|cx| {
            let (f, d, mut src, mut t) = fd_pair(cx, 1)?;
            t.registrar()
                .update_files(0, &[fd(&f)])
                .setup("occupy the target's only slot")?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::CQE_SKIP),
            )?;
            no_target_cqe(cx, &mut t, "target after a failed SEND_FD with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            fixed_file_reads(cx, &mut src, 0, &d)?;
            cx.observe(c, "into a full 1-slot table")
        }),
    Case::new("msg_ring::send_fd_source_keeps_file")
        .requires(FD)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_grab_file (get_file: the source slot keeps its reference)",
            )
            .man(MSGFD3, "DESCRIPTION")
            .rows(&["msgf_src_keeps_file"])
            .note(
                "the message installs another reference: the source's slot stays installed and \
                 usable, and the target's works after the source table is gone",
            ),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 1)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
            )?;
            cx.check_eq(
                "target CQE (user_data, res, flags)",
                reaped(cx, &mut t, 1)?,
                vec![(DST_UD, 0, CqeFlags::NONE)],
            )?;
            fixed_file_reads(cx, &mut src, 0, &d)?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            src.registrar()
                .unregister_files()
                .setup("drop the source's table")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            cx.observe(c, "from source slot 0 into target slot 0")
        }),
    // ---- targets of another thread: DEFER_TASKRUN (task work) and SINGLE_ISSUER ----
    Case::new("msg_ring::data_to_defer_taskrun_target_posted_on_getevents")
        .requires(&[Feature::OpMsgRing, Feature::DeferTaskrun])
        .expect(Expect::by_level(
            &level::MSG_DATA_LOCAL_WORK,
            Want::ok(0),
            Want::ok(1),
        ))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_data_remote -> io_req_task_work_add_remote")
                .man(MSG3, "NOTES")
                .rows(&["msg_defer_taskrun_data"])
                .note(
                    "the observed answer is the number of CQEs in the target's CQ once the source \
                     CQE is in: 0, the CQE waits in the target's local work until the target's \
                     task enters with GETEVENTS (before 6.11: posted at once, or by the target \
                     task's task_work, which the source wait runs)",
                ),
        )
        .run(|cx| {
            let mut t = defer_target(cx)?;
            let sqe = data(t.fd());
            let (c, before, desc, _) =
                delivered_from_thread(cx, &mut t, cx.ring()?, sqe, (DST_UD, 7, CqeFlags::NONE))?;
            visible_before(cx, "DEFER_TASKRUN", c, before, &desc)
        }),
    Case::new("msg_ring::flags_pass_to_defer_taskrun_target")
        .requires(&[Feature::MsgFlagsPass, Feature::DeferTaskrun])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_data_remote (io_msg_ring_cqe_flags -> io_msg_remote_post \
                 cflags)",
            )
            .man(MSG3, "io_uring_prep_msg_ring_cqe_flags")
            .rows(&["msg_defer_taskrun_flags"]),
        )
        .run(|cx| {
            let mut t = defer_target(cx)?;
            let sqe = op::msg_ring_data(
                t.fd(),
                op::MsgData {
                    res: 7,
                    user_data: DST_UD,
                    flags: MsgRingFlags::FLAGS_PASS,
                },
            )
            .file_index(PASSED.0);
            let (c, _, desc, _) =
                delivered_from_thread(cx, &mut t, cx.ring()?, sqe, (DST_UD, 7, PASSED))?;
            cx.cqe(format!("{desc} to a DEFER_TASKRUN ring (source CQE)"), c)
        }),
    Case::new("msg_ring::send_fd_to_defer_taskrun_target_from_thread")
        .requires(&[Feature::MsgSendFd, Feature::DeferTaskrun])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_fd_remote (task_work_add(submitter_task, TWA_SIGNAL)) -> \
                 io_msg_tw_fd_complete",
            )
            .man(MSGFD3, "NOTES")
            .rows(&["msg_defer_taskrun_fd"])
            .note(
                "the install runs as task work of the target's task (this thread, whose wait on \
                 the source ring runs it); the source CQE follows the install; the source keeps \
                 its file",
            ),
        )
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 23)?;
            let mut t = defer_target(cx)?;
            t.registrar()
                .register_files_sparse(2)
                .setup("target table")?;
            let sqe = send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::NONE);
            let (c, _, desc, mut src) = delivered_from_thread(
                cx,
                &mut t,
                fd_source(cx, &f)?,
                sqe,
                (DST_UD, 0, CqeFlags::NONE),
            )?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            fixed_file_reads(cx, &mut src, 0, &d)?;
            cx.cqe(
                format!("{desc} into slot 1 of a DEFER_TASKRUN ring (source CQE)"),
                c,
            )
        }),
    Case::new("msg_ring::data_to_single_issuer_target_posted_at_once")
        .requires(&[Feature::OpMsgRing, Feature::SingleIssuer])
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (!io_msg_need_remote: io_post_aux_cqe)")
                .man(MSG3, "DESCRIPTION")
                .rows(&["msg_single_issuer_target"])
                .note(
                    "a SINGLE_ISSUER ring without DEFER_TASKRUN completes from any task: the \
                     sender posts the CQE before its own, so the target's CQ holds it before the \
                     target enters",
                ),
        )
        .run(|cx| {
            let mut t = single_issuer_target(cx)?;
            let sqe = data(t.fd());
            let (c, before, desc, _) =
                delivered_from_thread(cx, &mut t, cx.ring()?, sqe, (DST_UD, 7, CqeFlags::NONE))?;
            visible_before(cx, "SINGLE_ISSUER", c, before, &desc)
        }),
    Case::new("msg_ring::flags_pass_to_single_issuer_target")
        .requires(&[Feature::MsgFlagsPass, Feature::SingleIssuer])
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel(
                "msg_ring.c:__io_msg_ring_data (io_msg_ring_cqe_flags -> io_post_aux_cqe)",
            )
            .man(MSG3, "io_uring_prep_msg_ring_cqe_flags")
            .rows(&["msg_single_issuer_target"]),
        )
        .run(|cx| {
            let mut t = single_issuer_target(cx)?;
            let sqe = op::msg_ring_data(
                t.fd(),
                op::MsgData {
                    res: 7,
                    user_data: DST_UD,
                    flags: MsgRingFlags::FLAGS_PASS,
                },
            )
            .file_index(PASSED.0);
            let (c, before, desc, _) =
                delivered_from_thread(cx, &mut t, cx.ring()?, sqe, (DST_UD, 7, PASSED))?;
            visible_before(cx, "SINGLE_ISSUER", c, before, &desc)
        }),
    Case::new("msg_ring::send_fd_to_single_issuer_target")
        .requires(&[Feature::MsgSendFd, Feature::SingleIssuer])
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_send_fd -> io_msg_install_complete (!io_msg_need_remote)",
            )
            .man(MSGFD3, "DESCRIPTION")
            .rows(&["msg_single_issuer_target"]),
        )
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 24)?;
            let mut t = single_issuer_target(cx)?;
            t.registrar()
                .register_files_sparse(1)
                .setup("target table")?;
            let sqe = send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE);
            let (c, before, desc, _) = delivered_from_thread(
                cx,
                &mut t,
                fd_source(cx, &f)?,
                sqe,
                (DST_UD, 0, CqeFlags::NONE),
            )?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            visible_before(cx, "SINGLE_ISSUER", c, before, &desc)
        }),
    // ---- 32-byte and mixed-size CQE targets ----
    Case::new("msg_ring::flags_pass_f32_to_cqe32_target")
        .requires(&[Feature::MsgFlagsPass, Feature::SetupCqe32])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_ring_cqe_flags (IORING_SETUP_CQE32 target) -> \
                 io_uring.c:io_fill_cqe_aux",
            )
            .rows(&["msgd_cqe32"])
            .note(
                "a CQE32 target takes IORING_CQE_F_32 on every version: one 32-byte CQE with the \
                 flags as passed and big_cqe zeroed",
            ),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring_with(Ring::builder(4).flags(SetupFlags::CQE32))?;
            let flags = CqeFlags(PASSED.0 | CqeFlags::F_32.0);
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
                .file_index(flags.0),
            )?;
            cx.check_eq("target CQEs ready", t.cq_ready(), 1)?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags, big_cqe)",
                (tc.res, tc.flags, tc.extra),
                (7, flags, [0, 0]),
            )?;
            cx.observe(c, "(CQE flags F_32|0x40) to a CQE32 ring")
        }),
    Case::new("msg_ring::flags_pass_f32_to_cqe_mixed_target")
        .requires(&[Feature::MsgFlagsPass, Feature::SetupCqeMixed])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_ring_cqe_flags (CQE_MIXED target) -> \
                 io_uring.c:io_fill_cqe_aux (cqe32 = F_32: two slots)",
            )
            .rows(&["msgd_cqe_mixed"])
            .note(
                "in a CQE_MIXED ring a message without F_32 takes one 16-byte slot, one with F_32 \
                 two: the CQE with the flags as passed, then its zeroed big_cqe half",
            ),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring_with(Ring::builder(4).flags(SetupFlags::CQE_MIXED))?;
            let small = send_c(
                cx,
                &mut r,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 5,
                        user_data: DST_UD + 1,
                        flags: MsgRingFlags::FLAGS_PASS,
                    },
                )
                .file_index(PASSED.0),
            )?;
            cx.check_eq("source CQE res of the 16-byte message", small.res, 0)?;
            cx.check_eq("target slots used by the 16-byte message", t.cq_ready(), 1)?;
            let flags = CqeFlags(PASSED.0 | CqeFlags::F_32.0);
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
                .file_index(flags.0),
            )?;
            cx.check_eq("target slots used after the F_32 message", t.cq_ready(), 3)?;
            let got: Vec<_> = t
                .drain()
                .iter()
                .map(|c| (c.user_data, c.res, c.flags))
                .collect();
            cx.check_eq(
                "target slots (user_data, res, flags)",
                got,
                vec![
                    (DST_UD + 1, 5, PASSED),
                    (DST_UD, 7, flags),
                    (0, 0, CqeFlags::NONE),
                ],
            )?;
            cx.observe(c, "(CQE flags F_32|0x40) to a CQE_MIXED ring")
        }),
    Case::new("msg_ring::flags_pass_f32_cqe_mixed_wrap_skip_cqe")
        .requires(&[Feature::MsgFlagsPass, Feature::SetupCqeMixed])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("io_uring.c:io_cqe_cache_refill -> io_fill_nop_cqe (IORING_CQE_F_SKIP)")
                .rows(&["msgd_cqe_mixed"])
                .note(
                    "a 32-byte CQE never wraps: with one slot left before the end of the ring the \
                     kernel fills it with an IORING_CQE_F_SKIP CQE and posts the message at slot 0",
                ),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring_with(Ring::builder(2).flags(SetupFlags::CQE_MIXED))?;
            let n = t.cq_entries();
            for i in 0..n - 1 {
                let c = send_c(
                    cx,
                    &mut r,
                    op::msg_ring_data(
                        t.fd(),
                        op::MsgData {
                            res: i,
                            user_data: DST_UD + 1,
                            flags: MsgRingFlags::NONE,
                        },
                    ),
                )?;
                cx.check_eq("source CQE res of a 16-byte message", c.res, 0)?;
            }
            cx.check_eq("16-byte messages reaped", t.drain().len() as u32, n - 1)?;
            let flags = CqeFlags(PASSED.0 | CqeFlags::F_32.0);
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
                .file_index(flags.0),
            )?;
            let got: Vec<_> = t
                .drain()
                .iter()
                .map(|c| (c.user_data, c.res, c.flags))
                .collect();
            cx.check_eq(
                "target slots from the last one on (user_data, res, flags)",
                got,
                vec![
                    (0, 0, CqeFlags::SKIP),
                    (DST_UD, 7, flags),
                    (0, 0, CqeFlags::NONE),
                ],
            )?;
            cx.observe(
                c,
                &format!(
                    "(CQE flags F_32|0x40) to a CQE_MIXED ring of {n} CQEs with {} posted and \
                     reaped",
                    n - 1
                ),
            )
        }),
];
