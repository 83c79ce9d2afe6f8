//! The socket opcodes on registered buffers: SEND / RECV with IORING_RECVSEND_FIXED_BUF
//! (7.2). The zero-copy sends (SEND_ZC, SENDMSG_ZC) are in [`crate::fixed_net_zc`].

use crate::common::net::{buf_len, ring_with_pattern, unix_drain, LEAD};
use crate::common::*;
use std::io::Write;
use std::os::unix::net::UnixStream;
use uring::op;
use uring_harness::level;
use uring_harness::{Case, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

pub(crate) const NET: &[Feature] = &[Feature::OpRecvSend];

/// The offset into the rows' buffer `before` bytes ahead of the page boundary it crosses.
fn before_page_boundary(before: u64) -> u64 {
    uring::sys::page_size() as u64 - LEAD - before
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
