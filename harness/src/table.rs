//! The case table as JSON (traceability) and the probe report (features of this kernel).

use crate::case::Case;
use crate::probe::FeatureSet;
use crate::report::json_str;
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
/// covered, notes and the kernel mutants it killed; each uncovered catalogue path with the reason no row covers it.
pub fn cases_json(cases: &[Case], uncovered: &[&[(&str, &str)]]) -> String {
    let mut o = String::from("{\"cases\": [\n");
    for (i, c) in cases.iter().enumerate() {
        let list = |v: Vec<String>| v.join(",");
        let requires = list(c.requires.iter().map(|f| json_str(f.name())).collect());
        let needs = list(c.needs.iter().map(|f| json_str(f.name())).collect());
        let level = c.expect.level().map_or("null".into(), level_json);
        let levels = list(
            c.expect
                .levels()
                .iter()
                .map(|(l, w)| {
                    format!(
                        "{{\"level\":{},\"expect\":{}}}",
                        json_str(l),
                        json_str(&w.to_string())
                    )
                })
                .collect(),
        );
        let rows = list(c.cite.catalogue.iter().map(|r| json_str(r)).collect());
        let man = c
            .cite
            .man
            .map_or("null".into(), |(p, s)| json_str(&format!("{p} {s}")));
        let note = c.cite.note.map_or("null".into(), json_str);
        let isolation = match c.isolation {
            crate::case::Isolation::Thread => "\"thread\"".to_string(),
            crate::case::Isolation::Unprivileged { memlock } => {
                format!("{{\"unprivileged_memlock\":{memlock}}}")
            }
        };
        let killed = list(killed_mutants(c.name).into_iter().map(json_str).collect());
        let _ = write!(
            o,
            "  {{\"name\":{},\"interface\":{},\"requires\":[{requires}],\"needs\":[{needs}],\"expect\":[{levels}],\"level\":{level},\"man\":{man},\"kernel\":{},\"catalogue\":[{rows}],\"note\":{note},\"isolation\":{isolation},\"killed_mutants\":[{killed}]}}",
            json_str(c.name),
            json_str(c.interface()),
            json_str(c.cite.kernel),
        );
        o.push_str(if i + 1 < cases.len() { ",\n" } else { "\n" });
    }
    o.push_str("],\n\"uncovered\": [\n");
    let all: Vec<_> = uncovered.iter().flat_map(|t| t.iter()).collect();
    for (i, (id, why)) in all.iter().enumerate() {
        let _ = write!(
            o,
            "  {{\"catalogue\":{},\"reason\":{}}}",
            json_str(id),
            json_str(why)
        );
        o.push_str(if i + 1 < all.len() { ",\n" } else { "\n" });
    }
    o.push_str("]}\n");
    o
}

/// A level as JSON: name, change, first version, source, how it is decided, backports.
fn level_json(l: &crate::level::Level) -> String {
    let backports: Vec<String> = l
        .backports()
        .iter()
        .map(|b| {
            format!(
                "{{\"from\":{},\"reference\":{}}}",
                json_str(&b.from.to_string()),
                json_str(&b.reference)
            )
        })
        .collect();
    format!(
        "{{\"name\":{},\"change\":{},\"since\":{},\"source\":{},\"decided_by\":{},\"backports\":[{}]}}",
        json_str(l.name),
        json_str(l.change),
        json_str(&l.since.to_string()),
        json_str(l.source),
        json_str(&l.decider_text()),
        backports.join(",")
    )
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
