//! A JSON-lines report read back ([`Results`]) and the list of known kernel bugs
//! ([`Xfail`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use uring_report::Report;

/// One case of a report: the report crate's record.
pub use uring_report::Case as CaseRow;

/// A JSON-lines report read back ([`Report::read`]), indexed for comparison by name.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The kernel release of the run.
    pub kernel: String,
    /// Feature name -> present.
    pub features: BTreeMap<String, bool>,
    /// Features of this process rather than the kernel (`since` "-", e.g. cap_ipc_lock):
    /// losing one is a change of environment, not a regression.
    pub process_features: BTreeSet<String>,
    /// Case name -> record, in name order.
    pub cases: BTreeMap<String, CaseRow>,
    /// Case names in report order.
    pub order: Vec<String>,
}

impl Results {
    /// Parses a whole report, checked by [`Report::read`] (a report cut short or whose
    /// summary disagrees with its cases is an error); unknown line types are ignored.
    pub fn parse(text: &str) -> Result<Results, String> {
        let report = Report::read(text)?;
        let mut r = Results {
            kernel: report.kernel().to_string(),
            ..Results::default()
        };
        for f in report.features {
            if f.since == "-" {
                r.process_features.insert(f.name.clone());
            }
            r.features.insert(f.name, f.present);
        }
        for c in report.cases {
            r.order.push(c.name.clone());
            r.cases.insert(c.name.clone(), c);
        }
        Ok(r)
    }

    /// Reads and parses a report file.
    pub fn load(path: &Path) -> Result<Results, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Results::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The features present in this run.
    pub fn present_features(&self) -> BTreeSet<String> {
        self.features
            .iter()
            .filter(|(_, p)| **p)
            .map(|(f, _)| f.clone())
            .collect()
    }
}

/// One known kernel bug: a case expected to fail on some series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xfail {
    /// The case name.
    pub case: String,
    /// Kernel series it applies to (`6.18`), or `*` for every series.
    pub series: String,
    /// Where the bug is recorded (commit, mailing-list thread, issue).
    pub reference: String,
    /// Why it fails.
    pub reason: String,
}

/// Parses an xfail list: `case | series | reference | reason` per line, `#` comments.
pub fn parse_xfail(text: &str) -> Result<Vec<Xfail>, String> {
    let mut v = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
        if f.len() != 4 || f.iter().any(|s| s.is_empty()) {
            return Err(format!(
                "xfail line {}: want `case | series | reference | reason`",
                n + 1
            ));
        }
        v.push(Xfail {
            case: f[0].into(),
            series: f[1].into(),
            reference: f[2].into(),
            reason: f[3].into(),
        });
    }
    Ok(v)
}

/// A report of a run on `kernel` with these features and cases, read back (for the tests).
#[cfg(test)]
pub(super) fn report(kernel: &str, features: &[(&str, bool)], cases: &[(&str, &str)]) -> Results {
    let mut s = format!("{{\"type\":\"run\",\"kernel\":\"{kernel}\",\"strict\":false}}\n");
    for (f, p) in features {
        let since = if f.starts_with("cap") { "-" } else { "6.1" };
        s += &format!("{{\"type\":\"feature\",\"name\":\"{f}\",\"present\":{p},\"how\":\"x\",\"since\":\"{since}\"}}\n");
    }
    for (c, o) in cases {
        s += &format!("{{\"type\":\"case\",\"name\":\"{c}\",\"interface\":\"a\",\"outcome\":\"{o}\",\"reason\":\"why \\\"\\u0041\\\"\\n\",\"call\":null,\"expected\":null,\"actual\":null,\"ms\":1.250}}\n");
    }
    let outcomes = cases
        .iter()
        .map(|(_, o)| uring_report::Outcome::from_name(o).expect("an outcome"));
    s += &(uring_report::Line::Summary(uring_report::Summary::of(outcomes)).to_json() + "\n");
    Results::parse(&s).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse() {
        assert!(Results::parse("{\"type\":\"run\"} x").is_err());
        assert!(Results::parse("{\"type\":\"case\",\"outcome\":\"meh\"}").is_err());
        let r = report("6.18.1", &[("f", true)], &[("a::x", "skip")]);
        assert_eq!(r.cases["a::x"].reason, "why \"A\"\n");
    }

    /// A report cut at a line boundary (no summary) or empty is refused: read as it was, it
    /// would pass strict mode a lost feature and --compare a lost case.
    #[test]
    fn a_report_cut_short_or_empty_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.jsonl");
        for (text, why) in [
            ("", "empty"),
            (
                "{\"type\":\"run\",\"kernel\":\"6.18.1\"}\n",
                "no summary line",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Results::load(&path).expect_err(text);
            assert!(e.starts_with(&format!("{}: ", path.display())), "{e}");
            assert!(e.contains(why), "{e}");
        }
    }

    /// Every committed baseline reads as a whole report.
    #[test]
    fn every_committed_baseline_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/baselines");
        let mut seen = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "jsonl") {
                let r = Results::load(&path).unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    !r.cases.is_empty() && !r.features.is_empty(),
                    "{}",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen >= 7, "{seen} baselines in {}", dir.display());
    }
}
