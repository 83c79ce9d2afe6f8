//! Allocation-failure paths reached with the kernel's fault injection
//! (/proc/thread-self/fail-nth): ENOMEM of registration, clone, buffer rings and MSG_RING, and
//! the EOVERFLOW of a failed overflow-entry allocation. Each checks nothing is left half-installed.
//!
//! Every row walks fail-nth = 1, 2, 3, ...: each step builds fresh rings, writes n to this
//! thread's fail-nth, makes the one call under test, and reads fail-nth back (0: the n-th
//! fault-injectable allocation of the call was failed; else the call made fewer, the walk's
//! end, where the call must succeed). Between the write and the read the thread makes
//! only that syscall (the arguments are built before). A step whose fault was injected must
//! answer the row's error (or an allowed one, each with its own effect check) or succeed
//! with the full effect (a failure the kernel absorbed, e.g. kvmalloc's vmalloc fallback).
//! The row's answer is the first step that gave its error; the walk must also end.

use crate::common::*;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;
use uring::abi::{
    io_uring_clone_buffers, CloneFlags, MsgRingFlags, PbufFlags, RegisterOp, SetupFlags,
    SqRingFlags, SqeFlags,
};
use uring::op::{self, MsgFdSlot, Sqe};
use uring::register::{buf_reg, ArgPtr, FdArg, RegisterCall};
use uring::ring::WaitError;
use uring::{Cqe, Mem, Ring};
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

const REG: &str = "io_uring_register.2";
const MSG3: &str = "io_uring_prep_msg_ring.3";
const FI: &[Fact] = &[Fact::FaultInjection];
/// The walk's bound: the calls here make well under 20 fault-injectable allocations.
const MAX_STEPS: u32 = 64;
/// user_data the target's CQE is asked to carry.
const DST_UD: u64 = 0xd57;

/// This thread's /proc/thread-self/fail-nth, opened before any step (the open allocates);
/// left 0 when dropped, so no armed fault outlives the row.
struct FailNth(File);

impl FailNth {
    fn open() -> Result<FailNth, CaseError> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/proc/thread-self/fail-nth")
            .map(FailNth)
            .setup("open /proc/thread-self/fail-nth")
    }

    /// Runs `call` with the `n`-th fault-injectable allocation of this thread failing;
    /// returns its answer and whether the fault was injected.
    fn around<R>(&self, n: u32, call: impl FnOnce() -> R) -> Result<(R, bool), CaseError> {
        let text = n.to_string().into_bytes();
        (&self.0).write(&text).setup("write fail-nth")?;
        let r = call();
        let mut buf = [0u8; 16];
        let read = self.0.read_at(&mut buf, 0);
        self.disarm()?;
        let len = read.setup("read fail-nth back")?;
        let left = String::from_utf8_lossy(&buf[..len]).trim().to_string();
        Ok((r, left == "0"))
    }

    fn disarm(&self) -> Result<(), CaseError> {
        (&self.0)
            .write(b"0")
            .map(|_| ())
            .setup("write 0 to fail-nth")
    }
}

impl Drop for FailNth {
    fn drop(&mut self) {
        let _ = self.disarm();
    }
}

/// Prefixes an effect check's failure with the step it happened at.
fn at_step<T>(n: u32, r: Result<T, CaseError>) -> Result<T, CaseError> {
    r.map_err(|e| match e {
        CaseError::Fail(m) => CaseError::Fail(format!("at fail-nth={n}: {m}")),
        other => other,
    })
}

// ---- synchronous registrations ----

/// A registration walked over fail-nth: fresh state per step, the call under test, and the
/// effect checks after a failure (nothing installed) and after a success (installed).
struct SyncWalk<S> {
    setup: fn(&Cx) -> Result<S, CaseError>,
    call: fn(&S) -> RegisterCall<'_>,
    absent: fn(&Cx, &mut S) -> Result<(), CaseError>,
    present: fn(&Cx, &mut S) -> Result<(), CaseError>,
}

/// Walks `w`; every injected step answers ENOMEM (then nothing is installed and the same
/// call without a fault succeeds and works) or succeeds with the effect. Observes the
/// first ENOMEM, or the first other answer of an injected step.
fn walk_sync<S>(cx: &Cx, w: SyncWalk<S>) -> CaseResult {
    let fi = FailNth::open()?;
    let mut first = None;
    for n in 1..=MAX_STEPS {
        let mut s = (w.setup)(cx)?;
        let call = (w.call)(&s);
        let desc = call.to_string();
        let (r, injected) = fi.around(n, || call.invoke())?;
        drop(call);
        match r {
            Err(e) if !injected || e != E::ENOMEM => {
                let how = if injected { "failed" } else { "not injected" };
                return cx.sync(
                    format!("{desc} with fail-nth={n} ({how})"),
                    Err::<i64, _>(e),
                );
            }
            Err(_) => {
                first.get_or_insert((n, desc));
                at_step(n, (w.absent)(cx, &mut s))?;
                let again = (w.call)(&s).invoke();
                cx.check(again.is_ok(), || {
                    format!("at fail-nth={n}: after ENOMEM the same call without a fault answered {again:?}, not success")
                })?;
                at_step(n, (w.present)(cx, &mut s))?;
            }
            Ok(_) => {
                at_step(n, (w.present)(cx, &mut s))?;
                if !injected {
                    return match first {
                        Some((k, d)) => cx.sync(
                            format!("{d} with fail-nth={k} (the first injected allocation failure to fail it; the walk succeeded at fail-nth={n})"),
                            Err::<i64, _>(E::ENOMEM),
                        ),
                        None => cx.sync(format!("{desc}: no fail-nth value below {n} made it fail"), Ok::<i64, E>(0)),
                    };
                }
            }
        }
    }
    Err(CaseError::Fail(format!(
        "the walk did not reach a fail-nth value the call outlives within {MAX_STEPS} steps"
    )))
}

/// A file of 8 KiB of pattern, and the bytes.
fn file8k(cx: &Cx) -> Result<(File, Vec<u8>), CaseError> {
    data_file(cx, 8192, 37)
}

/// Bytes of `u32`/`u64` fields in native order (a raw register argument in a `Mem`).
fn arg_mem(cx: &Cx, words: &[u64], widths: &[usize]) -> Result<Arc<Mem>, CaseError> {
    let m = cx.mem(4096)?;
    let mut bytes = Vec::new();
    for (w, n) in words.iter().zip(widths) {
        bytes.extend_from_slice(&w.to_ne_bytes()[..*n]);
    }
    m.write(0, &bytes);
    Ok(m)
}

/// READ_FIXED of 64 bytes at file offset `off` into registered buffer `idx` at `addr`.
fn read_fixed(
    cx: &Cx,
    ring: &mut Ring,
    f: &File,
    addr: u64,
    off: u64,
    idx: u16,
) -> Result<Cqe, CaseError> {
    cx.submit_one(
        ring,
        op::read_fixed(
            fd(f),
            op::Fixed {
                addr,
                len: 64,
                offset: off,
                buf_index: idx,
            },
        )
        .user_data(0xf1),
    )
}

/// Registered buffers `0..n` of `ring` over `mem` (one page each) read the file's bytes.
fn buffers_read(
    cx: &Cx,
    ring: &mut Ring,
    mem: &Arc<Mem>,
    f: &File,
    data: &[u8],
    n: usize,
) -> Result<(), CaseError> {
    for i in 0..n {
        let addr = mem.slice(i * 4096, 4096).addr();
        let c = read_fixed(cx, ring, f, addr, i as u64 * 64, i as u16)?;
        cx.check_eq(&format!("READ_FIXED into buffer {i}: res"), c.res, 64)?;
        cx.check_eq(
            &format!("bytes read into buffer {i}"),
            mem.read(i * 4096, 64),
            data[i * 64..i * 64 + 64].to_vec(),
        )?;
    }
    Ok(())
}

/// READ_FIXED into buffer 0 of a ring without a buffer table: -EFAULT (io_find_buf_node
/// finds no node), and the buffer is untouched.
fn no_buffer_table(
    cx: &Cx,
    ring: &mut Ring,
    mem: &Arc<Mem>,
    f: &File,
    what: &str,
) -> Result<(), CaseError> {
    mem.fill(0xee);
    let c = read_fixed(cx, ring, f, mem.slice(0, 4096).addr(), 0, 0)?;
    cx.check_eq(
        &format!("READ_FIXED on buffer 0 of {what} (no table): res"),
        c.res,
        -E::EFAULT.0,
    )?;
    cx.check_eq(
        &format!("{what}: buffer 0 untouched"),
        mem.read(0, 64),
        vec![0xee; 64],
    )
}

/// A ring, two one-page buffers (touched), the iovec array in a `Mem`, and a data file.
struct Buffers {
    ring: Ring,
    mem: Arc<Mem>,
    iovs: Arc<Mem>,
    file: (File, Vec<u8>),
}

fn buffers(cx: &Cx) -> Result<Buffers, CaseError> {
    let mem = cx.mem(2 * 4096)?;
    mem.fill(0);
    let a = mem.slice(0, 4096).addr();
    let iovs = arg_mem(cx, &[a, 4096, a + 4096, 4096], &[8, 8, 8, 8])?;
    Ok(Buffers {
        ring: cx.ring()?,
        mem,
        iovs,
        file: file8k(cx)?,
    })
}

fn register_two(b: &Buffers) -> RegisterCall<'_> {
    RegisterCall::new(
        FdArg::Ring(&b.ring),
        RegisterOp::BUFFERS,
        ArgPtr::Mem(b.iovs.slice(0, 32)),
        2,
    )
}

/// A source ring with two buffers registered, a destination ring, the clone argument.
struct Clone2 {
    src: Buffers,
    dst: Ring,
    arg: Arc<Mem>,
}

fn clone_setup(cx: &Cx) -> Result<Clone2, CaseError> {
    let src = buffers(cx)?;
    register_two(&src)
        .invoke()
        .setup("register the source's two buffers")?;
    let dst = cx.ring()?;
    let a = io_uring_clone_buffers {
        src_fd: src.ring.fd() as u32,
        flags: CloneFlags::NONE,
        src_off: 0,
        dst_off: 0,
        nr: 0,
        pad: [0; 3],
    };
    let arg = arg_mem(
        cx,
        &[a.src_fd as u64, a.flags.0 as u64, 0, 0, 0, 0, 0, 0],
        &[4; 8],
    )?;
    Ok(Clone2 { src, dst, arg })
}

/// The group id and entries of the buffer-ring rows.
const BGID: u16 = 5;
const ENTRIES: u32 = 8;

/// A ring, the app-provided buffer-ring memory, and the io_uring_buf_reg argument.
struct PbufReg {
    ring: Ring,
    _ring_mem: Arc<Mem>,
    arg: Arc<Mem>,
}

fn pbuf_setup(cx: &Cx) -> Result<PbufReg, CaseError> {
    let ring_mem = cx.mem(4096)?;
    ring_mem.fill(0);
    let r = buf_reg(BGID, ENTRIES, PbufFlags::NONE);
    let arg = arg_mem(
        cx,
        &[
            ring_mem.slice(0, 4096).addr(),
            r.ring_entries as u64,
            r.bgid as u64,
            r.flags.0 as u64,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
        &[8, 4, 2, 2, 4, 4, 4, 4, 4, 4],
    )?;
    Ok(PbufReg {
        ring: cx.ring()?,
        _ring_mem: ring_mem,
        arg,
    })
}

/// PBUF_STATUS of the group: ENOENT where no group is installed, head 0 where it is.
fn pbuf_status_is(cx: &Cx, p: &PbufReg, want: Result<u32, E>) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("PBUF_STATUS of group {BGID}"),
        p.ring.registrar().pbuf_status(BGID as u32),
        want,
    )
}

// ---- MSG_RING: the source's CQE, the target's CQ ----

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
                    Some((k, d, c)) => cx.cqe(format!("{d} with fail-nth={k} (the first step to give it; the walk delivered at fail-nth={n})"), c),
                    None => cx.cqe(format!("{desc} {ctx}: no fail-nth value below {n} made it fail"), c),
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

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("fault_injection::register_buffers_enomem").requires(&[Feature::OpReadWriteFixed]).expect(Expect::errno(E::ENOMEM))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register -> io_rsrc_data_alloc / io_sqe_buffer_register (io_rsrc_node_alloc, io_pin_pages, io_alloc_imu)").man(REG, "ERRORS: ENOMEM").rows(&["buf_reg_enomem", "fi_buf_reg_clean"]))
        .run(|cx| walk_sync(cx, SyncWalk {
            setup: buffers,
            call: register_two,
            absent: |cx, b| no_buffer_table(cx, &mut b.ring, &b.mem, &b.file.0, "the ring"),
            present: |cx, b| buffers_read(cx, &mut b.ring, &b.mem, &b.file.0, &b.file.1, 2),
        }))
        .needs(FI),
    Case::new("fault_injection::clone_buffers_enomem").requires(&[Feature::CloneBuffers, Feature::OpReadWriteFixed]).expect(Expect::errno(E::ENOMEM))
        .cite(Cite::kernel("rsrc.c:io_clone_buffers (io_rsrc_data_alloc, io_rsrc_node_alloc)").man("io_uring_clone_buffers.3", "ERRORS: ENOMEM").rows(&["clone_enomem", "fi_clone_clean"]))
        .run(|cx| walk_sync(cx, SyncWalk {
            setup: clone_setup,
            call: |c| RegisterCall::new(FdArg::Named(c.dst.fd(), "dst"), RegisterOp::CLONE_BUFFERS, ArgPtr::Mem(c.arg.slice(0, 32)), 1),
            absent: |cx, c| {
                no_buffer_table(cx, &mut c.dst, &c.src.mem, &c.src.file.0, "the destination")?;
                buffers_read(cx, &mut c.src.ring, &c.src.mem, &c.src.file.0, &c.src.file.1, 2)
            },
            present: |cx, c| buffers_read(cx, &mut c.dst, &c.src.mem, &c.src.file.0, &c.src.file.1, 2),
        }))
        .needs(FI),
    Case::new("fault_injection::pbuf_ring_enomem").requires(&[Feature::PbufRing, Feature::PbufStatus]).expect(Expect::errno(E::ENOMEM))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (kzalloc of the list, io_create_region, io_buffer_add_list)").man(REG, "ERRORS: ENOMEM").rows(&["pbuf_enomem", "fi_pbuf_clean"]))
        .run(|cx| walk_sync(cx, SyncWalk {
            setup: pbuf_setup,
            call: |p| RegisterCall::new(FdArg::Ring(&p.ring), RegisterOp::PBUF_RING, ArgPtr::Mem(p.arg.slice(0, 40)), 1),
            absent: |cx, p| pbuf_status_is(cx, p, Err(E::ENOENT)),
            present: |cx, p| pbuf_status_is(cx, p, Ok(0)),
        }))
        .needs(FI),
    Case::new("fault_injection::msg_data_defer_taskrun_enomem").requires(&[Feature::OpMsgRing, Feature::DeferTaskrun]).expect(Expect::cqe_errno(E::ENOMEM))
        .cite(Cite::kernel("msg_ring.c:io_msg_data_remote (kmem_cache_alloc of the remote request)").man(MSG3, "ERRORS: ENOMEM").rows(&["msgd_enomem"]))
        .run(|cx| walk_msg(cx, MsgWalk {
            setup: defer_setup,
            sqe: data_msg,
            want: E::ENOMEM,
            allowed: &[(E::ENOMEM, defer_nothing)],
            delivered: defer_delivered,
        }))
        .needs(FI),
    Case::new("fault_injection::msg_data_overflow_entry_fails").requires(&[Feature::OpMsgRing]).expect(Expect::cqe_errno(E::EOVERFLOW))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data -> io_uring.c:io_post_aux_cqe -> io_cqe_overflow_locked -> io_alloc_ocqe (GFP_NOWAIT)").man(MSG3, "ERRORS: EOVERFLOW").rows(&["msgd_overflow"]))
        .run(|cx| walk_msg(cx, MsgWalk {
            setup: |cx| {
                let mut src = cx.ring()?;
                let dst = full_target(cx, &mut src)?;
                Ok(Msg { src, dst, file: None })
            },
            sqe: data_msg,
            want: E::EOVERFLOW,
            allowed: &[(E::EOVERFLOW, dropped)],
            delivered: |cx, m| delivered_after_fillers(cx, m, 7),
        }))
        .needs(FI),
    Case::new("fault_injection::msg_fd_overflow_entry_fails").requires(&[Feature::OpMsgRing, Feature::MsgSendFd]).expect(Expect::cqe_errno(E::EOVERFLOW))
        .cite(Cite::kernel("msg_ring.c:io_msg_install_complete -> io_uring.c:io_post_aux_cqe -> io_alloc_ocqe (GFP_NOWAIT)").man("io_uring_prep_msg_ring_fd.3", "ERRORS: EOVERFLOW").rows(&["msgf_overflow", "fi_msgf_enomem_node"])
            .note("on the way the walk fails the target's rsrc-node allocation first (io_install_fixed_file): that step is -ENOMEM with nothing installed"))
        .run(|cx| walk_msg(cx, MsgWalk {
            setup: fd_setup,
            sqe: fd_msg,
            want: E::EOVERFLOW,
            allowed: &[(E::EOVERFLOW, fd_dropped), (E::ENOMEM, fd_not_installed)],
            delivered: |cx, m| {
                delivered_after_fillers(cx, m, 0)?;
                target_slot_reads(cx, m, true)
            },
        }))
        .needs(FI),
];
