//! The per-series backport table `fixtures/backports.txt`, parsed and checked once per run:
//! a malformed line is an error naming it (the run exits 2 before probing, and the unit
//! test `the_committed_backport_table_is_well_formed` fails), never an empty table, which
//! would make every version-decided level "undecided" and weaken its rows in silence.

use super::{Decider, Level, ALL};
use crate::version::KernelVersion;
use std::fmt;
use std::sync::OnceLock;

/// The committed backport table (compiled in, so the static suite in a VM has it too).
pub const BACKPORTS_TXT: &str = include_str!("../../../fixtures/backports.txt");

/// One line of the backport table: the change is in `from`'s series from that patch level on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backport {
    /// The level's name.
    pub level: &'static str,
    /// The first version of that series carrying the change.
    pub from: KernelVersion,
    /// Where that is recorded (stable commit, changelog).
    pub reference: String,
}

/// A line of the table that is not a backport of a known version-decided level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackportError {
    /// 1-based line number in `fixtures/backports.txt`.
    pub line: usize,
    /// What is wrong with it.
    pub what: String,
}

impl fmt::Display for BackportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fixtures/backports.txt line {}: {}",
            self.line, self.what
        )
    }
}

impl std::error::Error for BackportError {}

/// The backport table, every line checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backports(Vec<Backport>);

impl Backports {
    /// No backports (for feature sets of the harness's own tests).
    pub const NONE: Backports = Backports(Vec::new());

    /// The committed table, parsed on first use and kept for the run.
    pub fn committed() -> Result<&'static Backports, &'static BackportError> {
        static TABLE: OnceLock<Result<Backports, BackportError>> = OnceLock::new();
        TABLE
            .get_or_init(|| Backports::parse(BACKPORTS_TXT))
            .as_ref()
    }

    /// Parses a table strictly: `level  X.Y.Z  reference...` per line, `#` comments and
    /// blank lines skipped. Each line names a level of [`ALL`] decided by version, a patch
    /// level (`X.Y.Z`, Z > 0, nothing after it) below the level's first version, and a
    /// reference; no level is listed twice for one series.
    pub fn parse(text: &str) -> Result<Backports, BackportError> {
        let mut out: Vec<Backport> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: String| BackportError { line: n + 1, what };
            let b = parse_line(line).map_err(bad)?;
            if let Some(dup) = out
                .iter()
                .find(|o| o.level == b.level && o.from.series() == b.from.series())
            {
                return Err(bad(format!(
                    "{} is listed for {} already (from {})",
                    b.level,
                    b.from.series_name(),
                    dup.from
                )));
            }
            out.push(b);
        }
        Ok(Backports(out))
    }

    /// The backports of `level`.
    pub fn of<'a>(&'a self, level: &'a Level) -> impl Iterator<Item = &'a Backport> + 'a {
        self.0.iter().filter(move |b| b.level == level.name)
    }

    /// Every backport, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Backport> {
        self.0.iter()
    }
}

/// One non-comment line, checked against the level table.
fn parse_line(line: &str) -> Result<Backport, String> {
    let mut fields = line.split_whitespace();
    let (Some(name), Some(from_text)) = (fields.next(), fields.next()) else {
        return Err("want `level X.Y.Z reference`".into());
    };
    let reference = fields.collect::<Vec<_>>().join(" ");
    if reference.is_empty() {
        return Err(format!(
            "{name} {from_text}: no reference (the stable commit or changelog that shows it)"
        ));
    }
    let level = ALL
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| format!("{name} is not a level (harness/src/level/table.rs)"))?;
    if level.decided_by != Decider::Version {
        return Err(format!(
            "{name} is decided by {}, not by version: it needs no backport entry",
            level.decider_text()
        ));
    }
    let from = KernelVersion::parse(from_text)?;
    if from.to_string() != from_text {
        return Err(format!("{from_text:?} is not exactly X.Y.Z"));
    }
    if from.patch == 0 {
        return Err(format!(
            "{from} names no patch level (a first upstream version belongs in the level)"
        ));
    }
    if from >= level.since {
        return Err(format!(
            "{name}: a backport {from} at or after its first version {}",
            level.since
        ));
    }
    Ok(Backport {
        level: level.name,
        from,
        reference,
    })
}
