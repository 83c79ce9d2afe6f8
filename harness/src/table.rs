//! The case table as JSON (traceability) and the probe report (features of this kernel).

use crate::case::Case;
use crate::level::{Backports, Level};
use crate::probe::FeatureSet;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Where `--cases-json` reads the kernel mutants' results: the files `URING_MUTANT_RESULTS`
/// lists (separated like `PATH`), else the checkout's [`MUTANT_RESULTS`]. Read at run time,
/// not compiled in: the files are outputs of `ci/mutants.sh`, which rewrites them while the
/// suite it built runs.
pub const MUTANT_RESULTS_ENV: &str = "URING_MUTANT_RESULTS";
/// Every table of results: the hand-written mutants' and the generated ones'.
const MUTANT_RESULTS: [&str; 2] = [
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/mutants/results.tsv"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/mutants/generated-results.tsv"
    ),
];
const MUTANT_HEADER: &str = "mutant\tsection\tverdict\tkilling_rows\tmeant_rows\tdetail";

/// What a kernel mutant did to the suite (a line of `fixtures/mutants/results.tsv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MutantVerdict {
    /// A row failed (or the boot did): the mutant was caught.
    Killed,
    /// Every row passed or skipped.
    Survived,
    /// The mutant did not compile.
    NoCompile,
}

/// One mutant's line of the results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutantResult {
    /// Its id.
    pub id: String,
    /// What it did.
    pub verdict: MutantVerdict,
    /// The rows that failed on it.
    pub killing_rows: Vec<String>,
}

/// The mutants' results: a `#` comment, the header, one mutant a line with every column,
/// each mutant once; anything else is an error naming the line.
pub fn parse_mutant_results(text: &str) -> Result<Vec<MutantResult>, String> {
    let mut seen = std::collections::HashSet::new();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    match lines.next() {
        Some((_, h)) if h == MUTANT_HEADER => {}
        _ => return Err(format!("no header line `{MUTANT_HEADER}`")),
    }
    lines
        .map(|(n, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            let bad = |why: &str| format!("line {}: {why}: {l}", n + 1);
            let [id, _section, verdict, killing, _meant, _detail] = f[..] else {
                return Err(bad("not 6 tab-separated columns"));
            };
            if !seen.insert(id) {
                return Err(bad("a mutant named twice"));
            }
            let verdict = match verdict {
                "KILLED" => MutantVerdict::Killed,
                "SURVIVED" => MutantVerdict::Survived,
                "no-compile" => MutantVerdict::NoCompile,
                _ => return Err(bad("a verdict that is not KILLED, SURVIVED or no-compile")),
            };
            let killing_rows = match killing {
                "-" => Vec::new(),
                rows => rows.split(',').map(str::to_string).collect(),
            };
            Ok(MutantResult {
                id: id.into(),
                verdict,
                killing_rows,
            })
        })
        .collect()
}

/// Reads every table of the mutants' results ([`MUTANT_RESULTS_ENV`]); a missing or
/// malformed file, or a mutant in two tables, is an error naming it.
pub fn load_mutant_results() -> Result<Vec<MutantResult>, String> {
    let paths: Vec<PathBuf> = match std::env::var_os(MUTANT_RESULTS_ENV) {
        Some(list) => std::env::split_paths(&list).collect(),
        None => MUTANT_RESULTS.iter().map(Into::into).collect(),
    };
    read_mutant_tables(&paths)
}

/// The mutants of every table in `paths`, in order; see [`load_mutant_results`].
fn read_mutant_tables(paths: &[PathBuf]) -> Result<Vec<MutantResult>, String> {
    let mut all = Vec::new();
    let mut first_table = std::collections::HashMap::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "the kernel mutants' results {}: {e} (set {MUTANT_RESULTS_ENV} to the files ci/mutants.sh writes)",
                path.display()
            )
        })?;
        let table = parse_mutant_results(&text)
            .map_err(|e| format!("the kernel mutants' results {}: {e}", path.display()))?;
        for m in table {
            if let Some(first) = first_table.insert(m.id.clone(), path) {
                return Err(format!(
                    "the kernel mutants' results: {} is in {} and in {}",
                    m.id,
                    first.display(),
                    path.display()
                ));
            }
            all.push(m);
        }
    }
    Ok(all)
}

/// The mutants that `case` killed (a row of theirs failed on that mutant).
fn killed_mutants<'a>(mutants: &'a [MutantResult], case: &str) -> Vec<&'a str> {
    mutants
        .iter()
        .filter(|m| m.verdict == MutantVerdict::Killed && m.killing_rows.iter().any(|r| r == case))
        .map(|m| m.id.as_str())
        .collect()
}

/// The whole case table as JSON: `{"cases": [...], "uncovered": [...]}`, each case with
/// name, interface, requirements, expected answer per level, citation, catalogue rows
/// covered, notes and the kernel mutants it killed (of `mutants`); each uncovered
/// catalogue path with the reason no row covers it. One case (one uncovered path) a line.
pub fn cases_json(
    cases: &[Case],
    uncovered: &[&[(&str, &str)]],
    backports: &Backports,
    mutants: &[MutantResult],
) -> String {
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
            "abi": match c.abi {
                uring::Abi::Native => "native",
                uring::Abi::Compat => "compat",
            },
            "native_only": c.native_only,
            "killed_mutants": killed_mutants(mutants, c.name),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Both committed tables read (the hand-written mutants' and the generated ones'), and a
    /// file cut, reordered, with a new verdict or a mutant twice is an error naming the line.
    #[test]
    fn mutant_results_are_whole_or_refused() {
        let committed: Vec<PathBuf> = MUTANT_RESULTS.iter().map(Into::into).collect();
        let all = read_mutant_tables(&committed).unwrap();
        assert!(all.iter().any(|m| m.verdict == MutantVerdict::Killed));
        assert_eq!(
            killed_mutants(&all, "register_buffers::nr_zero").first(),
            Some(&"reg_nr_zero_accepted")
        );
        assert!(killed_mutants(&all, "nop::unknown_flag").contains(&"g_nop_io_nop_prep_nocheck_01"));
        let row = "m\ts\tKILLED\ta::x,a::y\ta::x\tdetail";
        let ok = format!("# c\n{MUTANT_HEADER}\n{row}\n");
        let m = parse_mutant_results(&ok).unwrap();
        assert_eq!(killed_mutants(&m, "a::y"), ["m"]);
        for (text, why) in [
            (String::new(), "no header"),
            (row.to_string(), "no header"),
            (format!("{MUTANT_HEADER}\nm\ts\tKILLED\n"), "line 2: not 6"),
            (
                format!("{MUTANT_HEADER}\n{}\n", row.replace("KILLED", "DEAD")),
                "line 2: a verdict",
            ),
            (
                format!("{MUTANT_HEADER}\n{row}\n{row}\n"),
                "line 3: a mutant named twice",
            ),
        ] {
            let e = parse_mutant_results(&text).expect_err(&text);
            assert!(e.contains(why), "{e}");
        }
    }

    /// A mutant in two tables is refused with both files named; a missing table is named.
    #[test]
    fn mutant_tables_name_each_mutant_once() {
        let dir = tempfile::tempdir().unwrap();
        let table = |name: &str, id: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("{MUTANT_HEADER}\n{id}\ts\tSURVIVED\t-\t\t-\n")).unwrap();
            p
        };
        let (a, b, c) = (
            table("a.tsv", "m"),
            table("b.tsv", "n"),
            table("c.tsv", "m"),
        );
        assert_eq!(read_mutant_tables(&[a.clone(), b]).unwrap().len(), 2);
        let e = read_mutant_tables(&[a.clone(), c.clone()]).unwrap_err();
        assert!(
            e.contains("m is in") && e.contains("a.tsv") && e.contains("c.tsv"),
            "{e}"
        );
        let e = read_mutant_tables(&[a, dir.path().join("none.tsv")]).unwrap_err();
        assert!(e.contains("none.tsv"), "{e}");
    }
}
