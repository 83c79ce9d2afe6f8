//! §4: IORING_OP_MSG_RING (MSG_DATA, MSG_SEND_FD, CQE_SKIP, FLAGS_PASS, FILE_INDEX_ALLOC)
//! and IORING_REGISTER_SEND_MSG_RING (`sync_msg_ring::`).

use crate::common::*;
use std::fs::File;
use std::time::Duration;
use uring::abi::{CqeFlags, MsgRingCmd, MsgRingFlags, RegisterOp, SetupFlags, SqeFlags};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::register::{sync_msg_ring, ArgPtr, FdArg, RegisterCall};
use uring::{Cqe, ForeignAddr, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

const MSG3: &str = "io_uring_prep_msg_ring.3";
const MSGFD3: &str = "io_uring_prep_msg_ring_fd.3";
const SYNC3: &str = "io_uring_register_sync_msg.3";
const ENTER: &str = "io_uring_enter.2";
const MR: &[Feature] = &[Feature::OpMsgRing];
const FD: &[Feature] = &[Feature::MsgSendFd];
const SYNC: &[Feature] = &[Feature::SyncMsgRing];
const PASS: &[Feature] = &[Feature::MsgFlagsPass];
/// user_data of the source request.
const SRC_UD: u64 = 0x5e4d;
/// user_data the target's CQE is asked to carry.
const DST_UD: u64 = 0xd57;

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[
    ("msgd_overflow", "needs the GFP_NOWAIT allocation of an overflow entry to fail; a full CQ alone overflows successfully (see msg_ring::data_overflow_all_delivered)"),
    ("msgf_overflow", "same as msgd_overflow: only an allocation failure of the overflow entry makes the post fail"),
    ("msgd_enomem", "allocation failure of the remote-post request for a DEFER_TASKRUN target"),
    ("msgd_ownerdead", "6.12-only code on the data path, reachable only with a NULL submitter_task on an enabled ring (verify.md §4.2)"),
];

/// Submits `sqe` (user_data SRC_UD) on `src` and observes the source CQE.
/// `context` says what the setup was; the SQE describes itself.
fn send(cx: &Cx, src: &mut Ring, sqe: Sqe, context: &str) -> CaseResult {
    let c = cx.submit_one(src, sqe.user_data(SRC_UD))?;
    cx.observe(c, context)
}

/// Like [`send`] but also returns the CQE for effect checks.
fn send_c(cx: &Cx, src: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
    cx.submit_one(src, sqe.user_data(SRC_UD))
}

/// MSG_DATA to `target` with `len` = 7, user_data DST_UD.
fn data(target: i32) -> Sqe {
    op::msg_ring_data(target, 7, DST_UD, MsgRingFlags::NONE)
}

/// A source ring with `file` in fixed slot 0.
fn fd_source(cx: &Cx, file: &File) -> Result<Ring, CaseError> {
    let r = cx.ring()?;
    r.register_files(&[fd(file)])
        .setup("register the source's fixed file")?;
    Ok(r)
}

/// A data file, a source ring holding it in slot 0, and a target ring with `n` empty slots.
fn fd_pair(cx: &Cx, n: u32) -> Result<(File, Vec<u8>, Ring, Ring), CaseError> {
    let (f, d) = data_file(cx, 256, 21)?;
    let src = fd_source(cx, &f)?;
    let dst = cx.ring()?;
    dst.register_files_sparse(n)
        .setup("sparse file table in the target")?;
    Ok((f, d, src, dst))
}

/// SEND_FD of source slot 0 to `target` at `slot`.
fn send_fd(target: i32, slot: MsgFdSlot, flags: MsgRingFlags) -> Sqe {
    op::msg_ring_fd(target, 0, slot, DST_UD, flags)
}

/// Reads 64 bytes at offset 0 through `ring`'s fixed file `slot` and compares with `data`.
fn fixed_file_reads(cx: &Cx, ring: &mut Ring, slot: u32, data: &[u8]) -> Result<(), CaseError> {
    let m = cx.mem(4096)?;
    let c = cx.submit_one(
        ring,
        op::read(slot as i32, m.slice(0, 64), 64, 0)
            .add_flags(SqeFlags::FIXED_FILE)
            .user_data(0xf11e),
    )?;
    cx.check_eq(
        &format!("READ through the target's fixed file {slot}"),
        c.res,
        64,
    )?;
    cx.check_eq(
        &format!("bytes read through fixed file {slot}"),
        m.read(0, 64),
        data[..64].to_vec(),
    )
}

/// The one CQE the target got (bounded wait), checked for user_data.
fn target_cqe(cx: &Cx, dst: &mut Ring) -> Result<Cqe, CaseError> {
    let c = cx.wait(dst, 1)?;
    cx.check_eq("target CQE user_data", c[0].user_data, DST_UD)?;
    Ok(c[0])
}

/// A target ring created disabled (IORING_SETUP_R_DISABLED).
fn disabled(cx: &Cx) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::R_DISABLED))
}

/// A DEFER_TASKRUN target (this thread is its submitter task).
fn defer_target(cx: &Cx) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN))
}

/// Runs `f` on a fresh thread and returns its result.
fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, CaseError> {
    std::thread::spawn(f)
        .join()
        .map_err(|_| CaseError::Broken("helper thread panicked".into()))
}

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

/// The MSG_RING rows.
pub const CASES: &[Case] = &[
    // ---- §4.1 common checks ----
    Case::new("msg_ring::opcode_supported")
        .expect(Expect::by_level(&level::MSG_RING_OP, Want::res(0), Want::cqe_errno(E::EINVAL)))
        .cite(Cite::kernel("io_uring.c:io_init_req (opcode >= IORING_OP_LAST)").man(ENTER, "IORING_OP_MSG_RING (since 5.18)").rows(&["msg_unsupported"]))
        .run(|cx| { let mut r = cx.ring()?; let own = r.fd(); send(cx, &mut r, data(own), "to the submitting ring") }),
    Case::new("msg_ring::target_fd_not_open").requires(MR).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("io_uring.c:io_assign_file").man(ENTER, "ERRORS: EBADF").rows(&["msg_target_badf"]))
        .run(|cx| { let mut r = cx.ring()?; send(cx, &mut r, data(NEVER_OPEN_FD), "to an fd that is not open") }),
    Case::new("msg_ring::target_fixed_slot_empty").requires(MR).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("io_uring.c:io_assign_file (fixed)").man(ENTER, "ERRORS: EBADF").rows(&["msg_target_badf"]))
        .run(|cx| {
            let mut r = cx.ring()?;
            r.register_files(&[-1]).setup("one empty fixed-file slot")?;
            send(cx, &mut r, data(0).add_flags(SqeFlags::FIXED_FILE), "with fixed file 0 empty")
        }),
    Case::new("msg_ring::target_not_a_ring").requires(MR).expect(Expect::cqe_errno(E::EBADFD))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring (!io_is_uring_fops)").man(MSG3, "ERRORS: EBADFD").rows(&["msg_target_not_ring"]))
        .run(|cx| { let f = dev_null(false)?; let mut r = cx.ring()?; send(cx, &mut r, data(fd(&f)), "to /dev/null") }),
    Case::new("msg_ring::target_fixed_file_not_a_ring").requires(MR).expect(Expect::cqe_errno(E::EBADFD))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring (!io_is_uring_fops)").man(MSG3, "ERRORS: EBADFD").rows(&["msg_target_not_ring"]))
        .run(|cx| {
            let f = dev_null(false)?;
            let mut r = fd_source(cx, &f)?;
            send(cx, &mut r, data(0).add_flags(SqeFlags::FIXED_FILE), "with fixed file 0 = /dev/null")
        }),
    Case::new("msg_ring::buf_index_set").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_prep (buf_index || personality)").man(MSG3, "ERRORS: EINVAL").rows(&["msg_prep_fields"]))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, data(t.fd()).buf_index(1), "") }),
    Case::new("msg_ring::registered_personality").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_prep (buf_index || personality)").rows(&["msg_prep_fields"])
            .note("a registered personality passes io_init_req and is refused by the MSG_RING prep"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let t = cx.ring()?;
            let id = r.register_raw(RegisterOp::PERSONALITY, &ArgPtr::NULL, 0).setup("register a personality")?;
            send(cx, &mut r, data(t.fd()).personality(id as u16), "with a registered personality")
        }).needs(&[Fact::NoLsmConfinement]),
    Case::new("msg_ring::unknown_flag").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_prep (msg_ring_flags & ~IORING_MSG_RING_MASK)").man(MSG3, "flags").rows(&["msg_bad_flags"])
            .note("io_uring_prep_msg_ring.3 says no flags are valid; CQE_SKIP and FLAGS_PASS are"))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, data(t.fd()).op_flags(1 << 2), "") }),
    Case::new("msg_ring::send_fd_unknown_flag").requires(FD).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_prep (msg->flags & ~IORING_MSG_RING_MASK)").man(MSGFD3, "flags").rows(&["msg_bad_flags"])
            .note("SEND_FD has no flag check of its own (only DATA looks at FLAGS_PASS): the prep mask alone refuses bit 2, and nothing is installed"))
        .run(|cx| {
            let (_f, _d, mut src, mut t) = fd_pair(cx, 1)?;
            let c = send_c(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags(1 << 2)))?;
            cx.check_eq("CQEs in the target after the refused SEND_FD", t.cq_ready(), 0)?;
            let m = cx.mem(4096)?;
            let r = cx.submit_one(&mut t, op::read(0, m.slice(0, 64), 64, 0).add_flags(SqeFlags::FIXED_FILE).user_data(0xf11e))?;
            cx.check_eq("READ through the target's fixed file 0 (still empty)", r.res, -E::EBADF.0)?;
            cx.observe(c, "with msg_ring_flags bit 2 (unknown), to a target with a free slot 0")
        }),
    Case::new("msg_ring::ioprio_set").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("io_uring.c:io_init_req (!def->ioprio && sqe->ioprio)").rows(&["msg_ioprio"]))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, data(t.fd()).ioprio(1), "") }),
    Case::new("msg_ring::buffer_select").requires(MR).expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)").man(ENTER, "ERRORS: EOPNOTSUPP").rows(&["msg_buffer_select"]))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, data(t.fd()).add_flags(SqeFlags::BUFFER_SELECT), "") }),
    Case::new("msg_ring::unknown_command").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring (default: -EINVAL)").man(MSG3, "ERRORS: EINVAL").rows(&["msg_unknown_cmd"]))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, op::msg_ring(t.fd(), MsgRingCmd(2), 0, DST_UD), "") }),
    Case::new("msg_ring::data_target_disabled").requires(&[Feature::OpMsgRing, Feature::RingDisabled]).expect(Expect::cqe_errno(E::EBADFD))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (IORING_SETUP_R_DISABLED)").man(MSG3, "ERRORS: EBADFD").rows(&["msg_target_disabled"]))
        .run(|cx| { let mut r = cx.ring()?; let t = disabled(cx)?; send(cx, &mut r, data(t.fd()), "to an R_DISABLED ring") }),
    Case::new("msg_ring::send_fd_target_disabled").requires(&[Feature::MsgSendFd, Feature::RingDisabled])
        .expect(Expect::by_level(&level::MSG_SEND_FD_DISABLED, Want::cqe_errno(E::EBADFD), Want::res(0)))
        .cite(Cite::kernel("msg_ring.c:io_msg_send_fd (IORING_SETUP_R_DISABLED)").man(MSGFD3, "ERRORS: EBADFD").rows(&["msg_target_disabled"])
            .note("6.1.192 has no disabled-target check for SEND_FD (installs the file); msg_send_fd_checks (the len check of the same rework) marks the level"))
        .run(|cx| {
            let (_f, _d, mut src, _) = fd_pair(cx, 1)?;
            let t = disabled(cx)?;
            t.register_files_sparse(1).setup("sparse table in the disabled target")?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE), "to an R_DISABLED ring with a free slot 0")
        }),
    // ---- §4.2 MSG_DATA ----
    Case::new("msg_ring::data_src_slot_set").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (msg->src_fd)").man(MSG3, "ERRORS: EINVAL").rows(&["msgd_src_fd"]))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, data(t.fd()).msg_src_slot(1), "") }),
    Case::new("msg_ring::data_cqe_skip").requires(&[Feature::OpMsgRing, Feature::MsgCqeSkip]).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (flags & ~FLAGS_PASS)").rows(&["msgd_flags"])
            .note("uapi: CQE_SKIP is not applicable to MSG_DATA; the man pages are silent"))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, op::msg_ring_data(t.fd(), 7, DST_UD, MsgRingFlags::CQE_SKIP), "") }),
    Case::new("msg_ring::data_file_index_without_flags_pass").requires(MR).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (file_index && !FLAGS_PASS)").man(MSG3, "ERRORS: EINVAL").rows(&["msgd_file_index"]))
        .run(|cx| { let mut r = cx.ring()?; let t = cx.ring()?; send(cx, &mut r, data(t.fd()).file_index(5), "") }),
    Case::new("msg_ring::data_flags_pass_cqe_f32").requires(PASS)
        .expect(Expect::by_level(&level::MSG_CQE_F32_CHECK, Want::cqe_errno(E::EINVAL), Want::res(0)))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags (F_32 without CQE32/CQE_MIXED)").rows(&["msgd_cqe_f32"])
            .note("6.12-6.18 post the flag verbatim (target sees IORING_CQE_F_32 on a 16-byte CQE)"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(cx, &mut r, op::msg_ring_data(t.fd(), 7, DST_UD, MsgRingFlags::FLAGS_PASS).file_index(CqeFlags::F_32.0))?;
            if c.res == 0 {
                cx.check_eq("target CQE flags", target_cqe(cx, &mut t)?.flags, CqeFlags::F_32)?;
            } else {
                no_cqes(cx, &mut t, "target after a refused F_32 message")?;
            }
            cx.observe(c, "(CQE flags IORING_CQE_F_32) to a 16-byte-CQE ring")
        }),
    // ---- §4.3 MSG_SEND_FD ----
    Case::new("msg_ring::send_fd_len_set").requires(FD)
        .expect(Expect::by_level(&level::MSG_SEND_FD_CHECKS, Want::cqe_errno(E::EINVAL), Want::res(0)))
        .cite(Cite::kernel("msg_ring.c:io_msg_send_fd (msg->len)").man(MSGFD3, "ERRORS: EINVAL").rows(&["msgf_len"])
            .note("6.1.192 ignores len (installs the file)"))
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 1)?;
            let sqe = op::msg_ring(t.fd(), MsgRingCmd::SEND_FD, 1, DST_UD).file_index(1);
            send(cx, &mut src, sqe, "")
        }),
    Case::new("msg_ring::send_fd_to_self").requires(FD).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:io_msg_send_fd (target_ctx == ctx)").man(MSGFD3, "ERRORS: EINVAL (target ring is identical)").rows(&["msgf_self"]))
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let own = src.fd();
            send(cx, &mut src, send_fd(own, MsgFdSlot::Slot(0), MsgRingFlags::NONE), "to the submitting ring")
        }),
    Case::new("msg_ring::send_fd_src_no_table").requires(FD).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("msg_ring.c:io_msg_grab_file").rows(&["msgf_src_slot"]).note("the man pages do not list EBADF for the source slot"))
        .run(|cx| {
            let mut src = cx.ring()?;
            let t = cx.ring()?;
            t.register_files_sparse(1).setup("target table")?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE), "from a ring without fixed files")
        }),
    Case::new("msg_ring::send_fd_src_slot_out_of_range").requires(FD).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("msg_ring.c:io_msg_grab_file (io_rsrc_node_lookup)").rows(&["msgf_src_slot"]))
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 1)?;
            send(cx, &mut src, op::msg_ring_fd(t.fd(), 1, MsgFdSlot::Slot(0), DST_UD, MsgRingFlags::NONE), "with a source table of 1")
        }),
    Case::new("msg_ring::send_fd_src_slot_empty").requires(FD).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("msg_ring.c:io_msg_grab_file").rows(&["msgf_src_slot"]))
        .run(|cx| {
            let mut src = cx.ring()?;
            src.register_files(&[-1]).setup("one empty source slot")?;
            let t = cx.ring()?;
            t.register_files_sparse(1).setup("target table")?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE), "with source slot 0 empty")
        }),
    Case::new("msg_ring::send_fd_dst_no_table").requires(FD).expect(Expect::cqe_errno(E::ENXIO))
        .cite(Cite::kernel("filetable.c:io_install_fixed_file (!file_table.data.nr)").rows(&["msgf_dst_no_table"]).note("ENXIO is not in io_uring_prep_msg_ring_fd.3"))
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = cx.ring()?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE), "to a target without files")
        }),
    Case::new("msg_ring::send_fd_alloc_dst_no_table").requires(FD).expect(Expect::cqe_errno(E::ENFILE))
        .cite(Cite::kernel("filetable.c:io_file_bitmap_get (!table->bitmap)").man(MSGFD3, "ERRORS: ENFILE (only for a full table)").rows(&["msgf_dst_no_table"]))
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = cx.ring()?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE), "to a target without files")
        }),
    Case::new("msg_ring::send_fd_dst_slot_out_of_range").requires(FD).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("filetable.c:io_install_fixed_file (slot_index >= nr)").man(MSGFD3, "ERRORS: EINVAL").rows(&["msgf_dst_slot"]))
        .run(|cx| { let (_f, _d, mut src, t) = fd_pair(cx, 2)?; send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(2), MsgRingFlags::NONE), "to a target table of 2") }),
    Case::new("msg_ring::send_fd_file_index_zero").requires(FD).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("filetable.c:io_install_fixed_file (file_index 0 -> slot UINT_MAX)").rows(&["msgf_dst_slot"]))
        .run(|cx| { let (_f, _d, mut src, t) = fd_pair(cx, 2)?; send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::RawFileIndex(0), MsgRingFlags::NONE), "") }),
    Case::new("msg_ring::send_fd_alloc_dst_full").requires(FD).expect(Expect::cqe_errno(E::ENFILE))
        .cite(Cite::kernel("filetable.c:io_file_bitmap_get").man(MSGFD3, "ERRORS: ENFILE").rows(&["msgf_dst_full"]))
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = cx.ring()?;
            t.register_files(&[fd(&f)]).setup("target table of one used slot")?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE), "to a full target")
        }),
    Case::new("msg_ring::send_fd_alloc_outside_range_full").requires(FD).expect(Expect::cqe_errno(E::ENFILE))
        .cite(Cite::kernel("filetable.c:io_file_bitmap_get (alloc range)").man(MSGFD3, "ERRORS: ENFILE").rows(&["msgf_dst_full"]))
        .run(|cx| {
            let (_f, _d, mut src, t) = fd_pair(cx, 4)?;
            t.register_file_alloc_range(3, 1).setup("alloc range = slot 3")?;
            src.submit_one_ok(cx, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE))?;
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE), "a second time, into a 1-slot alloc range (slots 0-2 free)")
        }),
    Case::new("msg_ring::send_fd_defer_target_exited").requires(&[Feature::MsgSendFd, Feature::DeferTaskrun])
        .expect(Expect::by_level(&level::MSG_FD_REMOTE_INSTALL, Want::cqe_errno(E::EOWNERDEAD), Want::res(0)))
        .cite(Cite::kernel("msg_ring.c:io_msg_fd_remote (task_work_add fails) / io_msg_tw_fd_complete (PF_EXITING)").rows(&["msgf_ownerdead"])
            .note("6.1 installs the fd directly (no remote path, res 0; seen on the matrix); the remote path through the target task's task_work arrived in 6.2"))
        .run(|cx| {
            let (f, _) = data_file(cx, 64, 1)?;
            let mut src = fd_source(cx, &f)?;
            let t = on_thread(|| -> Result<Ring, uring::Error> {
                let t = Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN).build()?;
                t.register_files_sparse(1)?;
                Ok(t)
            })?.setup("DEFER_TASKRUN target made by a thread that then exited")?;
            std::thread::sleep(Duration::from_millis(20));
            send(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE), "to a DEFER_TASKRUN ring whose submitter thread exited")
        }),
    Case::new("msg_ring::send_fd_flags_pass_not_passed").requires(&[Feature::MsgSendFd, Feature::MsgFlagsPass]).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_install_complete (io_post_aux_cqe(..., 0))").rows(&["msgf_flags_pass"])
            .note("with FLAGS_PASS, file_index still selects the slot and no flags reach the target"))
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::FLAGS_PASS))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE (res, flags)", (tc.res, tc.flags), (0, CqeFlags::NONE))?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::ring_fd_not_allowed_in_file_table").expect(Expect::errno(E::EBADF))
        .cite(Cite::kernel("rsrc.c:io_sqe_files_register (io_is_uring_fops)").rows(&[])
            .note("so MSG_RING with IOSQE_FIXED_FILE can never address a ring (catalogue §4.5 #10)"))
        .run(|cx| { let r = cx.ring()?; let t = cx.ring()?; cx.sync("io_uring_register(ring, REGISTER_FILES, [another ring's fd], 1)", r.register_files(&[t.fd()]).map(|_| 0)) }),
    // ---- §4.5 semantics ----
    Case::new("msg_ring::data_delivers_target_cqe").requires(MR).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data").man(MSG3, "DESCRIPTION"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(cx, &mut r, data(t.fd()))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE (res, flags)", (tc.res, tc.flags), (7, CqeFlags::NONE))?;
            cx.observe(c, "to another ring")
        }),
    Case::new("msg_ring::data_len_arrives_as_signed_res").requires(MR).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (res = (s32)len)").man(MSG3, "DESCRIPTION (len)"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(cx, &mut r, op::msg_ring_data(t.fd(), 0x8000_0001, DST_UD, MsgRingFlags::NONE))?;
            cx.check_eq("target CQE res", target_cqe(cx, &mut t)?.res, -2_147_483_647)?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::data_to_own_ring_two_cqes").requires(MR).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring_data"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let own = r.fd();
            r.push(data(own).user_data(SRC_UD)).map_err(|e| CaseError::Broken(e.to_string()))?;
            r.submit().setup("submit")?;
            let mut cqes = cx.wait(&mut r, 2)?;
            cqes.sort_by_key(|c| c.user_data);
            cx.check_eq("CQE user_data values", cqes.iter().map(|c| c.user_data).collect::<Vec<_>>(), vec![DST_UD, SRC_UD])?;
            cx.check_eq("message CQE res", cqes[0].res, 7)?;
            cx.cqe("MSG_RING DATA to the submitting ring (source CQE)", cqes[1])
        }),
    Case::new("msg_ring::flags_pass_delivers_flags").requires(PASS).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags").man(MSG3, "io_uring_prep_msg_ring_cqe_flags"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(cx, &mut r, op::msg_ring_data(t.fd(), 7, DST_UD, MsgRingFlags::FLAGS_PASS).file_index(0x42))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE (res, flags)", (tc.res, tc.flags), (7, CqeFlags(0x42)))?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::send_fd_slot_replaces_and_works").requires(FD).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_install_complete -> filetable.c:__io_fixed_fd_install").man(MSGFD3, "DESCRIPTION"))
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let null = dev_null(false)?;
            t.update_files(1, &[fd(&null)]).setup("occupy target slot 1 with /dev/null")?;
            let c = send_c(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::NONE))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE (res, flags)", (tc.res, tc.flags), (0, CqeFlags::NONE))?;
            src.unregister_files().setup("drop the source's table")?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.observe(c, "with target slot 1 occupied")
        }),
    Case::new("msg_ring::send_fd_alloc_reports_slot").requires(FD).expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_install_complete (ret = allocated slot)").man(MSGFD3, "io_uring_prep_msg_ring_fd_alloc"))
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 4)?;
            let null = dev_null(false)?;
            t.update_files(0, &[fd(&null), fd(&null)]).setup("occupy target slots 0 and 1")?;
            let c = send_c(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE))?;
            cx.check_eq("target CQE res (the allocated slot)", target_cqe(cx, &mut t)?.res, c.res)?;
            if c.res >= 0 { fixed_file_reads(cx, &mut t, c.res as u32, &d)?; }
            cx.observe(c, "with target slots 0-1 used")
        }),
    Case::new("msg_ring::send_fd_cqe_skip_suppresses_target_cqe").requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip]).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_install_complete (CQE_SKIP)").man(MSGFD3, "IORING_MSG_RING_CQE_SKIP"))
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(cx, &mut src, send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::CQE_SKIP))?;
            no_cqes(cx, &mut t, "target after SEND_FD with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            cx.observe(c, "into an empty 2-slot table")
        }),
    Case::new("msg_ring::data_overflow_all_delivered").requires(MR).expect(Expect::ok(6))
        .cite(Cite::kernel("io_uring.c:io_post_aux_cqe -> io_cqe_overflow").man(MSG3, "ERRORS: EOVERFLOW"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring_with(Ring::builder(1))?;
            for i in 0..6 {
                let c = send_c(cx, &mut r, op::msg_ring_data(t.fd(), i, DST_UD + i as u64, MsgRingFlags::NONE))?;
                cx.check_eq(&format!("source CQE res of message {i}"), c.res, 0)?;
            }
            let got = cx.wait(&mut t, 6)?;
            cx.check_eq("target (user_data, res) in order", got.iter().map(|c| (c.user_data, c.res)).collect::<Vec<_>>(), (0..6).map(|i| (DST_UD + i, i as i32)).collect::<Vec<_>>())?;
            cx.sync(format!("6 MSG_RING DATA into a ring with {} CQ entries, then reap: CQEs delivered", t.cq_entries()), Ok::<i64, E>(got.len() as i64))
        }),
    Case::new("msg_ring::data_to_defer_taskrun_target").requires(&[Feature::OpMsgRing, Feature::DeferTaskrun]).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_data_remote").man(MSG3, "NOTES"))
        .run(|cx| {
            let mut t = defer_target(cx)?;
            let tfd = t.fd();
            // The helper thread's own failures are setup failures in words, never an errno
            // that could read as the kernel's answer.
            let c = on_thread(move || -> Result<Cqe, String> {
                let mut r = Ring::new(4).map_err(|e| format!("io_uring_setup: {e}"))?;
                r.push(data(tfd).user_data(SRC_UD)).map_err(|e| format!("push: {e}"))?;
                r.submit_and_wait_timeout(1, Duration::from_secs(5)).map_err(|e| format!("submit and wait: {e:?}"))?;
                r.drain().into_iter().next().ok_or_else(|| "no source CQE within 5 s".to_string())
            })?.map_err(|e| CaseError::Broken(format!("send from another thread: {e}")))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 7)?;
            cx.cqe("MSG_RING DATA from another thread to a DEFER_TASKRUN ring", c)
        }),
    Case::new("msg_ring::send_fd_to_defer_taskrun_target").requires(&[Feature::MsgSendFd, Feature::DeferTaskrun]).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_fd_remote -> io_msg_tw_fd_complete").man(MSGFD3, "NOTES"))
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 22)?;
            let mut t = defer_target(cx)?;
            t.register_files_sparse(2).setup("target table")?;
            let (tfd, sfd) = (t.fd(), fd(&f));
            let mut src = on_thread(move || -> Result<Ring, E> {
                let r = Ring::new(4)?;
                r.register_files(&[sfd])?;
                Ok(r)
            })?.setup("source ring with the file")?;
            // The source is not SINGLE_ISSUER: this thread may submit on it; the target's
            // submitter task is this thread, which runs the install when it waits below.
            src.push(send_fd(tfd, MsgFdSlot::Slot(1), MsgRingFlags::NONE).user_data(SRC_UD)).map_err(|e| CaseError::Broken(e.to_string()))?;
            src.submit().setup("submit")?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 0)?;
            let c = cx.wait(&mut src, 1)?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.cqe("MSG_RING SEND_FD into slot 1 of a DEFER_TASKRUN ring", c[0])
        }),
    // ---- §4.4 IORING_REGISTER_SEND_MSG_RING ----
    Case::new("sync_msg_ring::opcode_supported").requires(MR)
        .expect(Expect::by_level(&level::SYNC_MSG_RING, Want::ok(0), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("register.c:SYSCALL_DEFINE4 (opcode >= IORING_REGISTER_LAST)").man(SYNC3, "Available since 6.13").rows(&["sync_unsupported"]))
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(cx, data(t.fd()), "")?;
            if obs.answer == uring_harness::Answer::Sync(Ok(0)) {
                cx.check_eq("target CQE res", target_cqe(cx, &mut t)?.res, 7)?;
            }
            Ok(obs)
        }),
    Case::new("sync_msg_ring::fd_not_minus_one").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register (default: -EINVAL)").rows(&["sync_fd_not_minus1"]))
        .run(|cx| { let r = cx.ring()?; let t = cx.ring()?; sync_on(cx, FdArg::Ring(&r), data(t.fd()), 1, "") }),
    Case::new("sync_msg_ring::arg_null").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:io_uring_register_send_msg_ring (!arg || nr_args != 1)").rows(&["sync_args"]))
        .run(|cx| cx.register(RegisterCall::new(FdArg::Num(-1), RegisterOp::SEND_MSG_RING, ArgPtr::NULL, 1))),
    Case::new("sync_msg_ring::nr_args_two").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:io_uring_register_send_msg_ring (!arg || nr_args != 1)").rows(&["sync_args"]))
        .run(|cx| { let t = cx.ring()?; sync_on(cx, FdArg::Num(-1), data(t.fd()), 2, "") }),
    Case::new("sync_msg_ring::sqe_unmapped").requires(SYNC).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("register.c:io_uring_register_send_msg_ring (copy_from_user)").rows(&["sync_fault"]))
        .run(|cx| cx.register(RegisterCall::new(FdArg::Num(-1), RegisterOp::SEND_MSG_RING, ArgPtr::Foreign(ForeignAddr::LOW), 1))),
    Case::new("sync_msg_ring::sqe_flags_set").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:io_uring_register_send_msg_ring (sqe.flags)").rows(&["sync_sqe_flags"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, data(t.fd()).flags(SqeFlags::ASYNC), "") }),
    Case::new("sync_msg_ring::opcode_not_msg_ring").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:io_uring_register_send_msg_ring (opcode != IORING_OP_MSG_RING)").man(SYNC3, "DESCRIPTION").rows(&["sync_opcode"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, op::nop().fd(t.fd()), "") }),
    Case::new("sync_msg_ring::send_fd_command").requires(&[Feature::SyncMsgRing, Feature::MsgSendFd]).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (cmd != IORING_MSG_DATA)").man(SYNC3, "only data requests").rows(&["sync_send_fd"]))
        .run(|cx| { let t = cx.ring()?; t.register_files_sparse(1).setup("target table")?; sync(cx, send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE), "") }),
    Case::new("sync_msg_ring::target_not_open").requires(SYNC).expect(Expect::errno(E::EBADF))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (fdget)").rows(&["sync_target"]))
        .run(|cx| sync(cx, data(NEVER_OPEN_FD), "to an fd that is not open")),
    Case::new("sync_msg_ring::target_not_a_ring").requires(SYNC).expect(Expect::errno(E::EBADFD))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (!io_is_uring_fops)").rows(&["sync_target"]))
        .run(|cx| { let f = dev_null(false)?; sync(cx, data(fd(&f)), "to /dev/null") }),
    Case::new("sync_msg_ring::target_disabled").requires(&[Feature::SyncMsgRing, Feature::RingDisabled]).expect(Expect::errno(E::EBADFD))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (IORING_SETUP_R_DISABLED)").rows(&["sync_target"]))
        .run(|cx| { let t = disabled(cx)?; sync(cx, data(t.fd()), "to an R_DISABLED ring") }),
    Case::new("sync_msg_ring::buf_index_set").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_prep (buf_index)").rows(&["sync_data_errors"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, data(t.fd()).buf_index(1), "") }),
    Case::new("sync_msg_ring::cqe_skip").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (flags & ~FLAGS_PASS)").rows(&["sync_data_errors"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, op::msg_ring_data(t.fd(), 7, DST_UD, MsgRingFlags::CQE_SKIP), "") }),
    Case::new("sync_msg_ring::file_index_without_flags_pass").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (file_index && !FLAGS_PASS)").rows(&["sync_data_errors"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, data(t.fd()).file_index(5), "") }),
    Case::new("sync_msg_ring::src_slot_set").requires(SYNC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data (src_fd)").rows(&["sync_data_errors"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, data(t.fd()).msg_src_slot(1), "") }),
    Case::new("sync_msg_ring::ioprio_not_checked").requires(SYNC).expect(Expect::ok(0))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring (no io_init_req)").rows(&["sync_data_errors", "msg_ioprio"])
            .note("catalogue: sync path gives the SQE path's errnos; the ioprio check lives in io_init_req, which the sync path never calls, so ioprio is accepted"))
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(cx, data(t.fd()).ioprio(1), "")?;
            cx.check_eq("target CQE res", target_cqe(cx, &mut t)?.res, 7)?;
            Ok(obs)
        }),
    Case::new("sync_msg_ring::flags_pass_cqe_f32").requires(&[Feature::SyncMsgRing, Feature::MsgFlagsPass])
        .expect(Expect::by_level(&level::MSG_CQE_F32_CHECK, Want::errno(E::EINVAL), Want::ok(0)))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags").rows(&["sync_data_errors", "msgd_cqe_f32"]))
        .run(|cx| { let t = cx.ring()?; sync(cx, op::msg_ring_data(t.fd(), 7, DST_UD, MsgRingFlags::FLAGS_PASS).file_index(CqeFlags::F_32.0), "") }),
    Case::new("sync_msg_ring::delivers_target_cqe").requires(SYNC).expect(Expect::ok(0))
        .cite(Cite::kernel("msg_ring.c:io_uring_sync_msg_ring").man(SYNC3, "DESCRIPTION"))
        .run(|cx| {
            let mut t = cx.ring()?;
            let obs = sync(cx, op::msg_ring_data(t.fd(), 9, DST_UD, MsgRingFlags::NONE), "")?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE (res, flags)", (tc.res, tc.flags), (9, CqeFlags::NONE))?;
            Ok(obs)
        }),
];

/// Submitting a setup message that must succeed.
trait SubmitOk {
    fn submit_one_ok(&mut self, cx: &Cx, sqe: Sqe) -> Result<(), CaseError>;
}

impl SubmitOk for Ring {
    fn submit_one_ok(&mut self, cx: &Cx, sqe: Sqe) -> Result<(), CaseError> {
        let c = cx.submit_one(self, sqe.user_data(SRC_UD - 1))?;
        if c.res < 0 {
            return Err(CaseError::Broken(format!(
                "setup message failed: res {}",
                c.res
            )));
        }
        Ok(())
    }
}
