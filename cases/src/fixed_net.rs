//! The socket opcodes on registered buffers: SEND / RECV with IORING_RECVSEND_FIXED_BUF
//! (7.2), SEND_ZC with a registered buffer (6.0) and SENDMSG_ZC with vectored registered
//! buffers (6.15), with their notification CQEs.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use uring::abi::CqeFlags;
use uring::{op, Cqe, Mem, Ring, Sqe};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

pub(crate) const NET: &[Feature] = &[Feature::OpRecvSend];
const ZC: &[Feature] = &[Feature::OpSendZc];
const ZC_NOTE: &str = "SEND_ZC always posts two CQEs: the result with IORING_CQE_F_MORE, then the \
                       notification (res 0, IORING_CQE_F_NOTIF, the same user_data) once the \
                       kernel has released the pages; io_sendrecv_fail sets F_MORE on a failure \
                       too";

/// Where the rows' registered buffer starts in its memory: not on a page boundary.
const LEAD: u64 = 0x80;

/// The length of the rows' registered buffer: from [`LEAD`] to the end of two pages of this
/// machine (a literal 4096 would register and cross other boundaries on 16 KiB pages).
fn buf_len() -> u64 {
    2 * uring::sys::page_size() as u64 - LEAD
}

/// The offset into the rows' buffer `before` bytes ahead of the page boundary it crosses.
fn before_page_boundary(before: u64) -> u64 {
    uring::sys::page_size() as u64 - LEAD - before
}

/// The registered buffer of these rows: [`buf_len`] bytes from [`LEAD`] into fresh memory
/// holding a pattern; returns the ring, the memory, the buffer's address and the pattern.
pub(crate) fn ring_with_pattern(cx: &Cx) -> Result<(Ring, Arc<Mem>, u64, Vec<u8>), CaseError> {
    let mem = cx.mem((LEAD + buf_len()) as usize)?;
    let data = pattern(mem.len(), 4);
    mem.write(0, &data);
    let (ring, base) = ring_with_buffer_in(cx, &mem, LEAD as usize)?;
    Ok((ring, mem, base, data))
}

/// Everything the socket `s` holds now, read without blocking.
fn drain_socket<S>(
    s: &S,
    nonblocking: fn(&S, bool) -> std::io::Result<()>,
) -> Result<Vec<u8>, CaseError>
where
    for<'a> &'a S: Read,
{
    nonblocking(s, true).setup("O_NONBLOCK on the peer")?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match (&mut &*s).read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) => return Err(CaseError::Broken(format!("read the peer: {e}"))),
        }
    }
}

pub(crate) fn unix_drain(s: &UnixStream) -> Result<Vec<u8>, CaseError> {
    drain_socket(s, UnixStream::set_nonblocking)
}

fn tcp_drain(s: &TcpStream) -> Result<Vec<u8>, CaseError> {
    drain_socket(s, TcpStream::set_nonblocking)
}

/// Fills `buf` from the peer `s` within the case's time limit: a limit already spent, or
/// one that runs out before the bytes came, is a timeout (SO_RCVTIMEO of 0 would mean "wait
/// for ever", which std refuses).
fn read_from_peer(cx: &Cx, s: &TcpStream, buf: &mut [u8], what: &str) -> Result<(), CaseError> {
    let len = buf.len();
    let timeout = || {
        CaseError::Timeout(format!(
            "{what}: {len} bytes did not come within the case's time limit"
        ))
    };
    let left = cx.time_left();
    if left.is_zero() {
        return Err(timeout());
    }
    s.set_read_timeout(Some(left)).setup("SO_RCVTIMEO")?;
    match (&*s).read_exact(buf) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(timeout())
        }
        r => r.setup(what),
    }
}

/// A connected TCP pair over 127.0.0.1 (the zero-copy path needs an inet socket).
fn tcp_pair() -> Result<(TcpStream, TcpStream), CaseError> {
    let l = TcpListener::bind("127.0.0.1:0").setup("bind 127.0.0.1:0")?;
    let a = TcpStream::connect(l.local_addr().setup("local_addr")?).setup("connect")?;
    let (b, _) = l.accept().setup("accept")?;
    Ok((a, b))
}

/// Submits a zero-copy send and waits for both of its CQEs (bounded); checks the
/// notification (res 0, F_NOTIF, the same user_data) and returns the first.
fn zc_pair(cx: &Cx, ring: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
    let ud = sqe.raw().user_data;
    let cqes = cx.submit_batch(ring, vec![sqe], 2)?;
    cx.check_eq(
        "the two CQEs (result, then notification)",
        cqes.iter()
            .map(|c| (c.user_data, c.flags.low()))
            .collect::<Vec<_>>(),
        vec![(ud, CqeFlags::MORE), (ud, CqeFlags::NOTIF)],
    )?;
    cx.check_eq("the notification's res", cqes[1].res, 0)?;
    Ok(cqes[0])
}

/// SEND with FIXED_BUF of `len` bytes at `off` into the buffer (buffer index `idx`) to a
/// socket pair; checks the peer got exactly those bytes (nothing on failure).
pub(crate) fn send_fixed_case(cx: &Cx, off: u64, len: u32, idx: u16, what: &str) -> CaseResult {
    let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
    let (a, b) = UnixStream::pair().setup("socketpair")?;
    let c = cx.submit_one(
        &mut ring,
        op::send_fixed(
            fd(&a),
            op::FixedNet {
                addr: base + off,
                len,
                msg_flags: 0,
                buf_index: idx,
            },
        )
        .user_data(1),
    )?;
    let start = (base - mem.addr() + off) as usize;
    let want = match c.res {
        n if n > 0 => data
            .get(start..start + n as usize)
            .unwrap_or_default()
            .to_vec(),
        _ => Vec::new(),
    };
    cx.check_eq("the bytes the peer received", unix_drain(&b)?, want)?;
    cx.observe(c, what)
}

/// RECV with FIXED_BUF of up to `len` bytes into `off` of the buffer (index `idx`) from a
/// socket holding 3000 bytes; checks where they landed, or that they are still queued.
fn recv_fixed_case(cx: &Cx, off: u64, len: u32, idx: u16, what: &str) -> CaseResult {
    let (mut ring, mem, base, mut data) = ring_with_pattern(cx)?;
    let (a, b) = UnixStream::pair().setup("socketpair")?;
    let sent = pattern(3000, 77);
    (&b).write_all(&sent)
        .setup("write 3000 bytes to the peer")?;
    let c = cx.submit_one(
        &mut ring,
        op::recv_fixed(
            fd(&a),
            op::FixedNet {
                addr: base + off,
                len,
                msg_flags: 0,
                buf_index: idx,
            },
        )
        .user_data(1),
    )?;
    let start = (base - mem.addr() + off) as usize;
    let got = c.res.max(0) as usize;
    if got > 0 {
        data[start..start + got].copy_from_slice(&sent[..got]);
    }
    cx.check_eq("the memory after the recv", mem.read(0, mem.len()), data)?;
    cx.check_eq(
        "the bytes still queued",
        unix_drain(&a)?,
        sent[got..].to_vec(),
    )?;
    cx.observe(c, what)
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("send_fixed::bytes_across_pages")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .expect(Expect::by_level(
            &level::SEND_FIXED_BUF,
            Want::res(5000),
            Want::cqe_errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("net.c:io_sendmsg_prep / io_send -> rsrc.c:io_import_reg_buf")
                .rows(&["sendf_bytes"])
                .note(
                    "before 7.2 IORING_RECVSEND_FIXED_BUF was refused on plain SEND as an unknown \
                     flag (SEND_ZC had it since 6.0)",
                ),
        )
        .run(|cx| {
            // 0x480 bytes before the page boundary (+0xb00 with 4 KiB pages).
            let off = before_page_boundary(0x480);
            send_fixed_case(
                cx,
                off,
                5000,
                0,
                &format!(
                    "to an AF_UNIX stream socket, from +{off:#x} of a buffer at page offset \
                     {LEAD:#x}"
                ),
            )
        }),
    Case::new("send_fixed::index_out_of_range")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("net.c:io_send -> rsrc.c:io_import_reg_buf (io_find_buf_node)")
                .rows(&["sendf_bad"]),
        )
        .run(|cx| send_fixed_case(cx, 0, 16, 1, "with buf_index 1 of a 1-slot table")),
    Case::new("send_fixed::past_buffer_end")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::SEND_FIXED_BUF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("net.c:io_send -> rsrc.c:validate_fixed_range").rows(&["sendf_bad"]))
        .run(|cx| send_fixed_case(cx, buf_len() - 8, 9, 0, "ending one byte past the buffer")),
    Case::new("recv_fixed::bytes_across_pages")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .expect(Expect::by_level(
            &level::RECV_FIXED_BUF,
            Want::res(3000),
            Want::cqe_errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel("net.c:io_recvmsg_prep / io_recv -> rsrc.c:io_import_reg_buf")
                .rows(&["recvf_bytes"])
                .note(
                    "before 7.2 IORING_RECVSEND_FIXED_BUF was refused on RECV as an unknown flag",
                ),
        )
        .run(|cx| {
            // 0x180 bytes before the page boundary (+0xe00 with 4 KiB pages).
            let off = before_page_boundary(0x180);
            recv_fixed_case(
                cx,
                off,
                4000,
                0,
                &format!(
                    "from an AF_UNIX stream socket holding 3000 bytes, into +{off:#x} of a \
                     buffer at page offset {LEAD:#x}"
                ),
            )
        }),
    Case::new("recv_fixed::index_out_of_range")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::RECV_FIXED_BUF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("net.c:io_recv -> rsrc.c:io_import_reg_buf (io_find_buf_node)")
                .rows(&["recvf_bad"]),
        )
        .run(|cx| recv_fixed_case(cx, 0, 16, 1, "with buf_index 1 of a 1-slot table")),
    Case::new("recv_fixed::past_buffer_end")
        .requires(NET)
        .needs(&[Fact::UnixSockets])
        .needs_level(&level::RECV_FIXED_BUF)
        .expect(Expect::cqe_errno(E::EFAULT))
        .cite(
            Cite::kernel("net.c:io_recv -> rsrc.c:validate_fixed_range")
                .rows(&["recvf_bad"])
                .note(
                    "the range is the SQE's len, not what the socket holds: with 3000 bytes \
                     queued, a len reaching one byte past the buffer is EFAULT and nothing is \
                     consumed",
                ),
        )
        .run(|cx| {
            recv_fixed_case(
                cx,
                buf_len() - 100,
                101,
                0,
                "with len ending one byte past the buffer",
            )
        }),
    Case::new("send_zc::fixed_unix_socket")
        .requires(ZC)
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(-E::EOPNOTSUPP.0, CqeFlags::MORE))
        .cite(
            Cite::kernel("net.c:io_sendmsg_zc (SOCK_SUPPORT_ZC) / io_sendrecv_fail")
                .rows(&["zc_unix"])
                .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            let c = zc_pair(
                cx,
                &mut ring,
                op::send_zc_fixed(
                    fd(&a),
                    op::FixedNet {
                        addr: base,
                        len: 64,
                        msg_flags: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            cx.check_eq("the bytes the peer received", unix_drain(&b)?, vec![])?;
            cx.observe(c, "to an AF_UNIX socket (no MSG_ZEROCOPY support)")
        }),
    Case::new("send_zc::fixed_tcp_bytes")
        .requires(ZC)
        .needs(&[Fact::Loopback])
        .expect(Expect::cqe(6000, CqeFlags::MORE))
        .cite(
            Cite::kernel("net.c:io_send_zc_prep / io_sendmsg_zc -> io_send_zc_import")
                .rows(&["zc_fixed_bytes"])
                .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let (a, b) = tcp_pair()?;
            let c = zc_pair(
                cx,
                &mut ring,
                op::send_zc_fixed(
                    fd(&a),
                    op::FixedNet {
                        addr: base + 0x300,
                        len: 6000,
                        msg_flags: 0,
                        buf_index: 0,
                    },
                )
                .user_data(1),
            )?;
            let start = (base - mem.addr()) as usize + 0x300;
            let mut got = vec![0u8; 6000];
            read_from_peer(cx, &b, &mut got, "read 6000 bytes from the peer")?;
            cx.check_eq(
                "the bytes the peer received",
                got,
                data[start..start + 6000].to_vec(),
            )?;
            cx.observe(
                c,
                "over TCP on 127.0.0.1, from +0x300 of a buffer at page offset 0x80",
            )
        }),
    Case::new("send_zc::fixed_index_out_of_range")
        .requires(ZC)
        .needs(&[Fact::Loopback])
        .expect(Expect::cqe(-E::EFAULT.0, CqeFlags::MORE))
        .cite(
            Cite::kernel(
                "net.c:io_send_zc_import -> rsrc.c:io_import_reg_buf (<= 6.12: io_send_zc_prep, \
                 nr_user_bufs)",
            )
            .rows(&["zc_fixed_bad"])
            .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, _m, base, _) = ring_with_pattern(cx)?;
            let (a, b) = tcp_pair()?;
            let c = zc_pair(
                cx,
                &mut ring,
                op::send_zc_fixed(
                    fd(&a),
                    op::FixedNet {
                        addr: base,
                        len: 64,
                        msg_flags: 0,
                        buf_index: 1,
                    },
                )
                .user_data(1),
            )?;
            cx.check_eq("the bytes the peer received", tcp_drain(&b)?, vec![])?;
            cx.observe(
                c,
                "over TCP on 127.0.0.1 with buf_index 1 of a 1-slot table",
            )
        }),
    Case::new("sendmsg_zc::fixed_vectored")
        .requires(&[Feature::OpSendmsgZc])
        .needs(&[Fact::Loopback])
        .expect(Expect::by_level(
            &level::SENDMSG_ZC_FIXED_BUF,
            Want::cqe(0x1080, CqeFlags::MORE),
            Want::cqe(-E::EINVAL.0, CqeFlags::MORE),
        ))
        .cite(
            Cite::kernel(
                "net.c:io_sendmsg_setup -> rsrc.c:io_prep_reg_iovec; io_send_zc_import -> \
                 io_import_reg_vec",
            )
            .rows(&["zc_sendmsg_fixed"])
            .note(ZC_NOTE),
        )
        .run(|cx| {
            let (mut ring, mem, base, data) = ring_with_pattern(cx)?;
            let (a, b) = tcp_pair()?;
            let iovs = [(base + 0x1000, 0xf80), (base + 0xf00, 0x100)];
            let c = zc_pair(
                cx,
                &mut ring,
                op::sendmsg_zc_fixed(
                    cx.abi(),
                    fd(&a),
                    op::FixedMsg {
                        iovs: &iovs,
                        msg_flags: 0,
                        buf_index: 0,
                    },
                )
                .setup("lay out the iovecs for the ring's ABI")?
                .user_data(1),
            )?;
            let mut want = Vec::new();
            if c.res > 0 {
                for (addr, len) in iovs {
                    let s = (addr - mem.addr()) as usize;
                    want.extend_from_slice(&data[s..s + len as usize]);
                }
                let mut got = vec![0u8; want.len()];
                read_from_peer(cx, &b, &mut got, "read from the peer")?;
                cx.check_eq("the bytes the peer received", got, want)?;
            } else {
                cx.check_eq("the bytes the peer received", tcp_drain(&b)?, want)?;
            }
            cx.observe(
                c,
                "over TCP on 127.0.0.1, iovecs [{buf+0x1000, 0xf80}, {buf+0xf00, 0x100}] (the \
                 first ending at the buffer's end)",
            )
        }),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The offsets the rows use with 4 KiB pages, and that the "across pages" ones cross
    /// this machine's first page boundary of the buffer.
    #[test]
    fn offsets_follow_the_page_size() {
        let page = uring::sys::page_size() as u64;
        if page == 4096 {
            assert_eq!(
                (
                    buf_len(),
                    before_page_boundary(0x480),
                    before_page_boundary(0x180)
                ),
                (0x1f80, 0xb00, 0xe00)
            );
        }
        let boundary = page - LEAD;
        assert!(before_page_boundary(0x480) + 5000 > boundary);
        assert!(before_page_boundary(0x180) + 3000 > boundary);
    }
}
