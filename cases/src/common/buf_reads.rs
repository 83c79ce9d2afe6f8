//! READs that select buffers from a provided-buffer ring, many of them and each checked
//! (bid, length, bytes): the vocabulary of [`crate::buf_select`]'s rows and of the
//! [`crate::buf_ring`] rows that check a registered ring is in use.

use crate::common::*;
use std::sync::Arc;
use uring::abi::CqeFlags;
use uring::mem::BufSlice;
use uring::{op, Cqe, Mem, Ring, Sqe};
use uring_harness::{CaseError, Cx, Fact, Setup};

/// Adds `bufs[i]` with bid `bids[i]` at the tail of group `bgid`'s ring and publishes them.
pub(crate) fn publish(
    ring: &mut Ring,
    bgid: u16,
    bufs: &[BufSlice],
    bids: &[u16],
) -> Result<(), CaseError> {
    let br = ring
        .buf_ring(bgid)
        .ok_or_else(|| CaseError::Broken(format!("no buffer ring set up for group {bgid}")))?;
    for (i, (b, bid)) in bufs.iter().zip(bids).enumerate() {
        br.add(b, *bid, i as u16);
    }
    br.advance(bufs.len() as u16);
    Ok(())
}

/// What the rows that read a regular temp file with buffer selection stand on: the file
/// cannot be polled, so kbuf.c's io_should_commit() commits each buffer when it is selected.
/// A pollable file (FUSE) commits at completion, unless the filesystem answers the
/// nonblocking attempt with -EAGAIN and the READ goes to io-wq (IO_URING_F_UNLOCKED: at
/// selection again); meanwhile a READ submitted after it takes the same buffer. Which of the
/// two happens is the filesystem's and its page cache's choice, so those rows skip there.
pub(crate) const FILE_NOT_POLLABLE: &[Fact] = &[Fact::TmpdirFileNotPollable];

/// READs with buffer selection from a regular file, each taking one buffer of group `bgid`
/// (SQE len 0: the buffer's length). The `seq`-th buffer of a run is `len` bytes in slot
/// `seq % slots` of `mem`, has bid `bid(seq)`, and is filled from file offset `seq * len`
/// (mod the file's 4096 bytes). A file that cannot be polled ([`FILE_NOT_POLLABLE`]) has its
/// buffer committed at selection (kbuf.c:io_should_commit): the head moves with every READ,
/// so READs submitted together take the buffers in ring order.
pub(crate) struct Reads {
    file: std::fs::File,
    data: Vec<u8>,
    /// Reading `/dev/zero` (not pollable either, and FMODE_NOWAIT): a slot is set to 0xff
    /// when its buffer is published, so the zeros a READ leaves there are its own.
    zero: bool,
    pub(crate) mem: Arc<Mem>,
    len: usize,
    slots: usize,
    bgid: u16,
    bid: Box<dyn Fn(u64) -> u16>,
}

impl Reads {
    /// A 4096-byte data file and `slots` buffers of `len` bytes (`len` divides 4096).
    pub(crate) fn new(
        cx: &Cx,
        bgid: u16,
        len: usize,
        slots: usize,
        bid: impl Fn(u64) -> u16 + 'static,
    ) -> Result<Reads, CaseError> {
        let (file, data) = data_file(cx, 4096, 0x2b)?;
        Reads::with(cx, file, data, false, bgid, len, slots, Box::new(bid))
    }

    /// Like [`Reads::new`], reading `/dev/zero`: half the kernel's work of a page-cache
    /// read, for the row that needs 65536 of them (seconds under TCG).
    pub(crate) fn zero(
        cx: &Cx,
        bgid: u16,
        len: usize,
        slots: usize,
        bid: impl Fn(u64) -> u16 + 'static,
    ) -> Result<Reads, CaseError> {
        let file = std::fs::File::open("/dev/zero").setup("open /dev/zero")?;
        Reads::with(
            cx,
            file,
            vec![0; 4096],
            true,
            bgid,
            len,
            slots,
            Box::new(bid),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn with(
        cx: &Cx,
        file: std::fs::File,
        data: Vec<u8>,
        zero: bool,
        bgid: u16,
        len: usize,
        slots: usize,
        bid: Box<dyn Fn(u64) -> u16>,
    ) -> Result<Reads, CaseError> {
        let mem = cx.mem(len * slots)?;
        Ok(Reads {
            file,
            data,
            zero,
            mem,
            len,
            slots,
            bgid,
            bid,
        })
    }

    fn slot(&self, seq: u64) -> usize {
        (seq % self.slots as u64) as usize * self.len
    }

    fn expected(&self, seq: u64) -> &[u8] {
        let off = (seq * self.len as u64 % self.data.len() as u64) as usize;
        &self.data[off..off + self.len]
    }

    /// The READ of buffer `seq`, with user_data `seq`.
    pub(crate) fn sqe(&self, seq: u64) -> Sqe {
        let off = seq * self.len as u64 % self.data.len() as u64;
        op::read_select(fd(&self.file), 0, off, self.bgid).user_data(seq)
    }

    /// Publishes buffers `seqs` at the ring's tail.
    pub(crate) fn publish(
        &self,
        ring: &mut Ring,
        seqs: std::ops::Range<u64>,
    ) -> Result<(), CaseError> {
        let bufs: Vec<_> = seqs
            .clone()
            .map(|s| self.mem.slice(self.slot(s), self.len))
            .collect();
        if self.zero {
            bufs.iter().for_each(|b| b.write(&vec![0xff; self.len]));
        }
        let bids: Vec<_> = seqs.map(|s| (self.bid)(s)).collect();
        publish(ring, self.bgid, &bufs, &bids)
    }

    /// Checks that buffer `seq`'s slot holds its bytes from the file.
    pub(crate) fn check_bytes(&self, cx: &Cx, seq: u64) -> Result<(), CaseError> {
        cx.check_eq(
            &format!("bytes in bid {} (buffer {seq})", (self.bid)(seq)),
            self.mem.read(self.slot(seq), self.len),
            self.expected(seq).to_vec(),
        )
    }

    /// READs buffer `seq` (published) through `cx` and returns its CQE for the row to
    /// observe; where it read a whole buffer, checks the bytes landed in buffer `seq`.
    pub(crate) fn one(&self, cx: &Cx, ring: &mut Ring, seq: u64) -> Result<Cqe, CaseError> {
        let c = cx.submit_one(ring, self.sqe(seq))?;
        if c.res == self.len as i32 {
            self.check_bytes(cx, seq)?;
        }
        Ok(c)
    }

    /// Publishes buffers `0..n` at once, READs all but the last (`batch` per submit, each
    /// checked) and the last through `cx`, whose CQE it returns for the row to observe.
    pub(crate) fn publish_and_take(
        &self,
        cx: &Cx,
        ring: &mut Ring,
        n: u64,
        batch: u64,
    ) -> Result<Cqe, CaseError> {
        self.publish(ring, 0..n)?;
        self.select(cx, ring, 0..n - 1, batch)?;
        self.one(cx, ring, n - 1)
    }

    /// Checks `c` as the completion of buffer `seq`: `len` bytes, F_BUFFER with its bid.
    pub(crate) fn check(&self, cx: &Cx, c: &Cqe, seq: u64) -> Result<(), CaseError> {
        cx.check_eq(
            &format!("READ {seq} (user_data) res, flags"),
            (c.res, c.flags),
            (self.len as i32, buf_flags((self.bid)(seq), CqeFlags::NONE)),
        )?;
        self.check_bytes(cx, seq)
    }

    /// READs buffers `seqs` (already published), `batch` per submit, checking each CQE.
    pub(crate) fn select(
        &self,
        cx: &Cx,
        ring: &mut Ring,
        seqs: std::ops::Range<u64>,
        batch: u64,
    ) -> Result<(), CaseError> {
        self.batches(cx, ring, seqs, batch, false)
    }

    /// Like [`Reads::select`], publishing each batch's buffers just before its READs.
    pub(crate) fn run(
        &self,
        cx: &Cx,
        ring: &mut Ring,
        seqs: std::ops::Range<u64>,
        batch: u64,
    ) -> Result<(), CaseError> {
        self.batches(cx, ring, seqs, batch, true)
    }

    fn batches(
        &self,
        cx: &Cx,
        ring: &mut Ring,
        seqs: std::ops::Range<u64>,
        batch: u64,
        publish: bool,
    ) -> Result<(), CaseError> {
        let mut start = seqs.start;
        while start < seqs.end {
            let end = (start + batch).min(seqs.end);
            if publish {
                self.publish(ring, start..end)?;
            }
            for s in start..end {
                ring.push(self.sqe(s))
                    .map_err(|e| CaseError::Broken(e.to_string()))?;
            }
            ring.submit().setup("io_uring_enter (submit)")?;
            let mut cqes = cx.wait(ring, (end - start) as usize)?;
            cqes.sort_by_key(|c| c.user_data);
            // One copy of all the slots per batch; the named checks run only on a mismatch
            // (the 65536-wrap row makes 65544 of these under TCG too).
            let bytes = self.mem.read(0, self.slots * self.len);
            for (s, c) in (start..end).zip(&cqes) {
                let want = (s, self.len as i32, buf_flags((self.bid)(s), CqeFlags::NONE));
                let at = self.slot(s);
                if (c.user_data, c.res, c.flags) != want
                    || bytes[at..at + self.len] != *self.expected(s)
                {
                    cx.check_eq("READ user_data", c.user_data, s)?;
                    self.check(cx, c, s)?;
                }
            }
            start = end;
        }
        Ok(())
    }
}

/// Publishes one 64-byte buffer per bid of `bids` in group `bgid`'s ring and READs them
/// back one by one: each must come in ring order with its bid and bytes (the ring is in use).
pub(crate) fn ring_in_use(
    cx: &Cx,
    ring: &mut Ring,
    bgid: u16,
    bids: &'static [u16],
) -> Result<(), CaseError> {
    let reads = Reads::new(cx, bgid, 64, bids.len(), move |s| bids[s as usize])?;
    reads.run(cx, ring, 0..bids.len() as u64, 1)
}
