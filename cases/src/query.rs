//! IORING_REGISTER_QUERY (6.18) as a second source of truth: each of its answers is
//! cross-checked against the call that discriminates the same thing (REGISTER_PROBE's
//! opcode list, `io_uring_params.features`, a setup with each flag, a register call per
//! opcode, an SQE with each flag). A disagreement fails the row of that answer.

use crate::common::query::*;
use crate::common::*;
use uring::abi::{io_uring_params, Opcode, RegisterOp, SetupFlags, SqeFlags};
use uring::op;
use uring::register::{ArgPtr, FdArg, RegisterCall};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

const Q: &[Feature] = &[Feature::RegisterQuery];
/// Where io_uring_register.2 dates QUERY, and where it really came.
const SINCE_NOTE: &str =
    "io_uring_register.2 says IORING_REGISTER_QUERY exists since 6.15; it was merged for 6.18";

/// The fields of `io_uring_query_opcode`, by uapi offset.
impl Answer {
    fn nr_request_opcodes(&self) -> u32 {
        self.u32_at(0)
    }
    fn nr_register_opcodes(&self) -> u32 {
        self.u32_at(4)
    }
    fn feature_flags(&self) -> u64 {
        self.u64_at(8)
    }
    fn ring_setup_flags(&self) -> u64 {
        self.u64_at(16)
    }
    fn enter_flags(&self) -> u64 {
        self.u64_at(24)
    }
    fn sqe_flags(&self) -> u64 {
        self.u64_at(32)
    }
    fn nr_query_opcodes(&self) -> u32 {
        self.u32_at(40)
    }
    fn pad(&self) -> u32 {
        self.u32_at(44)
    }
}

/// IO_URING_QUERY_OPCODES, its header checked (result 0, the whole struct written).
fn opcodes(cx: &Cx) -> Result<(uring_harness::Observation, Answer), CaseError> {
    let (obs, q) = query(cx, QUERY_OPCODES, OPCODES_LEN)?;
    cx.check_eq(
        "QUERY(OPCODES) header (result, size)",
        (q.result, q.size),
        (0, OPCODES_LEN),
    )?;
    Ok((obs, q))
}

/// Compares, for each `i` of `range`, whether QUERY reports it with what the kernel
/// answered: `answer(i, reported)` gives (the answer, the one a kernel whose QUERY tells the
/// truth gives); every difference is listed, one failure for the row.
fn per_bit<T: PartialEq + std::fmt::Debug>(
    cx: &Cx,
    what: &str,
    range: std::ops::Range<u32>,
    reported: impl Fn(u32) -> bool,
    mut answer: impl FnMut(u32, bool) -> Result<(T, T), CaseError>,
) -> Result<(), CaseError> {
    let mut bad = Vec::new();
    for i in range {
        let rep = reported(i);
        let (got, want) = answer(i, rep)?;
        if got != want {
            let says = if rep { "reports it" } else { "does not" };
            bad.push(format!(
                "{i}: QUERY {says}, the kernel answered {got:?}, expected {want:?}"
            ));
        }
    }
    cx.check(bad.is_empty(), || {
        format!(
            "{what}: QUERY and the kernel's answers disagree: {}",
            bad.join("; ")
        )
    })
}

/// The first CPU this process may run on (`Cpus_allowed_list` of /proc/self/status), for
/// SQ_AFF, which refuses a CPU outside the task's cpuset with EINVAL.
fn allowed_cpu() -> Result<u32, CaseError> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| CaseError::Broken(format!("read /proc/self/status: {e}")))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(|l| l.trim().split([',', '-']).next()?.parse().ok())
        .ok_or_else(|| CaseError::Broken("no Cpus_allowed_list in /proc/self/status".into()))
}

/// What io_uring_setup(2) answered: a ring (closed at once) or an errno.
type SetupAnswer = Result<(), E>;

/// io_uring_setup(2) of 4 entries with setup flag `bit` and the companions it needs (its
/// partner flags, a CQ size, a CPU, a ring to attach to); the kernel's answer. NO_MMAP
/// (and REGISTERED_FD_ONLY, which needs it) is asked with no user memory, which a kernel
/// that knows the flag refuses with EFAULT (memmap.c:io_create_region: user_addr is set iff
/// the region is user memory) where it refuses an unknown flag with EINVAL. Returns the
/// answer and the one a kernel that knows the flag gives.
fn setup_with_bit(cx: &Cx, bit: u32) -> Result<(SetupAnswer, SetupAnswer), CaseError> {
    let f = SetupFlags(1 << bit);
    // The ring ATTACH_WQ attaches to lives until the setup returned.
    let other = if f == SetupFlags::ATTACH_WQ {
        Some(cx.ring()?)
    } else {
        None
    };
    let mut p = io_uring_params {
        flags: f,
        ..Default::default()
    };
    let mut known = Ok(());
    match f {
        SetupFlags::SQ_AFF => {
            p.flags = f.with(SetupFlags::SQPOLL);
            p.sq_thread_cpu = allowed_cpu()?;
        }
        SetupFlags::CQSIZE => p.cq_entries = 16,
        SetupFlags::ATTACH_WQ => p.wq_fd = other.as_ref().map_or(0, |r| r.fd() as u32),
        SetupFlags::TASKRUN_FLAG => p.flags = f.with(SetupFlags::COOP_TASKRUN),
        SetupFlags::DEFER_TASKRUN => p.flags = f.with(SetupFlags::SINGLE_ISSUER),
        SetupFlags::NO_MMAP => known = Err(E::EFAULT),
        SetupFlags::REGISTERED_FD_ONLY => {
            p.flags = f.with(SetupFlags::NO_MMAP);
            known = Err(E::EFAULT);
        }
        SetupFlags::HYBRID_IOPOLL => p.flags = f.with(SetupFlags::IOPOLL),
        SetupFlags::SQ_REWIND => p.flags = f.with(SetupFlags::NO_SQARRAY),
        _ => {}
    }
    let setup = |p: &mut io_uring_params| uring::sys::io_uring_setup(4, p).map(drop);
    let got = if p.flags.contains(SetupFlags::SQPOLL) {
        // The SQPOLL thread is a task (io_sq_offload_create -> create_io_thread): at the
        // task limit (RLIMIT_NPROC, a pids cgroup) copy_process answers EAGAIN, the
        // machine's limit, not the flag's answer; retried while other rows' threads end.
        let what = format!("io_uring_setup(flags={:?}) (its SQPOLL thread)", p.flags);
        uring_harness::resource::retry_task_limit(&what, || setup(&mut p.clone()))?
    } else {
        setup(&mut p)
    };
    // Every ring this row sets up is charged to the memlock quota (io_account_mem): an
    // ENOMEM is that quota, shared with the run's other rings, never the flag's answer.
    if got == Err(E::ENOMEM) {
        got.setup(&format!("io_uring_setup(flags={:?})", p.flags))?;
    }
    Ok((got, known))
}

/// The SQE flag `bit` on a NOP in a fresh ring: its CQE res, or None where it posted none.
/// The NOP is linked (IOSQE_IO_LINK) to a marker NOP, whose CQE comes after the flagged
/// one's in every case: a link runs in order, and a link head refused at submission
/// fails the marker with it (ECANCELED). So the wait ends at the marker, and
/// CQE_SKIP_SUCCESS, which posts nothing on success, shows as no CQE before it.
fn nop_with_flag(cx: &Cx, bit: u32) -> Result<Option<i32>, CaseError> {
    let mut r = cx.ring()?;
    let flagged = op::nop()
        .flags(SqeFlags(1 << bit).with(SqeFlags::IO_LINK))
        .user_data(1);
    let marker = op::nop().user_data(2);
    let mut cqes = cx.submit_batch(&mut r, vec![flagged, marker], 1)?;
    while !cqes.iter().any(|c| c.user_data == 2) {
        cqes.extend(cx.wait(&mut r, 1)?);
    }
    Ok(cqes.iter().find(|c| c.user_data == 1).map(|c| c.res))
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("query::request_opcodes_match_probe")
        .requires(&[Feature::RegisterQuery, Feature::RegisterProbe])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (nr_request_opcodes = IORING_OP_LAST) / register.c:io_probe \
                 (last_op = IORING_OP_LAST - 1)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_request_opcodes"])
            .note(SINCE_NOTE),
        )
        .run(|cx| {
            let (obs, q) = opcodes(cx)?;
            let probe = cx
                .ring()?
                .registrar()
                .probe()
                .map_err(|e| CaseError::Broken(format!("REGISTER_PROBE: {e}")))?;
            cx.check_eq(
                "QUERY nr_request_opcodes vs REGISTER_PROBE last_op + 1",
                q.nr_request_opcodes(),
                probe.last_op as u32 + 1,
            )?;
            let mut r = cx.ring()?;
            let c = cx.submit_one(
                &mut r,
                op::Sqe::with_opcode(Opcode(q.nr_request_opcodes() as u8)).user_data(3),
            )?;
            cx.check_eq(
                "CQE res of an SQE with opcode nr_request_opcodes",
                c.res,
                -E::EINVAL.0,
            )?;
            Ok(obs)
        }),
    Case::new("query::feature_flags_match_setup")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (feature_flags = IORING_FEAT_FLAGS) / \
                 io_uring.c:io_uring_create (p->features = IORING_FEAT_FLAGS)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_feature_flags"])
            .note(SINCE_NOTE),
        )
        .run(|cx| {
            let (obs, q) = opcodes(cx)?;
            let r = cx.ring()?;
            cx.check_eq(
                "QUERY feature_flags vs io_uring_params.features of a new ring",
                q.feature_flags(),
                r.features().0 as u64,
            )?;
            Ok(obs)
        }),
    Case::new("query::setup_flags_match_setup")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (ring_setup_flags = IORING_SETUP_FLAGS) / \
                 io_uring.c:io_uring_setup (flags & ~IORING_SETUP_FLAGS: EINVAL)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_setup_flags"])
            .note(
                "io_uring_register.2 says QUERY exists since 6.15; it was merged for 6.18. Each \
                 of the 32 bits is set up (with the flags and fields it needs): one QUERY reports \
                 gives a ring (NO_MMAP without memory: EFAULT), any other is EINVAL",
            ),
        )
        .run(|cx| {
            let (obs, q) = opcodes(cx)?;
            per_bit(
                cx,
                "setup flag bits (io_uring_setup)",
                0..32,
                |b| q.ring_setup_flags() & (1 << b) != 0,
                |b, reported| {
                    let (got, known) = setup_with_bit(cx, b)?;
                    Ok((got, if reported { known } else { Err(E::EINVAL) }))
                },
            )?;
            Ok(obs)
        }),
    Case::new("query::register_opcodes_match_register")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (nr_register_opcodes = IORING_REGISTER_LAST) / \
                 register.c:SYSCALL_DEFINE4(io_uring_register) (opcode >= IORING_REGISTER_LAST: \
                 EINVAL before the fd)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_register_opcodes"])
            .note(
                "io_uring_register.2 says QUERY exists since 6.15; it was merged for 6.18. On an \
                 fd that is not open a known opcode is EBADF (the fd lookup), an unknown one \
                 EINVAL (checked first)",
            ),
        )
        .run(|cx| {
            let (obs, q) = opcodes(cx)?;
            let nr = q.nr_register_opcodes();
            per_bit(
                cx,
                &format!("register opcodes on an fd that is not open (nr_register_opcodes {nr})"),
                0..nr + 8,
                |o| o < nr,
                |o, known| {
                    let got = RegisterCall::new(
                        FdArg::Num(NEVER_OPEN_FD),
                        RegisterOp(o),
                        ArgPtr::NULL,
                        0,
                    )
                    .invoke();
                    Ok((got, Err(if known { E::EBADF } else { E::EINVAL })))
                },
            )?;
            Ok(obs)
        }),
    Case::new("query::sqe_flags_match_submission")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (sqe_flags = SQE_VALID_FLAGS) / io_uring.c:io_init_req \
                 (sqe_flags & ~SQE_VALID_FLAGS: EINVAL)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_sqe_flags"])
            .note(
                "io_uring_register.2 says QUERY exists since 6.15; it was merged for 6.18. A NOP \
                 linked to a marker NOP, with each of the 8 flag bits: a reported flag completes \
                 (res 0; BUFFER_SELECT: EOPNOTSUPP, a NOP selects no buffer; CQE_SKIP_SUCCESS: no \
                 CQE), any other is EINVAL",
            ),
        )
        .run(|cx| {
            let (obs, q) = opcodes(cx)?;
            per_bit(
                cx,
                "SQE flag bits (the NOP's CQE res)",
                0..8,
                |b| q.sqe_flags() & (1 << b) != 0,
                |b, reported| {
                    let want = match SqeFlags(1 << b) {
                        _ if !reported => Some(-E::EINVAL.0),
                        SqeFlags::BUFFER_SELECT => Some(-E::EOPNOTSUPP.0),
                        SqeFlags::CQE_SKIP_SUCCESS => None,
                        _ => Some(0),
                    };
                    Ok((nop_with_flag(cx, b)?, want))
                },
            )?;
            Ok(obs)
        }),
    Case::new("query::nr_query_opcodes_bounds_query_op")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_handle_query_entry (query_op >= __IO_URING_QUERY_MAX: result \
                 -EOPNOTSUPP, size 0)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_nr_query_opcodes"])
            .note(
                "io_uring_register.2 says QUERY exists since 6.15; it was merged for 6.18. The \
                 call itself succeeds; each header carries its own result",
            ),
        )
        .run(|cx| {
            let (_, q) = opcodes(cx)?;
            let nr = q.nr_query_opcodes();
            for op in 0..nr {
                let (_, a) = query(cx, op, 256)?;
                cx.check(a.result == 0 && a.size > 0, || {
                    format!(
                        "query_op {op} below nr_query_opcodes {nr}: header (result, size) ({}, \
                         {}), expected (0, > 0)",
                        a.result, a.size
                    )
                })?;
            }
            let (obs, a) = query(cx, nr, 256)?;
            cx.check_eq(
                &format!("header (result, size) of query_op {nr} = nr_query_opcodes"),
                (a.result, a.size),
                (-E::EOPNOTSUPP.0, 0),
            )?;
            Ok(obs)
        }),
    Case::new("query::enter_flags_match_enter")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (enter_flags = IORING_ENTER_FLAGS) / \
                 io_uring.c:SYSCALL_DEFINE6(io_uring_enter) (flags & ~IORING_ENTER_FLAGS: \
                 EINVAL before the fd) -> io_uring_ctx_get_file (EBADF)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_enter_flags"])
            .note(
                "io_uring_register.2 says QUERY exists since 6.15; it was merged for 6.18. \
                 Each of the 32 bits on an fd that is not open: a reported flag is EBADF (the \
                 fd lookup), any other EINVAL (checked first). REGISTERED_RING looks the fd up \
                 as an index of this task's registered rings: index 15 (below \
                 IO_RINGFD_REG_MAX), empty, after a NOP made the task's io_uring context",
            ),
        )
        .run(|cx| {
            let (obs, q) = opcodes(cx)?;
            // The task's io_uring context (tctx), without which a registered index is EINVAL.
            let mut r = cx.ring()?;
            cx.submit_one(&mut r, op::nop().user_data(1))?;
            per_bit(
                cx,
                "io_uring_enter flag bits on an fd that is not open",
                0..32,
                |b| q.enter_flags() & (1 << b) != 0,
                |b, reported| {
                    let flag = 1u32 << b;
                    let fd = if flag == uring::abi::EnterFlags::REGISTERED_RING.0 {
                        15
                    } else {
                        NEVER_OPEN_FD
                    };
                    let want = Err(if reported { E::EBADF } else { E::EINVAL });
                    Ok((enter_nothing(fd, flag), want))
                },
            )?;
            Ok(obs)
        }),
    Case::new("query::opcodes_reserved_zeroed")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_ops (__pad = 0) / io_handle_query_entry (copy_from_user of the \
                 caller's bytes first; copy_struct_to_user zeroes past the answer)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_reserved_zeroed"])
            .note(
                "io_uring_register.2 says QUERY exists since 6.15; it was merged for 6.18. The \
                 256-byte answer area is filled with 0xa5 before the call: __pad and every byte \
                 past the 48 of the answer come back zero",
            ),
        )
        .run(|cx| {
            let (obs, q) = query(cx, QUERY_OPCODES, 256)?;
            cx.check_eq(
                "QUERY(OPCODES) header (result, size)",
                (q.result, q.size),
                (0, OPCODES_LEN),
            )?;
            cx.check_eq("QUERY(OPCODES) __pad", q.pad(), 0)?;
            cx.check_eq(
                "non-zero bytes past the answer",
                q.nonzero_from(OPCODES_LEN as usize),
                vec![],
            )?;
            Ok(obs)
        }),
];
