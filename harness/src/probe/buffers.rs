//! Probes of the buffer features: sparse tables, clone and its ranges, buffer rings (MMAP,
//! INC, min_left, status). Each registers only what it unregisters again.

use super::*;

/// [`Feature::SparseBuffers`]: a sparse buffer table of one (unregistered again).
pub(super) fn sparse_buffers(d: &mut Detections, ring: &Ring) {
    let r = ring.registrar().register_buffers_sparse(1);
    if r.is_ok() {
        let _ = uring::trace::record(|| ring.registrar().unregister_buffers());
    }
    d.set_answer(
        Feature::SparseBuffers,
        &r,
        r.is_ok(),
        format!("BUFFERS2 {{nr=1, SPARSE}} -> {}", answer(&r)),
    );
}

/// [`Feature::CloneBuffers`]: cloning from a ring without buffers.
pub(super) fn clone_buffers(d: &mut Detections, ring: &Ring) {
    let r = ring
        .registrar()
        .clone_buffers(CloneSrc::Fd(ring.fd()), CloneFlags::NONE, 0, 0, 0);
    d.set_answer(
        Feature::CloneBuffers,
        &r,
        r == Err(Errno::ENXIO),
        format!(
            "CLONE_BUFFERS from an empty ring -> {} (ENXIO: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::CloneRanges`]: the same clone with DST_REPLACE.
pub(super) fn clone_ranges(d: &mut Detections, ring: &Ring) {
    let r =
        ring.registrar()
            .clone_buffers(CloneSrc::Fd(ring.fd()), CloneFlags::DST_REPLACE, 0, 0, 0);
    d.set_answer(
        Feature::CloneRanges,
        &r,
        r == Err(Errno::ENXIO),
        format!(
            "CLONE_BUFFERS(DST_REPLACE) from an empty ring -> {} (ENXIO: present)",
            answer(&r)
        ),
    );
}

/// The buffer group the buffer-ring probes use.
pub(super) const PROBE_BGID: u16 = 65_535;

/// [`Feature::PbufRing`]: unregistering a buffer group that was never registered.
pub(super) fn pbuf_ring(d: &mut Detections, ring: &Ring) {
    let r = ring.registrar().unregister_pbuf_ring_raw(io_uring_buf_reg {
        bgid: PROBE_BGID,
        ..Default::default()
    });
    d.set_answer(
        Feature::PbufRing,
        &r,
        r == Err(Errno::ENOENT.into()),
        format!(
            "UNREGISTER_PBUF_RING {{bgid=65535}} -> {} (ENOENT: present)",
            answer(&r)
        ),
    );
}

/// Registers a buffer ring and, if that worked, unregisters it again. `mem` is the
/// application page for the ring, or the errno of its mmap (then that is the answer: the
/// probe proved nothing).
pub(super) fn register_then_unregister(
    ring: &Ring,
    reg: io_uring_buf_reg,
    mem: Option<Result<&uring::BufSlice, &Errno>>,
) -> Result<(), Errno> {
    let ptr = match mem {
        None => None,
        Some(Ok(m)) => Some(uring::mem::UserPtr::Mem(m.clone())),
        Some(Err(e)) => return Err(*e),
    };
    let r = ring.registrar().register_pbuf_ring_raw(ptr.as_ref(), reg);
    if r.is_ok() {
        // Cleanup, not the deciding call: left out of the probe's recorded calls.
        let _ = uring::trace::record(|| {
            ring.registrar().unregister_pbuf_ring_raw(io_uring_buf_reg {
                bgid: reg.bgid,
                ..Default::default()
            })
        });
    }
    r
}

/// [`Feature::PbufRingMmap`]: a kernel-allocated buffer ring.
pub(super) fn pbuf_ring_mmap(d: &mut Detections, ring: &Ring) {
    let r = register_then_unregister(
        ring,
        register::buf_reg(PROBE_BGID, 1, PbufFlags::MMAP),
        None,
    );
    d.set_answer(
        Feature::PbufRingMmap,
        &r,
        r.is_ok(),
        format!("PBUF_RING {{entries=1, flags=MMAP}} -> {}", answer(&r)),
    );
}

/// [`Feature::PbufRingInc`]: an incremental buffer ring in `page`.
pub(super) fn pbuf_ring_inc(
    d: &mut Detections,
    ring: &Ring,
    page: Result<&uring::BufSlice, &Errno>,
) {
    let r = register_then_unregister(
        ring,
        register::buf_reg(PROBE_BGID, 1, PbufFlags::INC),
        Some(page),
    );
    d.set_answer(
        Feature::PbufRingInc,
        &r,
        r.is_ok(),
        format!(
            "PBUF_RING {{entries=1, flags=INC, app page}} -> {}",
            answer(&r)
        ),
    );
}

/// [`Feature::PbufMinLeft`]: the same ring with `min_left` set.
pub(super) fn pbuf_min_left(
    d: &mut Detections,
    ring: &Ring,
    page: Result<&uring::BufSlice, &Errno>,
) {
    let r = register_then_unregister(
        ring,
        io_uring_buf_reg {
            min_left: 1,
            ..register::buf_reg(PROBE_BGID, 1, PbufFlags::INC)
        },
        Some(page),
    );
    d.set_answer(
        Feature::PbufMinLeft,
        &r,
        r.is_ok(),
        format!("PBUF_RING {{flags=INC, min_left=1}} -> {}", answer(&r)),
    );
}

/// [`Feature::PbufStatus`]: the status of a buffer ring that is registered (kernel-allocated,
/// one entry: MMAP came in 6.4, before PBUF_STATUS in 6.8), which answers its head. Not the
/// status of an unknown group: its ENOENT is what `buf_ring::status_unknown_group` checks,
/// and a probe deciding by that answer would turn a wrong errno there into a lost feature
/// (the row skipped instead of failing).
pub(super) fn pbuf_status(d: &mut Detections, ring: &Ring) {
    let reg = register::buf_reg(PROBE_BGID, 1, PbufFlags::MMAP);
    // Setup and cleanup, not the deciding call: left out of the probe's recorded calls.
    let (registered, _) =
        uring::trace::record(|| ring.registrar().register_pbuf_ring_raw(None, reg));
    let r = registered.and_then(|()| {
        let status = ring.registrar().pbuf_status(PROBE_BGID as u32);
        let _ = uring::trace::record(|| {
            ring.registrar().unregister_pbuf_ring_raw(io_uring_buf_reg {
                bgid: PROBE_BGID,
                ..Default::default()
            })
        });
        status
    });
    d.set_answer(
        Feature::PbufStatus,
        &r,
        r.is_ok(),
        format!(
            "PBUF_STATUS of a registered 1-entry MMAP ring (buf_group=65535) -> {}",
            answer(&r)
        ),
    );
}
