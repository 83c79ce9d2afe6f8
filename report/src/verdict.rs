//! The verdict vocabulary: why a row was skipped ([`SkipCause`]), what it expected and what
//! the kernel answered ([`Answer`]), and the level of a behaviour change with how it was
//! decided ([`LevelDecision`]). The suite builds these values and every renderer and reader
//! (libtest lines, KTAP, JUnit, JSON, `--compare`, the matrix, the mutant runner) works from
//! them; the human text of a reason is their `Display`, never read back.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An errno, by number and by name (`ENOMEM`), as the suite's ring crate names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errno {
    /// The number (`12`).
    pub number: i32,
    /// The name (`ENOMEM`).
    pub name: String,
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The kernel's answer to a call: a syscall's return value or errno, or a completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// A syscall returned this value.
    Ok(i64),
    /// A syscall failed with this errno.
    Err(i32),
    /// A completion with this result and flags.
    Cqe {
        /// `cqe.res`.
        res: i32,
        /// `cqe.flags`.
        flags: u32,
    },
}

/// A resource of the machine a row (or a probe) can run out of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Locked memory (ENOMEM: RLIMIT_MEMLOCK, the per-user `locked_vm` quota, or memory).
    LockedMemory,
    /// This process's fds (EMFILE: RLIMIT_NOFILE).
    OpenFiles,
    /// The system's open files (ENFILE: fs.file-max).
    SystemFiles,
    /// Space on the temp directory's filesystem (ENOSPC).
    TempSpace,
    /// The disk quota on the temp directory's filesystem (EDQUOT).
    TempQuota,
    /// The file size limit (EFBIG: RLIMIT_FSIZE).
    FileSize,
    /// Tasks: a thread or process spawn answered EAGAIN (RLIMIT_NPROC or a pids cgroup).
    Tasks,
    /// A temp directory this process can create files in.
    TempDir,
    /// Transparent huge pages: the kernel gave small pages where a row needs a huge one.
    HugePages,
}

/// Whether the kernel has a behaviour change, as decided for this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LevelVerdict {
    /// It has the change: the new answer is required.
    Has,
    /// It lacks it: the old answer is required.
    Lacks,
    /// Nothing decides: either answer is accepted, and the one seen is reported.
    Either,
}

/// A behaviour change's level on this kernel and how it was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelDecision {
    /// The level's name (`unregister_no_wait`).
    pub level: String,
    /// The verdict.
    pub verdict: LevelVerdict,
    /// What decided it (a probe, the version and the backport table, a fact).
    pub how: String,
}

impl LevelDecision {
    /// `has it (how)`, `lacks it (how)` or `undecided (how)`.
    pub fn decision(&self) -> String {
        let v = match self.verdict {
            LevelVerdict::Has => "has it",
            LevelVerdict::Lacks => "lacks it",
            LevelVerdict::Either => "undecided",
        };
        format!("{v} ({})", self.how)
    }
}

/// `name: has it (how)`: the report's `level` text.
impl fmt::Display for LevelDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.level, self.decision())
    }
}

/// For a row whose level nothing decided: which of its two answers the kernel gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LevelSeen {
    /// The answer with the change.
    Has,
    /// The answer without it.
    Lacks,
}

impl LevelSeen {
    /// `has` or `lacks`, as the reports write it.
    pub fn name(self) -> &'static str {
        match self {
            LevelSeen::Has => "has",
            LevelSeen::Lacks => "lacks",
        }
    }
}

/// Why a row was skipped. Its `Display` is the skip reason the reports show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipCause {
    /// io_uring cannot be used here at all (setup denied).
    IoUringUnavailable {
        /// What the probe saw.
        reason: String,
    },
    /// The kernel lacks a feature the row requires.
    FeatureMissing {
        /// The feature.
        feature: String,
        /// The first kernel version with it.
        since: String,
        /// How the probe decided.
        probe: String,
    },
    /// A feature's probe ran out of a resource: neither present nor proven absent.
    Undetermined {
        /// The feature (or fact).
        feature: String,
        /// The resource that ran out.
        resource: Resource,
        /// The errno of the deciding call.
        errno: Errno,
        /// The call, its answer and the limit.
        probe: String,
    },
    /// A fact of the machine the row needs does not hold.
    Fact {
        /// The fact.
        fact: String,
        /// What it means, for the reader.
        needs: String,
        /// How it was probed and what was found.
        probe: String,
    },
    /// The row needs a behaviour change the kernel is not decided to have.
    Level {
        /// The change.
        change: String,
        /// The first version with it.
        since: String,
        /// The level and how it was decided.
        decision: LevelDecision,
    },
    /// A resource ran out or is limited below what the row needs.
    Resource {
        /// Which.
        resource: Resource,
        /// The step that ran out of it.
        step: String,
        /// Its errno, where it answered one.
        errno: Option<Errno>,
        /// The limit or place, with its value here.
        limit: String,
    },
    /// The row may not do what it needs here (a sysctl, a security policy, an id map).
    NotPermitted {
        /// What was refused, and by what.
        what: String,
    },
    /// The machine's configuration: users, devices, sysctls.
    Environment {
        /// What is missing or different.
        what: String,
    },
}

/// ENOMEM on Linux.
const ENOMEM: i32 = 12;

impl SkipCause {
    /// Whether a step answered ENOMEM for locked memory (the memlock quota): the rows
    /// charged for locked memory are run again after a pause before they are judged.
    pub fn is_locked_memory(&self) -> bool {
        matches!(
            self,
            SkipCause::Resource {
                resource: Resource::LockedMemory,
                errno: Some(Errno { number: ENOMEM, .. }),
                ..
            }
        )
    }
}

impl fmt::Display for SkipCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipCause::IoUringUnavailable { reason } => write!(f, "io_uring unavailable: {reason}"),
            SkipCause::FeatureMissing {
                feature,
                since,
                probe,
            } => write!(
                f,
                "feature missing: {feature} (since {since}; probe: {probe})"
            ),
            SkipCause::Undetermined { feature, probe, .. } => {
                write!(f, "resource: could not probe {feature}: {probe}")
            }
            SkipCause::Fact { fact, needs, probe } => {
                write!(f, "environment: needs {needs} ({fact}); here: {probe}")
            }
            SkipCause::Level {
                change,
                since,
                decision,
            } => write!(
                f,
                "level: needs {} ({change}, since {since}); this kernel {}",
                decision.level,
                decision.decision()
            ),
            SkipCause::Resource {
                step,
                errno: Some(e),
                limit,
                ..
            } => write!(f, "resource: {step}: {e} ({limit})"),
            SkipCause::Resource {
                step,
                errno: None,
                limit,
                ..
            } => write!(f, "resource: {step} ({limit})"),
            SkipCause::NotPermitted { what } => write!(f, "not permitted: {what}"),
            SkipCause::Environment { what } => write!(f, "environment: {what}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enomem() -> Errno {
        Errno {
            number: 12,
            name: "ENOMEM".into(),
        }
    }

    /// Every cause round-trips through JSON, and only locked memory running out with an
    /// errno counts as the memlock quota.
    #[test]
    fn causes_round_trip_and_say_what_they_are() {
        let level = LevelDecision {
            level: "l".into(),
            verdict: LevelVerdict::Either,
            how: "kernel 6.12 < 6.13".into(),
        };
        let causes = [
            (
                SkipCause::IoUringUnavailable {
                    reason: "EPERM".into(),
                },
                "io_uring unavailable: EPERM",
            ),
            (
                SkipCause::FeatureMissing {
                    feature: "f".into(),
                    since: "6.1".into(),
                    probe: "p -> EINVAL".into(),
                },
                "feature missing: f (since 6.1; probe: p -> EINVAL)",
            ),
            (
                SkipCause::Undetermined {
                    feature: "f".into(),
                    resource: Resource::LockedMemory,
                    errno: enomem(),
                    probe: "p -> ENOMEM".into(),
                },
                "resource: could not probe f: p -> ENOMEM",
            ),
            (
                SkipCause::Fact {
                    fact: "net".into(),
                    needs: "networking".into(),
                    probe: "socket -> EAFNOSUPPORT".into(),
                },
                "environment: needs networking (net); here: socket -> EAFNOSUPPORT",
            ),
            (
                SkipCause::Level {
                    change: "c".into(),
                    since: "6.13".into(),
                    decision: level,
                },
                "level: needs l (c, since 6.13); this kernel undecided (kernel 6.12 < 6.13)",
            ),
            (
                SkipCause::Resource {
                    resource: Resource::LockedMemory,
                    step: "io_uring_setup(8)".into(),
                    errno: Some(enomem()),
                    limit: "RLIMIT_MEMLOCK 0 bytes".into(),
                },
                "resource: io_uring_setup(8): ENOMEM (RLIMIT_MEMLOCK 0 bytes)",
            ),
            (
                SkipCause::NotPermitted { what: "x".into() },
                "not permitted: x",
            ),
            (
                SkipCause::Environment { what: "y".into() },
                "environment: y",
            ),
        ];
        for (c, text) in causes {
            assert_eq!(c.to_string(), text);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(
                serde_json::from_str::<SkipCause>(&json).unwrap(),
                c,
                "{json}"
            );
            let quota = matches!(&c, SkipCause::Resource { .. });
            assert_eq!(c.is_locked_memory(), quota, "{c}");
        }
        let hard_limit = SkipCause::Resource {
            resource: Resource::LockedMemory,
            step: "the hard limit".into(),
            errno: None,
            limit: "RLIMIT_MEMLOCK 0".into(),
        };
        assert!(!hard_limit.is_locked_memory());
        assert_eq!(
            hard_limit.to_string(),
            "resource: the hard limit (RLIMIT_MEMLOCK 0)"
        );
    }
}
