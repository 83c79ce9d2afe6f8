//! Strict mode: which features this kernel must have, so that a missing one is a failure
//! rather than a skip.
//!
//! "Must have" comes from the first upstream version of each feature ([`Feature::since`])
//! compared with `uname -r`, or from a baseline of this kernel series (a feature its
//! known-good run found). The version table is a floor: Debian kernels backport, so a feature
//! present before its version is fine; only one missing at or after it is reported.

use crate::probe::{Feature, FeatureSet};
use crate::version::KernelVersion;
use std::collections::BTreeSet;
use uring_report::SkipCause;

/// The kernel series of a release, `major.minor` (the name of its baseline file).
pub fn series(release: &str) -> Option<String> {
    KernelVersion::parse(release)
        .ok()
        .map(KernelVersion::series_name)
}

/// What strict mode holds this kernel to.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The running kernel's version, if it could be read.
    pub kernel: Option<KernelVersion>,
    /// Features a baseline of this series found present, and the baseline's name.
    pub baseline: Option<(String, BTreeSet<String>)>,
}

impl Policy {
    /// The policy for this feature set, optionally with a baseline's present features.
    pub fn new(fs: &FeatureSet, baseline: Option<(String, BTreeSet<String>)>) -> Policy {
        Policy {
            kernel: fs.version.version,
            baseline,
        }
    }

    /// Why this kernel must have `f`, or `None` if it need not.
    pub fn must_have(&self, f: Feature) -> Option<String> {
        if let Some(k) = self.kernel {
            if k >= f.since() {
                return Some(format!(
                    "kernel {} must have {} (since {})",
                    k.series_name(),
                    f.name(),
                    f.since()
                ));
            }
        }
        if let Some((name, present)) = &self.baseline {
            if present.contains(f.name()) {
                return Some(format!(
                    "kernel series {name} must have {} (its baseline has it)",
                    f.name()
                ));
            }
        }
        None
    }

    /// The strict-mode failure for `f` on `fs`: `Some(message)` if the kernel must have it
    /// and the probe did not find it. A probe that ran out of a resource proved nothing:
    /// no failure ([`Policy::undetermined`] says why the feature's trial skips).
    pub fn violation(&self, fs: &FeatureSet, f: Feature) -> Option<String> {
        if fs.has(f) || self.excused(fs, f).is_some() || fs.undetermined(f).is_some() {
            return None;
        }
        let why = self.must_have(f)?;
        let how = fs.detection(f).map_or("not probed", |d| d.how.as_str());
        Some(format!("{why} but the probe did not find it: {how}"))
    }

    /// Why this kernel need not have `f` although its version says so: its configuration
    /// leaves out what `f` is built on (a probed fact, e.g. no CONFIG_NET for RECV/SEND).
    pub fn excused(&self, fs: &FeatureSet, f: Feature) -> Option<String> {
        let fact = f.built_on()?;
        (!fs.env.holds(fact)).then(|| {
            let how = fs
                .env
                .detection(fact)
                .map_or("not probed", |d| d.how.as_str());
            format!("{} needs {}; here: {how}", f.name(), fact.needs())
        })
    }

    /// Why strict mode cannot tell whether this kernel has `f` although it must: the
    /// probe ran out of a resource. The skip reason of `f`'s trial.
    pub fn undetermined(&self, fs: &FeatureSet, f: Feature) -> Option<SkipCause> {
        let u = fs.undetermined(f)?;
        let why = self.must_have(f)?;
        Some(crate::resource::undetermined_skip(
            f.name(),
            u,
            format!("{u}; {why}"),
        ))
    }

    /// The first feature of `req` that is a strict-mode violation, with its message.
    pub fn first_violation(&self, fs: &FeatureSet, req: &[Feature]) -> Option<String> {
        req.iter().find_map(|f| self.violation(fs, *f))
    }
}

/// The name of the extra trial that checks one feature in strict mode.
pub fn trial_name(f: Feature) -> String {
    format!("strict::feature::{}", f.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names() {
        assert_eq!(series("6.12.107-amd64").as_deref(), Some("6.12"));
        assert_eq!(series("synthetic"), None);
    }

    fn set(kernel: &str, present: &[Feature]) -> FeatureSet {
        let mut fs = FeatureSet::synthetic(present);
        fs.kernel = kernel.into();
        fs.version = crate::version::from_release(kernel, "");
        fs
    }

    #[test]
    fn a_feature_missing_at_or_after_its_version_is_a_violation() {
        let fs = set("6.18.44", &[Feature::IoUring]);
        let p = Policy::new(&fs, None);
        let m = p.violation(&fs, Feature::CloneBuffers).unwrap();
        assert!(
            m.starts_with("kernel 6.18 must have clone_buffers (since 6.12) but the probe"),
            "{m}"
        );
        // 7.x features: not required on 6.18.
        assert_eq!(p.violation(&fs, Feature::PbufMinLeft), None);
        // Present: never a violation.
        assert_eq!(p.violation(&fs, Feature::IoUring), None);
        // Exactly at the version.
        let fs = set("6.12.0", &[]);
        assert!(Policy::new(&fs, None)
            .violation(&fs, Feature::CloneBuffers)
            .is_some());
    }

    #[test]
    fn backports_before_the_version_are_fine() {
        let fs = set("6.1.192", &[Feature::CloneBuffers]);
        let p = Policy::new(&fs, None);
        assert_eq!(p.violation(&fs, Feature::CloneBuffers), None);
        assert_eq!(p.violation(&fs, Feature::PbufRingInc), None);
        let fs = set("7.1.1", &[]);
        assert!(Policy::new(&fs, None)
            .violation(&fs, Feature::PbufMinLeft)
            .is_some());
    }

    #[test]
    fn a_baseline_raises_the_floor() {
        let fs = set("6.1.192", &[]);
        let base = Some((
            "6.1".to_string(),
            ["pbuf_ring_inc".to_string()].into_iter().collect(),
        ));
        let p = Policy::new(&fs, base);
        let m = p.violation(&fs, Feature::PbufRingInc).unwrap();
        assert!(m.contains("baseline"), "{m}");
        assert_eq!(p.violation(&fs, Feature::CloneBuffers), None);
    }
}

#[cfg(test)]
mod undetermined_tests {
    use super::*;
    use crate::detection::Undetermined;
    use uring::Errno;

    /// A probe that got ENOMEM (the memlock quota) proved nothing: strict mode neither
    /// fails the feature nor calls it lost; its trial skips naming the resource.
    #[test]
    fn an_undetermined_probe_is_no_violation() {
        let mut fs = FeatureSet::synthetic(&[Feature::IoUring]);
        fs.version = crate::version::from_release("6.18.2", "");
        let how = "io_uring_setup(flags=CQE32) -> ENOMEM";
        let u = Undetermined::of(Errno::ENOMEM, how).unwrap();
        fs.undetermined.insert(Feature::SetupCqe32, u);
        let p = Policy::new(&fs, None);
        assert_eq!(p.violation(&fs, Feature::SetupCqe32), None);
        let cause = p.undetermined(&fs, Feature::SetupCqe32).unwrap();
        assert!(
            matches!(&cause, uring_report::SkipCause::Undetermined { resource: uring_report::Resource::LockedMemory, errno, .. } if errno.number == Errno::ENOMEM.0),
            "{cause:?}"
        );
        let m = cause.to_string();
        assert!(m.starts_with("resource: could not probe setup_cqe32: io_uring_setup(flags=CQE32) -> ENOMEM (RLIMIT_MEMLOCK "), "{m}");
        assert!(m.contains("must have setup_cqe32"), "{m}");
        // Determined and missing: still a violation.
        assert!(p.violation(&fs, Feature::SetupCqeMixed).is_some());
        assert_eq!(p.undetermined(&fs, Feature::SetupCqeMixed), None);
        // EINVAL is an answer, not a resource.
        assert_eq!(Undetermined::of(Errno::EINVAL, how), None);
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;
    use crate::env::Env;

    #[test]
    fn a_feature_the_configuration_leaves_out_is_not_required() {
        let mut fs = FeatureSet::synthetic(&[Feature::IoUring]);
        fs.version = crate::version::from_release("7.2.13", "");
        fs.env = Env::from_names("block_layer", "told by a test");
        let p = Policy::new(&fs, None);
        assert_eq!(p.violation(&fs, Feature::OpRecvSend), None);
        assert!(p
            .excused(&fs, Feature::OpRecvSend)
            .unwrap()
            .contains("CONFIG_NET"));
        fs.env = Env::from_names("net", "told by a test");
        assert!(p.violation(&fs, Feature::OpRecvSend).is_some());
    }
}
