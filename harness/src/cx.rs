//! The context a case's action runs in: fresh rings and memory, bounded waits, and the
//! helpers that turn a call and its answer into an [`Observation`].

use crate::answer::{Answer, CaseError, CaseResult, Observation};
use crate::probe::{Feature, FeatureSet};
use crate::resource;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uring::register::RegisterCall;
use uring::ring::WaitError;
use uring::trace::Call;
use uring::{Cqe, Errno, Mem, Ring, RingBuilder, Sqe};

/// The per-case context.
pub struct Cx {
    features: Arc<FeatureSet>,
    deadline: Instant,
    /// The io_uring call behind the last observation, where `uring::trace` records.
    observed: std::cell::Cell<Option<Call>>,
    /// The SQEs submitted through this context, as [`Sqe`]'s `Display` writes them, by
    /// user_data (newest last): what [`Cx::observe`] names a completion by.
    submitted: std::cell::RefCell<Vec<(u64, String)>>,
    /// The ABI of the rings [`Cx::ring`] makes.
    abi: uring::Abi,
    /// For a compat row: this thread's memory goes below 4 GiB while the row runs, so the
    /// row's buffers are addresses a compat ring can be given.
    _below_4g: Option<uring::compat::Below4G>,
}

/// Turns a setup step's error into [`CaseError::Broken`] naming the step, or, where the
/// errno says a resource of the machine ran out, a skip naming it ([`crate::resource`]).
pub trait Setup<T> {
    /// `Err(e)` becomes `Broken("<what>: <e>")`, or a skip whose cause is the resource
    /// ([`uring_report::SkipCause::Resource`]: `resource: <what>: <errno> (<limit>)`).
    fn setup(self, what: &str) -> Result<T, CaseError>;
}

impl<T> Setup<T> for Result<T, Errno> {
    fn setup(self, what: &str) -> Result<T, CaseError> {
        // Out of locked memory, fds, space or file size: the environment's limit, not a
        // wrong kernel answer; the call under test was not reached.
        self.map_err(|e| {
            resource::setup_skip(what, e)
                .unwrap_or_else(|| CaseError::Broken(format!("{what}: {e}")))
        })
    }
}

/// A refusal of the ring crate (no syscall made) is broken like any failed setup step; a
/// kernel errno is handled as above.
impl<T> Setup<T> for Result<T, uring::Error> {
    fn setup(self, what: &str) -> Result<T, CaseError> {
        self.or_else(|e| match e {
            uring::Error::Kernel(errno) => Err(errno).setup(what),
            library => Err(CaseError::Broken(format!("{what}: {library}"))),
        })
    }
}

/// An I/O error with an errno is handled as that errno; one without (a short write) is
/// broken.
impl<T> Setup<T> for std::io::Result<T> {
    fn setup(self, what: &str) -> Result<T, CaseError> {
        self.map_err(
            |e| match resource::io_errno(&e).and_then(|n| resource::setup_skip(what, n)) {
                Some(skip) => skip,
                None => CaseError::Broken(format!("{what}: {e}")),
            },
        )
    }
}

impl Cx {
    /// A context with this feature set and time limit, on the thread the row runs on,
    /// making rings of `abi`.
    pub fn new(features: Arc<FeatureSet>, limit: Duration, abi: uring::Abi) -> Cx {
        resource::ignore_sigxfsz();
        Cx {
            features,
            deadline: Instant::now() + limit,
            observed: std::cell::Cell::new(None),
            submitted: std::cell::RefCell::new(Vec::new()),
            abi,
            _below_4g: (abi == uring::Abi::Compat).then(uring::compat::below_4g),
        }
    }

    /// The ABI of the rings this context makes: what a row passes to the builders that
    /// lay out iovecs and msghdrs (`op::readv_fixed(cx.abi(), ..)`).
    pub fn abi(&self) -> uring::Abi {
        self.abi
    }

    /// The probed features.
    pub fn features(&self) -> &FeatureSet {
        &self.features
    }

    /// Whether the kernel has `f`.
    pub fn has(&self, f: Feature) -> bool {
        self.features.has(f)
    }

    /// Time left before the case times out.
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A fresh 8-entry ring with default flags (of this context's ABI).
    pub fn ring(&self) -> Result<Ring, CaseError> {
        self.build(Ring::builder(8), "io_uring_setup(8)".to_string())
    }

    /// A fresh ring from a builder, of this context's ABI.
    pub fn ring_with(&self, b: RingBuilder) -> Result<Ring, CaseError> {
        let desc = format!("io_uring_setup(flags={:?})", b.clone().params_mut().flags);
        self.build(b, desc)
    }

    /// Builds the ring through this context's ABI's entry (`int 0x80` for a compat ring),
    /// its setup step named `desc`.
    fn build(&self, b: RingBuilder, desc: String) -> Result<Ring, CaseError> {
        let desc = match self.abi {
            uring::Abi::Native => desc,
            uring::Abi::Compat => format!("{desc} through int 0x80"),
        };
        b.abi(self.abi).build().setup(&desc)
    }

    /// Fresh anonymous memory (page-rounded, zeroed).
    pub fn mem(&self, len: usize) -> Result<Arc<Mem>, CaseError> {
        Mem::new(len).setup("mmap for test memory")
    }

    /// A temporary file holding `data`, unlinked from the start ([`resource::temp_file`]).
    pub fn file_with(&self, data: &[u8]) -> Result<std::fs::File, CaseError> {
        let mut f = resource::temp_file("create the test file")?;
        f.write_all(data).setup("write the test file")?;
        Ok(f)
    }

    /// An empty temporary file that the call under test writes up to `room` bytes into:
    /// the space is reserved now (fallocate KEEP_SIZE, so the file stays empty) and
    /// RLIMIT_FSIZE checked, so that a full TMPDIR or a small file size limit is this
    /// setup step's skip, never the write's -ENOSPC, -EFBIG or short count
    /// (generic_write_check_limits truncates a write at the limit).
    pub fn file_for_writes(&self, room: u64) -> Result<std::fs::File, CaseError> {
        let f = resource::temp_file("create the file to write into")?;
        if resource::file_size_limit().is_some_and(|limit| limit < room) {
            use resource::ResourceLimit;
            return Err(resource::Resource::FileSize.skip(
                &format!("room for {room} bytes in the file to write into"),
                Errno::EFBIG,
            ));
        }
        use nix::fcntl::{fallocate, FallocateFlags};
        match fallocate(&f, FallocateFlags::FALLOC_FL_KEEP_SIZE, 0, room as i64) {
            // A filesystem without fallocate reserves nothing; the write may still fit.
            Ok(()) | Err(nix::errno::Errno::EOPNOTSUPP) => Ok(f),
            Err(e) => Err(Errno(e as i32))
                .setup(&format!("reserve {room} bytes for the file to write into")),
        }
    }

    /// Runs `f` on a helper thread (it may borrow from the row) and returns its result. A
    /// spawn the task limit refuses is retried for a while, then a skip naming the limit
    /// ([`resource::spawn_scoped`]); a panic of `f` is broken.
    pub fn on_thread<T: Send>(
        &self,
        what: &str,
        f: impl FnOnce() -> T + Send,
    ) -> Result<T, CaseError> {
        let compat = self.abi == uring::Abi::Compat;
        std::thread::scope(|s| {
            // A compat row's helper places its memory below 4 GiB too.
            let f = move || {
                let _below = compat.then(uring::compat::below_4g);
                f()
            };
            resource::spawn_scoped(s, what, f)?
                .join()
                .map_err(|_| CaseError::Broken(format!("{what}: the helper thread panicked")))
        })
    }

    /// The io_uring call behind the last observation (the last setup or register call
    /// before a synchronous answer; the SQE whose CQE it was), where `uring::trace` records
    /// (the suite's tests): how a test shows that no level is decided by a row's own call.
    pub fn observed_call(&self) -> Option<Call> {
        self.observed.get()
    }

    /// Observation of a synchronous call. An error the ring crate made itself
    /// ([`uring::Error::Unsupported`], [`uring::Error::Usage`]: the kernel was never asked)
    /// is no answer of the kernel: the case is broken.
    pub fn sync<T: Into<i64>, E: Into<uring::Error>>(
        &self,
        call: impl Into<String>,
        r: Result<T, E>,
    ) -> CaseResult {
        let call = call.into();
        let last = uring::trace::peek()
            .into_iter()
            .rev()
            .find(|c| !matches!(c, Call::Sqe { .. }));
        self.observed.set(last);
        let answer = match r.map_err(Into::into) {
            Ok(v) => Ok(v.into()),
            Err(uring::Error::Kernel(e)) => Err(e),
            Err(library) => {
                return Err(CaseError::Broken(format!(
                    "{call}: {library}; the kernel was never asked"
                )))
            }
        };
        Ok(Observation {
            call,
            answer: Answer::Sync(answer),
        })
    }

    /// Observation of a completion.
    pub fn cqe(&self, call: impl Into<String>, c: Cqe) -> CaseResult {
        let sqe = uring::trace::peek()
            .into_iter()
            .rev()
            .find(|x| matches!(x, Call::Sqe { user_data, .. } if *user_data == c.user_data));
        self.observed.set(sqe);
        Ok(Observation {
            call: call.into(),
            answer: Answer::Cqe {
                res: c.res,
                flags: c.flags,
            },
        })
    }

    /// Observation of the completion `c` of an SQE submitted through this context
    /// ([`Cx::submit_one`], [`Cx::submit_batch`]): the call is that SQE as written by its
    /// `Display`, then `context`, which says only what the setup was ("from an empty
    /// ring"), never the call again. Broken if no SQE with `c.user_data` was submitted.
    pub fn observe(&self, c: Cqe, context: &str) -> CaseResult {
        let sqe = self
            .submitted
            .borrow()
            .iter()
            .rev()
            .find(|(ud, _)| *ud == c.user_data)
            .map(|(_, d)| d.clone());
        let Some(sqe) = sqe else {
            return Err(CaseError::Broken(format!(
                "no SQE with user_data {:#x} was submitted through the context",
                c.user_data
            )));
        };
        self.cqe(with_context(sqe, context), c)
    }

    /// Makes the raw register call `call` and observes it; the description is the call's
    /// own `Display`.
    pub fn register(&self, call: RegisterCall<'_>) -> CaseResult {
        self.register_in(call, "")
    }

    /// Like [`Cx::register`], with `context` (what the setup was) after the call.
    pub fn register_in(&self, call: RegisterCall<'_>, context: &str) -> CaseResult {
        let r = call.invoke();
        self.sync(with_context(call.to_string(), context), r)
    }

    /// Pushes `sqe`, submits, and waits (bounded) for its CQE; other CQEs are dropped.
    pub fn submit_one(&self, ring: &mut Ring, sqe: Sqe) -> Result<Cqe, CaseError> {
        let ud = sqe.raw().user_data;
        let cqes = self.submit_batch(ring, vec![sqe], 1)?;
        cqes.into_iter()
            .find(|c| c.user_data == ud)
            .ok_or_else(|| CaseError::Fail(format!("no CQE with user_data {ud:#x}")))
    }

    /// Pushes `sqes`, submits, and waits (bounded) until `want` CQEs arrived; returns them all.
    pub fn submit_batch(
        &self,
        ring: &mut Ring,
        sqes: Vec<Sqe>,
        want: usize,
    ) -> Result<Vec<Cqe>, CaseError> {
        for s in sqes {
            self.submitted
                .borrow_mut()
                .push((s.raw().user_data, s.to_string()));
            ring.push(s).map_err(|e| CaseError::Broken(e.to_string()))?;
        }
        ring.submit().setup("io_uring_enter (submit)")?;
        self.wait(ring, want)
    }

    /// Waits (bounded by the case's time limit) until `want` CQEs arrived; returns them.
    pub fn wait(&self, ring: &mut Ring, want: usize) -> Result<Vec<Cqe>, CaseError> {
        let mut got = Vec::new();
        while got.len() < want {
            match ring.wait_timeout(1, self.time_left()) {
                Ok(()) => got.extend(ring.drain()),
                Err(WaitError::Timeout) => {
                    return Err(CaseError::Timeout(format!(
                        "waited for {want} completion(s), got {}",
                        got.len()
                    )));
                }
                Err(WaitError::Errno(e)) => {
                    return Err(CaseError::Broken(format!("io_uring_enter (wait): {e}")))
                }
            }
        }
        Ok(got)
    }

    /// Collects whatever completions arrive within `d` (for checking that none do).
    pub fn settle(&self, ring: &mut Ring, d: Duration) -> Vec<Cqe> {
        let _ = ring.wait_timeout(u32::MAX, d.min(self.time_left()));
        ring.drain()
    }

    /// An effect check: `Fail(what())` unless `cond`.
    pub fn check(&self, cond: bool, what: impl FnOnce() -> String) -> Result<(), CaseError> {
        if cond {
            Ok(())
        } else {
            Err(CaseError::Fail(what()))
        }
    }

    /// Checks a setup step whose answer is part of the row's effect (e.g. an update that
    /// fills the slot the row then reads through): `Ok(want)` passes; ENOMEM is the
    /// environment's memlock quota, a skip like any setup step's ([`Setup::setup`]); any
    /// other answer fails the row.
    pub fn check_step<T: PartialEq + std::fmt::Debug, E: Into<uring::Error>>(
        &self,
        what: &str,
        actual: Result<T, E>,
        want: T,
    ) -> Result<(), CaseError> {
        // A refusal of the ring crate (no syscall made) is no answer to compare: broken.
        let actual = match actual.map_err(Into::into) {
            Ok(v) => Ok(v),
            Err(uring::Error::Kernel(e)) => Err(e),
            Err(library) => return Err(CaseError::Broken(format!("{what}: {library}"))),
        };
        match actual {
            Err(Errno::ENOMEM) => Err(Errno::ENOMEM).setup(what),
            actual => self.check_eq(what, actual, Ok(want)),
        }
    }

    /// An effect check of equality, naming what differs.
    pub fn check_eq<T: PartialEq + std::fmt::Debug>(
        &self,
        what: &str,
        actual: T,
        expected: T,
    ) -> Result<(), CaseError> {
        self.check(actual == expected, || {
            format!("{what}: expected {expected:?}, got {actual:?}")
        })
    }
}

/// A call's description followed by what the setup was, if anything.
fn with_context(call: String, context: &str) -> String {
    if context.is_empty() {
        call
    } else {
        format!("{call} {context}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_text(r: Result<(), CaseError>) -> String {
        match r {
            Err(CaseError::Skip(cause)) => cause.to_string(),
            other => panic!("not a skip: {other:?}"),
        }
    }

    /// A setup step that ran out of a resource skips naming it, whichever error type
    /// carried the errno; any other errno is broken.
    #[test]
    fn a_resource_errno_of_a_setup_step_is_a_skip_naming_it() {
        let m = skip_text(Err::<(), _>(Errno::EMFILE).setup("pipe"));
        assert!(
            m.starts_with("resource: pipe: EMFILE (RLIMIT_NOFILE "),
            "{m}"
        );
        let m =
            skip_text(Err::<(), _>(uring::Error::Kernel(Errno::ENOMEM)).setup("io_uring_setup(8)"));
        assert!(
            m.starts_with("resource: io_uring_setup(8): ENOMEM (RLIMIT_MEMLOCK "),
            "{m}"
        );
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let m = skip_text(Err::<(), _>(io).setup("write the test file"));
        assert!(
            m.starts_with(
                "resource: write the test file: ENOSPC (no space on the filesystem of TMPDIR "
            ),
            "{m}"
        );
        let io = std::io::Error::from_raw_os_error(libc::EFBIG);
        let m = skip_text(Err::<(), _>(io).setup("write the test file"));
        assert!(m.contains(": EFBIG (RLIMIT_FSIZE "), "{m}");
        // Not a resource: broken, as before.
        assert!(matches!(
            Err::<(), _>(Errno::EINVAL).setup("x"),
            Err(CaseError::Broken(_))
        ));
        let short = std::io::Error::new(std::io::ErrorKind::WriteZero, "short write");
        assert!(matches!(
            Err::<(), _>(short).setup("x"),
            Err(CaseError::Broken(_))
        ));
    }

    /// A temp directory that cannot hold a file is a skip naming TMPDIR (here a missing
    /// directory; the suite's TMPDIR is read at each call, so the test passes the directory).
    #[test]
    fn a_missing_temp_dir_is_a_skip_naming_it() {
        let dir =
            std::env::temp_dir().join(format!("uring-conformance-missing-{}", std::process::id()));
        let m = skip_text(resource::temp_file_in(&dir, "create the test file").map(drop));
        assert!(
            m.starts_with("resource: create the test file: ENOENT (TMPDIR "),
            "{m}"
        );
    }

    /// The file a row's call writes into is empty, with its room reserved.
    #[test]
    fn a_file_for_writes_is_empty() {
        let cx = Cx::new(
            Arc::new(FeatureSet::synthetic(&[])),
            Duration::from_secs(1),
            uring::Abi::Native,
        );
        let f = cx.file_for_writes(8192).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 0);
    }
}
