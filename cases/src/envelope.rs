//! §G: the io_uring_register(2) envelope, common to every register opcode.

use crate::common::*;
use uring::abi::{io_uring_restriction, RegisterOp, RestrictionOp, SetupFlags};
use uring::register::{ArgPtr, FdArg, RegisterCall};
use uring::Ring;
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Feature, Setup, Want};

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The envelope rows.
pub const CASES: &[Case] = &[
    Case::new("envelope::fd_not_open")
        .expect(Expect::errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file")
                .man(REG, "ERRORS: EBADF (fd arrays only)")
                .rows(&["reg_fd_bad"]),
        )
        .run(|cx| {
            cx.register(RegisterCall::new(
                FdArg::Num(NEVER_OPEN_FD),
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::NULL,
                0,
            ))
        }),
    Case::new("envelope::fd_not_a_ring")
        .expect(Expect::errno(E::EOPNOTSUPP))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file")
                .rows(&["reg_fd_not_ring"])
                .note("register.2 does not list EOPNOTSUPP for a non-ring fd"),
        )
        .run(|cx| {
            let f = dev_null(false)?;
            cx.register(RegisterCall::new(
                FdArg::Named(fd(&f), "/dev/null"),
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::NULL,
                0,
            ))
        }),
    Case::new("envelope::fd_minus_one")
        .expect(Expect::by_level(
            &level::BLIND_REGISTER,
            Want::errno(E::EINVAL),
            Want::errno(E::EBADF),
        ))
        .cite(
            Cite::kernel(
                "register.c:SYSCALL_DEFINE4(io_uring_register) -> io_uring_register_blind",
            )
            .rows(&["reg_fd_minus1"]),
        )
        .run(|cx| {
            cx.register(RegisterCall::new(
                FdArg::Num(-1),
                RegisterOp::BUFFERS,
                ArgPtr::NULL,
                0,
            ))
        }),
    Case::new("envelope::opcode_unknown")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:SYSCALL_DEFINE4(io_uring_register)")
                .rows(&["reg_opcode_ge_last"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp(255), ArgPtr::NULL, 0)
        }),
    Case::new("envelope::opcode_at_register_last")
        .requires(&[Feature::RegisterQuery])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:SYSCALL_DEFINE4(io_uring_register)")
                .rows(&["reg_opcode_ge_last"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let last = cx.features().register_opcodes.unwrap_or(u32::MAX);
            register_raw(cx, &ring, RegisterOp(last), ArgPtr::NULL, 0)
        }),
    Case::new("envelope::registered_ring_index_out_of_range")
        .requires(&[Feature::RegRegRing])
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("io_uring.c:io_uring_ctx_get_file").rows(&["reg_registered_ring_bad"]))
        .run(|cx| {
            let op = RegisterOp::UNREGISTER_BUFFERS.via_registered_ring();
            cx.register(RegisterCall::new(FdArg::Num(16), op, ArgPtr::NULL, 0))
        }),
    Case::new("envelope::registered_ring_slot_empty")
        .requires(&[Feature::RegRegRing])
        .expect(Expect::errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file")
                .rows(&["reg_registered_ring_bad"])
                .note(
                    "catalogue said EINVAL with no registered rings; the source (and this row) \
                     say EBADF for an empty slot once the task has io_uring state, EINVAL only \
                     before",
                ),
        )
        .run(|cx| {
            // Creating a ring gives this task its io_uring state; slot 15 stays empty.
            let _ring = cx.ring()?;
            let op = RegisterOp::UNREGISTER_BUFFERS.via_registered_ring();
            cx.register_in(
                RegisterCall::new(FdArg::Num(15), op, ArgPtr::NULL, 0),
                "with that slot empty",
            )
        }),
    Case::new("envelope::registered_ring_task_without_io_uring")
        .requires(&[Feature::RegRegRing])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file (!tctx)")
                .rows(&["reg_registered_ring_bad"]),
        )
        .run(|cx| {
            // Each case runs on a fresh thread: a task that never created a ring.
            let op = RegisterOp::UNREGISTER_BUFFERS.via_registered_ring();
            cx.register_in(
                RegisterCall::new(FdArg::Num(0), op, ArgPtr::NULL, 0),
                "from a task without io_uring state",
            )
        }),
    Case::new("envelope::restricted_op")
        .requires(&[Feature::RingDisabled])
        .expect(Expect::errno(E::EACCES))
        .cite(
            Cite::kernel("register.c:__io_uring_register")
                .man(REG, "ERRORS: EACCES")
                .rows(&["reg_restricted"]),
        )
        .run(|cx| {
            let ring = cx.ring_with(Ring::builder(4).flags(SetupFlags::R_DISABLED))?;
            let only_probe = io_uring_restriction {
                opcode: RestrictionOp::REGISTER_OP,
                arg: RegisterOp::PROBE.0 as u8,
                ..Default::default()
            };
            ring.registrar()
                .register_restrictions(&[only_probe])
                .setup("register restrictions (PROBE only)")?;
            ring.enable().setup("enable the ring")?;
            let mem = cx.mem(4096)?;
            cx.check(ring.registrar().probe().is_ok(), || {
                "the allowed op (PROBE) was refused".into()
            })?;
            register(cx, &ring, &[uring::register::Iov::Mem(mem.slice(0, 4096))])
        }),
    Case::new("envelope::single_issuer_other_thread")
        .requires(&[Feature::SingleIssuer])
        .expect(Expect::errno(E::EEXIST))
        .cite(
            Cite::kernel("register.c:__io_uring_register (ctx->submitter_task != current)")
                .man(REG, "ERRORS: EEXIST")
                .rows(&["reg_single_issuer_other_task"]),
        )
        .run(|cx| {
            let ring = cx.ring_with(Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER))?;
            let call = RegisterCall::new(
                FdArg::Ring(&ring),
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::NULL,
                0,
            );
            let r = cx.on_thread("other thread", || call.invoke())?;
            cx.check_eq(
                "UNREGISTER_BUFFERS from the creating thread",
                ring.registrar().unregister_buffers(),
                Err(E::ENXIO),
            )?;
            cx.sync(format!("{call} from another thread"), r)
        }),
];
