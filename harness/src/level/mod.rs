//! Named behaviour changes ("levels"): where a row's exact answer changed between kernels,
//! the change is a [`Level`] with its first upstream version, the kernel function and
//! commit, and how the running kernel's level is decided, which is never by the row's own
//! call:
//!
//! - [`Decider::Probe`]: an independent probe of a *different* call that came with the same
//!   change (the test `no_level_is_decided_by_its_rows_call` enforces the difference);
//! - [`Decider::Env`]: a fact of the kernel's configuration or the machine, probed apart;
//! - [`Decider::Version`]: the kernel version against the level's first version and the
//!   per-series backport table `fixtures/backports.txt`. At or above either, the new answer
//!   is required; below both, a distro kernel may still carry the change, so the row accepts
//!   either documented answer and reports which it saw (a baseline then pins it).

use crate::env::Fact;
use crate::probe::{Feature, FeatureSet};
use crate::version::KernelVersion;
use std::fmt;

/// How the running kernel's level is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decider {
    /// A probe of another call that came with the same change.
    Probe(Feature),
    /// A probed fact of the configuration or machine.
    Env(Fact),
    /// The kernel version and the backport table.
    Version,
}

/// One behaviour change.
#[derive(Debug, PartialEq, Eq)]
pub struct Level {
    /// snake_case name, used in reports and in `fixtures/backports.txt`.
    pub name: &'static str,
    /// What changed, old answer -> new answer.
    pub change: &'static str,
    /// First upstream version with the new behaviour (for [`Decider::Env`]: none applies,
    /// the fact decides alone).
    pub since: KernelVersion,
    /// Kernel function (7.x names) and commit that made the change.
    pub source: &'static str,
    /// How the running kernel's level is decided.
    pub decided_by: Decider,
}

/// The level a kernel was found at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The kernel has the change: the new answer is required.
    Has,
    /// It does not: the old answer is required.
    Lacks,
    /// Nothing decides (version below the first version and any known backport): either
    /// documented answer is accepted and the one seen is reported.
    Either,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 3] = [Verdict::Has, Verdict::Lacks, Verdict::Either];

    /// The stable name, as a child process receives it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Has => "has",
            Verdict::Lacks => "lacks",
            Verdict::Either => "either",
        }
    }
}

/// A verdict and how it was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// What decided, for the report.
    pub how: String,
}

impl Decision {
    /// Has or lacks, as the `kind` (probe, fact) `name` found, with how it was found.
    fn found(has: bool, kind: &str, name: &str, how: Option<&str>) -> Decision {
        Decision {
            verdict: if has { Verdict::Has } else { Verdict::Lacks },
            how: format!("{kind} {name}: {}", how.unwrap_or("not probed")),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = match self.verdict {
            Verdict::Has => "has it",
            Verdict::Lacks => "lacks it",
            Verdict::Either => "undecided",
        };
        write!(f, "{v} ({})", self.how)
    }
}

impl Level {
    /// This kernel's decision, as decided once for the run (the snapshot
    /// [`FeatureSet::levels`], filled by the probe and handed to a child process by its
    /// parent). Every level a row uses is in [`ALL`] (the test `every_level_is_listed_and_used`),
    /// and the snapshot holds every level of [`ALL`].
    pub fn decide(&self, fs: &FeatureSet) -> Decision {
        match fs.levels.get(self) {
            Some(d) => d.clone(),
            None => panic!(
                "level {} was not decided this run: it is not in level::ALL",
                self.name
            ),
        }
    }

    /// Decides this kernel's level from the probe, the facts and the version (with
    /// `backports`): what [`Levels::decide`] runs once per level and run.
    fn judge(&self, fs: &FeatureSet, backports: &Backports) -> Decision {
        match self.decided_by {
            Decider::Probe(f) => decide_by_probe(f, fs),
            Decider::Env(fact) => {
                let how = fs.env.detection(fact).map(|d| d.how.as_str());
                Decision::found(fs.env.holds(fact), "fact", fact.name(), how)
            }
            Decider::Version => {
                self.decide_by_version(fs.version.version, &fs.version.source, backports)
            }
        }
    }

    /// The version rule on its own (see the module doc).
    pub fn decide_by_version(
        &self,
        running: Option<KernelVersion>,
        source: &str,
        backports: &Backports,
    ) -> Decision {
        let Some(k) = running else {
            return Decision {
                verdict: Verdict::Either,
                how: format!("kernel version unknown ({source})"),
            };
        };
        if k >= self.since {
            return Decision {
                verdict: Verdict::Has,
                how: format!("kernel {k} >= {} ({source})", self.since),
            };
        }
        let mut of_series = backports.of(self).filter(|b| b.from.series() == k.series());
        let Some(b) = of_series.next() else {
            return Decision {
                verdict: Verdict::Either,
                how: format!(
                    "kernel {k} < {} and no backport to {} in the table ({source}): a distro kernel may carry it",
                    self.since,
                    k.series_name()
                ),
            };
        };
        if k >= b.from {
            return Decision {
                verdict: Verdict::Has,
                how: format!(
                    "kernel {k} >= {} (backport table: {}; {source})",
                    b.from, b.reference
                ),
            };
        }
        Decision {
            verdict: Verdict::Either,
            how: format!(
                "kernel {k} < {} and backported to {} from {} ({source}): a distro kernel may carry it",
                self.since,
                k.series_name(),
                b.from
            ),
        }
    }

    /// How the level is decided, for the case table.
    pub fn decider_text(&self) -> String {
        match self.decided_by {
            Decider::Probe(f) => format!("probe {} (another call of the same change)", f.name()),
            Decider::Env(x) => format!("fact {}", x.name()),
            Decider::Version => "kernel version and fixtures/backports.txt".into(),
        }
    }
}

/// The probe rule: the level is there when `f`, the other call of the change, was found.
fn decide_by_probe(f: Feature, fs: &FeatureSet) -> Decision {
    let how = fs.detection(f).map(|d| d.how.as_str());
    Decision::found(fs.has(f), "probe", f.name(), how)
}

mod backports;
mod measured;
mod snapshot;
mod table;
pub use backports::*;
pub use measured::*;
pub use snapshot::*;
pub use table::*;

#[cfg(test)]
mod tests;
