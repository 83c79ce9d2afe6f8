//! The compare command on the committed baselines: an edited copy must be caught.

use std::path::{Path, PathBuf};
use std::process::Command;
use uring_report::{Line, Summary};

fn baselines() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/baselines");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/baselines")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no baseline in {}", dir.display());
    v
}

/// Runs `uring-compare base new [extra]`: (exit code, stdout).
fn compare(base: &Path, new: &str, extra: &[String]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let new_path = dir.path().join("new.jsonl");
    std::fs::write(&new_path, new).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_uring-compare"))
        .arg(base)
        .arg(&new_path)
        .args(extra)
        .env_remove("URING_XFAIL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

/// The copy with the first line containing `from` changed to `to` (and the summary line
/// counting the cases again, as a report of that run would), and that line's name.
fn edit(text: &str, from: &str, to: &str) -> (String, String) {
    let line = text.lines().find(|l| l.contains(from)).expect(from);
    let name = line.split("\"name\":\"").nth(1).unwrap();
    let name = name[..name.find('"').unwrap()].to_string();
    (
        recount(&text.replacen(line, &line.replace(from, to), 1)),
        name,
    )
}

/// `text` with its summary line made from its case lines.
fn recount(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut outcomes = Vec::new();
    for l in text.lines() {
        match Line::parse(l) {
            Ok(Line::Summary(_)) => continue,
            Ok(Line::Case(c)) => outcomes.push(c.outcome),
            _ => {}
        }
        lines.push(l.to_string());
    }
    lines.push(Line::Summary(Summary::of(outcomes)).to_json());
    lines.join("\n") + "\n"
}

#[test]
fn a_baseline_compared_with_itself_has_no_regression() {
    for b in baselines() {
        let text = std::fs::read_to_string(&b).unwrap();
        let (code, out) = compare(&b, &text, &[]);
        assert_eq!(code, 0, "{}: {out}", b.display());
        assert!(out.contains("0 regressions, 0 fixes"), "{out}");
    }
}

#[test]
fn a_case_that_passed_and_now_fails_is_a_regression() {
    for b in baselines() {
        let text = std::fs::read_to_string(&b).unwrap();
        let (new, name) = edit(&text, "\"outcome\":\"pass\"", "\"outcome\":\"fail\"");
        let (code, out) = compare(&b, &new, &[]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!("REGRESSION case {name}: pass -> fail")),
            "{out}"
        );
        // The same failure listed as a known kernel bug is an xfail, not a regression.
        let dir = tempfile::tempdir().unwrap();
        let xfail = dir.path().join("xfail.txt");
        std::fs::write(&xfail, format!("{name} | * | test | known bug\n")).unwrap();
        let (code, out) = compare(&b, &new, &[format!("--xfail={}", xfail.display())]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("XFAIL      case {name}")), "{out}");
    }
}

#[test]
fn a_lost_kernel_feature_is_a_regression() {
    for b in baselines() {
        let text = std::fs::read_to_string(&b).unwrap();
        // The first kernel feature present (not a process capability, since "-").
        let line = text
            .lines()
            .find(|l| l.contains("\"present\":true") && !l.contains("\"since\":\"-\""))
            .expect("a present feature");
        let (new, name) = edit(
            &text,
            line,
            &line.replace("\"present\":true", "\"present\":false"),
        );
        let (code, out) = compare(&b, &new, &[]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!("REGRESSION feature {name}: present -> missing")),
            "{out}"
        );
    }
}
