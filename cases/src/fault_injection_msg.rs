//! Fault injection on MSG_RING: the remote-post allocation of a DEFER_TASKRUN target
//! (ENOMEM) and the overflow-entry allocation of a full target CQ (EOVERFLOW), for data and
//! for fd passing. The fail-nth walk is fault_injection.rs's.

use crate::common::*;
use std::fs::File;
use std::time::Duration;
use uring::abi::{MsgRingFlags, SetupFlags, SqRingFlags, SqeFlags};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::ring::WaitError;
use uring::{Cqe, Ring};
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup};

use crate::common::fault::{at_step, FailNth, FI, MAX_STEPS};
use crate::common::msg::{DST_UD, MSG3};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// One MSG_RING step: a source ring, a target ring in the state the message meets, and
/// (SEND_FD) the data file the source holds in fixed slot 0.
struct Msg {
    src: Ring,
    dst: Ring,
    file: Option<(File, Vec<u8>)>,
}

/// An effect check of a MSG_RING step.
type MsgCheck = fn(&Cx, &mut Msg) -> Result<(), CaseError>;

/// A MSG_RING walked over fail-nth: the answer expected, answers allowed on the way (each
/// with its effect check), the effect of a success.
struct MsgWalk {
    setup: fn(&Cx) -> Result<Msg, CaseError>,
    sqe: fn(&Msg) -> Sqe,
    want: E,
    /// The failed answers a step may give, with the check of what they leave.
    allowed: &'static [(E, MsgCheck)],
    delivered: MsgCheck,
}

/// Walks `w`: each step submits the message under fault; the source CQE must be 0 (and
/// the message delivered) or an allowed error (checked). Observes the first step whose
/// source CQE is `-want`, or the first step with an answer neither allows.
fn walk_msg(cx: &Cx, w: MsgWalk) -> CaseResult {
    let fi = FailNth::open()?;
    let mut first: Option<(u32, String, Cqe)> = None;
    for n in 1..=MAX_STEPS {
        let mut m = (w.setup)(cx)?;
        let sqe = (w.sqe)(&m).user_data(0x5e4d);
        let desc = sqe.to_string();
        m.src
            .push(sqe)
            .map_err(|_| CaseError::Broken("source SQ full".into()))?;
        let (submitted, injected) = fi.around(n, || m.src.submit())?;
        cx.check_eq(
            &format!("at fail-nth={n}: io_uring_enter(submit 1) on the source"),
            submitted,
            Ok(1),
        )?;
        let c = cx.wait(&mut m.src, 1)?[0];
        let ctx = format!(
            "with fail-nth={n} ({})",
            if injected { "injected" } else { "not injected" }
        );
        if c.res == 0 {
            at_step(n, (w.delivered)(cx, &mut m))?;
            if !injected {
                return match first {
                    Some((k, d, c)) => cx.cqe(
                        format!(
                            "{d} with fail-nth={k} (the first step to give it; the walk delivered \
                             at fail-nth={n})"
                        ),
                        c,
                    ),
                    None => cx.cqe(
                        format!("{desc} {ctx}: no fail-nth value below {n} made it fail"),
                        c,
                    ),
                };
            }
        } else if injected && c.res == -w.want.0 {
            first.get_or_insert((n, desc.clone(), c));
            at_step(
                n,
                (w.allowed
                    .iter()
                    .find(|a| a.0 == w.want)
                    .expect("want is allowed")
                    .1)(cx, &mut m),
            )?;
        } else if let Some(a) = w.allowed.iter().find(|a| injected && c.res == -a.0 .0) {
            at_step(n, (a.1)(cx, &mut m))?;
        } else {
            return cx.cqe(format!("{desc} {ctx}"), c);
        }
    }
    Err(CaseError::Fail(format!(
        "the walk did not reach a fail-nth value the message outlives within {MAX_STEPS} steps"
    )))
}

/// A plain target ring with its 2-entry CQ filled by two messages from the source
/// (which also makes the source's request cache and task context warm).
fn full_target(cx: &Cx, src: &mut Ring) -> Result<Ring, CaseError> {
    let dst = cx.ring_with(Ring::builder(1))?;
    for i in 0..dst.cq_entries() {
        let c = cx.submit_one(
            src,
            op::msg_ring_data(
                dst.fd(),
                op::MsgData {
                    res: i,
                    user_data: DST_UD + 1 + i as u64,
                    flags: MsgRingFlags::NONE,
                },
            )
            .user_data(0xf0 + i as u64),
        )?;
        cx.check_eq(&format!("source CQE of filler message {i}"), c.res, 0)
            .map_err(|e| CaseError::Broken(e.to_string()))?;
    }
    Ok(dst)
}

/// The target's CQ holds exactly the fillers (the message is not among them).
fn only_fillers(cx: &Cx, dst: &mut Ring) -> Result<(), CaseError> {
    let got: Vec<(u64, i32)> = dst.drain().iter().map(|c| (c.user_data, c.res)).collect();
    let want: Vec<(u64, i32)> = (0..dst.cq_entries())
        .map(|i| (DST_UD + 1 + i as u64, i as i32))
        .collect();
    cx.check_eq("target CQEs (user_data, res)", got, want)
}

/// A dropped CQE: the target's CQ has only the fillers, no overflow entry (SQ flag
/// CQ_OVERFLOW clear), the CQ ring's overflow counter is 1, and the next wait on the
/// target says EBADR (io_uring.c:io_cqring_add_overflow sets IO_CHECK_CQ_DROPPED_BIT).
fn dropped(cx: &Cx, m: &mut Msg) -> Result<(), CaseError> {
    cx.check_eq(
        "target SQ flag CQ_OVERFLOW (an overflow entry queued)",
        m.dst.sq_flags().contains(SqRingFlags::CQ_OVERFLOW),
        false,
    )?;
    cx.check_eq(
        "target cq.overflow (dropped CQEs)",
        m.dst.cq_overflow_dropped(),
        1,
    )?;
    only_fillers(cx, &mut m.dst)?;
    let w = m
        .dst
        .wait_timeout(1, Duration::from_millis(200).min(cx.time_left()));
    cx.check(matches!(w, Err(WaitError::Errno(E::EBADR))), || {
        format!("wait on the target after the drop: expected EBADR, got {w:?}")
    })
}

/// Delivered into a full CQ: the fillers, then (flushed from the overflow list) the message.
fn delivered_after_fillers(cx: &Cx, m: &mut Msg, res: i32) -> Result<(), CaseError> {
    cx.check_eq(
        "target cq.overflow (dropped CQEs)",
        m.dst.cq_overflow_dropped(),
        0,
    )?;
    only_fillers(cx, &mut m.dst)?;
    let c = cx.wait(&mut m.dst, 1)?;
    cx.check_eq(
        "the message's target CQE (user_data, res)",
        (c[0].user_data, c[0].res),
        (DST_UD, res),
    )
}

fn data_msg(m: &Msg) -> Sqe {
    op::msg_ring_data(
        m.dst.fd(),
        op::MsgData {
            res: 7,
            user_data: DST_UD,
            flags: MsgRingFlags::NONE,
        },
    )
}

/// Reads 64 bytes through the target's fixed file slot 1: the file's bytes, or `want` res.
fn target_slot_reads(cx: &Cx, m: &mut Msg, installed: bool) -> Result<(), CaseError> {
    let buf = cx.mem(4096)?;
    let c = cx.submit_one(
        &mut m.dst,
        op::read(1, buf.slice(0, 64), 64, 0)
            .add_flags(SqeFlags::FIXED_FILE)
            .user_data(0xf11e),
    )?;
    match (installed, &m.file) {
        (true, Some((_, d))) => {
            cx.check_eq("READ through the target's fixed file 1: res", c.res, 64)?;
            cx.check_eq(
                "bytes read through the target's fixed file 1",
                buf.read(0, 64),
                d[..64].to_vec(),
            )
        }
        _ => cx.check_eq(
            "READ through the target's empty fixed file 1: res",
            c.res,
            -E::EBADF.0,
        ),
    }
}

fn fd_setup(cx: &Cx) -> Result<Msg, CaseError> {
    let (f, d) = data_file(cx, 256, 29)?;
    let mut src = cx.ring()?;
    src.registrar()
        .register_files(&[fd(&f)])
        .setup("register the source's fixed file")?;
    let dst = full_target(cx, &mut src)?;
    dst.registrar()
        .register_files_sparse(2)
        .setup("sparse file table in the target")?;
    Ok(Msg {
        src,
        dst,
        file: Some((f, d)),
    })
}

fn fd_msg(m: &Msg) -> Sqe {
    op::msg_ring_fd(
        m.dst.fd(),
        0,
        MsgFdSlot::Slot(1),
        DST_UD,
        MsgRingFlags::NONE,
    )
}

/// SEND_FD whose post was dropped: the file *is* installed in slot 1 (io_msg_install_complete
/// installs before posting), the CQE is dropped.
fn fd_dropped(cx: &Cx, m: &mut Msg) -> Result<(), CaseError> {
    dropped(cx, m)?;
    target_slot_reads(cx, m, true)
}

/// SEND_FD that failed ENOMEM before installing (the target's rsrc node): slot 1 empty,
/// no CQE posted, none dropped.
fn fd_not_installed(cx: &Cx, m: &mut Msg) -> Result<(), CaseError> {
    cx.check_eq(
        "target cq.overflow (dropped CQEs)",
        m.dst.cq_overflow_dropped(),
        0,
    )?;
    only_fillers(cx, &mut m.dst)?;
    target_slot_reads(cx, m, false)
}

/// A DEFER_TASKRUN target (this thread its submitter task), warmed by one message.
fn defer_setup(cx: &Cx) -> Result<Msg, CaseError> {
    let mut src = cx.ring()?;
    let mut dst = cx
        .ring_with(Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN))?;
    let c = cx.submit_one(
        &mut src,
        op::msg_ring_data(
            dst.fd(),
            op::MsgData {
                res: 1,
                user_data: DST_UD + 1,
                flags: MsgRingFlags::NONE,
            },
        )
        .user_data(0xf0),
    )?;
    cx.check_eq("source CQE of the warm-up message", c.res, 0)
        .map_err(|e| CaseError::Broken(e.to_string()))?;
    cx.wait(&mut dst, 1)?;
    Ok(Msg {
        src,
        dst,
        file: None,
    })
}

/// MSG_RING into a DEFER_TASKRUN target that failed ENOMEM: no CQE reaches the target.
fn defer_nothing(cx: &Cx, m: &mut Msg) -> Result<(), CaseError> {
    no_cqes(
        cx,
        &mut m.dst,
        "DEFER_TASKRUN target after the failed message",
    )?;
    cx.check_eq(
        "target cq.overflow (dropped CQEs)",
        m.dst.cq_overflow_dropped(),
        0,
    )
}

fn defer_delivered(cx: &Cx, m: &mut Msg) -> Result<(), CaseError> {
    let c = cx.wait(&mut m.dst, 1)?;
    cx.check_eq(
        "target CQE (user_data, res)",
        (c[0].user_data, c[0].res),
        (DST_UD, 7),
    )
}

/// The MSG_RING fault-injection rows.
pub const CASES: &[Case] = &[
    Case::new("fault_injection::msg_data_defer_taskrun_enomem")
        .requires(&[Feature::OpMsgRing, Feature::DeferTaskrun])
        .needs(FI)
        .expect(Expect::cqe_errno(E::ENOMEM))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_data_remote (kmem_cache_alloc of the remote request)")
                .man(MSG3, "ERRORS: ENOMEM")
                .rows(&["msgd_enomem"]),
        )
        .run(|cx| {
            walk_msg(
                cx,
                MsgWalk {
                    setup: defer_setup,
                    sqe: data_msg,
                    want: E::ENOMEM,
                    allowed: &[(E::ENOMEM, defer_nothing)],
                    delivered: defer_delivered,
                },
            )
        }),
    Case::new("fault_injection::msg_data_overflow_entry_fails")
        .requires(&[Feature::OpMsgRing])
        .needs(FI)
        .expect(Expect::cqe_errno(E::EOVERFLOW))
        .cite(
            Cite::kernel(
                "msg_ring.c:__io_msg_ring_data -> io_uring.c:io_post_aux_cqe -> \
                 io_cqe_overflow_locked -> io_alloc_ocqe (GFP_NOWAIT)",
            )
            .man(MSG3, "ERRORS: EOVERFLOW")
            .rows(&["msgd_overflow"]),
        )
        .run(|cx| {
            walk_msg(
                cx,
                MsgWalk {
                    setup: |cx| {
                        let mut src = cx.ring()?;
                        let dst = full_target(cx, &mut src)?;
                        Ok(Msg {
                            src,
                            dst,
                            file: None,
                        })
                    },
                    sqe: data_msg,
                    want: E::EOVERFLOW,
                    allowed: &[(E::EOVERFLOW, dropped)],
                    delivered: |cx, m| delivered_after_fillers(cx, m, 7),
                },
            )
        }),
    Case::new("fault_injection::msg_fd_overflow_entry_fails")
        .requires(&[Feature::OpMsgRing, Feature::MsgSendFd])
        .needs(FI)
        .expect(Expect::cqe_errno(E::EOVERFLOW))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_install_complete -> io_uring.c:io_post_aux_cqe -> \
                 io_alloc_ocqe (GFP_NOWAIT)",
            )
            .man("io_uring_prep_msg_ring_fd.3", "ERRORS: EOVERFLOW")
            .rows(&["msgf_overflow", "fi_msgf_enomem_node"])
            .note(
                "on the way the walk fails the target's rsrc-node allocation first \
                 (io_install_fixed_file): that step is -ENOMEM with nothing installed",
            ),
        )
        .run(|cx| {
            walk_msg(
                cx,
                MsgWalk {
                    setup: fd_setup,
                    sqe: fd_msg,
                    want: E::EOVERFLOW,
                    allowed: &[(E::EOVERFLOW, fd_dropped), (E::ENOMEM, fd_not_installed)],
                    delivered: |cx, m| {
                        delivered_after_fillers(cx, m, 0)?;
                        target_slot_reads(cx, m, true)
                    },
                },
            )
        }),
];
