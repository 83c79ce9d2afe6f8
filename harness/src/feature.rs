//! The features the suite knows how to detect ([`Feature`]) and what the probe learned
//! about the running kernel ([`FeatureSet`]); the probing itself is in [`crate::probe`].

use std::collections::BTreeMap;
use uring::abi::FeatureFlags;
use uring::trace::Call;
use uring::Errno;

use crate::detection::{Detection, Undetermined};
use crate::env::Env;
use crate::level::{Backports, Levels};
use crate::version::{kernel_release, v, KernelVersion, RunningVersion};

macro_rules! features {
    ($($(#[$m:meta])* $v:ident = $name:literal, $since:expr;)*) => {
        /// A kernel feature the suite knows how to detect.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Feature { $($(#[$m])* $v,)* }
        impl Feature {
            /// Every feature, in report order.
            pub const ALL: &'static [Feature] = &[$(Feature::$v),*];
            /// The stable snake_case name used in reports and on the command line.
            pub fn name(self) -> &'static str { match self { $(Feature::$v => $name,)* } }
            /// The first upstream kernel version that has it (distro kernels may backport).
            pub fn since(self) -> KernelVersion { match self { $(Feature::$v => $since,)* } }
            /// The feature with this name.
            pub fn from_name(n: &str) -> Option<Feature> { match n { $($name => Some(Feature::$v),)* _ => None } }
        }
    };
}

features! {
    /// io_uring_setup(2) is allowed for this process.
    IoUring = "io_uring", v(5, 1);
    /// IORING_REGISTER_PROBE.
    RegisterProbe = "register_probe", v(5, 6);
    /// IORING_FEAT_EXT_ARG: timed waits in io_uring_enter(2).
    ExtArg = "ext_arg", v(5, 11);
    /// IORING_OP_READ_FIXED / WRITE_FIXED.
    OpReadWriteFixed = "op_read_write_fixed", v(5, 1);
    /// IORING_OP_PROVIDE_BUFFERS / REMOVE_BUFFERS.
    OpProvideBuffers = "op_provide_buffers", v(5, 7);
    /// IORING_OP_MSG_RING.
    OpMsgRing = "op_msg_ring", v(5, 18);
    /// IORING_OP_READ_MULTISHOT.
    OpReadMultishot = "op_read_multishot", v(6, 7);
    /// IORING_OP_RECV / SEND.
    OpRecvSend = "op_recv_send", v(5, 6);
    /// BUFFERS2 / BUFFERS_UPDATE with tags (IORING_FEAT_RSRC_TAGS).
    RsrcTags = "rsrc_tags", v(5, 13);
    /// IORING_RSRC_REGISTER_SPARSE.
    SparseBuffers = "sparse_buffers", v(5, 19);
    /// IORING_REGISTER_USE_REGISTERED_RING (IORING_FEAT_REG_REG_RING).
    RegRegRing = "reg_reg_ring", v(6, 3);
    /// IORING_SETUP_SINGLE_ISSUER.
    SingleIssuer = "single_issuer", v(6, 0);
    /// IORING_SETUP_DEFER_TASKRUN.
    DeferTaskrun = "defer_taskrun", v(6, 1);
    /// IORING_SETUP_NO_SQARRAY.
    NoSqArray = "no_sqarray", v(6, 6);
    /// IORING_SETUP_R_DISABLED + IORING_REGISTER_ENABLE_RINGS.
    RingDisabled = "r_disabled", v(5, 10);
    /// IORING_REGISTER_CLONE_BUFFERS.
    CloneBuffers = "clone_buffers", v(6, 12);
    /// Clone ranges (src_off/dst_off/nr) and IORING_REGISTER_DST_REPLACE.
    CloneRanges = "clone_ranges", v(6, 13);
    /// IORING_REGISTER_PBUF_RING.
    PbufRing = "pbuf_ring", v(5, 19);
    /// IOU_PBUF_RING_MMAP: kernel-allocated buffer rings.
    PbufRingMmap = "pbuf_ring_mmap", v(6, 4);
    /// IOU_PBUF_RING_INC: incremental buffer consumption.
    PbufRingInc = "pbuf_ring_inc", v(6, 12);
    /// `min_left` in io_uring_buf_reg (2026 backports).
    PbufMinLeft = "pbuf_min_left", v(7, 1);
    /// IORING_REGISTER_PBUF_STATUS.
    PbufStatus = "pbuf_status", v(6, 8);
    /// IORING_MSG_SEND_FD.
    MsgSendFd = "msg_send_fd", v(6, 0);
    /// IORING_MSG_RING_CQE_SKIP.
    MsgCqeSkip = "msg_cqe_skip", v(6, 0);
    /// IORING_MSG_RING_FLAGS_PASS.
    MsgFlagsPass = "msg_flags_pass", v(6, 3);
    /// IORING_REGISTER_SEND_MSG_RING (synchronous MSG_DATA).
    SyncMsgRing = "sync_msg_ring", v(6, 13);
    /// IORING_REGISTER_QUERY.
    RegisterQuery = "register_query", v(6, 18);
    /// IORING_FEAT_RW_ATTR: the read/write attribute words `attr_ptr` / `attr_type_mask`.
    RwAttr = "rw_attr", v(6, 15);
    /// IORING_SETUP_CQE32: 32-byte CQEs.
    SetupCqe32 = "setup_cqe32", v(5, 19);
    /// IORING_SETUP_CQE_MIXED: 16- and 32-byte CQEs in one ring.
    SetupCqeMixed = "setup_cqe_mixed", v(6, 18);
    /// IORING_OP_READV_FIXED / WRITEV_FIXED (vectored I/O on a registered buffer).
    OpReadvFixed = "op_readv_fixed", v(6, 15);
    /// IORING_OP_SEND_ZC.
    OpSendZc = "op_send_zc", v(6, 0);
    /// IORING_OP_SENDMSG_ZC.
    OpSendmsgZc = "op_sendmsg_zc", v(6, 1);
    /// IORING_RECVSEND_FIXED_BUF on plain IORING_OP_SEND.
    SendFixedBuf = "send_fixed_buf", v(7, 2);
    /// IORING_RECVSEND_FIXED_BUF on plain IORING_OP_RECV.
    RecvFixedBuf = "recv_fixed_buf", v(7, 2);
    /// IORING_RECVSEND_BUNDLE: RECV/SEND taking several buffers of a buffer ring
    /// (IORING_FEAT_RECVSEND_BUNDLE).
    RecvsendBundle = "recvsend_bundle", v(6, 10);
}

impl Feature {
    /// Whether `URING_CONFORMANCE_HIDE` may name it: every feature but io_uring itself,
    /// which every row runs on (hiding it would leave every row running; a kernel without
    /// io_uring is `kernel.io_uring_disabled`, which the probe reads).
    pub fn can_be_hidden(self) -> bool {
        self != Feature::IoUring
    }

    /// The fact of the kernel configuration this feature is built on, where a kernel of
    /// its version can lack it by configuration: io_uring's RECV/SEND are
    /// io_eopnotsupp_prep without CONFIG_NET (opdef.c), and REGISTER_PROBE leaves them out.
    pub fn built_on(self) -> Option<crate::env::Fact> {
        match self {
            Feature::OpRecvSend
            | Feature::OpSendZc
            | Feature::OpSendmsgZc
            | Feature::SendFixedBuf
            | Feature::RecvFixedBuf => Some(crate::env::Fact::Net),
            _ => None,
        }
    }
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
    /// It fails with an errno that no environment gives a valid call (EFAULT, EINVAL, ...):
    /// the kernel is broken, not unavailable. No row is skipped for it: each runs, and its
    /// own ring's setup step breaks it.
    Broken {
        /// The errno of io_uring_setup(2).
        errno: Errno,
        /// The call and its answer.
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
    pub(crate) detections: BTreeMap<Feature, Detection>,
    /// Features whose probe hit a resource limit (ENOMEM): neither present nor proven absent.
    pub(crate) undetermined: BTreeMap<Feature, Undetermined>,
    /// Features hidden on purpose (URING_CONFORMANCE_HIDE), to check that strict mode notices.
    pub hidden: Vec<Feature>,
    /// Facts of the machine and the kernel configuration.
    pub env: Env,
    /// The running kernel's version and where it was read.
    pub version: RunningVersion,
    /// The io_uring calls each feature's probe made (with the `trace` feature of `uring`).
    pub probe_calls: BTreeMap<Feature, Vec<Call>>,
    /// Every level's decision, made once per run from the above (see [`crate::level`]).
    pub levels: Levels,
}

impl FeatureSet {
    /// Whether `f` is present (and not hidden).
    pub fn has(&self, f: Feature) -> bool {
        self.detections.get(&f).is_some_and(|d| d.present)
    }
    /// Why `f` could not be probed, if a resource limit got in the way.
    pub fn undetermined(&self, f: Feature) -> Option<&Undetermined> {
        self.undetermined.get(&f)
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
    /// Reports `features` as missing, on purpose (`URING_CONFORMANCE_HIDE`, read by
    /// [`crate::cli::hidden_features`]), so that strict mode can be seen to notice.
    pub fn hide(&mut self, features: &[Feature]) {
        for f in features {
            self.detections.insert(
                *f,
                Detection {
                    present: false,
                    how: format!("hidden by {}", crate::cli::HIDE_ENV),
                },
            );
            self.hidden.push(*f);
        }
        self.levels = self.levels.with_hidden(self, features);
    }
    /// The names of the present features, comma separated (see [`FeatureSet::from_names`]).
    pub fn present_names(&self) -> String {
        crate::detection::present_names(&self.detections, Feature::name)
    }

    /// A set with the features named (comma separated) present: how a child process gets
    /// the parent's probe without probing again under its own limits.
    pub fn from_names(names: &str, how: &str) -> FeatureSet {
        let present = crate::detection::parse_names(names, Feature::from_name);
        let mut fs = FeatureSet::synthetic(&present);
        fs.detections = crate::detection::table(Feature::ALL, &present, how);
        fs.kernel = kernel_release();
        fs.version = crate::version::from_release(&fs.kernel, "");
        fs
    }

    /// A set with exactly these features (for tests of the harness itself), its levels
    /// decided from them with no backports.
    pub fn synthetic(present: &[Feature]) -> FeatureSet {
        let detections = crate::detection::table(Feature::ALL, present, "synthetic");
        let mut fs = FeatureSet {
            kernel: "synthetic".into(),
            setup: SetupStatus::Allowed,
            setup_features: FeatureFlags::NONE,
            ops: Vec::new(),
            register_opcodes: None,
            detections,
            undetermined: BTreeMap::new(),
            hidden: Vec::new(),
            env: Env::synthetic(&[]),
            version: RunningVersion {
                version: None,
                source: "synthetic".into(),
            },
            probe_calls: BTreeMap::new(),
            levels: Levels::default(),
        };
        fs.levels = Levels::decide(&fs, &Backports::NONE);
        fs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every feature's first version is a real io_uring release: from 5.1 (io_uring's first)
    /// to 7.3 (the newest series the suite was checked on).
    #[test]
    fn every_since_is_a_real_release() {
        for f in Feature::ALL {
            let s = f.since();
            assert!(
                s >= v(5, 1) && s <= v(7, 3) && s.patch == 0,
                "{}: since {s}",
                f.name()
            );
            assert_eq!(Feature::from_name(f.name()), Some(*f));
        }
    }
}
