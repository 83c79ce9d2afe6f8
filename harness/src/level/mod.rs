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

/// A verdict and how it was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// What decided, for the report.
    pub how: String,
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

/// One line of the backport table: the change is in `series` from patch level `from` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backport {
    /// The level's name.
    pub level: String,
    /// The first version of that series carrying the change.
    pub from: KernelVersion,
    /// Where that is recorded (stable commit, changelog).
    pub reference: String,
}

/// The committed backport table (compiled in, so the static suite in a VM has it too).
pub const BACKPORTS_TXT: &str = include_str!("../../../fixtures/backports.txt");

/// Parses the backport table: `level  X.Y.Z  reference...` per line, `#` comments.
pub fn parse_backports(text: &str) -> Result<Vec<Backport>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(level), Some(from)) = (it.next(), it.next()) else {
            return Err(format!(
                "backports.txt line {}: want `level X.Y.Z reference`",
                n + 1
            ));
        };
        let from =
            KernelVersion::parse(from).map_err(|e| format!("backports.txt line {}: {e}", n + 1))?;
        if from.patch == 0 {
            return Err(format!(
                "backports.txt line {}: {from} names no patch level (a first upstream version belongs in the level)",
                n + 1
            ));
        }
        out.push(Backport {
            level: level.to_string(),
            from,
            reference: it.collect::<Vec<_>>().join(" "),
        });
    }
    Ok(out)
}

/// The committed table; a malformed table is caught by a test, and reads as empty.
pub fn backports() -> Vec<Backport> {
    parse_backports(BACKPORTS_TXT).unwrap_or_default()
}

impl Level {
    /// The backports of this level recorded in the table.
    pub fn backports(&self) -> Vec<Backport> {
        backports()
            .into_iter()
            .filter(|b| b.level == self.name)
            .collect()
    }

    /// Decides this kernel's level.
    pub fn decide(&self, fs: &FeatureSet) -> Decision {
        match self.decided_by {
            Decider::Probe(f) => {
                let how = fs.detection(f).map_or("not probed", |d| d.how.as_str());
                let verdict = if fs.has(f) {
                    Verdict::Has
                } else {
                    Verdict::Lacks
                };
                Decision {
                    verdict,
                    how: format!("probe {}: {how}", f.name()),
                }
            }
            Decider::Env(fact) => {
                let how = fs
                    .env
                    .detection(fact)
                    .map_or("not probed", |d| d.how.as_str());
                let verdict = if fs.env.holds(fact) {
                    Verdict::Has
                } else {
                    Verdict::Lacks
                };
                Decision {
                    verdict,
                    how: format!("fact {}: {how}", fact.name()),
                }
            }
            Decider::Version => self.decide_by_version(fs.version.version, &fs.version.source),
        }
    }

    /// The version rule on its own (see the module doc).
    pub fn decide_by_version(&self, running: Option<KernelVersion>, source: &str) -> Decision {
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
        let ports = self.backports();
        if let Some(b) = ports
            .iter()
            .find(|b| b.from.series() == k.series() && k >= b.from)
        {
            return Decision {
                verdict: Verdict::Has,
                how: format!(
                    "kernel {k} >= {} (backport table: {}; {source})",
                    b.from, b.reference
                ),
            };
        }
        let table = match ports.iter().find(|b| b.from.series() == k.series()) {
            Some(b) => format!("backported to {} from {}", k.series_name(), b.from),
            None => format!("no backport to {} in the table", k.series_name()),
        };
        Decision {
            verdict: Verdict::Either,
            how: format!(
                "kernel {k} < {} and {table} ({source}): a distro kernel may carry it",
                self.since
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

mod table;
pub use table::*;

#[cfg(test)]
mod tests;
