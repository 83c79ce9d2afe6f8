//! The kinds of kernel-log problem (WARNING/BUG/Oops/panic) the suite's kernel-log scan and
//! the matrix's console classifier both look for.

use serde::{Deserialize, Serialize};

/// How bad a kernel message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// The kernel panicked.
    Panic,
    /// An Oops, BUG, fault or lockup.
    Oops,
    /// A WARNING, sanitizer report, hung task or RCU stall.
    Warning,
}

impl ProblemKind {
    /// The label reports show.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::Panic => "PANIC",
            ProblemKind::Oops => "OOPS/BUG",
            ProblemKind::Warning => "WARNING",
        }
    }
}

/// Classifies one kernel message text (timestamp already removed).
pub fn problem_kind(msg: &str) -> Option<ProblemKind> {
    const PANIC: &[&str] = &["Kernel panic - not syncing", "---[ end Kernel panic"];
    const OOPS_PREFIX: &[&str] = &[
        "Oops:",
        "Oops ",
        "BUG:",
        "kernel BUG at",
        "general protection fault",
        "traps: PANIC:",
        "PANIC: double fault",
        "double fault:",
        "Unable to handle kernel",
        "stack segment: ",
        "invalid opcode: ",
    ];
    const WARN_PREFIX: &[&str] = &[
        "WARNING:",
        "UBSAN:",
        "KASAN:",
        "KFENCE:",
        "INFO: task ",
        "rcu: INFO:",
        "INFO: rcu",
    ];
    const ANYWHERE: &[(&str, ProblemKind)] = &[
        ("BUG: soft lockup", ProblemKind::Oops),
        ("hard LOCKUP", ProblemKind::Oops),
        ("self-detected stall", ProblemKind::Warning),
        ("detected stalls on CPU", ProblemKind::Warning),
        ("blocked for more than", ProblemKind::Warning),
    ];
    if PANIC.iter().any(|p| msg.starts_with(p)) {
        return Some(ProblemKind::Panic);
    }
    if OOPS_PREFIX.iter().any(|p| msg.starts_with(p)) {
        return Some(ProblemKind::Oops);
    }
    if WARN_PREFIX.iter().any(|p| msg.starts_with(p)) {
        return Some(ProblemKind::Warning);
    }
    ANYWHERE
        .iter()
        .find(|(p, _)| msg.contains(p))
        .map(|(_, k)| *k)
}
