//! The case table as JSON (traceability) and the probe report (features of this kernel).

use crate::case::Case;
use crate::level::{Backports, Level};
use crate::probe::FeatureSet;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The kernel mutants' results (ci/mutants.sh): `mutant\tsection\tverdict\tkilling_rows\t...`.
const MUTANT_RESULTS: &str = include_str!("../../fixtures/mutants/results.tsv");

/// The mutants of `MUTANT_RESULTS` that `case` killed (a row of theirs failed on that mutant).
fn killed_mutants(case: &str) -> Vec<&'static str> {
    MUTANT_RESULTS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() > 3 && f[2] == "KILLED" && f[3].split(',').any(|r| r == case)).then_some(f[0])
        })
        .collect()
}

/// The whole case table as JSON: `{"cases": [...], "uncovered": [...]}`, each case with
/// name, interface, requirements, expected answer per level, citation, catalogue rows
/// covered, notes and the kernel mutants it killed; each uncovered catalogue path with the
/// reason no row covers it. One case (one uncovered path) a line.
pub fn cases_json(cases: &[Case], uncovered: &[&[(&str, &str)]], backports: &Backports) -> String {
    let cases = cases.iter().map(|c| {
        let isolation = match c.isolation {
            crate::case::Isolation::Thread => json!("thread"),
            crate::case::Isolation::Unprivileged { memlock } => {
                json!({ "unprivileged_memlock": memlock })
            }
        };
        let levels: Vec<Value> = c
            .expect
            .levels()
            .iter()
            .map(|(l, w)| json!({ "level": l, "expect": w.to_string() }))
            .collect();
        json!({
            "name": c.name,
            "interface": c.interface(),
            "requires": c.requires.iter().map(|f| f.name()).collect::<Vec<_>>(),
            "needs": c.needs.iter().map(|f| f.name()).collect::<Vec<_>>(),
            "expect": levels,
            "level": c.expect.level().map(|l| level_json(l, backports)),
            "man": c.cite.man.map(|(p, s)| format!("{p} {s}")),
            "kernel": c.cite.kernel,
            "catalogue": c.cite.catalogue,
            "note": c.cite.note,
            "isolation": isolation,
            "killed_mutants": killed_mutants(c.name),
        })
    });
    let uncovered = uncovered
        .iter()
        .flat_map(|t| t.iter())
        .map(|(id, why)| json!({ "catalogue": id, "reason": why }));
    format!(
        "{{\"cases\": [\n{}],\n\"uncovered\": [\n{}]}}\n",
        one_a_line(cases),
        one_a_line(uncovered)
    )
}

/// Values as JSON, one a line, indented, comma-separated.
fn one_a_line(values: impl Iterator<Item = Value>) -> String {
    let v: Vec<String> = values.map(|v| format!("  {v}")).collect();
    if v.is_empty() {
        String::new()
    } else {
        v.join(",\n") + "\n"
    }
}

/// A level as JSON: name, change, first version, source, how it is decided, backports.
fn level_json(l: &Level, backports: &Backports) -> Value {
    let backports: Vec<Value> = backports
        .of(l)
        .map(|b| json!({ "from": b.from.to_string(), "reference": b.reference }))
        .collect();
    json!({
        "name": l.name,
        "change": l.change,
        "since": l.since.to_string(),
        "source": l.source,
        "decided_by": l.decider_text(),
        "backports": backports,
    })
}

/// A human table of every feature the suite knows, for the running kernel.
pub fn probe_table(fs: &FeatureSet) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "kernel {} (version {}: {})  setup features {:#x}  sqe opcodes {}",
        fs.kernel,
        fs.version
            .version
            .map_or("unknown".into(), |v| v.to_string()),
        fs.version.source,
        fs.setup_features.0,
        fs.ops.len()
    );
    let _ = writeln!(o, "{:<22} {:<7} {:<6} how", "feature", "present", "since");
    for (f, d) in fs.detections() {
        let _ = writeln!(
            o,
            "{:<22} {:<7} {:<6} {}",
            f.name(),
            if d.present { "yes" } else { "no" },
            f.since().to_string(),
            d.how
        );
    }
    let _ = writeln!(o, "{:<22} {:<7} how", "fact", "holds");
    for (f, d) in fs.env.facts() {
        let _ = writeln!(
            o,
            "{:<22} {:<7} {}",
            f.name(),
            if d.present { "yes" } else { "no" },
            d.how
        );
    }
    o
}
