//! A JSON-lines report read back ([`Results`]) and the list of known kernel bugs
//! ([`Xfail`]).

use super::json::{parse_object, Scalar};
use crate::report::Outcome;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let o = parse_object(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            let get = |k: &str| o.get(k).and_then(Scalar::str).unwrap_or("").to_string();
            match o.get("type").and_then(Scalar::str) {
                Some("run") => r.kernel = get("kernel"),
                Some("feature") => {
                    let present = o.get("present") == Some(&Scalar::Bool(true));
                    if get("since") == "-" {
                        r.process_features.insert(get("name"));
                    }
                    r.features.insert(get("name"), present);
                }
                Some("case") => {
                    let name = get("name");
                    let outcome = Outcome::from_name(&get("outcome"))
                        .ok_or_else(|| format!("line {}: unknown outcome", n + 1))?;
                    r.order.push(name.clone());
                    r.cases.insert(
                        name,
                        CaseRow {
                            outcome,
                            reason: get("reason"),
                            level_seen: get("level_seen"),
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
    fn flat_objects_parse() {
        let o =
            parse_object(r#" {"a": "x\"\u00e9\n", "b": -1.5e2, "c": true, "d": null} "#).unwrap();
        assert_eq!(o["a"], Scalar::Str("x\"é\n".into()));
        assert_eq!(o["b"], Scalar::Num(-150.0));
        assert_eq!(o["c"], Scalar::Bool(true));
        assert_eq!(o["d"], Scalar::Null);
        assert!(parse_object("{\"a\":1} x").is_err());
        assert!(parse_object("{\"a\":}").is_err());
        let r = report("6.18.1", &[("f", true)], &[("a::x", "skip")]);
        assert_eq!(r.cases["a::x"].reason, "why \"A\"\n");
    }
}
