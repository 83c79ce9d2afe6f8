//! Levels that are not the answer: no row's expected answer may be decided by a probe of the
//! very call the row checks, since such a row could never fail. Every row whose level is
//! decided by a probe is run here with the ring crate's call trace on, and its call under
//! test is compared with every call the deciding probe made.

use std::sync::Arc;
use std::time::Duration;
use uring::trace::Call;
use uring_conformance::TABLES;
use uring_harness::level::{self, Decider};
use uring_harness::{probe, Case, Cx, Expect};

/// The part of a call that names the kernel operation (SQE user_data does not).
fn op_of(c: &Call) -> Call {
    match *c {
        Call::Sqe { op, .. } => Call::Sqe { op, user_data: 0 },
        other => other,
    }
}

fn cases() -> Vec<Case> {
    TABLES.iter().flat_map(|t| t.iter().copied()).collect()
}

#[test]
fn no_level_is_decided_by_its_rows_call() {
    const {
        assert!(
            uring::trace::ENABLED,
            "the levels test needs uring's trace feature"
        )
    };
    let version = uring_harness::version::running(None).expect("kernel version");
    let backports = level::Backports::committed().expect("the backport table");
    let fs = Arc::new(probe::probe(version, backports));
    let mut checked = 0;
    let mut problems = Vec::new();
    for case in cases() {
        let Expect::ByLevel { level, .. } = case.expect else {
            continue;
        };
        let Decider::Probe(feature) = level.decided_by else {
            continue;
        };
        let probe_ops: Vec<Call> = fs
            .probe_calls
            .get(&feature)
            .map(|v| v.iter().map(op_of).collect())
            .unwrap_or_default();
        if probe_ops.is_empty() {
            problems.push(format!(
                "{}: the probe of {} recorded no io_uring call",
                case.name,
                feature.name()
            ));
            continue;
        }
        if fs.missing(case.requires).is_some() {
            // Not runnable here; its call cannot be shown on this kernel.
            continue;
        }
        let mut cx = Cx::new(fs.clone(), Duration::from_secs(10), case.abi);
        let (result, _) = uring::trace::record(|| (case.run)(&mut cx));
        let Some(call) = cx.observed_call() else {
            problems.push(format!(
                "{}: no io_uring call behind its observation ({result:?})",
                case.name
            ));
            continue;
        };
        if probe_ops.contains(&op_of(&call)) {
            problems.push(format!(
                "{}: level {} is decided by probe {}, which makes the row's own call {call:?}",
                case.name,
                level.name,
                feature.name()
            ));
        }
        checked += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked >= 3,
        "only {checked} probe-decided rows were checked"
    );
}

/// Every level a row uses is in the table of levels, and every level of the table is used.
#[test]
fn every_level_is_listed_and_used() {
    let used: Vec<&str> = cases()
        .iter()
        .filter_map(|c| c.expect.level().or(c.needs_level))
        .map(|l| l.name)
        .collect();
    for name in &used {
        assert!(
            level::ALL.iter().any(|l| l.name == *name),
            "level {name} is not in level::ALL"
        );
    }
    for l in level::ALL {
        assert!(used.contains(&l.name), "level {} is used by no row", l.name);
    }
}
