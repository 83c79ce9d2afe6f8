//! Running out of a resource of the machine (locked memory, fds, disk space, file size,
//! tasks, a usable temp directory) in a setup step: the environment's limit, not a wrong
//! kernel answer, so the row skips and names the resource. Every such skip reason is built
//! here, in one place: `resource: <step>: <errno> (<what limit or place>)`.
//!
//! An errno that is the row's answer under test never comes through here: only setup
//! steps ([`crate::Setup`]) and the harness's own spawns do.

use crate::answer::CaseError;
use nix::sys::resource::{getrlimit, Resource as Rlimit, RLIM_INFINITY};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::{Builder, JoinHandle, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};
use uring::Errno;
use uring_report::SkipCause;

pub use uring_report::Resource;

/// The report crate's [`Resource`] as the harness uses it: which errno of a setup step names
/// one, its limit with the value here, and the skip of a step that ran out of it.
pub trait ResourceLimit: Sized {
    /// The resource an errno of a setup step says ran out, where it names one. EAGAIN and
    /// the temp directory's errors name a resource only for the steps that can give them
    /// that way (spawns, [`temp_file`]), so they are not here.
    fn of_setup_errno(e: Errno) -> Option<Self>;
    /// The limit or place, with its value here: what the skip reason names.
    fn describe(self) -> String;
    /// The skip of a setup step `step` that ran out of this resource with `e`.
    fn skip(self, step: &str, e: Errno) -> CaseError;
}

impl ResourceLimit for Resource {
    fn of_setup_errno(e: Errno) -> Option<Resource> {
        match e {
            Errno::ENOMEM => Some(Resource::LockedMemory),
            Errno::EMFILE => Some(Resource::OpenFiles),
            Errno::ENFILE => Some(Resource::SystemFiles),
            Errno::ENOSPC => Some(Resource::TempSpace),
            Errno::EDQUOT => Some(Resource::TempQuota),
            Errno::EFBIG => Some(Resource::FileSize),
            _ => None,
        }
    }

    fn describe(self) -> String {
        match self {
            Resource::LockedMemory => format!(
                "RLIMIT_MEMLOCK {}",
                rlimit(Rlimit::RLIMIT_MEMLOCK, " bytes")
            ),
            Resource::OpenFiles => format!("RLIMIT_NOFILE {}", rlimit(Rlimit::RLIMIT_NOFILE, "")),
            Resource::SystemFiles => format!("fs.file-max {}", sysctl("fs/file-max")),
            Resource::TempSpace => format!("no space on the filesystem of TMPDIR {}", temp_dir()),
            Resource::TempQuota => format!("disk quota on the filesystem of TMPDIR {}", temp_dir()),
            Resource::FileSize => {
                format!("RLIMIT_FSIZE {}", rlimit(Rlimit::RLIMIT_FSIZE, " bytes"))
            }
            Resource::Tasks => format!(
                "RLIMIT_NPROC {}; {}",
                rlimit(Rlimit::RLIMIT_NPROC, ""),
                pids_cgroup()
            ),
            Resource::TempDir => {
                format!("TMPDIR {} (set TMPDIR to a writable directory)", temp_dir())
            }
            Resource::HugePages => format!(
                "/sys/kernel/mm/transparent_hugepage/enabled: {}",
                read_trimmed("/sys/kernel/mm/transparent_hugepage/enabled")
            ),
        }
    }

    fn skip(self, step: &str, e: Errno) -> CaseError {
        skip(resource_cause(self, step, Some(e), self.describe()))
    }
}

/// A skip for `cause`: every skip the harness makes is built through here or
/// [`resource_cause`].
pub fn skip(cause: SkipCause) -> CaseError {
    CaseError::Skip(cause)
}

/// The cause of a step that ran out of `resource` (with `errno`, where it answered one),
/// naming `limit`.
pub fn resource_cause(
    resource: Resource,
    step: &str,
    errno: Option<Errno>,
    limit: String,
) -> SkipCause {
    SkipCause::Resource {
        resource,
        step: step.into(),
        errno: errno.map(report_errno),
        limit,
    }
}

/// An errno as the report carries it: number and name.
pub fn report_errno(e: Errno) -> uring_report::Errno {
    uring_report::Errno {
        number: e.0,
        name: e.to_string(),
    }
}

/// The skip for a setup step's errno that names a resource, else `None`.
pub fn setup_skip(step: &str, e: Errno) -> Option<CaseError> {
    Resource::of_setup_errno(e).map(|r| r.skip(step, e))
}

/// The errno of an I/O error, where it has one.
pub fn io_errno(e: &std::io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno)
}

/// The skip of a feature whose probe ran out of a resource: it proved nothing. `how` is
/// the probe's record and anything the caller adds.
pub fn undetermined_skip(what: &str, u: &crate::detection::Undetermined, how: String) -> SkipCause {
    SkipCause::Undetermined {
        feature: what.into(),
        resource: u.resource,
        errno: report_errno(u.errno),
        probe: how,
    }
}

/// A soft rlimit as text ("unlimited", or the number with `unit`).
fn rlimit(r: Rlimit, unit: &str) -> String {
    match getrlimit(r) {
        Ok((RLIM_INFINITY, _)) => "unlimited".into(),
        Ok((soft, _)) => format!("{soft}{unit}"),
        Err(e) => format!("unknown ({e})"),
    }
}

/// The soft RLIMIT_FSIZE in bytes, `None` when unlimited or unreadable.
pub fn file_size_limit() -> Option<u64> {
    match getrlimit(Rlimit::RLIMIT_FSIZE) {
        Ok((RLIM_INFINITY, _)) | Err(_) => None,
        Ok((soft, _)) => Some(soft),
    }
}

fn sysctl(name: &str) -> String {
    read_trimmed(&format!("/proc/sys/{name}"))
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map_or_else(|e| format!("unknown ({e})"), |v| v.trim().to_string())
}

fn temp_dir() -> String {
    std::env::temp_dir().display().to_string()
}

/// The pids cgroup of this process and its pids.max (cgroup v1 `pids` hierarchy or v2).
fn pids_cgroup() -> String {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let dir = match ctrl {
            c if c.split(',').any(|c| c == "pids") => format!("/sys/fs/cgroup/pids{path}"),
            "" => format!("/sys/fs/cgroup{path}"),
            _ => continue,
        };
        if let Ok(max) = std::fs::read_to_string(format!("{dir}/pids.max")) {
            return format!("pids cgroup {path} pids.max {}", max.trim());
        }
    }
    "no pids cgroup limit found".into()
}

/// Makes a write past RLIMIT_FSIZE answer EFBIG instead of killing the process with
/// SIGXFSZ (generic_write_check_limits / inode_newsize_ok send it): the limit is then a
/// setup step's EFBIG, a skip naming it. Process-wide and inherited across execve (an
/// ignored signal stays ignored), so the unprivileged child gets it too.
pub fn ignore_sigxfsz() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[allow(unsafe_code)]
        // SAFETY: SIG_IGN installs no handler, so no code runs in signal context; nothing
        // in this process relies on SIGXFSZ's default action.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGXFSZ,
                nix::sys::signal::SigHandler::SigIgn,
            )
        };
    });
}

/// A temp file in TMPDIR, unlinked at once (O_TMPFILE where the filesystem allows), so
/// nothing is left behind on any path. A temp directory that is missing, read-only, not
/// writable or full is the machine's: a skip naming TMPDIR and the errno.
pub fn temp_file(step: &str) -> Result<std::fs::File, CaseError> {
    temp_file_in(&std::env::temp_dir(), step)
}

/// [`temp_file`] in `dir` (the tests' way to name a directory without changing TMPDIR).
pub fn temp_file_in(dir: &std::path::Path, step: &str) -> Result<std::fs::File, CaseError> {
    tempfile::tempfile_in(dir).map_err(|e| match io_errno(&e) {
        Some(errno) => Resource::of_setup_errno(errno)
            .unwrap_or(Resource::TempDir)
            .skip(step, errno),
        None => CaseError::Broken(format!("{step}: {e}")),
    })
}

/// How long a spawn that answered EAGAIN is retried while threads of this run may still
/// finish and free a task.
const SPAWN_PATIENCE: Duration = Duration::from_secs(2);
/// The same once a spawn ran out of patience and none succeeded since: a limit nothing
/// frees (`ulimit -u 1`) costs each row this, not [`SPAWN_PATIENCE`].
const STARVED_PATIENCE: Duration = Duration::from_millis(50);
static STARVED: AtomicBool = AtomicBool::new(false);

/// Calls `attempt` until it does not answer EAGAIN (the task limit: RLIMIT_NPROC or the
/// pids cgroup, copy_process), waiting between tries for a bounded time while threads of
/// this run may end; its other answers are returned as they are. Still EAGAIN at the end:
/// a skip of `step` naming the limit.
pub fn retry_task_limit<T>(
    step: &str,
    mut attempt: impl FnMut() -> Result<T, Errno>,
) -> Result<Result<T, Errno>, CaseError> {
    let patience = if STARVED.load(Ordering::Relaxed) {
        STARVED_PATIENCE
    } else {
        SPAWN_PATIENCE
    };
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt() {
            Err(Errno::EAGAIN) if Instant::now() >= deadline => {
                STARVED.store(true, Ordering::Relaxed);
                return Err(Resource::Tasks.skip(step, Errno::EAGAIN));
            }
            Err(Errno::EAGAIN) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            answer => {
                STARVED.store(false, Ordering::Relaxed);
                return Ok(answer);
            }
        }
    }
}

/// A spawn of `what` through [`retry_task_limit`]; an error other than EAGAIN is broken.
fn retry_spawn<H>(
    what: &str,
    mut attempt: impl FnMut() -> std::io::Result<H>,
) -> Result<H, CaseError> {
    let mut other = None;
    let step = format!("spawn {what}");
    let answer = retry_task_limit(&step, || {
        attempt().map_err(|e| match io_errno(&e) {
            Some(Errno::EAGAIN) => Errno::EAGAIN,
            _ => {
                other = Some(e);
                Errno(0)
            }
        })
    })?;
    answer.map_err(|_| {
        let e = other.take().map_or_else(String::new, |e| e.to_string());
        CaseError::Broken(format!("{step}: {e}"))
    })
}

/// The closure of a spawn that may be tried again: a failed spawn drops the closure it
/// was given, so each try gets one that takes `f` from here.
fn retryable<F>(f: F) -> Arc<Mutex<Option<F>>> {
    Arc::new(Mutex::new(Some(f)))
}

fn take<F>(slot: &Mutex<Option<F>>) -> F {
    slot.lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .expect("a spawned thread runs its closure once")
}

/// Spawns a thread named `name` running `f`, retrying while the task limit is reached
/// ([`retry_spawn`]).
pub fn spawn_thread<T, F>(name: &str, f: F) -> Result<JoinHandle<T>, CaseError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = retryable(f);
    retry_spawn(&format!("the thread {name:?}"), || {
        let slot = slot.clone();
        Builder::new()
            .name(name.into())
            .spawn(move || take(&slot)())
    })
}

/// Like [`spawn_thread`], in a scope (the thread may borrow from the caller).
pub fn spawn_scoped<'scope, T, F>(
    scope: &'scope Scope<'scope, '_>,
    name: &str,
    f: F,
) -> Result<ScopedJoinHandle<'scope, T>, CaseError>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    let slot = retryable(f);
    retry_spawn(&format!("the thread {name:?}"), || {
        let slot = slot.clone();
        Builder::new()
            .name(name.into())
            .spawn_scoped(scope, move || take(&slot)())
    })
}

/// How many of `n` threads could be started at once here (stops at the first spawn that
/// fails); they wait until all were tried, then end. libtest-mimic starts its worker pool
/// with `thread::scope(..).spawn`, which panics when a spawn fails (RLIMIT_NPROC, a pids
/// cgroup): the run asks first and, short of room, runs its rows on the main thread.
pub fn threads_startable(n: usize) -> usize {
    let go = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let mut started = Vec::new();
    for _ in 0..n {
        let go = go.clone();
        let spawned = Builder::new().name("pool-check".into()).spawn(move || {
            let (lock, cv) = &*go;
            let mut ready = lock.lock().unwrap_or_else(|p| p.into_inner());
            while !*ready {
                ready = cv.wait(ready).unwrap_or_else(|p| p.into_inner());
            }
        });
        match spawned {
            Ok(h) => started.push(h),
            Err(_) => break,
        }
    }
    let (lock, cv) = &*go;
    *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
    cv.notify_all();
    let count = started.len();
    for h in started {
        let _ = h.join();
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_errnos_of_a_resource_skip_and_name_it() {
        let CaseError::Skip(cause) = setup_skip("write the test file", Errno::ENOSPC).unwrap()
        else {
            panic!("not a skip")
        };
        assert!(
            matches!(&cause, SkipCause::Resource { resource: Resource::TempSpace, errno: Some(e), .. } if e.number == Errno::ENOSPC.0),
            "{cause:?}"
        );
        let m = cause.to_string();
        assert!(
            m.starts_with(
                "resource: write the test file: ENOSPC (no space on the filesystem of TMPDIR "
            ),
            "{m}"
        );
        let CaseError::Skip(cause) = setup_skip("pipe", Errno::EMFILE).unwrap() else {
            panic!("not a skip")
        };
        let m = cause.to_string();
        assert!(
            m.starts_with("resource: pipe: EMFILE (RLIMIT_NOFILE "),
            "{m}"
        );
        for e in [Errno::ENFILE, Errno::EDQUOT, Errno::EFBIG, Errno::ENOMEM] {
            assert!(
                matches!(setup_skip("x", e), Some(CaseError::Skip(_))),
                "{e}"
            );
        }
        // Not a resource: the caller decides (broken, or the answer).
        for e in [
            Errno::EINVAL,
            Errno::EFAULT,
            Errno::EAGAIN,
            Errno::ENOENT,
            Errno::EACCES,
        ] {
            assert!(setup_skip("x", e).is_none(), "{e}");
        }
    }

    #[test]
    fn a_spawn_that_keeps_answering_eagain_skips_naming_the_task_limit() {
        let mut tries = 0;
        let r: Result<(), _> = retry_spawn("a test thread", || {
            tries += 1;
            Err(std::io::Error::from_raw_os_error(libc::EAGAIN))
        });
        let Err(CaseError::Skip(cause)) = r else {
            panic!("{r:?}")
        };
        let m = cause.to_string();
        assert!(
            m.starts_with("resource: spawn a test thread: EAGAIN (RLIMIT_NPROC "),
            "{m}"
        );
        assert!(tries > 1, "retried: {tries}");
        // A spawn that succeeds after EAGAIN is no skip, and clears the starved state.
        let mut left = 3;
        let r = retry_spawn("a test thread", || {
            left -= 1;
            if left > 0 {
                Err(std::io::Error::from_raw_os_error(libc::EAGAIN))
            } else {
                Ok(7)
            }
        });
        assert_eq!(r.unwrap(), 7);
        assert!(!STARVED.load(Ordering::Relaxed));
        // Another error is broken at once.
        let r: Result<(), _> =
            retry_spawn("x", || Err(std::io::Error::from_raw_os_error(libc::EINVAL)));
        assert!(matches!(r, Err(CaseError::Broken(_))), "{r:?}");
    }

    #[test]
    fn spawned_threads_run_their_closure_once() {
        let h = spawn_thread("test", || 41 + 1).unwrap();
        assert_eq!(h.join().unwrap(), 42);
        let local = 5;
        let got = std::thread::scope(|s| {
            spawn_scoped(s, "test", || local * 2)
                .unwrap()
                .join()
                .unwrap()
        });
        assert_eq!(got, 10);
    }

    /// Every thread asked for starts where nothing limits tasks, and all of them end.
    #[test]
    fn a_pool_of_threads_is_startable_here() {
        assert_eq!(threads_startable(4), 4);
    }
}
