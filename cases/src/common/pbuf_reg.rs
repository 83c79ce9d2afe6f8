//! The REGISTER_PBUF_RING calls and the ring mmap that both provided-buffer-ring tables
//! ([`crate::buf_ring`] and [`crate::buf_ring_unregister`]) make.

use crate::common::pbuf::*;
use uring::abi::{io_uring_buf_reg, PbufFlags, RegisterOp};
use uring::bufring::BufRingMemory;
use uring::mem::UserPtr;
use uring::register::ArgPtr;
use uring::Ring;
use uring_harness::case::Answer;
use uring_harness::{CaseError, CaseResult, Cx, Feature, Setup};

/// What the rows on kernel-allocated (IOU_PBUF_RING_MMAP) rings require.
pub const MMAP: &[Feature] = &[Feature::PbufRingMmap];

/// `struct io_uring_buf_reg` in kernel layout (40 bytes), for raw-argument calls.
pub fn reg_bytes(r: &io_uring_buf_reg) -> Vec<u8> {
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
pub fn raw_reg_arg(
    cx: &Cx,
    ring: &Ring,
    op: RegisterOp,
    reg: io_uring_buf_reg,
    nr: u32,
) -> CaseResult {
    let m = cx.mem(40)?;
    m.write(0, &reg_bytes(&reg));
    cx.sync(
        format!("io_uring_register(ring, {op:?}, &{reg:?}, {nr})"),
        ring.registrar()
            .register_raw(op, &ArgPtr::Mem(m.slice(0, 40)), nr),
    )
}

/// REGISTER_PBUF_RING with `reg` (ring memory `ptr`, if any), observed.
pub fn register(cx: &Cx, ring: &Ring, ptr: Option<&UserPtr>, reg: io_uring_buf_reg) -> CaseResult {
    let addr = ptr.map_or(reg.ring_addr, |p| p.addr());
    cx.sync(
        register_call(addr, reg),
        ring.registrar().register_pbuf_ring_raw(ptr, reg).map(|_| 0),
    )
}

/// REGISTER_PBUF_RING as a reader would write it, with the ring address the kernel sees.
pub fn register_call(ring_addr: u64, reg: io_uring_buf_reg) -> String {
    let shown = io_uring_buf_reg { ring_addr, ..reg };
    format!("io_uring_register(ring, PBUF_RING, &{shown:?}, 1)")
}

/// mmap of group `bgid`'s ring offset, observed.
pub fn mmap(cx: &Cx, ring: &Ring, bgid: u16, len: usize, hint: u64, what: &str) -> CaseResult {
    cx.sync(
        format!(
            "mmap({hint:#x}, {len}, RW, MAP_SHARED, ring, IORING_OFF_PBUF_RING | {bgid} << 16) \
             {what}"
        ),
        ring.mmap_pbuf_raw(bgid, len, hint).map(|_| 0),
    )
}

/// Whether the call observed succeeded.
pub fn succeeded(obs: &uring_harness::case::Observation) -> bool {
    matches!(obs.answer, Answer::Sync(Ok(_)))
}

/// A ring with an empty 8-entry application-allocated buffer ring for `BGID`.
pub fn app_ring(cx: &Cx) -> Result<Ring, CaseError> {
    let mut ring = cx.ring()?;
    ring.setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
        .setup("set up the buffer ring")?;
    Ok(ring)
}
