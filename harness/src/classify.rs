//! A case's observation or error -> its outcome and report record, against what the row
//! expects on this kernel (an ENOMEM that a row on a thread still gets alone, in a process
//! charged for locked memory, is the environment's).

use crate::answer::Expected;
use crate::case::{Answer, Case, CaseError, CaseResult, Isolation, Observation};
use crate::env::Fact;
use crate::probe::FeatureSet;
use crate::report::{Outcome, Record};
use crate::resource::Resource;
use uring::Errno;
use uring_report::SkipCause;

/// The record of `case` with this outcome, nothing else yet.
pub(crate) fn partial(case: &Case, outcome: Outcome) -> Record {
    Record::new(case.name, case.interface(), outcome)
}

/// The record of `case` skipped for `cause`.
pub(crate) fn skipped(case: &Case, cause: SkipCause) -> Record {
    Record::skipped(case.name, case.interface(), cause)
}

pub(crate) fn classify(
    case: &Case,
    fs: &FeatureSet,
    result: Result<Observation, CaseError>,
) -> (Outcome, Record) {
    let expected = case.expect.decide(fs);
    let decision = expected.decision();
    let level_line = decision
        .as_ref()
        .map_or(String::new(), |l| format!("\n  level:    {l}"));
    let judged = |outcome: Outcome| Record {
        expected: Some(expected.to_string()),
        accepts: Some(expected.accepted_answers()),
        level: decision.as_ref().map(ToString::to_string),
        decision: decision.clone(),
        ..partial(case, outcome)
    };
    match result {
        Ok(obs)
            if !expected.accepts(&obs.answer)
                && is_enomem(&obs.answer)
                && case.isolation == Isolation::Thread
                && charged_memlock(fs).is_some() =>
        {
            let cause = crate::resource::resource_cause(
                Resource::LockedMemory,
                &format!(
                    "{} answered it, also when run again alone (no other row running, after the ring teardown pauses)",
                    obs.call
                ),
                Some(Errno::ENOMEM),
                format!(
                    "RLIMIT_MEMLOCK {} bytes without CAP_IPC_LOCK: the locked-memory quota is per uid (user->locked_vm, io_uring/rsrc.c __io_account_mem) and shared with every other process of uid {}; expected {expected}",
                    memlock_limits().0,
                    nix::unistd::getuid()
                ),
            );
            let rec = Record {
                call: Some(obs.call),
                level: decision.as_ref().map(ToString::to_string),
                decision: decision.clone(),
                ..skipped(case, cause)
            };
            (Outcome::Skip, rec)
        }
        Ok(obs) => {
            let actual = obs.answer.to_string();
            let pass = expected.accepts(&obs.answer);
            let outcome = if pass { Outcome::Pass } else { Outcome::Fail };
            let reason = if pass {
                String::new()
            } else {
                format!(
                    "case {}\n  call:     {}\n  expected: {}\n  actual:   {}{level_line}\n  cite:     {}",
                    case.name, obs.call, expected, actual, case.cite
                )
            };
            let rec = Record {
                reason,
                actual: Some(actual),
                answer: Some(obs.answer.to_report()),
                level_seen: expected.seen(&obs.answer),
                call: Some(obs.call),
                ..judged(outcome)
            };
            (outcome, rec)
        }
        Err(CaseError::Skip(cause)) => (
            Outcome::Skip,
            Record {
                level: decision.as_ref().map(ToString::to_string),
                decision: decision.clone(),
                ..skipped(case, cause)
            },
        ),
        Err(e) => {
            let outcome = match &e {
                CaseError::Fail(_) => Outcome::Fail,
                CaseError::Broken(_) => Outcome::Broken,
                CaseError::Timeout(_) => Outcome::Timeout,
                CaseError::Skip(_) => Outcome::Skip,
            };
            let reason = format!(
                "case {}\n  {e}\n  expected: {expected}{level_line}\n  cite:     {}",
                case.name, case.cite
            );
            let rec = Record {
                reason,
                detail: Some(e.to_string()),
                ..judged(outcome)
            };
            (outcome, rec)
        }
    }
}

/// A case that left an fd or a mapping behind fails, saying what it left; a case that
/// already failed keeps its own outcome, with the leftovers added to its message.
pub(crate) fn with_leftovers(r: CaseResult, left: Vec<String>) -> CaseResult {
    if left.is_empty() {
        return r;
    }
    let what = format!("left behind: {}", left.join(", "));
    Err(match r {
        Ok(obs) => CaseError::Fail(format!(
            "{what} (the call {} answered {})",
            obs.call, obs.answer
        )),
        Err(CaseError::Skip(cause)) => CaseError::Fail(format!("{what} (then skipped: {cause})")),
        Err(CaseError::Fail(m)) => CaseError::Fail(format!("{m}; {what}")),
        Err(CaseError::Broken(m)) => CaseError::Broken(format!("{m}; {what}")),
        Err(CaseError::Timeout(m)) => CaseError::Timeout(format!("{m}; {what}")),
    })
}

pub(crate) fn is_enomem(a: &Answer) -> bool {
    matches!(a, Answer::Sync(Err(Errno::ENOMEM)))
        || matches!(a, Answer::Cqe { res, .. } if *res == -libc::ENOMEM)
}

/// The soft RLIMIT_MEMLOCK this process's rings are charged against, if they are: without
/// CAP_IPC_LOCK (in the initial user namespace: io_uring_create sets `ctx->user`) and with a
/// finite limit, every registration of every row draws on one quota per uid, shared with
/// the other rows running at the same time and with other processes of the uid.
pub(crate) fn charged_memlock(fs: &FeatureSet) -> Option<u64> {
    let soft = memlock_limits().0;
    (!fs.env.holds(Fact::CapIpcLock) && soft != libc::RLIM_INFINITY).then_some(soft)
}

/// Whether a row's answer is ENOMEM where the row wants another: a row on a thread of a
/// charged process then runs again alone before it is judged.
pub(crate) fn unexpected_enomem(
    result: &Result<Observation, CaseError>,
    expected: &Expected,
) -> bool {
    matches!(result, Ok(obs) if is_enomem(&obs.answer) && !expected.accepts(&obs.answer))
}

/// Whether a child ran out of locked memory where its row expects something else: the
/// answer ENOMEM ([`unexpected_enomem`]), or ENOMEM from a setup step (a skip whose typed
/// cause is locked memory).
/// Its quota is its own uid's, so it is run again after a pause for the kernel's ring
/// teardown.
pub(crate) fn quota_held(result: &Result<Observation, CaseError>, expected: &Expected) -> bool {
    match result {
        // The setup step's skip (cx.rs `Setup`).
        Err(CaseError::Skip(cause)) => cause.is_locked_memory(),
        other => unexpected_enomem(other, expected),
    }
}

/// The (soft, hard) RLIMIT_MEMLOCK of this process ((0, 0) if it cannot be read).
pub(crate) fn memlock_limits() -> (u64, u64) {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK).unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uring::abi::CqeFlags;

    /// A failure message names the errno the kernel answered, also one the suite never
    /// expects (ENOTBLK) and a kernel-internal one that leaked (ERESTARTSYS).
    #[test]
    fn failure_messages_name_the_errno() {
        use crate::case::{Case, Cite, Expect};
        let case = Case::new("harness::named")
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|_| unreachable!("classified only"));
        let fs = FeatureSet::synthetic(&[]);
        for (answer, name) in [
            (
                Answer::Cqe {
                    res: -15,
                    flags: CqeFlags::NONE,
                },
                "CQE res -ENOTBLK",
            ),
            (Answer::Sync(Err(Errno(15))), "fails with ENOTBLK"),
            (
                Answer::Cqe {
                    res: -512,
                    flags: CqeFlags::NONE,
                },
                "CQE res -ERESTARTSYS",
            ),
            (
                Answer::Cqe {
                    res: -600,
                    flags: CqeFlags::NONE,
                },
                "CQE res -Errno(600)",
            ),
        ] {
            let obs = Observation {
                call: "c".into(),
                answer,
            };
            let (outcome, rec) = classify(&case, &fs, Ok(obs));
            assert_eq!(outcome, Outcome::Fail);
            assert!(rec.reason.contains(name), "{name}: {}", rec.reason);
        }
    }
}
