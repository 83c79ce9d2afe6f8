//! §1.3: BUFFERS_UPDATE (with tags), and what a tag CQE and an in-flight request on a
//! replaced buffer do. UNREGISTER_BUFFERS is in [`crate::unregister_buffers`].

use crate::common::buffers::{complete_pipe_read, read_fixed_on_pipe, two_untagged, up, update};
use crate::common::*;
use std::time::Duration;
use uring::abi::{CqeFlags, RegisterOp};
use uring::register::{ArgPtr, ArrayArg, BuffersUpdate, Iov};
use uring::ForeignAddr;
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The update, tag and unregister rows.
pub const CASES: &[Case] = &[
    // ---- §1.3 BUFFERS_UPDATE ----
    Case::new("register_buffers_update::nr_args_not_struct_size")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_size"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let p = [page(cx)?];
            update(cx, &ring, up(0, &p), RR + 1)
        }),
    Case::new("register_buffers_update::arg_unmapped")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_fault"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            register_raw(
                cx,
                &ring,
                RegisterOp::BUFFERS_UPDATE,
                ArgPtr::Foreign(ForeignAddr::LOW),
                RR,
            )
        }),
    Case::new("register_buffers_update::nr_zero")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_bad_fields"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let p = [page(cx)?];
            update(cx, &ring, BuffersUpdate { nr: 0, ..up(0, &p) }, RR)
        }),
    Case::new("register_buffers_update::resv_set")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_bad_fields"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let p = [page(cx)?];
            update(
                cx,
                &ring,
                BuffersUpdate {
                    resv: 1,
                    ..up(0, &p)
                },
                RR,
            )
        }),
    Case::new("register_buffers_update::resv2_set")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_bad_fields"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let p = [page(cx)?];
            update(
                cx,
                &ring,
                BuffersUpdate {
                    resv2: 1,
                    ..up(0, &p)
                },
                RR,
            )
        }),
    Case::new("register_buffers_update::offset_plus_nr_wraps")
        .requires(RSRC)
        .expect(Expect::errno(E::EOVERFLOW))
        .cite(Cite::kernel("rsrc.c:__io_register_rsrc_update").rows(&["bufup_off_overflow"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let p = [page(cx)?, page(cx)?];
            update(cx, &ring, up(u32::MAX, &p), RR)
        }),
    Case::new("register_buffers_update::no_table")
        .requires(RSRC)
        .expect(Expect::errno(E::ENXIO))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update")
                .rows(&["bufup_no_table"])
                .note("register.2 documents ENXIO only for unregister"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            update(cx, &ring, up(0, &p), RR)
        }),
    Case::new("register_buffers_update::range_past_table")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update").rows(&["bufup_range"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 2)?;
            let p = [page(cx)?, page(cx)?];
            update(cx, &ring, up(1, &p), RR)
        }),
    Case::new("register_buffers_update::tag_on_empty")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update").rows(&["bufup_tag_on_empty"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let e = [Iov::Empty];
            let tags = [7u64];
            update(
                cx,
                &ring,
                BuffersUpdate {
                    tags: ArrayArg::Values(&tags),
                    ..up(0, &e)
                },
                RR,
            )
        }),
    Case::new("register_buffers_update::tags_unmapped")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update (copy_from_user tags)")
                .rows(&["bufup_entry_invalid"]),
        )
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let p = [page(cx)?];
            let u = BuffersUpdate {
                tags: ArrayArg::Ptr(ArgPtr::Foreign(ForeignAddr::LOW)),
                ..up(0, &p)
            };
            update(cx, &ring, u, RR)
        }),
    Case::new("register_buffers_update::first_entry_null_base")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update -> io_sqe_buffer_register")
                .rows(&["bufup_entry_invalid"]),
        )
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            update(
                cx,
                &ring,
                up(0, &[Iov::Foreign(ForeignAddr::NULL, 4096)]),
                RR,
            )
        }),
    Case::new("register_buffers_update::first_entry_zero_len")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update -> io_validate_user_buf_range")
                .rows(&["bufup_entry_invalid"]),
        )
        .run(|cx| {
            let (ring, m) = ring_with_buffers(cx, 1)?;
            update(cx, &ring, up(0, &[Iov::MemLen(m.slice(0, 4096), 0)]), RR)
        }),
    Case::new("register_buffers_update::partial_success")
        .requires(&[Feature::RsrcTags, Feature::OpReadWriteFixed])
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update (return done ? done : err)")
                .rows(&["bufup_partial"]),
        )
        .run(|cx| {
            let (mut ring, _old) = ring_with_buffers(cx, 2)?;
            let new = cx.mem(4096)?;
            let iovs = [
                Iov::Mem(new.slice(0, 4096)),
                Iov::Foreign(ForeignAddr::LOW, 4096),
            ];
            let obs = update(cx, &ring, up(0, &iovs), RR)?;
            // Another answer (ENOMEM under a shared memlock quota, or a wrong one) is judged
            // as such: the effects below hold only after entry 0 went in.
            if obs.answer != uring_harness::Answer::Sync(Ok(1)) {
                return Ok(obs);
            }
            let (f, data) = data_file(cx, 64, 4)?;
            let c = read_fixed(cx, &mut ring, fd(&f), new.addr(), 64, 0)?;
            cx.check_eq("READ_FIXED into the updated slot 0", c.res, 64)?;
            cx.check_eq("bytes in the new buffer of slot 0", new.read(0, 64), data)?;
            // Slot 1, past the bad entry, kept its buffer.
            reads_into(cx, &mut ring, 1, &_old, 4096)?;
            Ok(obs)
        }),
    Case::new("register_buffers_update::replaced_tag_posts_cqe")
        .requires(RSRC)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:io_free_rsrc_node / io_rsrc_put_work")
                .man(REG, "IORING_REGISTER_BUFFERS2 (tags)")
                .rows(&["bufup_tag_cqe"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, b) = (page(cx)?, page(cx)?);
            ring.registrar()
                .register_buffers_tagged(&[a, Iov::Empty], &[0xa11ce, 0])
                .setup("register a tagged buffer")?;
            let n = ring
                .registrar()
                .update_buffers(0, &[b], &[0])
                .setup("replace slot 0")?;
            cx.check_eq("entries updated", n, 1)?;
            let cqes = cx.wait(&mut ring, 1)?;
            cx.check_eq("CQEs after replacing one tagged slot", cqes.len(), 1)?;
            cx.check_eq("tag CQE user_data", cqes[0].user_data, 0xa11ce)?;
            cx.cqe(
                "BUFFERS_UPDATE replacing slot 0 (tag 0xa11ce) -> tag CQE",
                cqes[0],
            )
        }),
    Case::new("unregister_buffers::tag_cqes")
        .requires(RSRC)
        .expect(Expect::by_level(
            &level::UNREGISTER_POSTS_TAGS,
            Want::ok(1),
            Want::ok(0),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_free_rsrc_node (7.x) / io_rsrc_data_free")
                .man(REG, "IORING_REGISTER_BUFFERS2 (tags)")
                .rows(&["bufup_tag_cqe"])
                .note(
                    "catalogue §1.6 says unregister posts tag CQEs; in the 6.1 and 6.12 sources \
                     only update/replace does; the 6.13 rsrc rework (blind_register marks it) \
                     posts them on unregister too",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, b) = (page(cx)?, page(cx)?);
            ring.registrar()
                .register_buffers_tagged(&[a, b], &[0, 0xb0b])
                .setup("register two buffers, one tagged")?;
            ring.registrar().unregister_buffers().setup("unregister")?;
            let cqes = cx.settle(&mut ring, Duration::from_millis(50));
            cx.check(
                cqes.iter()
                    .all(|c| c.user_data == 0xb0b && c.res == 0 && c.flags == CqeFlags::NONE),
                || format!("unexpected CQEs: {cqes:?}"),
            )?;
            cx.sync(
                "UNREGISTER_BUFFERS of slots tagged {0, 0xb0b}, then count tag CQEs {0xb0b, 0, 0}",
                Ok::<i64, E>(cqes.len() as i64),
            )
        }),
    Case::new("register_buffers_update::update_tag_posted_on_replace")
        .requires(&[Feature::RsrcTags, Feature::OpReadWriteFixed])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update (node->tag) / io_free_rsrc_node")
                .man(REG, "IORING_REGISTER_BUFFERS_UPDATE (tags)")
                .rows(&["bufup_update_tag"]),
        )
        .run(|cx| {
            let (mut ring, m, pages) = two_untagged(cx, 5)?;
            let n = ring
                .registrar()
                .update_buffers(0, &pages[2..4], &[0x10, 0x11])
                .setup("give slots 0 and 1 new buffers tagged 0x10, 0x11")?;
            cx.check_eq("entries updated with tags", n, 2)?;
            no_cqes(cx, &mut ring, "replacing two untagged slots")?;
            reads_into(cx, &mut ring, 0, &m, 2 * 4096)?;
            let n = ring
                .registrar()
                .update_buffers(0, &pages[4..], &[0])
                .setup("replace slot 0 again")?;
            cx.check_eq("entries updated", n, 1)?;
            let mut cqes = cx.wait(&mut ring, 1)?;
            cqes.extend(cx.settle(&mut ring, Duration::from_millis(20)));
            cx.check_eq(
                "CQEs after replacing slot 0 (tag 0x10; slot 1 tagged 0x11 kept)",
                cqes.iter().map(|c| c.user_data).collect::<Vec<_>>(),
                vec![0x10],
            )?;
            cx.cqe(
                "BUFFERS_UPDATE replacing slot 0, whose tag 0x10 an update gave -> tag CQE",
                cqes[0],
            )
        }),
    Case::new("register_buffers_update::in_flight_read_keeps_old_buffer")
        .requires(&[Feature::RsrcTags, Feature::OpReadWriteFixed])
        .expect(Expect::ok(1))
        .cite(
            Cite::kernel(
                "rsrc.c:__io_sqe_buffers_update (io_reset_rsrc_node) / io_put_rsrc_node (the \
                 request's reference)",
            )
            .rows(&["bufup_inflight"])
            .note(
                "the request keeps the buffer it was issued with; the old buffer's tag is posted \
                 only when that request drops it",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, b) = (cx.mem(4096)?, cx.mem(4096)?);
            ring.registrar()
                .register_buffers_tagged(&[Iov::Mem(a.all())], &[0x77])
                .setup("register buffer A tagged 0x77")?;
            let (r, w) = pipe()?;
            read_fixed_on_pipe(cx, &mut ring, &r, a.addr())?;
            let nb = [Iov::Mem(b.all())];
            let obs = update(cx, &ring, up(0, &nb), RR)?;
            no_cqes(
                cx,
                &mut ring,
                "the tag of buffer A while a READ_FIXED into it waits",
            )?;
            let cqes = complete_pipe_read(cx, &mut ring, &w, &a, 2)?;
            cx.check_eq(
                "CQEs in order: the read, then A's tag",
                cqes.iter()
                    .map(|c| (c.user_data, c.flags))
                    .collect::<Vec<_>>(),
                vec![(9, CqeFlags::NONE), (0x77, CqeFlags::NONE)],
            )?;
            cx.check_eq("tag CQE res", cqes[1].res, 0)?;
            cx.check_eq(
                "buffer B (the slot's new buffer), untouched",
                b.read(0, 8),
                vec![0; 8],
            )?;
            Ok(uring_harness::Observation {
                call: format!("{} while a READ_FIXED on slot 0 waits on a pipe", obs.call),
                ..obs
            })
        }),
    Case::new("register_buffers_update::sparse_slot_then_io")
        .requires(&[
            Feature::SparseBuffers,
            Feature::RsrcTags,
            Feature::OpReadWriteFixed,
        ])
        .expect(Expect::cqe(64, CqeFlags::NONE))
        .cite(
            Cite::kernel("rsrc.c:__io_sqe_buffers_update / io_find_buf_node")
                .rows(&["bufup_sparse_io"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            ring.registrar()
                .register_buffers_sparse(4)
                .setup("sparse table of 4")?;
            let m = cx.mem(4096)?;
            cx.check_step(
                "BUFFERS_UPDATE of slot 2",
                ring.registrar()
                    .update_buffers(2, &[Iov::Mem(m.all())], &[]),
                1,
            )?;
            let (f, data) = data_file(cx, 64, 5)?;
            let c = read_fixed(cx, &mut ring, fd(&f), m.addr(), 64, 2)?;
            let want = if c.res == 64 { data } else { vec![0; 64] };
            cx.check_eq("bytes read through slot 2", m.read(0, 64), want)?;
            cx.observe(
                c,
                "through slot 2 of a sparse table, filled by BUFFERS_UPDATE",
            )
        }),
    Case::new("register_buffers_update::cleared_slot_is_empty")
        .requires(&[Feature::RsrcTags, Feature::OpReadWriteFixed])
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel(
                "rsrc.c:io_find_buf_node -> io_rsrc_node_lookup (NULL) / io_import_reg_buf",
            )
            .rows(&["bufup_clear_slot"])
            .note(
                "registered_buffers.7: an update with {NULL, 0} removes a buffer; the slot is \
                 then empty, EFAULT like a sparse one",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 2)?;
            cx.check_eq(
                "BUFFERS_UPDATE of slot 1 with {NULL, 0}",
                ring.registrar().update_buffers(1, &[Iov::Empty], &[]),
                Ok(1),
            )?;
            reads_into(cx, &mut ring, 0, &m, 0)?;
            let (f, _) = data_file(cx, 64, 6)?;
            let c = read_fixed(cx, &mut ring, fd(&f), m.addr() + 4096, 8, 1)?;
            cx.check_eq("the old buffer of slot 1", m.read(4096, 8), vec![0; 8])?;
            cx.observe(
                c,
                "into slot 1, cleared by BUFFERS_UPDATE {NULL, 0}, at its old address",
            )
        }),
];
