//! Kernel versions as a type: `uname -r` parsed once, compared with the first upstream
//! version of a feature or a behaviour change and with a series' backport table.

use std::fmt;

/// `major.minor.patch` of a kernel (patch 0 where the release names none).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct KernelVersion {
    /// The major number (6 in 6.12.107).
    pub major: u16,
    /// The minor number (12 in 6.12.107).
    pub minor: u16,
    /// The stable patch level (107 in 6.12.107).
    pub patch: u16,
}

/// Shorthand for a first upstream version, `X.Y` (patch 0).
pub const fn v(major: u16, minor: u16) -> KernelVersion {
    KernelVersion {
        major,
        minor,
        patch: 0,
    }
}

impl KernelVersion {
    /// `X.Y.Z`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> KernelVersion {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses the version at the start of a release string: `6.18.44-fc-v595`, `7.2.0-rc1+`,
    /// `6.12.107+deb13-cloud-amd64`, `7.3-rc7` (7.3.0), `6.1`. Anything after the numbers is
    /// a local suffix. Fails on text that does not start with `X.Y`.
    pub fn parse(release: &str) -> Result<KernelVersion, String> {
        let bad = || format!("not a kernel version (X.Y[.Z][suffix]): {release:?}");
        let mut nums = [0u16; 3];
        let mut count = 0;
        let mut rest = release;
        while count < 3 {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                break;
            }
            nums[count] = rest[..digits].parse().map_err(|_| bad())?;
            count += 1;
            rest = &rest[digits..];
            match rest.strip_prefix('.') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
                _ => break,
            }
        }
        if count < 2 {
            return Err(bad());
        }
        Ok(KernelVersion::new(nums[0], nums[1], nums[2]))
    }

    /// The series, `X.Y`.
    pub fn series(self) -> (u16, u16) {
        (self.major, self.minor)
    }

    /// The series as text, `X.Y` (the name of its baseline file).
    pub fn series_name(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == 0 {
            write!(f, "{}.{}", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

/// The running kernel's version and where it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningVersion {
    /// The version, if it could be read.
    pub version: Option<KernelVersion>,
    /// Where it came from: `uname -r`, Debian's version in /proc/version, an override.
    pub source: String,
}

/// Environment variable that overrides the running kernel's version (backport scenarios:
/// a kernel that reports an older version than the behaviour it has).
pub const VERSION_OVERRIDE_ENV: &str = "URING_CONFORMANCE_KERNEL_VERSION";

/// The running kernel's version: the override if given, else `uname -r`; where `uname -r`
/// names no patch level (Debian's `6.1.0-56-cloud-amd64` is an ABI name), the package
/// version in /proc/version (`Debian 6.1.192-2`) gives it.
pub fn running(override_: Option<&str>) -> Result<RunningVersion, String> {
    if let Some(o) = override_ {
        let version = KernelVersion::parse(o)?;
        return Ok(RunningVersion {
            version: Some(version),
            source: format!("override {VERSION_OVERRIDE_ENV} / --kernel-version={o}"),
        });
    }
    let release = kernel_release();
    let proc_version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    Ok(from_release(&release, &proc_version))
}

/// `uname -r`.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// [`running`] without the override, from the two strings the kernel reports.
pub fn from_release(release: &str, proc_version: &str) -> RunningVersion {
    let Ok(uname) = KernelVersion::parse(release) else {
        return RunningVersion {
            version: None,
            source: format!("uname -r {release:?} is not a version"),
        };
    };
    if uname.patch == 0 {
        let debian = proc_version
            .split_whitespace()
            .skip_while(|w| *w != "Debian")
            .nth(1)
            .and_then(|w| KernelVersion::parse(w).ok())
            .filter(|d| d.series() == uname.series());
        if let Some(d) = debian {
            return RunningVersion {
                version: Some(d),
                source: format!("/proc/version (Debian {d}; uname -r {release})"),
            };
        }
    }
    RunningVersion {
        version: Some(uname),
        source: format!("uname -r {release}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse() {
        let p = |s| KernelVersion::parse(s).unwrap();
        assert_eq!(p("6.18.44-fc-v595"), KernelVersion::new(6, 18, 44));
        assert_eq!(p("7.2.0-rc1+"), v(7, 2));
        assert_eq!(
            p("6.12.107+deb13-cloud-amd64"),
            KernelVersion::new(6, 12, 107)
        );
        assert_eq!(p("7.3-rc7"), v(7, 3));
        assert_eq!(p("6.1"), v(6, 1));
        for bad in ["synthetic", "6", "", "x6.1", "6.x"] {
            assert!(KernelVersion::parse(bad).is_err(), "{bad}");
        }
        assert!(v(6, 12) < KernelVersion::new(6, 12, 89));
        assert!(KernelVersion::new(6, 12, 200) < v(6, 13));
        assert_eq!(KernelVersion::new(6, 12, 89).to_string(), "6.12.89");
        assert_eq!(v(6, 13).to_string(), "6.13");
    }

    #[test]
    fn debian_abi_names_take_the_package_version() {
        let pv = "Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-10-01)";
        let r = from_release("6.1.0-56-cloud-amd64", pv);
        assert_eq!(r.version, Some(KernelVersion::new(6, 1, 192)));
        assert!(r.source.contains("Debian 6.1.192"), "{}", r.source);
        // A release with its own patch level keeps it.
        let r = from_release(
            "6.12.95+deb12-cloud-amd64",
            "... Debian 6.12.95-1~bpo12+1 ...",
        );
        assert_eq!(r.version, Some(KernelVersion::new(6, 12, 95)));
        assert_eq!(r.source, "uname -r 6.12.95+deb12-cloud-amd64");
        // Another series' number in /proc/version is not taken.
        let r = from_release("5.10.0-32-cloud-amd64", "Debian 6.1.3");
        assert_eq!(r.version, Some(v(5, 10)));
        assert_eq!(from_release("garbage", "").version, None);
    }

    #[test]
    fn an_override_wins_and_must_parse() {
        let r = running(Some("6.12.50")).unwrap();
        assert_eq!(r.version, Some(KernelVersion::new(6, 12, 50)));
        assert!(running(Some("six")).is_err());
    }
}
