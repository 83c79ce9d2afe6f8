//! §1.4: UNREGISTER_BUFFERS, and what an in-flight request, a pending tag and a waiting
//! unregister see when the table goes away. BUFFERS_UPDATE is in [`crate::buffers_update`].

use crate::common::buffers::{complete_pipe_read, read_fixed_on_pipe, two_untagged};
use crate::common::*;
use std::sync::Arc;
use std::time::Duration;
use uring::abi::{CqeFlags, RegisterOp};
use uring::op;
use uring::register::{ArgPtr, FdArg, RegisterCall};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Setup, Want};

/// Waits (bounded) until thread `tid` sleeps in io_uring_register(2) (syscall 427, as
/// /proc/self/task/TID/syscall shows it) or `done` says it returned; true if it sleeps.
fn sleeps_in_register(cx: &Cx, tid: i32, done: &dyn Fn() -> bool) -> Result<bool, CaseError> {
    let path = format!("/proc/self/task/{tid}/syscall");
    let deadline = std::time::Instant::now() + Duration::from_secs(2).min(cx.time_left());
    while std::time::Instant::now() < deadline {
        if done() {
            return Ok(false);
        }
        if std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with("427 ")) {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let what = "the unregister thread neither returned nor slept in io_uring_register";
    if cx.time_left().is_zero() {
        // The case's limit, not the 2 s, ended the wait (a --case-timeout below 2 s).
        return Err(CaseError::Timeout(format!(
            "{path}: {what} within the case's time limit"
        )));
    }
    Err(CaseError::Broken(format!("{path}: {what} within 2 s")))
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The update, tag and unregister rows.
pub const CASES: &[Case] = &[
    // ---- §1.4 UNREGISTER_BUFFERS ----
    Case::new("unregister_buffers::arg_not_null")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register")
                .man(REG, "ERRORS: EINVAL")
                .rows(&["bufunreg_args"]),
        )
        .run(|cx| {
            let (ring, m) = ring_with_buffers(cx, 1)?;
            register_raw(
                cx,
                &ring,
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::Mem(m.slice(0, 8)),
                0,
            )
        }),
    Case::new("unregister_buffers::nr_args_not_zero")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register")
                .man(REG, "ERRORS: EINVAL")
                .rows(&["bufunreg_args"]),
        )
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            register_raw(cx, &ring, RegisterOp::UNREGISTER_BUFFERS, ArgPtr::NULL, 1)
        }),
    Case::new("unregister_buffers::no_table")
        .expect(Expect::errno(E::ENXIO))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_unregister")
                .man(REG, "ERRORS: ENXIO")
                .rows(&["bufunreg_none"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::UNREGISTER_BUFFERS, ArgPtr::NULL, 0)
        }),
    Case::new("unregister_buffers::in_flight_read_completes")
        .requires(FIXED)
        .needs_level(&level::UNREGISTER_NO_WAIT)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_unregister / io_rsrc_data_free")
                .man(REG, "IORING_UNREGISTER_BUFFERS (released synchronously)")
                .rows(&["bufunreg_inflight"])
                .note(
                    "register.2 says buffers are released synchronously; since 6.13 unregister \
                     returns at once and the in-flight request completes",
                ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (r, w) = pipe()?;
            ring.push(
                op::read_fixed(
                    fd(&r),
                    op::Fixed {
                        addr: m.addr(),
                        len: 8,
                        offset: 0,
                        buf_index: 0,
                    },
                )
                .user_data(9),
            )
            .map_err(|e| CaseError::Broken(e.to_string()))?;
            ring.submit()
                .setup("submit the READ_FIXED on an empty pipe")?;
            let unregister = RegisterCall::new(
                FdArg::Ring(&ring),
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::NULL,
                0,
            );
            let got = unregister.invoke();
            let call = format!("{unregister} while a READ_FIXED waits on a pipe");
            use std::io::Write;
            (&w).write_all(b"8 bytes!").setup("write the pipe")?;
            let c = cx.wait(&mut ring, 1)?;
            cx.check_eq("READ_FIXED CQE res after unregister", c[0].res, 8)?;
            cx.check_eq(
                "bytes read into the unregistered buffer",
                m.read(0, 8),
                b"8 bytes!".to_vec(),
            )?;
            cx.sync(call, got)
        }),
    Case::new("unregister_buffers::update_tag_posted_once")
        .requires(RSRC)
        .expect(Expect::by_level(
            &level::UNREGISTER_POSTS_TAGS,
            Want::ok(1),
            Want::ok(0),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_free_rsrc_node (7.x) / io_rsrc_data_free")
                .man(REG, "IORING_REGISTER_BUFFERS_UPDATE (tags)")
                .rows(&["bufup_update_tag"]),
        )
        .run(|cx| {
            let (mut ring, _m, pages) = two_untagged(cx, 3)?;
            ring.registrar()
                .update_buffers(1, &pages[2..], &[0x20])
                .setup("give slot 1 a buffer tagged 0x20")?;
            no_cqes(cx, &mut ring, "replacing untagged slot 1")?;
            ring.registrar().unregister_buffers().setup("unregister")?;
            let cqes = cx.settle(&mut ring, Duration::from_millis(50));
            cx.check(
                cqes.iter()
                    .all(|c| c.user_data == 0x20 && c.res == 0 && c.flags == CqeFlags::NONE),
                || format!("unexpected CQEs: {cqes:?}"),
            )?;
            cx.sync(
                "UNREGISTER_BUFFERS of slots tagged {0, 0x20 (by an update)}, then count tag CQEs",
                Ok::<i64, E>(cqes.len() as i64),
            )
        }),
    Case::new("unregister_buffers::signal_while_waiting")
        .requires(FIXED)
        .unprivileged(64 * 1024)
        .expect(Expect::by_level(
            &level::UNREGISTER_NO_WAIT,
            Want::ok(0),
            Want::errno(E::EINTR),
        ))
        .cite(
            Cite::kernel(
                "rsrc.c:io_rsrc_ref_quiesce -> io_uring.c:io_run_task_work_sig (<= 6.12) / \
                 io_sqe_buffers_unregister (6.13+)",
            )
            .rows(&["bufunreg_eintr"])
            .note(
                "up to 6.12 unregister waits, interruptibly, for in-flight requests; a signal \
                 ends the wait with EINTR and keeps the table. Since 6.13 it does not wait",
            ),
        )
        .run(|cx| {
            sys::catch_sigusr1().setup("install a SIGUSR1 handler")?;
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (r, w) = pipe()?;
            read_fixed_on_pipe(cx, &mut ring, &r, m.addr())?;
            let (me, stop) = (
                sys::this_thread(),
                Arc::new(std::sync::atomic::AtomicBool::new(false)),
            );
            let stop2 = stop.clone();
            let sender = uring_harness::resource::spawn_thread("SIGUSR1 sender", move || {
                let t0 = std::time::Instant::now();
                while !stop2.load(std::sync::atomic::Ordering::SeqCst)
                    && t0.elapsed() < Duration::from_secs(5)
                {
                    sys::sigusr1(me);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })?;
            let call = RegisterCall::new(
                FdArg::Ring(&ring),
                RegisterOp::UNREGISTER_BUFFERS,
                ArgPtr::NULL,
                0,
            );
            let got = call.invoke();
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            sender
                .join()
                .map_err(|_| CaseError::Broken("the signal thread panicked".into()))?;
            let obs = cx.sync(
                format!("{call} while a READ_FIXED waits on a pipe, SIGUSR1 every 20 ms"),
                got,
            )?;
            complete_pipe_read(cx, &mut ring, &w, &m, 1)?;
            let again = ring.registrar().unregister_buffers();
            match got {
                Err(E::EINTR) => {
                    cx.check_eq("unregister after EINTR (the table was kept)", again, Ok(()))?
                }
                _ => cx.check_eq("unregister after the table went", again, Err(E::ENXIO))?,
            }
            Ok(obs)
        }),
    Case::new("unregister_buffers::second_while_first_waits")
        .requires(FIXED)
        .expect(Expect::errno(E::ENXIO))
        .cite(
            Cite::kernel(
                "rsrc.c:io_rsrc_ref_quiesce (data->quiesce, <= 6.12) / io_sqe_buffers_unregister \
                 (!buf_table.nr, 6.13+)",
            )
            .man(REG, "ERRORS: ENXIO")
            .rows(&["bufunreg_concurrent"])
            .note(
                "up to 6.12 the second unregister finds the first one quiescing; since 6.13 the \
                 first has already removed the table: ENXIO either way",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (r, w) = pipe()?;
            read_fixed_on_pipe(cx, &mut ring, &r, m.addr())?;
            let ring_fd = ring.fd();
            let (tx, rx) = std::sync::mpsc::channel();
            let first = uring_harness::resource::spawn_thread("first unregister", move || {
                let _ = tx.send(sys::gettid());
                uring::register::register_fd_raw(
                    ring_fd,
                    RegisterOp::UNREGISTER_BUFFERS,
                    &ArgPtr::NULL,
                    0,
                )
            })?;
            let tid = rx
                .recv_timeout(Duration::from_secs(2))
                .map_err(|e| CaseError::Broken(format!("the unregister thread: {e}")))?;
            let waiting = sleeps_in_register(cx, tid, &|| first.is_finished())?;
            let obs = cx.register_in(
                RegisterCall::new(
                    FdArg::Ring(&ring),
                    RegisterOp::UNREGISTER_BUFFERS,
                    ArgPtr::NULL,
                    0,
                ),
                "while another thread's unregister of the table (a READ_FIXED on a pipe in \
                 flight) waits (<= 6.12) or has returned (6.13+)",
            )?;
            let still_waiting = waiting && !first.is_finished();
            match level::UNREGISTER_NO_WAIT.decide(cx.features()).verdict {
                level::Verdict::Has => cx.check(!still_waiting, || {
                    "the first unregister still waited for the READ_FIXED (6.13+ returns at once)"
                        .into()
                })?,
                level::Verdict::Lacks => cx.check(still_waiting, || {
                    "the first unregister did not wait for the READ_FIXED (<= 6.12 it must)".into()
                })?,
                level::Verdict::Either => {}
            }
            complete_pipe_read(cx, &mut ring, &w, &m, 1)?;
            let a = first
                .join()
                .map_err(|_| CaseError::Broken("the unregister thread panicked".into()))?;
            cx.check_eq("the first unregister's answer", a, Ok(0))?;
            cx.check_eq(
                "unregister after both",
                ring.registrar().unregister_buffers(),
                Err(E::ENXIO),
            )?;
            Ok(obs)
        }),
];
