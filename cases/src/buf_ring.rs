//! §3.1: provided-buffer rings — REGISTER_PBUF_RING, each success checked by using the ring.
//! UNREGISTER_PBUF_RING, PBUF_STATUS and the mmap of kernel-allocated rings are in
//! [`crate::buf_ring_unregister`], buffer selection in [`crate::buf_select`]; they share
//! [`crate::common::buf_reads`] and [`crate::common::pbuf_reg`].

use crate::common::buf_reads::ring_in_use;
use crate::common::pbuf::*;
use crate::common::pbuf_reg::{app_ring, raw_reg_arg, register, register_call, succeeded, MMAP};
use crate::common::*;
use uring::abi::{io_uring_buf_reg, PbufFlags, RegisterOp};
use uring::mem::{BufSlice, UserPtr};
use uring::register::{buf_reg, ArgPtr};
use uring::{op, ForeignAddr, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Setup, Want};

/// Catalogue rows of §3 no row can trigger on a test machine, and why.
pub const UNCOVERED: &[(&str, &str)] = &[(
    "pbuf_memlock",
    "charged to RLIMIT_MEMLOCK only by 6.18-era kernels (not by the 6.12 or 7.2 sources): no \
         probe separates 6.18 from both neighbours, so an exact per-level expectation is \
         impossible",
)];

/// REGISTER_PBUF_RING of `reg` on a fresh ring, its ring `pages` fresh pages: the one body
/// of the rows that differ only in the registration's arguments and the answer.
fn register_on_pages(cx: &Cx, pages: usize, reg: io_uring_buf_reg) -> CaseResult {
    let ring = cx.ring()?;
    register(cx, &ring, Some(&ring_page(cx, pages)?), reg)
}

/// The same call with application memory `mem`, made through the ring crate's buffer ring
/// so that the row can publish buffers in it afterwards.
fn register_app(cx: &Cx, ring: &mut Ring, mem: BufSlice, reg: io_uring_buf_reg) -> CaseResult {
    let call = register_call(mem.addr(), reg);
    cx.sync(call, ring.register_buf_ring_with(mem, reg).map(|_| 0))
}

/// One fresh page for an application-allocated ring.
fn ring_page(cx: &Cx, pages: usize) -> Result<UserPtr, CaseError> {
    Ok(UserPtr::Mem(cx.mem(4096 * pages)?.slice(0, 4096 * pages)))
}

/// The provided-buffer-ring rows.
pub const CASES: &[Case] = &[
    // ---- §3.1 REGISTER_PBUF_RING ----
    Case::new("buf_ring::register_app_ring")
        .expect(Expect::by_level(
            &level::PBUF_RING,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel(
                "register.c:SYSCALL_DEFINE4(io_uring_register) / kbuf.c:io_register_pbuf_ring, \
                 io_ring_buffer_select",
            )
            .man(RBR, "DESCRIPTION (since 5.19)")
            .rows(&["pbuf_unsupported", "pbuf_reg_in_use"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let obs = register_app(
                cx,
                &mut ring,
                cx.mem(4096)?.slice(0, 4096),
                buf_reg(BGID, 8, PbufFlags::NONE),
            )?;
            if succeeded(&obs) {
                ring_in_use(cx, &mut ring, BGID, &[5, 1, 3])?;
            }
            Ok(obs)
        }),
    Case::new("buf_ring::register_arg_null")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PBUF_RING)")
                .man(REG, "IORING_REGISTER_PBUF_RING (nr_args must be 1)")
                .rows(&["pbuf_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::PBUF_RING, ArgPtr::NULL, 1)
        }),
    Case::new("buf_ring::register_nr_args_2")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PBUF_RING)")
                .man(REG, "IORING_REGISTER_PBUF_RING (nr_args must be 1)")
                .rows(&["pbuf_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let p = ring_page(cx, 1)?;
            raw_reg_arg(
                cx,
                &ring,
                RegisterOp::PBUF_RING,
                io_uring_buf_reg {
                    ring_addr: p.addr(),
                    ..buf_reg(BGID, 8, PbufFlags::NONE)
                },
                2,
            )
        }),
    Case::new("buf_ring::register_arg_unmapped")
        .requires(PBUF)
        .expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (copy_from_user)").rows(&["pbuf_fault"]))
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(
                cx,
                &ring,
                RegisterOp::PBUF_RING,
                ArgPtr::Foreign(ForeignAddr::LOW),
                1,
            )
        }),
    Case::new("buf_ring::register_resv_set")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (mem_is_zero(reg.resv))")
                .man(RBR, "DESCRIPTION (reserved fields must be cleared)")
                .rows(&["pbuf_resv"]),
        )
        .run(|cx| {
            let mut reg = buf_reg(BGID, 8, PbufFlags::NONE);
            reg.resv[4] = 1;
            register_on_pages(cx, 1, reg)
        }),
    Case::new("buf_ring::register_unknown_flag")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (flags & ~(MMAP|INC))")
                .rows(&["pbuf_flags"])
                .note(
                    "6.1 has no flags field (it is `pad`, which must be 0): any flag is EINVAL \
                     there",
                ),
        )
        .run(|cx| register_on_pages(cx, 1, buf_reg(BGID, 8, PbufFlags(1 << 2)))),
    Case::new("buf_ring::register_inc_flag")
        .requires(PBUF)
        .expect(Expect::by_level(
            &level::PBUF_INC_FLAG,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring")
                .man(RBR, "IOU_PBUF_RING_INC (since 6.12)")
                .rows(&["pbuf_flags"])
                .note(
                    "INC arrived in 6.12; every other call of that change is the flag itself, so \
                     the version decides (6.4-6.11, e.g. the 6.6 LTS, answer EINVAL)",
                ),
        )
        .run(|cx| register_on_pages(cx, 1, buf_reg(BGID, 8, PbufFlags::INC))),
    Case::new("buf_ring::register_entries_zero")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (!is_power_of_2)")
                .man(RBR, "DESCRIPTION (power of 2)")
                .rows(&["pbuf_entries_pow2"]),
        )
        .run(|cx| register_on_pages(cx, 1, buf_reg(BGID, 0, PbufFlags::NONE))),
    Case::new("buf_ring::register_entries_not_pow2")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (!is_power_of_2)")
                .man(RBR, "DESCRIPTION (power of 2)")
                .rows(&["pbuf_entries_pow2"]),
        )
        .run(|cx| register_on_pages(cx, 1, buf_reg(BGID, 3, PbufFlags::NONE))),
    Case::new("buf_ring::register_entries_65536")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (ring_entries >= 65536)")
                .man(RBR, "DESCRIPTION (at most 32768)")
                .rows(&["pbuf_entries_max"]),
        )
        .run(|cx| register_on_pages(cx, 256, buf_reg(BGID, 65_536, PbufFlags::NONE))),
    Case::new("buf_ring::register_entries_32768")
        .requires(PBUF)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring, io_ring_buffer_select")
                .man(RBR, "DESCRIPTION (at most 32768)")
                .rows(&["pbuf_entries_max", "pbuf_reg_in_use"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let obs = register_app(
                cx,
                &mut ring,
                cx.mem(4096 * 128)?.slice(0, 4096 * 128),
                buf_reg(BGID, 32_768, PbufFlags::NONE),
            )?;
            if succeeded(&obs) {
                ring_in_use(cx, &mut ring, BGID, &[32_767, 0])?;
            }
            Ok(obs)
        }),
    Case::new("buf_ring::register_min_left_without_inc")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (min_left && !(flags & INC))")
                .man(RBR, "min_left (only with IOU_PBUF_RING_INC)")
                .rows(&["pbuf_min_left_no_inc"])
                .note("kernels without min_left answer EINVAL too: those bytes are reserved there"),
        )
        .run(|cx| {
            let reg = io_uring_buf_reg {
                min_left: 16,
                ..buf_reg(BGID, 8, PbufFlags::NONE)
            };
            register_on_pages(cx, 1, reg)
        }),
    Case::new("buf_ring::register_ring_addr_zero")
        .requires(PBUF)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel(
                "memmap.c:io_create_region (7.x) / kbuf.c:io_register_pbuf_ring (<= 6.12)",
            )
            .rows(&["pbuf_addr_zero"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register(cx, &ring, None, buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_ring_addr_unaligned")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel(
                "memmap.c:io_create_region (7.x) / kbuf.c:io_register_pbuf_ring (<= 6.12)",
            )
            .man(RBR, "DESCRIPTION (page aligned)")
            .rows(&["pbuf_addr_unaligned"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let p = UserPtr::Mem(cx.mem(8192)?.slice(64, 4096));
            register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_mmap_with_ring_addr")
        .requires(MMAP)
        .expect(Expect::by_level(
            &level::PBUF_MMAP_IGNORES_RING_ADDR,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (user_addr only without MMAP)")
                .rows(&["pbuf_mmap_with_addr"])
                .note(
                    "the region rework (6.14) ignores ring_addr with MMAP; 6.13 still answers \
                     EINVAL",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let p = ring_page(cx, 1)?;
            let obs = register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::MMAP))?;
            if obs.answer == uring_harness::case::Answer::Sync(Ok(0)) {
                cx.check_eq(
                    "mmap of the kernel-allocated ring",
                    ring.mmap_pbuf_raw(BGID, 4096, 0),
                    Ok(()),
                )?;
                let _ = ring.free_buf_ring(BGID);
            }
            Ok(obs)
        }),
    Case::new("buf_ring::register_twice")
        .requires(PBUF)
        .expect(Expect::errno(E::EEXIST))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (io_buffer_get_list)")
                .rows(&["pbuf_exists"]),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            let p = ring_page(cx, 1)?;
            register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_over_legacy_group")
        .requires(LEGACY)
        .expect(Expect::errno(E::EEXIST))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (legacy list with buffers)")
                .rows(&["pbuf_exists"]),
        )
        .run(|cx| {
            let ring = ring_with_legacy(cx, 2)?;
            let p = ring_page(cx, 1)?;
            register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_over_empty_legacy_group")
        .requires(LEGACY)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_ring (empty legacy list destroyed and replaced)")
                .rows(&["pbuf_exists"]),
        )
        .run(|cx| {
            let mut ring = ring_with_legacy(cx, 2)?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(2, BGID).user_data(3))?;
            cx.check_eq("REMOVE_BUFFERS of both legacy buffers", c.res, 2)?;
            let p = ring_page(cx, 1)?;
            register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_ring_unmapped")
        .requires(PBUF)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("memmap.c:io_pin_pages")
                .rows(&["pbuf_pin_fail"])
                .note(
                    "the unmapped ring_addr is the first page above NULL at this page size: \
                 io_create_region refuses an address that is not page-aligned with EINVAL \
                 before it pins ((user_addr | size) & ~PAGE_MASK), so 4096 with 16 or 64 KiB \
                 pages would test that check instead",
                ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register(
                cx,
                &ring,
                Some(&UserPtr::Foreign(ForeignAddr::low_page())),
                buf_reg(BGID, 8, PbufFlags::NONE),
            )
        }),
    Case::new("buf_ring::register_ring_read_only")
        .requires(PBUF)
        .expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_pin_pages (FOLL_WRITE)").rows(&["pbuf_pin_fail"]))
        .run(|cx| {
            let m = cx.mem(4096)?;
            m.protect(0, 4096, libc::PROT_READ)
                .setup("mprotect read-only")?;
            let ring = cx.ring()?;
            register(
                cx,
                &ring,
                Some(&UserPtr::Mem(m.slice(0, 4096))),
                buf_reg(BGID, 8, PbufFlags::NONE),
            )
        }),
];
