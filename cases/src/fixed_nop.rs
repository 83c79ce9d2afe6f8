//! IORING_OP_NOP with IORING_NOP_FIXED_BUFFER / FIXED_FILE (6.13): the lookups a NOP makes
//! in the registered buffer and file tables, and their answers; what its other flags post
//! (an injected result, a 32-byte CQE) and when a plain NOP's CQE is visible. READV_FIXED /
//! WRITEV_FIXED are in [`crate::fixed_ops`].

use crate::common::*;
use uring::abi::{CqeFlags, NopFlags, SetupFlags, SqeFlags};
use uring::register::Iov;
use uring::{op, Mem, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup, Want};

/// A fresh ring prepared by `setup`, and a NOP with `flags` and the injected result 77.
fn nop_setup(
    cx: &Cx,
    flags: NopFlags,
    fd: i32,
    buf_index: u16,
    setup: impl FnOnce(&Ring) -> Result<(), CaseError>,
) -> Result<(Ring, uring::Sqe), CaseError> {
    let ring = cx.ring()?;
    setup(&ring)?;
    let sqe = op::nop_with(
        flags | NopFlags::INJECT_RESULT,
        op::NopArgs {
            fd,
            len: 77,
            buf_index,
            extra: [0; 2],
        },
    )
    .user_data(1);
    Ok((ring, sqe))
}

/// A NOP with `flags` (the injected result 77), observed after `setup` prepared the ring.
fn nop_case(
    cx: &Cx,
    flags: NopFlags,
    fd: i32,
    buf_index: u16,
    setup: impl FnOnce(&Ring) -> Result<(), CaseError>,
    what: &str,
) -> CaseResult {
    let (mut ring, sqe) = nop_setup(cx, flags, fd, buf_index, setup)?;
    let c = cx.submit_one(&mut ring, sqe)?;
    cx.observe(c, &format!("(injected result 77) {what}"))
}

/// Like [`nop_case`] for a lookup that must fail, with a NOP linked after it: a failed
/// lookup fails the request (req_set_fail) on every kernel that looks it up, so the linked
/// NOP must complete -ECANCELED.
fn nop_failing_lookup(
    cx: &Cx,
    flags: NopFlags,
    fd: i32,
    buf_index: u16,
    setup: impl FnOnce(&Ring) -> Result<(), CaseError>,
    what: &str,
) -> CaseResult {
    let (ring, sqe) = nop_setup(cx, flags, fd, buf_index, setup)?;
    linked_failing_lookup(cx, ring, sqe, what)
}

/// Submits `sqe` (a NOP whose lookup must fail) linked to a NOP, and checks the link fails.
fn linked_failing_lookup(cx: &Cx, mut ring: Ring, sqe: uring::Sqe, what: &str) -> CaseResult {
    let first = sqe.add_flags(SqeFlags::IO_LINK);
    let cqes = cx.submit_batch(&mut ring, vec![first, op::nop().user_data(2)], 2)?;
    let linked = cqes.iter().find(|c| c.user_data == 2).map(|c| c.res);
    cx.check_eq(
        "the linked NOP's res (the failed lookup fails the link)",
        linked,
        Some(-libc::ECANCELED),
    )?;
    let c = cqes
        .into_iter()
        .find(|c| c.user_data == 1)
        .ok_or_else(|| CaseError::Fail("no CQE for the NOP under test".into()))?;
    cx.observe(c, &format!("(injected result 77, IO_LINK to a NOP) {what}"))
}

fn one_buffer(r: &Ring) -> Result<(), CaseError> {
    r.registrar()
        .register_buffers(&[Iov::Mem(Mem::new(4096).setup("mmap")?.slice(0, 4096))])
        .setup("register one buffer")
}

fn dev_null_table(r: &Ring) -> Result<(), CaseError> {
    let f = dev_null(false)?;
    r.registrar()
        .register_files(&[fd(&f)])
        .setup("register /dev/null as slot 0")
}

const NOP_FILE_ERR: Expect = Expect::by_level(
    &level::NOP_POSTS_LOOKUP_ERRORS,
    Want::cqe_errno(E::EBADF),
    Want::res(77),
);

const NOP_BUF_ERR: Expect = Expect::by_level(
    &level::NOP_POSTS_LOOKUP_ERRORS,
    Want::cqe_errno(E::EFAULT),
    Want::res(77),
);

const NOP_OK: Expect = Expect::by_level(
    &level::NOP_RSRC_FLAGS,
    Want::res(77),
    Want::cqe_errno(E::EINVAL),
);

const NOP_NOTE: &str = "from 6.13 to 7.1 a failed lookup only marked the request failed and \
                        posted nop->result; \"io_uring/nop: pass all errors to userspace\" posts \
                        the errno";

/// A NOP with `flags` | INJECT_RESULT, the result `len` and the CQE32 words `extra`.
fn injecting_nop(flags: NopFlags, len: u32, extra: [u64; 2], user_data: u64) -> uring::Sqe {
    op::nop_with(
        flags | NopFlags::INJECT_RESULT,
        op::NopArgs {
            len,
            extra,
            ..Default::default()
        },
    )
    .user_data(user_data)
}

/// The two `big_cqe` words the CQE32 rows pass in `off` and `addr`.
const CQE32_WORDS: [u64; 2] = [0x1111_2222_3333_4444, 0x5555_6666_7777_8888];

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("nop::fixed_buffer_valid")
        .expect(NOP_OK)
        .cite(Cite::kernel("nop.c:io_nop -> rsrc.c:io_find_buf_node").rows(&["nop_fixed_buffer"]))
        .run(|cx| {
            nop_case(
                cx,
                NopFlags::FIXED_BUFFER,
                0,
                0,
                one_buffer,
                "with buffer 0 registered",
            )
        }),
    Case::new("nop::fixed_buffer_index_out_of_range")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(NOP_BUF_ERR)
        .cite(
            Cite::kernel("nop.c:io_nop (io_find_buf_node NULL: -EFAULT)")
                .rows(&["nop_fixed_buffer", "nop_fail_links"])
                .note(NOP_NOTE),
        )
        .run(|cx| {
            nop_failing_lookup(
                cx,
                NopFlags::FIXED_BUFFER,
                0,
                1,
                one_buffer,
                "with buf_index 1 of a 1-slot table",
            )
        }),
    Case::new("nop::fixed_buffer_empty_slot")
        .requires(&[Feature::SparseBuffers])
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(NOP_BUF_ERR)
        .cite(
            Cite::kernel("nop.c:io_nop -> io_rsrc_node_lookup (empty slot)")
                .rows(&["nop_fixed_buffer"])
                .note(NOP_NOTE),
        )
        .run(|cx| {
            nop_failing_lookup(
                cx,
                NopFlags::FIXED_BUFFER,
                0,
                0,
                |r| {
                    r.registrar()
                        .register_buffers_sparse(1)
                        .setup("sparse table of 1")
                },
                "with slot 0 of a sparse table",
            )
        }),
    Case::new("nop::fixed_file_valid")
        .expect(NOP_OK)
        .cite(Cite::kernel("nop.c:io_nop -> io_file_get_fixed").rows(&["nop_fixed_file"]))
        .run(|cx| {
            nop_case(
                cx,
                NopFlags::FILE | NopFlags::FIXED_FILE,
                0,
                0,
                dev_null_table,
                "with fixed file 0 registered",
            )
        }),
    Case::new("nop::fixed_file_index_out_of_range")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(NOP_FILE_ERR)
        .cite(
            Cite::kernel("nop.c:io_nop (io_file_get_fixed NULL: -EBADF)")
                .rows(&["nop_fixed_file", "nop_fail_links"])
                .note(NOP_NOTE),
        )
        .run(|cx| {
            nop_failing_lookup(
                cx,
                NopFlags::FILE | NopFlags::FIXED_FILE,
                1,
                0,
                dev_null_table,
                "with fd 1 of a 1-slot file table",
            )
        }),
    Case::new("nop::fixed_file_empty_slot")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(NOP_FILE_ERR)
        .cite(
            Cite::kernel("nop.c:io_nop -> io_file_get_fixed (empty slot)")
                .rows(&["nop_fixed_file"])
                .note(NOP_NOTE),
        )
        .run(|cx| {
            nop_failing_lookup(
                cx,
                NopFlags::FILE | NopFlags::FIXED_FILE,
                0,
                0,
                |r| {
                    r.registrar()
                        .register_files(&[-1])
                        .setup("an empty file table")
                },
                "with fixed-file slot 0 empty",
            )
        }),
    Case::new("nop::file_valid")
        .expect(NOP_OK)
        .cite(Cite::kernel("nop.c:io_nop -> io_file_get_normal").rows(&["nop_file"]))
        .run(|cx| {
            let f = dev_null(false)?;
            nop_case(
                cx,
                NopFlags::FILE,
                fd(&f),
                0,
                |_| Ok(()),
                "with fd /dev/null",
            )
        }),
    Case::new("nop::file_not_open")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(NOP_FILE_ERR)
        .cite(
            Cite::kernel("nop.c:io_nop (io_file_get_normal NULL: -EBADF)")
                .rows(&["nop_file"])
                .note(NOP_NOTE),
        )
        .run(|cx| {
            nop_failing_lookup(
                cx,
                NopFlags::FILE,
                NEVER_OPEN_FD,
                0,
                |_| Ok(()),
                "with an fd that is not open",
            )
        }),
    Case::new("nop::fixed_file_without_file_flag")
        .expect(NOP_OK)
        .cite(
            Cite::kernel(
                "nop.c:io_nop_prep / io_nop (the file is looked up only with IORING_NOP_FILE)",
            )
            .rows(&["nop_fixed_file_alone"])
            .note(
                "IORING_NOP_FIXED_FILE alone only marks the request: no table and an fd that is \
                 not open still complete with the result",
            ),
        )
        .run(|cx| {
            nop_case(
                cx,
                NopFlags::FIXED_FILE,
                NEVER_OPEN_FD,
                0,
                |_| Ok(()),
                "with no file table",
            )
        }),
    Case::new("nop::unknown_flag")
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("nop.c:io_nop_prep (nop_flags & ~NOP_FLAGS)")
                .rows(&["nop_flags_unknown"])
                .note(
                    "5.10-6.1 refuse any rw_flags, 6.10-6.12 any flag but INJECT_RESULT: EINVAL \
                     on every version",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let c = cx.submit_one(
                &mut ring,
                op::nop_with(
                    NopFlags(1 << 31),
                    op::NopArgs {
                        fd: 0,
                        len: 0,
                        buf_index: 0,
                        extra: [0; 2],
                    },
                )
                .user_data(1),
            )?;
            cx.observe(c, "")
        }),
    Case::new("nop::sqe_fixed_file_flag_uses_file_table")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(NOP_FILE_ERR)
        .cite(
            Cite::kernel(
                "nop.c:io_nop (REQ_F_FIXED_FILE, which io_init_req sets for IOSQE_FIXED_FILE: \
                 io_file_get_fixed)",
            )
            .rows(&["nop_fixed_file"])
            .note(
                "liburing's nop-fixed-file-leak: IORING_NOP_FILE with IOSQE_FIXED_FILE and \
                 without IORING_NOP_FIXED_FILE is a fixed-file lookup; a kernel that looked the \
                 fd up in the process's table took a reference it never dropped",
            ),
        )
        .run(|cx| {
            // An fd open in the process, beyond the 1-slot file table: only the process's
            // table has it.
            let f = dev_null(false)?;
            let (ring, sqe) = nop_setup(cx, NopFlags::FILE, fd(&f), 0, dev_null_table)?;
            let what = "IOSQE_FIXED_FILE and fd = an open fd, beyond the 1-slot file table";
            linked_failing_lookup(cx, ring, sqe.add_flags(SqeFlags::FIXED_FILE), what)
        }),
    Case::new("nop::injected_eperm_fails_link")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(Expect::cqe_errno(E::EPERM))
        .cite(
            Cite::kernel("nop.c:io_nop (ret < 0: req_set_fail)")
                .rows(&["nop_inject_result", "nop_fail_links"])
                .note(
                    "an injected -1 (EPERM: len 0xffffffff) fails the request like any other \
                     negative result: the linked NOP completes -ECANCELED",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let first = injecting_nop(NopFlags::NONE, u32::MAX, [0; 2], 1);
            let cqes = cx.submit_batch(
                &mut ring,
                vec![first.add_flags(SqeFlags::IO_LINK), op::nop().user_data(2)],
                2,
            )?;
            let res = |ud: u64| cqes.iter().find(|c| c.user_data == ud).map(|c| c.res);
            cx.check_eq("the linked NOP's res", res(2), Some(-libc::ECANCELED))?;
            let c = cqes
                .iter()
                .find(|c| c.user_data == 1)
                .copied()
                .ok_or_else(|| CaseError::Fail("no CQE for the injecting NOP".into()))?;
            cx.observe(c, "(IO_LINK to a NOP)")
        }),
    Case::new("nop::plain_after_injected_result")
        .needs_level(&level::NOP_RSRC_FLAGS)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel("nop.c:io_nop_prep (nop->result = 0 without IORING_NOP_INJECT_RESULT)")
                .rows(&["nop_inject_result"])
                .note(
                    "a plain NOP after a NOP that injected 77 on the same ring (which reuses \
                     the freed request) completes 0, not the earlier request's result",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let c = cx.submit_one(&mut ring, injecting_nop(NopFlags::NONE, 77, [0; 2], 1))?;
            cx.check_eq("res of the NOP injecting 77", c.res, 77)?;
            let c = cx.submit_one(&mut ring, op::nop().user_data(2))?;
            cx.observe(c, "after a NOP that injected 77 on this ring")
        }),
    Case::new("nop::cqe32_words_posted")
        .requires(&[Feature::SetupCqe32, Feature::SetupCqeMixed])
        .expect(Expect::cqe(77, CqeFlags::NONE))
        .cite(
            Cite::kernel("nop.c:io_nop_prep / io_nop (IORING_NOP_CQE32: io_req_set_res32)")
                .rows(&["nop_cqe32"])
                .note(
                    "IORING_NOP_CQE32 came with IORING_SETUP_CQE_MIXED (6.18): on a CQE32 ring \
                     the CQE's big_cqe words are the SQE's off and addr",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring_with(uring::Ring::builder(4).flags(SetupFlags::CQE32))?;
            let c = cx.submit_one(
                &mut ring,
                injecting_nop(NopFlags::CQE32, 77, CQE32_WORDS, 1),
            )?;
            cx.check_eq("big_cqe words", c.extra, CQE32_WORDS)?;
            cx.observe(c, "(off and addr the big_cqe words) on a CQE32 ring")
        }),
    Case::new("nop::cqe32_on_16_byte_ring")
        .requires(&[Feature::SetupCqeMixed])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "nop.c:io_nop_prep (IORING_NOP_CQE32 without IORING_SETUP_CQE32 or CQE_MIXED)",
            )
            .rows(&["nop_cqe32"])
            .note("IORING_NOP_CQE32 came with IORING_SETUP_CQE_MIXED (6.18)"),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let c = cx.submit_one(
                &mut ring,
                injecting_nop(NopFlags::CQE32, 77, CQE32_WORDS, 1),
            )?;
            cx.observe(c, "on a ring of 16-byte CQEs")
        }),
    Case::new("nop::inline_cqe_without_getevents")
        .requires(&[Feature::DeferTaskrun])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "nop.c:io_nop (IOU_COMPLETE without IORING_NOP_TW) -> \
                 io_submit_flush_completions; io_uring_enter runs DEFER_TASKRUN work only \
                 with IORING_ENTER_GETEVENTS",
            )
            .rows(&["nop_inline_completion"])
            .note(
                "a plain NOP completes inline: on a DEFER_TASKRUN ring its CQE is in the CQ \
                 after an io_uring_enter that only submits",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring_with(
                uring::Ring::builder(4)
                    .flags(SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN),
            )?;
            let sqe = op::nop().user_data(1);
            let desc = sqe.to_string();
            ring.push(sqe)
                .map_err(|e| CaseError::Broken(e.to_string()))?;
            ring.submit()
                .setup("io_uring_enter(1, 0, 0): submit only")?;
            let c = ring.drain();
            cx.check_eq("CQEs in the CQ after the submit-only enter", c.len(), 1)?;
            cx.cqe(
                format!("{desc} on a DEFER_TASKRUN ring, reaped without GETEVENTS"),
                c[0],
            )
        }),
];
