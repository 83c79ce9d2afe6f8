//! Strict mode: which features this kernel must have, so that a missing one is a failure
//! rather than a skip.
//!
//! "Must have" comes from the first upstream version of each feature ([`Feature::since`])
//! compared with `uname -r`, or from a baseline of this kernel series (a feature its
//! known-good run found). The version table is a floor: Debian kernels backport, so a feature
//! present before its version is fine; only one missing at or after it is reported.

use crate::probe::{Feature, FeatureSet};
use std::collections::BTreeSet;

/// `major.minor` of a release string such as `6.18.44-fc-v595` or `7.2.0-rc1`.
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The version a `since` entry stands for: `"6.12"` is 6.12, `"7.x"` is 7.0 (the first
/// release of that series), `"-"` (not a kernel feature: a capability of this process) is none.
pub fn parse_since(since: &str) -> Option<(u32, u32)> {
    let (major, minor) = since.split_once('.')?;
    let major = major.parse().ok()?;
    let minor = if minor == "x" { 0 } else { minor.parse().ok()? };
    Some((major, minor))
}

/// The kernel series of a release, `major.minor` (the name of its baseline file).
pub fn series(release: &str) -> Option<String> {
    parse_release(release).map(|(a, b)| format!("{a}.{b}"))
}

/// What strict mode holds this kernel to.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `major.minor` of the running kernel, if `uname -r` could be read.
    pub kernel: Option<(u32, u32)>,
    /// Features a baseline of this series found present, and the baseline's name.
    pub baseline: Option<(String, BTreeSet<String>)>,
}

impl Policy {
    /// The policy for this feature set, optionally with a baseline's present features.
    pub fn new(fs: &FeatureSet, baseline: Option<(String, BTreeSet<String>)>) -> Policy {
        Policy {
            kernel: parse_release(&fs.kernel),
            baseline,
        }
    }

    /// Why this kernel must have `f`, or `None` if it need not.
    pub fn must_have(&self, f: Feature) -> Option<String> {
        if let (Some(k), Some(since)) = (self.kernel, parse_since(f.since())) {
            if k >= since {
                return Some(format!(
                    "kernel {}.{} must have {} (since {})",
                    k.0,
                    k.1,
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
    /// and the probe did not find it.
    pub fn violation(&self, fs: &FeatureSet, f: Feature) -> Option<String> {
        if fs.has(f) {
            return None;
        }
        let why = self.must_have(f)?;
        let how = fs.detection(f).map_or("not probed", |d| d.how.as_str());
        Some(format!("{why} but the probe did not find it: {how}"))
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
    fn releases_and_since_entries_parse() {
        assert_eq!(parse_release("6.18.44-fc-v595"), Some((6, 18)));
        assert_eq!(parse_release("7.2.0-rc1+"), Some((7, 2)));
        assert_eq!(parse_release("6.1"), Some((6, 1)));
        assert_eq!(parse_release("synthetic"), None);
        assert_eq!(parse_since("5.19"), Some((5, 19)));
        assert_eq!(parse_since("7.x"), Some((7, 0)));
        assert_eq!(parse_since("-"), None);
        assert_eq!(series("6.12.107-amd64").as_deref(), Some("6.12"));
    }

    fn set(kernel: &str, present: &[Feature]) -> FeatureSet {
        let mut fs = FeatureSet::synthetic(present);
        fs.kernel = kernel.into();
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
        // 7.x features, process capabilities: not required on 6.18.
        assert_eq!(p.violation(&fs, Feature::PbufMinLeft), None);
        assert_eq!(p.violation(&fs, Feature::CapIpcLock), None);
        // Present: never a violation.
        assert_eq!(p.violation(&fs, Feature::IoUring), None);
        // Exactly at the version.
        let fs = set("6.12.0", &[]);
        assert!(Policy::new(&fs, None)
            .violation(&fs, Feature::CloneBuffers)
            .is_some());
    }

    #[test]
    fn backports_before_the_version_are_fine_and_7x_means_7_0() {
        let fs = set("6.1.192", &[Feature::CloneBuffers]);
        let p = Policy::new(&fs, None);
        assert_eq!(p.violation(&fs, Feature::CloneBuffers), None);
        assert_eq!(p.violation(&fs, Feature::PbufRingInc), None);
        let fs = set("7.0.1", &[]);
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
