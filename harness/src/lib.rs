//! The harness of uring-conformance: it knows io_uring features and how to run rows,
//! and no particular case.
//!
//! Flow of a run: probe once -> [`FeatureSet`] -> rows -> libtest-mimic trials -> each row
//! in a fresh context, its answer compared with the expectation for this kernel ->
//! [`Outcome`] -> libtest line and report records.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod answer;
pub mod baseline;
pub mod case;
mod child;
mod classify;
pub mod cli;
pub mod cx;
pub mod detection;
pub mod env;
pub mod feature;
mod health;
pub mod junit;
pub mod kernel_log;
pub mod ktap;
pub mod leaks;
pub mod level;
mod output;
pub mod probe;
pub mod report;
pub mod resource;
pub mod run;
pub mod strict;
pub mod suite;
pub mod table;
mod thread_runner;
mod trial;
pub mod version;

pub use answer::{Answer, CaseError, CaseResult, Expect, Observation, SkipCause, Want};
pub use case::{Case, Cite, Isolation};
pub use cx::{Cx, Setup};
pub use env::Fact;
pub use feature::{Feature, FeatureSet};
pub use level::Level;
pub use report::Outcome;
pub use suite::SuiteVersion;
