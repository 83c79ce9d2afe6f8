//! Rows -> libtest-mimic trials: the skip decided from the probe alone, strict mode's
//! failures and its own `strict::feature::*` trials, and the body of a row's trial (run it
//! in a thread or in a child, classify, record).

use crate::case::{Case, Isolation};
use crate::case::{CaseError, Observation};
use crate::child::{retry_while, run_in_child, QUOTA_RETRY_PAUSES_MS};
use crate::classify::{charged_memlock, classify, partial, quota_held, skipped, unexpected_enomem};
use crate::cli::Options;
use crate::env::Fact;
use crate::probe::{Feature, FeatureSet, SetupStatus};
use crate::report::{Outcome, Record};
use crate::strict::Policy;
use crate::thread_runner::run_in_thread;
use libtest_mimic::{Completion, Failed, Trial};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use uring_report::SkipCause;

/// The strict-mode policy, if strict mode is on: the features `baseline` (read before the
/// probe, [`crate::baseline::Results::load`]) found are required too.
pub(crate) fn strict_policy(
    strict: bool,
    baseline: Option<crate::baseline::Results>,
    fs: &FeatureSet,
) -> Option<Policy> {
    strict.then(|| {
        let baseline = baseline.map(|b| {
            let name = crate::strict::series(&b.kernel).unwrap_or(b.kernel.clone());
            (name, b.present_features())
        });
        Policy::new(fs, baseline)
    })
}

/// Strict mode's own trials: one `strict::feature::NAME` per feature this kernel must have,
/// failing when the probe did not find it.
pub(crate) fn strict_trials(
    fs: &Arc<FeatureSet>,
    policy: &Policy,
    records: &Arc<Mutex<Vec<Record>>>,
) -> Vec<Trial> {
    let denied = matches!(fs.setup, SetupStatus::Denied { .. });
    Feature::ALL
        .iter()
        .copied()
        // Without io_uring every feature is missing: one failure says it.
        .filter(|f| !denied || *f == Feature::IoUring)
        .filter(|f| policy.must_have(*f).is_some())
        .map(|f| {
            let name = crate::strict::trial_name(f);
            let violation = policy.violation(fs, f);
            let undetermined = policy.undetermined(fs, f);
            let records = records.clone();
            let trial_name = name.clone();
            Trial::ignorable_test(name, move || {
                let record = match (violation, undetermined) {
                    (Some(m), _) => Record {
                        reason: m.clone(),
                        detail: Some(m),
                        ..Record::new(&trial_name, "strict", Outcome::Fail)
                    },
                    (None, Some(cause)) => Record::skipped(&trial_name, "strict", cause),
                    (None, None) => Record::new(&trial_name, "strict", Outcome::Pass),
                };
                let (outcome, message) = (record.outcome, record.reason.clone());
                records
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(record);
                match outcome {
                    Outcome::Pass => Ok(Completion::Completed),
                    Outcome::Skip => Ok(Completion::ignored_with(message)),
                    _ => Err(Failed::from(message)),
                }
            })
            .with_kind("strict")
        })
        .collect()
}

pub(crate) fn make_trial(
    case: Case,
    fs: Arc<FeatureSet>,
    records: Arc<Mutex<Vec<Record>>>,
    opts: &Options,
    policy: Option<Arc<Policy>>,
    under_nextest: bool,
) -> Trial {
    // Strict mode: a required feature the probe did not find fails the case instead.
    let strict_failure = policy
        .as_ref()
        .and_then(|p| p.first_violation(&fs, case.requires))
        .map(|m| {
            (
                format!("case {}\n  strict: {m}", case.name),
                format!("strict: {m}"),
            )
        });
    let skip_reason = skip_reason(&case, &fs).filter(|_| strict_failure.is_none());
    let timeout = opts.case_timeout;
    let known_skip = skip_reason.is_some();
    let trial = Trial::ignorable_test(case.name, move || {
        let start = Instant::now();
        let (outcome, rec) = match (strict_failure, skip_reason) {
            (Some((m, detail)), _) => (
                Outcome::Fail,
                Record {
                    reason: m,
                    detail: Some(detail),
                    ..partial(&case, Outcome::Fail)
                },
            ),
            (None, Some(cause)) => (Outcome::Skip, skipped(&case, cause)),
            (None, None) => execute(&case, &fs, timeout),
        };
        let rec = Record {
            ms: start.elapsed().as_secs_f64() * 1e3,
            ..rec
        };
        let msg = rec.reason.clone();
        records.lock().unwrap_or_else(|p| p.into_inner()).push(rec);
        match outcome {
            Outcome::Pass => Ok(Completion::Completed),
            Outcome::Skip => Ok(Completion::ignored_with(msg)),
            _ => Err(Failed::from(msg)),
        }
    })
    .with_kind(case.interface());
    // nextest decides skips at list time; plain libtest shows runtime skips with a reason.
    if under_nextest && known_skip {
        trial.with_ignored_flag(true)
    } else {
        trial
    }
}

/// Why `case` cannot run on this kernel, decided from the probe alone.
pub fn skip_reason(case: &Case, fs: &FeatureSet) -> Option<SkipCause> {
    match &fs.setup {
        SetupStatus::Denied { reason, .. } => {
            return Some(SkipCause::IoUringUnavailable {
                reason: reason.to_string(),
            })
        }
        // The probe decided nothing: no feature or level can excuse a row.
        SetupStatus::Broken { .. } => return None,
        SetupStatus::Allowed => {}
    }
    // Both the features a case requires and the one that decides its level.
    let level = case.expect.level().and_then(|l| match l.decided_by {
        crate::level::Decider::Probe(f) => Some(f),
        _ => None,
    });
    let probed = case.requires.iter().copied().chain(level);
    if let Some((f, why)) = probed
        .clone()
        .find_map(|f| fs.undetermined(f).map(|w| (f, w)))
    {
        return Some(crate::resource::undetermined_skip(
            f.name(),
            why,
            why.to_string(),
        ));
    }
    if let Some(f) = fs.missing(case.requires) {
        let how = fs.detection(f).map_or(String::new(), |d| d.how.clone());
        return Some(SkipCause::FeatureMissing {
            feature: f.name().into(),
            since: f.since().to_string(),
            probe: how,
        });
    }
    if let Some(cause) = unmet_fact(fs, case.needs) {
        return Some(cause);
    }
    if let Some(level) = case.needs_level {
        let d = level.decide(fs);
        if d.verdict != crate::level::Verdict::Has {
            return Some(SkipCause::Level {
                change: level.change.to_string(),
                since: level.since.to_string(),
                decision: crate::answer::level_decision(level, &d),
            });
        }
    }
    // A row that measures RLIMIT_MEMLOCK runs as a uid no other task uses (its quota is
    // per user), which needs the right to switch to one and one to switch to.
    if let Isolation::Unprivileged { .. } = case.isolation {
        return unmet_fact(fs, &[Fact::CanDropPrivileges]);
    }
    None
}

/// The first fact of `needs` that does not hold here, with how it was probed.
fn unmet_fact(fs: &FeatureSet, needs: &[Fact]) -> Option<SkipCause> {
    let f = needs.iter().copied().find(|f| !fs.env.holds(*f))?;
    let how = fs.env.detection(f).map_or("not probed", |d| d.how.as_str());
    Some(SkipCause::Fact {
        fact: f.name().into(),
        needs: f.needs().to_string(),
        probe: how.into(),
    })
}

/// Runs one case and classifies the result.
fn execute(case: &Case, fs: &Arc<FeatureSet>, timeout: Duration) -> (Outcome, Record) {
    let result = match case.isolation {
        Isolation::Thread => run_on_thread_sharing_quota(case, fs, timeout),
        Isolation::Unprivileged { memlock } => run_in_child(case, fs, memlock, timeout),
    };
    classify(case, fs, result)
}

/// Held shared by every row running on a thread of this process, exclusively by a row run
/// again alone: rows of a process charged for locked memory share one quota.
static ROWS_ON_THREADS: RwLock<()> = RwLock::new(());

/// Runs a row on a thread, in parallel with others. Where this process is charged for
/// locked memory ([`charged_memlock`]) the rows running at the same time share its quota:
/// a row that ran out of it ([`quota_held`]) is run again alone (no other row running),
/// after a pause for the kernel's ring teardown, before it is judged. An answer ENOMEM is
/// run again after each further pause; a setup step's ENOMEM alone is the resource skip it
/// is (a row that needs more than the limit pays one pause, not all of them).
fn run_on_thread_sharing_quota(
    case: &Case,
    fs: &Arc<FeatureSet>,
    timeout: Duration,
) -> Result<Observation, CaseError> {
    let first = {
        let _shared = ROWS_ON_THREADS.read().unwrap_or_else(|p| p.into_inner());
        run_in_thread(case, fs.clone(), timeout)
    };
    let expected = case.expect.decide(fs);
    if charged_memlock(fs).is_none() || !quota_held(&first, &expected) {
        return first;
    }
    let _alone = ROWS_ON_THREADS.write().unwrap_or_else(|p| p.into_inner());
    std::thread::sleep(Duration::from_millis(QUOTA_RETRY_PAUSES_MS[0]));
    let alone = run_in_thread(case, fs.clone(), timeout);
    retry_while(unexpected_enomem, alone, &expected, || {
        run_in_thread(case, fs.clone(), timeout)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Answer;
    use uring::Errno;

    /// An error the ring crate made itself (the kernel was never asked) is broken, never an
    /// observed answer: here a row that expects EINVAL and would have "passed" when the crate
    /// answered a made-up EINVAL, and a ring setup the crate does not support.
    #[test]
    fn a_library_refusal_is_broken_not_an_answer() {
        use crate::case::{Case, Cite, Expect};
        let refused = Case::new("harness::refused")
            .expect(Expect::errno(Errno::EINVAL))
            .cite(Cite::kernel("-"))
            .run(|cx| {
                let ring = cx.ring()?;
                let m = cx.mem(4096)?;
                let reg = uring::abi::io_uring_buf_reg {
                    ring_addr: m.addr(),
                    ..Default::default()
                };
                cx.sync(
                    "UNREGISTER_PBUF_RING",
                    ring.registrar().unregister_pbuf_ring_raw(reg).map(|_| 0),
                )
            });
        let unsupported = Case::new("harness::unsupported")
            .expect(Expect::errno(Errno::EOPNOTSUPP))
            .cite(Cite::kernel("-"))
            .run(|cx| {
                let b = uring::Ring::builder(4).flags(uring::abi::SetupFlags::NO_MMAP);
                cx.ring_with(b)?;
                Ok(Observation {
                    call: "unreachable".into(),
                    answer: Answer::Sync(Ok(0)),
                })
            });
        let fs = Arc::new(FeatureSet::synthetic(&[]));
        for (case, what) in [
            (refused, "refused by the uring crate"),
            (unsupported, "not supported by the uring crate"),
        ] {
            let (outcome, rec) = execute(&case, &fs, Duration::from_secs(5));
            assert_eq!(outcome, Outcome::Broken, "{}", rec.reason);
            assert!(rec.reason.contains(what), "{}", rec.reason);
            assert_eq!(rec.actual, None, "{}", rec.reason);
        }
    }

    /// A setup that fails with an errno no environment gives (a broken kernel) skips no row,
    /// even one that requires a feature; an unavailable io_uring (EPERM) skips every row.
    #[test]
    fn a_broken_setup_skips_nothing() {
        use crate::case::{Case, Cite, Expect};
        let case = Case::new("harness::needs_a_feature")
            .requires(&[Feature::RsrcTags])
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|cx| Err(CaseError::Fail(format!("{:?}", cx.ring().err()))));
        let mut fs = FeatureSet::synthetic(&[]);
        fs.setup = SetupStatus::Broken {
            errno: Errno::EFAULT,
            reason: "io_uring_setup(4) of valid parameters failed with EFAULT".into(),
        };
        assert_eq!(skip_reason(&case, &fs), None);
        fs.setup = SetupStatus::Denied {
            errno: Errno::EPERM,
            reason: "io_uring_setup is not permitted".into(),
        };
        assert!(matches!(
            skip_reason(&case, &fs),
            Some(SkipCause::IoUringUnavailable { .. })
        ));
    }

    /// A case that waits on a read from an empty pipe ends as a timeout, promptly, and its
    /// ring is torn down (the pending read cancelled, nothing leaked).
    #[test]
    fn waiting_on_an_empty_pipe_is_a_timeout() {
        use crate::case::{Case, Cite, Expect};
        use std::os::fd::AsRawFd;
        let case = Case::new("harness::empty_pipe")
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|cx| {
                let mut ring = cx.ring()?;
                let (r, _w) = std::io::pipe().map_err(|e| CaseError::Broken(e.to_string()))?;
                let buf = cx.mem(4096)?;
                let c = cx.submit_one(
                    &mut ring,
                    uring::op::read(r.as_raw_fd(), buf.slice(0, 8), 8, 0).user_data(1),
                )?;
                cx.cqe("read(empty pipe)", c)
            });
        let fs = Arc::new(FeatureSet::synthetic(&[]));
        let t = Instant::now();
        let (outcome, rec) = execute(&case, &fs, Duration::from_millis(200));
        assert_eq!(outcome, Outcome::Timeout, "{}", rec.reason);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t.elapsed()
        );
        assert!(
            rec.reason.contains("waited for 1 completion"),
            "{}",
            rec.reason
        );
        assert_eq!(uring::census::leaked_regions(), 0);
    }

    /// A case that forgets a ring and a pipe fails and names each fd and mapping it left,
    /// while a clean case run at the same time on another thread is not blamed.
    #[test]
    fn a_case_that_leaks_fails_and_says_what() {
        use crate::case::{Case, Cite, Expect};
        let leaky = Case::new("harness::leaky")
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|cx| {
                let ring = cx.ring()?;
                let (r, _w) = std::io::pipe().map_err(|e| CaseError::Broken(e.to_string()))?;
                std::mem::forget(ring);
                std::mem::forget(r);
                Ok(Observation {
                    call: "nothing".into(),
                    answer: Answer::Sync(Ok(0)),
                })
            });
        let clean = Case::new("harness::clean")
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|cx| {
                let _ring = cx.ring()?;
                let _m = cx.mem(4096)?;
                std::thread::sleep(Duration::from_millis(50));
                Ok(Observation {
                    call: "nothing".into(),
                    answer: Answer::Sync(Ok(0)),
                })
            });
        let fs = Arc::new(FeatureSet::synthetic(&[]));
        let fs2 = fs.clone();
        let other = std::thread::spawn(move || execute(&clean, &fs2, Duration::from_secs(5)));
        let (outcome, rec) = execute(&leaky, &fs, Duration::from_secs(5));
        assert_eq!(outcome, Outcome::Fail, "{}", rec.reason);
        for what in [
            "left behind",
            "anon_inode:[io_uring]",
            "pipe:",
            "mapping 0x",
        ] {
            assert!(rec.reason.contains(what), "{what}: {}", rec.reason);
        }
        // The ring's SQ ring, CQ ring (unless shared) and SQE array, and the pipe.
        assert!(
            rec.reason.matches("mapping 0x").count() >= 2,
            "{}",
            rec.reason
        );
        let (outcome, rec) = other.join().unwrap();
        assert_eq!(outcome, Outcome::Pass, "{}", rec.reason);
    }
}
