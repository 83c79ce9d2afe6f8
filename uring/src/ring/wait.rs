//! io_uring_enter(2): submitting, and waiting for completions with or without a time limit
//! ([`WaitError`]).

use super::Ring;
use crate::abi::{io_uring_getevents_arg, kernel_timespec, EnterFlags, FeatureFlags, SqRingFlags};
use crate::sys;
use crate::Errno;
use std::time::{Duration, Instant};

/// Why a wait ended without the completions asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The time limit ran out.
    Timeout,
    /// io_uring_enter(2) failed.
    Errno(Errno),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::Timeout => f.write_str("timed out waiting for completions"),
            WaitError::Errno(e) => write!(f, "io_uring_enter failed: {e}"),
        }
    }
}

impl std::error::Error for WaitError {}

impl From<Errno> for WaitError {
    fn from(e: Errno) -> Self {
        WaitError::Errno(e)
    }
}

impl Ring {
    #[inline]
    pub(super) fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        mut flags: EnterFlags,
        arg: Option<&io_uring_getevents_arg>,
    ) -> Result<i32, Errno> {
        // Precomputed by set_registered_index: no branch on the registration here.
        let fd = self.enter_fd;
        flags |= self.enter_flags;
        let (p, sz) = match arg {
            Some(a) => {
                flags |= EnterFlags::EXT_ARG;
                (
                    a as *const io_uring_getevents_arg as *const libc::c_void,
                    std::mem::size_of::<io_uring_getevents_arg>(),
                )
            }
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `arg` is NULL or a live io_uring_getevents_arg whose `ts` points to a live
        // timespec (see wait_with); every SQE being submitted references only memory in
        // `self.anchors` or foreign addresses, kept alive until teardown.
        unsafe { sys::io_uring_enter(fd, to_submit, min_complete, flags, p, sz) }
    }

    /// Submits every pushed SQE; returns how many the kernel consumed.
    #[inline]
    pub fn submit(&mut self) -> Result<u32, Errno> {
        let n = self.flush_sq();
        if self.sqpoll {
            if SqRingFlags(self.sq_flags_raw()).contains(SqRingFlags::NEED_WAKEUP) {
                self.enter(n, 0, EnterFlags::SQ_WAKEUP, None)?;
            }
            return Ok(n);
        }
        if n == 0 {
            return Ok(0);
        }
        self.enter(n, 0, EnterFlags::NONE, None).map(|r| r as u32)
    }

    /// Submits and waits (without a time limit) until at least `want` CQEs are ready.
    /// Prefer [`Ring::submit_and_wait_timeout`] wherever the kernel might never answer.
    #[inline]
    pub fn submit_and_wait(&mut self, want: u32) -> Result<u32, Errno> {
        let n = self.flush_sq();
        let flags = if self.sqpoll {
            EnterFlags::GETEVENTS | EnterFlags::SQ_WAKEUP
        } else {
            EnterFlags::GETEVENTS
        };
        loop {
            match self.enter(n, want, flags, None) {
                Err(Errno::EINTR) => continue,
                r => return r.map(|r| r as u32),
            }
        }
    }

    /// Submits and waits until `want` CQEs are ready or `timeout` passes.
    pub fn submit_and_wait_timeout(
        &mut self,
        want: u32,
        timeout: Duration,
    ) -> Result<u32, WaitError> {
        let n = self.flush_sq();
        self.wait_with(n, want, timeout)
    }

    /// Waits until `want` CQEs are ready (submitting nothing) or `timeout` passes.
    pub fn wait_timeout(&mut self, want: u32, timeout: Duration) -> Result<(), WaitError> {
        self.wait_with(0, want, timeout).map(|_| ())
    }

    pub(super) fn wait_with(
        &mut self,
        mut to_submit: u32,
        want: u32,
        timeout: Duration,
    ) -> Result<u32, WaitError> {
        let deadline = Instant::now() + timeout;
        let mut submitted = 0;
        let ext = self.params.features.contains(FeatureFlags::EXT_ARG);
        loop {
            if to_submit == 0 && self.cq_ready() >= want && !self.needs_taskrun() {
                return Ok(submitted);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let res = if ext {
                let ts = kernel_timespec {
                    tv_sec: left.as_secs() as i64,
                    tv_nsec: left.subsec_nanos() as i64,
                };
                let arg = io_uring_getevents_arg {
                    ts: &ts as *const kernel_timespec as u64,
                    ..Default::default()
                };
                self.enter(to_submit, want, EnterFlags::GETEVENTS, Some(&arg))
            } else {
                // No EXT_ARG (before 5.11): submit, flush task work, and poll the CQ.
                let r = self.enter(to_submit, 0, EnterFlags::GETEVENTS, None);
                if r.is_ok() && self.cq_ready() < want {
                    std::thread::sleep(Duration::from_millis(1).min(left));
                }
                r
            };
            match res {
                Ok(n) => {
                    submitted += n as u32;
                    to_submit = to_submit.saturating_sub(n as u32);
                }
                Err(Errno::ETIME) | Err(Errno::EINTR) | Err(Errno::EAGAIN) | Err(Errno::EBUSY) => {}
                Err(e) => return Err(WaitError::Errno(e)),
            }
            if self.cq_ready() >= want && to_submit == 0 {
                return Ok(submitted);
            }
            if Instant::now() >= deadline {
                return Err(WaitError::Timeout);
            }
        }
    }

    pub(super) fn needs_taskrun(&self) -> bool {
        SqRingFlags(self.sq_flags_raw()).contains(SqRingFlags::TASKRUN)
    }
}
