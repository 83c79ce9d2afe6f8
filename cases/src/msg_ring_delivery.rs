//! §4.5: what a MSG_RING message delivers: the target's CQE (res, flags, user_data, and
//! when it becomes visible), the installed file, the alloc range and CQE_SKIP. Targets of
//! other kinds (another thread's ring, 32-byte and mixed CQEs) are in
//! [`crate::msg_ring_targets`].

use crate::common::msg::*;
use crate::common::*;
use uring::abi::{CqeFlags, MsgRingFlags, SqeFlags};
use uring::op::{self, MsgFdSlot};
use uring::Ring;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

/// A 4-slot target table with the alloc range set to slots 2-3, and a source holding the
/// data file in slot 0.
fn alloc_range_pair(cx: &Cx) -> Result<(std::fs::File, Vec<u8>, Ring, Ring), CaseError> {
    let (f, d, src, dst) = fd_pair(cx, 4)?;
    dst.registrar()
        .register_file_alloc_range(2, 2)
        .setup("alloc range = slots 2-3")?;
    Ok((f, d, src, dst))
}

/// A READ through `ring`'s fixed file `slot` answers `res` (-EBADF: the slot is empty).
fn fixed_read_res(cx: &Cx, ring: &mut Ring, slot: u32) -> Result<i32, CaseError> {
    let m = cx.mem(4096)?;
    let sqe = op::read(slot as i32, m.slice(0, 64), 64, 0).add_flags(SqeFlags::FIXED_FILE);
    Ok(cx.submit_one(ring, sqe.user_data(0xf11e))?.res)
}

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The message rows.
pub const CASES: &[Case] = &[
    // ---- §4.5 semantics: one target, this thread ----
    Case::new("msg_ring::data_delivers_target_cqe")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:__io_msg_ring_data").man(MSG3, "DESCRIPTION"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(cx, &mut r, data(t.fd()))?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (7, CqeFlags::NONE),
            )?;
            cx.observe(c, "to another ring")
        }),
    Case::new("msg_ring::data_len_arrives_as_signed_res")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:__io_msg_ring_data (res = (s32)len)")
                .man(MSG3, "DESCRIPTION (len)"),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(
                cx,
                &mut r,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 0x8000_0001,
                        user_data: DST_UD,
                        flags: MsgRingFlags::NONE,
                    },
                ),
            )?;
            cx.check_eq(
                "target CQE res",
                target_cqe(cx, &mut t)?.res,
                -2_147_483_647,
            )?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::data_to_own_ring_two_cqes")
        .requires(MR)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("msg_ring.c:io_msg_ring_data"))
        .run(|cx| {
            let mut r = cx.ring()?;
            let own = r.fd();
            r.push(data(own).user_data(SRC_UD))
                .map_err(|e| CaseError::Broken(e.to_string()))?;
            r.submit().setup("submit")?;
            let mut cqes = cx.wait(&mut r, 2)?;
            cqes.sort_by_key(|c| c.user_data);
            cx.check_eq(
                "CQE user_data values",
                cqes.iter().map(|c| c.user_data).collect::<Vec<_>>(),
                vec![DST_UD, SRC_UD],
            )?;
            cx.check_eq("message CQE res", cqes[0].res, 7)?;
            cx.cqe("MSG_RING DATA to the submitting ring (source CQE)", cqes[1])
        }),
    Case::new("msg_ring::flags_pass_delivers_flags")
        .requires(PASS)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_ring_cqe_flags")
                .man(MSG3, "io_uring_prep_msg_ring_cqe_flags"),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring()?;
            let c = send_c(
                cx,
                &mut r,
                op::msg_ring_data(
                    t.fd(),
                    op::MsgData {
                        res: 7,
                        user_data: DST_UD,
                        flags: MsgRingFlags::FLAGS_PASS,
                    },
                )
                .file_index(0x42),
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (7, CqeFlags(0x42)),
            )?;
            cx.observe(c, "")
        }),
    Case::new("msg_ring::send_fd_slot_replaces_and_works")
        .requires(FD)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete -> filetable.c:__io_fixed_fd_install")
                .man(MSGFD3, "DESCRIPTION"),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let null = dev_null(false)?;
            t.registrar()
                .update_files(1, &[fd(&null)])
                .setup("occupy target slot 1 with /dev/null")?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::NONE),
            )?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq(
                "target CQE (res, flags)",
                (tc.res, tc.flags),
                (0, CqeFlags::NONE),
            )?;
            src.registrar()
                .unregister_files()
                .setup("drop the source's table")?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.observe(c, "with target slot 1 occupied")
        }),
    Case::new("msg_ring::send_fd_alloc_reports_slot")
        .requires(FD)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete (ret = allocated slot)")
                .man(MSGFD3, "io_uring_prep_msg_ring_fd_alloc"),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 4)?;
            let null = dev_null(false)?;
            t.registrar()
                .update_files(0, &[fd(&null), fd(&null)])
                .setup("occupy target slots 0 and 1")?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            cx.check_eq(
                "target CQE res (the allocated slot)",
                target_cqe(cx, &mut t)?.res,
                c.res,
            )?;
            if c.res >= 0 {
                fixed_file_reads(cx, &mut t, c.res as u32, &d)?;
            }
            cx.observe(c, "with target slots 0-1 used")
        }),
    Case::new("msg_ring::send_fd_cqe_skip_suppresses_target_cqe")
        .requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_install_complete (CQE_SKIP)")
                .man(MSGFD3, "IORING_MSG_RING_CQE_SKIP"),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::CQE_SKIP),
            )?;
            no_target_cqe(cx, &mut t, "target after SEND_FD with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            cx.observe(c, "into an empty 2-slot table")
        }),
    Case::new("msg_ring::data_overflow_all_delivered")
        .requires(MR)
        .expect(Expect::ok(6))
        .cite(
            Cite::kernel("io_uring.c:io_post_aux_cqe -> io_cqe_overflow")
                .man(MSG3, "ERRORS: EOVERFLOW"),
        )
        .run(|cx| {
            let mut r = cx.ring()?;
            let mut t = cx.ring_with(Ring::builder(1))?;
            for i in 0..6 {
                let c = send_c(
                    cx,
                    &mut r,
                    op::msg_ring_data(
                        t.fd(),
                        op::MsgData {
                            res: i,
                            user_data: DST_UD + i as u64,
                            flags: MsgRingFlags::NONE,
                        },
                    ),
                )?;
                cx.check_eq(&format!("source CQE res of message {i}"), c.res, 0)?;
            }
            let got = cx.wait(&mut t, 6)?;
            cx.check_eq(
                "target (user_data, res) in order",
                got.iter().map(|c| (c.user_data, c.res)).collect::<Vec<_>>(),
                (0..6).map(|i| (DST_UD + i, i as i32)).collect::<Vec<_>>(),
            )?;
            cx.sync(
                format!(
                    "6 MSG_RING DATA into a ring with {} CQ entries, then reap: CQEs delivered",
                    t.cq_entries()
                ),
                Ok::<i64, E>(got.len() as i64),
            )
        }),
    Case::new("msg_ring::send_fd_to_defer_taskrun_target")
        .requires(&[Feature::MsgSendFd, Feature::DeferTaskrun])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("msg_ring.c:io_msg_fd_remote -> io_msg_tw_fd_complete")
                .man(MSGFD3, "NOTES"),
        )
        .run(|cx| {
            let (f, d) = data_file(cx, 256, 22)?;
            let mut t = defer_target_with_slots(cx, 2)?;
            let (tfd, sfd) = (t.fd(), fd(&f));
            let mut src = on_thread(move || -> Result<Ring, E> {
                let r = Ring::new(4)?;
                r.registrar().register_files(&[sfd])?;
                Ok(r)
            })?
            .setup("source ring with the file")?;
            // The source is not SINGLE_ISSUER: this thread may submit on it; the target's
            // submitter task is this thread, which runs the install when it waits below.
            src.push(send_fd(tfd, MsgFdSlot::Slot(1), MsgRingFlags::NONE).user_data(SRC_UD))
                .map_err(|e| CaseError::Broken(e.to_string()))?;
            src.submit().setup("submit")?;
            let tc = target_cqe(cx, &mut t)?;
            cx.check_eq("target CQE res", tc.res, 0)?;
            let c = cx.wait(&mut src, 1)?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.cqe("MSG_RING SEND_FD into slot 1 of a DEFER_TASKRUN ring", c[0])
        }),
    // ---- the alloc range, CQE_SKIP, the source's table ----
    Case::new("msg_ring::send_fd_alloc_honours_range_start")
        .requires(FD)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "filetable.c:io_file_bitmap_get (alloc_hint clamped to [file_alloc_start, \
                 file_alloc_end)) / io_register_file_alloc_range",
            )
            .man(MSGFD3, "io_uring_prep_msg_ring_fd_alloc")
            .rows(&["msgf_alloc_range"])
            .note(
                "the first allocation takes the range's first slot although slots 0-1 are free, \
                 the next one the slot after it; source and target CQE both carry the slot",
            ),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = alloc_range_pair(cx)?;
            let first = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            let second = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            cx.check_eq("source CQE res of the second allocation", second.res, 3)?;
            cx.check_eq(
                "target CQEs (user_data, res, flags)",
                reaped(cx, &mut t, 2)?,
                vec![(DST_UD, 2, CqeFlags::NONE), (DST_UD, 3, CqeFlags::NONE)],
            )?;
            for slot in [0, 1] {
                cx.check_eq(
                    &format!("READ through target slot {slot} outside the range"),
                    fixed_read_res(cx, &mut t, slot)?,
                    -E::EBADF.0,
                )?;
            }
            fixed_file_reads(cx, &mut t, 2, &d)?;
            fixed_file_reads(cx, &mut t, 3, &d)?;
            cx.observe(
                first,
                "into a 4-slot table with alloc range 2-3 (slots 0-1 free)",
            )
        }),
    Case::new("msg_ring::send_fd_alloc_range_exhausted")
        .requires(FD)
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel(
                "filetable.c:io_file_bitmap_get (no free bit in [file_alloc_start, \
                 file_alloc_end))",
            )
            .man(MSGFD3, "ERRORS: ENFILE")
            .rows(&["msgf_alloc_range"])
            .note(
                "with slots 0-1 still free, a third allocation into the full range 2-3 is ENFILE; \
                 the target gets no CQE for it",
            ),
        )
        .run(|cx| {
            let (_f, _d, mut src, mut t) = alloc_range_pair(cx)?;
            for want in [2, 3] {
                let c = send_c(
                    cx,
                    &mut src,
                    send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
                )?;
                cx.check_eq("source CQE res of a setup allocation", c.res, want)?;
            }
            cx.check_eq(
                "target CQE res values",
                reaped(cx, &mut t, 2)?
                    .iter()
                    .map(|c| c.1)
                    .collect::<Vec<_>>(),
                vec![2, 3],
            )?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            no_target_cqe(cx, &mut t, "target after the refused allocation")?;
            cx.check_eq(
                "READ through target slot 0 (outside the range)",
                fixed_read_res(cx, &mut t, 0)?,
                -E::EBADF.0,
            )?;
            cx.observe(
                c,
                "a third time into alloc range 2-3 of a 4-slot table (slots 0-1 free)",
            )
        }),
    Case::new("msg_ring::send_fd_alloc_after_install_below_range")
        .requires(FD)
        .expect(Expect::cqe(2, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "filetable.c:io_file_bitmap_get (an alloc_hint below file_alloc_start is reset \
                 to it) / io_install_fixed_file -> io_file_bitmap_set (alloc_hint = slot + 1)",
            )
            .man(MSGFD3, "io_uring_prep_msg_ring_fd_alloc")
            .rows(&["msgf_alloc_range"])
            .note(
                "an install into slot 0 leaves the allocation hint at 1, below the range 2-3: \
                 the allocation still takes slot 2, never the free slot 1",
            ),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = alloc_range_pair(cx)?;
            let explicit = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
            )?;
            cx.check_eq("source CQE res of the install into slot 0", explicit.res, 0)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            cx.check_eq(
                "target CQEs (user_data, res, flags)",
                reaped(cx, &mut t, 2)?,
                vec![(DST_UD, 0, CqeFlags::NONE), (DST_UD, 2, CqeFlags::NONE)],
            )?;
            cx.check_eq(
                "READ through target slot 1 (free, outside the range)",
                fixed_read_res(cx, &mut t, 1)?,
                -E::EBADF.0,
            )?;
            fixed_file_reads(cx, &mut t, 2, &d)?;
            cx.observe(
                c,
                "into alloc range 2-3 of a 4-slot table after an install into slot 0",
            )
        }),
    Case::new("msg_ring::alloc_range_past_table")
        .requires(FD)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("filetable.c:io_register_file_alloc_range (off + len > data.nr)")
                .man("io_uring_register_file_alloc_range.3", "ERRORS")
                .rows(&["msgf_alloc_range"])
                .note(
                    "slots 3-4 of a 4-slot table: EINVAL, and the range stays the whole table \
                     (an allocation takes slot 0); IORING_REGISTER_FILE_ALLOC_RANGE came in \
                     6.0 with IORING_MSG_SEND_FD",
                ),
        )
        .run(|cx| {
            let (_f, _d, mut src, mut t) = fd_pair(cx, 4)?;
            let o = cx.sync(
                "io_uring_register(target, FILE_ALLOC_RANGE, {off 3, len 2}, 0) \
                 (a 4-slot table)",
                t.registrar().register_file_alloc_range(3, 2).map(|_| 0),
            );
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::NONE),
            )?;
            cx.check_eq("slot allocated after the refused range", c.res, 0)?;
            reaped(cx, &mut t, 1)?;
            o
        }),
    Case::new("msg_ring::send_fd_cqe_skip_explicit_slot")
        .requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_install_complete (CQE_SKIP after __io_fixed_fd_install)",
            )
            .man(MSGFD3, "IORING_MSG_RING_CQE_SKIP")
            .rows(&["msgf_cqe_skip_slot"]),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 2)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(1), MsgRingFlags::CQE_SKIP),
            )?;
            no_target_cqe(cx, &mut t, "target after SEND_FD into slot 1 with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 1, &d)?;
            cx.check_eq(
                "READ through target slot 0 (not addressed)",
                fixed_read_res(cx, &mut t, 0)?,
                -E::EBADF.0,
            )?;
            cx.observe(c, "into slot 1 of an empty 2-slot table")
        }),
    Case::new("msg_ring::send_fd_cqe_skip_install_fails")
        .requires(&[Feature::MsgSendFd, Feature::MsgCqeSkip])
        .expect(Expect::cqe_errno(E::ENFILE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_install_complete (install error: goto out_unlock, before the \
                 CQE_SKIP test)",
            )
            .man(MSGFD3, "IORING_MSG_RING_CQE_SKIP")
            .rows(&["msgf_cqe_skip_fail"])
            .note(
                "CQE_SKIP only skips the target's CQE of a completed install: the source still \
                 gets the error, the target nothing, and the target's slot keeps its file",
            ),
        )
        .run(|cx| {
            let (f, d, mut src, mut t) = fd_pair(cx, 1)?;
            t.registrar()
                .update_files(0, &[fd(&f)])
                .setup("occupy the target's only slot")?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Alloc, MsgRingFlags::CQE_SKIP),
            )?;
            no_target_cqe(cx, &mut t, "target after a failed SEND_FD with CQE_SKIP")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            fixed_file_reads(cx, &mut src, 0, &d)?;
            cx.observe(c, "into a full 1-slot table")
        }),
    Case::new("msg_ring::send_fd_source_keeps_file")
        .requires(FD)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "msg_ring.c:io_msg_grab_file (get_file: the source slot keeps its reference)",
            )
            .man(MSGFD3, "DESCRIPTION")
            .rows(&["msgf_src_keeps_file"])
            .note(
                "the message installs another reference: the source's slot stays installed and \
                 usable, and the target's works after the source table is gone",
            ),
        )
        .run(|cx| {
            let (_f, d, mut src, mut t) = fd_pair(cx, 1)?;
            let c = send_c(
                cx,
                &mut src,
                send_fd(t.fd(), MsgFdSlot::Slot(0), MsgRingFlags::NONE),
            )?;
            cx.check_eq(
                "target CQE (user_data, res, flags)",
                reaped(cx, &mut t, 1)?,
                vec![(DST_UD, 0, CqeFlags::NONE)],
            )?;
            fixed_file_reads(cx, &mut src, 0, &d)?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            src.registrar()
                .unregister_files()
                .setup("drop the source's table")?;
            fixed_file_reads(cx, &mut t, 0, &d)?;
            cx.observe(c, "from source slot 0 into target slot 0")
        }),
];
