//! What this kernel has, and how each feature was detected: the probes that fill the
//! [`FeatureSet`].
//!
//! Every probe is a call whose answer differs between kernels that have the feature and
//! kernels that lack it (error-paths.md §6); an unknown register opcode always gives EINVAL,
//! so EINVAL alone never proves absence unless the call is built to answer otherwise.
//! Probes are side-effect free (anything registered is unregistered) and print nothing.

use std::collections::BTreeMap;
use std::time::Duration;
use uring::abi::{
    io_uring_buf_reg, CloneFlags, FeatureFlags, MsgRingFlags, Opcode, PbufFlags, SetupFlags,
};
use uring::register::{self, CloneSrc};
use uring::trace::Call;
use uring::{op, Errno, Mem, Ring};

pub use crate::detection::{Detection, Undetermined};
pub use crate::feature::{Feature, FeatureSet, SetupStatus};
use crate::level::{Backports, Levels};
pub use crate::version::kernel_release;
use crate::version::RunningVersion;

mod buffers;
mod msg;
mod ops;

use buffers::*;
use msg::*;
use ops::*;

fn answer<T: std::fmt::Debug, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("{e}"),
    }
}

/// The current value of the io_uring_disabled sysctl, if the kernel has it (6.6+).
pub fn io_uring_disabled_sysctl() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Runs every probe (features, facts of the environment, the kernel version; `version`
/// overrides the version read from the kernel) and decides every level once, with the
/// checked `backports`. Never prints; never panics on a kernel answer.
pub fn probe(version: RunningVersion, backports: &Backports) -> FeatureSet {
    // The environment's probes and the rows write files: past RLIMIT_FSIZE that is EFBIG.
    crate::resource::ignore_sigxfsz();
    let ((mut fs, d), calls) = uring::trace::record(probe_features);
    debug_assert!(
        calls.is_empty(),
        "every probe call is attributed to a feature"
    );
    fs.detections = d.detections;
    fs.probe_calls = d.calls;
    fs.env = crate::env::probe();
    fs.version = version;
    fs.levels = Levels::decide(&fs, backports);
    fs
}

/// Detections with the calls that decided each (drained from the trace at each verdict).
#[derive(Default)]
struct Detections {
    detections: BTreeMap<Feature, Detection>,
    calls: BTreeMap<Feature, Vec<Call>>,
    /// Features whose deciding call ran out of a resource.
    undetermined: BTreeMap<Feature, Undetermined>,
}

impl Detections {
    fn set(&mut self, f: Feature, present: bool, how: String) {
        self.detections.insert(f, Detection { present, how });
        self.calls
            .entry(f)
            .or_default()
            .extend(uring::trace::take());
    }

    /// Like [`Detections::set`] for a probe whose deciding call answered `r`: where that is
    /// an errno of a resource running out (ENOMEM of the memlock quota, EMFILE), the
    /// feature is undetermined, not absent.
    fn set_answer<T, E: Clone + Into<uring::Error>>(
        &mut self,
        f: Feature,
        r: &Result<T, E>,
        present: bool,
        how: String,
    ) {
        let errno = r.as_ref().err().and_then(|e| e.clone().into().kernel());
        if let Some(u) = errno.and_then(|e| Undetermined::of(e, &how)) {
            self.undetermined.insert(f, u);
        }
        self.set(f, present, how);
    }
}

/// Every feature probe, in order: each verdict takes the io_uring calls made since the one
/// before, so the order of the probes is the attribution of their calls.
fn probe_features() -> (FeatureSet, Detections) {
    let mut d = Detections::default();
    let kernel = kernel_release();
    let mut fs = FeatureSet::synthetic(&[]);
    fs.kernel = kernel;
    fs.detections.clear();
    let mut ring = match io_uring(&mut d) {
        Ok(ring) => ring,
        Err(denied) => {
            fs.setup = denied;
            return (fs, d);
        }
    };
    fs.setup_features = ring.features();
    feature_bits(&mut d, ring.features());
    let probe = register_probe(&mut d, &ring);
    if let Ok(p) = &probe {
        fs.ops = p
            .ops
            .iter()
            .filter(|o| o.flags & uring::abi::IO_URING_OP_SUPPORTED != 0)
            .map(|o| o.op)
            .collect();
    }
    opcodes(&mut d, &probe);
    setup_flags(&mut d);
    sparse_buffers(&mut d, &ring);
    clone_buffers(&mut d, &ring);
    clone_ranges(&mut d, &ring);
    pbuf_ring(&mut d, &ring);
    pbuf_ring_mmap(&mut d, &ring);
    let page = Mem::new(4096);
    let slice = page.as_ref().map(|m| m.slice(0, 4096)).map_err(|e| *e);
    pbuf_ring_inc(&mut d, &ring, slice.as_ref());
    pbuf_min_left(&mut d, &ring, slice.as_ref());
    pbuf_status(&mut d, &ring);
    fs.register_opcodes = register_query(&mut d);
    msg_ring(&mut d, supports(&probe, Opcode::MSG_RING));
    rw_attr(&mut d);
    setup_cqe32(&mut d);
    setup_cqe_mixed(&mut d);
    fixed_op_opcodes(&mut d, &probe);
    fixed_buf_net(&mut d, &mut ring);
    recvsend_bundle(&mut d, ring.features());
    // A probe that ran out of a resource proved nothing either way.
    fs.undetermined = std::mem::take(&mut d.undetermined);
    (fs, d)
}

/// [`Feature::IoUring`]: the ring the other probes use; where io_uring_setup(2) fails, why,
/// and every feature absent.
fn io_uring(d: &mut Detections) -> Result<Ring, SetupStatus> {
    let e = match first_ring() {
        Ok(r) => match task_restricted() {
            None => {
                d.set(Feature::IoUring, true, "io_uring_setup(4) -> fd".into());
                return Ok(r);
            }
            Some(reason) => {
                d.set(Feature::IoUring, false, reason.clone());
                for f in Feature::ALL.iter().filter(|f| **f != Feature::IoUring) {
                    d.set(*f, false, "io_uring restricted for this task".into());
                }
                return Err(SetupStatus::Denied {
                    errno: Errno::EPERM,
                    reason,
                });
            }
        },
        Err(e) => e,
    };
    let reason = match (e, io_uring_disabled_sysctl()) {
        (_, Some(v)) if v > 0 => format!("kernel.io_uring_disabled = {v}"),
        (Errno::ENOSYS, _) => {
            "io_uring_setup is not available (kernel without io_uring, or a seccomp filter)".into()
        }
        (Errno::EPERM | Errno::EACCES, _) => {
            "io_uring_setup is not permitted (seccomp filter or LSM)".into()
        }
        // Out of a resource (the memlock quota, fds): every feature is undetermined.
        (e, _) => match Undetermined::of(e, "io_uring_setup(4)") {
            Some(u) => format!("resource: {e}: {u}"),
            // No environment refuses a valid setup so: the kernel is broken, and the rows
            // must say so (broken), not skip as if io_uring were merely unavailable.
            None => {
                let reason = format!("io_uring_setup(4) of valid parameters failed with {e}");
                let how = format!("{reason}: a broken kernel, not an unavailable io_uring");
                for f in Feature::ALL.iter() {
                    d.set_answer(*f, &Err::<(), _>(e), false, how.clone());
                }
                return Err(SetupStatus::Broken { errno: e, reason });
            }
        },
    };
    let how = format!("io_uring_setup(4) -> {e}: {reason}");
    d.set_answer(Feature::IoUring, &Err::<(), _>(e), false, how.clone());
    for f in Feature::ALL.iter().filter(|f| **f != Feature::IoUring) {
        d.set_answer(*f, &Err::<(), _>(e), false, how.clone());
    }
    Err(SetupStatus::Denied { errno: e, reason })
}

/// The probe's first ring. ENOMEM there is the memlock quota, which the rings of a run that
/// has just ended may still hold (the kernel frees a closed ring later, from a kworker): it
/// is tried again after the unprivileged children's pauses (about 1.3 s in all) before the
/// whole run counts as out of that resource.
fn first_ring() -> Result<Ring, Errno> {
    let mut ring = Ring::new(4);
    for &ms in &crate::child::QUOTA_RETRY_PAUSES_MS {
        if ring.as_ref().err() != Some(&Errno::ENOMEM) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(ms));
        ring = Ring::new(4);
    }
    ring
}

/// Why every ring of this task is restricted, if it is: since 7.x a task can carry io_uring
/// restrictions or BPF filters (IORING_REGISTER_RESTRICTIONS / BPF_FILTER on fd -1) that
/// every new ring copies and every child inherits, so the rows would measure a sandbox. A
/// second task registration answers EPERM exactly then (register.c:
/// io_register_restrictions_task); otherwise EACCES or EINVAL (nr_args 0) before anything
/// is allocated, and EINVAL or EBADF on kernels without it.
fn task_restricted() -> Option<String> {
    let call = register::RegisterCall::new(
        register::FdArg::Num(-1),
        uring::abi::RegisterOp::RESTRICTIONS,
        register::ArgPtr::NULL,
        0,
    );
    let r = call.invoke();
    (r == Err(Errno::EPERM)).then(|| {
        format!(
            "{call} -> EPERM: this task has io_uring restrictions or BPF filters (inherited from a parent), which every ring copies"
        )
    })
}

/// [`Feature::RegisterQuery`]: the call answers (a kernel without QUERY refuses
/// `register(-1, QUERY)` with EINVAL or EBADF), whatever its header's result, which the
/// query rows check; the number of register opcodes it reports, where it answered.
fn register_query(d: &mut Detections) -> Option<u32> {
    let q = register::query_opcodes();
    let nr = q
        .as_ref()
        .ok()
        .and_then(|e| e.as_ref().ok())
        .map(|q| q.nr_register_opcodes);
    let how = match &q {
        Ok(Ok(e)) => format!("0, nr_register_opcodes {}", e.nr_register_opcodes),
        Ok(Err(e)) => format!("0, header result {e}"),
        Err(e) => e.to_string(),
    };
    d.set(
        Feature::RegisterQuery,
        q.is_ok(),
        format!("REGISTER_QUERY(opcodes) -> {how}"),
    );
    nr
}

/// Why [`one_res`] has no CQE res: never an errno of its own making.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoCqe {
    SqFull,
    Wait(uring::WaitError),
    NotPosted,
}

impl std::fmt::Display for NoCqe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoCqe::SqFull => f.write_str("no CQE: the SQ was full"),
            NoCqe::Wait(e) => write!(f, "no CQE: {e}"),
            NoCqe::NotPosted => f.write_str("no CQE with the probe's user_data"),
        }
    }
}

/// Runs one SQE on `ring` and returns its CQE res (bounded wait).
fn one_res(ring: &mut Ring, sqe: op::Sqe) -> Result<i32, NoCqe> {
    ring.push(sqe.user_data(1)).map_err(|_| NoCqe::SqFull)?;
    ring.submit_and_wait_timeout(1, Duration::from_secs(2))
        .map_err(NoCqe::Wait)?;
    ring.drain()
        .iter()
        .find(|c| c.user_data == 1)
        .map(|c| c.res)
        .ok_or(NoCqe::NotPosted)
}
