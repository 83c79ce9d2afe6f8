//! §3.3: buffer selection (IOSQE_BUFFER_SELECT) from provided-buffer rings on read and
//! recv, its error paths and the legacy PROVIDE/REMOVE_BUFFERS interplay. What selection
//! hands out is in [`crate::buf_select_semantics`].

use crate::common::buf_reads::{publish, FILE_NOT_POLLABLE};
use crate::common::pbuf::*;
use crate::common::pbuf_io::check_cqe;
use crate::common::*;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::Arc;
use uring::abi::{CqeFlags, Opcode, PbufFlags, RecvSendFlags, SqeFlags};
use uring::bufring::BufRingMemory;
use uring::mem::UserPtr;
use uring::{op, ForeignAddr, Mem, Ring, Sqe};
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup, Want};

/// Catalogue rows this table leaves uncovered: none.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// Why the empty-ring rows write an entry they do not publish.
const UNPUBLISHED_NOTE: &str = "the head slot holds a valid 64-byte buffer (bid 7) that the tail \
     does not publish: a kernel that selects without comparing head with tail takes it, where a \
     zeroed slot (addr 0) would give ENOBUFS all the same";

/// Writes a valid entry (bid 7, the 64 bytes of `m`, filled with 0xee) into the head slot of
/// group `BGID`'s ring without publishing it: the ring stays empty.
fn write_unpublished(ring: &mut Ring, m: &Arc<Mem>) -> Result<(), CaseError> {
    m.fill(0xee);
    let br = ring
        .buf_ring(BGID)
        .ok_or_else(|| CaseError::Broken(format!("no buffer ring set up for group {BGID}")))?;
    br.add(&m.slice(0, 64), 7, 0);
    Ok(())
}

/// Checks that the unpublished entry's buffer was not written.
fn check_unpublished_untouched(cx: &Cx, m: &Mem) -> Result<(), CaseError> {
    cx.check_eq(
        "bytes of the unpublished entry's buffer (bid 7)",
        m.read(0, 64),
        vec![0xee; 64],
    )
}

/// The buffer-selection rows.
pub const CASES: &[Case] = &[
    // ---- §3.3 buffer selection and legacy interplay ----
    Case::new("buffer_select::read_no_group")
        .expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(
            Cite::kernel("kbuf.c:io_buffer_select -> rw.c:__io_import_rw_buffer")
                .man(ENTER, "ERRORS: ENOBUFS")
                .rows(&["sel_no_group"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, 100))?;
            cx.observe(c, "on a pipe with no such group")
        }),
    Case::new("buffer_select::read_ring_empty")
        .requires(PBUF)
        .expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffer_select (tail == head)")
                .man(ENTER, "ERRORS: ENOBUFS")
                .rows(&["sel_empty"])
                .note(UNPUBLISHED_NOTE),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[])?;
            write_unpublished(&mut ring, &m)?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            check_unpublished_untouched(cx, &m)?;
            cx.observe(
                c,
                "on a pipe from an empty ring (one entry written, not published)",
            )
        }),
    Case::new("buffer_select::recv_ring_empty")
        .requires(&[Feature::PbufRingMmap, Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (tail == head) via net.c:io_recv_buf_select",
            )
            .man(ENTER, "ERRORS: ENOBUFS")
            .rows(&["sel_empty"])
            .note(UNPUBLISHED_NOTE),
        )
        .run(|cx| {
            let (mut ring, m) =
                ring_with_bufs(cx, BufRingMemory::KernelMmap, PbufFlags::NONE, 64, &[])?;
            write_unpublished(&mut ring, &m)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"data").setup("send")?;
            let c = sel(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            check_unpublished_untouched(cx, &m)?;
            cx.observe(
                c,
                "on a socket from an empty kernel-allocated ring (one entry written, not \
                 published)",
            )
        }),
    Case::new("buffer_select::kernel_address_entry")
        .requires(&[Feature::PbufRing, Feature::PbufStatus])
        .needs(&[Fact::AccessOkRejectsKernel])
        .expect(Expect::by_level(
            &level::SELECT_ACCESS_OK,
            Want::cqe_errno(E::ENOBUFS),
            Want::cqe_errno(E::EFAULT),
        ))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (access_ok) (7.x) / rw.c import_ubuf (<= 6.18)",
            )
            .rows(&["sel_kernel_addr"])
            .note(
                "from 7.2 selection skips an entry that fails access_ok (ENOBUFS, head stays); \
                 before, the import fails EFAULT; on a pipe (pollable) the buffer is recycled, so \
                 the CQE has no F_BUFFER and the head stays 0 on both levels",
            ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let br = ring
                .setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("ring")?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::KERNEL), 64, 3, 0);
            br.advance(1);
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            check_head(cx, &ring, BGID, 0, "after the failed selection")?;
            cx.observe(
                c,
                "on a pipe whose ring entry (bid 3) points at a kernel address",
            )
        }),
    Case::new("buffer_select::unmapped_entry_then_reuse_bid")
        .requires(&[Feature::PbufRing, Feature::PbufStatus])
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe(-14, buf_flags(8, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_should_commit; io_uring.c:io_req_defer_failed (io_put_kbuf)")
                .rows(&["sel_bad_user_addr"])
                .note(
                    "on a regular file that cannot be polled (tmpdir_file_not_pollable) the \
                     buffer is committed at selection, so the EFAULT CQE carries F_BUFFER|bid and \
                     the application owns bid 8 again; checked here by re-adding it. A pollable \
                     file commits at completion, where a negative res leaves the head alone \
                     (io_kbuf_commit)",
                ),
        )
        .run(|cx| {
            let (f, data) = data_file(cx, 64, 2)?;
            let mut ring = cx.ring()?;
            let good = cx.mem(64)?;
            let br = ring
                .setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE)
                .setup("ring")?;
            br.add_ptr(&UserPtr::Foreign(ForeignAddr::LOW), 64, 8, 0);
            br.advance(1);
            let c = sel(cx, &mut ring, op::read_select(fd(&f), 0, 0, BGID))?;
            check_head(cx, &ring, BGID, 1, "after the failed read")?;
            let br = ring.buf_ring(BGID).expect("set up above");
            br.add(&good.slice(0, 64), 8, 0);
            br.advance(1);
            let again = sel(cx, &mut ring, op::read_select(fd(&f), 0, 0, BGID))?;
            cx.check_eq(
                "second READ (bid 8 re-added) res, flags",
                (again.res, again.flags),
                (64, buf_flags(8, CqeFlags::NONE)),
            )?;
            cx.check_eq("bytes in the re-added bid 8", good.read(0, 64), data)?;
            cx.observe(
                c,
                "on a file whose ring entry (bid 8) points at unmapped memory",
            )
        }),
    Case::new("buffer_select::write_unsupported")
        .expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(
            Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)")
                .man(ENTER, "ERRORS: EOPNOTSUPP")
                .rows(&["sel_unsupported_op"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let m = cx.mem(64)?;
            let f = dev_null(true)?;
            let c = sel(
                cx,
                &mut ring,
                op::write(fd(&f), m.slice(0, 64), 64, 0).buffer_select(BGID),
            )?;
            cx.observe(c, "on /dev/null")
        }),
    Case::new("buffer_select::nop_unsupported")
        .expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(
            Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)")
                .man(ENTER, "ERRORS: EOPNOTSUPP")
                .rows(&["sel_unsupported_op"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let c = sel(cx, &mut ring, op::nop().buffer_select(BGID))?;
            cx.observe(c, "")
        }),
    Case::new("buffer_select::readv_two_iovecs")
        .requires(PBUF)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("rw.c:io_iov_buffer_select_prep (rw->len != 1)")
                .man("io_uring_provided_buffers.7", "single vector only")
                .rows(&["sel_readv_len"]),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (r, _w) = pipe_with(b"data")?;
            let readv = op::readv_select(cx.abi(), fd(&r), &[32, 32], u64::MAX, BGID)
                .setup("lay out the iovecs for the ring's ABI")?;
            let c = sel(cx, &mut ring, readv)?;
            cx.observe(c, "on a pipe")
        }),
    Case::new("buffer_select::readv_len_from_iovec")
        .requires(PBUF)
        .expect(Expect::cqe(3, buf_flags(1, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "rw.c:io_iov_buffer_select_prep (rw->len = iov.iov_len; a compat ring: \
                 io_iov_compat_buffer_select_prep)",
            )
            .rows(&["sel_readv_len"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (r, _w) = pipe_with(b"data")?;
            let readv = op::readv_select(cx.abi(), fd(&r), &[3], u64::MAX, BGID)
                .setup("lay out the iovec for the ring's ABI")?;
            let c = sel(cx, &mut ring, readv)?;
            if c.res == 3 {
                cx.check_eq("the selected buffer", m.read(0, 4), b"dat\0".to_vec())?;
            }
            cx.observe(
                c,
                "on a pipe holding 4 bytes, one iovec of length 3 (64-byte buffers)",
            )
        }),
    Case::new("buffer_select::recvmsg_len_from_iovec")
        .requires(&[Feature::PbufRing, Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(16, buf_flags(1, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_msg_copy_hdr (sr->len = the iovec's length; a compat ring: \
                 io_compat_msg_copy_hdr)",
            )
            .rows(&["sel_readv_len"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (a, b) = UnixDatagram::pair().setup("socketpair(SOCK_DGRAM)")?;
            let data = pattern(32, 9);
            b.send(&data).setup("send a 32-byte datagram")?;
            let recvmsg = op::recvmsg_select_lens(cx.abi(), fd(&a), &[16], BGID)
                .setup("lay out the msghdr for the ring's ABI")?;
            let c = sel(cx, &mut ring, recvmsg)?;
            let got = c.res.clamp(0, 64) as usize;
            let mut want = data[..got.min(32)].to_vec();
            want.resize(64, 0);
            cx.check_eq("the selected buffer", m.read(0, 64), want)?;
            cx.observe(
                c,
                "a 32-byte datagram, one iovec of length 16 (64-byte buffers)",
            )
        }),
    Case::new("buffer_select::readv_iovec_unmapped")
        .requires(PBUF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("rw.c:io_iov_buffer_select_prep (copy_from_user of the iovec)")
                .rows(&["sel_readv_len"])
                .note(
                    "missing from the catalogue: with len 1 the single iovec is read at prep, \
                     EFAULT if unreadable",
                ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, unmapped_readv(fd(&r)))?;
            cx.observe(c, "on a pipe (the iovec at an unmapped address)")
        }),
    Case::new("buffer_select::read_multishot_without_select")
        .requires(&[Feature::OpReadMultishot])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("rw.c:io_read_mshot_prep (!(req->flags & REQ_F_BUFFER_SELECT))")
                .rows(&["sel_mshot_needs_select"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(
                cx,
                &mut ring,
                Sqe::with_opcode(Opcode::READ_MULTISHOT).fd(fd(&r)),
            )?;
            cx.observe(c, "on a pipe without IOSQE_BUFFER_SELECT")
        }),
    Case::new("buffer_select::read_multishot_len_set")
        .requires(&[Feature::OpReadMultishot, Feature::PbufRing])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("rw.c:io_read_mshot_prep (rw->addr || rw->len: either one refused)")
                .rows(&[])
                .note("addr 0 and len 64: a kernel that needs both set accepts it"),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (r, _w) = pipe_with(b"data")?;
            let c = sel(cx, &mut ring, op::read_multishot(fd(&r), 64, BGID))?;
            cx.observe(c, "on a pipe with BUFFER_SELECT, addr 0 and len 64")
        }),
    Case::new("buffer_select::recv_multishot_without_select")
        .requires(&[Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_recvmsg_prep (IORING_RECV_MULTISHOT without BUFFER_SELECT)")
                .rows(&["sel_mshot_needs_select"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, _b) = UnixStream::pair().setup("socketpair")?;
            let m = cx.mem(64)?;
            let c = sel(
                cx,
                &mut ring,
                op::recv(fd(&a), m.slice(0, 64), 64, 0).ioprio(1 << 1),
            )?;
            cx.observe(c, "on a socket without IOSQE_BUFFER_SELECT")
        }),
    Case::new("buffer_select::recv_fixed_buf_with_select")
        .requires(&[Feature::PbufRing, Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_recvmsg_prep (IORING_RECVSEND_FIXED_BUF with BUFFER_SELECT)")
                .rows(&["sel_recv_flag_combo"])
                .note(
                    "6.12 rejects FIXED_BUF as an unknown recv flag, 7.x because of \
                     BUFFER_SELECT: same errno",
                ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"data").setup("send")?;
            let c = sel(
                cx,
                &mut ring,
                op::recv_select(fd(&a), 0, 0, BGID).ioprio(1 << 2),
            )?;
            cx.observe(c, "on a socket")
        }),
    Case::new("buffer_select::send_fixed_buf_with_select")
        .needs_level(&level::SEND_BUFFER_SELECT)
        .requires(&[Feature::PbufRing, Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep (IORING_RECVSEND_FIXED_BUF with BUFFER_SELECT)")
                .rows(&["sel_recv_flag_combo"])
                .note(
                    "before 7.2 FIXED_BUF is an unknown send flag, since then refused because of \
                     BUFFER_SELECT: same errno",
                ),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = sel(
                cx,
                &mut ring,
                op::send_select(fd(&a), 0, 0, BGID).ioprio(1 << 2),
            )?;
            cx.check_eq(
                "bytes the peer received",
                crate::common::pbuf_io::received(&b)?,
                vec![],
            )?;
            cx.observe(c, "on a socket")
        }),
    Case::new("buffer_select::provide_into_ring_group")
        .requires(LEGACY)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:__io_manage_buffers_legacy (IOBL_BUF_RING)")
                .man("io_uring_prep_provide_buffers.3", "ERRORS: EINVAL")
                .rows(&["legacy_provide_into_ring"]),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let m = cx.mem(256)?;
            let c = cx.submit_one(
                &mut ring,
                op::provide_buffers(m.slice(0, 256), 64, 4, BGID, 0).user_data(2),
            )?;
            cx.observe(c, "into a group that is a buffer ring")
        }),
    Case::new("buffer_select::remove_from_ring_group")
        .requires(LEGACY)
        .expect(Expect::cqe_errno(E::EINVAL))
        .cite(
            Cite::kernel("kbuf.c:__io_manage_buffers_legacy (IOBL_BUF_RING)")
                .man("io_uring_prep_remove_buffers.3", "ERRORS: EINVAL")
                .rows(&["legacy_remove_from_ring"]),
        )
        .run(|cx| {
            let (mut ring, _m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1])?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(1, BGID).user_data(2))?;
            cx.observe(c, "from a group that is a buffer ring")
        }),
    Case::new("buffer_select::remove_from_unknown_group")
        .requires(&[Feature::OpProvideBuffers])
        .expect(Expect::cqe_errno(E::ENOENT))
        .cite(
            Cite::kernel("kbuf.c:__io_manage_buffers_legacy / io_remove_buffers")
                .rows(&["legacy_remove_from_ring"])
                .note(
                    "missing from the catalogue: REMOVE_BUFFERS on a group that does not exist is \
                     ENOENT on every version",
                ),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let c = cx.submit_one(&mut ring, op::remove_buffers(1, 100).user_data(2))?;
            cx.observe(c, "(group 100 never created)")
        }),
    Case::new("buffer_select::legacy_recvmsg_bid_and_data")
        .needs_level(&level::LEGACY_RECVMSG_DATA)
        .requires(&[Feature::OpProvideBuffers])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(53, buf_flags(89, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_msg_copy_hdr (no iovec: sr->len 0, the whole buffer) / io_recvmsg -> \
                 kbuf.c:io_provided_buffer_select; __io_put_kbufs (legacy: io_kbuf_drop_legacy)",
            )
            .man(ENTER, "IOSQE_BUFFER_SELECT")
            .rows(&["sel_empty"])
            .note(
                "liburing's send_recvmsg with PROVIDE_BUFFERS: each RECVMSG takes the group's \
                 first buffer (bids 89 then 90, also from io-wq with IOSQE_ASYNC) and names it \
                 in the CQE; with the group empty the next one fails ENOBUFS and leaves its \
                 datagram queued",
            ),
        )
        .run(|cx| {
            use std::os::unix::net::UnixDatagram;
            let (mut ring, m) = ring_with_legacy_bufs(cx, 2, 64, 89)?;
            let (a, b) = UnixDatagram::pair().setup("socketpair(SOCK_DGRAM)")?;
            let data = pattern(53 + 20 + 9, 41);
            let (d1, rest) = data.split_at(53);
            let (d2, d3) = rest.split_at(20);
            for d in [d1, d2, d3] {
                b.send(d).setup("send a datagram")?;
            }
            // All zeros: no name, no control data, no iovec, in either ABI's layout.
            let msghdr = cx.mem(64)?;
            let recvmsg = || op::recvmsg_select(fd(&a), msghdr.slice(0, 64), 0, BGID);
            let c = sel(cx, &mut ring, recvmsg())?;
            cx.check_eq("bytes in bid 89", m.read(0, 53), d1.to_vec())?;
            let c2 = sel(cx, &mut ring, recvmsg().add_flags(SqeFlags::ASYNC))?;
            check_cqe(
                cx,
                "the second RECVMSG (IOSQE_ASYNC)",
                &c2,
                20,
                buf_flags(90, CqeFlags::NONE),
            )?;
            cx.check_eq("bytes in bid 90", m.read(64, 20), d2.to_vec())?;
            let c3 = sel(cx, &mut ring, recvmsg())?;
            check_cqe(
                cx,
                "the third RECVMSG (group empty)",
                &c3,
                -E::ENOBUFS.0,
                CqeFlags::NONE,
            )?;
            let mut left = [0u8; 64];
            a.set_nonblocking(true).setup("O_NONBLOCK")?;
            let n = a.recv(&mut left).setup("recv the datagram left queued")?;
            cx.check_eq("the datagram left queued", left[..n].to_vec(), d3.to_vec())?;
            cx.observe(
                c,
                "on an AF_UNIX datagram socket holding 53, 20 and 9 bytes; legacy group of two \
                 64-byte buffers, bids 89-90",
            )
        }),
    Case::new("buffer_select::legacy_recycle_into_upgraded_group")
        .requires(&[
            Feature::PbufRing,
            Feature::OpProvideBuffers,
            Feature::OpRecvSend,
        ])
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::LEGACY_RECYCLE_CHECKS_LIST)
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "io_uring.c:io_wq_submit_work (poll ready: blocking retry) -> net.c:io_recv \
                 (res 0: io_kbuf_recycle) -> kbuf.c:io_kbuf_recycle_legacy (IOBL_BUF_RING: kfree)",
            )
            .rows(&[])
            .note(
                "liburing's buf-ring-upgrade races for this; here it is made certain: an \
                 IOSQE_ASYNC recv with POLL_FIRST takes the group's only legacy buffer on its \
                 blocking io-wq attempt (poll says readable, a MSG_PEEK past SO_PEEK_OFF finds \
                 nothing) and sleeps; the emptied group becomes a ring; EOF gives the buffer \
                 back to a list that is now a ring, which must drop it, not link it over the \
                 ring pointer",
            ),
        )
        .run(|cx| {
            let mut ring = ring_with_legacy(cx, 1)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"peek").setup("send")?;
            sys::set_peek_off(&a, 4).setup("setsockopt(SO_PEEK_OFF, 4)")?;
            let recv = op::recv_select(fd(&a), 64, libc::MSG_PEEK as u32, BGID)
                .ioprio(RecvSendFlags::POLL_FIRST.0)
                .add_flags(SqeFlags::ASYNC)
                .user_data(0x5e2);
            cx.submit_batch(&mut ring, vec![recv], 0)?;
            upgrade_when_empty(cx, &mut ring)?;
            // Read the peeked bytes away (peek_off drops to 0), so the EOF finds the socket
            // empty and the CQE has no SOCK_NONEMPTY.
            (&a).read_exact(&mut [0; 4])
                .setup("read the 4 queued bytes")?;
            b.shutdown(Shutdown::Write).setup("shutdown(SHUT_WR)")?;
            let c = cx.wait(&mut ring, 1)?.remove(0);
            let m = cx.mem(64)?;
            publish(&mut ring, BGID, &[m.slice(0, 64)], &[5])?;
            let (r, _w) = pipe_with(b"ring")?;
            let read = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.check_eq(
                "READ from the new ring (bid 5 published): res, flags",
                (read.res, read.flags),
                (4, buf_flags(5, CqeFlags::NONE)),
            )?;
            cx.check_eq("bytes in bid 5", m.read(0, 4), b"ring".to_vec())?;
            cx.observe(
                c,
                "(IOSQE_ASYNC, POLL_FIRST, SO_PEEK_OFF 4 past the 4 queued bytes) holding the \
                 legacy group's only buffer while the group became a ring; the bytes read \
                 away, then EOF",
            )
        }),
];

/// Registers an 8-entry ring for `BGID` as soon as its legacy list is empty (EEXIST while
/// the buffer is still on it), bounded by the case's time limit.
fn upgrade_when_empty(cx: &Cx, ring: &mut Ring) -> Result<(), CaseError> {
    let deadline = std::time::Instant::now() + cx.time_left() / 2;
    loop {
        match ring.setup_buf_ring(BGID, 8, BufRingMemory::App, PbufFlags::NONE) {
            Ok(_) => return Ok(()),
            Err(E::EEXIST) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Err(E::EEXIST) => {
                // Half the case's limit spent waiting: a timeout, as for any wait.
                return Err(CaseError::Timeout(
                    "REGISTER_PBUF_RING stayed EEXIST: the recv never took the legacy buffer"
                        .into(),
                ));
            }
            Err(e) => return Err(e).setup("REGISTER_PBUF_RING over the emptied legacy group"),
        }
    }
}

/// READV with BUFFER_SELECT, len 1, whose iovec address is unmapped.
fn unmapped_readv(fd: i32) -> Sqe {
    op::readv_select_at(fd, ForeignAddr::LOW, 1, u64::MAX, BGID)
}
