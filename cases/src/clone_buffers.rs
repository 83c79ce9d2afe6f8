//! §2.1: IORING_REGISTER_CLONE_BUFFERS — argument checks, source lookup and ranges. The
//! effect of a clone is in [`crate::clone_buffers_semantics`] and [`crate::clone_effects`].

use crate::common::clone::*;
use crate::common::*;
use uring::abi::{io_uring_clone_buffers, CloneFlags, RegisterOp, SetupFlags};
use uring::register::{ArgPtr, CloneSrc, Iov};
use uring::{ForeignAddr, Mem, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The clone rows.
pub const CASES: &[Case] = &[
    // ---- §2.1 argument checks ----
    Case::new("clone_buffers::opcode_supported")
        .expect(Expect::by_level(
            &level::CLONE_BUFFERS,
            Want::errno(E::ENXIO),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("register.c:SYSCALL_DEFINE4 (opcode >= IORING_REGISTER_LAST)")
                .man(CLONE3, "Available since 6.12")
                .rows(&["clone_unsupported"]),
        )
        .run(|cx| {
            let (src, dst) = (cx.ring()?, cx.ring()?);
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::arg_null")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (!arg || nr_args != 1)")
                .man(REG, "IORING_REGISTER_CLONE_BUFFERS (nr_args = 1)")
                .rows(&["clone_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::CLONE_BUFFERS, ArgPtr::NULL, 1)
        }),
    Case::new("clone_buffers::nr_args_two")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (!arg || nr_args != 1)")
                .man(REG, "IORING_REGISTER_CLONE_BUFFERS (nr_args = 1)")
                .rows(&["clone_args"]),
        )
        .run(|cx| {
            // A readable all-zero argument: only nr_args is wrong.
            let m = cx.mem(4096)?;
            let ring = cx.ring()?;
            register_raw(
                cx,
                &ring,
                RegisterOp::CLONE_BUFFERS,
                ArgPtr::Mem(m.slice(0, 32)),
                2,
            )
        }),
    Case::new("clone_buffers::arg_unmapped")
        .requires(CB)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers (copy_from_user)")
                .rows(&["clone_fault"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(
                cx,
                &ring,
                RegisterOp::CLONE_BUFFERS,
                ArgPtr::Foreign(ForeignAddr::LOW),
                1,
            )
        }),
    Case::new("clone_buffers::unknown_flag")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "rsrc.c:io_register_clone_buffers (flags & ~(SRC_REGISTERED|DST_REPLACE))",
            )
            .rows(&["clone_flags"]),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 1)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags(1 << 2), 0, 0, 0))
        }),
    Case::new("clone_buffers::dst_replace_flag")
        .requires(CB_FIXED)
        .expect(Expect::by_level(
            &level::CLONE_RANGES,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers")
                .man(CLONE3, "IORING_REGISTER_DST_REPLACE")
                .rows(&["clone_flags"])
                .note(
                    "6.12 accepts only SRC_REGISTERED; DST_REPLACE arrived with the ranges (6.13)",
                ),
        )
        .run(|cx| {
            let (src, m, mut dst) = pair(cx, 1)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::DST_REPLACE, 0, 0, 0))?;
            if obs.answer == uring_harness::Answer::Sync(Ok(0)) {
                reads_into(cx, &mut dst, 0, &m, 0)?;
            }
            Ok(obs)
        }),
    Case::new("clone_buffers::dst_has_table")
        .requires(CB)
        .expect(Expect::errno(E::EBUSY))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers / io_clone_buffers (buf_table.nr)")
                .man(CLONE3, "ERRORS: EBUSY")
                .rows(&["clone_dst_busy"]),
        )
        .run(|cx| {
            let (src, _m) = ring_with_buffers(cx, 1)?;
            let (dst, _d) = ring_with_buffers(cx, 1)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::dst_has_sparse_table")
        .requires(&[Feature::CloneBuffers, Feature::SparseBuffers])
        .expect(Expect::errno(E::EBUSY))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers (buf_table.nr)")
                .man(CLONE3, "ERRORS: EBUSY")
                .rows(&["clone_dst_busy"]),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 1)?;
            dst.registrar()
                .register_buffers_sparse(2)
                .setup("sparse table in dst")?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::dst_busy_before_bad_src_fd")
        .requires(CB)
        .expect(Expect::errno(E::EBUSY))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers")
                .rows(&["clone_dst_busy"])
                .note(
                    "check order (source-verified): EBUSY precedes the pad and every source-fd \
                     check (6.12: even the copy)",
                ),
        )
        .run(|cx| {
            let (dst, _d) = ring_with_buffers(cx, 1)?;
            clone(cx, &dst, arg(NEVER_OPEN_FD, CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::pad_nonzero")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers (memchr_inv(pad))")
                .man(REG, "pad must be zero filled")
                .rows(&["clone_pad"]),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 1)?;
            clone(
                cx,
                &dst,
                io_uring_clone_buffers {
                    pad: [0, 0, 1],
                    ..arg(src.fd(), CloneFlags::NONE, 0, 0, 0)
                },
            )
        }),
    Case::new("clone_buffers::src_fd_not_open")
        .requires(CB)
        .expect(Expect::errno(E::EBADF))
        .cite(Cite::kernel("io_uring.c:io_uring_ctx_get_file").rows(&["clone_src_badf"]))
        .run(|cx| {
            let dst = cx.ring()?;
            clone(cx, &dst, arg(NEVER_OPEN_FD, CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_fd_not_a_ring")
        .requires(CB)
        .expect(Expect::errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("io_uring.c:io_uring_ctx_get_file").rows(&["clone_src_not_ring"]))
        .run(|cx| {
            let f = dev_null(false)?;
            let dst = cx.ring()?;
            clone(cx, &dst, arg(fd(&f), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_registered_index_16")
        .requires(&[Feature::CloneBuffers, Feature::RegRegRing])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file (fd >= IO_RINGFD_REG_MAX)")
                .rows(&["clone_src_registered_bad"]),
        )
        .run(|cx| {
            let dst = cx.ring()?;
            clone(cx, &dst, arg(16, CloneFlags::SRC_REGISTERED, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_registered_slot_empty")
        .requires(&[Feature::CloneBuffers, Feature::RegRegRing])
        .expect(Expect::errno(E::EBADF))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file (empty registered slot)")
                .rows(&["clone_src_registered_bad"])
                .note(
                    "catalogue: 'task has no registered rings' -> EINVAL; the source says a task \
                     that created a ring has io_uring state, so an empty slot gives EBADF",
                ),
        )
        .run(|cx| {
            let dst = cx.ring()?;
            clone(cx, &dst, arg(15, CloneFlags::SRC_REGISTERED, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_registered_task_without_io_uring")
        .requires(&[Feature::CloneBuffers, Feature::RegRegRing])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file (!tctx)")
                .rows(&["clone_src_registered_bad"]),
        )
        .run(|cx| {
            // The destination comes from another thread; this case's thread never created a ring.
            let dst = cx
                .on_thread("ring maker", || Ring::new(4))?
                .setup("io_uring_setup in a helper thread")?;
            clone(cx, &dst, arg(0, CloneFlags::SRC_REGISTERED, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_single_issuer_other_task")
        .requires(&[Feature::CloneBuffers, Feature::SingleIssuer])
        .expect(Expect::by_level(
            &level::CLONE_SRC_ISSUER_CHECK,
            Want::errno(E::EEXIST),
            Want::ok(0),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_register_clone_buffers (src_ctx->submitter_task != current)")
                .rows(&["clone_src_other_issuer"]),
        )
        .run(|cx| {
            let (src, _m) = cx
                .on_thread("source maker", || -> Result<_, uring::Error> {
                    let r = Ring::builder(4).flags(SetupFlags::SINGLE_ISSUER).build()?;
                    let m = Mem::new(4096)?;
                    r.registrar()
                        .register_buffers(&[Iov::Mem(m.slice(0, 4096))])?;
                    Ok((r, m))
                })?
                .setup("SINGLE_ISSUER source with a buffer in a helper thread")?;
            let dst = cx.ring()?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_from_parent_after_fork")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (ctx->mm_account != src_ctx->mm_account)")
                .man(CLONE3, "NOTES (rings must share address spaces)")
                .rows(&["clone_acct_mismatch"]),
        )
        .run(|cx| {
            let (src, _m) = ring_with_buffers(cx, 1)?;
            let r = in_forked_child(cx, "io_uring_setup(4) in the fork()ed child", || {
                let dst = Ring::new(4)?;
                Ok(dst
                    .registrar()
                    .clone_buffers(CloneSrc::Fd(src.fd()), CloneFlags::NONE, 0, 0, 0)
                    .map(|_| 0))
            })?;
            cx.sync(
                "io_uring_register(dst created in a fork()ed child, CLONE_BUFFERS, {src_fd=ring \
                 of the parent}, 1)",
                r,
            )
        }),
    Case::new("clone_buffers::offset_without_nr")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (!nr && (src_off || dst_off))")
                .rows(&["clone_off_without_nr"])
                .note("6.12 answers EINVAL too, because src_off/dst_off/nr are still pad there"),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 2)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 1, 0, 0))
        }),
    Case::new("clone_buffers::dst_offset_without_nr")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (!nr && (src_off || dst_off))")
                .rows(&["clone_off_without_nr"]),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 2)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 1, 0))
        }),
    Case::new("clone_buffers::src_no_table")
        .requires(CB)
        .expect(Expect::errno(E::ENXIO))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (!src_ctx->buf_table.nr)")
                .man(CLONE3, "ERRORS: ENXIO")
                .rows(&["clone_src_empty"]),
        )
        .run(|cx| {
            let (src, dst) = (cx.ring()?, cx.ring()?);
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::nr_over_src_size")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (nr > nbufs)")
                .rows(&["clone_nr_gt_src"])
                .note("6.12 answers EINVAL too (nr is pad there)"),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 2)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 3))
        }),
    Case::new("clone_buffers::src_range_past_end")
        .requires(CB)
        .expect(Expect::by_level(
            &level::CLONE_RANGES,
            Want::errno(E::EOVERFLOW),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (src_off + nr > nbufs)")
                .rows(&["clone_src_range"])
                .note("6.12: EINVAL (offsets are pad)"),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 2)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 1, 0, 2))
        }),
    Case::new("clone_buffers::src_range_wraps")
        .requires(CB)
        .expect(Expect::by_level(
            &level::CLONE_RANGES,
            Want::errno(E::EOVERFLOW),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (check_add_overflow(nr, src_off))")
                .rows(&["clone_src_range"])
                .note("6.12: EINVAL (offsets are pad)"),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 2)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, u32::MAX, 0, 1))
        }),
    Case::new("clone_buffers::dst_range_wraps")
        .requires(CB)
        .expect(Expect::by_level(
            &level::CLONE_RANGES,
            Want::errno(E::EOVERFLOW),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (check_add_overflow(nr, dst_off))")
                .rows(&["clone_dst_wrap"])
                .note("6.12: EINVAL (offsets are pad)"),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 2)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, u32::MAX, 1))
        }),
    Case::new("clone_buffers::dst_end_over_16384")
        .requires(CB)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (nbufs > IORING_MAX_REG_BUFFERS)")
                .rows(&["clone_dst_too_big"])
                .note("6.12 answers EINVAL too (offsets are pad)"),
        )
        .run(|cx| {
            let (src, _m, dst) = pair(cx, 1)?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 16_384, 1))
        }),
    Case::new("clone_buffers::dst_end_at_16384")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (nbufs > IORING_MAX_REG_BUFFERS)")
                .rows(&["clone_dst_too_big"]),
        )
        .run(|cx| {
            let (src, m, mut dst) = pair(cx, 1)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 16_383, 1))?;
            reads_into(cx, &mut dst, 16_383, &m, 0)?;
            read_faults(cx, &mut dst, 0, &m, 0)?;
            Ok(obs)
        }),
];

/// Runs `f` in a fork()ed child and returns the answer of the call under test. `f` answers
/// `Err(e)` when its setup (named `setup`) failed: that is a setup failure of the case, not
/// the kernel's answer. Both travel as a pair of numbers (setup errno or 0, then the answer
/// with an errno as a negative number). A child that does not answer within the case's
/// time is killed: the case is a timeout and leaves no process behind.
#[allow(unsafe_code)] // fork and _exit: the one place the tables need them
pub(crate) fn in_forked_child(
    cx: &Cx,
    setup: &str,
    f: impl FnOnce() -> Result<Result<i64, E>, E>,
) -> Result<Result<i64, E>, CaseError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::waitpid;
    use nix::unistd::ForkResult;
    use std::os::fd::AsFd;
    let (r, w) = pipe()?;
    // A task limit (RLIMIT_NPROC, a pids cgroup) met while other rows' threads run is
    // waited out for a bounded time, then a `resource` skip (resource::retry_task_limit).
    let forked = uring_harness::resource::retry_task_limit("fork", || {
        // SAFETY: the child only makes syscalls (glibc keeps malloc usable after fork) and
        // leaves with _exit, so no destructor or atexit handler of the parent runs twice.
        unsafe { nix::unistd::fork() }.map_err(|e| E(e as i32))
    })?;
    let pid = match forked {
        Ok(ForkResult::Parent { child }) => child,
        Ok(ForkResult::Child) => {
            let (setup_errno, v): (i64, i64) = match f() {
                Err(e) => (e.0 as i64, 0),
                Ok(Ok(v)) => (0, v),
                Ok(Err(e)) => (0, -(e.0 as i64)),
            };
            let mut msg = [0u8; 16];
            msg[..8].copy_from_slice(&setup_errno.to_ne_bytes());
            msg[8..].copy_from_slice(&v.to_ne_bytes());
            use std::io::Write;
            let _ = (&w).write_all(&msg);
            // SAFETY: terminates the child without running the parent's cleanup.
            unsafe { libc::_exit(0) };
        }
        Err(e) => {
            return match uring_harness::resource::setup_skip("fork", e) {
                Some(skip) => Err(skip),
                None => Err(CaseError::Broken(format!("fork: {e}"))),
            };
        }
    };
    drop(w);
    // Rounded up: a limit under a millisecond still waits (poll's 0 would not).
    let wait_ms = cx.time_left().as_micros().div_ceil(1000);
    let timeout =
        PollTimeout::try_from(wait_ms.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(r.as_fd(), PollFlags::POLLIN)];
    let ready = poll(&mut fds, timeout).is_ok_and(|n| n > 0);
    if !ready {
        // The child we forked has not answered: killed and reaped.
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        return Err(CaseError::Timeout(
            "the fork()ed child did not answer in time (killed)".into(),
        ));
    }
    let mut buf = [0u8; 16];
    use std::io::Read;
    let got = (&r).read_exact(&mut buf);
    // Reaps the child we forked.
    let _ = waitpid(pid, None);
    got.setup("read the child's result")?;
    let word = |i: usize| i64::from_ne_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (setup_errno, v) = (word(0), word(1));
    if setup_errno != 0 {
        Err::<(), E>(E(setup_errno as i32)).setup(setup)?;
    }
    Ok(if v < 0 { Err(E(-v as i32)) } else { Ok(v) })
}
