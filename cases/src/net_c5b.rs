//! What io_send_zc_prep() decides before the issue (issue 24, generated mutants of net.c that
//! survived): the flags it refuses, a setup failure it must report, and the notification and
//! result words it must reset on a recycled io_kiocb. AF_UNIX has no zero copy
//! (SOCK_SUPPORT_ZC), so the issue answers EOPNOTSUPP whatever prep left: these rows see
//! prep's own answer, or the words the failure CQE and the notification carry.

use crate::common::net::ring_with_pattern;
use crate::common::*;
use crate::fixed_net_zc::zc_pair;
use std::os::unix::net::UnixStream;
use uring::abi::{CqeFlags, RecvSendFlags};
use uring::{op, ForeignAddr};
use uring_harness::level;
use uring_harness::{Case, Cite, Expect, Fact, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

const ZC: &[Feature] = &[Feature::OpSendZc];

/// 64 bytes at `base` of registered buffer 0.
fn fixed64(base: u64) -> op::FixedNet {
    op::FixedNet {
        addr: base,
        len: 64,
        msg_flags: 0,
        buf_index: 0,
    }
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("send_zc::fixed_unknown_flag")
        .requires(ZC)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::ZC_PREP_FAILURE_NOTIFIES)
        .expect(Expect::cqe(-E::EINVAL.0, CqeFlags::MORE))
        .cite(
            Cite::kernel(
                "net.c:io_send_zc_prep (zc->flags & ~IO_ZC_FLAGS_VALID) / io_sendrecv_fail",
            )
            .rows(&["zc_unix"])
            .note(
                "IORING_RECV_MULTISHOT is no SEND_ZC flag: prep refuses it after the \
                     notification is allocated, so the failure carries F_MORE and the \
                     notification follows; accepted, the issue would answer EOPNOTSUPP",
            ),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, _b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::send_zc_fixed(fd(&a), fixed64(base))
                .ioprio(RecvSendFlags::FIXED_BUF.0 | RecvSendFlags::RECV_MULTISHOT.0);
            let c = zc_pair(cx, &mut ring, sqe.user_data(1))?;
            cx.observe(c, "FIXED_BUF | RECV_MULTISHOT to an AF_UNIX stream")
        }),
    Case::new("sendmsg_zc::fixed_msghdr_unreadable")
        .requires(&[Feature::OpSendmsgZc])
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SENDMSG_ZC_FIXED_BUF)
        .expect(Expect::cqe(-E::EFAULT.0, CqeFlags::MORE))
        .cite(
            Cite::kernel(
                "net.c:io_send_zc_prep (if (unlikely(ret)) return ret) <- io_sendmsg_setup -> \
                 io_msg_copy_hdr",
            )
            .rows(&["zc_unix"])
            .note(
                "the msghdr is copied at prep: a pointer nothing is mapped at (4096) fails prep \
                 (EFAULT, F_MORE, then the notification); ignored, the issue would answer \
                 AF_UNIX's EOPNOTSUPP",
            ),
        )
        .run(|cx| {
            let (mut ring, _m, _, _) = ring_with_pattern(cx)?;
            let (a, _b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::sendmsg_zc_fixed_at(fd(&a), ForeignAddr::LOW, 0);
            let c = zc_pair(cx, &mut ring, sqe.user_data(1))?;
            cx.observe(
                c,
                "a msghdr pointer at 4096 (never mapped), to an AF_UNIX stream",
            )
        }),
    Case::new("send_zc::fixed_unix_after_reads")
        .requires(ZC)
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(-E::EOPNOTSUPP.0, CqeFlags::MORE))
        .cite(
            Cite::kernel(
                "net.c:io_send_zc_prep (zc->done_io = 0, notif->cqe.res = 0) / io_sendrecv_fail",
            )
            .rows(&["zc_unix"])
            .note(
                "the SEND_ZC and its notification reuse the READs' io_kiocbs (the ring's free \
                 list), whose words are not cleared: io_sendrecv_fail reports done_io \
                 instead of the error when it is not 0, and the notification posts its \
                 cqe.res, the READ's 10, unless prep zeroes both",
            ),
        )
        .run(|cx| {
            const READS: usize = 8;
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (r, _w) = pipe_with(&[0x42; 10 * READS])?;
            let into = cx.mem(16 * READS)?;
            let reads = (0..READS)
                .map(|i| {
                    op::read(fd(&r), into.slice(16 * i, 16), 10, u64::MAX).user_data(10 + i as u64)
                })
                .collect();
            let done = cx.submit_batch(&mut ring, reads, READS)?;
            cx.check_eq(
                "the READs' results",
                done.iter().map(|c| c.res).collect::<Vec<_>>(),
                vec![10; READS],
            )?;
            let (a, _b) = UnixStream::pair().setup("socketpair")?;
            let sqe = op::send_zc_fixed(fd(&a), fixed64(base));
            let c = zc_pair(cx, &mut ring, sqe.user_data(1))?;
            cx.observe(
                c,
                "64 bytes to an AF_UNIX stream, after 8 READs on the same ring",
            )
        }),
];
