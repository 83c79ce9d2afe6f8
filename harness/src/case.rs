//! The row: a case's name, requirements, action, expected answer (possibly per feature
//! level) and citation. The runner is generic over rows.

use crate::cx::Cx;
use crate::env::Fact;
use crate::level::{Decision, Level, Verdict};
use crate::probe::{Feature, FeatureSet};
use std::fmt;
use uring::abi::CqeFlags;
use uring::Errno;

/// What the call under test answered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answer {
    /// A synchronous result: a syscall's return value, or its errno.
    Sync(Result<i64, Errno>),
    /// A completion's `res` and `flags`.
    Cqe {
        /// `cqe->res`.
        res: i32,
        /// `cqe->flags`.
        flags: CqeFlags,
    },
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Sync(Ok(v)) => write!(f, "returns {v}"),
            Answer::Sync(Err(e)) => write!(f, "fails with {e}"),
            Answer::Cqe { res, flags } if *res < 0 => {
                write!(f, "CQE res -{} flags {flags:?}", Errno(-res))
            }
            Answer::Cqe { res, flags } => write!(f, "CQE res {res} flags {flags:?}"),
        }
    }
}

/// What the case observed: the call (with its arguments) and the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The call under test, with its arguments, as a reader would write it.
    pub call: String,
    /// The kernel's answer.
    pub answer: Answer,
}

/// The expected answer for one kernel level.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Want(pub Answer);

impl Want {
    /// A synchronous failure with exactly this errno.
    pub const fn errno(e: Errno) -> Want {
        Want(Answer::Sync(Err(e)))
    }
    /// A synchronous success with exactly this return value.
    pub const fn ok(v: i64) -> Want {
        Want(Answer::Sync(Ok(v)))
    }
    /// A CQE with exactly this res and no flags.
    pub const fn res(res: i32) -> Want {
        Want(Answer::Cqe {
            res,
            flags: CqeFlags::NONE,
        })
    }
    /// A CQE with `res = -e` and no flags.
    pub const fn cqe_errno(e: Errno) -> Want {
        Want(Answer::Cqe {
            res: -e.0,
            flags: CqeFlags::NONE,
        })
    }
    /// A CQE with exactly this res and these flags.
    pub const fn cqe(res: i32, flags: CqeFlags) -> Want {
        Want(Answer::Cqe { res, flags })
    }
}

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The expected answer, fixed or depending on the kernel's level of one behaviour change.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// The same on every kernel that runs the case.
    Always(Want),
    /// `present` where the kernel has the change, `absent` where it does not (either, where
    /// nothing decides: see [`crate::level`]).
    ByLevel {
        /// The behaviour change that decides.
        level: &'static Level,
        /// The answer with the change.
        present: Want,
        /// The answer without it.
        absent: Want,
    },
}

/// What a row accepts on this kernel, and why.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The answer required (or, where the level is undecided, the new one).
    pub want: Want,
    /// Where the level is undecided: the old answer, accepted too.
    pub or: Option<Want>,
    /// The level and how it was decided, for multi-answer rows.
    pub level: Option<(&'static Level, Decision)>,
}

impl Expected {
    /// Whether `a` is an accepted answer.
    pub fn accepts(&self, a: &Answer) -> bool {
        self.want.0 == *a || self.or.is_some_and(|w| w.0 == *a)
    }
    /// For an undecided level: which answer `a` is ("has" the change or "lacks" it).
    pub fn seen(&self, a: &Answer) -> Option<&'static str> {
        let (_, d) = self.level.as_ref()?;
        if d.verdict != Verdict::Either {
            return None;
        }
        if self.want.0 == *a {
            Some("has")
        } else if self.or.is_some_and(|w| w.0 == *a) {
            Some("lacks")
        } else {
            None
        }
    }
    /// The level line of a report: `name: verdict (how)`.
    pub fn level_text(&self) -> Option<String> {
        self.level
            .as_ref()
            .map(|(l, d)| format!("{}: {d}", l.name))
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.or {
            Some(old) => write!(f, "{} or {old}", self.want),
            None => write!(f, "{}", self.want),
        }
    }
}

impl Expect {
    /// Shorthand for `Expect::Always(Want::errno(e))`.
    pub const fn errno(e: Errno) -> Expect {
        Expect::Always(Want::errno(e))
    }
    /// Shorthand for a synchronous success with this value.
    pub const fn ok(v: i64) -> Expect {
        Expect::Always(Want::ok(v))
    }
    /// Shorthand for a CQE with `res = -e`, no flags.
    pub const fn cqe_errno(e: Errno) -> Expect {
        Expect::Always(Want::cqe_errno(e))
    }
    /// Shorthand for a CQE with this res and flags.
    pub const fn cqe(res: i32, flags: CqeFlags) -> Expect {
        Expect::Always(Want::cqe(res, flags))
    }
    /// Per-level answers: `present` with the change, `absent` without.
    pub const fn by_level(level: &'static Level, present: Want, absent: Want) -> Expect {
        Expect::ByLevel {
            level,
            present,
            absent,
        }
    }
    /// The level this expectation depends on.
    pub fn level(&self) -> Option<&'static Level> {
        match *self {
            Expect::Always(_) => None,
            Expect::ByLevel { level, .. } => Some(level),
        }
    }
    /// What applies to this kernel.
    pub fn decide(&self, fs: &FeatureSet) -> Expected {
        match *self {
            Expect::Always(w) => Expected {
                want: w,
                or: None,
                level: None,
            },
            Expect::ByLevel {
                level,
                present,
                absent,
            } => {
                let d = level.decide(fs);
                let (want, or) = match d.verdict {
                    Verdict::Has => (present, None),
                    Verdict::Lacks => (absent, None),
                    Verdict::Either => (present, Some(absent)),
                };
                Expected {
                    want,
                    or,
                    level: Some((level, d)),
                }
            }
        }
    }
    /// The answer that applies to this kernel (for an undecided level, the new one).
    pub fn resolve(&self, fs: &FeatureSet) -> Want {
        self.decide(fs).want
    }
    /// Every level's answer, for the case table.
    pub fn levels(&self) -> Vec<(String, Want)> {
        match *self {
            Expect::Always(w) => vec![("all".into(), w)],
            Expect::ByLevel {
                level,
                present,
                absent,
            } => {
                vec![
                    (format!("with {}", level.name), present),
                    (format!("without {}", level.name), absent),
                ]
            }
        }
    }
}

/// Where the rule is written: a man page section and/or a kernel function.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cite {
    /// Man page and section, e.g. ("io_uring_register.2", "ERRORS: EINVAL").
    pub man: Option<(&'static str, &'static str)>,
    /// Kernel `file:function` (7.x names), e.g. "rsrc.c:io_sqe_buffers_register".
    pub kernel: &'static str,
    /// Catalogue rows of error-paths.md this case covers.
    pub catalogue: &'static [&'static str],
    /// Where the man page or the catalogue is wrong, and what the source says.
    pub note: Option<&'static str>,
}

impl Cite {
    /// Cites a kernel function.
    pub const fn kernel(f: &'static str) -> Cite {
        Cite {
            man: None,
            kernel: f,
            catalogue: &[],
            note: None,
        }
    }
    /// Adds a man page reference.
    pub const fn man(self, page: &'static str, section: &'static str) -> Cite {
        Cite {
            man: Some((page, section)),
            ..self
        }
    }
    /// Names the catalogue rows covered.
    pub const fn rows(self, ids: &'static [&'static str]) -> Cite {
        Cite {
            catalogue: ids,
            ..self
        }
    }
    /// Adds a note (a man-page contradiction or a catalogue correction).
    pub const fn note(self, n: &'static str) -> Cite {
        Cite {
            note: Some(n),
            ..self
        }
    }
}

impl fmt::Display for Cite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((p, s)) = self.man {
            write!(f, "{p} ({s}); ")?;
        }
        write!(f, "kernel {}", self.kernel)
    }
}

/// Where a case runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// In a test thread of this process, in parallel with others.
    Thread,
    /// In a child process (re-executed binary) as an unprivileged user with a small
    /// RLIMIT_MEMLOCK; such cases share the user's memlock quota, so they run one at a time.
    Unprivileged {
        /// RLIMIT_MEMLOCK in bytes.
        memlock: u64,
    },
}

/// Why a case did not produce an observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseError {
    /// An effect check of the case failed (wrong bytes, wrong slot, missing tag CQE ...).
    Fail(String),
    /// Setup failed where it should not: the case could not reach the call under test.
    Broken(String),
    /// The case cannot run here for a reason found at run time (permission, resource).
    Skip(String),
    /// A wait on the kernel ran out of time.
    Timeout(String),
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseError::Fail(m) => write!(f, "{m}"),
            CaseError::Broken(m) => write!(f, "broken: {m}"),
            CaseError::Skip(m) => write!(f, "skipped: {m}"),
            CaseError::Timeout(m) => write!(f, "timeout: {m}"),
        }
    }
}

/// The result type of a case's action.
pub type CaseResult = Result<Observation, CaseError>;

/// One row of the table.
#[derive(Clone, Copy)]
pub struct Case {
    /// `interface::scenario`.
    pub name: &'static str,
    /// Features the kernel must have for the case to run.
    pub requires: &'static [Feature],
    /// Facts of the machine or kernel configuration the case needs (else it skips).
    pub needs: &'static [Fact],
    /// A behaviour change the case cannot run without (it skips unless the kernel is
    /// decided to have it): for rows that would hang or mean nothing on older kernels.
    pub needs_level: Option<&'static Level>,
    /// The action: sets up fresh rings, performs the call under test, checks effects.
    pub run: fn(&mut Cx) -> CaseResult,
    /// The expected answer of the call under test.
    pub expect: Expect,
    /// Where the rule is written.
    pub cite: Cite,
    /// Where it runs.
    pub isolation: Isolation,
}

impl Case {
    /// The interface: the part of the name before `::`.
    pub fn interface(&self) -> &'static str {
        self.name.split("::").next().unwrap_or(self.name)
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("expect", &self.expect)
            .finish()
    }
}

/// A row being built: `Case::new(name).requires(..).expect(..).cite(..).run(..)`. Named
/// steps instead of positional arguments; `run` comes last and yields the [`Case`], so a
/// row without an action cannot be written, and one without `expect` or `cite` fails to
/// compile (the tables are constants: the builder's panic is a compile-time error).
#[derive(Clone, Copy)]
pub struct CaseBuilder {
    name: &'static str,
    requires: &'static [Feature],
    expect: Option<Expect>,
    cite: Option<Cite>,
}

impl Case {
    /// Starts a row named `interface::scenario` (no requirements, runs in a thread).
    // Not `Self`: the builder only becomes a `Case` once `run` is given.
    #[allow(clippy::new_ret_no_self)]
    pub const fn new(name: &'static str) -> CaseBuilder {
        CaseBuilder {
            name,
            requires: &[],
            expect: None,
            cite: None,
        }
    }
}

impl CaseBuilder {
    /// Features the kernel must have for the row to run.
    pub const fn requires(self, requires: &'static [Feature]) -> CaseBuilder {
        CaseBuilder { requires, ..self }
    }
    /// The expected answer of the call under test.
    pub const fn expect(self, expect: Expect) -> CaseBuilder {
        CaseBuilder {
            expect: Some(expect),
            ..self
        }
    }
    /// Where the rule is written.
    pub const fn cite(self, cite: Cite) -> CaseBuilder {
        CaseBuilder {
            cite: Some(cite),
            ..self
        }
    }
    /// The action; completes the row (with `Isolation::Thread`; see [`Case::needs`],
    /// [`Case::needs_level`], [`Case::unprivileged`] for the rest).
    pub const fn run(self, run: fn(&mut Cx) -> CaseResult) -> Case {
        let Some(expect) = self.expect else {
            panic!("a row needs .expect(..) before .run(..)")
        };
        let Some(cite) = self.cite else {
            panic!("a row needs .cite(..) before .run(..)")
        };
        Case {
            name: self.name,
            requires: self.requires,
            needs: &[],
            needs_level: None,
            run,
            expect,
            cite,
            isolation: Isolation::Thread,
        }
    }
}

/// Builds a row with `Isolation::Thread`: `row(name, requires, expect, cite, run)`; the
/// positional form of [`Case::new`], kept for harness/src/run.rs's tests (no table uses it).
pub const fn row(
    name: &'static str,
    requires: &'static [Feature],
    expect: Expect,
    cite: Cite,
    run: fn(&mut Cx) -> CaseResult,
) -> Case {
    Case::new(name)
        .requires(requires)
        .expect(expect)
        .cite(cite)
        .run(run)
}

impl Case {
    /// The facts of the environment this row needs; where one does not hold it skips.
    pub const fn needs(self, needs: &'static [Fact]) -> Case {
        Case { needs, ..self }
    }
    /// The behaviour change this row cannot run without.
    pub const fn needs_level(self, level: &'static Level) -> Case {
        Case {
            needs_level: Some(level),
            ..self
        }
    }
    /// Runs this row in an unprivileged child with `memlock` bytes of RLIMIT_MEMLOCK.
    pub const fn unprivileged(self, memlock: u64) -> Case {
        Case {
            isolation: Isolation::Unprivileged { memlock },
            ..self
        }
    }
}
