//! §4.6: the life of a MSG_RING request around its message: whether it fails its link, how
//! a message to an IOPOLL ring is issued (the target's uring_lock), what becomes of the file
//! a failed SEND_FD took from the source, and a request whose memory a NOP used before.
//! What a message delivers is in [`crate::msg_ring_delivery`] and [`crate::msg_ring_targets`].

use crate::common::msg::*;
use crate::common::*;
use std::io::{ErrorKind, Read};
use uring::abi::{CqeFlags, MsgRingFlags, SetupFlags, SqeFlags};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::{Cqe, Ring};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

/// user_data of the NOP linked after the message.
const LINKED_UD: u64 = 0x11b;

/// Submits `sqe` (user_data SRC_UD) with IOSQE_IO_LINK and a NOP after it on `src`, waits
/// for both CQEs, checks the NOP's res is `linked_res`, and returns the message's CQE.
fn linked(cx: &Cx, src: &mut Ring, sqe: Sqe, linked_res: i32) -> Result<Cqe, CaseError> {
    let first = sqe.add_flags(SqeFlags::IO_LINK).user_data(SRC_UD);
    let got = cx.submit_batch(src, vec![first, op::nop().user_data(LINKED_UD)], 2)?;
    let res_of = |ud| got.iter().find(|c| c.user_data == ud).copied();
    cx.check_eq(
        "the linked NOP's res",
        res_of(LINKED_UD).map(|c| c.res),
        Some(linked_res),
    )?;
    res_of(SRC_UD).ok_or_else(|| CaseError::Fail("no CQE for the message".into()))
}

/// An IOPOLL ring: io_uring_enter(GETEVENTS) does not sleep on it (io_iopoll_check returns
/// when nothing is on its iopoll list), so [`iopoll_reap`] polls.
fn iopoll_ring(cx: &Cx) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::IOPOLL))
}

/// The CQEs of `ring` once `n` arrived: GETEVENTS (which runs this task's task_work, where
/// a request punted to io-wq is completed on an IOPOLL ring) and a short sleep, until the
/// case's time limit.
fn iopoll_reap(cx: &Cx, ring: &mut Ring, n: usize) -> Result<Vec<Cqe>, CaseError> {
    let mut got = Vec::new();
    loop {
        let _ = ring.wait_timeout(1, std::time::Duration::from_millis(5));
        got.extend(ring.drain());
        if got.len() >= n {
            return Ok(got);
        }
        if cx.time_left().is_zero() {
            return Err(CaseError::Timeout(format!(
                "IOPOLL ring: waited for {n} CQE(s), got {got:?}"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The request-life rows.
pub const CASES: &[Case] = &[
    // ---- links: the message fails its link exactly when it fails ----
    Case::new("msg_ring::data_link_continues")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring (req_set_fail only for ret < 0)")
                .note("a delivered message does not fail its link: the linked NOP completes 0"),
        )
        .run(|cx| {
            let mut src = cx.ring()?;
            let mut t = cx.ring()?;
            let c = linked(cx, &mut src, data(t.fd()), 0)?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 7)?;
            cx.observe(c, "(IO_LINK to a NOP) to another ring")
        }),
    Case::new("msg_ring::failed_message_cancels_link")
        .requires(MR)
        .expect(Expect::cqe_errno(E::EBADFD))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring (ret < 0: req_set_fail)")
                .man(MSG3, "ERRORS: EBADFD")
                .note("a refused message fails its link: the linked NOP completes -ECANCELED"),
        )
        .run(|cx| {
            let mut src = cx.ring()?;
            let (r, _w) = pipe()?;
            let c = linked(cx, &mut src, data(fd(&r)), -libc::ECANCELED)?;
            cx.observe(c, "(IO_LINK to a NOP) to a pipe")
        }),
    Case::new("msg_ring::send_fd_to_defer_taskrun_target_link_continues")
        .requires(&[Feature::MsgSendFd, Feature::DeferTaskrun])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_tw_fd_complete (req_set_fail only for ret < 0)").note(
                "the install runs in the target task's task_work; a successful one does not \
                     fail the link: the linked NOP completes 0",
            ),
        )
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 23)?;
            let mut t = defer_target_with_slots(cx, 2)?;
            let mut src = fd_source(cx, &f)?;
            // This thread is the target's task: waiting on the source runs the install.
            let sqe = send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::NONE);
            let c = linked(cx, &mut src, sqe, 0)?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 0)?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.observe(c, "(IO_LINK to a NOP) into slot 1 of a DEFER_TASKRUN ring")
        }),
    // ---- IOPOLL targets: the target's uring_lock ----
    Case::new("msg_ring::data_to_own_iopoll_ring_punted")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:__io_msg_ring_data (IOPOLL target: io_lock_external_ctx trylock \
                 fails on the submitter's own lock -> -EAGAIN -> io-wq, mutex_lock)",
            )
            .note(
                "a message from an IOPOLL ring to itself is issued again from io-wq: both CQEs \
                 arrive, the data CQE first",
            ),
        )
        .run(|cx| {
            let mut r = iopoll_ring(cx)?;
            let own = r.fd();
            cx.submit_batch(&mut r, vec![data(own).user_data(SRC_UD)], 0)?;
            let got = iopoll_reap(cx, &mut r, 2)?;
            cx.check_eq(
                "CQEs (user_data, res) in order",
                got.iter().map(|c| (c.user_data, c.res)).collect::<Vec<_>>(),
                vec![(DST_UD, 7), (SRC_UD, 0)],
            )?;
            cx.observe(got[1], "to its own IOPOLL ring")
        }),
    Case::new("msg_ring::data_to_iopoll_target_twice")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (IOPOLL target: locked, posted, unlocked)")
                .note(
                    "the first message takes and drops the target's uring_lock, so the second is \
                 posted too; the target never enters, its CQ is read from memory",
                ),
        )
        .run(|cx| {
            let mut src = cx.ring()?;
            let mut t = iopoll_ring(cx)?;
            let first = send_c(cx, &mut src, data(t.fd()))?;
            cx.check_eq("first source CQE res", first.res, 0)?;
            let second = send_c(cx, &mut src, data(t.fd()))?;
            let got = t.drain();
            cx.check_eq(
                "target CQEs (user_data, res)",
                got.iter().map(|c| (c.user_data, c.res)).collect::<Vec<_>>(),
                vec![(DST_UD, 7), (DST_UD, 7)],
            )?;
            cx.observe(second, "(the second) to an IOPOLL ring")
        }),
    // ---- the source's file: taken for the message, dropped when it fails ----
    Case::new("msg_ring::send_fd_failed_install_drops_file")
        .requires(FD)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_grab_file (get_file, REQ_F_NEED_CLEANUP) -> \
                 io_msg_ring_cleanup (fput)",
            )
            .note(
                "a SEND_FD whose install fails (-EINVAL: slot beyond the target's table) keeps \
                 no reference to the file: with the source table unregistered and the write end \
                 closed, the pipe's read end reads EOF",
            ),
        )
        .run(|cx| {
            let (mut r, w) = pipe()?;
            let mut src = cx.ring()?;
            src.registrar()
                .register_files(&[fd(&w)])
                .setup("the pipe's write end as source slot 0")?;
            let t = cx.ring()?;
            t.registrar()
                .register_files_sparse(1)
                .setup("target table of 1")?;
            let sqe = send_fd(t.fd(), MsgFdSlot::Slot(5), MsgRingFlags::NONE);
            let c = send_c(cx, &mut src, sqe)?;
            cx.check_eq("SEND_FD res (slot 5 of 1)", c.res, -libc::EINVAL)?;
            src.registrar()
                .unregister_files()
                .setup("unregister the source table")?;
            drop(w);
            nix::fcntl::fcntl(
                &r,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .map_err(|e| uring::Errno(e as i32))
            .setup("O_NONBLOCK on the read end")?;
            let mut b = [0u8; 1];
            let n = match r.read(&mut b) {
                Ok(n) => Ok(n as i64),
                Err(e) if e.kind() == ErrorKind::WouldBlock => Err(E::EAGAIN),
                Err(e) => Err(uring::Errno(e.raw_os_error().unwrap_or(0))),
            };
            cx.sync(
                "read(2) of the pipe's read end after a failed SEND_FD of its write end, the \
                 source table unregistered and the write end closed",
                n,
            )
        }),
    // ---- a request whose memory a NOP used before ----
    Case::new("msg_ring::send_fd_after_nops")
        .requires(FD)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_prep (msg->src_file = NULL)").note(
                "the request cache hands a SEND_FD the memory of completed NOPs; prep starts \
                     it without a file, so the message sends the source slot's file",
            ),
        )
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 24)?;
            let mut src = fd_source(cx, &f)?;
            let mut t = cx.ring()?;
            t.registrar()
                .register_files_sparse(1)
                .setup("target table")?;
            let nops = (0..8).map(|i| op::nop().user_data(0x40 + i)).collect();
            cx.submit_batch(&mut src, nops, 8)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 0)?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            cx.observe(c, "after 8 NOPs on the source ring")
        }),
];
