//! The completion queue: [`Cqe`], reaping (one at a time, or a batch with one head update),
//! and the CQ's overflow state.

use super::Ring;
use crate::abi::{io_uring_cqe, CqeFlags, EnterFlags};
use crate::Errno;
use std::sync::atomic::{AtomicU32, Ordering};

/// A completion: the CQE's fields (and the extra 16 bytes of a CQE32 ring).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cqe {
    /// Copied from the SQE (or chosen by the sender of a message, or a resource tag).
    pub user_data: u64,
    /// Result: >= 0 success, < 0 `-errno`.
    pub res: i32,
    /// `IORING_CQE_F_*`, buffer id in the upper 16 bits.
    pub flags: CqeFlags,
    /// The `big_cqe[]` words of a CQE32 ring (zero otherwise).
    pub extra: [u64; 2],
}

impl Cqe {
    /// `res` as a Result.
    pub fn result(&self) -> Result<i32, Errno> {
        Errno::from_res(self.res)
    }
}

#[derive(Clone, Copy)]
pub(super) struct Cq {
    pub(super) khead: *const AtomicU32,
    pub(super) ktail: *const AtomicU32,
    pub(super) koverflow: *const AtomicU32,
    pub(super) cqes: *const u8,
    /// log2 of the CQE size (4, or 5 with CQE32).
    pub(super) cqe_shift: u32,
    pub(super) mask: u32,
    pub(super) entries: u32,
}

impl Cq {
    /// The CQE at ring index `index` (masked here).
    #[inline(always)]
    fn read(&self, index: u32) -> Cqe {
        let idx = (index & self.mask) as usize;
        // SAFETY: idx <= mask < cq entries: the entry lies in the CQ mapping, which the
        // Ring owns; the caller read the kernel's tail past `index` (Acquire), so the
        // kernel wrote the entry before, and it will not touch it again until we move the
        // head past it.
        unsafe {
            let p = self.cqes.add(idx << self.cqe_shift);
            let c = std::ptr::read(p as *const io_uring_cqe);
            let extra = if self.cqe_shift == 5 {
                std::ptr::read(p.add(16) as *const [u64; 2])
            } else {
                [0; 2]
            };
            Cqe {
                user_data: c.user_data,
                res: c.res,
                flags: c.flags,
                extra,
            }
        }
    }
}

impl Ring {
    /// Number of CQ entries.
    pub fn cq_entries(&self) -> u32 {
        self.cq.entries
    }

    pub(super) fn cq_ktail(&self) -> &AtomicU32 {
        // SAFETY: points into the CQ mapping owned by self (see setup).
        unsafe { &*self.cq.ktail }
    }

    pub(super) fn cq_khead(&self) -> &AtomicU32 {
        // SAFETY: points into the CQ mapping owned by self (see setup).
        unsafe { &*self.cq.khead }
    }

    /// CQEs ready to be reaped.
    pub fn cq_ready(&self) -> u32 {
        self.cq_ktail()
            .load(Ordering::Acquire)
            .wrapping_sub(self.cq_khead().load(Ordering::Relaxed))
    }

    /// The CQ ring's `overflow` counter: CQEs the kernel had to drop.
    pub fn cq_overflow_dropped(&self) -> u32 {
        // SAFETY: koverflow points into the CQ mapping owned by self.
        unsafe { &*self.cq.koverflow }.load(Ordering::Acquire)
    }

    /// Asks the kernel to flush overflowed CQEs (and run task work) without waiting.
    pub fn flush_overflow(&mut self) -> Result<(), Errno> {
        self.enter(0, 0, EnterFlags::GETEVENTS, None).map(|_| ())
    }

    /// Takes the next CQE, if any.
    pub fn next_cqe(&mut self) -> Option<Cqe> {
        let head = self.cq_khead().load(Ordering::Relaxed);
        if head == self.cq_ktail().load(Ordering::Acquire) {
            return None;
        }
        let cqe = self.cq.read(head);
        self.cq_khead()
            .store(head.wrapping_add(1), Ordering::Release);
        self.complete(cqe.user_data, cqe.flags);
        Some(cqe)
    }

    /// The next CQE without consuming it; [`Ring::cq_advance`] consumes.
    pub fn peek_cqe(&self) -> Option<Cqe> {
        let head = self.cq_khead().load(Ordering::Relaxed);
        if head == self.cq_ktail().load(Ordering::Acquire) {
            return None;
        }
        Some(self.cq.read(head))
    }

    /// Marks the next `n` CQEs (at most the ready ones) as seen (io_uring_cq_advance).
    pub fn cq_advance(&mut self, n: u32) {
        for _ in 0..n.min(self.cq_ready()) {
            self.next_cqe();
        }
    }

    /// Takes every ready CQE, calling `f` on each; one head update for the batch.
    #[inline]
    pub fn for_each_cqe(&mut self, mut f: impl FnMut(Cqe)) -> u32 {
        let head = self.cq_khead().load(Ordering::Relaxed);
        let tail = self.cq_ktail().load(Ordering::Acquire);
        let n = tail.wrapping_sub(head);
        if n == 0 {
            return 0;
        }
        // A copy in registers: `f` may store anywhere, and the compiler could not tell
        // that those stores leave the ring's fields alone.
        let cq = self.cq;
        if self.pending.is_empty() {
            // Nothing in flight uses memory (and `f` cannot push): no bookkeeping.
            for i in 0..n {
                f(cq.read(head.wrapping_add(i)));
            }
        } else {
            for i in 0..n {
                let cqe = cq.read(head.wrapping_add(i));
                self.complete(cqe.user_data, cqe.flags);
                f(cqe);
            }
        }
        self.cq_khead().store(tail, Ordering::Release);
        n
    }

    /// Takes every ready CQE.
    pub fn drain(&mut self) -> Vec<Cqe> {
        let mut v = Vec::new();
        self.for_each_cqe(|c| v.push(c));
        v
    }

    /// The end of a request: one that used memory is no longer in flight (unless the CQE
    /// says more will come).
    #[inline]
    pub(super) fn complete(&mut self, user_data: u64, flags: CqeFlags) {
        if self.pending.is_empty() || flags.contains(CqeFlags::MORE) {
            return;
        }
        self.pending.done(user_data);
    }
}
