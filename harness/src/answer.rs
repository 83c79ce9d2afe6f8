//! The answers of a row: what the call under test answered ([`Answer`], [`Observation`]),
//! what the row expects ([`Want`], [`Expect`], and on this kernel [`Expected`]), and why a
//! case produced no observation ([`CaseError`]).

use crate::level::{Decision, Level, Verdict};
use crate::probe::FeatureSet;
use std::fmt;
use uring::abi::CqeFlags;
use uring::Errno;
pub use uring_report::SkipCause;

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
    /// For an undecided level: which answer `a` is (the one with the change or without).
    pub fn seen(&self, a: &Answer) -> Option<uring_report::LevelSeen> {
        let (_, d) = self.level.as_ref()?;
        if d.verdict != Verdict::Either {
            return None;
        }
        if self.want.0 == *a {
            Some(uring_report::LevelSeen::Has)
        } else if self.or.is_some_and(|w| w.0 == *a) {
            Some(uring_report::LevelSeen::Lacks)
        } else {
            None
        }
    }
    /// The level and how it was decided, as the report carries it.
    pub fn decision(&self) -> Option<uring_report::LevelDecision> {
        self.level.as_ref().map(|(l, d)| level_decision(l, d))
    }
    /// The accepted answers, as the report carries them.
    pub fn accepted_answers(&self) -> Vec<uring_report::Answer> {
        std::iter::once(self.want)
            .chain(self.or)
            .map(|w| w.0.to_report())
            .collect()
    }
}

/// A level's decision as the report carries it.
pub fn level_decision(l: &Level, d: &Decision) -> uring_report::LevelDecision {
    uring_report::LevelDecision {
        level: l.name.to_string(),
        verdict: match d.verdict {
            Verdict::Has => uring_report::LevelVerdict::Has,
            Verdict::Lacks => uring_report::LevelVerdict::Lacks,
            Verdict::Either => uring_report::LevelVerdict::Either,
        },
        how: d.how.clone(),
    }
}

impl Answer {
    /// The answer as the report (and the child's result line) carries it.
    pub fn to_report(self) -> uring_report::Answer {
        match self {
            Answer::Sync(Ok(v)) => uring_report::Answer::Ok(v),
            Answer::Sync(Err(e)) => uring_report::Answer::Err(e.0),
            Answer::Cqe { res, flags } => uring_report::Answer::Cqe {
                res,
                flags: flags.0,
            },
        }
    }
    /// The answer a report (or a child) carries.
    pub fn from_report(a: uring_report::Answer) -> Answer {
        match a {
            uring_report::Answer::Ok(v) => Answer::Sync(Ok(v)),
            uring_report::Answer::Err(e) => Answer::Sync(Err(Errno(e))),
            uring_report::Answer::Cqe { res, flags } => Answer::Cqe {
                res,
                flags: CqeFlags(flags),
            },
        }
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

/// Why a case did not produce an observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseError {
    /// An effect check of the case failed (wrong bytes, wrong slot, missing tag CQE ...).
    Fail(String),
    /// Setup failed where it should not: the case could not reach the call under test.
    Broken(String),
    /// The case cannot run here for a reason found at run time (permission, resource):
    /// the typed cause, whose text is the skip reason.
    Skip(SkipCause),
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
