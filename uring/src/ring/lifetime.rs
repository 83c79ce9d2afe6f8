//! What must outlive the requests: the regions SQEs referenced (anchors), the count of
//! requests in flight with memory (the pending table, by user_data), and teardown, which
//! cancels every request and has the kernel confirm that none is left (a drained NOP)
//! before the regions may go.

use super::Ring;
use crate::abi::{CancelFlags, FeatureFlags, SqeFlags};
use crate::mem::{HeldIovecs, HeldMem, Mem};
use crate::op::{self, Anchors};
use std::any::{Any, TypeId};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Something a ring holds for the kernel besides the memory SQEs name: memory the kernel
/// may use with no SQE naming it (a provided-buffer ring and its buffers). The ring keeps
/// it by kind and id without knowing its type; when it is replaced or detached, and at
/// teardown, it is turned into the regions to keep alive until the kernel is done.
pub(crate) trait Attachment: Any + Send {
    /// Lets go of all but the memory the kernel may still use (e.g. unmaps what the
    /// kernel allocated), and returns that memory.
    fn into_anchors(self: Box<Self>) -> Vec<Arc<Mem>>;
}

/// The attachments of a ring, by (kind, id).
pub(super) type Attachments = BTreeMap<(TypeId, u64), Box<dyn Attachment>>;

/// user_data of the cancel requests a ring issues on its own teardown.
const TEARDOWN_CANCEL: u64 = u64::MAX - 0x7e4d;
/// user_data of the drained NOP whose completion tells teardown that no request is left:
/// 64 random bits drawn for each teardown, so that no CQE posted into this ring by someone
/// else (a MSG_RING data message chooses its user_data and result) can pass for it short of
/// guessing them. `None` when the kernel gives no random bytes.
fn drain_tag() -> Option<u64> {
    let mut v = 0u64;
    // SAFETY: getrandom(2) writes at most the 8 bytes of `v`, a live local.
    let n = unsafe { libc::getrandom(std::ptr::addr_of_mut!(v).cast(), 8, 0) };
    (n == 8).then_some(v)
}

/// A map keyed by user_data values and region addresses, which this ring tracks for
/// itself: no input chosen by an adversary, so SipHash's flooding defence buys nothing, and
/// its cost (on every push and completion of a request with memory) is what the hot path
/// would pay. See [`U64Hasher`].
pub(super) type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

/// One multiply for a `u64` key, the high half folded into the low bits (the map picks
/// buckets by the low bits, and page-aligned addresses have twelve zero low bits).
#[derive(Default, Clone, Copy)]
pub(super) struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

/// user_data values below this count their in-flight requests in a directly indexed table
/// (slot numbers, small tags: what most callers use); others in a [`U64Map`].
const PENDING_DIRECT: u64 = 4096;

/// Requests in flight that use memory, by user_data (a count per value: user_data need
/// not be unique). Push adds one, the CQE that ends the request takes one away. What
/// [`Ring::in_flight_with_memory`] reports; never what teardown decides by (see
/// `Ring::must_confirm`). Small user_data values are counted in a table
/// indexed by the value, no hashing on the hot path; the map holds the rest, looked up
/// once per operation.
#[derive(Default)]
pub(super) struct Pending {
    /// Counts for user_data < [`PENDING_DIRECT`], grown on demand.
    direct: Vec<u32>,
    /// Counts for the other values (never zero: an entry goes when its count does).
    other: U64Map<u32>,
    /// The sum of all counts.
    pub(super) total: usize,
}

impl Pending {
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// One more request with this user_data in flight.
    #[inline]
    pub(super) fn add(&mut self, user_data: u64) {
        if user_data < PENDING_DIRECT {
            let i = user_data as usize;
            match self.direct.get_mut(i) {
                Some(n) => *n += 1,
                None => self.grow_add(i),
            }
        } else {
            self.add_other(user_data);
        }
        self.total += 1;
    }

    /// [`Pending::add`] for a large value: out of line, so that the direct path keeps the
    /// map's code (and the registers it needs) out of the push path.
    #[cold]
    #[inline(never)]
    fn add_other(&mut self, user_data: u64) {
        *self.other.entry(user_data).or_insert(0) += 1;
    }

    /// Grows the direct table to hold index `i`, and counts one there.
    #[cold]
    fn grow_add(&mut self, i: usize) {
        let len = (i + 1).next_power_of_two().max(64);
        self.direct.resize(len, 0);
        self.direct[i] += 1;
    }

    /// The request with this user_data completed (if one with memory was in flight).
    #[inline]
    pub(super) fn done(&mut self, user_data: u64) {
        if user_data < PENDING_DIRECT {
            if let Some(n) = self.direct.get_mut(user_data as usize) {
                if *n > 0 {
                    *n -= 1;
                    self.total -= 1;
                }
            }
        } else if let Entry::Occupied(mut e) = self.other.entry(user_data) {
            *e.get_mut() -= 1;
            self.total -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }

    /// (user_data, count) of every value with requests in flight.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        let direct = self.direct.iter().enumerate();
        direct
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (i as u64, *n))
            .chain(self.other.iter().map(|(k, v)| (*k, *v)))
    }
}

impl Ring {
    /// Holds `a` as attachment `id` of its kind, and returns it. One already there (the
    /// kernel accepted a second registration after the first was undone behind our back)
    /// is detached: its memory is kept alive with the ring.
    pub(crate) fn attach<T: Attachment>(&mut self, id: u64, a: T) -> &mut T {
        if let Some(old) = self.attached.insert((TypeId::of::<T>(), id), Box::new(a)) {
            self.keep_alive_all(old.into_anchors());
        }
        self.attachment::<T>(id).expect("just attached")
    }

    /// Attachment `id` of kind `T`, if there is one.
    pub(crate) fn attachment<T: Attachment>(&mut self, id: u64) -> Option<&mut T> {
        let a: &mut dyn Any = self.attached.get_mut(&(TypeId::of::<T>(), id))?.as_mut();
        a.downcast_mut::<T>()
    }

    /// Drops attachment `id` of kind `T`, keeping its memory alive with the ring (requests
    /// may still use it).
    pub(crate) fn detach<T: Attachment>(&mut self, id: u64) {
        if let Some(old) = self.attached.remove(&(TypeId::of::<T>(), id)) {
            self.keep_alive_all(old.into_anchors());
        }
    }

    fn keep_alive_all(&mut self, mems: Vec<Arc<Mem>>) {
        for m in mems {
            self.anchors.entry(m.addr()).or_insert(m);
        }
    }

    /// Counts a request that uses memory as in flight, and keeps its memory alive.
    /// Out of line, so that the plain path never has the SQE's address taken.
    #[cold]
    #[inline(never)]
    pub(super) fn anchor(&mut self, user_data: u64, mems: Anchors) {
        self.pending.add(user_data);
        // Counts do not decide teardown (a forged CQE lowers them): the kernel does.
        self.must_confirm = true;
        // The SQE's own Arcs move in: one already held is dropped (a decrement), a new one
        // is stored as it is (no increment).
        match mems {
            // Held memory is the ring's already (and `push` checked the id).
            Anchors::None | Anchors::Held(_) => {}
            // Most requests reuse the region of the one before (one buffer pool): the
            // address compare spares them the hash lookup, and the Arc is dropped here.
            Anchors::One(m) if m.addr() == self.last_anchor => drop(m),
            Anchors::One(m) => self.anchor_new(m),
            Anchors::Many(v, _) => self.anchor_many(v),
        }
    }

    /// The regions of a vectored request (the iovec array and its buffers), out of line.
    #[cold]
    #[inline(never)]
    fn anchor_many(&mut self, v: Vec<Arc<Mem>>) {
        for m in v {
            if m.addr() != self.last_anchor {
                self.anchor_new(m);
            }
        }
    }

    /// Holds a region other than the last one anchored (if not held yet) and makes it the
    /// last one. Out of line: the hash lookup stays off the common path.
    #[cold]
    #[inline(never)]
    fn anchor_new(&mut self, m: Arc<Mem>) {
        self.last_anchor = m.addr();
        self.anchors.entry(m.addr()).or_insert(m);
    }

    /// Holds `mem` until this ring is torn down, and returns the handle whose slices name
    /// it in SQEs: reads and writes into held memory are not counted in flight, which is
    /// what makes them as cheap as the plain path (see [`crate::mem::HeldMem`]). From the
    /// first hold on, requests selecting a provided buffer are not counted either (its
    /// memory is the ring's too), teardown waits for every request (cancelled first), and
    /// leaks what the ring keeps if it cannot confirm that none is left.
    ///
    /// A slice pushed to another ring is refused, never sent:
    ///
    /// ```
    /// # use uring::{op, Mem, PushError, Ring};
    /// let mut a = Ring::new(4).unwrap();
    /// let mut b = Ring::new(4).unwrap();
    /// let held = a.hold(&Mem::new(4096).unwrap());
    /// let sqe = op::read(-1, held.slice(0, 4096), 4096, 0);
    /// assert_eq!(b.push(sqe.clone()), Err(PushError::NotHeld));
    /// assert_eq!(a.push(sqe), Ok(()));
    /// ```
    pub fn hold(&mut self, mem: &Arc<Mem>) -> HeldMem {
        self.holds = true;
        self.must_confirm = true;
        self.anchors
            .entry(mem.addr())
            .or_insert_with(|| mem.clone());
        HeldMem::new(mem.clone(), self.id)
    }

    /// An iovec array ([`crate::mem::IOVECS`] entries), held as [`Ring::hold`] holds
    /// memory, for READV/WRITEV into `target` ([`crate::op::readv_held`]). Refused
    /// ([`crate::Error::Usage`], nothing mapped) if this ring does not hold `target`;
    /// otherwise fails only as mmap(2) does. The array is in the native `iovec` layout, so a
    /// compat ring (which reads `compat_iovec`s, rw.c io_import_vec) refuses it with
    /// [`crate::Error::Unsupported`]: it would read bases and lengths out of the native halves.
    ///
    /// ```
    /// # use uring::{Error, Mem, Ring};
    /// let mut a = Ring::new(4).unwrap();
    /// let mut b = Ring::new(4).unwrap();
    /// let of_a = a.hold(&Mem::new(4096).unwrap());
    /// assert!(matches!(b.hold_iovecs(&of_a), Err(Error::Usage(_))));
    /// assert!(a.hold_iovecs(&of_a).is_ok());
    /// ```
    pub fn hold_iovecs(&mut self, target: &HeldMem) -> Result<HeldIovecs, crate::Error> {
        if self.abi == crate::compat::Abi::Compat {
            return Err(crate::Error::Unsupported(
                "held iovec arrays are native; a compat ring reads compat_iovec",
            ));
        }
        if target.ring() != self.id {
            return Err(crate::Error::Usage(
                "the iovecs' target region is held by another ring",
            ));
        }
        let mem = Mem::new(crate::mem::IOVECS * 16)?;
        let held = self.hold(&mem);
        Ok(HeldIovecs::new(held.mem().clone(), target.clone()))
    }

    /// Requests that reference memory and whose completion has not been reaped yet (not
    /// those using held memory, see [`Ring::hold`]).
    pub fn in_flight_with_memory(&self) -> usize {
        self.pending.total
    }

    /// Cancels the counted requests still in flight, one cancel per user_data and count, and
    /// waits (bounded) until the count is zero. Sound only where no other ring can post a
    /// CQE into this one (before IORING_OP_MSG_RING), see [`Drop`].
    fn quiesce_counted(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let targets: Vec<(u64, u32)> = self.pending.iter().collect();
        for (ud, count) in targets {
            for _ in 0..count {
                let sqe = op::cancel(ud, CancelFlags::NONE).user_data(TEARDOWN_CANCEL);
                if self.push(sqe.clone()).is_err() {
                    let _ = self.submit();
                    let _ = self.push(sqe);
                }
            }
        }
        let _ = self.submit();
        while !self.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = self.wait_timeout(1, left.min(Duration::from_millis(50)));
            self.for_each_cqe(|_| {});
        }
        self.pending.is_empty()
    }

    /// Cancels every request in flight (`IORING_ASYNC_CANCEL_ANY | ALL`) and waits (bounded)
    /// for a NOP with `IOSQE_IO_DRAIN` behind them: the kernel starts a drained request
    /// only once every request submitted before it has completed and been freed
    /// (`io_queue_deferred` compares `nr_req_allocated` with `nr_drained`), so its CQE says
    /// that none is left, counted or not. Returns true only on that CQE (its user_data
    /// a random tag, see [`drain_tag`]) with result 0 or -ECANCELED; a
    /// ring refusing the NOP (restrictions, drain disabled by `IOSQE_CQE_SKIP_SUCCESS`, a
    /// link it joined that failed) cannot confirm anything.
    ///
    /// -ECANCELED confirms as well: a drained request is released with
    /// `REQ_F_FORCE_ASYNC` (`io_init_req`), so the NOP runs in io-wq, and an io-wq that
    /// cannot start its first worker (the task limit: RLIMIT_NPROC, a pids cgroup) cancels
    /// its pending work (`create_worker_cont`, `io_acct_cancel_pending_work`). Only a
    /// request `io_queue_deferred` released gets there; the other way a deferred request
    /// is cancelled, `io_cancel_defer_files`, runs when the submitting task or the ring
    /// exits, never while this task holds the ring.
    fn quiesce_all(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let Some(tag) = drain_tag() else {
            return false;
        };
        let cancel = op::cancel(0, CancelFlags::ANY | CancelFlags::ALL).user_data(TEARDOWN_CANCEL);
        let drain = op::nop().flags(SqeFlags::IO_DRAIN).user_data(tag);
        for sqe in [cancel, drain] {
            if self.push(sqe.clone()).is_err() {
                let _ = self.submit();
                if self.push(sqe).is_err() {
                    return false;
                }
            }
        }
        if self.submit().is_err() {
            // Not submitted (a SINGLE_ISSUER ring dropped by another task, ...): the NOP
            // will not run, and nothing can be confirmed.
            return false;
        }
        let mut drained = None;
        while drained.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = self.wait_timeout(1, left.min(Duration::from_millis(50)));
            self.for_each_cqe(|c| {
                if c.user_data == tag {
                    drained = Some(c.res);
                }
            });
        }
        drained.is_some_and(|res| res == 0 || res == -libc::ECANCELED)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Attachments (buffer rings) unmap their kernel-allocated memory and hand their
        // buffers to `anchors` first, so the decision below covers them too.
        for (_, a) in std::mem::take(&mut self.attached) {
            self.keep_alive_all(a.into_anchors());
        }
        // A ring that never tracked a request has nothing the kernel could still write
        // (no request named its memory); any other asks the kernel, never its own counts,
        // except before 5.18: no IORING_FEAT_LINKED_FILE means no IORING_OP_MSG_RING (both
        // came in 5.18), so no other ring can post a CQE here and the counts are the
        // kernel's own; there the drained NOP did not confirm a quiet ring (5.10 left the
        // regions of legacy provided-buffer rows unconfirmed), while cancelling by count did.
        let counts_suffice =
            !self.holds && !self.params.features.contains(FeatureFlags::LINKED_FILE);
        let done = !self.must_confirm
            || if counts_suffice {
                self.quiesce_counted(Duration::from_secs(2))
            } else {
                self.quiesce_all(Duration::from_secs(2))
            };
        if !done {
            // The kernel may still write into these regions: never free them.
            let n = self.anchors.len();
            for (_, m) in self.anchors.drain() {
                std::mem::forget(m);
            }
            crate::census::leaked(n);
        }
        // What is left in `anchors` (declared after `fd`) is dropped once the ring is closed.
    }
}
