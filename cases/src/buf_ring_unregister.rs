//! §3.2: UNREGISTER_PBUF_RING, PBUF_STATUS and the mmap of kernel-allocated rings
//! (IOU_PBUF_RING_MMAP), each success checked by using the ring. REGISTER_PBUF_RING is in
//! [`crate::buf_ring`].

use crate::common::buf_reads::ring_in_use;
use crate::common::pbuf::*;
use crate::common::pbuf_reg::{app_ring, mmap, raw_reg_arg, succeeded, MMAP};
use crate::common::*;
use uring::abi::{io_uring_buf_reg, io_uring_buf_status, CqeFlags, PbufFlags, RegisterOp};
use uring::bufring::BufRingMemory;
use uring::register::{buf_reg, ArgPtr};
use uring::{op, Mem, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

/// An mmap of a buffer-ring offset with no kernel-allocated ring behind it: EINVAL from 7.2,
/// ENOMEM before.
const MMAP_NO_REGION: Expect = Expect::by_level(
    &level::PBUF_MMAP_REGION_ERRNO,
    Want::errno(E::EINVAL),
    Want::errno(E::ENOMEM),
);

/// UNREGISTER_PBUF_RING with `reg`, observed.
fn unregister(cx: &Cx, ring: &Ring, reg: io_uring_buf_reg) -> CaseResult {
    cx.sync(
        format!("io_uring_register(ring, UNREGISTER_PBUF_RING, &{reg:?}, 1)"),
        ring.registrar().unregister_pbuf_ring_raw(reg).map(|_| 0),
    )
}

/// PBUF_STATUS with `st`, observed (the answer is the head on success).
fn status(cx: &Cx, ring: &Ring, st: io_uring_buf_status) -> CaseResult {
    cx.sync(
        format!("io_uring_register(ring, PBUF_STATUS, &{st:?}, 1)"),
        ring.registrar().pbuf_status_raw(st).map(|s| s.head),
    )
}

/// mmap of the kernel-allocated 8-entry ring of group `bgid`, kept as the ring's buffer ring
/// (so the row can publish buffers through the mapping), observed.
fn map_ring(cx: &Cx, ring: &mut Ring, bgid: u16, what: &str) -> CaseResult {
    cx.sync(
        format!(
            "mmap(0, 4096, RW, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_PBUF_RING | {bgid} << \
             16) {what}"
        ),
        ring.map_buf_ring(bgid, 8, PbufFlags::MMAP).map(|_| 0),
    )
}

/// Catalogue rows of §3.2 no row can trigger on a test machine, and why.
pub const UNCOVERED: &[(&str, &str)] = &[(
    "pbuf_arch_alias",
    "SHM_COLOUR arches (parisc) and 32-bit highmem only; the suite runs on x86-64/arm64",
)];

/// The provided-buffer-ring rows.
pub const CASES: &[Case] = &[
    // ---- §3.2 UNREGISTER_PBUF_RING / PBUF_STATUS / mmap ----
    Case::new("buf_ring::unregister_arg_null")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_UNREGISTER_PBUF_RING)")
                .man(REG, "IORING_UNREGISTER_PBUF_RING")
                .rows(&["pbufu_args"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::UNREGISTER_PBUF_RING, ArgPtr::NULL, 1)
        }),
    Case::new("buf_ring::unregister_nr_args_0")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_UNREGISTER_PBUF_RING)")
                .man(REG, "IORING_UNREGISTER_PBUF_RING")
                .rows(&["pbufu_args"]),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            raw_reg_arg(
                cx,
                &ring,
                RegisterOp::UNREGISTER_PBUF_RING,
                buf_reg(BGID, 0, PbufFlags::NONE),
                0,
            )
        }),
    Case::new("buf_ring::unregister_resv_set")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring")
                .man(REG, "IORING_UNREGISTER_PBUF_RING (just bgid set)")
                .rows(&["pbufu_fields"]),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            let mut reg = buf_reg(BGID, 0, PbufFlags::NONE);
            reg.resv[0] = 1;
            unregister(cx, &ring, reg)
        }),
    Case::new("buf_ring::unregister_flags_set")
        .requires(PBUF)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring (reg.flags)")
                .man(REG, "IORING_UNREGISTER_PBUF_RING (just bgid set)")
                .rows(&["pbufu_fields"]),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            unregister(cx, &ring, buf_reg(BGID, 0, PbufFlags::MMAP))
        }),
    Case::new("buf_ring::unregister_ignores_entries")
        .requires(PBUF)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring")
                .man(REG, "IORING_UNREGISTER_PBUF_RING (just bgid set)")
                .rows(&["pbufu_fields"])
                .note(
                    "register.2 asks for only bgid set; ring_entries (and ring_addr) are ignored \
                     on every version",
                ),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            unregister(cx, &ring, buf_reg(BGID, 3, PbufFlags::NONE))
        }),
    Case::new("buf_ring::unregister_ignores_min_left")
        .requires(PBUF)
        .expect(Expect::by_level(
            &level::PBUF_MIN_LEFT,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring")
                .rows(&["pbufu_fields"])
                .note(
                    "catalogue says min_left is ignored; only where the field exists: before it \
                     (6.1, unpatched 6.12) those bytes are resv and answer EINVAL",
                ),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            unregister(
                cx,
                &ring,
                io_uring_buf_reg {
                    min_left: 4,
                    ..buf_reg(BGID, 0, PbufFlags::NONE)
                },
            )
        }),
    Case::new("buf_ring::unregister_unknown_bgid")
        .requires(PBUF)
        .expect(Expect::errno(E::ENOENT))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring (io_buffer_get_list)")
                .rows(&["pbufu_noent"])
                .note(
                    "bgid 100 >= 64 avoids 6.1's small-bgid array, which answers EINVAL instead \
                     (see unregister_unknown_small_bgid)",
                ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            unregister(cx, &ring, buf_reg(100, 0, PbufFlags::NONE))
        }),
    Case::new("buf_ring::unregister_unknown_small_bgid")
        .requires(PBUF)
        .expect(Expect::by_level(
            &level::PBUF_LISTS_XARRAY,
            Want::errno(E::ENOENT),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring / io_buffer_get_list (6.1 BGID_ARRAY)")
                .rows(&["pbufu_noent"])
                .note(
                    "up to 6.8: once a group < 64 exists, every bgid < 64 has a list and an \
                     unknown one answers EINVAL; 6.9 keeps one xarray (also backported to some \
                     6.6.y/6.8.y releases)",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            ring.setup_buf_ring(1, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("ring for group 1")?;
            unregister(cx, &ring, buf_reg(5, 0, PbufFlags::NONE))
        }),
    Case::new("buf_ring::unregister_legacy_group")
        .requires(LEGACY)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_unregister_pbuf_ring (!(bl->flags & IOBL_BUF_RING))")
                .rows(&["pbufu_legacy"]),
        )
        .run(|cx| {
            let ring = ring_with_legacy(cx, 1)?;
            unregister(cx, &ring, buf_reg(BGID, 0, PbufFlags::NONE))
        }),
    Case::new("buf_ring::unregister_removes_group")
        .requires(PBUF)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "kbuf.c:io_unregister_pbuf_ring (xa_erase, io_put_bl) / io_buffer_select / \
                 io_register_pbuf_status",
            )
            .rows(&["pbufu_removes_group"])
            .note(
                "bgid 100 >= 64: on 6.1-6.8 a group below 64 keeps an (empty) array entry, which \
                 PBUF_STATUS answers EINVAL, not ENOENT",
            ),
        )
        .run(|cx| {
            let (mut ring, m) =
                ring_with_bufs_in(cx, 100, BufRingMemory::App, PbufFlags::NONE, 64, &[1, 2])?;
            let obs = unregister(cx, &ring, buf_reg(100, 0, PbufFlags::NONE))?;
            if cx.has(Feature::PbufStatus) {
                cx.check_eq(
                    "PBUF_STATUS of group 100 after unregister",
                    ring.registrar().pbuf_status(100),
                    Err(E::ENOENT),
                )?;
            }
            let (r, _w) = pipe_with(b"stale?")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, 100))?;
            cx.check_eq(
                "READ from group 100 after unregister: res, flags (its 2 published buffers are \
                 gone)",
                (c.res, c.flags),
                (-E::ENOBUFS.0, CqeFlags::NONE),
            )?;
            cx.check_eq(
                "the old buffers after that READ",
                m.read(0, 128),
                vec![0; 128],
            )?;
            ring.register_buf_ring(cx.mem(4096)?.slice(0, 4096), 8, 100, PbufFlags::NONE)
                .setup("register group 100 again")?;
            ring_in_use(cx, &mut ring, 100, &[7])?;
            Ok(obs)
        }),
    Case::new("buf_ring::status_supported")
        .requires(PBUF)
        .expect(Expect::by_level(
            &level::PBUF_STATUS,
            Want::ok(3),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel(
                "register.c:SYSCALL_DEFINE4 / kbuf.c:io_register_pbuf_status (buf_status.head = \
                 bl->head)",
            )
            .man("io_uring_buf_ring_available.3", "RETURN VALUE")
            .rows(&["pbufs_unsupported", "pbufs_head_value"])
            .note("the answer is the head: 3 after three buffers were selected"),
        )
        .run(|cx| {
            let mut ring = app_ring(cx)?;
            ring_in_use(cx, &mut ring, BGID, &[2, 4, 6])?;
            status(
                cx,
                &ring,
                io_uring_buf_status {
                    buf_group: BGID as u32,
                    ..Default::default()
                },
            )
        }),
    Case::new("buf_ring::status_resv_set")
        .requires(STATUS)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_status")
                .man(REG, "IORING_REGISTER_PBUF_STATUS (resv zeroed)")
                .rows(&["pbufs_resv"]),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            let mut st = io_uring_buf_status {
                buf_group: BGID as u32,
                ..Default::default()
            };
            st.resv[7] = 1;
            status(cx, &ring, st)
        }),
    Case::new("buf_ring::status_unknown_group")
        .requires(STATUS)
        .expect(Expect::errno(E::ENOENT))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_status")
                .man(REG, "ERRORS: ENOENT")
                .rows(&["pbufs_noent"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            status(
                cx,
                &ring,
                io_uring_buf_status {
                    buf_group: 100,
                    ..Default::default()
                },
            )
        }),
    Case::new("buf_ring::status_legacy_group")
        .requires(&[Feature::PbufStatus, Feature::OpProvideBuffers])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:io_register_pbuf_status (!(bl->flags & IOBL_BUF_RING))")
                .man(REG, "IORING_REGISTER_PBUF_STATUS")
                .rows(&["pbufs_legacy"]),
        )
        .run(|cx| {
            let ring = ring_with_legacy(cx, 1)?;
            status(
                cx,
                &ring,
                io_uring_buf_status {
                    buf_group: BGID as u32,
                    ..Default::default()
                },
            )
        }),
    Case::new("buf_ring::status_arg_null")
        .requires(STATUS)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PBUF_STATUS)")
                .rows(&["pbufs_args"]),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            register_raw(cx, &ring, RegisterOp::PBUF_STATUS, ArgPtr::NULL, 1)
        }),
    Case::new("buf_ring::status_nr_args_2")
        .requires(STATUS)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PBUF_STATUS)")
                .rows(&["pbufs_args"])
                .note("the status of a registered group: only nr_args is wrong"),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            let m = cx.mem(40)?;
            m.write(0, &(BGID as u32).to_ne_bytes());
            register_raw(
                cx,
                &ring,
                RegisterOp::PBUF_STATUS,
                ArgPtr::Mem(m.slice(0, 40)),
                2,
            )
        }),
    Case::new("buf_ring::mmap_unknown_bgid")
        .requires(MMAP)
        .expect(MMAP_NO_REGION)
        .cite(
            Cite::kernel(
                "memmap.c:io_uring_get_unmapped_area -> io_uring_validate_mmap_request -> \
                 kbuf.c:io_pbuf_get_region",
            )
            .rows(&["pbufmap_bad"])
            .note("ENOMEM before 7.2, the region's own errno (EINVAL) from 7.2"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            mmap(cx, &ring, BGID, 4096, 0, "with no ring in the group")
        }),
    Case::new("buf_ring::mmap_app_ring")
        .requires(MMAP)
        .expect(MMAP_NO_REGION)
        .cite(
            Cite::kernel("kbuf.c:io_pbuf_get_region (IO_REGION_F_USER_PROVIDED)")
                .rows(&["pbufmap_bad"])
                .note("ENOMEM before 7.2, EINVAL from 7.2"),
        )
        .run(|cx| {
            let ring = app_ring(cx)?;
            mmap(cx, &ring, BGID, 4096, 0, "of an application-allocated ring")
        }),
    Case::new("buf_ring::mmap_app_ring_memfd")
        .requires(MMAP)
        .needs(&[Fact::MemfdShmem])
        .expect(MMAP_NO_REGION)
        .cite(
            Cite::kernel(
                "memmap.c:io_region_validate_mmap (IO_REGION_F_USER_PROVIDED, set by \
                 io_region_pin_pages)",
            )
            .rows(&["pbufmap_bad"])
            .note(
                "the application's ring in memfd (shmem) pages: the region check alone refuses \
                 it, where anonymous pages would also fail vm_insert_pages; ENOMEM before 7.2",
            ),
        )
        .run(|cx| {
            let m = Mem::memfd(4096).setup("memfd page")?;
            let mut ring = cx.ring()?;
            ring.register_buf_ring(m.slice(0, 4096), 8, BGID, PbufFlags::NONE)
                .setup("register the memfd page as the ring of BGID")?;
            mmap(
                cx,
                &ring,
                BGID,
                4096,
                0,
                "of an application ring in a memfd page",
            )
        }),
    Case::new("buf_ring::mmap_bgid_2047")
        .requires(MMAP)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("memmap.c:io_mmap_get_region")
                .man(SBR, "DESCRIPTION")
                .rows(&["pbufmap_bgid_ge_2048", "pbuf_reg_in_use"])
                .note(
                    "buffers published through the mapping are handed out: it is the registered \
                     ring",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            ring.registrar()
                .register_pbuf_ring_raw(None, buf_reg(2047, 8, PbufFlags::MMAP))
                .setup("MMAP ring for group 2047")?;
            let obs = map_ring(cx, &mut ring, 2047, "of a kernel-allocated ring")?;
            if succeeded(&obs) {
                ring_in_use(cx, &mut ring, 2047, &[9, 8])?;
            }
            Ok(obs)
        }),
    Case::new("buf_ring::mmap_bgid_2048")
        .requires(MMAP)
        .expect(MMAP_NO_REGION)
        .cite(
            Cite::kernel("memmap.c:io_mmap_get_region (IORING_OFF_MMAP_MASK)")
                .rows(&["pbufmap_bgid_ge_2048"])
                .note(
                    "registration of bgid >= 2048 succeeds but bgid << 16 spills into \
                     IORING_OFF_MMAP_MASK: the ring can never be mapped; no man page says so",
                ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar()
                .register_pbuf_ring_raw(None, buf_reg(2048, 8, PbufFlags::MMAP))
                .setup("MMAP ring for group 2048")?;
            mmap(cx, &ring, 2048, 4096, 0, "of a kernel-allocated ring")
        }),
    Case::new("buf_ring::mmap_address_hint")
        .requires(MMAP)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("memmap.c:io_uring_get_unmapped_area (addr != 0)")
                .rows(&["pbufmap_addr_hint"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar()
                .register_pbuf_ring_raw(None, buf_reg(BGID, 8, PbufFlags::MMAP))
                .setup("MMAP ring")?;
            mmap(
                cx,
                &ring,
                BGID,
                4096,
                0x7000_0000_0000,
                "with an address hint",
            )
        }),
    Case::new("buf_ring::mmap_short_length")
        .requires(MMAP)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("memmap.c:io_region_mmap -> mm/memory.c:vm_insert_pages (range_in_vma)")
                .rows(&["pbufmap_short"]),
        )
        .run(|cx| {
            // In pages of this kernel: a region of two pages (16-byte io_uring_buf
            // entries), mapped one page long; 4 KiB of 8 KiB is all of one 16 KiB page.
            let page = uring::sys::page_size();
            let entries = (2 * page / 16) as u32;
            let ring = cx.ring()?;
            ring.registrar()
                .register_pbuf_ring_raw(None, buf_reg(BGID, entries, PbufFlags::MMAP))
                .setup(&format!("{entries}-entry (two-page) MMAP ring"))?;
            mmap(cx, &ring, BGID, page, 0, "of one page of a two-page ring")
        }),
    Case::new("buf_ring::mmap_after_unregister")
        .requires(MMAP)
        .expect(MMAP_NO_REGION)
        .cite(
            Cite::kernel(
                "kbuf.c:io_unregister_pbuf_ring -> io_put_bl -> memmap.c:io_free_region; \
                 io_pbuf_get_region",
            )
            .rows(&["pbufmap_after_unregister"])
            .note(
                "the pages stay mapped (vm_insert_pages took references) until munmap: what the \
                 application wrote there reads back; the offset itself is gone (ENOMEM before 7.2)",
            ),
        )
        .run(|cx| {
            let (mut ring, _m) =
                ring_with_bufs(cx, BufRingMemory::KernelMmap, PbufFlags::NONE, 64, &[6])?;
            ring.registrar()
                .unregister_pbuf_ring_raw(buf_reg(BGID, 0, PbufFlags::NONE))
                .setup("unregister the MMAP ring")?;
            let late = cx.mem(64)?;
            let br = ring.buf_ring(BGID).expect("set up above");
            let e = br.entry(0);
            cx.check_eq(
                "old mapping, entry 0 (len, bid) after unregister",
                (e.len, e.bid),
                (64, 6),
            )?;
            br.add(&late.slice(0, 64), 0x77, 0);
            let e = br.entry(1);
            cx.check_eq(
                "old mapping, entry 1 written after unregister (addr, len, bid)",
                (e.addr, e.len, e.bid),
                (late.addr(), 64, 0x77),
            )?;
            mmap(
                cx,
                &ring,
                BGID,
                4096,
                0,
                "after UNREGISTER_PBUF_RING (the old mapping still held)",
            )
        }),
    Case::new("buf_ring::mmap_legacy_group")
        .requires(&[Feature::PbufRingMmap, Feature::OpProvideBuffers])
        .expect(MMAP_NO_REGION)
        .cite(
            Cite::kernel("kbuf.c:io_pbuf_get_region (!(bl->flags & IOBL_BUF_RING))")
                .rows(&["pbufmap_legacy"])
                .note(
                    "a PROVIDE_BUFFERS group has no ring to map: answered like an unknown group \
                     (ENOMEM before 7.2); its buffers still serve selection",
                ),
        )
        .run(|cx| {
            let mut ring = ring_with_legacy(cx, 2)?;
            let obs = mmap(
                cx,
                &ring,
                BGID,
                4096,
                0,
                "of a legacy (PROVIDE_BUFFERS) group",
            )?;
            let (r, _w) = pipe_with(b"legacy")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.check_eq(
                "READ from the legacy group after the mmap: res, flags",
                (c.res, c.flags),
                (6, buf_flags(0, CqeFlags::NONE)),
            )?;
            Ok(obs)
        }),
];
