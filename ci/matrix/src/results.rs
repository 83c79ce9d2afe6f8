//! The suite's JSON-lines report (written with `--report-json=PATH`):
//! `run`, `feature`, `case` and `summary` records. Unknown record types and extra fields
//! are ignored; lines that do not parse are counted.

use crate::json::{self, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feature {
    pub name: String,
    pub present: Option<bool>,
    pub how: String,
    pub since: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Case {
    pub name: String,
    pub interface: String,
    pub outcome: String,
    pub reason: String,
    pub message: String,
    pub ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub pass: u64,
    pub fail: u64,
    pub skip: u64,
    pub broken: u64,
    pub timeout: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    pub kernel: Option<String>,
    pub strict: Option<bool>,
    pub features: Vec<Feature>,
    pub cases: Vec<Case>,
    pub summary: Option<Summary>,
    /// Lines that were not valid JSON objects (e.g. mangled by interleaved console output).
    pub bad_lines: Vec<String>,
}

/// Outcomes that make a run fail.
pub fn is_failing_outcome(outcome: &str) -> bool {
    !matches!(outcome, "pass" | "skip")
}

impl Results {
    pub fn parse(text: &str) -> Results {
        let mut r = Results::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let v = match json::parse(line) {
                Ok(v @ Value::Obj(_)) => v,
                _ => {
                    r.bad_lines.push(line.to_string());
                    continue;
                }
            };
            match v.str_field("type") {
                "run" => {
                    r.kernel = v.get("kernel").and_then(Value::as_str).map(str::to_string);
                    r.strict = v.get("strict").and_then(Value::as_bool);
                }
                "feature" => r.features.push(Feature {
                    name: v.str_field("name").to_string(),
                    present: v.get("present").and_then(Value::as_bool),
                    how: v.str_field("how").to_string(),
                    since: v.str_field("since").to_string(),
                }),
                "case" => r.cases.push(Case {
                    name: v.str_field("name").to_string(),
                    interface: v.str_field("interface").to_string(),
                    outcome: v.str_field("outcome").to_string(),
                    reason: v.str_field("reason").to_string(),
                    message: v.str_field("message").to_string(),
                    ms: v.get("ms").and_then(Value::as_f64),
                }),
                "summary" => {
                    let n = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0) as u64;
                    r.summary = Some(Summary {
                        pass: n("pass"),
                        fail: n("fail"),
                        skip: n("skip"),
                        broken: n("broken"),
                        timeout: n("timeout"),
                    });
                }
                _ => {}
            }
        }
        r
    }

    pub fn failing_cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| is_failing_outcome(&c.outcome))
    }

    /// Counts of case outcomes as seen in the case records.
    pub fn counted(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.cases {
            match c.outcome.as_str() {
                "pass" => s.pass += 1,
                "fail" => s.fail += 1,
                "skip" => s.skip += 1,
                "broken" => s.broken += 1,
                "timeout" => s.timeout += 1,
                _ => s.broken += 1,
            }
        }
        s
    }
}
