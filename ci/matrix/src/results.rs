//! The suite's JSON-lines report (written with `--report-json=PATH`), read through the
//! report crate's schema: `run`, `feature`, `case` and `summary` records. Unknown record
//! types and extra fields are ignored; lines that do not parse are counted.

use uring_report::{parse_lines, Line};
pub use uring_report::{Case, Feature, Outcome, Run, Summary};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    /// The run header, if the report has one.
    pub run: Option<Run>,
    pub features: Vec<Feature>,
    pub cases: Vec<Case>,
    pub summary: Option<Summary>,
    /// Lines that were not records of the schema (e.g. mangled by interleaved console
    /// output).
    pub bad_lines: Vec<String>,
}

impl Results {
    pub fn parse(text: &str) -> Results {
        let mut r = Results::default();
        for (_, text, line) in parse_lines(text) {
            match line {
                Ok(Line::Run(run)) => r.run = Some(run),
                Ok(Line::Feature(f)) => r.features.push(f),
                Ok(Line::Case(c)) => r.cases.push(*c),
                Ok(Line::Summary(s)) => r.summary = Some(s),
                Ok(Line::Fact(_) | Line::Other) => {}
                Err(_) => r.bad_lines.push(text.to_string()),
            }
        }
        r
    }

    pub fn failing_cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| c.outcome.is_failing())
    }

    /// Counts of case outcomes as seen in the case records.
    pub fn counted(&self) -> Summary {
        Summary::of(self.cases.iter().map(|c| c.outcome))
    }
}
