//! [`Ring`]: setup, the SQ/CQ/SQE mappings, pushing SQEs, submit, timed waits, CQE
//! reaping, CQ overflow state, enabling a disabled ring, and teardown.
#![allow(unsafe_code)]

use crate::abi::{
    io_uring_cqe, io_uring_getevents_arg, io_uring_params, io_uring_sqe, kernel_timespec, mmap_off,
    CancelFlags, CqeFlags, EnterFlags, FeatureFlags, RegisterOp, SetupFlags, SqRingFlags, SqeFlags,
};
use crate::bufring::BufRing;
use crate::mem::{Mapping, Mem};
use crate::op::{self, Anchors, Sqe};
use crate::sys;
use crate::{Errno, Error};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many `Mem` regions rings have leaked on purpose, because the kernel still had
/// requests using them when the ring was dropped and they did not finish in time.
pub static LEAKED_REGIONS: AtomicUsize = AtomicUsize::new(0);

/// user_data of the cancel requests a ring issues on its own teardown.
const TEARDOWN_CANCEL: u64 = u64::MAX - 0x7e4d;

/// Options of io_uring_setup(2).
#[derive(Clone, Debug)]
pub struct RingBuilder {
    entries: u32,
    params: io_uring_params,
}

impl RingBuilder {
    /// A ring of `entries` SQEs with default parameters.
    pub fn new(entries: u32) -> RingBuilder {
        RingBuilder {
            entries,
            params: io_uring_params::default(),
        }
    }
    /// Adds `IORING_SETUP_*` flags.
    pub fn flags(mut self, f: SetupFlags) -> RingBuilder {
        self.params.flags |= f;
        self
    }
    /// Asks for `n` CQ entries (`IORING_SETUP_CQSIZE`).
    pub fn cq_entries(mut self, n: u32) -> RingBuilder {
        self.params.flags |= SetupFlags::CQSIZE;
        self.params.cq_entries = n;
        self
    }
    /// The raw parameters, for values no builder method sets (`resv`, `wq_fd`, ...).
    pub fn params_mut(&mut self) -> &mut io_uring_params {
        &mut self.params
    }
    /// io_uring_setup(2) and the mmaps. Fails without a syscall ([`Error::Unsupported`])
    /// for `IORING_SETUP_NO_MMAP`, whose ring memory the caller would have to provide.
    pub fn build(self) -> Result<Ring, Error> {
        if self.params.flags.intersects(SetupFlags::NO_MMAP) {
            return Err(Error::Unsupported(
                "IORING_SETUP_NO_MMAP (the ring memory would have to come from the caller)",
            ));
        }
        Ring::setup(self.entries, self.params).map_err(Error::Kernel)
    }
}

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

/// Why a wait ended without the completions asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The time limit ran out.
    Timeout,
    /// io_uring_enter(2) failed.
    Errno(Errno),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::Timeout => f.write_str("timed out waiting for completions"),
            WaitError::Errno(e) => write!(f, "io_uring_enter failed: {e}"),
        }
    }
}

impl std::error::Error for WaitError {}

impl From<Errno> for WaitError {
    fn from(e: Errno) -> Self {
        WaitError::Errno(e)
    }
}

/// The submission queue is full: submit first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqFull;

impl std::fmt::Display for SqFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("submission queue full")
    }
}

impl std::error::Error for SqFull {}

/// The SQ as the pushing code sees it. `Copy`, so that [`SqBatch`] can work on a copy in
/// registers and write the tail back once.
#[derive(Clone, Copy)]
struct Sq {
    khead: *const AtomicU32,
    ktail: *const AtomicU32,
    kflags: *const AtomicU32,
    kdropped: *const AtomicU32,
    sqes: *mut u8,
    /// log2 of the SQE size (6, or 7 with SQE128): slot i starts at `sqes + (i << shift)`.
    sqe_shift: u32,
    mask: u32,
    entries: u32,
    /// Our tail: SQEs written but maybe not yet published.
    tail: u32,
    /// Last head read from the kernel: refreshed only when the queue looks full.
    cached_head: u32,
}

impl Sq {
    /// Writes `raw` into the next slot and moves our (unpublished) tail past it.
    #[inline(always)]
    fn push_raw(&mut self, raw: &io_uring_sqe) -> Result<(), SqFull> {
        if self.tail.wrapping_sub(self.cached_head) >= self.entries {
            // Re-read the head before saying "full": SQPOLL consumes behind our back.
            // SAFETY: khead points into the SQ mapping, which the Ring owns and keeps
            // mapped for as long as this Sq (or a copy in an SqBatch borrowing it) lives.
            self.cached_head = unsafe { &*self.khead }.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.cached_head) >= self.entries {
                return Err(SqFull);
            }
        }
        let idx = (self.tail & self.mask) as usize;
        // SAFETY: idx <= mask < sq entries, so the slot lies inside the SQE mapping (of
        // `entries << sqe_shift` bytes); the kernel does not read slots between its head
        // and our unpublished tail, and the check above keeps the tail within `entries`
        // of the head, so this slot is ours.
        unsafe {
            let slot = self.sqes.add(idx << self.sqe_shift);
            // Of an SQE128 slot only the first 64 bytes are ever written: the second half
            // stays as zeroed at setup.
            std::ptr::write(slot as *mut io_uring_sqe, *raw);
        }
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }
}

/// Whether the ring has nothing to track for an SQE: it names no memory, and selects no
/// provided buffer. (A request selecting one names no memory itself, but the kernel
/// writes into a buffer of a ring or legacy group this Ring keeps: it is in flight with
/// memory all the same, and teardown must wait for it.)
#[inline(always)]
fn is_plain(raw: &io_uring_sqe, anchors: &Anchors) -> bool {
    anchors.is_empty() && !raw.flags.contains(SqeFlags::BUFFER_SELECT)
}

/// Records a pushed SQE in the per-thread trace (nothing without the `trace` feature).
#[inline(always)]
fn trace_push(raw: &io_uring_sqe) {
    crate::trace::note(|| crate::trace::Call::Sqe {
        op: raw.opcode,
        user_data: raw.user_data,
    });
}

/// Pushes SQEs with the queue state in registers: see [`Ring::sq_batch`]. Each
/// [`SqBatch::push`] does what [`Ring::push`] does (the memory an SQE references is kept
/// alive the same way); the tail goes back to the ring when the batch is dropped.
pub struct SqBatch<'a> {
    sq: Sq,
    ring: &'a mut Ring,
}

impl SqBatch<'_> {
    /// Writes `sqe` into the next SQ slot, as [`Ring::push`] does.
    // The same lines as Ring::push, on purpose: sharing them through a helper that returns
    // the anchors to the caller (measured) lets the compiler keep the SQE in memory again,
    // and the batch loop grows from 24 to 85 instructions per NOP.
    #[inline]
    pub fn push(&mut self, sqe: Sqe) -> Result<(), SqFull> {
        let Sqe { raw, anchors } = sqe;
        if is_plain(&raw, &anchors) {
            // `Anchors::None` owns nothing: forgetting it drops nothing, and spares the
            // SqFull return a drop of a value the compiler would keep in memory.
            std::mem::forget(anchors);
            self.sq.push_raw(&raw)?;
            trace_push(&raw);
            return Ok(());
        }
        self.sq.push_raw(&raw)?;
        trace_push(&raw);
        self.ring.anchor(raw.user_data, anchors);
        Ok(())
    }

    /// Free SQ slots as of the last head this batch read (it re-reads the head only when
    /// the queue looks full).
    pub fn space(&self) -> u32 {
        self.sq.entries - self.sq.tail.wrapping_sub(self.sq.cached_head)
    }
}

impl Drop for SqBatch<'_> {
    #[inline]
    fn drop(&mut self) {
        self.ring.sq.tail = self.sq.tail;
        self.ring.sq.cached_head = self.sq.cached_head;
    }
}

#[derive(Clone, Copy)]
struct Cq {
    khead: *const AtomicU32,
    ktail: *const AtomicU32,
    koverflow: *const AtomicU32,
    cqes: *const u8,
    /// log2 of the CQE size (4, or 5 with CQE32).
    cqe_shift: u32,
    mask: u32,
    entries: u32,
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

/// An io_uring instance: fd, mapped rings, and the memory its requests reference.
pub struct Ring {
    sq: Sq,
    cq: Cq,
    params: io_uring_params,
    registered_index: Option<u32>,
    /// What io_uring_enter(2) is given as its fd: the registered index or the ring fd.
    enter_fd: RawFd,
    /// `IORING_ENTER_REGISTERED_RING` once the ring registered itself, else empty.
    enter_flags: EnterFlags,
    /// `IORING_SETUP_SQPOLL`, looked up once (the hot path tests it on every submit).
    sqpoll: bool,
    /// In-flight requests that reference memory, by user_data (a count per value).
    pending: U64Map<u32>,
    pub(crate) buf_rings: BTreeMap<u16, BufRing>,
    fd: OwnedFd,
    _sq_map: Mapping,
    _cq_map: Option<Mapping>,
    _sqe_map: Mapping,
    /// Every region an SQE or a buffer ring ever handed to the kernel, by address.
    /// Dropped after the fd is closed and the requests using them are done.
    anchors: U64Map<Arc<Mem>>,
    /// The address of the region last added to (or found in) `anchors`: a request using
    /// the same region again needs no lookup. Regions leave `anchors` only at teardown,
    /// so the address cannot have been reused by another region meanwhile.
    last_anchor: u64,
}

/// A map keyed by user_data values and region addresses, which this ring tracks for
/// itself: no input chosen by an adversary, so SipHash's flooding defence buys nothing, and
/// its cost (on every push and completion of a request with memory) is what the hot path
/// would pay. See [`U64Hasher`].
type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

/// One multiply for a `u64` key, the high half folded into the low bits (the map picks
/// buckets by the low bits, and page-aligned addresses have twelve zero low bits).
#[derive(Default, Clone, Copy)]
struct U64Hasher(u64);

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

// SAFETY: the raw pointers point into mappings owned by the Ring; SQ and CQ state is only
// touched through `&mut self`, so moving the Ring to another thread is sound.
unsafe impl Send for Ring {}
// SAFETY: `&self` methods only read the immutable parameters, the fd, or atomics of the
// shared rings (loads), and issue io_uring_register calls, which the kernel serialises.
unsafe impl Sync for Ring {}

impl Ring {
    /// A ring of `entries` entries with default setup flags. Any error is the kernel's
    /// (io_uring_setup or mmap).
    pub fn new(entries: u32) -> Result<Ring, Errno> {
        Ring::setup(entries, io_uring_params::default())
    }

    /// A builder, for setup flags and CQ size.
    pub fn builder(entries: u32) -> RingBuilder {
        RingBuilder::new(entries)
    }

    /// io_uring_setup(2) and the mmaps; never with NO_MMAP (see [`RingBuilder::build`]).
    fn setup(entries: u32, mut params: io_uring_params) -> Result<Ring, Errno> {
        debug_assert!(!params.flags.intersects(SetupFlags::NO_MMAP));
        let fd = sys::io_uring_setup(entries, &mut params)?;
        let p = &params;
        let sqe_size = if p.flags.contains(SetupFlags::SQE128) {
            128
        } else {
            64
        };
        let cqe_size = if p.flags.contains(SetupFlags::CQE32) {
            32
        } else {
            16
        };
        let mut sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let mut cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * cqe_size;
        let single = p.features.contains(FeatureFlags::SINGLE_MMAP);
        if single {
            sq_len = sq_len.max(cq_len);
            cq_len = sq_len;
        }
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let shared = libc::MAP_SHARED | libc::MAP_POPULATE;
        let sq_map = Mapping::map(sq_len, prot, shared, Some(fd.as_fd()), mmap_off::SQ_RING)?;
        let cq_map = if single {
            None
        } else {
            Some(Mapping::map(
                cq_len,
                prot,
                shared,
                Some(fd.as_fd()),
                mmap_off::CQ_RING,
            )?)
        };
        let sqe_len = p.sq_entries as usize * sqe_size;
        let sqe_map = Mapping::map(sqe_len, prot, shared, Some(fd.as_fd()), mmap_off::SQES)?;
        let sqb = sq_map.ptr();
        let cqb = cq_map.as_ref().map_or(sqb, |m| m.ptr());
        // SAFETY: every offset comes from the kernel's io_sqring_offsets/io_cqring_offsets
        // for the mappings just made, whose lengths cover them (computed as liburing and the
        // kernel do); the u32 fields are 4-byte aligned as the uapi guarantees. The SQE
        // mapping is `sqe_len` writable bytes, and no SQE has been submitted yet.
        let (sq, cq) = unsafe {
            let at = |base: *mut u8, off: u32| base.add(off as usize) as *const AtomicU32;
            let sq = Sq {
                khead: at(sqb, p.sq_off.head),
                ktail: at(sqb, p.sq_off.tail),
                kflags: at(sqb, p.sq_off.flags),
                kdropped: at(sqb, p.sq_off.dropped),
                sqes: sqe_map.ptr(),
                sqe_shift: sqe_size.trailing_zeros(),
                mask: *(sqb.add(p.sq_off.ring_mask as usize) as *const u32),
                entries: *(sqb.add(p.sq_off.ring_entries as usize) as *const u32),
                tail: 0,
                cached_head: 0,
            };
            // Every SQE starts zeroed, so the bytes past our 64-byte `io_uring_sqe` in an
            // SQE128 slot read as zero for good (push never writes them).
            std::ptr::write_bytes(sqe_map.ptr(), 0, sqe_len);
            if !p.flags.contains(SetupFlags::NO_SQARRAY) {
                // The index array maps SQ slot i to SQE i, once and for all.
                let array = sqb.add(p.sq_off.array as usize) as *mut u32;
                for i in 0..sq.entries {
                    array.add(i as usize).write(i);
                }
            }
            let cq = Cq {
                khead: at(cqb, p.cq_off.head),
                ktail: at(cqb, p.cq_off.tail),
                koverflow: at(cqb, p.cq_off.overflow),
                cqes: cqb.add(p.cq_off.cqes as usize),
                cqe_shift: cqe_size.trailing_zeros(),
                mask: *(cqb.add(p.cq_off.ring_mask as usize) as *const u32),
                entries: *(cqb.add(p.cq_off.ring_entries as usize) as *const u32),
            };
            (sq, cq)
        };
        Ok(Ring {
            sq,
            cq,
            enter_fd: fd.as_raw_fd(),
            enter_flags: EnterFlags::NONE,
            sqpoll: params.flags.contains(SetupFlags::SQPOLL),
            params,
            registered_index: None,
            pending: U64Map::default(),
            buf_rings: BTreeMap::new(),
            fd,
            _sq_map: sq_map,
            _cq_map: cq_map,
            _sqe_map: sqe_map,
            anchors: U64Map::default(),
            last_anchor: 0,
        })
    }

    /// The parameters as the kernel returned them (entries, features, offsets).
    pub fn params(&self) -> &io_uring_params {
        &self.params
    }

    /// The setup flags this ring was created with.
    pub fn setup_flags(&self) -> SetupFlags {
        self.params.flags
    }

    /// The kernel's `IORING_FEAT_*` bits.
    pub fn features(&self) -> FeatureFlags {
        self.params.features
    }

    /// Number of SQ entries.
    pub fn sq_entries(&self) -> u32 {
        self.sq.entries
    }

    /// Number of CQ entries.
    pub fn cq_entries(&self) -> u32 {
        self.cq.entries
    }

    fn sq_khead(&self) -> &AtomicU32 {
        // SAFETY: points into the SQ mapping owned by self (see setup).
        unsafe { &*self.sq.khead }
    }

    fn cq_ktail(&self) -> &AtomicU32 {
        // SAFETY: points into the CQ mapping owned by self (see setup).
        unsafe { &*self.cq.ktail }
    }

    fn cq_khead(&self) -> &AtomicU32 {
        // SAFETY: points into the CQ mapping owned by self (see setup).
        unsafe { &*self.cq.khead }
    }

    /// Free SQ slots right now.
    pub fn sq_space(&mut self) -> u32 {
        self.sq.cached_head = self.sq_khead().load(Ordering::Acquire);
        self.sq.entries - self.sq.tail.wrapping_sub(self.sq.cached_head)
    }

    /// Writes `sqe` into the next SQ slot (not yet visible to the kernel: see [`Ring::submit`]).
    /// For many SQEs in a row, [`Ring::sq_batch`] keeps the queue state in registers.
    #[inline]
    pub fn push(&mut self, sqe: Sqe) -> Result<(), SqFull> {
        // Taken apart first: the entry then lives in registers (the slot is written
        // straight from the builder's fields), and the plain path has nothing to drop.
        let Sqe { raw, anchors } = sqe;
        if is_plain(&raw, &anchors) {
            // `Anchors::None` owns nothing: forgetting it drops nothing, and spares the
            // SqFull return a drop of a value the compiler would keep in memory.
            std::mem::forget(anchors);
            self.sq.push_raw(&raw)?;
            trace_push(&raw);
            return Ok(());
        }
        self.sq.push_raw(&raw)?;
        trace_push(&raw);
        self.anchor(raw.user_data, anchors);
        Ok(())
    }

    /// A view of the SQ for pushing many SQEs: the tail and the queue's geometry are
    /// copied into the view once, and written back (once) when it is dropped. The SQEs
    /// still reach the kernel only with [`Ring::submit`] (or a wait that submits).
    #[inline]
    pub fn sq_batch(&mut self) -> SqBatch<'_> {
        SqBatch {
            sq: self.sq,
            ring: self,
        }
    }

    /// Counts a request that uses memory as in flight, and keeps its memory alive.
    /// Out of line, so that the plain path never has the SQE's address taken.
    #[cold]
    #[inline(never)]
    fn anchor(&mut self, user_data: u64, mems: Anchors) {
        *self.pending.entry(user_data).or_insert(0) += 1;
        for m in mems.as_slice() {
            // Most requests reuse the region of the one before (one buffer pool): the
            // address compare spares them the hash lookup.
            if m.addr() != self.last_anchor {
                self.keep_alive(m);
            }
        }
    }

    /// Keeps `mem` alive until this ring is gone (memory the kernel may use without an
    /// SQE naming it, such as provided buffers).
    pub(crate) fn keep_alive(&mut self, mem: &Arc<Mem>) {
        self.anchors
            .entry(mem.addr())
            .or_insert_with(|| mem.clone());
        self.last_anchor = mem.addr();
    }

    /// Publishes our tail; returns the number of SQEs the kernel has not consumed yet.
    #[inline]
    fn flush_sq(&mut self) -> u32 {
        // SAFETY: ktail points into the SQ mapping owned by self.
        unsafe { &*self.sq.ktail }.store(self.sq.tail, Ordering::Release);
        self.sq
            .tail
            .wrapping_sub(self.sq_khead().load(Ordering::Acquire))
    }

    #[inline]
    fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        mut flags: EnterFlags,
        arg: Option<&io_uring_getevents_arg>,
    ) -> Result<i32, Errno> {
        // Precomputed by set_registered_index: no branch on the registration here.
        let fd = self.enter_fd;
        flags |= self.enter_flags;
        let (p, sz) = match arg {
            Some(a) => {
                flags |= EnterFlags::EXT_ARG;
                (
                    a as *const io_uring_getevents_arg as *const libc::c_void,
                    std::mem::size_of::<io_uring_getevents_arg>(),
                )
            }
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `arg` is NULL or a live io_uring_getevents_arg whose `ts` points to a live
        // timespec (see wait_with); every SQE being submitted references only memory in
        // `self.anchors` or foreign addresses, kept alive until teardown.
        unsafe { sys::io_uring_enter(fd, to_submit, min_complete, flags, p, sz) }
    }

    /// Submits every pushed SQE; returns how many the kernel consumed.
    #[inline]
    pub fn submit(&mut self) -> Result<u32, Errno> {
        let n = self.flush_sq();
        if self.sqpoll {
            if SqRingFlags(self.sq_flags_raw()).contains(SqRingFlags::NEED_WAKEUP) {
                self.enter(n, 0, EnterFlags::SQ_WAKEUP, None)?;
            }
            return Ok(n);
        }
        if n == 0 {
            return Ok(0);
        }
        self.enter(n, 0, EnterFlags::NONE, None).map(|r| r as u32)
    }

    /// Submits and waits (without a time limit) until at least `want` CQEs are ready.
    /// Prefer [`Ring::submit_and_wait_timeout`] wherever the kernel might never answer.
    #[inline]
    pub fn submit_and_wait(&mut self, want: u32) -> Result<u32, Errno> {
        let n = self.flush_sq();
        let flags = if self.sqpoll {
            EnterFlags::GETEVENTS | EnterFlags::SQ_WAKEUP
        } else {
            EnterFlags::GETEVENTS
        };
        loop {
            match self.enter(n, want, flags, None) {
                Err(Errno::EINTR) => continue,
                r => return r.map(|r| r as u32),
            }
        }
    }

    /// Submits and waits until `want` CQEs are ready or `timeout` passes.
    pub fn submit_and_wait_timeout(
        &mut self,
        want: u32,
        timeout: Duration,
    ) -> Result<u32, WaitError> {
        let n = self.flush_sq();
        self.wait_with(n, want, timeout)
    }

    /// Waits until `want` CQEs are ready (submitting nothing) or `timeout` passes.
    pub fn wait_timeout(&mut self, want: u32, timeout: Duration) -> Result<(), WaitError> {
        self.wait_with(0, want, timeout).map(|_| ())
    }

    fn wait_with(
        &mut self,
        mut to_submit: u32,
        want: u32,
        timeout: Duration,
    ) -> Result<u32, WaitError> {
        let deadline = Instant::now() + timeout;
        let mut submitted = 0;
        let ext = self.params.features.contains(FeatureFlags::EXT_ARG);
        loop {
            if to_submit == 0 && self.cq_ready() >= want && !self.needs_taskrun() {
                return Ok(submitted);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let res = if ext {
                let ts = kernel_timespec {
                    tv_sec: left.as_secs() as i64,
                    tv_nsec: left.subsec_nanos() as i64,
                };
                let arg = io_uring_getevents_arg {
                    ts: &ts as *const kernel_timespec as u64,
                    ..Default::default()
                };
                self.enter(to_submit, want, EnterFlags::GETEVENTS, Some(&arg))
            } else {
                // No EXT_ARG (before 5.11): submit, flush task work, and poll the CQ.
                let r = self.enter(to_submit, 0, EnterFlags::GETEVENTS, None);
                if r.is_ok() && self.cq_ready() < want {
                    std::thread::sleep(Duration::from_millis(1).min(left));
                }
                r
            };
            match res {
                Ok(n) => {
                    submitted += n as u32;
                    to_submit = to_submit.saturating_sub(n as u32);
                }
                Err(Errno::ETIME) | Err(Errno::EINTR) | Err(Errno::EAGAIN) | Err(Errno::EBUSY) => {}
                Err(e) => return Err(WaitError::Errno(e)),
            }
            if self.cq_ready() >= want && to_submit == 0 {
                return Ok(submitted);
            }
            if Instant::now() >= deadline {
                return Err(WaitError::Timeout);
            }
        }
    }

    fn needs_taskrun(&self) -> bool {
        SqRingFlags(self.sq_flags_raw()).contains(SqRingFlags::TASKRUN)
    }

    /// CQEs ready to be reaped.
    pub fn cq_ready(&self) -> u32 {
        self.cq_ktail()
            .load(Ordering::Acquire)
            .wrapping_sub(self.cq_khead().load(Ordering::Relaxed))
    }

    fn sq_flags_raw(&self) -> u32 {
        // SAFETY: kflags points into the SQ mapping owned by self.
        unsafe { &*self.sq.kflags }.load(Ordering::Acquire)
    }

    /// The SQ ring's flags word (`IORING_SQ_CQ_OVERFLOW` says CQEs wait in the overflow list).
    pub fn sq_flags(&self) -> SqRingFlags {
        SqRingFlags(self.sq_flags_raw())
    }

    /// The CQ ring's `overflow` counter: CQEs the kernel had to drop.
    pub fn cq_overflow_dropped(&self) -> u32 {
        // SAFETY: koverflow points into the CQ mapping owned by self.
        unsafe { &*self.cq.koverflow }.load(Ordering::Acquire)
    }

    /// The SQ ring's `dropped` counter: invalid SQ indices the kernel skipped.
    pub fn sq_dropped(&self) -> u32 {
        // SAFETY: kdropped points into the SQ mapping owned by self.
        unsafe { &*self.sq.kdropped }.load(Ordering::Acquire)
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
    fn complete(&mut self, user_data: u64, flags: CqeFlags) {
        if self.pending.is_empty() || flags.contains(CqeFlags::MORE) {
            return;
        }
        if let Some(n) = self.pending.get_mut(&user_data) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&user_data);
            }
        }
    }

    /// Requests that reference memory and whose completion has not been reaped yet.
    pub fn in_flight_with_memory(&self) -> usize {
        self.pending.values().map(|n| *n as usize).sum()
    }

    /// The ring fd.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Enables a ring created with `IORING_SETUP_R_DISABLED` (IORING_REGISTER_ENABLE_RINGS).
    pub fn enable(&self) -> Result<(), Errno> {
        // SAFETY: ENABLE_RINGS takes no argument.
        unsafe { sys::io_uring_register(self.fd(), RegisterOp::ENABLE_RINGS, std::ptr::null(), 0) }
            .map(|_| ())
    }

    pub(crate) fn set_registered_index(&mut self, idx: Option<u32>) {
        self.registered_index = idx;
        (self.enter_fd, self.enter_flags) = match idx {
            Some(i) => (i as RawFd, EnterFlags::REGISTERED_RING),
            None => (self.fd.as_raw_fd(), EnterFlags::NONE),
        };
    }

    /// The index of this ring in the task's registered ring fds, if it registered itself.
    pub fn registered_index(&self) -> Option<u32> {
        self.registered_index
    }

    /// Cancels requests that still use memory and waits (bounded) for their completions.
    /// Returns true when none is left.
    fn quiesce(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let targets: Vec<(u64, u32)> = self.pending.iter().map(|(k, v)| (*k, *v)).collect();
        for (ud, count) in targets {
            for _ in 0..count {
                let sqe = op::cancel(ud, CancelFlags::NONE).user_data(TEARDOWN_CANCEL);
                if self.push(sqe).is_err() {
                    let _ = self.submit();
                    let _ = self.push(op::cancel(ud, CancelFlags::NONE).user_data(TEARDOWN_CANCEL));
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

    /// Borrows the fd.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Ring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Buffer rings unmap their kernel-allocated memory and hand their buffers to
        // `anchors` first, so the decision below covers them too.
        let rings = std::mem::take(&mut self.buf_rings);
        for (_, br) in rings {
            for m in br.into_anchors() {
                self.anchors.entry(m.addr()).or_insert(m);
            }
        }
        if !self.pending.is_empty() && !self.quiesce(Duration::from_secs(2)) {
            // The kernel may still write into these regions: never free them.
            let n = self.anchors.len();
            for (_, m) in self.anchors.drain() {
                std::mem::forget(m);
            }
            LEAKED_REGIONS.fetch_add(n, Ordering::Relaxed);
        }
        // What is left in `anchors` (declared after `fd`) is dropped once the ring is closed.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Ring {
        Ring::new(8).expect("io_uring_setup")
    }

    #[test]
    fn nop_round_trip() {
        let mut r = ring();
        r.push(op::nop().user_data(0xdead_beef)).unwrap();
        assert_eq!(
            r.submit_and_wait_timeout(1, Duration::from_secs(5))
                .unwrap(),
            1
        );
        let c = r.next_cqe().unwrap();
        assert_eq!(
            (c.user_data, c.res, c.flags),
            (0xdead_beef, 0, CqeFlags::NONE)
        );
        assert!(r.next_cqe().is_none());
    }

    #[test]
    fn batch_of_128() {
        let mut r = Ring::new(128).unwrap();
        for i in 0..128 {
            r.push(op::nop().user_data(i)).unwrap();
        }
        assert_eq!(r.push(op::nop()), Err(SqFull));
        assert_eq!(
            r.submit_and_wait_timeout(128, Duration::from_secs(5))
                .unwrap(),
            128
        );
        let mut seen: Vec<u64> = r.drain().iter().map(|c| c.user_data).collect();
        seen.sort();
        assert_eq!(seen, (0..128).collect::<Vec<_>>());
        assert_eq!(r.sq_space(), 128);
    }

    #[test]
    fn sq_batch_pushes_until_full_and_hands_the_tail_back() {
        let mut r = ring();
        {
            let mut sq = r.sq_batch();
            for i in 0..8 {
                sq.push(op::nop().user_data(100 + i)).unwrap();
            }
            assert_eq!(sq.space(), 0);
            assert_eq!(sq.push(op::nop()), Err(SqFull));
        }
        // The batch's tail is the ring's now: a plain push sees the queue full too.
        assert_eq!(r.push(op::nop()), Err(SqFull));
        assert_eq!(
            r.submit_and_wait_timeout(8, Duration::from_secs(5))
                .unwrap(),
            8
        );
        let mut seen: Vec<u64> = r.drain().iter().map(|c| c.user_data).collect();
        seen.sort();
        assert_eq!(seen, (100..108).collect::<Vec<_>>());
        // The next batch starts where the last one ended.
        r.sq_batch().push(op::nop().user_data(9)).unwrap();
        r.submit_and_wait_timeout(1, Duration::from_secs(5))
            .unwrap();
        assert_eq!(r.next_cqe().map(|c| c.user_data), Some(9));
    }

    /// A request with memory pushed through a batch is tracked as one pushed on the ring:
    /// in flight until its CQE is reaped, its data where the kernel put it.
    #[test]
    fn sq_batch_tracks_requests_with_memory() {
        use std::io::Write;
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"batched read").unwrap();
        let mem = Mem::new(4096).unwrap();
        let mut r = ring();
        {
            let mut sq = r.sq_batch();
            sq.push(op::nop().user_data(1)).unwrap();
            sq.push(op::read(f.as_raw_fd(), mem.slice(0, 12), 12, 0).user_data(2))
                .unwrap();
            // The same region again: found by the last-anchor shortcut, counted again.
            sq.push(op::read(f.as_raw_fd(), mem.slice(16, 12), 12, 0).user_data(2))
                .unwrap();
        }
        assert_eq!(r.in_flight_with_memory(), 2);
        r.submit_and_wait_timeout(3, Duration::from_secs(5))
            .unwrap();
        let mut got: Vec<(u64, i32)> = r.drain().iter().map(|c| (c.user_data, c.res)).collect();
        got.sort();
        assert_eq!(got, vec![(1, 0), (2, 12), (2, 12)]);
        assert_eq!(r.in_flight_with_memory(), 0);
        assert_eq!(mem.read(0, 12), b"batched read");
        assert_eq!(mem.read(16, 12), b"batched read");
    }

    /// Page-aligned addresses (twelve zero low bits) and small user_data values land in
    /// different buckets: the low bits of the hash, which pick the bucket, differ.
    #[test]
    fn u64_hasher_spreads_aligned_keys() {
        let h = |k: u64| {
            let mut s = U64Hasher::default();
            s.write_u64(k);
            s.finish()
        };
        let low: std::collections::BTreeSet<u64> = (0..256u64)
            .map(|i| h(0x7f00_0000_0000 + (i << 12)) & 0xff)
            .collect();
        assert!(low.len() > 128, "{} distinct low bytes of 256", low.len());
        let low: std::collections::BTreeSet<u64> = (0..256u64).map(|i| h(i) & 0xff).collect();
        assert!(low.len() > 128, "{} distinct low bytes of 256", low.len());
    }

    #[test]
    fn cq_overflow_and_recovery() {
        // 4 SQ entries, 8 CQ entries: 12 NOPs overflow the CQ; with NODROP nothing is lost.
        let mut r = Ring::builder(4).cq_entries(8).build().unwrap();
        assert_eq!(r.cq_entries(), 8);
        for round in 0..3u64 {
            for i in 0..4 {
                r.push(op::nop().user_data(round * 4 + i)).unwrap();
            }
            r.submit().unwrap();
        }
        assert_eq!(r.cq_ready(), 8);
        let nodrop = r.features().contains(FeatureFlags::NODROP);
        if nodrop {
            assert!(
                r.sq_flags().contains(SqRingFlags::CQ_OVERFLOW),
                "flags {:?}",
                r.sq_flags()
            );
        }
        let mut seen: Vec<u64> = r.drain().iter().map(|c| c.user_data).collect();
        r.flush_overflow().unwrap();
        seen.extend(r.drain().iter().map(|c| c.user_data));
        if nodrop {
            seen.sort();
            assert_eq!(seen, (0..12).collect::<Vec<_>>());
            assert!(!r.sq_flags().contains(SqRingFlags::CQ_OVERFLOW));
            assert_eq!(r.cq_overflow_dropped(), 0);
        } else {
            assert_eq!(r.cq_overflow_dropped(), 4);
        }
    }

    #[test]
    fn wait_times_out_and_the_ring_still_works() {
        let mut r = ring();
        let t = Instant::now();
        assert_eq!(
            r.wait_timeout(1, Duration::from_millis(50)),
            Err(WaitError::Timeout)
        );
        assert!(t.elapsed() >= Duration::from_millis(45));
        r.push(op::nop().user_data(1)).unwrap();
        r.submit_and_wait_timeout(1, Duration::from_secs(5))
            .unwrap();
        assert_eq!(r.next_cqe().unwrap().user_data, 1);
    }

    #[test]
    fn setup_flag_variants() {
        let variants = [
            SetupFlags::SINGLE_ISSUER,
            SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
            SetupFlags::COOP_TASKRUN,
            SetupFlags::NO_SQARRAY,
            SetupFlags::CQE32,
            SetupFlags::SQE128,
        ];
        for f in variants {
            let mut r = match Ring::builder(4).flags(f).build() {
                Ok(r) => r,
                Err(Error::Kernel(Errno::EINVAL)) => continue, // flag unknown to this kernel
                Err(e) => panic!("{f:?}: {e}"),
            };
            r.push(op::nop().user_data(7)).unwrap();
            r.submit_and_wait_timeout(1, Duration::from_secs(5))
                .unwrap();
            let c = r.next_cqe().unwrap();
            assert_eq!((c.user_data, c.res), (7, 0), "{f:?}");
        }
    }

    /// NO_MMAP is refused by the crate, not answered with an errno the kernel never gave.
    /// (Whether a ring fd was opened cannot be counted here: other tests open fds in
    /// parallel; the refusal comes before io_uring_setup in `build`.)
    #[test]
    fn no_mmap_is_the_crates_refusal() {
        let r = Ring::builder(4).flags(SetupFlags::NO_MMAP).build();
        assert!(
            matches!(r, Err(Error::Unsupported(_))),
            "{:?}",
            r.as_ref().err()
        );
        assert_eq!(r.err().and_then(Error::kernel), None);
    }

    #[test]
    fn disabled_ring_rejects_submission_until_enabled() {
        let mut r = Ring::builder(4)
            .flags(SetupFlags::R_DISABLED)
            .build()
            .unwrap();
        r.push(op::nop().user_data(3)).unwrap();
        assert_eq!(r.submit(), Err(Errno::EBADFD));
        r.enable().unwrap();
        r.submit_and_wait_timeout(1, Duration::from_secs(5))
            .unwrap();
        assert_eq!(r.next_cqe().unwrap().user_data, 3);
    }
}
