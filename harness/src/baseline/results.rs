//! A JSON-lines report read back ([`Results`]) and the list of known kernel bugs
//! ([`Xfail`]).

use crate::report::Outcome;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use uring_report::{parse_lines, Line};

/// One case of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseRow {
    /// Its outcome.
    pub outcome: Outcome,
    /// Skip reason or failure message.
    pub reason: String,
    /// For a row whose level nothing decided: which answer the kernel gave ("has" the
    /// change or "lacks" it); empty otherwise.
    pub level_seen: String,
}

/// A JSON-lines report read back.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The kernel release of the run.
    pub kernel: String,
    /// Feature name -> present.
    pub features: BTreeMap<String, bool>,
    /// Features of this process rather than the kernel (`since` "-", e.g. cap_ipc_lock):
    /// losing one is a change of environment, not a regression.
    pub process_features: BTreeSet<String>,
    /// Case name -> row, in name order.
    pub cases: BTreeMap<String, CaseRow>,
    /// Case names in report order.
    pub order: Vec<String>,
}

impl Results {
    /// Parses a report; unknown line types are ignored.
    pub fn parse(text: &str) -> Result<Results, String> {
        let mut r = Results::default();
        for (n, _, line) in parse_lines(text) {
            match line.map_err(|e| format!("line {n}: {e}"))? {
                Line::Run(run) => r.kernel = run.kernel,
                Line::Feature(f) => {
                    if f.since == "-" {
                        r.process_features.insert(f.name.clone());
                    }
                    r.features.insert(f.name, f.present);
                }
                Line::Case(c) => {
                    r.order.push(c.name.clone());
                    r.cases.insert(
                        c.name,
                        CaseRow {
                            outcome: c.outcome,
                            reason: c.reason,
                            level_seen: c.level_seen.unwrap_or_default(),
                        },
                    );
                }
                _ => {}
            }
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
    s += "{\"type\":\"summary\",\"pass\":0}\n";
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
}
