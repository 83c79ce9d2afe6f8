//! §1.2: IORING_REGISTER_BUFFERS2 (+ SPARSE, tags), with the effect of each successful
//! registration. REGISTER_BUFFERS is in [`crate::register_buffers`].

use crate::common::buffers::{b2, buffers2};
use crate::common::*;
use uring::abi::{RegisterOp, RsrcRegisterFlags};
use uring::register::{ArgPtr, ArrayArg, Buffers2, Iov};
use uring::ForeignAddr;
use uring_harness::{Case, Cite, Expect, Feature};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The registered-buffer rows.
pub const CASES: &[Case] = &[
    // ---- §1.2 BUFFERS2 ----
    Case::new("register_buffers2::nr_args_not_struct_size")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_register_rsrc")
                .man(REG, "IORING_REGISTER_BUFFERS2 (nr_args = sizeof)")
                .rows(&["buf2_size"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            buffers2(cx, &ring, b2(&p), RR - 1)
        }),
    Case::new("register_buffers2::arg_unmapped")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").rows(&["buf2_fault"]))
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(
                cx,
                &ring,
                RegisterOp::BUFFERS2,
                ArgPtr::Foreign(ForeignAddr::LOW),
                RR,
            )
        }),
    Case::new("register_buffers2::nr_zero")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").rows(&["buf2_nr_zero"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            buffers2(cx, &ring, Buffers2 { nr: 0, ..b2(&p) }, RR)
        }),
    Case::new("register_buffers2::resv2_set")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").rows(&["buf2_resv2"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            buffers2(cx, &ring, Buffers2 { resv2: 1, ..b2(&p) }, RR)
        }),
    Case::new("register_buffers2::unknown_flag")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_register_rsrc")
                .man(REG, "IORING_REGISTER_BUFFERS2")
                .rows(&["buf2_flags"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            buffers2(
                cx,
                &ring,
                Buffers2 {
                    flags: RsrcRegisterFlags(2),
                    ..b2(&p)
                },
                RR,
            )
        }),
    Case::new("register_buffers2::sparse_with_data")
        .requires(&[Feature::SparseBuffers])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_register_rsrc")
                .man(
                    REG,
                    "IORING_RSRC_REGISTER_SPARSE (data and tags must be NULL)",
                )
                .rows(&["buf2_sparse_with_data"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            buffers2(
                cx,
                &ring,
                Buffers2 {
                    flags: RsrcRegisterFlags::SPARSE,
                    ..b2(&p)
                },
                RR,
            )
        }),
    Case::new("register_buffers2::sparse_with_tag")
        .requires(&[Feature::SparseBuffers])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (tag && !node)")
                .rows(&["buf2_tag_on_empty"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let tags = [0, 5u64];
            buffers2(
                cx,
                &ring,
                Buffers2 {
                    nr: 2,
                    flags: RsrcRegisterFlags::SPARSE,
                    resv2: 0,
                    data: ArrayArg::NULL,
                    tags: ArrayArg::Values(&tags),
                },
                RR,
            )
        }),
    Case::new("register_buffers2::sparse_with_zero_tags")
        .requires(&[Feature::SparseBuffers])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register")
                .rows(&["buf2_tag_on_empty"])
                .note(
                    "register.2 says data and tags must be NULL with SPARSE; an all-zero tags \
                     array is accepted",
                ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let tags = [0u64, 0];
            buffers2(
                cx,
                &ring,
                Buffers2 {
                    nr: 2,
                    flags: RsrcRegisterFlags::SPARSE,
                    resv2: 0,
                    data: ArrayArg::NULL,
                    tags: ArrayArg::Values(&tags),
                },
                RR,
            )
        }),
    Case::new("register_buffers2::tag_on_empty_iovec")
        .requires(RSRC)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (tag && !node)")
                .rows(&["buf2_tag_on_empty"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let iovs = [Iov::Empty];
            let tags = [9u64];
            buffers2(
                cx,
                &ring,
                Buffers2 {
                    tags: ArrayArg::Values(&tags),
                    ..b2(&iovs)
                },
                RR,
            )
        }),
    Case::new("register_buffers2::tags_unmapped")
        .requires(RSRC)
        .expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register").rows(&["buf2_tags_fault"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let p = [page(cx)?];
            buffers2(
                cx,
                &ring,
                Buffers2 {
                    tags: ArrayArg::Ptr(ArgPtr::Foreign(ForeignAddr::LOW)),
                    ..b2(&p)
                },
                RR,
            )
        }),
    Case::new("register_buffers2::data_null_without_sparse_is_sparse")
        .requires(&[Feature::SparseBuffers, Feature::OpReadWriteFixed])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (if (!arg) memset)")
                .rows(&["buf2_data_null_no_flag"])
                .note(
                    "undocumented: data = NULL without the SPARSE flag also creates an all-empty \
                     table",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let obs = buffers2(
                cx,
                &ring,
                Buffers2 {
                    nr: 2,
                    flags: RsrcRegisterFlags::NONE,
                    resv2: 0,
                    data: ArrayArg::NULL,
                    tags: ArrayArg::NULL,
                },
                RR,
            )?;
            let (f, _) = data_file(cx, 64, 1)?;
            let c = read_fixed(cx, &mut ring, fd(&f), 0, 8, 1)?;
            cx.check_eq(
                "READ_FIXED into slot 1 of the empty table",
                c.res,
                -libc::EFAULT,
            )?;
            Ok(obs)
        }),
];
