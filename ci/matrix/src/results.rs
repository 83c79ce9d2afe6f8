//! The suite's JSON-lines report (written with `--report-json=PATH`), read through the
//! report crate's one reader ([`Report::salvage`]: what the console left of it, the lines
//! that do not parse kept apart).

pub use uring_report::Report as Results;
pub use uring_report::{Case, Feature, Outcome, Run, Summary};
