//! §2.2 continued: what a clone leaves in the destination table, checked by I/O through
//! every slot. DST_REPLACE growing a populated table, the tags of replaced nodes, a
//! registered source fd, `nr` 0 with DST_REPLACE, empty source slots. Huge-page buffers,
//! another user's source and pages shared after either side unregisters are in
//! [`crate::clone_sharing`].

use crate::common::clone::{
    arg, clone, pair, table_is,
    Slot::{Holds, Lacks},
    CB_FIXED, CLONE3, CR_FIXED,
};
use crate::common::*;
use uring::abi::{CloneFlags, CqeFlags};
use uring::register::{register_ring_fd_of, unregister_ring_fd, Iov};
use uring::{Cqe, Ring};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Feature, Setup};

const REPLACE: CloneFlags = CloneFlags::DST_REPLACE;
const TAGS_FIXED: &[Feature] = &[
    Feature::CloneRanges,
    Feature::RsrcTags,
    Feature::OpReadWriteFixed,
];

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

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
];
