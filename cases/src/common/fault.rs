//! Fault injection (CONFIG_FAIL_* through /proc/self/task/TID/make-it-fail and fail-nth):
//! the fact and the stepping shared by `fault_injection` and `fault_injection_msg`.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use uring_harness::{CaseError, Fact, Setup};

pub(crate) const FI: &[Fact] = &[Fact::FaultInjection];

/// The walk's bound: the calls here make well under 20 fault-injectable allocations.
pub(crate) const MAX_STEPS: u32 = 64;

/// This thread's /proc/thread-self/fail-nth, opened before any step (the open allocates);
/// left 0 when dropped, so no armed fault outlives the row.
pub(crate) struct FailNth(File);

impl FailNth {
    pub(crate) fn open() -> Result<FailNth, CaseError> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/proc/thread-self/fail-nth")
            .map(FailNth)
            .setup("open /proc/thread-self/fail-nth")
    }

    /// Runs `call` with the `n`-th fault-injectable allocation of this thread failing;
    /// returns its answer and whether the fault was injected.
    pub(crate) fn around<R>(
        &self,
        n: u32,
        call: impl FnOnce() -> R,
    ) -> Result<(R, bool), CaseError> {
        let text = n.to_string().into_bytes();
        (&self.0).write(&text).setup("write fail-nth")?;
        let r = call();
        let mut buf = [0u8; 16];
        let read = self.0.read_at(&mut buf, 0);
        self.disarm()?;
        let len = read.setup("read fail-nth back")?;
        let left = String::from_utf8_lossy(&buf[..len]).trim().to_string();
        Ok((r, left == "0"))
    }

    pub(crate) fn disarm(&self) -> Result<(), CaseError> {
        (&self.0)
            .write(b"0")
            .map(|_| ())
            .setup("write 0 to fail-nth")
    }
}

impl Drop for FailNth {
    fn drop(&mut self) {
        let _ = self.disarm();
    }
}

/// Prefixes an effect check's failure with the step it happened at.
pub(crate) fn at_step<T>(n: u32, r: Result<T, CaseError>) -> Result<T, CaseError> {
    r.map_err(|e| match e {
        CaseError::Fail(m) => CaseError::Fail(format!("at fail-nth={n}: {m}")),
        other => other,
    })
}
