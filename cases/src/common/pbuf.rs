//! Provided-buffer rings: the man pages, feature sets, group and setups shared by the
//! tables of §3 (`buf_ring`, `buf_select`, `buf_ring_io`).

use super::buf_reads::publish;
use super::*;
use std::sync::Arc;
use uring::abi::PbufFlags;
use uring::bufring::BufRingMemory;
use uring::{op, Cqe, Mem, Ring, Sqe};
use uring_harness::{CaseError, CaseResult, Cx, Feature};

pub(crate) const RBR: &str = "io_uring_register_buf_ring.3";

pub(crate) const SBR: &str = "io_uring_setup_buf_ring.3";

pub(crate) const PBUF: &[Feature] = &[Feature::PbufRing];

pub(crate) const STATUS: &[Feature] = &[Feature::PbufRing, Feature::PbufStatus];

pub(crate) const LEGACY: &[Feature] = &[Feature::PbufRing, Feature::OpProvideBuffers];

pub(crate) const INC: &[Feature] = &[Feature::PbufRingInc, Feature::PbufStatus];

pub(crate) const BGID: u16 = 7;

/// A ring with an 8-entry buffer ring for `BGID` (in `memory`, with `flags`) holding
/// `bufs.len()` published buffers of `len` bytes with the given bids; returns the buffers' memory.
pub(crate) fn ring_with_bufs(
    cx: &Cx,
    memory: BufRingMemory,
    flags: PbufFlags,
    len: usize,
    bids: &[u16],
) -> Result<(Ring, Arc<Mem>), CaseError> {
    ring_with_bufs_in(cx, BGID, memory, flags, len, bids)
}

/// [`ring_with_bufs`] for group `bgid`.
pub(crate) fn ring_with_bufs_in(
    cx: &Cx,
    bgid: u16,
    memory: BufRingMemory,
    flags: PbufFlags,
    len: usize,
    bids: &[u16],
) -> Result<(Ring, Arc<Mem>), CaseError> {
    let mut ring = cx.ring()?;
    let mem = cx.mem(len * bids.len().max(1))?;
    ring.setup_buf_ring(bgid, 8, memory, flags)
        .setup("set up the buffer ring")?;
    let bufs: Vec<_> = (0..bids.len()).map(|i| mem.slice(i * len, len)).collect();
    publish(&mut ring, bgid, &bufs, bids)?;
    Ok((ring, mem))
}

/// A ring whose group `BGID` holds bid 1 (32 bytes at the start of the returned memory) and
/// then bid 2 (128 bytes at +32): a selection's length shows which length it was made with.
pub(crate) fn ring_with_32_128(cx: &Cx) -> Result<(Ring, Arc<Mem>), CaseError> {
    let mut ring = cx.ring()?;
    let m = cx.mem(160)?;
    ring.setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
        .setup("set up the buffer ring")?;
    publish(
        &mut ring,
        BGID,
        &[m.slice(0, 32), m.slice(32, 128)],
        &[1, 2],
    )?;
    Ok((ring, m))
}

/// A READ of a fresh 64-byte file with a buffer from `BGID` of [`ring_with_32_128`], while
/// a pipe request of the same group waits with bid 1 given back: checks that the READ takes
/// bid 1 whole (32 bytes; committed at selection on a file that cannot be polled).
pub(crate) fn file_read_takes_bid_1(cx: &Cx, ring: &mut Ring) -> Result<(), CaseError> {
    let (f, _) = data_file(cx, 64, 5)?;
    let c = sel(cx, ring, op::read_select(fd(&f), 0, 0, BGID))?;
    cx.check_eq(
        "file READ res, flags",
        (c.res, c.flags),
        (32, buf_flags(1, uring::abi::CqeFlags::NONE)),
    )
}

/// A ring with a legacy (PROVIDE_BUFFERS) group `BGID` of `n` 64-byte buffers.
pub(crate) fn ring_with_legacy(cx: &Cx, n: u32) -> Result<Ring, CaseError> {
    ring_with_legacy_bufs(cx, n, 64, 0).map(|(ring, _)| ring)
}

/// A ring with a legacy group `BGID` of `n` `len`-byte buffers with bids from `bid`, one
/// after the other in fresh memory, which is returned. A failed PROVIDE_BUFFERS breaks the
/// row (success is res 0 on recent kernels, the count of buffers added on old ones).
pub(crate) fn ring_with_legacy_bufs(
    cx: &Cx,
    n: u32,
    len: u32,
    bid: u16,
) -> Result<(Ring, Arc<Mem>), CaseError> {
    let mut ring = cx.ring()?;
    let size = (n * len) as usize;
    let m = cx.mem(size)?;
    let c = cx.submit_one(
        &mut ring,
        op::provide_buffers(m.slice(0, size), len, n, BGID, bid).user_data(9),
    )?;
    if c.res < 0 {
        return Err(CaseError::Broken(format!("PROVIDE_BUFFERS: res {}", c.res)));
    }
    Ok((ring, m))
}

/// Checks the kernel head of group `bgid`'s ring (PBUF_STATUS).
pub(crate) fn check_head(
    cx: &Cx,
    ring: &Ring,
    bgid: u16,
    want: u32,
    when: &str,
) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("PBUF_STATUS head {when}"),
        ring.registrar().pbuf_status(bgid as u32),
        Ok(want),
    )
}

/// Submits a buffer-selecting SQE and returns its CQE.
pub(crate) fn sel(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
    cx.submit_one(ring, sqe.user_data(0x5e1))
}

/// READ with buffer selection from `BGID` on a pipe holding `data`, observed; checks the
/// bytes landed in the selected buffer (buffer `i` of `mem` has bid `bids[i]`).
pub(crate) fn read_into_ring(
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
