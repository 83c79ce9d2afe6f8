//! Runs a case's action on a thread of its own, with the time limit: a case that does not
//! return in time is a timeout, and the run goes on.

use crate::case::{Case, CaseError, Observation};
use crate::classify::with_leftovers;
use crate::cx::Cx;
use crate::kernel_log;
use crate::leaks::CaseScope;
use crate::probe::FeatureSet;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Runs the action on its own thread; if it does not return within the limit (plus a
/// grace period for teardown), the case is a timeout and the run goes on.
pub(crate) fn run_in_thread(
    case: &Case,
    fs: Arc<FeatureSet>,
    timeout: Duration,
) -> Result<Observation, CaseError> {
    let (tx, rx) = mpsc::channel();
    let (run, name, abi) = (case.run, case.name, case.abi);
    // A spawn the task limit (RLIMIT_NPROC, a pids cgroup) refuses is retried while other
    // rows' threads end, then the row skips naming the limit.
    crate::resource::spawn_thread(case.name, move || {
        let _span = kernel_log::case_running(name);
        let scope = CaseScope::enter();
        let mut cx = Cx::new(fs, timeout, abi);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&mut cx)));
        let r = r.unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(CaseError::Broken(format!(
                "panicked: {}",
                msg.unwrap_or_default()
            )))
        });
        let _ = tx.send(with_leftovers(r, scope.leftovers()));
    })?;
    rx.recv_timeout(timeout + Duration::from_secs(5))
        .unwrap_or_else(|_| {
            Err(CaseError::Timeout(format!(
                "the case did not return within {timeout:?}"
            )))
        })
}
