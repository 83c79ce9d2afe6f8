//! What this kernel has, and how each feature was detected: the [`FeatureSet`].
//!
//! Every probe is a call whose answer differs between kernels that have the feature and
//! kernels that lack it (error-paths.md §6); an unknown register opcode always gives EINVAL,
//! so EINVAL alone never proves absence unless the call is built to answer otherwise.
//! Probes are side-effect free (anything registered is unregistered) and print nothing.

use std::collections::BTreeMap;
use std::time::Duration;
use uring::abi::{
    io_uring_buf_reg, CloneFlags, CqeFlags, FeatureFlags, MsgRingCmd, MsgRingFlags, Opcode,
    PbufFlags, RegisterOp, SetupFlags,
};
use uring::register::{self, ArgPtr, CloneSrc, Iov};
use uring::{op, Errno, Mem, Ring};

macro_rules! features {
    ($($(#[$m:meta])* $v:ident = $name:literal, $since:literal;)*) => {
        /// A kernel feature the suite knows how to detect.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Feature { $($(#[$m])* $v,)* }
        impl Feature {
            /// Every feature, in report order.
            pub const ALL: &'static [Feature] = &[$(Feature::$v),*];
            /// The stable snake_case name used in reports and on the command line.
            pub fn name(self) -> &'static str { match self { $(Feature::$v => $name,)* } }
            /// The upstream kernel version that introduced it (Debian kernels may backport).
            pub fn since(self) -> &'static str { match self { $(Feature::$v => $since,)* } }
            /// The feature with this name.
            pub fn from_name(n: &str) -> Option<Feature> { match n { $($name => Some(Feature::$v),)* _ => None } }
        }
    };
}

features! {
    /// io_uring_setup(2) is allowed for this process.
    IoUring = "io_uring", "5.1";
    /// IORING_REGISTER_PROBE.
    RegisterProbe = "register_probe", "5.6";
    /// IORING_FEAT_EXT_ARG: timed waits in io_uring_enter(2).
    ExtArg = "ext_arg", "5.11";
    /// IORING_OP_READ_FIXED / WRITE_FIXED.
    OpReadWriteFixed = "op_read_write_fixed", "5.1";
    /// IORING_OP_PROVIDE_BUFFERS / REMOVE_BUFFERS.
    OpProvideBuffers = "op_provide_buffers", "5.7";
    /// IORING_OP_MSG_RING.
    OpMsgRing = "op_msg_ring", "5.18";
    /// IORING_OP_READ_MULTISHOT.
    OpReadMultishot = "op_read_multishot", "6.7";
    /// IORING_OP_RECV / SEND.
    OpRecvSend = "op_recv_send", "5.6";
    /// BUFFERS2 / BUFFERS_UPDATE with tags (IORING_FEAT_RSRC_TAGS).
    RsrcTags = "rsrc_tags", "5.13";
    /// IORING_RSRC_REGISTER_SPARSE.
    SparseBuffers = "sparse_buffers", "5.19";
    /// `fd = -1` register ops dispatch blindly (EINVAL, not EBADF); unregister no longer waits.
    BlindRegister = "blind_register", "6.13";
    /// IORING_REGISTER_USE_REGISTERED_RING (IORING_FEAT_REG_REG_RING).
    RegRegRing = "reg_reg_ring", "6.3";
    /// IORING_SETUP_SINGLE_ISSUER.
    SingleIssuer = "single_issuer", "6.0";
    /// IORING_SETUP_DEFER_TASKRUN.
    DeferTaskrun = "defer_taskrun", "6.1";
    /// IORING_SETUP_NO_SQARRAY.
    NoSqArray = "no_sqarray", "6.6";
    /// IORING_SETUP_R_DISABLED + IORING_REGISTER_ENABLE_RINGS.
    RingDisabled = "r_disabled", "5.10";
    /// Buffers up to 1 TiB, EINVAL above (1 GiB and EFAULT before).
    BufferSize1TiB = "buffer_size_1tib", "7.x";
    /// IORING_REGISTER_CLONE_BUFFERS.
    CloneBuffers = "clone_buffers", "6.12";
    /// Clone ranges (src_off/dst_off/nr) and IORING_REGISTER_DST_REPLACE.
    CloneRanges = "clone_ranges", "6.13";
    /// CLONE_BUFFERS refuses a SINGLE_ISSUER source owned by another task (-EEXIST).
    CloneSrcIssuerCheck = "clone_src_issuer_check", "6.13+";
    /// IORING_REGISTER_PBUF_RING.
    PbufRing = "pbuf_ring", "5.19";
    /// IOU_PBUF_RING_MMAP: kernel-allocated buffer rings.
    PbufRingMmap = "pbuf_ring_mmap", "6.4";
    /// IOU_PBUF_RING_INC: incremental buffer consumption.
    PbufRingInc = "pbuf_ring_inc", "6.12";
    /// `min_left` in io_uring_buf_reg (2026 backports).
    PbufMinLeft = "pbuf_min_left", "7.x";
    /// IORING_REGISTER_PBUF_STATUS.
    PbufStatus = "pbuf_status", "6.8";
    /// IORING_MSG_SEND_FD.
    MsgSendFd = "msg_send_fd", "6.0";
    /// IORING_MSG_RING_CQE_SKIP.
    MsgCqeSkip = "msg_cqe_skip", "6.0";
    /// IORING_MSG_RING_FLAGS_PASS.
    MsgFlagsPass = "msg_flags_pass", "6.3";
    /// MSG_SEND_FD validates `len` (and, in the same code, a disabled target ring).
    MsgSendFdChecks = "msg_send_fd_checks", "6.2+";
    /// MSG_DATA + FLAGS_PASS refuses IORING_CQE_F_32 for a target without CQE32/CQE_MIXED.
    MsgCqeF32Check = "msg_cqe_f32_check", "7.x";
    /// IORING_REGISTER_SEND_MSG_RING (synchronous MSG_DATA).
    SyncMsgRing = "sync_msg_ring", "6.13";
    /// IORING_REGISTER_QUERY.
    RegisterQuery = "register_query", "6.18";
    /// This process has CAP_IPC_LOCK (registered memory is not charged to RLIMIT_MEMLOCK).
    CapIpcLock = "cap_ipc_lock", "-";
    /// This process can drop to another uid (root): cases in an unprivileged child can run.
    CanDropPrivileges = "can_drop_privileges", "-";
}

/// One probe's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Whether the kernel has it.
    pub present: bool,
    /// The call and the answer that decided.
    pub how: String,
}

/// Whether this process may use io_uring at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupStatus {
    /// io_uring_setup(2) works.
    Allowed,
    /// It does not: the errno and what we know of why.
    Denied {
        /// The errno of io_uring_setup(2).
        errno: Errno,
        /// Why (sysctl, seccomp, kernel built without io_uring).
        reason: String,
    },
}

/// Everything the probe learned about the running kernel.
#[derive(Clone, Debug)]
pub struct FeatureSet {
    /// `uname -r`.
    pub kernel: String,
    /// Whether io_uring can be used.
    pub setup: SetupStatus,
    /// The setup feature bits (0 when setup is denied).
    pub setup_features: FeatureFlags,
    /// SQE opcodes reported supported by REGISTER_PROBE.
    pub ops: Vec<u8>,
    /// `nr_register_opcodes` from REGISTER_QUERY, where present.
    pub register_opcodes: Option<u32>,
    detections: BTreeMap<Feature, Detection>,
    /// Features whose probe hit a resource limit (ENOMEM): neither present nor proven absent.
    undetermined: BTreeMap<Feature, String>,
    /// Features hidden on purpose (URING_CONFORMANCE_HIDE), to check that strict mode notices.
    pub hidden: Vec<Feature>,
}

impl FeatureSet {
    /// Whether `f` is present (and not hidden).
    pub fn has(&self, f: Feature) -> bool {
        self.detections.get(&f).is_some_and(|d| d.present)
    }
    /// Why `f` could not be probed, if a resource limit got in the way.
    pub fn undetermined(&self, f: Feature) -> Option<&str> {
        self.undetermined.get(&f).map(String::as_str)
    }
    /// The detection record of `f`.
    pub fn detection(&self, f: Feature) -> Option<&Detection> {
        self.detections.get(&f)
    }
    /// All detections in report order.
    pub fn detections(&self) -> impl Iterator<Item = (Feature, &Detection)> {
        self.detections.iter().map(|(f, d)| (*f, d))
    }
    /// The first feature of `req` this kernel lacks.
    pub fn missing(&self, req: &[Feature]) -> Option<Feature> {
        req.iter().copied().find(|f| !self.has(*f))
    }
    /// The names of the present features, comma separated (see [`FeatureSet::from_names`]).
    pub fn present_names(&self) -> String {
        self.detections
            .iter()
            .filter(|(_, d)| d.present)
            .map(|(f, _)| f.name())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A set with the features named (comma separated) present: how a child process gets
    /// the parent's probe without probing again under its own limits.
    pub fn from_names(names: &str, how: &str) -> FeatureSet {
        let present: Vec<Feature> = names.split(',').filter_map(Feature::from_name).collect();
        let mut fs = FeatureSet::synthetic(&present);
        fs.kernel = kernel_release();
        for d in fs.detections.values_mut() {
            d.how = how.to_string();
        }
        fs
    }

    /// A set with exactly these features (for tests of the harness itself).
    pub fn synthetic(present: &[Feature]) -> FeatureSet {
        let detections = Feature::ALL
            .iter()
            .map(|f| {
                (
                    *f,
                    Detection {
                        present: present.contains(f),
                        how: "synthetic".into(),
                    },
                )
            })
            .collect();
        FeatureSet {
            kernel: "synthetic".into(),
            setup: SetupStatus::Allowed,
            setup_features: FeatureFlags::NONE,
            ops: Vec::new(),
            register_opcodes: None,
            detections,
            undetermined: BTreeMap::new(),
            hidden: Vec::new(),
        }
    }
}

fn answer<T: std::fmt::Debug, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("{e}"),
    }
}

/// `uname -r`.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The current value of the io_uring_disabled sysctl, if the kernel has it (6.6+).
pub fn io_uring_disabled_sysctl() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Capability bit numbers (linux/capability.h).
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_IPC_LOCK: u32 = 14;

fn has_cap(bit: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << bit) != 0)
}

/// Runs every probe. Never prints; never panics on a kernel answer.
pub fn probe() -> FeatureSet {
    let mut d: BTreeMap<Feature, Detection> = BTreeMap::new();
    let mut set = |f: Feature, present: bool, how: String| {
        d.insert(f, Detection { present, how });
    };
    let kernel = kernel_release();
    set(
        Feature::CapIpcLock,
        has_cap(CAP_IPC_LOCK),
        "CapEff bit 14 in /proc/self/status".into(),
    );
    set(
        Feature::CanDropPrivileges,
        has_cap(CAP_SETUID) && has_cap(CAP_SETGID),
        "CapEff has CAP_SETUID and CAP_SETGID (lowering an rlimit needs no capability)".into(),
    );
    let mut fs = FeatureSet {
        kernel,
        setup: SetupStatus::Allowed,
        setup_features: FeatureFlags::NONE,
        ops: Vec::new(),
        register_opcodes: None,
        detections: BTreeMap::new(),
        undetermined: BTreeMap::new(),
        hidden: Vec::new(),
    };
    let ring = match Ring::new(4) {
        Ok(r) => r,
        Err(e) => {
            let reason = match (e, io_uring_disabled_sysctl()) {
                (_, Some(v)) if v > 0 => format!("kernel.io_uring_disabled = {v}"),
                (Errno::ENOSYS, _) => {
                    "io_uring_setup is not available (kernel without io_uring, or a seccomp filter)"
                        .into()
                }
                (Errno::EPERM, _) => {
                    "io_uring_setup is not permitted (seccomp filter or LSM)".into()
                }
                (e, _) => format!("io_uring_setup failed with {e}"),
            };
            set(
                Feature::IoUring,
                false,
                format!("io_uring_setup(4) -> {e}: {reason}"),
            );
            fs.setup = SetupStatus::Denied { errno: e, reason };
            for f in Feature::ALL {
                d.entry(*f).or_insert(Detection {
                    present: false,
                    how: "io_uring unavailable".into(),
                });
            }
            fs.detections = d;
            apply_hidden(&mut fs);
            return fs;
        }
    };
    set(Feature::IoUring, true, "io_uring_setup(4) -> fd".into());
    fs.setup_features = ring.features();
    let feat = ring.features();
    let bit = |f: FeatureFlags, name: &str| {
        format!(
            "IORING_FEAT_{name} ({:#x}) in params.features {:#x}",
            f.0, feat.0
        )
    };
    set(
        Feature::ExtArg,
        feat.contains(FeatureFlags::EXT_ARG),
        bit(FeatureFlags::EXT_ARG, "EXT_ARG"),
    );
    set(
        Feature::RsrcTags,
        feat.contains(FeatureFlags::RSRC_TAGS),
        bit(FeatureFlags::RSRC_TAGS, "RSRC_TAGS"),
    );
    set(
        Feature::RegRegRing,
        feat.contains(FeatureFlags::REG_REG_RING),
        bit(FeatureFlags::REG_REG_RING, "REG_REG_RING"),
    );

    let probe = ring.probe();
    set(
        Feature::RegisterProbe,
        probe.is_ok(),
        format!(
            "REGISTER_PROBE -> {}",
            answer(&probe.as_ref().map(|p| p.last_op).map_err(|e| *e))
        ),
    );
    if let Ok(p) = &probe {
        fs.ops = p
            .ops
            .iter()
            .filter(|o| o.flags & uring::abi::IO_URING_OP_SUPPORTED != 0)
            .map(|o| o.op)
            .collect();
    }
    let op = |o: Opcode| probe.as_ref().is_ok_and(|p| p.supports(o));
    let ops_how = |names: &str| format!("REGISTER_PROBE lists {names}");
    set(
        Feature::OpReadWriteFixed,
        op(Opcode::READ_FIXED) && op(Opcode::WRITE_FIXED),
        ops_how("READ_FIXED, WRITE_FIXED"),
    );
    set(
        Feature::OpProvideBuffers,
        op(Opcode::PROVIDE_BUFFERS) && op(Opcode::REMOVE_BUFFERS),
        ops_how("PROVIDE/REMOVE_BUFFERS"),
    );
    set(
        Feature::OpMsgRing,
        op(Opcode::MSG_RING),
        ops_how("MSG_RING"),
    );
    set(
        Feature::OpReadMultishot,
        op(Opcode::READ_MULTISHOT),
        ops_how("READ_MULTISHOT"),
    );
    set(
        Feature::OpRecvSend,
        op(Opcode::RECV) && op(Opcode::SEND),
        ops_how("RECV, SEND"),
    );

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
        let r = Ring::builder(2).flags(flags).build().map(|_| 0);
        set(
            f,
            r.is_ok(),
            format!("io_uring_setup(flags={name}) -> {}", answer(&r)),
        );
    }

    let r = ring.register_buffers_sparse(1);
    if r.is_ok() {
        let _ = ring.unregister_buffers();
    }
    set(
        Feature::SparseBuffers,
        r.is_ok(),
        format!("BUFFERS2 {{nr=1, SPARSE}} -> {}", answer(&r)),
    );

    let r = register::register_fd_raw(-1, RegisterOp::BUFFERS, &ArgPtr::NULL, 0);
    set(
        Feature::BlindRegister,
        r == Err(Errno::EINVAL),
        format!(
            "register(fd=-1, BUFFERS) -> {} (EINVAL: blind dispatch, EBADF: none)",
            answer(&r)
        ),
    );

    let r = ring.clone_buffers(CloneSrc::Fd(ring.fd()), CloneFlags::NONE, 0, 0, 0);
    set(
        Feature::CloneBuffers,
        r == Err(Errno::ENXIO),
        format!(
            "CLONE_BUFFERS from an empty ring -> {} (ENXIO: present)",
            answer(&r)
        ),
    );
    let r = ring.clone_buffers(CloneSrc::Fd(ring.fd()), CloneFlags::DST_REPLACE, 0, 0, 0);
    set(
        Feature::CloneRanges,
        r == Err(Errno::ENXIO),
        format!(
            "CLONE_BUFFERS(DST_REPLACE) from an empty ring -> {} (ENXIO: present)",
            answer(&r)
        ),
    );

    // A SINGLE_ISSUER source created by another thread, without buffers: the owner check
    // answers EEXIST before the empty-table ENXIO; kernels without it answer ENXIO.
    let other = std::thread::spawn(|| Ring::builder(2).flags(SetupFlags::SINGLE_ISSUER).build())
        .join()
        .ok()
        .and_then(Result::ok);
    let r = match &other {
        Some(o) => ring.clone_buffers(CloneSrc::Fd(o.fd()), CloneFlags::NONE, 0, 0, 0),
        None => Err(Errno::ENOSYS),
    };
    set(
        Feature::CloneSrcIssuerCheck,
        r == Err(Errno::EEXIST),
        format!(
            "CLONE_BUFFERS from an empty SINGLE_ISSUER ring of another thread -> {} (EEXIST: present, ENXIO: absent)",
            answer(&r)
        ),
    );
    drop(other);

    let probe_bgid = 65_535;
    let r = ring.unregister_pbuf_ring_raw(io_uring_buf_reg {
        bgid: probe_bgid,
        ..Default::default()
    });
    set(
        Feature::PbufRing,
        r == Err(Errno::ENOENT.into()),
        format!(
            "UNREGISTER_PBUF_RING {{bgid=65535}} -> {} (ENOENT: present)",
            answer(&r)
        ),
    );
    let reg_unreg = |reg: io_uring_buf_reg, mem: Option<&uring::BufSlice>| {
        let ptr = mem.map(|m| uring::mem::UserPtr::Mem(m.clone()));
        let r = ring.register_pbuf_ring_raw(ptr.as_ref(), reg);
        if r.is_ok() {
            let _ = ring.unregister_pbuf_ring_raw(io_uring_buf_reg {
                bgid: reg.bgid,
                ..Default::default()
            });
        }
        r
    };
    let r = reg_unreg(register::buf_reg(probe_bgid, 1, PbufFlags::MMAP), None);
    set(
        Feature::PbufRingMmap,
        r.is_ok(),
        format!("PBUF_RING {{entries=1, flags=MMAP}} -> {}", answer(&r)),
    );
    let page = Mem::new(4096).ok();
    let slice = page.as_ref().map(|m| m.slice(0, 4096));
    let r = reg_unreg(
        register::buf_reg(probe_bgid, 1, PbufFlags::INC),
        slice.as_ref(),
    );
    set(
        Feature::PbufRingInc,
        r.is_ok(),
        format!(
            "PBUF_RING {{entries=1, flags=INC, app page}} -> {}",
            answer(&r)
        ),
    );
    let r = reg_unreg(
        io_uring_buf_reg {
            min_left: 1,
            ..register::buf_reg(probe_bgid, 1, PbufFlags::INC)
        },
        slice.as_ref(),
    );
    set(
        Feature::PbufMinLeft,
        r.is_ok(),
        format!("PBUF_RING {{flags=INC, min_left=1}} -> {}", answer(&r)),
    );
    let r = ring.pbuf_status(probe_bgid as u32);
    set(
        Feature::PbufStatus,
        r == Err(Errno::ENOENT),
        format!(
            "PBUF_STATUS {{buf_group=65535}} -> {} (ENOENT: present)",
            answer(&r)
        ),
    );

    // 1 TiB + 4 KiB starting at a real page: 7.x rejects the size (EINVAL) before pinning;
    // older kernels reject it as over 1 GiB with EFAULT.
    if let Some(m) = &page {
        let r = ring.register_buffers(&[Iov::MemLen(m.slice(0, 4096), (1u64 << 40) + 4096)]);
        if r.is_ok() {
            let _ = ring.unregister_buffers();
        }
        set(
            Feature::BufferSize1TiB,
            r == Err(Errno::EINVAL),
            format!(
                "REGISTER_BUFFERS {{page, 1 TiB + 4 KiB}} -> {} (EINVAL: 1 TiB rule)",
                answer(&r)
            ),
        );
    }

    let q = register::query_opcodes();
    fs.register_opcodes = q.as_ref().ok().map(|q| q.nr_register_opcodes);
    set(
        Feature::RegisterQuery,
        q.is_ok(),
        format!(
            "REGISTER_QUERY(opcodes) -> {}",
            answer(&q.map(|q| q.nr_register_opcodes))
        ),
    );

    if op(Opcode::MSG_RING) {
        probe_msg_ring(&mut set);
    } else {
        for f in [
            Feature::MsgSendFd,
            Feature::MsgCqeSkip,
            Feature::MsgFlagsPass,
            Feature::SyncMsgRing,
        ] {
            set(f, false, "no IORING_OP_MSG_RING".into());
        }
    }
    // A probe that ran out of locked memory proved nothing either way.
    for (f, det) in &d {
        if det.how.contains("-> ENOMEM") {
            fs.undetermined.entry(*f).or_insert_with(|| det.how.clone());
        }
    }
    fs.detections = d;
    apply_hidden(&mut fs);
    fs
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

fn probe_msg_ring(set: &mut impl FnMut(Feature, bool, String)) {
    let (mut src, dst) = match (Ring::new(4), Ring::new(4)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => {
            // Recorded as "-> ENOMEM" when that is why: such features are undetermined.
            for f in [
                Feature::MsgSendFd,
                Feature::MsgCqeSkip,
                Feature::MsgFlagsPass,
                Feature::MsgSendFdChecks,
                Feature::MsgCqeF32Check,
                Feature::SyncMsgRing,
            ] {
                set(f, false, format!("two probe rings: io_uring_setup -> {e}"));
            }
            return;
        }
    };
    let send_fd =
        |flags: MsgRingFlags| op::msg_ring_fd(dst.fd(), 0, op::MsgFdSlot::Slot(0), 0, flags);
    let r = one_res(&mut src, send_fd(MsgRingFlags::NONE));
    let badf = Ok(-libc::EBADF);
    let has_send_fd = r == badf;
    set(
        Feature::MsgSendFd,
        r == badf,
        format!(
            "MSG_RING SEND_FD, source without files -> res {} (-EBADF: present)",
            answer(&r)
        ),
    );
    let r = one_res(&mut src, send_fd(MsgRingFlags::CQE_SKIP));
    set(
        Feature::MsgCqeSkip,
        r == badf,
        format!(
            "MSG_RING SEND_FD + CQE_SKIP -> res {} (-EBADF: present)",
            answer(&r)
        ),
    );
    let own = src.fd();
    let r = one_res(
        &mut src,
        op::msg_ring_data(own, 0, 2, MsgRingFlags::FLAGS_PASS),
    );
    let has_flags_pass = r == Ok(0);
    set(
        Feature::MsgFlagsPass,
        r == Ok(0),
        format!(
            "MSG_RING DATA + FLAGS_PASS to own ring -> res {}",
            answer(&r)
        ),
    );
    let _ = src.drain();
    let r = one_res(
        &mut src,
        op::msg_ring(dst.fd(), MsgRingCmd::SEND_FD, 1, 0).file_index(1),
    );
    set(
        Feature::MsgSendFdChecks,
        has_send_fd && r == Ok(-libc::EINVAL),
        format!(
            "MSG_RING SEND_FD with len 1, source without files -> res {} (-EINVAL: present, -EBADF: absent)",
            answer(&r)
        ),
    );
    let r = one_res(
        &mut src,
        op::msg_ring_data(own, 0, 4, MsgRingFlags::FLAGS_PASS).file_index(CqeFlags::F_32.0),
    );
    let _ = src.drain();
    set(
        Feature::MsgCqeF32Check,
        has_flags_pass && r == Ok(-libc::EINVAL),
        format!(
            "MSG_RING DATA + FLAGS_PASS(F_32) to own non-CQE32 ring -> res {} (-EINVAL: present, 0: absent)",
            answer(&r)
        ),
    );
    let _ = MsgRingCmd::DATA;
    let r = register::sync_msg_ring(
        -1,
        &op::msg_ring_data(dst.fd(), 0, 3, MsgRingFlags::NONE),
        1,
    );
    set(
        Feature::SyncMsgRing,
        r == Ok(0),
        format!("register(-1, SEND_MSG_RING, MSG_DATA) -> {}", answer(&r)),
    );
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
