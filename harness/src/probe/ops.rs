//! Probes of opcodes, setup flags and feature bits: what REGISTER_PROBE lists, what
//! io_uring_setup(2) accepts and reports, and the fixed-buffer network flags.

use super::*;

/// [`Feature::ExtArg`], [`Feature::RsrcTags`], [`Feature::RegRegRing`]: bits of the
/// features io_uring_setup(2) reported.
pub(super) fn feature_bits(d: &mut Detections, feat: FeatureFlags) {
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
pub(super) fn register_probe(d: &mut Detections, ring: &Ring) -> Result<register::Probe, Errno> {
    let probe = ring.registrar().probe();
    d.set_answer(
        Feature::RegisterProbe,
        &probe,
        probe.is_ok(),
        format!(
            "REGISTER_PROBE -> {}",
            answer(&probe.as_ref().map(|p| p.last_op).map_err(|e| *e))
        ),
    );
    probe
}

/// Whether REGISTER_PROBE answered and lists `o` as supported.
pub(super) fn supports(probe: &Result<register::Probe, Errno>, o: Opcode) -> bool {
    probe.as_ref().is_ok_and(|p| p.supports(o))
}

/// The opcode features ([`Feature::OpReadWriteFixed`] ... [`Feature::OpRecvSend`]), all
/// decided by that one REGISTER_PROBE call, which each is given as its own.
pub(super) fn opcodes(d: &mut Detections, probe: &Result<register::Probe, Errno>) {
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
pub(super) fn listed_by_register_probe<const N: usize>(
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
pub(super) fn setup_flags(d: &mut Detections) {
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

/// [`Feature::RwAttr`]: the IORING_FEAT_RW_ATTR bit of a ring set up for this probe (its
/// own io_uring_setup(2), so the call that decides is recorded as this probe's; the rows'
/// call is a read or write SQE with the attribute words set, never setup).
pub(super) fn rw_attr(d: &mut Detections) {
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
        Err(e) => d.set_answer(
            Feature::RwAttr,
            &Err::<(), _>(e),
            false,
            format!("io_uring_setup(1) -> {e}"),
        ),
    }
}

/// A setup-flag feature: present where io_uring_setup(2) with `flags` gives a ring.
pub(super) fn setup_with(d: &mut Detections, f: Feature, flags: SetupFlags, name: &str) {
    let r = Ring::builder(2).flags(flags).build().map(|_| 0);
    d.set_answer(
        f,
        &r,
        r.is_ok(),
        format!("io_uring_setup(flags={name}) -> {}", answer(&r)),
    );
}

/// [`Feature::SetupCqe32`]: a ring with 32-byte CQEs.
pub(super) fn setup_cqe32(d: &mut Detections) {
    setup_with(d, Feature::SetupCqe32, SetupFlags::CQE32, "CQE32");
}

/// [`Feature::SetupCqeMixed`]: a ring with mixed-size CQEs (2 SQ entries: CQ of 4, at
/// least the 2 the flag needs).
pub(super) fn setup_cqe_mixed(d: &mut Detections) {
    setup_with(
        d,
        Feature::SetupCqeMixed,
        SetupFlags::CQE_MIXED,
        "CQE_MIXED",
    );
}

/// [`Feature::OpReadvFixed`], [`Feature::OpSendZc`], [`Feature::OpSendmsgZc`]: listed by
/// the one REGISTER_PROBE call, which each is given as its own.
pub(super) fn fixed_op_opcodes(d: &mut Detections, probe: &Result<register::Probe, Errno>) {
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
pub(super) fn fixed_buf_net(d: &mut Detections, ring: &mut Ring) {
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
pub(super) fn recvsend_bundle(d: &mut Detections, feat: FeatureFlags) {
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
