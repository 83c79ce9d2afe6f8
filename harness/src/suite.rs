//! The suite's own version and the source commit it was built from: printed by `--version`
//! and written into the run header of every report (the JSON run line, a KTAP comment, JUnit
//! properties), so a result found in a lab's database names the code that produced it.
//!
//! The suite's crate fills it at build time (its build.rs asks git); the harness only
//! carries it.

/// The commit text of a build that could not tell its commit.
pub const UNKNOWN_COMMIT: &str = "unknown";

/// Version and commit of the suite binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteVersion {
    /// The package version (`0.1.0`).
    pub version: &'static str,
    /// The full commit hash, `-dirty` when the tree had changes, or [`UNKNOWN_COMMIT`].
    pub commit: &'static str,
    /// How the commit was found, or why it is unknown.
    pub commit_how: &'static str,
}

/// The version of the crate that calls it, and the commit its build script found.
#[macro_export]
macro_rules! suite_version {
    () => {
        $crate::suite::SuiteVersion {
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("URING_CONFORMANCE_COMMIT"),
            commit_how: env!("URING_CONFORMANCE_COMMIT_HOW"),
        }
    };
}

impl SuiteVersion {
    /// A build that knows neither (test drivers of the harness itself).
    pub const UNKNOWN: SuiteVersion = SuiteVersion {
        version: "0.0.0",
        commit: UNKNOWN_COMMIT,
        commit_how: "a test build of the harness",
    };

    /// What `--version` prints: the name and version, then the commit and how it was found.
    pub fn long(&self) -> String {
        format!(
            "uring-conformance {}\ncommit {} ({})\n",
            self.version, self.commit, self.commit_how
        )
    }

    /// The one-line form for a report's header comment.
    pub fn line(&self) -> String {
        format!("uring-conformance {} commit {}", self.version, self.commit)
    }

    /// A KTAP document with the version as a diagnostic line after its top-level plan, where
    /// kselftest prints its own header comments and every KTAP parser takes a `#` line.
    pub fn ktap_with_header(&self, ktap: &str) -> String {
        let mut out = String::with_capacity(ktap.len() + 80);
        let mut done = false;
        for line in ktap.split_inclusive('\n') {
            out.push_str(line);
            if !done && line.starts_with("1..") {
                out.push_str(&format!("# {}\n", self.line()));
                done = true;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: SuiteVersion = SuiteVersion {
        version: "1.2.3",
        commit: "0123abc-dirty",
        commit_how: "git describe at build time",
    };

    #[test]
    fn version_text() {
        assert_eq!(
            V.long(),
            "uring-conformance 1.2.3\ncommit 0123abc-dirty (git describe at build time)\n"
        );
        let ktap = "KTAP version 1\n1..2\n    KTAP version 1\n    1..1\nok 1 a\n";
        assert_eq!(
            V.ktap_with_header(ktap),
            "KTAP version 1\n1..2\n# uring-conformance 1.2.3 commit 0123abc-dirty\n    \
             KTAP version 1\n    1..1\nok 1 a\n"
        );
    }
}
