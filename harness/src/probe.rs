//! What this kernel has, and how each feature was detected: the probes that fill the
//! [`FeatureSet`].
//!
//! Every probe is a call whose answer differs between kernels that have the feature and
//! kernels that lack it (error-paths.md §6); an unknown register opcode always gives EINVAL,
//! so EINVAL alone never proves absence unless the call is built to answer otherwise.
//! Probes are side-effect free (anything registered is unregistered) and print nothing.

use std::collections::BTreeMap;
use std::time::Duration;
use uring::abi::{
    io_uring_buf_reg, CloneFlags, FeatureFlags, MsgRingFlags, Opcode, PbufFlags, SetupFlags,
};
use uring::register::{self, CloneSrc};
use uring::trace::Call;
use uring::{op, Errno, Mem, Ring};

pub use crate::detection::Detection;
pub use crate::feature::{Feature, FeatureSet, SetupStatus};
pub use crate::version::kernel_release;
use crate::version::RunningVersion;
fn answer<T: std::fmt::Debug, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("{e}"),
    }
}

/// The current value of the io_uring_disabled sysctl, if the kernel has it (6.6+).
pub fn io_uring_disabled_sysctl() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Runs every probe (features, facts of the environment, the kernel version; `version`
/// overrides the version read from the kernel). Never prints; never panics on a kernel
/// answer.
pub fn probe(version: RunningVersion) -> FeatureSet {
    let ((mut fs, d), calls) = uring::trace::record(probe_features);
    debug_assert!(
        calls.is_empty(),
        "every probe call is attributed to a feature"
    );
    fs.detections = d.detections;
    fs.probe_calls = d.calls;
    fs.env = crate::env::probe();
    fs.version = version;
    apply_hidden(&mut fs);
    fs
}

/// Detections with the calls that decided each (drained from the trace at each verdict).
#[derive(Default)]
struct Detections {
    detections: BTreeMap<Feature, Detection>,
    calls: BTreeMap<Feature, Vec<Call>>,
}

impl Detections {
    fn set(&mut self, f: Feature, present: bool, how: String) {
        self.detections.insert(f, Detection { present, how });
        self.calls
            .entry(f)
            .or_default()
            .extend(uring::trace::take());
    }
}

/// Every feature probe, in order: each verdict takes the io_uring calls made since the one
/// before, so the order of the probes is the attribution of their calls.
fn probe_features() -> (FeatureSet, Detections) {
    let mut d = Detections::default();
    let kernel = kernel_release();
    let mut fs = FeatureSet::synthetic(&[]);
    fs.kernel = kernel;
    fs.detections.clear();
    let mut ring = match io_uring(&mut d) {
        Ok(ring) => ring,
        Err(denied) => {
            fs.setup = denied;
            return (fs, d);
        }
    };
    fs.setup_features = ring.features();
    feature_bits(&mut d, ring.features());
    let probe = register_probe(&mut d, &ring);
    if let Ok(p) = &probe {
        fs.ops = p
            .ops
            .iter()
            .filter(|o| o.flags & uring::abi::IO_URING_OP_SUPPORTED != 0)
            .map(|o| o.op)
            .collect();
    }
    opcodes(&mut d, &probe);
    setup_flags(&mut d);
    sparse_buffers(&mut d, &ring);
    clone_buffers(&mut d, &ring);
    clone_ranges(&mut d, &ring);
    pbuf_ring(&mut d, &ring);
    pbuf_ring_mmap(&mut d, &ring);
    let page = Mem::new(4096).ok();
    let slice = page.as_ref().map(|m| m.slice(0, 4096));
    pbuf_ring_inc(&mut d, &ring, slice.as_ref());
    pbuf_min_left(&mut d, &ring, slice.as_ref());
    pbuf_status(&mut d, &ring);
    fs.register_opcodes = register_query(&mut d);
    msg_ring(&mut d, supports(&probe, Opcode::MSG_RING));
    rw_attr(&mut d);
    setup_cqe32(&mut d);
    setup_cqe_mixed(&mut d);
    fixed_op_opcodes(&mut d, &probe);
    fixed_buf_net(&mut d, &mut ring);
    recvsend_bundle(&mut d, ring.features());
    // A probe that ran out of locked memory proved nothing either way.
    for (f, det) in &d.detections {
        if det.how.contains("-> ENOMEM") {
            fs.undetermined.entry(*f).or_insert_with(|| det.how.clone());
        }
    }
    (fs, d)
}

/// [`Feature::IoUring`]: the ring the other probes use; where io_uring_setup(2) fails, why,
/// and every feature absent.
fn io_uring(d: &mut Detections) -> Result<Ring, SetupStatus> {
    let e = match Ring::new(4) {
        Ok(r) => match task_restricted() {
            None => {
                d.set(Feature::IoUring, true, "io_uring_setup(4) -> fd".into());
                return Ok(r);
            }
            Some(reason) => {
                d.set(Feature::IoUring, false, reason.clone());
                for f in Feature::ALL.iter().filter(|f| **f != Feature::IoUring) {
                    d.set(*f, false, "io_uring restricted for this task".into());
                }
                return Err(SetupStatus::Denied {
                    errno: Errno::EPERM,
                    reason,
                });
            }
        },
        Err(e) => e,
    };
    let reason = match (e, io_uring_disabled_sysctl()) {
        (_, Some(v)) if v > 0 => format!("kernel.io_uring_disabled = {v}"),
        (Errno::ENOSYS, _) => {
            "io_uring_setup is not available (kernel without io_uring, or a seccomp filter)".into()
        }
        (Errno::EPERM, _) => "io_uring_setup is not permitted (seccomp filter or LSM)".into(),
        (e, _) => format!("io_uring_setup failed with {e}"),
    };
    d.set(
        Feature::IoUring,
        false,
        format!("io_uring_setup(4) -> {e}: {reason}"),
    );
    for f in Feature::ALL.iter().filter(|f| **f != Feature::IoUring) {
        d.set(*f, false, "io_uring unavailable".into());
    }
    Err(SetupStatus::Denied { errno: e, reason })
}

/// Why every ring of this task is restricted, if it is: since 7.x a task can carry io_uring
/// restrictions or BPF filters (IORING_REGISTER_RESTRICTIONS / BPF_FILTER on fd -1) that
/// every new ring copies and every child inherits, so the rows would measure a sandbox. A
/// second task registration answers EPERM exactly then (register.c:
/// io_register_restrictions_task); otherwise EACCES or EINVAL (nr_args 0) before anything
/// is allocated, and EINVAL or EBADF on kernels without it.
fn task_restricted() -> Option<String> {
    let call = register::RegisterCall::new(
        register::FdArg::Num(-1),
        uring::abi::RegisterOp::RESTRICTIONS,
        register::ArgPtr::NULL,
        0,
    );
    let r = call.invoke();
    (r == Err(Errno::EPERM)).then(|| {
        format!(
            "{call} -> EPERM: this task has io_uring restrictions or BPF filters (inherited from a parent), which every ring copies"
        )
    })
}

/// [`Feature::ExtArg`], [`Feature::RsrcTags`], [`Feature::RegRegRing`]: bits of the
/// features io_uring_setup(2) reported.
fn feature_bits(d: &mut Detections, feat: FeatureFlags) {
    let bit = |f: FeatureFlags, name: &str| {
        format!(
            "IORING_FEAT_{name} ({:#x}) in params.features {:#x}",
            f.0, feat.0
        )
    };
    for (f, flag, name) in [
        (Feature::ExtArg, FeatureFlags::EXT_ARG, "EXT_ARG"),
        (Feature::RsrcTags, FeatureFlags::RSRC_TAGS, "RSRC_TAGS"),
        (
            Feature::RegRegRing,
            FeatureFlags::REG_REG_RING,
            "REG_REG_RING",
        ),
    ] {
        d.set(f, feat.contains(flag), bit(flag, name));
    }
}

/// [`Feature::RegisterProbe`]; its answer decides the opcode features.
fn register_probe(d: &mut Detections, ring: &Ring) -> Result<register::Probe, Errno> {
    let probe = ring.registrar().probe();
    d.set(
        Feature::RegisterProbe,
        probe.is_ok(),
        format!(
            "REGISTER_PROBE -> {}",
            answer(&probe.as_ref().map(|p| p.last_op).map_err(|e| *e))
        ),
    );
    probe
}

/// Whether REGISTER_PROBE answered and lists `o` as supported.
fn supports(probe: &Result<register::Probe, Errno>, o: Opcode) -> bool {
    probe.as_ref().is_ok_and(|p| p.supports(o))
}

/// The opcode features ([`Feature::OpReadWriteFixed`] ... [`Feature::OpRecvSend`]), all
/// decided by that one REGISTER_PROBE call, which each is given as its own.
fn opcodes(d: &mut Detections, probe: &Result<register::Probe, Errno>) {
    let op = |o: Opcode| supports(probe, o);
    let ops_how = |names: &str| format!("REGISTER_PROBE lists {names}");
    listed_by_register_probe(
        d,
        [
            (
                Feature::OpReadWriteFixed,
                op(Opcode::READ_FIXED) && op(Opcode::WRITE_FIXED),
                ops_how("READ_FIXED, WRITE_FIXED"),
            ),
            (
                Feature::OpProvideBuffers,
                op(Opcode::PROVIDE_BUFFERS) && op(Opcode::REMOVE_BUFFERS),
                ops_how("PROVIDE/REMOVE_BUFFERS"),
            ),
            (
                Feature::OpMsgRing,
                op(Opcode::MSG_RING),
                ops_how("MSG_RING"),
            ),
            (
                Feature::OpReadMultishot,
                op(Opcode::READ_MULTISHOT),
                ops_how("READ_MULTISHOT"),
            ),
            (
                Feature::OpRecvSend,
                op(Opcode::RECV) && op(Opcode::SEND),
                ops_how("RECV, SEND"),
            ),
        ],
    );
}

/// Sets features decided by the REGISTER_PROBE answer, each given that call as its own.
fn listed_by_register_probe<const N: usize>(
    d: &mut Detections,
    list: [(Feature, bool, String); N],
) {
    let probe_call = d
        .calls
        .get(&Feature::RegisterProbe)
        .cloned()
        .unwrap_or_default();
    for (f, present, how) in list {
        d.set(f, present, how);
        d.calls.insert(f, probe_call.clone());
    }
}

/// The setup-flag features ([`Feature::SingleIssuer`], [`Feature::DeferTaskrun`],
/// [`Feature::NoSqArray`], [`Feature::RingDisabled`]): a ring set up with the flags.
fn setup_flags(d: &mut Detections) {
    for (f, flags, name) in [
        (
            Feature::SingleIssuer,
            SetupFlags::SINGLE_ISSUER,
            "SINGLE_ISSUER",
        ),
        (
            Feature::DeferTaskrun,
            SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
            "SINGLE_ISSUER|DEFER_TASKRUN",
        ),
        (Feature::NoSqArray, SetupFlags::NO_SQARRAY, "NO_SQARRAY"),
        (Feature::RingDisabled, SetupFlags::R_DISABLED, "R_DISABLED"),
    ] {
        setup_with(d, f, flags, name);
    }
}

/// [`Feature::SparseBuffers`]: a sparse buffer table of one (unregistered again).
fn sparse_buffers(d: &mut Detections, ring: &Ring) {
    let r = ring.registrar().register_buffers_sparse(1);
    if r.is_ok() {
        let _ = uring::trace::record(|| ring.registrar().unregister_buffers());
    }
    d.set(
        Feature::SparseBuffers,
        r.is_ok(),
        format!("BUFFERS2 {{nr=1, SPARSE}} -> {}", answer(&r)),
    );
}

/// [`Feature::CloneBuffers`]: cloning from a ring without buffers.
fn clone_buffers(d: &mut Detections, ring: &Ring) {
    let r = ring
        .registrar()
        .clone_buffers(CloneSrc::Fd(ring.fd()), CloneFlags::NONE, 0, 0, 0);
    d.set(
        Feature::CloneBuffers,
        r == Err(Errno::ENXIO),
        format!(
            "CLONE_BUFFERS from an empty ring -> {} (ENXIO: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::CloneRanges`]: the same clone with DST_REPLACE.
fn clone_ranges(d: &mut Detections, ring: &Ring) {
    let r =
        ring.registrar()
            .clone_buffers(CloneSrc::Fd(ring.fd()), CloneFlags::DST_REPLACE, 0, 0, 0);
    d.set(
        Feature::CloneRanges,
        r == Err(Errno::ENXIO),
        format!(
            "CLONE_BUFFERS(DST_REPLACE) from an empty ring -> {} (ENXIO: present)",
            answer(&r)
        ),
    );
}

/// The buffer group the buffer-ring probes use.
const PROBE_BGID: u16 = 65_535;

/// [`Feature::PbufRing`]: unregistering a buffer group that was never registered.
fn pbuf_ring(d: &mut Detections, ring: &Ring) {
    let r = ring.registrar().unregister_pbuf_ring_raw(io_uring_buf_reg {
        bgid: PROBE_BGID,
        ..Default::default()
    });
    d.set(
        Feature::PbufRing,
        r == Err(Errno::ENOENT.into()),
        format!(
            "UNREGISTER_PBUF_RING {{bgid=65535}} -> {} (ENOENT: present)",
            answer(&r)
        ),
    );
}

/// Registers a buffer ring and, if that worked, unregisters it again.
fn register_then_unregister(
    ring: &Ring,
    reg: io_uring_buf_reg,
    mem: Option<&uring::BufSlice>,
) -> Result<(), Errno> {
    let ptr = mem.map(|m| uring::mem::UserPtr::Mem(m.clone()));
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
fn pbuf_ring_mmap(d: &mut Detections, ring: &Ring) {
    let r = register_then_unregister(
        ring,
        register::buf_reg(PROBE_BGID, 1, PbufFlags::MMAP),
        None,
    );
    d.set(
        Feature::PbufRingMmap,
        r.is_ok(),
        format!("PBUF_RING {{entries=1, flags=MMAP}} -> {}", answer(&r)),
    );
}

/// [`Feature::PbufRingInc`]: an incremental buffer ring in `page`.
fn pbuf_ring_inc(d: &mut Detections, ring: &Ring, page: Option<&uring::BufSlice>) {
    let r = register_then_unregister(ring, register::buf_reg(PROBE_BGID, 1, PbufFlags::INC), page);
    d.set(
        Feature::PbufRingInc,
        r.is_ok(),
        format!(
            "PBUF_RING {{entries=1, flags=INC, app page}} -> {}",
            answer(&r)
        ),
    );
}

/// [`Feature::PbufMinLeft`]: the same ring with `min_left` set.
fn pbuf_min_left(d: &mut Detections, ring: &Ring, page: Option<&uring::BufSlice>) {
    let r = register_then_unregister(
        ring,
        io_uring_buf_reg {
            min_left: 1,
            ..register::buf_reg(PROBE_BGID, 1, PbufFlags::INC)
        },
        page,
    );
    d.set(
        Feature::PbufMinLeft,
        r.is_ok(),
        format!("PBUF_RING {{flags=INC, min_left=1}} -> {}", answer(&r)),
    );
}

/// [`Feature::PbufStatus`]: the status of a buffer group that was never registered.
fn pbuf_status(d: &mut Detections, ring: &Ring) {
    let r = ring.registrar().pbuf_status(PROBE_BGID as u32);
    d.set(
        Feature::PbufStatus,
        r == Err(Errno::ENOENT),
        format!(
            "PBUF_STATUS {{buf_group=65535}} -> {} (ENOENT: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::RegisterQuery`]; the number of register opcodes it reports.
fn register_query(d: &mut Detections) -> Option<u32> {
    let q = register::query_opcodes();
    let nr = q.as_ref().ok().map(|q| q.nr_register_opcodes);
    d.set(
        Feature::RegisterQuery,
        q.is_ok(),
        format!(
            "REGISTER_QUERY(opcodes) -> {}",
            answer(&q.map(|q| q.nr_register_opcodes))
        ),
    );
    nr
}

/// The msg_ring features, probed between two rings of their own where the kernel has
/// IORING_OP_MSG_RING.
const MSG_RING_FEATURES: [Feature; 4] = [
    Feature::MsgSendFd,
    Feature::MsgCqeSkip,
    Feature::MsgFlagsPass,
    Feature::SyncMsgRing,
];

/// The msg_ring features ([`MSG_RING_FEATURES`]), each by a message of its own.
fn msg_ring(d: &mut Detections, has_msg_ring: bool) {
    if !has_msg_ring {
        for f in MSG_RING_FEATURES {
            d.set(f, false, "no IORING_OP_MSG_RING".into());
        }
        return;
    }
    let (mut src, dst) = match (Ring::new(4), Ring::new(4)) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => {
            // Recorded as "-> ENOMEM" when that is why: such features are undetermined.
            for f in MSG_RING_FEATURES {
                d.set(f, false, format!("two probe rings: io_uring_setup -> {e}"));
            }
            return;
        }
    };
    msg_send_fd(d, &mut src, &dst);
    msg_cqe_skip(d, &mut src, &dst);
    msg_flags_pass(d, &mut src);
    sync_msg_ring(d, &dst);
}

/// MSG_RING SEND_FD from `src` (which has no file table) to slot 0 of `dst`.
fn send_fd(dst: &Ring, flags: MsgRingFlags) -> op::Sqe {
    op::msg_ring_fd(dst.fd(), 0, op::MsgFdSlot::Slot(0), 0, flags)
}

/// [`Feature::MsgSendFd`]: SEND_FD from a ring without files, -EBADF where it exists.
fn msg_send_fd(d: &mut Detections, src: &mut Ring, dst: &Ring) {
    let r = one_res(src, send_fd(dst, MsgRingFlags::NONE));
    d.set(
        Feature::MsgSendFd,
        r == Ok(-libc::EBADF),
        format!(
            "MSG_RING SEND_FD, source without files -> res {} (-EBADF: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::MsgCqeSkip`]: the same with CQE_SKIP.
fn msg_cqe_skip(d: &mut Detections, src: &mut Ring, dst: &Ring) {
    let r = one_res(src, send_fd(dst, MsgRingFlags::CQE_SKIP));
    d.set(
        Feature::MsgCqeSkip,
        r == Ok(-libc::EBADF),
        format!(
            "MSG_RING SEND_FD + CQE_SKIP -> res {} (-EBADF: present)",
            answer(&r)
        ),
    );
}

/// [`Feature::MsgFlagsPass`]: MSG_DATA with FLAGS_PASS to the ring itself (its CQE is
/// drained).
fn msg_flags_pass(d: &mut Detections, src: &mut Ring) {
    let own = src.fd();
    let r = one_res(
        src,
        op::msg_ring_data(
            own,
            op::MsgData {
                res: 0,
                user_data: 2,
                flags: MsgRingFlags::FLAGS_PASS,
            },
        ),
    );
    d.set(
        Feature::MsgFlagsPass,
        r == Ok(0),
        format!(
            "MSG_RING DATA + FLAGS_PASS to own ring -> res {}",
            answer(&r)
        ),
    );
    let _ = src.drain();
}

/// [`Feature::SyncMsgRing`]: MSG_DATA to `dst` without a ring of one's own.
fn sync_msg_ring(d: &mut Detections, dst: &Ring) {
    let r = register::sync_msg_ring(
        -1,
        &op::msg_ring_data(
            dst.fd(),
            op::MsgData {
                res: 0,
                user_data: 3,
                flags: MsgRingFlags::NONE,
            },
        ),
        1,
    );
    d.set(
        Feature::SyncMsgRing,
        r == Ok(0),
        format!("register(-1, SEND_MSG_RING, MSG_DATA) -> {}", answer(&r)),
    );
}

/// Why [`one_res`] has no CQE res: never an errno of its own making.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoCqe {
    SqFull,
    Wait(uring::WaitError),
    NotPosted,
}

impl std::fmt::Display for NoCqe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoCqe::SqFull => f.write_str("no CQE: the SQ was full"),
            NoCqe::Wait(e) => write!(f, "no CQE: {e}"),
            NoCqe::NotPosted => f.write_str("no CQE with the probe's user_data"),
        }
    }
}

/// Runs one SQE on `ring` and returns its CQE res (bounded wait).
fn one_res(ring: &mut Ring, sqe: op::Sqe) -> Result<i32, NoCqe> {
    ring.push(sqe.user_data(1)).map_err(|_| NoCqe::SqFull)?;
    ring.submit_and_wait_timeout(1, Duration::from_secs(2))
        .map_err(NoCqe::Wait)?;
    ring.drain()
        .iter()
        .find(|c| c.user_data == 1)
        .map(|c| c.res)
        .ok_or(NoCqe::NotPosted)
}

/// Marks features named in `URING_CONFORMANCE_HIDE` (comma separated) as absent.
fn apply_hidden(fs: &mut FeatureSet) {
    let Ok(list) = std::env::var("URING_CONFORMANCE_HIDE") else {
        return;
    };
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(f) = Feature::from_name(name) {
            fs.detections.insert(
                f,
                Detection {
                    present: false,
                    how: "hidden by URING_CONFORMANCE_HIDE".into(),
                },
            );
            fs.hidden.push(f);
        }
    }
}

/// [`Feature::RwAttr`]: the IORING_FEAT_RW_ATTR bit of a ring set up for this probe (its
/// own io_uring_setup(2), so the call that decides is recorded as this probe's; the rows'
/// call is a read or write SQE with the attribute words set, never setup).
fn rw_attr(d: &mut Detections) {
    let bit = FeatureFlags::RW_ATTR;
    match Ring::new(1) {
        Ok(r) => d.set(
            Feature::RwAttr,
            r.features().contains(bit),
            format!(
                "io_uring_setup(1): IORING_FEAT_RW_ATTR ({:#x}) in params.features {:#x}",
                bit.0,
                r.features().0
            ),
        ),
        Err(e) => d.set(Feature::RwAttr, false, format!("io_uring_setup(1) -> {e}")),
    }
}

/// A setup-flag feature: present where io_uring_setup(2) with `flags` gives a ring.
fn setup_with(d: &mut Detections, f: Feature, flags: SetupFlags, name: &str) {
    let r = Ring::builder(2).flags(flags).build().map(|_| 0);
    d.set(
        f,
        r.is_ok(),
        format!("io_uring_setup(flags={name}) -> {}", answer(&r)),
    );
}

/// [`Feature::SetupCqe32`]: a ring with 32-byte CQEs.
fn setup_cqe32(d: &mut Detections) {
    setup_with(d, Feature::SetupCqe32, SetupFlags::CQE32, "CQE32");
}

/// [`Feature::SetupCqeMixed`]: a ring with mixed-size CQEs (2 SQ entries: CQ of 4, at
/// least the 2 the flag needs).
fn setup_cqe_mixed(d: &mut Detections) {
    setup_with(
        d,
        Feature::SetupCqeMixed,
        SetupFlags::CQE_MIXED,
        "CQE_MIXED",
    );
}
/// [`Feature::OpReadvFixed`], [`Feature::OpSendZc`], [`Feature::OpSendmsgZc`]: listed by
/// the one REGISTER_PROBE call, which each is given as its own.
fn fixed_op_opcodes(d: &mut Detections, probe: &Result<register::Probe, Errno>) {
    let op = |o: Opcode| supports(probe, o);
    let ops_how = |names: &str| format!("REGISTER_PROBE lists {names}");
    listed_by_register_probe(
        d,
        [
            (
                Feature::OpReadvFixed,
                op(Opcode::READV_FIXED) && op(Opcode::WRITEV_FIXED),
                ops_how("READV_FIXED, WRITEV_FIXED"),
            ),
            (Feature::OpSendZc, op(Opcode::SEND_ZC), ops_how("SEND_ZC")),
            (
                Feature::OpSendmsgZc,
                op(Opcode::SENDMSG_ZC),
                ops_how("SENDMSG_ZC"),
            ),
        ],
    );
}

/// [`Feature::SendFixedBuf`], [`Feature::RecvFixedBuf`]: SEND / RECV with
/// IORING_RECVSEND_FIXED_BUF on a pipe. Where the flag is known, prep accepts it and the
/// issue finds no socket (-ENOTSOCK); before, prep refuses the flag (-EINVAL); without
/// CONFIG_NET the opcodes are io_eopnotsupp_prep (-EOPNOTSUPP).
fn fixed_buf_net(d: &mut Detections, ring: &mut Ring) {
    let pipe = std::io::pipe();
    for (f, o, name, end) in [
        (Feature::SendFixedBuf, Opcode::SEND, "SEND", 1),
        (Feature::RecvFixedBuf, Opcode::RECV, "RECV", 0),
    ] {
        let r = match &pipe {
            Ok((rd, wr)) => {
                use std::os::fd::AsRawFd;
                let fd = if end == 0 {
                    rd.as_raw_fd()
                } else {
                    wr.as_raw_fd()
                };
                let sqe = op::Sqe::with_opcode(o)
                    .fd(fd)
                    .ioprio(uring::abi::RecvSendFlags::FIXED_BUF.0);
                one_res(ring, sqe).map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("pipe: {e}")),
        };
        d.set(
            f,
            r == Ok(-libc::ENOTSOCK),
            format!(
                "{name} {{ioprio=FIXED_BUF}} on a pipe -> res {} (-ENOTSOCK: present)",
                answer(&r)
            ),
        );
    }
}

/// [`Feature::RecvsendBundle`]: IORING_FEAT_RECVSEND_BUNDLE in the setup features (the bit
/// came with the flag in io_uring_setup(); no bundle is sent, so no bundle row's call is made).
fn recvsend_bundle(d: &mut Detections, feat: FeatureFlags) {
    let bit = FeatureFlags::RECVSEND_BUNDLE;
    d.set(
        Feature::RecvsendBundle,
        feat.contains(bit),
        format!(
            "IORING_FEAT_RECVSEND_BUNDLE ({:#x}) in params.features {:#x}",
            bit.0, feat.0
        ),
    );
}
