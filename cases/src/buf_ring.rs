//! §3: provided-buffer rings — REGISTER/UNREGISTER_PBUF_RING, PBUF_STATUS, the mmap of
//! kernel-allocated rings (IOU_PBUF_RING_MMAP), buffer selection (IOSQE_BUFFER_SELECT) on
//! read and recv, incremental consumption (IOU_PBUF_RING_INC) and the legacy
//! PROVIDE/REMOVE_BUFFERS interplay.

use crate::common::*;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use uring::abi::{io_uring_buf_reg, io_uring_buf_status, CqeFlags, Opcode, PbufFlags, RegisterOp};
use uring::bufring::BufRingMemory;
use uring::mem::UserPtr;
use uring::register::{buf_reg, ArgPtr};
use uring::{op, Cqe, ForeignAddr, Mem, Ring, Sqe};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

const REG: &str = "io_uring_register.2";
const RBR: &str = "io_uring_register_buf_ring.3";
const SBR: &str = "io_uring_setup_buf_ring.3";
const ENTER: &str = "io_uring_enter.2";
const PBUF: &[Feature] = &[Feature::PbufRing];
const MMAP: &[Feature] = &[Feature::PbufRingMmap];
const STATUS: &[Feature] = &[Feature::PbufRing, Feature::PbufStatus];
const LEGACY: &[Feature] = &[Feature::PbufRing, Feature::OpProvideBuffers];
const INC: &[Feature] = &[Feature::PbufRingInc, Feature::PbufStatus];
const BGID: u16 = 7;

/// Catalogue rows of §3 no row can trigger on a test machine, and why.
pub const UNCOVERED: &[(&str, &str)] = &[
    ("pbuf_arch_alias", "SHM_COLOUR arches (parisc) and 32-bit highmem only; the suite runs on x86-64/arm64"),
    ("pbuf_memlock", "charged to RLIMIT_MEMLOCK only by 6.18-era kernels (not by the 6.12 or 7.2 sources): no probe separates 6.18 from both neighbours, so an exact per-level expectation is impossible"),
];

/// `struct io_uring_buf_reg` in kernel layout (40 bytes), for raw-argument calls.
fn reg_bytes(r: &io_uring_buf_reg) -> Vec<u8> {
    let mut b = Vec::with_capacity(40);
    b.extend_from_slice(&r.ring_addr.to_ne_bytes());
    b.extend_from_slice(&r.ring_entries.to_ne_bytes());
    b.extend_from_slice(&r.bgid.to_ne_bytes());
    b.extend_from_slice(&r.flags.0.to_ne_bytes());
    b.extend_from_slice(&r.min_left.to_ne_bytes());
    for v in r.resv {
        b.extend_from_slice(&v.to_ne_bytes());
    }
    b
}

/// A register op whose argument is `reg` copied into fresh memory, with `nr_args`.
fn raw_reg_arg(cx: &Cx, ring: &Ring, op: RegisterOp, reg: io_uring_buf_reg, nr: u32) -> CaseResult {
    let m = cx.mem(40)?;
    m.write(0, &reg_bytes(&reg));
    cx.sync(
        format!("io_uring_register(ring, {op:?}, &{reg:?}, {nr})"),
        ring.registrar()
            .register_raw(op, &ArgPtr::Mem(m.slice(0, 40)), nr),
    )
}

/// REGISTER_PBUF_RING with `reg` (ring memory `ptr`, if any), observed.
fn register(cx: &Cx, ring: &Ring, ptr: Option<&UserPtr>, reg: io_uring_buf_reg) -> CaseResult {
    let shown = io_uring_buf_reg {
        ring_addr: ptr.map_or(reg.ring_addr, |p| p.addr()),
        ..reg
    };
    cx.sync(
        format!("io_uring_register(ring, PBUF_RING, &{shown:?}, 1)"),
        ring.registrar().register_pbuf_ring_raw(ptr, reg).map(|_| 0),
    )
}

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

/// mmap of group `bgid`'s ring offset, observed.
fn mmap(cx: &Cx, ring: &Ring, bgid: u16, len: usize, hint: u64, what: &str) -> CaseResult {
    cx.sync(
        format!("mmap({hint:#x}, {len}, RW, MAP_SHARED, ring, IORING_OFF_PBUF_RING | {bgid} << 16) {what}"),
        ring.mmap_pbuf_raw(bgid, len, hint).map(|_| 0),
    )
}

/// One fresh page for an application-allocated ring.
fn ring_page(cx: &Cx, pages: usize) -> Result<UserPtr, CaseError> {
    Ok(UserPtr::Mem(cx.mem(4096 * pages)?.slice(0, 4096 * pages)))
}

/// A ring with an 8-entry buffer ring for `BGID` (in `memory`, with `flags`) holding
/// `bufs.len()` published buffers of `len` bytes with the given bids; returns the buffers' memory.
fn ring_with_bufs(
    cx: &Cx,
    memory: BufRingMemory,
    flags: PbufFlags,
    len: usize,
    bids: &[u16],
) -> Result<(Ring, Arc<Mem>), CaseError> {
    let mut ring = cx.ring()?;
    let mem = cx.mem(len * bids.len().max(1))?;
    let br = ring
        .setup_buf_ring(BGID, 8, memory, flags)
        .setup("set up the buffer ring")?;
    for (i, bid) in bids.iter().enumerate() {
        br.add(&mem.slice(i * len, len), *bid, i as u16);
    }
    br.advance(bids.len() as u16);
    Ok((ring, mem))
}

/// A ring with an empty 8-entry application-allocated buffer ring for `BGID`.
fn app_ring(cx: &Cx) -> Result<Ring, CaseError> {
    let mut ring = cx.ring()?;
    ring.setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
        .setup("set up the buffer ring")?;
    Ok(ring)
}

/// A ring with a legacy (PROVIDE_BUFFERS) group `BGID` of `n` 64-byte buffers.
fn ring_with_legacy(cx: &Cx, n: u32) -> Result<Ring, CaseError> {
    let mut ring = cx.ring()?;
    let m = cx.mem(4096)?;
    let c = cx.submit_one(
        &mut ring,
        op::provide_buffers(m.slice(0, 4096), 64, n, BGID, 0).user_data(9),
    )?;
    if c.res < 0 {
        return Err(CaseError::Broken(format!("PROVIDE_BUFFERS: res {}", c.res)));
    }
    Ok(ring)
}

/// A pipe whose read end already holds `data`.
fn pipe_with(data: &[u8]) -> Result<(std::io::PipeReader, std::io::PipeWriter), CaseError> {
    let (r, mut w) = pipe()?;
    w.write_all(data).setup("write the pipe")?;
    Ok((r, w))
}

/// `IORING_CQE_F_BUFFER | bid << 16` plus `extra`.
const fn buf(bid: u16, extra: CqeFlags) -> CqeFlags {
    CqeFlags(CqeFlags::BUFFER.0 | (bid as u32) << 16 | extra.0)
}

/// Checks the kernel head of `BGID`'s ring.
fn check_head(cx: &Cx, ring: &Ring, want: u32, when: &str) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("PBUF_STATUS head {when}"),
        ring.registrar().pbuf_status(BGID as u32),
        Ok(want),
    )
}

/// Submits a buffer-selecting SQE and returns its CQE.
fn sel(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
    cx.submit_one(ring, sqe.user_data(0x5e1))
}

/// READ with buffer selection from `BGID` on a pipe holding `data`, observed; checks the
/// bytes landed in the selected buffer (buffer `i` of `mem` has bid `bids[i]`).
fn read_into_ring(
    cx: &Cx,
    ring: &mut Ring,
    mem: &Mem,
    len: usize,
    bids: &[u16],
    data: &[u8],
    sqe_len: u32,
) -> CaseResult {
    let (r, _w) = pipe_with(data)?;
    let c = sel(cx, ring, op::read_select(fd(&r), sqe_len, u64::MAX, BGID))?;
    if let Some(bid) = c.flags.buffer_id().filter(|_| c.res > 0) {
        let i = bids
            .iter()
            .position(|b| *b == bid)
            .ok_or_else(|| CaseError::Fail(format!("CQE names bid {bid}, never added")))?;
        cx.check_eq(
            "bytes in the selected buffer",
            mem.read(i * len, c.res as usize),
            data[..c.res as usize].to_vec(),
        )?;
    }
    cx.cqe(
        format!(
            "READ(pipe holding {} bytes, len={sqe_len}, BUFFER_SELECT group {BGID})",
            data.len()
        ),
        c,
    )
}

/// The provided-buffer-ring rows.
pub const CASES: &[Case] = &[
    // ---- §3.1 REGISTER_PBUF_RING ----
    Case::new("buf_ring::register_app_ring")
        .expect(Expect::by_level(&level::PBUF_RING, Want::ok(0), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("register.c:SYSCALL_DEFINE4(io_uring_register) / kbuf.c:io_register_pbuf_ring").man(RBR, "DESCRIPTION (since 5.19)").rows(&["pbuf_unsupported"]))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_arg_null").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PBUF_RING)").man(REG, "IORING_REGISTER_PBUF_RING (nr_args must be 1)").rows(&["pbuf_args"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::PBUF_RING, ArgPtr::NULL, 1) }),
    Case::new("buf_ring::register_nr_args_2").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_PBUF_RING)").man(REG, "IORING_REGISTER_PBUF_RING (nr_args must be 1)").rows(&["pbuf_args"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let p = ring_page(cx, 1)?;
            raw_reg_arg(cx, &ring, RegisterOp::PBUF_RING, io_uring_buf_reg { ring_addr: p.addr(), ..buf_reg(BGID, 8, PbufFlags::NONE) }, 2)
        }),
    Case::new("buf_ring::register_arg_unmapped").requires(PBUF).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (copy_from_user)").rows(&["pbuf_fault"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::PBUF_RING, ArgPtr::Foreign(ForeignAddr::LOW), 1) }),
    Case::new("buf_ring::register_resv_set").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (mem_is_zero(reg.resv))").man(RBR, "DESCRIPTION (reserved fields must be cleared)").rows(&["pbuf_resv"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let p = ring_page(cx, 1)?;
            let mut reg = buf_reg(BGID, 8, PbufFlags::NONE);
            reg.resv[4] = 1;
            register(cx, &ring, Some(&p), reg)
        }),
    Case::new("buf_ring::register_unknown_flag").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (flags & ~(MMAP|INC))").rows(&["pbuf_flags"])
            .note("6.1 has no flags field (it is `pad`, which must be 0): any flag is EINVAL there"))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags(1 << 2))) }),
    Case::new("buf_ring::register_inc_flag").requires(PBUF)
        .expect(Expect::by_level(&level::PBUF_INC_FLAG, Want::ok(0), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring").man(RBR, "IOU_PBUF_RING_INC (since 6.12)").rows(&["pbuf_flags"])
            .note("INC arrived in 6.12; every other call of that change is the flag itself, so the version decides (6.4-6.11, e.g. the 6.6 LTS, answer EINVAL)"))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::INC)) }),
    Case::new("buf_ring::register_entries_zero").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (!is_power_of_2)").man(RBR, "DESCRIPTION (power of 2)").rows(&["pbuf_entries_pow2"]))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), buf_reg(BGID, 0, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_entries_not_pow2").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (!is_power_of_2)").man(RBR, "DESCRIPTION (power of 2)").rows(&["pbuf_entries_pow2"]))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), buf_reg(BGID, 3, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_entries_65536").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (ring_entries >= 65536)").man(RBR, "DESCRIPTION (at most 32768)").rows(&["pbuf_entries_max"]))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 256)?; register(cx, &ring, Some(&p), buf_reg(BGID, 65_536, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_entries_32768").requires(PBUF).expect(Expect::ok(0))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring").man(RBR, "DESCRIPTION (at most 32768)").rows(&["pbuf_entries_max"]))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 128)?; register(cx, &ring, Some(&p), buf_reg(BGID, 32_768, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_min_left_without_inc").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (min_left && !(flags & INC))").man(RBR, "min_left (only with IOU_PBUF_RING_INC)").rows(&["pbuf_min_left_no_inc"])
            .note("kernels without min_left answer EINVAL too: those bytes are reserved there"))
        .run(|cx| { let ring = cx.ring()?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), io_uring_buf_reg { min_left: 16, ..buf_reg(BGID, 8, PbufFlags::NONE) }) }),
    Case::new("buf_ring::register_ring_addr_zero").requires(PBUF).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_create_region (7.x) / kbuf.c:io_register_pbuf_ring (<= 6.12)").rows(&["pbuf_addr_zero"]))
        .run(|cx| { let ring = cx.ring()?; register(cx, &ring, None, buf_reg(BGID, 8, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_ring_addr_unaligned").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("memmap.c:io_create_region (7.x) / kbuf.c:io_register_pbuf_ring (<= 6.12)").man(RBR, "DESCRIPTION (page aligned)").rows(&["pbuf_addr_unaligned"]))
        .run(|cx| { let ring = cx.ring()?; let p = UserPtr::Mem(cx.mem(8192)?.slice(64, 4096)); register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_mmap_with_ring_addr").requires(MMAP)
        .expect(Expect::by_level(&level::PBUF_MMAP_IGNORES_RING_ADDR, Want::ok(0), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (user_addr only without MMAP)").rows(&["pbuf_mmap_with_addr"])
            .note("the region rework (6.14) ignores ring_addr with MMAP; 6.13 still answers EINVAL"))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let p = ring_page(cx, 1)?;
            let obs = register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::MMAP))?;
            if obs.answer == uring_harness::case::Answer::Sync(Ok(0)) {
                cx.check_eq("mmap of the kernel-allocated ring", ring.mmap_pbuf_raw(BGID, 4096, 0), Ok(()))?;
                let _ = ring.free_buf_ring(BGID);
            }
            Ok(obs)
        }),
    Case::new("buf_ring::register_twice").requires(PBUF).expect(Expect::errno(E::EEXIST))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (io_buffer_get_list)").rows(&["pbuf_exists"]))
        .run(|cx| {
            let ring = app_ring(cx)?;
            let p = ring_page(cx, 1)?;
            register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_over_legacy_group").requires(LEGACY).expect(Expect::errno(E::EEXIST))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (legacy list with buffers)").rows(&["pbuf_exists"]))
        .run(|cx| { let ring = ring_with_legacy(cx, 2)?; let p = ring_page(cx, 1)?; register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_over_empty_legacy_group").requires(LEGACY).expect(Expect::ok(0))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_ring (empty legacy list destroyed and replaced)").rows(&["pbuf_exists"]))
        .run(|cx| {
            let mut ring = ring_with_legacy(cx, 2)?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(2, BGID).user_data(3))?;
            cx.check_eq("REMOVE_BUFFERS of both legacy buffers", c.res, 2)?;
            let p = ring_page(cx, 1)?;
            register(cx, &ring, Some(&p), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    Case::new("buf_ring::register_ring_unmapped").requires(PBUF).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_pin_pages").rows(&["pbuf_pin_fail"]))
        .run(|cx| { let ring = cx.ring()?; register(cx, &ring, Some(&UserPtr::Foreign(ForeignAddr::LOW)), buf_reg(BGID, 8, PbufFlags::NONE)) }),
    Case::new("buf_ring::register_ring_read_only").requires(PBUF).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_pin_pages (FOLL_WRITE)").rows(&["pbuf_pin_fail"]))
        .run(|cx| {
            let m = cx.mem(4096)?;
            m.protect(0, 4096, libc::PROT_READ).setup("mprotect read-only")?;
            let ring = cx.ring()?;
            register(cx, &ring, Some(&UserPtr::Mem(m.slice(0, 4096))), buf_reg(BGID, 8, PbufFlags::NONE))
        }),
    // ---- §3.2 UNREGISTER_PBUF_RING / PBUF_STATUS / mmap ----
    Case::new("buf_ring::unregister_arg_null").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register (case IORING_UNREGISTER_PBUF_RING)").man(REG, "IORING_UNREGISTER_PBUF_RING").rows(&["pbufu_args"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::UNREGISTER_PBUF_RING, ArgPtr::NULL, 1) }),
    Case::new("buf_ring::unregister_nr_args_0").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register (case IORING_UNREGISTER_PBUF_RING)").man(REG, "IORING_UNREGISTER_PBUF_RING").rows(&["pbufu_args"]))
        .run(|cx| {
            let ring = app_ring(cx)?;
            raw_reg_arg(cx, &ring, RegisterOp::UNREGISTER_PBUF_RING, buf_reg(BGID, 0, PbufFlags::NONE), 0)
        }),
    Case::new("buf_ring::unregister_resv_set").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring").man(REG, "IORING_UNREGISTER_PBUF_RING (just bgid set)").rows(&["pbufu_fields"]))
        .run(|cx| {
            let ring = app_ring(cx)?;
            let mut reg = buf_reg(BGID, 0, PbufFlags::NONE);
            reg.resv[0] = 1;
            unregister(cx, &ring, reg)
        }),
    Case::new("buf_ring::unregister_flags_set").requires(PBUF).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring (reg.flags)").man(REG, "IORING_UNREGISTER_PBUF_RING (just bgid set)").rows(&["pbufu_fields"]))
        .run(|cx| {
            let ring = app_ring(cx)?;
            unregister(cx, &ring, buf_reg(BGID, 0, PbufFlags::MMAP))
        }),
    Case::new("buf_ring::unregister_ignores_entries").requires(PBUF).expect(Expect::ok(0))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring").man(REG, "IORING_UNREGISTER_PBUF_RING (just bgid set)").rows(&["pbufu_fields"])
            .note("register.2 asks for only bgid set; ring_entries (and ring_addr) are ignored on every version"))
        .run(|cx| {
            let ring = app_ring(cx)?;
            unregister(cx, &ring, buf_reg(BGID, 3, PbufFlags::NONE))
        }),
    Case::new("buf_ring::unregister_ignores_min_left").requires(PBUF)
        .expect(Expect::by_level(&level::PBUF_MIN_LEFT, Want::ok(0), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring").rows(&["pbufu_fields"])
            .note("catalogue says min_left is ignored; only where the field exists: before it (6.1, unpatched 6.12) those bytes are resv and answer EINVAL"))
        .run(|cx| {
            let ring = app_ring(cx)?;
            unregister(cx, &ring, io_uring_buf_reg { min_left: 4, ..buf_reg(BGID, 0, PbufFlags::NONE) })
        }),
    Case::new("buf_ring::unregister_unknown_bgid").requires(PBUF).expect(Expect::errno(E::ENOENT))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring (io_buffer_get_list)").rows(&["pbufu_noent"])
            .note("bgid 100 >= 64 avoids 6.1's small-bgid array, which answers EINVAL instead (see unregister_unknown_small_bgid)"))
        .run(|cx| { let ring = cx.ring()?; unregister(cx, &ring, buf_reg(100, 0, PbufFlags::NONE)) }),
    Case::new("buf_ring::unregister_unknown_small_bgid").requires(PBUF)
        .expect(Expect::by_level(&level::PBUF_LISTS_XARRAY, Want::errno(E::ENOENT), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring / io_buffer_get_list (6.1 BGID_ARRAY)").rows(&["pbufu_noent"])
            .note("up to 6.8: once a group < 64 exists, every bgid < 64 has a list and an unknown one answers EINVAL; 6.9 keeps one xarray (also backported to some 6.6.y/6.8.y releases)"))
        .run(|cx| {
            let mut ring = cx.ring()?;
            ring.setup_buf_ring(1, 8, BufRingMemory::App, PbufFlags::NONE).setup("ring for group 1")?;
            unregister(cx, &ring, buf_reg(5, 0, PbufFlags::NONE))
        }),
    Case::new("buf_ring::unregister_legacy_group").requires(LEGACY).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_unregister_pbuf_ring (!(bl->flags & IOBL_BUF_RING))").rows(&["pbufu_legacy"]))
        .run(|cx| { let ring = ring_with_legacy(cx, 1)?; unregister(cx, &ring, buf_reg(BGID, 0, PbufFlags::NONE)) }),
    Case::new("buf_ring::status_supported").requires(PBUF)
        .expect(Expect::by_level(&level::PBUF_STATUS, Want::ok(0), Want::errno(E::EINVAL)))
        .cite(Cite::kernel("register.c:SYSCALL_DEFINE4 / kbuf.c:io_register_pbuf_status").man("io_uring_buf_ring_available.3", "RETURN VALUE").rows(&["pbufs_unsupported"]))
        .run(|cx| {
            let ring = app_ring(cx)?;
            status(cx, &ring, io_uring_buf_status { buf_group: BGID as u32, ..Default::default() })
        }),
    Case::new("buf_ring::status_resv_set").requires(STATUS).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_status").man(REG, "IORING_REGISTER_PBUF_STATUS (resv zeroed)").rows(&["pbufs_resv"]))
        .run(|cx| {
            let ring = app_ring(cx)?;
            let mut st = io_uring_buf_status { buf_group: BGID as u32, ..Default::default() };
            st.resv[7] = 1;
            status(cx, &ring, st)
        }),
    Case::new("buf_ring::status_unknown_group").requires(STATUS).expect(Expect::errno(E::ENOENT))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_status").man(REG, "ERRORS: ENOENT").rows(&["pbufs_noent"]))
        .run(|cx| { let ring = cx.ring()?; status(cx, &ring, io_uring_buf_status { buf_group: 100, ..Default::default() }) }),
    Case::new("buf_ring::status_legacy_group").requires(&[Feature::PbufStatus, Feature::OpProvideBuffers]).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:io_register_pbuf_status (!(bl->flags & IOBL_BUF_RING))").man(REG, "IORING_REGISTER_PBUF_STATUS").rows(&["pbufs_legacy"]))
        .run(|cx| { let ring = ring_with_legacy(cx, 1)?; status(cx, &ring, io_uring_buf_status { buf_group: BGID as u32, ..Default::default() }) }),
    Case::new("buf_ring::mmap_unknown_bgid").requires(MMAP)
        .expect(Expect::by_level(&level::PBUF_MMAP_REGION_ERRNO, Want::errno(E::EINVAL), Want::errno(E::ENOMEM)))
        .cite(Cite::kernel("memmap.c:io_uring_get_unmapped_area -> io_uring_validate_mmap_request -> kbuf.c:io_pbuf_get_region").rows(&["pbufmap_bad"])
            .note("ENOMEM before 7.2, the region's own errno (EINVAL) from 7.2"))
        .run(|cx| { let ring = cx.ring()?; mmap(cx, &ring, BGID, 4096, 0, "with no ring in the group") }),
    Case::new("buf_ring::mmap_app_ring").requires(MMAP)
        .expect(Expect::by_level(&level::PBUF_MMAP_REGION_ERRNO, Want::errno(E::EINVAL), Want::errno(E::ENOMEM)))
        .cite(Cite::kernel("kbuf.c:io_pbuf_get_region (IO_REGION_F_USER_PROVIDED)").rows(&["pbufmap_bad"])
            .note("ENOMEM before 7.2, EINVAL from 7.2"))
        .run(|cx| {
            let ring = app_ring(cx)?;
            mmap(cx, &ring, BGID, 4096, 0, "of an application-allocated ring")
        }),
    Case::new("buf_ring::mmap_bgid_2047").requires(MMAP).expect(Expect::ok(0))
        .cite(Cite::kernel("memmap.c:io_mmap_get_region").man(SBR, "DESCRIPTION").rows(&["pbufmap_bgid_ge_2048"]))
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar().register_pbuf_ring_raw(None, buf_reg(2047, 8, PbufFlags::MMAP)).setup("MMAP ring for group 2047")?;
            mmap(cx, &ring, 2047, 4096, 0, "of a kernel-allocated ring")
        }),
    Case::new("buf_ring::mmap_bgid_2048").requires(MMAP)
        .expect(Expect::by_level(&level::PBUF_MMAP_REGION_ERRNO, Want::errno(E::EINVAL), Want::errno(E::ENOMEM)))
        .cite(Cite::kernel("memmap.c:io_mmap_get_region (IORING_OFF_MMAP_MASK)").rows(&["pbufmap_bgid_ge_2048"])
            .note("registration of bgid >= 2048 succeeds but bgid << 16 spills into IORING_OFF_MMAP_MASK: the ring can never be mapped; no man page says so"))
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar().register_pbuf_ring_raw(None, buf_reg(2048, 8, PbufFlags::MMAP)).setup("MMAP ring for group 2048")?;
            mmap(cx, &ring, 2048, 4096, 0, "of a kernel-allocated ring")
        }),
    Case::new("buf_ring::mmap_address_hint").requires(MMAP).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("memmap.c:io_uring_get_unmapped_area (addr != 0)").rows(&["pbufmap_addr_hint"]))
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar().register_pbuf_ring_raw(None, buf_reg(BGID, 8, PbufFlags::MMAP)).setup("MMAP ring")?;
            mmap(cx, &ring, BGID, 4096, 0x7000_0000_0000, "with an address hint")
        }),
    Case::new("buf_ring::mmap_short_length").requires(MMAP).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_region_mmap -> mm/memory.c:vm_insert_pages (range_in_vma)").rows(&["pbufmap_short"]))
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar().register_pbuf_ring_raw(None, buf_reg(BGID, 512, PbufFlags::MMAP)).setup("8 KiB MMAP ring")?;
            mmap(cx, &ring, BGID, 4096, 0, "of 4 KiB of an 8 KiB ring")
        }).needs(&[Fact::Page4K]),
    // ---- §3.3 buffer selection and legacy interplay ----
    Case::new("buffer_select::read_no_group").expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(Cite::kernel("kbuf.c:io_buffer_select -> rw.c:__io_import_rw_buffer").man(ENTER, "ERRORS: ENOBUFS").rows(&["sel_no_group"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, 100))?;
            cx.observe(c, "on a pipe with no such group")
        }),
    Case::new("buffer_select::read_ring_empty").requires(PBUF).expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(Cite::kernel("kbuf.c:io_ring_buffer_select (tail == head)").man(ENTER, "ERRORS: ENOBUFS").rows(&["sel_empty"]))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[])?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.observe(c, "on a pipe from an empty ring")
        }),
    Case::new("buffer_select::recv_ring_empty").requires(&[Feature::PbufRingMmap, Feature::OpRecvSend]).expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(Cite::kernel("kbuf.c:io_ring_buffer_select (tail == head) via net.c:io_recv_buf_select").man(ENTER, "ERRORS: ENOBUFS").rows(&["sel_empty"]))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::KernelMmap, PbufFlags::NONE, 64, &[])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"data").setup("send")?;
            let c = sel(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            cx.observe(c, "on a socket from an empty kernel-allocated ring")
        }).needs(&[Fact::UnixSockets]),
    Case::new("buffer_select::kernel_address_entry").requires(&[Feature::PbufRing, Feature::PbufStatus])
        .expect(Expect::by_level(&level::SELECT_ACCESS_OK, Want::cqe_errno(E::ENOBUFS), Want::cqe_errno(E::EFAULT)))
        .cite(Cite::kernel("kbuf.c:io_ring_buffer_select (access_ok) (7.x) / rw.c import_ubuf (<= 6.18)").rows(&["sel_kernel_addr"])
            .note("from 7.2 selection skips an entry that fails access_ok (ENOBUFS, head stays); before, the import fails EFAULT; on a pipe (pollable) the buffer is recycled, so the CQE has no F_BUFFER and the head stays 0 on both levels"))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let br = ring.setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE).setup("ring")?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::KERNEL), 64, 3, 0);
            br.advance(1);
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            check_head(cx, &ring, 0, "after the failed selection")?;
            cx.observe(c, "on a pipe whose ring entry (bid 3) points at a kernel address")
        }),
    Case::new("buffer_select::unmapped_entry_then_reuse_bid").requires(&[Feature::PbufRing, Feature::PbufStatus]).expect(Expect::cqe(-14, buf(8, CqeFlags::NONE)))
        .cite(Cite::kernel("kbuf.c:io_should_commit; io_uring.c:io_req_defer_failed (io_put_kbuf)").rows(&["sel_bad_user_addr"])
            .note("on a regular file the buffer is committed at selection, so the EFAULT CQE carries F_BUFFER|bid and the application owns bid 8 again; checked here by re-adding it"))
        .run(|cx| {
            let (f, data) = data_file(cx, 64, 2)?;
            let mut ring = cx.ring()?;
            let good = cx.mem(64)?;
            let br = ring.setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE).setup("ring")?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::LOW), 64, 8, 0);
            br.advance(1);
            let c = sel(cx, &mut ring, op::read_select(fd(&f), 0, 0, BGID))?;
            check_head(cx, &ring, 1, "after the failed read")?;
            let br = ring.buf_ring(BGID).expect("set up above");
            br.add(&good.slice(0, 64), 8, 0);
            br.advance(1);
            let again = sel(cx, &mut ring, op::read_select(fd(&f), 0, 0, BGID))?;
            cx.check_eq("second READ (bid 8 re-added) res, flags", (again.res, again.flags), (64, buf(8, CqeFlags::NONE)))?;
            cx.check_eq("bytes in the re-added bid 8", good.read(0, 64), data)?;
            cx.observe(c, "on a file whose ring entry (bid 8) points at unmapped memory")
        }),
    Case::new("buffer_select::write_unsupported").expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)").man(ENTER, "ERRORS: EOPNOTSUPP").rows(&["sel_unsupported_op"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            let f = dev_null(true)?;
            let c = sel(cx, &mut ring, op::write(fd(&f), m.slice(0, 64), 64, 0).buffer_select(BGID))?;
            cx.observe(c, "on /dev/null")
        }),
    Case::new("buffer_select::nop_unsupported").expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)").man(ENTER, "ERRORS: EOPNOTSUPP").rows(&["sel_unsupported_op"]))
        .run(|cx| { let mut ring = cx.ring()?; let c = sel(cx, &mut ring, op::nop().buffer_select(BGID))?; cx.observe(c, "") }),
    Case::new("buffer_select::readv_two_iovecs").requires(PBUF).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("rw.c:io_iov_buffer_select_prep (rw->len != 1)").man("io_uring_provided_buffers.7", "single vector only").rows(&["sel_readv_len"]))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let iov = cx.mem(32)?;
            let mut v = Vec::new();
            for _ in 0..2 { v.extend_from_slice(&0u64.to_ne_bytes()); v.extend_from_slice(&32u64.to_ne_bytes()); }
            iov.write(0, &v);
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::readv_select(fd(&r), iov.slice(0, 32), 2, u64::MAX, BGID))?;
            cx.observe(c, "on a pipe")
        }),
    Case::new("buffer_select::readv_iovec_unmapped").requires(PBUF).expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rw.c:io_iov_buffer_select_prep (copy_from_user of the iovec)").rows(&["sel_readv_len"])
            .note("missing from the catalogue: with len 1 the single iovec is read at prep, EFAULT if unreadable"))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, unmapped_readv(fd(&r)))?;
            cx.observe(c, "on a pipe (the iovec at an unmapped address)")
        }),
    Case::new("buffer_select::read_multishot_without_select").requires(&[Feature::OpReadMultishot]).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("rw.c:io_read_mshot_prep (!(req->flags & REQ_F_BUFFER_SELECT))").rows(&["sel_mshot_needs_select"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, Sqe::with_opcode(Opcode::READ_MULTISHOT).fd(fd(&r)))?;
            cx.observe(c, "on a pipe without IOSQE_BUFFER_SELECT")
        }),
    Case::new("buffer_select::recv_multishot_without_select").requires(&[Feature::OpRecvSend]).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("net.c:io_recvmsg_prep (IORING_RECV_MULTISHOT without BUFFER_SELECT)").rows(&["sel_mshot_needs_select"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, _b) = UnixStream::pair().setup("socketpair")?;
            let m = cx.mem(64)?;
            let c = sel(cx, &mut ring, op::recv(fd(&a), m.slice(0, 64), 64, 0).ioprio(1 << 1))?;
            cx.observe(c, "on a socket without IOSQE_BUFFER_SELECT")
        }).needs(&[Fact::UnixSockets]),
    Case::new("buffer_select::recv_fixed_buf_with_select").requires(&[Feature::PbufRing, Feature::OpRecvSend]).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("net.c:io_recvmsg_prep (IORING_RECVSEND_FIXED_BUF with BUFFER_SELECT)").rows(&["sel_recv_flag_combo"])
            .note("6.12 rejects FIXED_BUF as an unknown recv flag, 7.x because of BUFFER_SELECT: same errno"))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"data").setup("send")?;
            let c = sel(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID).ioprio(1 << 2))?;
            cx.observe(c, "on a socket")
        }).needs(&[Fact::UnixSockets]),
    Case::new("buffer_select::provide_into_ring_group").requires(LEGACY).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:__io_manage_buffers_legacy (IOBL_BUF_RING)").man("io_uring_prep_provide_buffers.3", "ERRORS: EINVAL").rows(&["legacy_provide_into_ring"]))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let m = cx.mem(256)?;
            let c = cx.submit_one(&mut ring, op::provide_buffers(m.slice(0, 256), 64, 4, BGID, 0).user_data(2))?;
            cx.observe(c, "into a group that is a buffer ring")
        }),
    Case::new("buffer_select::remove_from_ring_group").requires(LEGACY).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("kbuf.c:__io_manage_buffers_legacy (IOBL_BUF_RING)").man("io_uring_prep_remove_buffers.3", "ERRORS: EINVAL").rows(&["legacy_remove_from_ring"]))
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(1, BGID).user_data(2))?;
            cx.observe(c, "from a group that is a buffer ring")
        }),
    Case::new("buffer_select::remove_from_unknown_group").requires(&[Feature::OpProvideBuffers]).expect(Expect::cqe_errno(E::ENOENT))
        .cite(Cite::kernel("kbuf.c:__io_manage_buffers_legacy / io_remove_buffers").rows(&["legacy_remove_from_ring"])
            .note("missing from the catalogue: REMOVE_BUFFERS on a group that does not exist is ENOENT on every version"))
        .run(|cx| { let mut ring = cx.ring()?; let c = cx.submit_one(&mut ring, op::remove_buffers(1, 100).user_data(2))?; cx.observe(c, "(group 100 never created)") }),
    // ---- §3.4 semantics ----
    Case::new("buffer_select::read_takes_head_entry").requires(STATUS).expect(Expect::cqe(5, buf(7, CqeFlags::NONE)))
        .cite(Cite::kernel("kbuf.c:io_ring_buffer_select / io_kbuf_commit").man(RBR, "DESCRIPTION").rows(&[]))
        .run(|cx| {
            let bids = [7, 3];
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &bids)?;
            let obs = read_into_ring(cx, &mut ring, &m, 64, &bids, b"hello", 0)?;
            check_head(cx, &ring, 1, "after one read")?;
            let (r, _w) = pipe_with(b"world!")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.check_eq("second READ res, flags", (c.res, c.flags), (6, buf(3, CqeFlags::NONE)))?;
            cx.check_eq("bytes in bid 3", m.read(64, 6), b"world!".to_vec())?;
            check_head(cx, &ring, 2, "after two reads")?;
            Ok(obs)
        }),
    Case::new("buffer_select::read_len_below_buffer").requires(STATUS).expect(Expect::cqe(4, buf(2, CqeFlags::NONE)))
        .cite(Cite::kernel("kbuf.c:io_ring_buffer_select (len = min(sqe len, buf len))").man(RBR, "DESCRIPTION").rows(&[]))
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[2])?;
            let obs = read_into_ring(cx, &mut ring, &m, 64, &[2], b"0123456789", 4)?;
            cx.check_eq("byte after the 4 read", m.read(4, 1), vec![0])?;
            Ok(obs)
        }),
    Case::new("buffer_select::recv_kernel_ring").requires(&[Feature::PbufRingMmap, Feature::PbufStatus, Feature::OpRecvSend]).expect(Expect::cqe(9, buf(11, CqeFlags::NONE)))
        .cite(Cite::kernel("net.c:io_recv_buf_select -> kbuf.c:io_buffer_select").man(SBR, "DESCRIPTION").rows(&[]))
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::KernelMmap, PbufFlags::NONE, 128, &[11])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"9 bytes!!").setup("send")?;
            let c = sel(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            if c.res == 9 {
                cx.check_eq("bytes in bid 11", m.read(0, 9), b"9 bytes!!".to_vec())?;
            }
            check_head(cx, &ring, 1, "after the recv")?;
            cx.observe(c, "on a socket holding 9 bytes from a kernel-allocated ring")
        }).needs(&[Fact::UnixSockets]),
    Case::new("buffer_select::inc_partial_then_exhaust").requires(INC).expect(Expect::cqe(32, buf(4, CqeFlags::BUF_MORE)))
        .cite(Cite::kernel("kbuf.c:io_kbuf_inc_commit").man(RBR, "IOU_PBUF_RING_INC").rows(&[]))
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::INC, 256, &[4])?;
            let first = pattern(32, 1);
            let obs = read_into_ring(cx, &mut ring, &m, 256, &[4], &first, 0)?;
            let e = ring.buf_ring(BGID).expect("set up").entry(0);
            cx.check_eq("entry 0 after 32 bytes (addr, len)", (e.addr, e.len), (m.addr() + 32, 224))?;
            check_head(cx, &ring, 0, "after a partial consumption")?;
            let rest = pattern(224, 2);
            let (r, _w) = pipe_with(&rest)?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.check_eq("second READ res, flags (buffer exhausted: no BUF_MORE)", (c.res, c.flags), (224, buf(4, CqeFlags::NONE)))?;
            cx.check_eq("bytes after the first 32", m.read(32, 224), rest)?;
            check_head(cx, &ring, 1, "after the buffer is used up")?;
            Ok(obs)
        }),
    Case::new("buffer_select::inc_min_left_retires").requires(&[Feature::PbufMinLeft, Feature::PbufStatus]).expect(Expect::cqe(200, buf(5, CqeFlags::NONE)))
        .cite(Cite::kernel("kbuf.c:io_kbuf_inc_commit (min_left)").man(RBR, "min_left").rows(&[]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let mem = cx.mem(256)?;
            let rmem = cx.mem(4096)?;
            let reg = io_uring_buf_reg { min_left: 64, ..buf_reg(BGID, 8, PbufFlags::INC) };
            let br = ring.register_buf_ring_with(rmem.slice(0, 4096), reg).setup("INC ring, min_left 64")?;
            br.add(&mem.slice(0, 256), 5, 0);
            br.advance(1);
            let data = pattern(200, 3);
            let obs = read_into_ring(cx, &mut ring, &mem, 256, &[5], &data, 0)?;
            check_head(cx, &ring, 1, "after a read leaving 56 < min_left bytes")?;
            Ok(obs)
        }),
    Case::new("buffer_select::read_multishot_until_dry").requires(&[Feature::OpReadMultishot, Feature::PbufRing]).expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(Cite::kernel("rw.c:io_read_mshot").rows(&[]))
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1, 2])?;
            let (r, mut w) = pipe()?;
            ring.push(Sqe::with_opcode(Opcode::READ_MULTISHOT).fd(fd(&r)).buffer_select(BGID).user_data(0x30)).map_err(|e| CaseError::Broken(e.to_string()))?;
            ring.submit().setup("submit READ_MULTISHOT")?;
            for (i, bid) in [1u16, 2].into_iter().enumerate() {
                w.write_all(b"chunk!").setup("write the pipe")?;
                let c = cx.wait(&mut ring, 1)?;
                cx.check_eq(&format!("multishot CQE {i} res, flags"), (c[0].res, c[0].flags), (6, buf(bid, CqeFlags::MORE)))?;
                cx.check_eq(&format!("bytes in bid {bid}"), m.read(i * 64, 6), b"chunk!".to_vec())?;
            }
            w.write_all(b"chunk!").setup("write the pipe")?;
            let c = cx.wait(&mut ring, 1)?;
            cx.cqe("READ_MULTISHOT(pipe, BUFFER_SELECT) after its 2 buffers are used", c[0])
        }),
];

/// READV with BUFFER_SELECT, len 1, whose iovec address is unmapped.
fn unmapped_readv(fd: i32) -> Sqe {
    op::readv_select_at(fd, ForeignAddr::LOW, 1, u64::MAX, BGID)
}
