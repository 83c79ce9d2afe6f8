//! §2.2 continued: what a clone leaves in the destination table, checked by I/O through
//! every slot. DST_REPLACE growing a populated table, the tags of replaced nodes, a
//! registered source fd, `nr` 0 with DST_REPLACE, empty source slots, huge-page buffers,
//! and pages shared after either side unregisters.

use crate::common::clone::{
    arg, clone, pair, table_is,
    Slot::{Holds, Lacks},
    CB, CB_FIXED, CLONE3, CR_FIXED,
};
use crate::common::*;
use std::os::unix::fs::FileExt;
use uring::abi::{CloneFlags, CqeFlags};
use uring::mem::Backing;
use uring::register::{register_ring_fd_of, unregister_ring_fd, Iov};
use uring::{Cqe, Mem, Ring};
use uring_harness::probe::io_uring_disabled_sysctl;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup};

const REPLACE: CloneFlags = CloneFlags::DST_REPLACE;
const TAGS_FIXED: &[Feature] = &[
    Feature::CloneRanges,
    Feature::RsrcTags,
    Feature::OpReadWriteFixed,
];

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// WRITE_FIXED of 64 bytes from `ring`'s slot `slot` at `mem + off` into a fresh file;
/// returns the bytes the file received (the kernel read them through that slot).
fn written_from(
    cx: &Cx,
    ring: &mut Ring,
    slot: u16,
    mem: &Mem,
    off: usize,
) -> Result<Vec<u8>, CaseError> {
    let f = cx.file_for_writes(64)?;
    let c = cx.submit_one(
        ring,
        uring::op::write_fixed(
            fd(&f),
            uring::op::Fixed {
                addr: mem.addr() + off as u64,
                len: 64,
                offset: 0,
                buf_index: slot,
            },
        )
        .user_data(0x5108),
    )?;
    cx.check_eq(
        &format!("WRITE_FIXED res from slot {slot} at mem+{off:#x}"),
        c.res,
        64,
    )?;
    let mut got = vec![0u8; 64];
    let n = f.read_at(&mut got, 0).setup("read back the written file")?;
    got.truncate(n);
    Ok(got)
}

/// Every CQE in `ring` up to a NOP submitted now. Tag CQEs of nodes freed by a register
/// call are posted before that call returns, so they precede the NOP's: no settle time.
fn cqes_before_nop(cx: &Cx, ring: &mut Ring) -> Result<Vec<Cqe>, CaseError> {
    const NOP_UD: u64 = 0x0e0f_0e0f;
    ring.push(uring::op::nop().user_data(NOP_UD))
        .map_err(|e| CaseError::Broken(e.to_string()))?;
    ring.submit().setup("io_uring_enter (submit NOP)")?;
    let mut got = Vec::new();
    while !got.iter().any(|c: &Cqe| c.user_data == NOP_UD) {
        got.extend(cx.wait(ring, 1)?);
    }
    got.retain(|c| c.user_data != NOP_UD);
    Ok(got)
}

/// Clones a huge-page buffer (2 MiB of `kind`) and reads through the clone at offsets in
/// its first page, across a 4 KiB boundary, in the middle and at the end of the huge page,
/// before and after the source unregisters.
fn huge_clone(cx: &mut Cx, kind: Backing) -> CaseResult {
    let m =
        Mem::huge(2 << 20, 2 << 20, kind).setup(&format!("mmap 2 MiB ({kind:?} huge pages)"))?;
    touch_huge(&m, kind)?;
    let mut src = cx.ring()?;
    src.registrar()
        .register_buffers(&[Iov::Mem(m.all())])
        .setup("register the 2 MiB huge-page buffer in src")?;
    let mut dst = cx.ring()?;
    let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))?;
    for off in [0, 4096 - 32, (1 << 20) + 100, (2 << 20) - 64] {
        reads_into(cx, &mut dst, 0, &m, off)?;
    }
    src.registrar()
        .unregister_buffers()
        .setup("unregister src")?;
    reads_into(cx, &mut dst, 0, &m, (1 << 20) - 32)?;
    read_faults(cx, &mut src, 0, &m, 0)?;
    Ok(obs)
}

/// Clones a one-buffer pair, fills the buffer through `writer`'s slot (READ_FIXED from a
/// file), unregisters `writer`'s table (the call under test) and checks that `reader`'s
/// slot still holds those bytes (WRITE_FIXED to a file) while `writer`'s slot is gone.
fn unregister_one_side(cx: &mut Cx, unregister_src: bool) -> CaseResult {
    let (src, m, dst) = pair(cx, 1)?;
    dst.registrar()
        .clone_buffers(
            uring::register::CloneSrc::Fd(src.fd()),
            CloneFlags::NONE,
            0,
            0,
            0,
        )
        .setup("clone src into dst")?;
    let (mut writer, mut reader, side, other) = if unregister_src {
        (src, dst, "src", "dst")
    } else {
        (dst, src, "dst", "src")
    };
    reads_into(cx, &mut writer, 0, &m, 0x100)?;
    let wrote = m.read(0x100, 64);
    let obs = cx.sync(
        format!("io_uring_register({side}, UNREGISTER_BUFFERS) after filling slot 0 through it"),
        writer.registrar().unregister_buffers().map(|_| 0),
    )?;
    cx.check_eq(
        &format!("bytes WRITE_FIXED sends from {other}'s slot 0 at mem+0x100"),
        written_from(cx, &mut reader, 0, &m, 0x100)?,
        wrote,
    )?;
    read_faults(cx, &mut writer, 0, &m, 0x100)?;
    Ok(obs)
}

/// A ring with one registered page, made in a helper thread whose own credentials (a raw
/// setresuid(2), which changes only the calling thread) are the run's spare "another user"
/// uid (no task uses it; not the memlock rows' uid) without capabilities: its ring is
/// charged to that uid's user (`ctx->user`), under this process's RLIMIT_MEMLOCK (the row
/// needs fact memlock_64k).
fn ring_of_other_user(cx: &Cx) -> Result<(Ring, std::sync::Arc<Mem>), CaseError> {
    let Some(other) = cx.features().env.spare_uids.map(|u| u.another_user) else {
        return Err(CaseError::Broken(
            "no spare uid although can_drop_privileges holds".into(),
        ));
    };
    let made =
        uring_harness::resource::spawn_thread("another uid", move || -> Result<_, CaseError> {
            let u = other as libc::c_long;
            #[allow(unsafe_code)]
            // SAFETY: the raw syscall (not glibc's setresuid, which changes every thread) only
            // changes this helper thread's credentials; the thread ends after making the ring.
            let r = unsafe { libc::syscall(libc::SYS_setresuid, u, u, u) };
            if r < 0 {
                return Err(CaseError::Broken(format!(
                    "setresuid({other}) in a helper thread: {}",
                    E::last()
                )));
            }
            let setup = format!("io_uring_setup(4) as uid {other}");
            let ring = match Ring::new(4) {
                // With kernel.io_uring_disabled = 1 only io_uring_group and CAP_SYS_ADMIN may
                // create rings (io_uring.c:io_uring_allowed): the machine's policy, no answer.
                Err(E::EPERM) if io_uring_disabled_sysctl().is_some_and(|v| v > 0) => {
                    return Err(CaseError::Skip(uring_harness::SkipCause::NotPermitted {
                        what: format!(
                            "{setup} -> EPERM with kernel.io_uring_disabled = {}",
                            io_uring_disabled_sysctl().unwrap_or(0)
                        ),
                    }))
                }
                // ENOMEM: the helper's user is out of locked memory (a resource skip).
                r => r.setup(&setup)?,
            };
            let m = Mem::new(4096).setup("mmap")?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(m.slice(0, 4096))])
                .setup(&format!("register a page as uid {other}"))?;
            Ok((ring, m))
        })?;
    made.join()
        .map_err(|_| CaseError::Broken("helper thread panicked".into()))?
}

/// The rows.
pub const CASES: &[Case] = &[
    Case::new("clone_buffers::dst_replace_grows_populated_table")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (io_rsrc_data_alloc(max(nbufs, buf_table.nr)))")
                .man(CLONE3, "io_uring_clone_buffers_offset")
                .rows(&["clone_replace_grow"]),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 3)?;
            let (mut dst, dm) = ring_with_buffers(cx, 2)?;
            let obs = clone(cx, &dst, arg(src.fd(), REPLACE, 0, 1, 3))?;
            read_faults(cx, &mut dst, 1, &dm, 4096)?;
            table_is(
                cx,
                &mut dst,
                &[
                    Holds(&dm, 0),
                    Holds(&sm, 0),
                    Holds(&sm, 4096),
                    Holds(&sm, 2 * 4096),
                ],
            )?;
            Ok(obs)
        }),
    Case::new("clone_buffers::dst_replace_grows_past_a_gap")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers (slots between the old end and dst_off stay NULL)",
            )
            .man(CLONE3, "io_uring_clone_buffers_offset")
            .rows(&["clone_replace_grow"]),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 1)?;
            let (mut dst, dm) = ring_with_buffers(cx, 2)?;
            let obs = clone(cx, &dst, arg(src.fd(), REPLACE, 0, 3, 1))?;
            table_is(
                cx,
                &mut dst,
                &[
                    Holds(&dm, 0),
                    Holds(&dm, 4096),
                    Lacks(&sm, 0),
                    Holds(&sm, 0),
                ],
            )?;
            Ok(obs)
        }),
    Case::new("clone_buffers::dst_replace_posts_each_replaced_tag_once")
        .requires(TAGS_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers -> io_rsrc_data_free -> io_free_rsrc_node \
                 (io_post_aux_cqe(node->tag, 0, 0))",
            )
            .rows(&["clone_replace_tags"])
            .note(
                "the kept nodes get a reference in the new table, so freeing the old one posts \
                 only the replaced nodes' tags",
            ),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 3)?;
            let mut dst = cx.ring()?;
            let dm = cx.mem(4 * 4096)?;
            let iovs: Vec<Iov> = (0..4).map(|i| Iov::Mem(dm.slice(i * 4096, 4096))).collect();
            dst.registrar()
                .register_buffers_tagged(&iovs, &[0x7c0, 0x7c1, 0x7c2, 0x7c3])
                .setup("dst with four tagged buffers")?;
            let obs = clone(cx, &dst, arg(src.fd(), REPLACE, 1, 1, 2))?;
            let mut tags: Vec<(u64, i32, CqeFlags)> = cqes_before_nop(cx, &mut dst)?
                .iter()
                .map(|c| (c.user_data, c.res, c.flags))
                .collect();
            tags.sort_by_key(|t| t.0);
            cx.check_eq(
                "tag CQEs (user_data, res, flags) after replacing dst slots 1 and 2",
                tags,
                vec![(0x7c1, 0, CqeFlags::NONE), (0x7c2, 0, CqeFlags::NONE)],
            )?;
            table_is(
                cx,
                &mut dst,
                &[
                    Holds(&dm, 0),
                    Holds(&sm, 4096),
                    Holds(&sm, 2 * 4096),
                    Holds(&dm, 3 * 4096),
                ],
            )?;
            Ok(obs)
        }),
    Case::new("clone_buffers::dst_replace_tag_waits_for_inflight_read")
        .requires(TAGS_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_find_buf_node (node->refs++) / io_put_rsrc_node: a replaced node lives \
                 until the request using it ends",
            )
            .rows(&["clone_replace_tags"])
            .note(
                "the request keeps the old buffer: its bytes land there, and the old node's tag \
                 CQE comes only after the request's CQE",
            ),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 1)?;
            let mut dst = cx.ring()?;
            let dm = cx.mem(2 * 4096)?;
            dst.registrar()
                .register_buffers_tagged(
                    &[Iov::Mem(dm.slice(0, 4096)), Iov::Mem(dm.slice(4096, 4096))],
                    &[0x7d0, 0x7d1],
                )
                .setup("dst with two tagged buffers")?;
            let (r, mut w) = pipe()?;
            dst.push(
                uring::op::read_fixed(
                    fd(&r),
                    uring::op::Fixed {
                        addr: dm.addr() + 4096,
                        len: 64,
                        offset: 0,
                        buf_index: 1,
                    },
                )
                .user_data(0x5200),
            )
            .map_err(|e| CaseError::Broken(e.to_string()))?;
            dst.submit()
                .setup("io_uring_enter (READ_FIXED from an empty pipe into dst slot 1)")?;
            cx.check_eq(
                "CQEs before the clone (the read waits on the empty pipe)",
                cqes_before_nop(cx, &mut dst)?.len(),
                0,
            )?;
            let obs = clone(cx, &dst, arg(src.fd(), REPLACE, 0, 1, 1))?;
            cx.check_eq(
                "CQEs after replacing slot 1 while the read is in flight",
                cqes_before_nop(cx, &mut dst)?.len(),
                0,
            )?;
            let data = pattern(64, 0x44);
            std::io::Write::write_all(&mut w, &data).setup("write 64 bytes into the pipe")?;
            let got: Vec<(u64, i32, CqeFlags)> = cx
                .wait(&mut dst, 2)?
                .iter()
                .map(|c| (c.user_data, c.res, c.flags))
                .collect();
            cx.check_eq(
                "CQEs (user_data, res, flags) once the pipe has data",
                got,
                vec![(0x5200, 64, CqeFlags::NONE), (0x7d1, 0, CqeFlags::NONE)],
            )?;
            cx.check_eq(
                "the old slot-1 buffer (dm+0x1000) after the read",
                dm.read(4096, 64),
                data,
            )?;
            cx.check_eq(
                "the new slot-1 buffer (src's) after the read",
                sm.read(0, 64),
                vec![0; 64],
            )?;
            table_is(cx, &mut dst, &[Holds(&dm, 0), Holds(&sm, 0)])?;
            Ok(obs)
        }),
    Case::new("clone_buffers::src_registered_with_dst_replace")
        .requires(&[
            Feature::CloneRanges,
            Feature::RegRegRing,
            Feature::OpReadWriteFixed,
        ])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_register_clone_buffers (io_uring_ctx_get_file(src_fd, registered)) -> \
                 io_clone_buffers",
            )
            .man(CLONE3, "IORING_REGISTER_SRC_REGISTERED")
            .rows(&["clone_src_registered_replace"]),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 2)?;
            let (mut dst, dm) = ring_with_buffers(cx, 2)?;
            let idx =
                register_ring_fd_of(src.fd()).setup("register the source ring fd (RING_FDS)")?;
            let obs = clone(
                cx,
                &dst,
                arg(idx as i32, CloneFlags::SRC_REGISTERED | REPLACE, 1, 0, 1),
            );
            unregister_ring_fd(src.fd(), idx).setup("unregister the source ring fd")?;
            let obs = obs?;
            read_faults(cx, &mut dst, 0, &dm, 0)?;
            table_is(cx, &mut dst, &[Holds(&sm, 4096), Holds(&dm, 4096)])?;
            Ok(obs)
        }),
    Case::new("clone_buffers::nr_zero_replace_keeps_longer_tail")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers (!arg->nr -> nr = nbufs; nodes from nbufs on are kept)",
            )
            .man(CLONE3, "io_uring_clone_buffers_offset (nr 0: all)")
            .rows(&["clone_nr_zero_all"])
            .note(
                "io_uring_clone_buffers.3: with all three 0 the _offset call 'performs the same \
                 action' as a full clone, after which both rings 'have the same set of registered \
                 buffers'; with DST_REPLACE into a longer table the kernel keeps the \
                 destination's slots from the source's size on",
            ),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 2)?;
            let (mut dst, dm) = ring_with_buffers(cx, 4)?;
            let obs = clone(cx, &dst, arg(src.fd(), REPLACE, 0, 0, 0))?;
            table_is(
                cx,
                &mut dst,
                &[
                    Holds(&sm, 0),
                    Holds(&sm, 4096),
                    Holds(&dm, 2 * 4096),
                    Holds(&dm, 3 * 4096),
                ],
            )?;
            Ok(obs)
        }),
    Case::new("clone_buffers::src_range_ends_at_src_end")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (src_off + nr > nbufs: equal is allowed)")
                .rows(&["clone_src_range_end"]),
        )
        .run(|cx| {
            let (src, sm, mut dst) = pair(cx, 3)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 1, 0, 2))?;
            table_is(cx, &mut dst, &[Holds(&sm, 4096), Holds(&sm, 2 * 4096)])?;
            Ok(obs)
        }),
    Case::new("clone_buffers::empty_src_slots_cloned_empty")
        .requires(CB_FIXED)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers (NULL node; 6.12: dummy_ubuf) -> io_find_buf_node / \
                 io_import_fixed",
            )
            .rows(&["clone_empty_slots", "rwf_sparse_slot"]),
        )
        .run(|cx| {
            let src = cx.ring()?;
            let sm = cx.mem(2 * 4096)?;
            src.registrar()
                .register_buffers(&[
                    Iov::Mem(sm.slice(0, 4096)),
                    Iov::Empty,
                    Iov::Mem(sm.slice(4096, 4096)),
                    Iov::Empty,
                ])
                .setup("src {page, empty, page, empty}")?;
            let mut dst = cx.ring()?;
            dst.registrar()
                .clone_buffers(
                    uring::register::CloneSrc::Fd(src.fd()),
                    CloneFlags::NONE,
                    0,
                    0,
                    0,
                )
                .setup("full clone into dst")?;
            table_is(
                cx,
                &mut dst,
                &[
                    Holds(&sm, 0),
                    Lacks(&sm, 0),
                    Holds(&sm, 4096),
                    Lacks(&sm, 0),
                ],
            )?;
            let (f, _) = data_file(cx, 64, 3)?;
            let c = cx.submit_one(
                &mut dst,
                uring::op::read_fixed(
                    fd(&f),
                    uring::op::Fixed {
                        addr: sm.addr(),
                        len: 64,
                        offset: 0,
                        buf_index: 1,
                    },
                )
                .user_data(0x5109),
            )?;
            cx.check_eq(
                "mem after READ_FIXED into the empty slot 1",
                sm.read(0, 64),
                pattern(64, 11),
            )?;
            cx.observe(c, "into dst slot 1, the clone of src's empty slot 1")
        }),
    Case::new("clone_buffers::sparse_src_cloned_sparse")
        .requires(&[
            Feature::CloneBuffers,
            Feature::SparseBuffers,
            Feature::OpReadWriteFixed,
        ])
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers (NULL node; 6.12: dummy_ubuf) -> io_find_buf_node / \
                 io_import_fixed",
            )
            .rows(&["clone_empty_slots", "rwf_sparse_slot"]),
        )
        .run(|cx| {
            let src = cx.ring()?;
            src.registrar()
                .register_buffers_sparse(3)
                .setup("sparse src table of 3")?;
            let sm = cx.mem(4096)?;
            src.registrar()
                .update_buffers(1, &[Iov::Mem(sm.slice(0, 4096))], &[])
                .setup("a buffer in src slot 1")?;
            let mut dst = cx.ring()?;
            dst.registrar()
                .clone_buffers(
                    uring::register::CloneSrc::Fd(src.fd()),
                    CloneFlags::NONE,
                    0,
                    0,
                    0,
                )
                .setup("full clone into dst")?;
            table_is(cx, &mut dst, &[Lacks(&sm, 0), Holds(&sm, 0), Lacks(&sm, 0)])?;
            let (f, _) = data_file(cx, 64, 5)?;
            let c = cx.submit_one(
                &mut dst,
                uring::op::read_fixed(
                    fd(&f),
                    uring::op::Fixed {
                        addr: sm.addr(),
                        len: 64,
                        offset: 0,
                        buf_index: 2,
                    },
                )
                .user_data(0x510a),
            )?;
            cx.check_eq(
                "mem after READ_FIXED into the empty slot 2",
                sm.read(0, 64),
                pattern(64, 12),
            )?;
            cx.observe(c, "into dst slot 2, the clone of src's sparse empty slot 2")
        }),
    Case::new("clone_buffers::thp_buffer_cloned")
        .requires(CB_FIXED)
        .needs(&[Fact::TransparentHugepages])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers -> io_buffer_acct_cloned_hpages (coalesced folio, imu \
                 shared)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_hugepage"]),
        )
        .run(|cx| huge_clone(cx, Backing::Thp)),
    Case::new("clone_buffers::hugetlb_buffer_cloned")
        .requires(CB_FIXED)
        .needs(&[Fact::HugetlbPages])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers -> io_buffer_acct_cloned_hpages (coalesced folio, imu \
                 shared)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_hugepage"]),
        )
        .run(|cx| huge_clone(cx, Backing::Hugetlb)),
    Case::new("clone_buffers::src_of_another_user")
        .requires(CB)
        .needs(&[Fact::CapIpcLock, Fact::CanDropPrivileges, Fact::Memlock64K])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (ctx->user != src_ctx->user)")
                .man(CLONE3, "NOTES")
                .rows(&["clone_acct_mismatch"])
                .note(
                    "io_uring_clone_buffers.3 NOTES asks only for a shared address space, and \
                     lists no EINVAL; the kernel also wants the same accounting user: here the \
                     same mm, the source ring made by a thread running as another uid without \
                     CAP_IPC_LOCK, the destination by one with it (ctx->user NULL)",
                ),
        )
        .run(|cx| {
            let (src, _m) = ring_of_other_user(cx)?;
            let dst = cx.ring()?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_unregistered_dst_holds_same_bytes")
        .requires(CB_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_unmap (imu->refs: the pages stay pinned for the other ring)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_shared_after_unregister"]),
        )
        .run(|cx| unregister_one_side(cx, true)),
    Case::new("clone_buffers::dst_unregistered_src_holds_same_bytes")
        .requires(CB_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_unmap (imu->refs: the pages stay pinned for the other ring)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_shared_after_unregister"]),
        )
        .run(|cx| unregister_one_side(cx, false)),
];
