//! Baselines and the compare command.
//!
//! A baseline is the JSON-lines report (`--report-json`) of a known-good run on one kernel
//! series, kept as `fixtures/baselines/<series>.jsonl`. [`compare`] reads a baseline and a new
//! report and sorts every difference: regressions (pass -> fail / skip / broken / timeout,
//! skip -> fail, a feature the baseline had and the new run lost), fixes (fail -> pass),
//! new and removed cases. Known kernel bugs are listed in an xfail file
//! (`fixtures/xfail.txt`): such a case failing is `xfail`, passing is `xpass`; neither is a
//! regression.

use crate::report::Outcome;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A JSON scalar (our reports are flat objects of scalars).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// true / false.
    Bool(bool),
    /// null.
    Null,
}

impl Scalar {
    fn str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses one flat JSON object (`{"k": scalar, ...}`).
pub fn parse_object(line: &str) -> Result<BTreeMap<String, Scalar>, String> {
    let mut p = Parser {
        s: line.as_bytes(),
        i: 0,
    };
    let mut m = BTreeMap::new();
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
        return finish(p, m);
    }
    loop {
        p.ws();
        let k = p.string()?;
        p.ws();
        p.eat(b':')?;
        p.ws();
        let v = p.scalar()?;
        m.insert(k, v);
        p.ws();
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {
                p.i += 1;
                break;
            }
            _ => return Err(format!("expected , or }} at byte {}", p.i)),
        }
    }
    finish(p, m)
}

/// Accepts the object if nothing but white space follows it.
fn finish(
    mut p: Parser<'_>,
    m: BTreeMap<String, Scalar>,
) -> Result<BTreeMap<String, Scalar>, String> {
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing text at byte {}", p.i));
    }
    Ok(m)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {} at byte {}", c as char, self.i))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or("bad \\u escape")?;
                            self.i += 4;
                            char::from_u32(hex).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i)),
                    };
                    let mut b = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }
    fn scalar(&mut self) -> Result<Scalar, String> {
        let rest = &self.s[self.i..];
        for (lit, v) in [
            (&b"true"[..], Scalar::Bool(true)),
            (b"false", Scalar::Bool(false)),
            (b"null", Scalar::Null),
        ] {
            if rest.starts_with(lit) {
                self.i += lit.len();
                return Ok(v);
            }
        }
        if self.peek() == Some(b'"') {
            return self.string().map(Scalar::Str);
        }
        let start = self.i;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|n| n.parse().ok())
            .map(Scalar::Num)
            .ok_or_else(|| format!("bad value at byte {start}"))
    }
}

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

/// Kinds of difference between a baseline and a new run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Worse than the baseline: makes the compare fail.
    Regression,
    /// Better than the baseline.
    Fix,
    /// A known kernel bug, still failing.
    Xfail,
    /// A known kernel bug that now passes.
    Xpass,
    /// A case the baseline does not have.
    New,
    /// A case the new run does not have.
    Removed,
    /// Something else changed (fail -> broken, feature gained).
    Changed,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Regression => "REGRESSION",
            Kind::Fix => "FIX",
            Kind::Xfail => "XFAIL",
            Kind::Xpass => "XPASS",
            Kind::New => "NEW",
            Kind::Removed => "REMOVED",
            Kind::Changed => "CHANGED",
        }
    }
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// Its kind.
    pub kind: Kind,
    /// `case NAME` or `feature NAME`.
    pub subject: String,
    /// What changed, e.g. `pass -> fail`.
    pub change: String,
    /// The new run's reason, or the xfail's reason and reference.
    pub detail: String,
}

fn bad(o: Outcome) -> bool {
    matches!(o, Outcome::Fail | Outcome::Broken | Outcome::Timeout)
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("case "))
        .unwrap_or("")
        .to_string()
}

/// Every difference between `base` and `new`, regressions first.
pub fn compare(base: &Results, new: &Results, xfail: &[Xfail]) -> Vec<Diff> {
    let series = crate::strict::series(&new.kernel).unwrap_or_default();
    let known = |case: &str| {
        xfail
            .iter()
            .find(|x| x.case == case && (x.series == "*" || x.series == series))
    };
    let mut out = Vec::new();
    let mut push = |kind, subject: String, change: String, detail: String| {
        out.push(Diff {
            kind,
            subject,
            change,
            detail,
        })
    };
    for (f, was) in &base.features {
        let lost = if base.process_features.contains(f) {
            Kind::Changed
        } else {
            Kind::Regression
        };
        match (*was, new.features.get(f)) {
                (true, Some(false)) => push(
                lost,
                format!("feature {f}"),
                "present -> missing".into(),
                String::new(),
            ),
            // A feature this version of the suite no longer probes (its probe was the call
            // of a row, or it became a fact of the environment): not the kernel's doing.
            (true, None) => push(
                Kind::Changed,
                format!("feature {f}"),
                "no longer probed".into(),
                String::new(),
            ),
            (false, Some(true)) => push(
                Kind::Changed,
                format!("feature {f}"),
                "missing -> present".into(),
                String::new(),
            ),
            _ => {}
        }
    }
    for name in &new.order {
        let n = &new.cases[name];
        let subject = format!("case {name}");
        let Some(b) = base.cases.get(name) else {
            push(
                Kind::New,
                subject,
                n.outcome.name().into(),
                first_line(&n.reason),
            );
            continue;
        };
        // A row that accepts either answer of an undecided level: the baseline pins the one
        // it saw, and the kernel going back to the old answer is a regression.
        if b.outcome == Outcome::Pass
            && n.outcome == Outcome::Pass
            && !b.level_seen.is_empty()
            && !n.level_seen.is_empty()
            && b.level_seen != n.level_seen
        {
            let kind = if b.level_seen == "has" {
                Kind::Regression
            } else {
                Kind::Changed
            };
            let change = format!("level: {} the change -> {}", b.level_seen, n.level_seen);
            push(kind, subject, change, first_line(&n.reason));
            continue;
        }
        let change = format!("{} -> {}", b.outcome.name(), n.outcome.name());
        if let Some(x) = known(name) {
            let why = format!("{} ({})", x.reason, x.reference);
            if bad(n.outcome) {
                push(Kind::Xfail, subject, change, why);
                continue;
            }
            if n.outcome == Outcome::Pass {
                push(Kind::Xpass, subject, change, why);
                continue;
            }
        }
        let kind = match (b.outcome, n.outcome) {
            (x, y) if x == y => continue,
            (Outcome::Pass, _) => Kind::Regression,
            (Outcome::Skip, y) if bad(y) => Kind::Regression,
            (_, Outcome::Pass) => Kind::Fix,
            _ => Kind::Changed,
        };
        push(kind, subject, change, first_line(&n.reason));
    }
    for name in &base.order {
        if !new.cases.contains_key(name) {
            push(
                Kind::Removed,
                format!("case {name}"),
                format!("was {}", base.cases[name].outcome.name()),
                String::new(),
            );
        }
    }
    out.sort_by_key(|d| d.kind);
    out
}

/// The compare report as text.
pub fn render(base: &Results, new: &Results, diffs: &[Diff]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "baseline: kernel {} ({} cases); new: kernel {} ({} cases)",
        base.kernel,
        base.cases.len(),
        new.kernel,
        new.cases.len()
    );
    for d in diffs {
        let _ = write!(o, "{:<10} {}: {}", d.kind.label(), d.subject, d.change);
        if !d.detail.is_empty() {
            let _ = write!(o, " ({})", d.detail);
        }
        o.push('\n');
    }
    let n = |k: Kind| diffs.iter().filter(|d| d.kind == k).count();
    let _ = writeln!(
        o,
        "{} regressions, {} fixes, {} xfail, {} xpass, {} new, {} removed, {} other changes",
        n(Kind::Regression),
        n(Kind::Fix),
        n(Kind::Xfail),
        n(Kind::Xpass),
        n(Kind::New),
        n(Kind::Removed),
        n(Kind::Changed)
    );
    o
}

/// `compare BASELINE NEW [--xfail=PATH]`: prints the differences; exit status 1 on any
/// regression, 2 on a usage or read error, 0 otherwise. The xfail list defaults to
/// `URING_XFAIL`, else `xfail.txt` in the parent of the baseline's directory
/// (`fixtures/xfail.txt` for `fixtures/baselines/6.18.jsonl`) if it exists.
pub fn compare_main(args: &[String]) -> ExitCode {
    let mut paths = Vec::new();
    let mut xfail_path: Option<PathBuf> = std::env::var_os("URING_XFAIL").map(PathBuf::from);
    for a in args {
        if let Some(p) = a.strip_prefix("--xfail=") {
            xfail_path = Some(p.into());
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let [base_path, new_path] = &paths[..] else {
        eprintln!("usage: compare BASELINE.jsonl NEW.jsonl [--xfail=PATH]");
        return ExitCode::from(2);
    };
    let xfail_path = xfail_path.or_else(|| {
        let p = base_path.parent()?.parent()?.join("xfail.txt");
        p.exists().then_some(p)
    });
    let run = || -> Result<(String, bool), String> {
        let base = Results::load(base_path)?;
        let new = Results::load(new_path)?;
        let xfail = match &xfail_path {
            Some(p) => parse_xfail(
                &std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
            )?,
            None => Vec::new(),
        };
        let diffs = compare(&base, &new, &xfail);
        let regressed = diffs.iter().any(|d| d.kind == Kind::Regression);
        Ok((render(&base, &new, &diffs), regressed))
    };
    match run() {
        Ok((text, regressed)) => {
            print!("{text}");
            if regressed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(kernel: &str, features: &[(&str, bool)], cases: &[(&str, &str)]) -> Results {
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

    #[test]
    fn a_baseline_pins_the_answer_of_an_undecided_level() {
        let run = |seen: &str| {
            let s = format!(
                "{{\"type\":\"run\",\"kernel\":\"6.12.50\"}}\n{{\"type\":\"case\",\"name\":\"a::x\",\"interface\":\"a\",\"outcome\":\"pass\",\"reason\":\"\",\"level\":\"l: undecided\",\"level_seen\":\"{seen}\"}}\n"
            );
            Results::parse(&s).unwrap()
        };
        let d = compare(&run("has"), &run("lacks"), &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, Kind::Regression, "{}", d[0].change);
        assert_eq!(d[0].change, "level: has the change -> lacks");
        let d = compare(&run("lacks"), &run("has"), &[]);
        assert_eq!(d[0].kind, Kind::Changed);
        assert!(compare(&run("has"), &run("has"), &[]).is_empty());
    }

    #[test]
    fn a_feature_no_longer_probed_is_no_regression() {
        let base = report("6.18.1", &[("blind_register", true)], &[]);
        let new = report("6.18.1", &[], &[]);
        let d = compare(&base, &new, &[]);
        assert_eq!(d[0].kind, Kind::Changed);
        assert_eq!(d[0].change, "no longer probed");
    }

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

    #[test]
    fn sorts_regressions_fixes_new_and_removed() {
        let base = report(
            "6.18.1",
            &[("f", true), ("g", false), ("h", true), ("cap", true)],
            &[
                ("a::p2f", "pass"),
                ("a::p2s", "pass"),
                ("a::f2p", "fail"),
                ("a::s2f", "skip"),
                ("a::same", "pass"),
                ("a::gone", "pass"),
                ("a::f2b", "fail"),
            ],
        );
        let new = report(
            "6.18.9",
            &[("f", false), ("g", true), ("h", true), ("cap", false)],
            &[
                ("a::p2f", "fail"),
                ("a::p2s", "skip"),
                ("a::f2p", "pass"),
                ("a::s2f", "timeout"),
                ("a::same", "pass"),
                ("a::f2b", "broken"),
                ("a::fresh", "pass"),
            ],
        );
        let d = compare(&base, &new, &[]);
        let got: Vec<(Kind, &str, &str)> = d
            .iter()
            .map(|d| (d.kind, d.subject.as_str(), d.change.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Regression, "feature f", "present -> missing"),
                (Kind::Regression, "case a::p2f", "pass -> fail"),
                (Kind::Regression, "case a::p2s", "pass -> skip"),
                (Kind::Regression, "case a::s2f", "skip -> timeout"),
                (Kind::Fix, "case a::f2p", "fail -> pass"),
                (Kind::New, "case a::fresh", "pass"),
                (Kind::Removed, "case a::gone", "was pass"),
                (Kind::Changed, "feature cap", "present -> missing"),
                (Kind::Changed, "feature g", "missing -> present"),
                (Kind::Changed, "case a::f2b", "fail -> broken"),
            ]
        );
        let text = render(&base, &new, &d);
        assert!(text.contains("REGRESSION case a::p2f: pass -> fail (why \"A\")\n"));
        assert!(text.ends_with(
            "4 regressions, 1 fixes, 0 xfail, 0 xpass, 1 new, 1 removed, 3 other changes\n"
        ));
    }

    #[test]
    fn known_kernel_bugs_are_xfail_and_xpass() {
        let xf = parse_xfail(
            "# known bugs\n\
             a::bug | 6.18 | https://example.invalid/bug | EFAULT instead of EINVAL\n\
             a::any | * | commit 0123abcd | wrong flags\n\
             a::other | 6.1 | ref | only on 6.1\n",
        )
        .unwrap();
        assert_eq!(xf.len(), 3);
        let base = report(
            "6.18.1",
            &[],
            &[("a::bug", "pass"), ("a::any", "fail"), ("a::other", "pass")],
        );
        let new = report(
            "6.18.2",
            &[],
            &[("a::bug", "fail"), ("a::any", "pass"), ("a::other", "fail")],
        );
        let d = compare(&base, &new, &xf);
        let kinds: Vec<(Kind, &str)> = d.iter().map(|d| (d.kind, d.subject.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Kind::Regression, "case a::other"),
                (Kind::Xfail, "case a::bug"),
                (Kind::Xpass, "case a::any"),
            ]
        );
        assert_eq!(
            d[1].detail,
            "EFAULT instead of EINVAL (https://example.invalid/bug)"
        );
        assert!(parse_xfail("a::x | 6.18 | ref").is_err());
    }
}
