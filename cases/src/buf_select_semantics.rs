//! §3.4: what buffer selection from a provided-buffer ring hands out: the head entry, lengths
//! clamped to the buffer, incremental consumption, ring order, the head wrapping past
//! `ring_entries` and at 65536, full and empty rings, duplicate bids. The error paths and the
//! legacy PROVIDE/REMOVE_BUFFERS interplay are in [`crate::buf_select`].

use crate::common::buf_reads::{Reads, FILE_NOT_POLLABLE};
use crate::common::pbuf::*;
use crate::common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use uring::abi::{io_uring_buf_reg, CqeFlags, Opcode, PbufFlags};
use uring::bufring::BufRingMemory;
use uring::register::buf_reg;
use uring::{op, Ring, Sqe};
use uring_harness::{Case, CaseError, Cite, Cx, Expect, Fact, Feature, Setup};

/// A ring whose SQ and CQ hold a batch of `n` READs, with an `entries`-entry
/// application-allocated buffer ring for `BGID`.
fn batch_ring(cx: &Cx, n: u32, entries: u32) -> Result<Ring, CaseError> {
    let mut ring = cx.ring_with(Ring::builder(n))?;
    ring.setup_buf_ring(BGID, entries, BufRingMemory::App, PbufFlags::NONE)
        .setup("set up the buffer ring")?;
    Ok(ring)
}

/// Checks that a READ from `BGID` now finds no buffer: CQE -ENOBUFS without F_BUFFER, and
/// every buffer of `reads` still holds what its own READ put there (none handed out again).
fn check_dry(
    cx: &Cx,
    ring: &mut Ring,
    reads: &Reads,
    seqs: std::ops::Range<u64>,
    when: &str,
) -> Result<(), CaseError> {
    let c = cx.submit_one(ring, reads.sqe(seqs.end))?;
    cx.check_eq(
        &format!("READ {when}: res, flags"),
        (c.res, c.flags),
        (-E::ENOBUFS.0, CqeFlags::NONE),
    )?;
    seqs.clone().try_for_each(|s| reads.check_bytes(cx, s))
}

/// [`check_head`] where the kernel has PBUF_STATUS (6.8); the selections are checked either way.
fn head_where_supported(cx: &Cx, ring: &Ring, want: u32, when: &str) -> Result<(), CaseError> {
    if cx.has(Feature::PbufStatus) {
        check_head(cx, ring, BGID, want, when)?;
    }
    Ok(())
}

/// Bid of buffer `seq` in the 65536 wrap row: distinct within any 65536 in a row.
const fn wrap_bid(seq: u64) -> u16 {
    (seq as u16) ^ 0x5a5a
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The buffer-selection rows.
pub const CASES: &[Case] = &[
    // ---- §3.4 semantics ----
    Case::new("buffer_select::read_takes_head_entry")
        .requires(STATUS)
        .expect(Expect::cqe(5, buf_flags(7, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffer_select / io_kbuf_commit")
                .man(RBR, "DESCRIPTION")
                .rows(&[]),
        )
        .run(|cx| {
            let bids = [7, 3];
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &bids)?;
            let obs = read_into_ring(cx, &mut ring, &m, 64, &bids, b"hello", 0)?;
            check_head(cx, &ring, BGID, 1, "after one read")?;
            let (r, _w) = pipe_with(b"world!")?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.check_eq(
                "second READ res, flags",
                (c.res, c.flags),
                (6, buf_flags(3, CqeFlags::NONE)),
            )?;
            cx.check_eq("bytes in bid 3", m.read(64, 6), b"world!".to_vec())?;
            check_head(cx, &ring, BGID, 2, "after two reads")?;
            Ok(obs)
        }),
    Case::new("buffer_select::read_len_below_buffer")
        .requires(STATUS)
        .expect(Expect::cqe(4, buf_flags(2, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffer_select (len = min(sqe len, buf len))")
                .man(RBR, "DESCRIPTION")
                .rows(&[]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[2])?;
            let obs = read_into_ring(cx, &mut ring, &m, 64, &[2], b"0123456789", 4)?;
            cx.check_eq("byte after the 4 read", m.read(4, 1), vec![0])?;
            Ok(obs)
        }),
    Case::new("buffer_select::recv_kernel_ring")
        .requires(&[
            Feature::PbufRingMmap,
            Feature::PbufStatus,
            Feature::OpRecvSend,
        ])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(9, buf_flags(11, CqeFlags::NONE)))
        .cite(
            Cite::kernel("net.c:io_recv_buf_select -> kbuf.c:io_buffer_select")
                .man(SBR, "DESCRIPTION")
                .rows(&[]),
        )
        .run(|cx| {
            let (mut ring, m) =
                ring_with_bufs(cx, BufRingMemory::KernelMmap, PbufFlags::NONE, 128, &[11])?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            (&b).write_all(b"9 bytes!!").setup("send")?;
            let c = sel(cx, &mut ring, op::recv_select(fd(&a), 0, 0, BGID))?;
            if c.res == 9 {
                cx.check_eq("bytes in bid 11", m.read(0, 9), b"9 bytes!!".to_vec())?;
            }
            check_head(cx, &ring, BGID, 1, "after the recv")?;
            cx.observe(
                c,
                "on a socket holding 9 bytes from a kernel-allocated ring",
            )
        }),
    Case::new("buffer_select::inc_partial_then_exhaust")
        .requires(INC)
        .expect(Expect::cqe(32, buf_flags(4, CqeFlags::BUF_MORE)))
        .cite(
            Cite::kernel("kbuf.c:io_kbuf_inc_commit")
                .man(RBR, "IOU_PBUF_RING_INC")
                .rows(&[]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::INC, 256, &[4])?;
            let first = pattern(32, 1);
            let obs = read_into_ring(cx, &mut ring, &m, 256, &[4], &first, 0)?;
            let e = ring.buf_ring(BGID).expect("set up").entry(0);
            cx.check_eq(
                "entry 0 after 32 bytes (addr, len)",
                (e.addr, e.len),
                (m.addr() + 32, 224),
            )?;
            check_head(cx, &ring, BGID, 0, "after a partial consumption")?;
            let rest = pattern(224, 2);
            let (r, _w) = pipe_with(&rest)?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 0, u64::MAX, BGID))?;
            cx.check_eq(
                "second READ res, flags (buffer exhausted: no BUF_MORE)",
                (c.res, c.flags),
                (224, buf_flags(4, CqeFlags::NONE)),
            )?;
            cx.check_eq("bytes after the first 32", m.read(32, 224), rest)?;
            check_head(cx, &ring, BGID, 1, "after the buffer is used up")?;
            Ok(obs)
        }),
    Case::new("buffer_select::inc_min_left_retires")
        .requires(&[Feature::PbufMinLeft, Feature::PbufStatus])
        .expect(Expect::cqe(200, buf_flags(5, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_kbuf_inc_commit (min_left)")
                .man(RBR, "min_left")
                .rows(&[]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let mem = cx.mem(256)?;
            let rmem = cx.mem(4096)?;
            let reg = io_uring_buf_reg {
                min_left: 64,
                ..buf_reg(BGID, 8, PbufFlags::INC)
            };
            let br = ring
                .register_buf_ring_with(rmem.slice(0, 4096), reg)
                .setup("INC ring, min_left 64")?;
            br.add(&mem.slice(0, 256), 5, 0);
            br.advance(1);
            let data = pattern(200, 3);
            let obs = read_into_ring(cx, &mut ring, &mem, 256, &[5], &data, 0)?;
            check_head(
                cx,
                &ring,
                BGID,
                1,
                "after a read leaving 56 < min_left bytes",
            )?;
            Ok(obs)
        }),
    Case::new("buffer_select::read_multishot_until_dry")
        .requires(&[Feature::OpReadMultishot, Feature::PbufRing])
        .expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(Cite::kernel("rw.c:io_read_mshot").rows(&[]))
        .run(|cx| {
            let (mut ring, m) =
                ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 64, &[1, 2])?;
            let (r, mut w) = pipe()?;
            ring.push(
                Sqe::with_opcode(Opcode::READ_MULTISHOT)
                    .fd(fd(&r))
                    .buffer_select(BGID)
                    .user_data(0x30),
            )
            .map_err(|e| CaseError::Broken(e.to_string()))?;
            ring.submit().setup("submit READ_MULTISHOT")?;
            for (i, bid) in [1u16, 2].into_iter().enumerate() {
                w.write_all(b"chunk!").setup("write the pipe")?;
                let c = cx.wait(&mut ring, 1)?;
                cx.check_eq(
                    &format!("multishot CQE {i} res, flags"),
                    (c[0].res, c[0].flags),
                    (6, buf_flags(bid, CqeFlags::MORE)),
                )?;
                cx.check_eq(
                    &format!("bytes in bid {bid}"),
                    m.read(i * 64, 6),
                    b"chunk!".to_vec(),
                )?;
            }
            w.write_all(b"chunk!").setup("write the pipe")?;
            let c = cx.wait(&mut ring, 1)?;
            cx.cqe(
                "READ_MULTISHOT(pipe, BUFFER_SELECT) after its 2 buffers are used",
                c[0],
            )
        }),
    Case::new("buffer_select::read_retry_keeps_first_len")
        .requires(PBUF)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe(32, buf_flags(2, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "rw.c:__io_import_rw_buffer (rw->len = the selected length), io_read \
                 (-EAGAIN: io_kbuf_recycle), kbuf.c:io_ring_buffer_select (len = min(len, buf))",
            )
            .rows(&[])
            .note(
                "a len-0 READ on an empty pipe selects bid 1 (32 bytes), gets -EAGAIN, gives it \
                 back and waits; a READ of a file takes bid 1; the pipe's retry selects bid 2 \
                 (128 bytes) with the length its first selection stored (32), so 32 of the 100 \
                 bytes written (io_read_mshot resets rw->len for that reason; READ does not)",
            ),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_32_128(cx)?;
            let (r, mut w) = pipe()?;
            ring.push(op::read_select(fd(&r), 0, u64::MAX, BGID).user_data(0x31))
                .map_err(|e| CaseError::Broken(e.to_string()))?;
            ring.submit().setup("submit the pipe READ")?;
            file_read_takes_bid_1(cx, &mut ring)?;
            let data = pattern(100, 9);
            w.write_all(&data).setup("write the pipe")?;
            let c = cx.wait(&mut ring, 1)?[0];
            if c.res == 32 {
                cx.check_eq("bytes in bid 2", m.read(32, 32), data[..32].to_vec())?;
            }
            cx.cqe(
                "READ(pipe, len 0) retried after a file READ took its first buffer",
                c,
            )
        }),
    // ---- what selection hands out: order, wrap, full and empty rings ----
    Case::new("buffer_select::ring_empty_after_use")
        .requires(PBUF)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe_errno(E::ENOBUFS))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffer_select (tail == head)")
                .man(ENTER, "ERRORS: ENOBUFS")
                .rows(&["sel_empty_after_use"])
                .note(
                    "a 2-entry ring after both buffers were used: head & mask is slot 0 again, \
                     which still holds bid 3's valid addr/len (the kernel never clears them \
                     outside IOU_PBUF_RING_INC): only head == tail says empty",
                ),
        )
        .run(|cx| {
            let mut ring = batch_ring(cx, 8, 2)?;
            let reads = Reads::new(cx, BGID, 32, 2, |s| [3, 4][s as usize])?;
            reads.run(cx, &mut ring, 0..2, 2)?;
            let br = ring.buf_ring(BGID).expect("set up above");
            let (e0, e1) = (br.entry(0), br.entry(1));
            cx.check_eq(
                "consumed entries (addr, len, bid)",
                [(e0.addr, e0.len, e0.bid), (e1.addr, e1.len, e1.bid)],
                [(reads.mem.addr(), 32, 3), (reads.mem.addr() + 32, 32, 4)],
            )?;
            let c = cx.submit_one(&mut ring, reads.sqe(2))?;
            reads.check_bytes(cx, 0)?;
            reads.check_bytes(cx, 1)?;
            head_where_supported(cx, &ring, 2, "after the refused READ")?;
            cx.observe(c, "on a file, both buffers of the 2-entry ring consumed")
        }),
    Case::new("buffer_select::head_wraps_mask")
        .requires(PBUF)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe(16, buf_flags(20, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (io_ring_head_to_buf: head & mask); \
                 io_register_pbuf_status (bl->head)",
            )
            .rows(&["sel_head_wrap_mask", "pbufs_head_value"]),
        )
        .run(|cx| {
            let mut ring = batch_ring(cx, 8, 4)?;
            let reads = Reads::new(cx, BGID, 16, 4, |s| {
                if s < 4 {
                    10 + s as u16
                } else {
                    16 + s as u16
                }
            })?;
            reads.run(cx, &mut ring, 0..4, 4)?;
            reads.publish(&mut ring, 4..7)?;
            let c = reads.one(cx, &mut ring, 4)?;
            reads.select(cx, &mut ring, 5..7, 2)?;
            head_where_supported(
                cx,
                &ring,
                7,
                "after 7 buffers of a 4-entry ring (the free-running head, not head & mask = 3)",
            )?;
            check_dry(
                cx,
                &mut ring,
                &reads,
                4..7,
                "with 7 of 7 published buffers used",
            )?;
            cx.observe(
                c,
                "on a file: the 5th buffer of a 4-entry ring, slot 0 again (bid 20)",
            )
        }),
    Case::new("buffer_select::head_wraps_u16")
        .requires(PBUF)
        .expect(Expect::cqe(16, buf_flags(wrap_bid(65_536), CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffer_select (__u16 head, tail; tail == head)")
                .man(RBR, "DESCRIPTION (tail: __u16)")
                .rows(&["sel_head_wrap_u16", "pbufs_head_value"])
                .note(
                    "65568 buffers (READs of /dev/zero into buffers set to 0xff) through a \
                     64-entry ring, 64 READs per submit: head and tail are u16 and wrap together",
                ),
        )
        .run(|cx| {
            let mut ring = batch_ring(cx, 64, 64)?;
            let reads = Reads::zero(cx, BGID, 16, 64, wrap_bid)?;
            reads.run(cx, &mut ring, 0..65_504, 64)?;
            head_where_supported(cx, &ring, 65_504, "after 65504 buffers")?;
            reads.run(cx, &mut ring, 65_504..65_536, 32)?;
            reads.publish(&mut ring, 65_536..65_568)?;
            let c = reads.one(cx, &mut ring, 65_536)?;
            reads.select(cx, &mut ring, 65_537..65_568, 31)?;
            head_where_supported(cx, &ring, 32, "after 65568 buffers (65568 mod 65536)")?;
            check_dry(
                cx,
                &mut ring,
                &reads,
                65_536..65_568,
                "after the wrap, every published buffer used",
            )?;
            cx.observe(
                c,
                "on /dev/zero: buffer 65536 of a 64-entry ring, the first after head and tail \
                 wrapped",
            )
        }),
    Case::new("buffer_select::full_ring_in_order")
        .requires(PBUF)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe(16, buf_flags(0x100, CqeFlags::NONE)))
        .cite(
            Cite::kernel("kbuf.c:io_ring_buffer_select")
                .man(RBR, "DESCRIPTION")
                .rows(&["sel_full_ring"])
                .note(
                    "16 buffers published at once in a 16-entry ring (tail - head == \
                     ring_entries, tail & mask == head & mask); bids descend so ring order is not \
                     bid order",
                ),
        )
        .run(|cx| {
            let mut ring = batch_ring(cx, 16, 16)?;
            let reads = Reads::new(cx, BGID, 16, 16, |s| 0x100 + 15 - s as u16)?;
            let c = reads.publish_and_take(cx, &mut ring, 16, 15)?;
            head_where_supported(cx, &ring, 16, "after the full ring is used")?;
            check_dry(cx, &mut ring, &reads, 0..16, "after all 16")?;
            cx.observe(
                c,
                "on a file: the 16th and last buffer of a full 16-entry ring",
            )
        }),
    Case::new("buffer_select::large_ring_second_page")
        .requires(PBUF)
        .needs(FILE_NOT_POLLABLE)
        .expect(Expect::cqe(16, buf_flags(256, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (6.1: bl->buf_pages[head / \
                 IO_BUFFER_LIST_BUF_PER_PAGE])",
            )
            .man(RBR, "DESCRIPTION (at most 32768)")
            .rows(&["sel_large_ring"])
            .note(
                "a 32768-entry ring (512 KiB): the 257th entry is the first of the ring's second \
                 page",
            ),
        )
        .run(|cx| {
            let mut ring = batch_ring(cx, 32, 32_768)?;
            let reads = Reads::new(cx, BGID, 16, 257, |s| s as u16)?;
            let c = reads.publish_and_take(cx, &mut ring, 257, 32)?;
            head_where_supported(cx, &ring, 257, "after 257 buffers")?;
            cx.observe(
                c,
                "on a file: entry 256 of a 32768-entry ring with 257 published",
            )
        }),
    Case::new("buffer_select::duplicate_bids")
        .requires(PBUF)
        .expect(Expect::cqe(32, buf_flags(5, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (req->buf_index = buf->bid; no uniqueness check)",
            )
            .rows(&["sel_duplicate_bids"])
            .note(
                "the kernel never looks at bids: two entries with bid 5 are both handed out, in \
                 ring order, each with its own address",
            ),
        )
        .run(|cx| {
            let mut ring = batch_ring(cx, 8, 8)?;
            let reads = Reads::new(cx, BGID, 32, 2, |_| 5)?;
            reads.publish(&mut ring, 0..2)?;
            reads.select(cx, &mut ring, 0..1, 1)?;
            let c = cx.submit_one(&mut ring, reads.sqe(1))?;
            if c.res == 32 {
                reads.check_bytes(cx, 1)?;
            }
            reads.check_bytes(cx, 0)?;
            cx.observe(c, "on a file: the second of two entries with bid 5")
        }),
    Case::new("buffer_select::read_len_above_buffer")
        .requires(PBUF)
        .expect(Expect::cqe(16, buf_flags(2, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "kbuf.c:io_ring_buffer_select (if (*len == 0 || *len > buf_len) *len = buf_len)",
            )
            .man(RBR, "DESCRIPTION (len: the length of the buffer)")
            .rows(&["sel_len_clamped"]),
        )
        .run(|cx| {
            let (mut ring, m) = ring_with_bufs(cx, BufRingMemory::App, PbufFlags::NONE, 16, &[2])?;
            let data = pattern(64, 9);
            let (mut r, _w) = pipe_with(&data)?;
            let c = sel(cx, &mut ring, op::read_select(fd(&r), 64, u64::MAX, BGID))?;
            if c.res == 16 {
                cx.check_eq(
                    "bytes in bid 2 (16 bytes)",
                    m.read(0, 16),
                    data[..16].to_vec(),
                )?;
            }
            cx.check_eq(
                "the 4080 bytes after the 16-byte buffer",
                m.read(16, 4080),
                vec![0; 4080],
            )?;
            let mut rest = vec![0; 48];
            r.read_exact(&mut rest)
                .setup("read what the pipe still holds")?;
            cx.check_eq(
                "the pipe's last 48 bytes, left unread",
                rest,
                data[16..].to_vec(),
            )?;
            cx.observe(
                c,
                "on a pipe holding 64 bytes, the selected buffer 16 bytes",
            )
        }),
    Case::new("buffer_select::legacy_buffer_recycled_on_retry")
        .requires(&[Feature::OpProvideBuffers, Feature::OpRecvSend])
        .needs(&[Fact::UnixSockets])
        .expect(Expect::cqe(9, buf_flags(0, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "net.c:io_recv (-EAGAIN: io_kbuf_recycle) -> kbuf.c:io_kbuf_recycle_legacy",
            )
            .rows(&[])
            .note(
                "a recv that selected the group's only legacy buffer and found no data gives \
                 it back to the list before it waits; when the data comes it selects it again",
            ),
        )
        .run(|cx| {
            let mut ring = ring_with_legacy(cx, 1)?;
            let (a, b) = UnixStream::pair().setup("socketpair")?;
            // The buffers' own length: with a len of 0, 5.10's io_recv imports sr->len as
            // given and reads nothing; later kernels take the buffer's length.
            let sqe = op::recv_select(fd(&a), 64, 0, BGID).user_data(0x5e1);
            cx.submit_batch(&mut ring, vec![sqe], 0)?;
            (&b).write_all(b"9 bytes!!").setup("send")?;
            let c = cx.wait(&mut ring, 1)?.remove(0);
            cx.observe(
                c,
                "with the legacy group's one buffer (bid 0), data sent after the recv waited",
            )
        }),
    Case::new("buffer_select::app_ring_entry_in_second_page")
        .requires(PBUF)
        .expect(Expect::cqe(1, buf_flags(0x777, CqeFlags::NONE)))
        .cite(
            Cite::kernel(
                "memmap.c:io_region_init_ptr (vmap of the pinned pages unless they are one \
                 folio) -> kbuf.c:io_ring_head_to_buf",
            )
            .rows(&["sel_head_wrap_mask"])
            .note(
                "an application ring of exactly two pages (two folios; large_ring_second_page's \
                 has 128): after page / 16 one-byte reads from /dev/zero the head is the first \
                 entry of the second page, whose bid arrives",
            ),
        )
        .run(|cx| {
            const BATCH: usize = 64;
            let first_of_page_1 = uring::sys::page_size() / 16;
            let mut ring = batch_ring(cx, BATCH as u32, 2 * first_of_page_1 as u32)?;
            let zero = std::fs::File::open("/dev/zero").setup("open /dev/zero")?;
            let byte = cx.mem(1)?;
            let last = cx.mem(8)?;
            let br = ring.buf_ring(BGID).expect("set up above");
            for i in 0..first_of_page_1 {
                br.add(&byte.slice(0, 1), 1, i as u16);
            }
            br.add(&last.slice(0, 8), 0x777, first_of_page_1 as u16);
            br.advance(first_of_page_1 as u16 + 1);
            let mut done = 0;
            while done < first_of_page_1 {
                let n = BATCH.min(first_of_page_1 - done);
                let sqes = (0..n)
                    .map(|_| op::read_select(fd(&zero), 1, 0, BGID).user_data(1))
                    .collect();
                for c in cx.submit_batch(&mut ring, sqes, n)? {
                    cx.check_eq(
                        "a read through an entry of the first page (res, flags)",
                        (c.res, c.flags),
                        (1, buf_flags(1, CqeFlags::NONE)),
                    )?;
                }
                done += n;
            }
            let c = sel(cx, &mut ring, op::read_select(fd(&zero), 1, 0, BGID))?;
            cx.observe(
                c,
                "from /dev/zero: the head at the first entry of the ring's second page",
            )
        }),
];
