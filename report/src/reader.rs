//! One reader of a report for every consumer: `--compare` and strict mode's baseline (a
//! whole report or an error, [`Report::read`]), the QEMU matrix (what survived of a report
//! mangled by console lines, [`Report::salvage`]) and the mutant runner (through the
//! `uring-report` binary).

use crate::{parse_lines, read_report, Case, Fact, Feature, Line, Run, Summary};

/// A report's records, by kind, in report order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The run header, if the report has one.
    pub run: Option<Run>,
    /// The probe snapshot.
    pub features: Vec<Feature>,
    /// The facts of the environment.
    pub facts: Vec<Fact>,
    /// The cases.
    pub cases: Vec<Case>,
    /// The totals, if the report has them.
    pub summary: Option<Summary>,
    /// Lines that were not records of the schema (e.g. mangled by interleaved console
    /// output); always empty for [`Report::read`].
    pub bad_lines: Vec<String>,
}

impl Report {
    /// A whole report, checked by [`read_report`]: cut, empty or inconsistent is an error.
    pub fn read(text: &str) -> Result<Report, String> {
        let mut r = Report::default();
        for line in read_report(text)? {
            r.add(line);
        }
        Ok(r)
    }

    /// Every record that parses, the other lines kept in `bad_lines`: for a report that
    /// crossed a console, which the caller judges ([`Report::counted`], `summary`).
    pub fn salvage(text: &str) -> Report {
        let mut r = Report::default();
        for (_, text, line) in parse_lines(text) {
            match line {
                Ok(l) => r.add(l),
                Err(_) => r.bad_lines.push(text.to_string()),
            }
        }
        r
    }

    fn add(&mut self, line: Line) {
        match line {
            Line::Run(run) => self.run = Some(run),
            Line::Feature(f) => self.features.push(f),
            Line::Fact(f) => self.facts.push(f),
            Line::Case(c) => self.cases.push(*c),
            Line::Summary(s) => self.summary = Some(s),
            Line::Other => {}
        }
    }

    /// The kernel release of the run ("" without a run header).
    pub fn kernel(&self) -> &str {
        self.run.as_ref().map_or("", |r| r.kernel.as_str())
    }

    /// The case named `name`.
    pub fn case(&self, name: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.name == name)
    }

    /// The cases whose outcome makes a run fail.
    pub fn failing_cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| c.outcome.is_failing())
    }

    /// Counts of case outcomes as seen in the case records.
    pub fn counted(&self) -> Summary {
        Summary::of(self.cases.iter().map(|c| c.outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    #[test]
    fn a_whole_report_reads_and_a_mangled_one_is_salvaged() {
        let text = concat!(
            r#"{"type":"run","kernel":"6.18.1"}"#,
            "\n",
            r#"{"type":"fact","name":"net","holds":true,"how":"x"}"#,
            "\n[   3.1] a console line\n",
            r#"{"type":"case","name":"a::x","outcome":"fail"}"#,
            "\n",
            r#"{"type":"summary","fail":1}"#,
            "\n"
        );
        assert!(Report::read(text).is_err());
        let r = Report::salvage(text);
        assert_eq!(
            (r.kernel(), r.facts.len(), r.bad_lines.len()),
            ("6.18.1", 1, 1)
        );
        assert_eq!(r.case("a::x").map(|c| c.outcome), Some(Outcome::Fail));
        assert_eq!(r.failing_cases().count(), 1);
        assert_eq!(Some(r.counted()), r.summary);
        let whole: String = text
            .lines()
            .filter(|l| !l.starts_with('['))
            .map(|l| format!("{l}\n"))
            .collect();
        let r = Report::read(&whole).unwrap();
        assert!(r.bad_lines.is_empty() && r.cases.len() == 1);
    }
}
