//! The levels of the running kernel, decided once per run ([`Levels`], kept in
//! [`FeatureSet::levels`]): the skip check, the classification, the child process and rows
//! that ask their level read it instead of deciding again.

use super::{decide_by_probe, Backports, Decider, Decision, Level, Verdict, ALL};
use crate::probe::{Feature, FeatureSet};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Every level's decision for one run, by level name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Levels(BTreeMap<&'static str, Decision>);

impl Levels {
    /// Decides every level of [`ALL`] for the kernel `fs` describes (its probe, facts and
    /// version), with the checked backport table.
    pub fn decide(fs: &FeatureSet, backports: &Backports) -> Levels {
        Levels(
            ALL.iter()
                .map(|l| (l.name, l.judge(fs, backports)))
                .collect(),
        )
    }

    /// The decision of `level`, if it is one of [`ALL`] and was decided.
    pub fn get(&self, level: &Level) -> Option<&Decision> {
        self.0.get(level.name)
    }

    /// Every decision, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Decision)> {
        self.0.iter().map(|(n, d)| (*n, d))
    }

    /// These decisions with the levels decided by a probe of one of `hidden` decided again
    /// (`fs` reports them missing now: see [`FeatureSet::hide`]).
    pub fn with_hidden(&self, fs: &FeatureSet, hidden: &[Feature]) -> Levels {
        let mut out = self.clone();
        for l in ALL {
            if let Decider::Probe(f) = l.decided_by {
                if hidden.contains(&f) {
                    out.0.insert(l.name, decide_by_probe(f, fs));
                }
            }
        }
        out
    }

    /// The decisions as one JSON object, `{"level": {"verdict": "has", "how": "..."}}`: how
    /// the parent hands them to a child process ([`Levels::from_json`]).
    pub fn to_json(&self) -> String {
        let map: Map<String, Value> = self
            .0
            .iter()
            .map(|(n, d)| {
                let v = json!({ "verdict": d.verdict.name(), "how": d.how });
                ((*n).to_string(), v)
            })
            .collect();
        Value::Object(map).to_string()
    }

    /// Reads [`Levels::to_json`]'s text: every level of [`ALL`] exactly once, each with a
    /// known verdict, or an error naming what is wrong.
    pub fn from_json(text: &str) -> Result<Levels, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("levels: not JSON: {e}"))?;
        let Value::Object(map) = value else {
            return Err("levels: not a JSON object".into());
        };
        let mut out = BTreeMap::new();
        for (name, d) in &map {
            let level = ALL
                .iter()
                .find(|l| l.name == name)
                .ok_or_else(|| format!("levels: unknown level {name:?}"))?;
            let verdict = d["verdict"]
                .as_str()
                .and_then(|v| Verdict::ALL.into_iter().find(|k| k.name() == v));
            let (Some(verdict), Some(how)) = (verdict, d["how"].as_str()) else {
                return Err(format!(
                    "levels: {name}: want {{\"verdict\", \"how\"}}, got {d}"
                ));
            };
            let how = how.to_string();
            out.insert(level.name, Decision { verdict, how });
        }
        if let Some(l) = ALL.iter().find(|l| !out.contains_key(l.name)) {
            return Err(format!("levels: {} is missing", l.name));
        }
        Ok(Levels(out))
    }
}
