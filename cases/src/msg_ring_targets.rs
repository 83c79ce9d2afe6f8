//! §4.5 continued: what a MSG_RING message delivers to targets of every kind: another
//! thread's DEFER_TASKRUN (task work) or SINGLE_ISSUER ring, and 32-byte and mixed-size CQE
//! rings. One target on this thread, the alloc range and CQE_SKIP are in
//! [`crate::msg_ring_delivery`].

use crate::common::msg::*;
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingFlags, SetupFlags};
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

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The message rows.
pub const CASES: &[Case] = &[
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
            let mut t = defer_target_with_slots(cx, 2)?;
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
