//! The registered-file table as MSG_RING's target and the fixed-file endpoints:
//! REGISTER_FILES(2), FILES_UPDATE(2), UNREGISTER_FILES (rsrc.c io_sqe_files_register,
//! __io_sqe_files_update, io_sqe_files_unregister). What a call answers, and its effect on
//! the slots: a READ through IOSQE_FIXED_FILE, the tag CQE of a replaced slot, and the slot
//! IORING_OP_FILES_UPDATE with IORING_FILE_INDEX_ALLOC picks (the lowest slot the table's
//! bitmap has free: filetable.c io_file_bitmap_get).

use crate::common::*;
use std::os::fd::RawFd;
use std::time::Duration;
use uring::abi::{
    CqeFlags, RegisterOp, RsrcRegisterFlags, SqeFlags, FILE_INDEX_ALLOC, REGISTER_FILES_SKIP,
};
use uring::register::{ArgPtr, ArrayArg, Files2, FilesUpdate};
use uring::{op, ForeignAddr, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The tag of the rows' tagged slots.
const TAG: u64 = 0x0f11_e7a6;

/// FILES2 of `a` on `ring`, observed.
fn files2(cx: &Cx, ring: &Ring, a: Files2<'_>) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, FILES2, {{nr={}, flags={:?}, data={}, tags={}}}, 32)",
        a.nr,
        a.flags,
        array_desc(&a.data),
        array_desc(&a.tags)
    );
    cx.sync(call, ring.registrar().register_files2(&a).map(|_| 0))
}

/// A FILES2 argument for `fds` with `tags` (empty: no tag array).
fn f2<'a>(fds: &'a [RawFd], tags: &'a [u64]) -> Files2<'a> {
    Files2 {
        nr: fds.len() as u32,
        flags: RsrcRegisterFlags::NONE,
        data: ArrayArg::Values(fds),
        tags: if tags.is_empty() {
            ArrayArg::NULL
        } else {
            ArrayArg::Values(tags)
        },
    }
}

/// FILES_UPDATE2 of `u` on `ring`, observed.
fn update2(cx: &Cx, ring: &Ring, u: FilesUpdate<'_>) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, FILES_UPDATE2, {{offset={}, resv={}, data={}, tags={}, nr={}}}, \
         32)",
        u.offset,
        u.resv,
        array_desc(&u.data),
        array_desc(&u.tags),
        u.nr
    );
    cx.sync(
        call,
        ring.registrar().register_files_update2(&u).map(i64::from),
    )
}

/// FILES_UPDATE (the first, untagged form) of `u` with `nr_args` entries, observed.
fn update1(cx: &Cx, ring: &Ring, u: FilesUpdate<'_>, nr_args: u32) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, FILES_UPDATE, {{offset={}, resv={}, data={}}}, {nr_args})",
        u.offset,
        u.resv,
        array_desc(&u.data)
    );
    cx.sync(
        call,
        ring.registrar()
            .register_files_update(&u, nr_args)
            .map(i64::from),
    )
}

/// An update of the slots from `offset` with `fds` and `tags` (empty: no tag array).
fn fu<'a>(offset: u32, fds: &'a [RawFd], tags: &'a [u64]) -> FilesUpdate<'a> {
    FilesUpdate {
        offset,
        resv: 0,
        data: ArrayArg::Values(fds),
        tags: if tags.is_empty() {
            ArrayArg::NULL
        } else {
            ArrayArg::Values(tags)
        },
        nr: fds.len() as u32,
    }
}

/// A ring with a file table of `n` empty slots (REGISTER_FILES of -1s).
fn ring_with_empty_slots(cx: &Cx, n: usize) -> Result<Ring, CaseError> {
    let ring = cx.ring()?;
    ring.registrar()
        .register_files(&vec![-1; n])
        .setup("a file table of empty slots")?;
    Ok(ring)
}

/// The slot IORING_OP_FILES_UPDATE with IORING_FILE_INDEX_ALLOC gives `fd` (the kernel
/// writes it over the fd in the array and answers 1).
fn alloc_slot(cx: &Cx, ring: &mut Ring, fd: RawFd) -> Result<i32, CaseError> {
    let m = cx.mem(4096)?;
    m.write(0, &fd.to_ne_bytes());
    let c = cx.submit_one(
        ring,
        op::files_update(m.slice(0, 4), 1, FILE_INDEX_ALLOC).user_data(0xa110c),
    )?;
    cx.check_eq("FILES_UPDATE (FILE_INDEX_ALLOC) res", c.res, 1)?;
    Ok(i32::from_ne_bytes(
        m.read(0, 4).try_into().expect("4 bytes"),
    ))
}

/// The answer of a FILE_INDEX_ALLOC update after `prepare` set up the table, observed: the
/// slot the kernel picked.
fn allocated_after(cx: &Cx, ring: &mut Ring, what: &str) -> CaseResult {
    let null = dev_null(false)?;
    let slot = alloc_slot(cx, ring, fd(&null))?;
    cx.sync(
        format!("IORING_OP_FILES_UPDATE(FILE_INDEX_ALLOC, [/dev/null]) {what}: the slot given"),
        Ok::<i64, E>(slot.into()),
    )
}

/// Writes 8 bytes into a pipe and READs them through fixed file `slot`, which must hold
/// the pipe's read end: the CQE's res and the bytes are checked.
fn reads_pipe_through(
    cx: &Cx,
    ring: &mut Ring,
    slot: u32,
    w: &mut std::io::PipeWriter,
) -> Result<(), CaseError> {
    use std::io::Write;
    let data = pattern(8, 0x5a);
    w.write_all(&data).setup("write 8 bytes into the pipe")?;
    let m = cx.mem(4096)?;
    let c = cx.submit_one(
        ring,
        op::read(slot as i32, m.slice(0, 8), 8, 0)
            .add_flags(SqeFlags::FIXED_FILE)
            .user_data(0xf11e),
    )?;
    cx.check_eq(&format!("READ through fixed file {slot}"), c.res, 8)?;
    cx.check_eq(
        &format!("bytes read through fixed file {slot}"),
        m.read(0, 8),
        data,
    )
}

/// The CQEs a ring got within a short settle, as (user_data, res, flags).
fn tag_cqes(cx: &Cx, ring: &mut Ring) -> Vec<(u64, i32, CqeFlags)> {
    cx.settle(ring, Duration::from_millis(20))
        .iter()
        .map(|c| (c.user_data, c.res, c.flags))
        .collect()
}

/// The rows.
pub const CASES: &[Case] = &[
    // ---- REGISTER_FILES / FILES2 (io_sqe_files_register) ----
    Case::new("register_files::closed_fd")
        .expect(Expect::errno(E::EBADF))
        .cite(Cite::kernel("rsrc.c:io_sqe_files_register (fget NULL)").rows(&["files_reg_checks"]))
        .run(|cx| {
            let ring = cx.ring()?;
            cx.sync(
                "io_uring_register(ring, FILES, [an fd that is not open], 1)",
                ring.registrar().register_files(&[NEVER_OPEN_FD]).map(|_| 0),
            )
        }),
    Case::new("register_files2::fds_unmapped")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_files_register (copy_from_user fds)")
                .rows(&["files_reg_checks"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let a = Files2 {
                data: ArrayArg::Ptr(ArgPtr::Foreign(ForeignAddr::LOW)),
                ..f2(&[-1], &[])
            };
            files2(cx, &ring, a)
        }),
    Case::new("register_files2::empty_slot_with_tag")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_files_register (fd == -1 with a tag)")
                .rows(&["files_reg_checks"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            files2(cx, &ring, f2(&[-1], &[TAG]))
        }),
    Case::new("register_files2::tag_posted_on_replace")
        .requires(RSRC)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_files_register (node->tag, nodes[i], io_fixed_file_set) / \
                 io_free_rsrc_node",
            )
            .man(REG, "IORING_REGISTER_FILES2 (tags)")
            .rows(&["files_reg_slot_effects"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (r, mut w) = pipe()?;
            cx.check_step(
                "FILES2 of the pipe's read end tagged",
                ring.registrar().register_files2(&f2(&[fd(&r)], &[TAG])),
                (),
            )?;
            reads_pipe_through(cx, &mut ring, 0, &mut w)?;
            cx.check_step(
                "FILES_UPDATE emptying slot 0",
                ring.registrar().update_files(0, &[-1]),
                1,
            )?;
            let cqes = cx.wait(&mut ring, 1)?;
            cx.check_eq("tag CQE user_data", cqes[0].user_data, TAG)?;
            cx.cqe(
                "FILES_UPDATE emptying slot 0 (tagged by FILES2) -> tag CQE",
                cqes[0],
            )
        }),
    Case::new("register_files2::nr_zero_with_table")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "rsrc.c:io_register_rsrc (!rr.nr), before io_sqe_files_register's EBUSY for a \
                 ring that has a table",
            )
            .rows(&["files_reg_checks"]),
        )
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            files2(
                cx,
                &ring,
                Files2 {
                    nr: 0,
                    ..f2(&[-1], &[])
                },
            )
        }),
    Case::new("register_files::filled_slot_not_allocated")
        .needs_level(&level::FILES_UPDATE_INDEX_ALLOC)
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_files_register (io_file_bitmap_set, alloc range)")
                .rows(&["files_reg_slot_effects"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let null = dev_null(false)?;
            ring.registrar()
                .register_files(&[fd(&null), -1])
                .setup("FILES [/dev/null, -1]")?;
            allocated_after(cx, &mut ring, "after FILES [/dev/null, -1]")
        }),
    Case::new("register_files2::max_fixed_files")
        .requires(&[Feature::SparseBuffers])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_files_register (nr_args > IORING_MAX_FIXED_FILES, nr_args > \
                 rlimit(RLIMIT_NOFILE): EMFILE)",
            )
            .rows(&["files_reg_checks"])
            .note("2^20 slots, under an RLIMIT_NOFILE of exactly 2^20: both limits are inclusive"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            with_nofile(MAX_FIXED_FILES, || {
                cx.sync(
                    "io_uring_register(ring, FILES2, {nr=2^20, SPARSE}, 32) under \
                     RLIMIT_NOFILE 2^20",
                    ring.registrar()
                        .register_files_sparse(MAX_FIXED_FILES as u32)
                        .map(|_| 0),
                )
            })
        }),
    // ---- FILES_UPDATE / FILES_UPDATE2 (__io_sqe_files_update) ----
    Case::new("register_files_update::resv_set")
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_files_update (up.resv)").rows(&["filesup_checks"]))
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            let null = [-1];
            update1(
                cx,
                &ring,
                FilesUpdate {
                    resv: 1,
                    ..fu(0, &null, &[])
                },
                1,
            )
        }),
    Case::new("register_files_update::fds_unmapped")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (copy_from_user fds)")
                .rows(&["filesup_checks"]),
        )
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            let u = FilesUpdate {
                data: ArrayArg::Ptr(ArgPtr::Foreign(ForeignAddr::LOW)),
                ..fu(0, &[], &[])
            };
            update1(cx, &ring, u, 1)
        }),
    Case::new("register_files_update2::tags_unmapped")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (copy_from_user tags)")
                .rows(&["filesup_checks"]),
        )
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            let null = dev_null(false)?;
            let fds = [fd(&null)];
            let u = FilesUpdate {
                tags: ArrayArg::Ptr(ArgPtr::Foreign(ForeignAddr::LOW)),
                ..fu(0, &fds, &[])
            };
            update2(cx, &ring, u)
        }),
    Case::new("register_files_update2::empty_slot_with_tag")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (fd == -1 with a tag)")
                .rows(&["filesup_checks"]),
        )
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            update2(cx, &ring, fu(0, &[-1], &[TAG]))
        }),
    Case::new("register_files_update::closed_fd")
        .expect(Expect::errno(E::EBADF))
        .cite(Cite::kernel("rsrc.c:__io_sqe_files_update (fget NULL)").rows(&["filesup_checks"]))
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            update1(cx, &ring, fu(0, &[NEVER_OPEN_FD], &[]), 1)
        }),
    Case::new("register_files_update::ring_fd")
        .expect(Expect::errno(E::EBADF))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (io_is_uring_fops)")
                .rows(&["filesup_checks"]),
        )
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 1)?;
            let other = cx.ring()?;
            update1(cx, &ring, fu(0, &[other.fd()], &[]), 1)
        }),
    Case::new("register_files_update::last_slot_then_read")
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel(
                "rsrc.c:__io_sqe_files_update (offset + nr == table size; nodes[i], \
                 io_fixed_file_set)",
            )
            .rows(&["filesup_slot_effects"]),
        )
        .run(|cx| {
            let mut ring = ring_with_empty_slots(cx, 2)?;
            let (r, mut w) = pipe()?;
            let obs = update1(cx, &ring, fu(1, &[fd(&r)], &[]), 1)?;
            if obs.answer == uring_harness::Answer::Sync(Ok(1)) {
                reads_pipe_through(cx, &mut ring, 1, &mut w)?;
            }
            Ok(obs)
        }),
    Case::new("register_files_update::reads_only_nr_args_entries")
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (done < nr_args)")
                .rows(&["filesup_slot_effects"])
                .note("the entry after the nr_args-th (IORING_REGISTER_FILES_SKIP) is not read"),
        )
        .run(|cx| {
            let ring = ring_with_empty_slots(cx, 2)?;
            let null = dev_null(false)?;
            update1(cx, &ring, fu(0, &[fd(&null), REGISTER_FILES_SKIP], &[]), 1)
        }),
    Case::new("register_files_update2::tag_posted_on_replace")
        .requires(RSRC)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (node->tag) / io_free_rsrc_node")
                .man(REG, "IORING_REGISTER_FILES_UPDATE2 (tags)")
                .rows(&["filesup_slot_effects"]),
        )
        .run(|cx| {
            let mut ring = ring_with_empty_slots(cx, 1)?;
            let (r, mut w) = pipe()?;
            cx.check_step(
                "FILES_UPDATE2 of slot 0 with the pipe's read end, tagged",
                ring.registrar()
                    .register_files_update2(&fu(0, &[fd(&r)], &[TAG])),
                1,
            )?;
            reads_pipe_through(cx, &mut ring, 0, &mut w)?;
            cx.check_eq(
                "CQEs before the slot is replaced",
                tag_cqes(cx, &mut ring),
                vec![],
            )?;
            cx.check_step(
                "FILES_UPDATE emptying slot 0",
                ring.registrar().update_files(0, &[-1]),
                1,
            )?;
            let cqes = cx.wait(&mut ring, 1)?;
            cx.check_eq("tag CQE user_data", cqes[0].user_data, TAG)?;
            cx.cqe(
                "FILES_UPDATE emptying slot 0 (tagged by FILES_UPDATE2) -> tag CQE",
                cqes[0],
            )
        }),
    Case::new("register_files_update::emptied_slot_allocated_again")
        .needs_level(&level::FILES_UPDATE_INDEX_ALLOC)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:__io_sqe_files_update (io_reset_rsrc_node -> io_file_bitmap_clear)",
            )
            .rows(&["filesup_slot_effects"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let null = dev_null(false)?;
            ring.registrar()
                .register_files(&[fd(&null), fd(&null)])
                .setup("FILES [/dev/null, /dev/null]")?;
            cx.check_step(
                "FILES_UPDATE emptying slot 0",
                ring.registrar().update_files(0, &[-1]),
                1,
            )?;
            allocated_after(cx, &mut ring, "after slot 0 of two was emptied")
        }),
    Case::new("register_files_update::filled_slot_not_allocated")
        .needs_level(&level::FILES_UPDATE_INDEX_ALLOC)
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_files_update (io_file_bitmap_set)")
                .rows(&["filesup_slot_effects"]),
        )
        .run(|cx| {
            let mut ring = ring_with_empty_slots(cx, 2)?;
            let null = dev_null(false)?;
            cx.check_step(
                "FILES_UPDATE filling slot 0",
                ring.registrar().update_files(0, &[fd(&null)]),
                1,
            )?;
            allocated_after(cx, &mut ring, "after slot 0 of two empty ones was filled")
        }),
    // ---- UNREGISTER_FILES ----
    Case::new("unregister_files::no_table")
        .expect(Expect::errno(E::ENXIO))
        .cite(Cite::kernel("rsrc.c:io_sqe_files_unregister").rows(&["files_reg_checks"]))
        .run(|cx| {
            let ring = cx.ring()?;
            cx.sync(
                "io_uring_register(ring, UNREGISTER_FILES, NULL, 0) without a file table",
                ring.registrar().unregister_files().map(|_| 0),
            )
        }),
    // ---- the file-table opcodes' argument checks ----
    Case::new("files::register_arg_null")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_FILES: !arg)")
                .rows(&["reg_files_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::FILES, ArgPtr::NULL, 1)
        }),
    Case::new("files::unregister_nr_args")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_UNREGISTER_FILES)")
                .rows(&["reg_files_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            // A table of one pipe end: plain REGISTER_FILES, which 5.10 has (a sparse table
            // needs IORING_RSRC_REGISTER_SPARSE, 5.19).
            let (r, _w) = pipe_with(b"")?;
            ring.registrar()
                .register_files(&[fd(&r)])
                .setup("a one-slot file table")?;
            register_raw(cx, &ring, RegisterOp::UNREGISTER_FILES, ArgPtr::NULL, 1)
        }),
    Case::new("files::alloc_range_arg_null")
        .requires(&[Feature::MsgSendFd])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_FILE_ALLOC_RANGE)")
                .rows(&["reg_files_args"])
                .note("FILE_ALLOC_RANGE came in 6.0 with IORING_MSG_SEND_FD"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::FILE_ALLOC_RANGE, ArgPtr::NULL, 0)
        }),
    Case::new("files::alloc_range_nr_args")
        .requires(&[Feature::MsgSendFd])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_FILE_ALLOC_RANGE)")
                .rows(&["reg_files_args"])
                .note("a valid range {0, 1} of a one-slot table: only nr_args 1 is wrong"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar()
                .register_files_sparse(1)
                .setup("a one-slot file table")?;
            let m = cx.mem(16)?;
            m.write(4, &1u32.to_ne_bytes());
            register_raw(
                cx,
                &ring,
                RegisterOp::FILE_ALLOC_RANGE,
                ArgPtr::Mem(m.slice(0, 16)),
                1,
            )
        }),
];

/// IORING_MAX_FIXED_FILES (rsrc.c).
const MAX_FIXED_FILES: u64 = 1 << 20;

/// Runs `f` with RLIMIT_NOFILE's soft limit exactly `limit` (the hard one raised to it where
/// it is lower, which needs CAP_SYS_RESOURCE), then puts the limits back. A limit that cannot
/// be set is a skip naming it.
fn with_nofile(limit: u64, f: impl FnOnce() -> CaseResult) -> CaseResult {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let nix_errno = |e: nix::errno::Errno| E(e as i32);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(nix_errno)
        .setup("getrlimit(RLIMIT_NOFILE)")?;
    match setrlimit(Resource::RLIMIT_NOFILE, limit, hard.max(limit)) {
        Ok(()) => {}
        Err(nix::errno::Errno::EPERM) => {
            return Err(CaseError::Skip(uring_harness::SkipCause::Fact {
                fact: "rlimit_nofile_max_fixed_files".into(),
                needs: "an RLIMIT_NOFILE of 2^20 (IORING_MAX_FIXED_FILES), so that the table's \
                        size limit is the one met"
                    .into(),
                probe: format!(
                    "setrlimit(RLIMIT_NOFILE, {limit}, {}): EPERM (the hard limit is {hard}: \
                     raising it needs CAP_SYS_RESOURCE, and at most fs.nr_open)",
                    hard.max(limit)
                ),
            }))
        }
        Err(e) => return Err(nix_errno(e)).setup("setrlimit(RLIMIT_NOFILE, 2^20)"),
    }
    let r = f();
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard)
        .map_err(nix_errno)
        .setup("setrlimit(RLIMIT_NOFILE) back")?;
    r
}
