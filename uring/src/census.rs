//! The crate's own bookkeeping of what it left behind, for a test harness: the mappings it
//! made and has not unmapped ([`live_mappings`]), and the regions rings leaked on purpose
//! ([`leaked_regions`]).
//!
//! Nothing in the ring depends on it: an io_uring program never needs it. A conformance
//! harness does, to tell whether one case left mappings (a ring not dropped, a region the
//! kernel still held at teardown) while other cases run on other threads. Recording costs
//! a mutex per mmap/munmap, never anything on the submission or completion path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;

/// A mapping this crate made and has not unmapped: see [`live_mappings`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveMapping {
    /// Start address.
    pub addr: usize,
    /// Length in bytes.
    pub len: usize,
    /// The thread that made it.
    pub thread: ThreadId,
}

/// Every mapping made through `Mapping` and not yet unmapped, by start address.
static LIVE: Mutex<BTreeMap<usize, LiveMapping>> = Mutex::new(BTreeMap::new());
/// The process the record belongs to: the first that used it.
static LIVE_OWNER: AtomicU32 = AtomicU32::new(0);

/// The record, or `None` in a fork()ed child: the child may have inherited the lock held
/// by a thread that does not exist in it, and would wait forever; the record is the
/// parent's anyway.
fn live() -> Option<std::sync::MutexGuard<'static, BTreeMap<usize, LiveMapping>>> {
    let me = std::process::id();
    // Claim ownership before the first lock, so a child forked at any later point sees
    // that the record is not its own.
    let owner = match LIVE_OWNER.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => me,
        Err(owner) => owner,
    };
    (owner == me).then(|| LIVE.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The mappings this crate made (rings, [`Mem`](crate::Mem) regions, buffer rings) that are still
/// mapped, including any a ring leaked on purpose because the kernel might still write to
/// them. With the making thread recorded, a harness can tell what one piece of work left
/// behind while other work runs on other threads.
pub fn live_mappings() -> Vec<LiveMapping> {
    live().map_or_else(Vec::new, |l| l.values().cloned().collect())
}

/// Records a fresh mapping made by the calling thread.
pub(crate) fn mapped(addr: usize, len: usize) {
    if let Some(mut l) = live() {
        l.insert(
            addr,
            LiveMapping {
                addr,
                len,
                thread: std::thread::current().id(),
            },
        );
    }
}

/// Records the unmapping of the mapping at `addr`.
pub(crate) fn unmapped(addr: usize) {
    if let Some(mut l) = live() {
        l.remove(&addr);
    }
}

/// How many `Mem` regions rings have leaked on purpose, because the kernel still had
/// requests using them when the ring was dropped and they did not finish in time.
static LEAKED_REGIONS: AtomicUsize = AtomicUsize::new(0);

/// How many regions rings of this process have leaked on purpose so far (see the ring's
/// teardown: a region the kernel may still write is never freed).
pub fn leaked_regions() -> usize {
    LEAKED_REGIONS.load(Ordering::Relaxed)
}

/// Counts `n` more regions leaked on purpose.
pub(crate) fn leaked(n: usize) {
    LEAKED_REGIONS.fetch_add(n, Ordering::Relaxed);
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use crate::Mem;

    /// A child forked while another thread holds the mapping record's lock can still map
    /// memory (it leaves the parent's record alone instead of waiting on the lock forever).
    #[test]
    fn a_forked_child_maps_memory_while_the_record_is_locked() {
        drop(Mem::new(4096).unwrap()); // the record now belongs to this process
        let held = LIVE.lock().unwrap();
        // SAFETY: the child only maps and unmaps memory, then leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let ok = Mem::new(4096).is_ok() && live_mappings().is_empty();
            // SAFETY: ends the child without running the parent's cleanup.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut status = 0;
        let done = loop {
            // SAFETY: reaps the child forked above.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid || std::time::Instant::now() > deadline {
                break r == pid;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        drop(held);
        if !done {
            // SAFETY: kills and reaps the stuck child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
        }
        assert!(done, "the child hung on the record's lock");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
