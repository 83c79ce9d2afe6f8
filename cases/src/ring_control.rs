//! §G: the register opcodes that control the ring itself rather than a resource table:
//! REGISTER_PROBE, RESTRICTIONS + ENABLE_RINGS, PERSONALITY, and the argument checks of the
//! file-table opcodes in `__io_uring_register`'s dispatch.

use crate::common::*;
use uring::abi::{io_uring_restriction, CqeFlags, RegisterOp, RestrictionOp, SetupFlags};
use uring::register::{query_opcodes, ArgPtr, FdArg, RegisterCall};
use uring::{op, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup, Want};

/// `struct io_uring_probe` (the header) and `struct io_uring_probe_op`, in bytes.
const PROBE_HDR: usize = 16;
const PROBE_OP: usize = 8;
/// `IO_URING_OP_SUPPORTED`.
const OP_SUPPORTED: u16 = 1;
/// `IORING_RESTRICTION_LAST` in the 7.2 uapi (REGISTER_OP, SQE_OP, SQE_FLAGS_ALLOWED,
/// SQE_FLAGS_REQUIRED): the first term of register.c's IORING_MAX_RESTRICTIONS.
const RESTRICTION_KINDS: u32 = 4;
const RESTRICT: &[Feature] = &[Feature::RingDisabled];
/// `struct io_uring_task_restriction` without its entries.
const TASK_RESTRICTION_HDR: usize = 16;
/// io_uring_register(-1, ...) reaches io_uring_register_blind (6.13).
const BLIND: &[Feature] = &[Feature::SyncMsgRing];
const RESTRICT_Q: &[Feature] = &[Feature::RingDisabled, Feature::RegisterQuery];

/// REGISTER_PROBE into a fresh area of `nr` entries, observed; returns the area too.
fn probe_into(
    cx: &Cx,
    ring: &Ring,
    nr: u32,
    fill: impl FnOnce(&uring::Mem),
) -> Result<(uring_harness::Observation, std::sync::Arc<uring::Mem>), CaseError> {
    let len = PROBE_HDR + PROBE_OP * nr as usize;
    let m = cx.mem(len)?;
    fill(&m);
    let obs = register_raw(
        cx,
        ring,
        RegisterOp::PROBE,
        ArgPtr::Mem(m.slice(0, len)),
        nr,
    )?;
    Ok((obs, m))
}

/// Entry `i` of a probe answer: (op, resv, flags, resv2).
fn probe_op(m: &uring::Mem, i: usize) -> (u8, u8, u16, u32) {
    let b = m.read(PROBE_HDR + PROBE_OP * i, PROBE_OP);
    (
        b[0],
        b[1],
        u16::from_ne_bytes([b[2], b[3]]),
        u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
    )
}

/// A register-op restriction allowing `op`.
fn allow_register(op: RegisterOp) -> io_uring_restriction {
    allow_register_nr(op.0 as u8)
}

/// A register-op restriction naming opcode number `nr`.
fn allow_register_nr(nr: u8) -> io_uring_restriction {
    io_uring_restriction {
        opcode: RestrictionOp::REGISTER_OP,
        arg: nr,
        ..Default::default()
    }
}

/// A disabled ring (IORING_SETUP_R_DISABLED, plus `flags`).
fn disabled_ring(cx: &Cx, flags: SetupFlags) -> Result<Ring, CaseError> {
    cx.ring_with(Ring::builder(4).flags(SetupFlags::R_DISABLED | flags))
}

/// RESTRICTIONS with `res` on `ring`, observed.
fn restrict(cx: &Cx, ring: &Ring, res: &[io_uring_restriction], what: &str) -> CaseResult {
    cx.sync(
        format!(
            "io_uring_register(ring, RESTRICTIONS, [{} restrictions], {}) {what}",
            res.len(),
            res.len()
        ),
        ring.registrar().register_restrictions(res).map(|_| 0),
    )
}

/// (IORING_REGISTER_LAST, IORING_OP_LAST) as REGISTER_QUERY reports them.
fn register_and_op_last(cx: &Cx) -> Result<(u32, u32), CaseError> {
    let q = query_opcodes()
        .setup("QUERY(OPCODES)")?
        .setup("QUERY(OPCODES) result")?;
    let reg_last = cx
        .features()
        .register_opcodes
        .unwrap_or(q.nr_register_opcodes);
    Ok((reg_last, q.nr_request_opcodes))
}

/// IORING_MAX_RESTRICTIONS of the running kernel.
fn max_restrictions(cx: &Cx) -> Result<u32, CaseError> {
    let (reg_last, op_last) = register_and_op_last(cx)?;
    Ok(RESTRICTION_KINDS + reg_last + op_last)
}

/// `io_uring_register(-1, RESTRICTIONS, &{flags 0, nr_res 0}, nr)`: an empty restriction of
/// the calling thread, observed.
fn task_restrict(cx: &Cx, nr: u32) -> CaseResult {
    let m = cx.mem(TASK_RESTRICTION_HDR)?;
    cx.register(RegisterCall::new(
        FdArg::Num(-1),
        RegisterOp::RESTRICTIONS,
        ArgPtr::Mem(m.slice(0, TASK_RESTRICTION_HDR)),
        nr,
    ))
}

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The ring-control rows.
pub const CASES: &[Case] = &[
    // ---- REGISTER_PROBE ----
    Case::new("probe::all_opcodes")
        .requires(&[Feature::RegisterProbe])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "register.c:io_probe (nr_args clamped to IORING_OP_LAST; last_op, ops_len, \
                 ops[i].op = i, IO_URING_OP_SUPPORTED)",
            )
            .man(REG, "IORING_REGISTER_PROBE")
            .rows(&["reg_probe_answer"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let (obs, m) = probe_into(cx, &ring, 256, |_| {})?;
            let hdr = m.read(0, PROBE_HDR);
            let (last_op, ops_len) = (hdr[0] as usize, hdr[1] as usize);
            cx.check_eq(
                "ops_len (nr_args 256 is clamped to IORING_OP_LAST)",
                ops_len,
                last_op + 1,
            )?;
            cx.check(hdr[2..].iter().all(|&b| b == 0), || {
                format!("probe header resv/resv2 not zero: {hdr:?}")
            })?;
            for i in 0..256 {
                let (op, resv, flags, resv2) = probe_op(&m, i);
                if i < ops_len {
                    cx.check(op as usize == i && resv == 0 && resv2 == 0, || {
                        format!("ops[{i}] = op {op}, resv {resv}, resv2 {resv2}: want op {i}")
                    })?;
                    cx.check(flags & !OP_SUPPORTED == 0, || {
                        format!("ops[{i}].flags {flags:#x}: only IO_URING_OP_SUPPORTED is defined")
                    })?;
                } else {
                    cx.check((op, resv, flags, resv2) == (0, 0, 0, 0), || {
                        format!("ops[{i}] beyond ops_len {ops_len} written: op {op} flags {flags}")
                    })?;
                }
            }
            cx.check_eq("ops[0] (NOP) flags", probe_op(&m, 0).2, OP_SUPPORTED)?;
            Ok(obs)
        }),
    Case::new("probe::first_opcode_only")
        .requires(&[Feature::RegisterProbe])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("register.c:io_probe (memchr_inv and the loop cover nr_args entries)")
                .rows(&["reg_probe_answer"])
                .note("entry 1 holds 0xa5 bytes: outside nr_args 1, neither checked nor written"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let last = ring
                .registrar()
                .probe()
                .setup("REGISTER_PROBE of 256 entries")?
                .last_op;
            let (obs, m) = probe_into(cx, &ring, 1, |m| m.write(PROBE_HDR + PROBE_OP, &[0xa5; 8]))?;
            let hdr = m.read(0, 2);
            cx.check_eq("(last_op, ops_len)", (hdr[0], hdr[1]), (last, 1))?;
            cx.check_eq("ops[0]", probe_op(&m, 0), (0, 0, OP_SUPPORTED, 0))?;
            cx.check_eq(
                "ops[1] (past nr_args)",
                m.read(PROBE_HDR + PROBE_OP, 8),
                vec![0xa5; 8],
            )?;
            Ok(obs)
        }),
    Case::new("probe::one_past_last_opcode")
        .requires(&[Feature::RegisterProbe])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "register.c:io_probe (nr_args > IORING_OP_LAST: nr_args = IORING_OP_LAST)",
            )
            .rows(&["reg_probe_answer"])
            .note(
                "nr_args IORING_OP_LAST + 1 (last_op + 2 of a 256-entry probe) is clamped: \
                     ops_len IORING_OP_LAST, the last entry left zero",
            ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let last = ring
                .registrar()
                .probe()
                .setup("REGISTER_PROBE of 256 entries")?
                .last_op as u32;
            let (obs, m) = probe_into(cx, &ring, last + 2, |_| {})?;
            cx.check_eq("ops_len", m.read(1, 1)[0] as u32, last + 1)?;
            cx.check_eq(
                "the entry past IORING_OP_LAST - 1",
                probe_op(&m, last as usize + 1),
                (0, 0, 0, 0),
            )?;
            Ok(obs)
        }),
    Case::new("probe::arg_null")
        .requires(&[Feature::RegisterProbe])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PROBE: !arg)")
                .rows(&["reg_probe_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::PROBE, ArgPtr::NULL, 1)
        }),
    Case::new("probe::nr_args_257")
        .requires(&[Feature::RegisterProbe])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "register.c:__io_uring_register (case IORING_REGISTER_PROBE: nr_args > 256)",
            )
            .rows(&["reg_probe_args"])
            .note("a zeroed area of 257 entries: only the count is wrong"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            Ok(probe_into(cx, &ring, 257, |_| {})?.0)
        }),
    Case::new("probe::input_not_zeroed")
        .requires(&[Feature::RegisterProbe])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_probe (memchr_inv(p, 0, size))")
                .man(REG, "IORING_REGISTER_PROBE (zeroed)")
                .rows(&["reg_probe_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            Ok(probe_into(cx, &ring, 4, |m| {
                m.write(PROBE_HDR + PROBE_OP * 3 + 7, &[1])
            })?
            .0)
        }),
    // ---- PERSONALITY ----
    Case::new("personality::ids_from_one")
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel(
                "register.c:io_register_personality (xa_alloc_cyclic, XA_FLAGS_ALLOC1) / \
                 io_unregister_personality",
            )
            .man(REG, "IORING_REGISTER_PERSONALITY")
            .rows(&["reg_personality"])
            .note("the second id is 2; unregistering 1 twice: 0, then EINVAL"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let reg = ring.registrar();
            let obs = register_raw(cx, &ring, RegisterOp::PERSONALITY, ArgPtr::NULL, 0)?;
            let personality = |what: &str, op: RegisterOp, nr: u32, want| {
                cx.check_step(what, reg.register_raw(op, &ArgPtr::NULL, nr), want)
            };
            personality("second PERSONALITY", RegisterOp::PERSONALITY, 0, 2)?;
            personality(
                "UNREGISTER_PERSONALITY 1",
                RegisterOp::UNREGISTER_PERSONALITY,
                1,
                0,
            )?;
            cx.check_eq(
                "UNREGISTER_PERSONALITY 1 again",
                reg.register_raw(RegisterOp::UNREGISTER_PERSONALITY, &ArgPtr::NULL, 1),
                Err(E::EINVAL),
            )?;
            Ok(obs)
        }),
    Case::new("personality::register_nr_args")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PERSONALITY)")
                .rows(&["reg_personality"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::PERSONALITY, ArgPtr::NULL, 1)
        }),
    Case::new("personality::unregister_unknown")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_unregister_personality (xa_erase finds nothing)")
                .rows(&["reg_personality"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(
                cx,
                &ring,
                RegisterOp::UNREGISTER_PERSONALITY,
                ArgPtr::NULL,
                7,
            )
        }),
    // ---- RESTRICTIONS and ENABLE_RINGS ----
    Case::new("restrictions::empty_list_refuses_all")
        .requires(RESTRICT)
        .expect(Expect::errno(E::EACCES))
        .cite(
            Cite::kernel(
                "register.c:io_parse_restrictions (!nr_args: op_registered, reg_registered) / \
                 __io_uring_register (test_bit)",
            )
            .rows(&["reg_restrict_scope"])
            .note("an empty list allows nothing: PROBE is refused, a NOP's CQE is -EACCES"),
        )
        .run(|cx| {
            let mut ring = disabled_ring(cx, SetupFlags::NONE)?;
            let m = cx.mem(16)?;
            ring.registrar()
                .register_raw(RegisterOp::RESTRICTIONS, &ArgPtr::Mem(m.slice(0, 16)), 0)
                .setup("RESTRICTIONS with nr_args 0")?;
            ring.enable().setup("enable the ring")?;
            let obs = register_raw(cx, &ring, RegisterOp::PROBE, ArgPtr::Mem(m.slice(0, 16)), 0)?;
            let c = cx.submit_one(&mut ring, op::nop().user_data(1))?;
            cx.check_eq("NOP CQE res", c.res, -E::EACCES.0)?;
            Ok(obs)
        }),
    Case::new("restrictions::register_ops_leave_sqes")
        .requires(RESTRICT)
        .expect(Expect::by_level(
            &level::RESTRICTIONS_SPLIT,
            Want::cqe(0, CqeFlags::NONE),
            Want::cqe_errno(E::EACCES),
        ))
        .cite(
            Cite::kernel(
                "register.c:io_register_restrictions (IO_RING_F_OP_RESTRICTED only with \
                 op_registered)",
            )
            .rows(&["reg_restrict_scope"])
            .note("before 7.0 any restriction restricted SQE opcodes too (ctx->restricted)"),
        )
        .run(|cx| {
            let mut ring = disabled_ring(cx, SetupFlags::NONE)?;
            ring.registrar()
                .register_restrictions(&[allow_register(RegisterOp::PROBE)])
                .setup("RESTRICTIONS: REGISTER_OP PROBE only")?;
            ring.enable().setup("enable the ring")?;
            let c = cx.submit_one(&mut ring, op::nop().user_data(1))?;
            cx.observe(c, "on a ring restricted in its register ops only")
        }),
    Case::new("restrictions::second_registration")
        .requires(RESTRICT)
        .expect(Expect::errno(E::EBUSY))
        .cite(
            Cite::kernel("register.c:io_register_restrictions (op_registered || reg_registered)")
                .man(REG, "IORING_REGISTER_RESTRICTIONS")
                .rows(&["reg_restrict_args"]),
        )
        .run(|cx| {
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            ring.registrar()
                .register_restrictions(&[allow_register(RegisterOp::PROBE)])
                .setup("RESTRICTIONS: REGISTER_OP PROBE")?;
            let sqe_op = io_uring_restriction {
                opcode: RestrictionOp::SQE_OP,
                ..Default::default()
            };
            restrict(cx, &ring, &[sqe_op], "after a register-op restriction")
        }),
    Case::new("restrictions::arg_null")
        .requires(RESTRICT)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:io_parse_restrictions (!arg)").rows(&["reg_restrict_args"]))
        .run(|cx| {
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            register_raw(cx, &ring, RegisterOp::RESTRICTIONS, ArgPtr::NULL, 1)
        }),
    Case::new("restrictions::register_op_at_last")
        .requires(RESTRICT_Q)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_parse_restrictions (register_op >= IORING_REGISTER_LAST)")
                .rows(&["reg_restrict_args"])
                .note("IORING_REGISTER_LAST is QUERY(OPCODES)'s nr_register_opcodes"),
        )
        .run(|cx| {
            let (reg_last, _) = register_and_op_last(cx)?;
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            let res = [allow_register_nr(reg_last as u8)];
            restrict(cx, &ring, &res, "naming IORING_REGISTER_LAST")
        }),
    Case::new("restrictions::register_op_below_last")
        .requires(RESTRICT_Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("register.c:io_parse_restrictions (register_op >= IORING_REGISTER_LAST)")
                .rows(&["reg_restrict_args"])
                .note("the highest register opcode, IORING_REGISTER_LAST - 1, is accepted"),
        )
        .run(|cx| {
            let (reg_last, _) = register_and_op_last(cx)?;
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            let res = [allow_register_nr((reg_last - 1) as u8)];
            restrict(cx, &ring, &res, "naming IORING_REGISTER_LAST - 1")
        }),
    Case::new("restrictions::max_entries")
        .requires(RESTRICT_Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "register.c:io_parse_restrictions (nr_args > IORING_MAX_RESTRICTIONS = \
                 IORING_RESTRICTION_LAST + IORING_REGISTER_LAST + IORING_OP_LAST)",
            )
            .rows(&["reg_restrict_args"])
            .note("REGISTER_LAST and OP_LAST from QUERY(OPCODES); RESTRICTION_LAST is 4"),
        )
        .run(|cx| {
            let n = max_restrictions(cx)?;
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            let res = vec![allow_register(RegisterOp::PROBE); n as usize];
            restrict(cx, &ring, &res, "(IORING_MAX_RESTRICTIONS)")
        }),
    Case::new("restrictions::above_max_entries")
        .requires(RESTRICT_Q)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_parse_restrictions (nr_args > IORING_MAX_RESTRICTIONS)")
                .rows(&["reg_restrict_args"]),
        )
        .run(|cx| {
            let n = max_restrictions(cx)? + 1;
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            let res = vec![allow_register(RegisterOp::PROBE); n as usize];
            restrict(cx, &ring, &res, "(IORING_MAX_RESTRICTIONS + 1)")
        }),
    Case::new("restrictions::task_empty_list")
        .requires(BLIND)
        .expect(Expect::by_level(
            &level::TASK_RESTRICTIONS,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("register.c:io_register_restrictions_task")
                .rows(&["reg_restrict_task"])
                .note(
                    "as root (CAP_SYS_ADMIN) without NO_NEW_PRIVS; the restriction stays on \
                     the row's own thread, which ends with the row",
                ),
        )
        .run(|cx| {
            let obs = task_restrict(cx, 1)?;
            if obs.answer == uring_harness::Answer::Sync(Ok(0)) {
                let ring = cx.ring()?;
                cx.check_eq(
                    "PROBE on a ring created after the empty task restriction",
                    ring.registrar().probe().map(|_| ()),
                    Err(E::EACCES),
                )?;
            }
            Ok(obs)
        }),
    Case::new("restrictions::task_nr_args_0")
        .requires(BLIND)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_register_restrictions_task (nr_args != 1)")
                .rows(&["reg_restrict_task"])
                .note("before 7.0 io_uring_register_blind refuses the opcode with EINVAL too"),
        )
        .run(|cx| task_restrict(cx, 0)),
    Case::new("restrictions::task_nr_args_2")
        .requires(BLIND)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:io_register_restrictions_task (nr_args != 1)")
                .rows(&["reg_restrict_task"]),
        )
        .run(|cx| task_restrict(cx, 2)),
    Case::new("restrictions::task_unprivileged")
        .requires(BLIND)
        .unprivileged(64 * 1024)
        .expect(Expect::by_level(
            &level::TASK_RESTRICTIONS,
            Want::errno(E::EACCES),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel(
                "register.c:io_register_restrictions_task (!task_no_new_privs && \
                 !CAP_SYS_ADMIN)",
            )
            .rows(&["reg_restrict_task"])
            .note("an unused uid without NO_NEW_PRIVS"),
        )
        .run(|cx| task_restrict(cx, 1)),
    Case::new("enable_rings::single_issuer_other_thread")
        .requires(&[Feature::RingDisabled, Feature::SingleIssuer])
        .expect(Expect::errno(E::EEXIST))
        .cite(
            Cite::kernel(
                "register.c:io_register_enable_rings (SINGLE_ISSUER: submitter_task = current) \
                 / __io_uring_register (submitter_task != current)",
            )
            .rows(&["reg_single_issuer_other_task"])
            .note("a disabled SINGLE_ISSUER ring gets its submitter when it is enabled"),
        )
        .run(|cx| {
            let ring = disabled_ring(cx, SetupFlags::SINGLE_ISSUER)?;
            ring.enable().setup("enable the ring")?;
            let call = RegisterCall::new(
                FdArg::Ring(&ring),
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::NULL,
                0,
            );
            let r = cx.on_thread("other thread", || call.invoke())?;
            cx.sync(format!("{call} from another thread"), r)
        }),
    Case::new("enable_rings::nr_args_set")
        .requires(RESTRICT)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_ENABLE_RINGS)")
                .rows(&["reg_enable_args"]),
        )
        .run(|cx| {
            let ring = disabled_ring(cx, SetupFlags::NONE)?;
            register_raw(cx, &ring, RegisterOp::ENABLE_RINGS, ArgPtr::NULL, 1)
        }),
];
