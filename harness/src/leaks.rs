//! What a case leaves behind, and what the whole run leaves behind.
//!
//! Cases run in parallel, so process-wide counts cannot say which case leaked. Two things
//! make the per-case check exact anyway:
//! - fds: each case thread first gives itself a private fd table (`unshare(CLONE_FILES)`),
//!   so only the fds this case opens (or the kernel installs for it) ever appear in it;
//! - mappings: the ring crate records every mapping it makes with the thread that made it
//!   ([`uring::census::live_mappings`]), so the case's own are known whatever else runs.

use std::collections::BTreeMap;
use std::thread::ThreadId;

/// The open fds of a table, each with what it points to (`readlink` of its /proc entry).
fn fd_table(dir: &str) -> BTreeMap<i32, String> {
    // Collect first: the directory handle is itself an fd of the table while it is read.
    let names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return BTreeMap::new(),
    };
    names
        .iter()
        .filter_map(|n| {
            let fd: i32 = n.parse().ok()?;
            let target = std::fs::read_link(format!("{dir}/{fd}")).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect()
}

/// Where an address is mapped, as /proc/self/maps names it (empty for anonymous memory).
fn mapping_name(addr: usize) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .find_map(|l| {
            let (range, rest) = l.split_once(' ')?;
            let (a, b) = range.split_once('-')?;
            let (a, b) = (
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            );
            (a <= addr && addr < b).then(|| rest.split_whitespace().nth(4).unwrap_or("").into())
        })
        .unwrap_or_default()
}

/// Describes ring-crate mappings for a leak message.
fn describe_mappings(maps: &[uring::census::LiveMapping]) -> Vec<String> {
    maps.iter()
        .map(|m| {
            let name = mapping_name(m.addr);
            let name = if name.is_empty() { "anonymous" } else { &name };
            format!("mapping {:#x}, {} bytes ({name})", m.addr, m.len)
        })
        .collect()
}

/// The scope of one case on its own thread.
pub struct CaseScope {
    thread: ThreadId,
    /// The case's fd table before it ran; `None` if the thread could not get a private
    /// table (then fds are not checked per case, only for the whole run).
    fds_before: Option<BTreeMap<i32, String>>,
}

impl CaseScope {
    /// Starts the scope on the calling thread, which must be the case's fresh thread and own
    /// no fd yet: it gets a private fd table, from which the copies of the process's fds
    /// above 2 are closed (they belong to the harness and to no case).
    pub fn enter() -> CaseScope {
        let fds_before = private_fd_table().then(|| fd_table("/proc/thread-self/fd"));
        CaseScope {
            thread: std::thread::current().id(),
            fds_before,
        }
    }

    /// What the case left: fds it opened and did not close, mappings the ring crate made
    /// on this thread and did not unmap. Empty when it left nothing.
    pub fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(before) = &self.fds_before {
            for (fd, target) in fd_table("/proc/thread-self/fd") {
                if before.get(&fd) != Some(&target) {
                    out.push(format!("fd {fd} -> {target}"));
                }
            }
        }
        let mine: Vec<_> = uring::census::live_mappings()
            .into_iter()
            .filter(|m| m.thread == self.thread)
            .collect();
        out.extend(describe_mappings(&mine));
        out
    }
}

/// Gives this thread its own copy of the fd table and closes the copied fds above 2.
fn private_fd_table() -> bool {
    if nix::sched::unshare(nix::sched::CloneFlags::CLONE_FILES).is_err() {
        return false;
    }
    for fd in fd_table("/proc/thread-self/fd")
        .into_keys()
        .filter(|&fd| fd > 2)
    {
        close_copy(fd);
    }
    true
}

/// Closes `fd` in this thread's private fd table.
#[allow(unsafe_code)]
fn close_copy(fd: i32) {
    // SAFETY: after private_fd_table's unshare this table is this thread's alone; the thread
    // has just started and owns none of the copied fds; their owners live on other threads
    // and use the process's table, which this close does not touch.
    unsafe { libc::close(fd) };
}

/// The process's open fds and the mappings that belong to io_uring work, at one moment.
///
/// Not every mapping of the process: glibc keeps the stacks of exited threads and the
/// malloc arenas of every thread that ever ran a case, so the plain count grows with
/// the number of threads, not with leaks. Every mapping the suite's own code makes goes
/// through the ring crate, whose record is exact; io_uring and memfd mappings are also
/// counted from /proc/self/maps, whoever made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Open fds of the process's (main) table and their targets.
    pub fds: BTreeMap<i32, String>,
    /// Ring-crate mappings still mapped (rings, memory regions, buffer rings).
    pub ring_mappings: Vec<uring::census::LiveMapping>,
    /// Lines of /proc/self/maps that map an io_uring fd or a memfd.
    pub uring_maps_lines: usize,
}

impl Census {
    /// Counts now.
    pub fn take() -> Census {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        Census {
            fds: fd_table("/proc/self/fd"),
            ring_mappings: uring::census::live_mappings(),
            uring_maps_lines: maps
                .lines()
                .filter(|l| l.contains("io_uring") || l.contains("/memfd:"))
                .count(),
        }
    }

    /// One line for the end of a run: equal counts, or what differs.
    pub fn compare(&self, after: &Census) -> Result<String, String> {
        let mut diffs = Vec::new();
        for (fd, target) in &after.fds {
            if self.fds.get(fd) != Some(target) {
                diffs.push(format!("fd {fd} -> {target} opened and not closed"));
            }
        }
        for (fd, target) in &self.fds {
            if !after.fds.contains_key(fd) {
                diffs.push(format!("fd {fd} -> {target} closed by the run"));
            }
        }
        let new: Vec<_> = after
            .ring_mappings
            .iter()
            .filter(|m| !self.ring_mappings.contains(m))
            .cloned()
            .collect();
        diffs.extend(describe_mappings(&new));
        if after.uring_maps_lines != self.uring_maps_lines {
            diffs.push(format!(
                "io_uring/memfd mappings: {} before, {} after",
                self.uring_maps_lines, after.uring_maps_lines
            ));
        }
        if diffs.is_empty() {
            Ok(format!(
                "leak check: {} fds and {} io_uring/memfd mappings before and after the run; no ring memory left mapped",
                self.fds.len(),
                self.uring_maps_lines
            ))
        } else {
            Err(format!(
                "leak check: the run left something behind: {}",
                diffs.join("; ")
            ))
        }
    }
}
