//! The case-by-kernel and feature-by-kernel tables.
//!
//! A kernel's suite may have run in several modes in one boot (default and `--strict`): a
//! cell shows one value when the modes agree (or only one mode has the row, as the strict
//! mode's `strict::feature::*` trials), else each mode's value joined with `/` in the order of
//! the column's modes, as the header says (`default/strict`).

use crate::classify::{outcome_cell, Flag};
use crate::results::Results;

/// One suite run of a kernel column.
pub struct ModeColumn<'a> {
    /// `default` or `strict`.
    pub mode: &'a str,
    pub flags: &'a [Flag],
    pub results: Option<&'a Results>,
}

/// What one kernel column shows.
pub struct Column<'a> {
    pub name: &'a str,
    pub release: Option<&'a str>,
    /// Its suite runs, at least one.
    pub modes: Vec<ModeColumn<'a>>,
}

/// One cell from the modes' values (None: that mode's report has no such row): the value
/// when the modes that have one agree, else every mode's value (`-` for none) joined by `/`.
pub fn combine_cells(values: &[Option<String>]) -> String {
    let mut have = values.iter().flatten();
    let Some(first) = have.next() else {
        return "-".into();
    };
    if have.all(|v| v == first) {
        return first.clone();
    }
    values
        .iter()
        .map(|v| v.as_deref().unwrap_or("-"))
        .collect::<Vec<_>>()
        .join("/")
}

/// The header note on how multi-mode cells read, e.g. ` [default/strict]`.
fn modes_note(cols: &[Column]) -> String {
    match cols.iter().map(|c| c.modes.len()).max() {
        Some(n) if n > 1 => {
            let c = cols.iter().find(|c| c.modes.len() == n).unwrap();
            format!(
                " [{}]",
                c.modes.iter().map(|m| m.mode).collect::<Vec<_>>().join("/")
            )
        }
        _ => String::new(),
    }
}

/// The boot status of a column: each mode's [`status_cell`], combined.
pub fn column_status(c: &Column) -> String {
    let v: Vec<Option<String>> = c
        .modes
        .iter()
        .map(|m| Some(status_cell(m.flags, m.results.is_some())))
        .collect();
    combine_cells(&v)
}

pub fn status_cell(flags: &[Flag], has_results: bool) -> String {
    if flags.is_empty() {
        return if has_results { "ok".into() } else { "-".into() };
    }
    flags.iter().map(Flag::short).collect::<Vec<_>>().join("+")
}

/// Renders rows as an aligned text table or a Markdown table.
pub fn render(headers: &[String], rows: &[Vec<String>], markdown: bool) -> String {
    let n = headers.len();
    let mut w: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let fmt_row = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, width) in w.iter().enumerate() {
            let c = cells.get(i).map(String::as_str).unwrap_or("");
            let pad = width - c.chars().count();
            if markdown {
                s.push_str("| ");
                s.push_str(&c.replace('|', "\\|"));
                s.push_str(&" ".repeat(pad + 1));
            } else {
                s.push_str(c);
                if i + 1 < n {
                    s.push_str(&" ".repeat(pad + 2));
                }
            }
        }
        if markdown {
            s.push('|');
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = fmt_row(headers);
    if markdown {
        out.push_str(
            &(0..n)
                .map(|i| format!("|{}", "-".repeat(w[i] + 2)))
                .collect::<String>(),
        );
        out.push_str("|\n");
    } else {
        out.push_str(
            &(0..n)
                .map(|i| "-".repeat(w[i]))
                .collect::<Vec<_>>()
                .join("  "),
        );
        out.push('\n');
    }
    for r in rows {
        out.push_str(&fmt_row(r));
    }
    out
}

fn headers(first: &str, cols: &[Column]) -> Vec<String> {
    std::iter::once(first.to_string())
        .chain(cols.iter().map(|c| c.name.to_string()))
        .collect()
}

/// Case rows x kernel columns, with the boot status and release as the first rows.
pub fn case_table(cols: &[Column], markdown: bool) -> String {
    let mut rows = vec![
        std::iter::once("(boot)".to_string())
            .chain(cols.iter().map(column_status))
            .collect::<Vec<_>>(),
        std::iter::once("(uname -r)".to_string())
            .chain(cols.iter().map(|c| c.release.unwrap_or("-").to_string()))
            .collect(),
    ];
    let mut names: Vec<&str> = Vec::new();
    for c in cols {
        for m in &c.modes {
            for case in m.results.map(|r| r.cases.as_slice()).unwrap_or(&[]) {
                if !names.contains(&case.name.as_str()) {
                    names.push(&case.name);
                }
            }
        }
    }
    names.sort();
    for name in names {
        let mut row = vec![name.to_string()];
        for c in cols {
            let values: Vec<Option<String>> = c
                .modes
                .iter()
                .map(|m| match m.results {
                    None => Some("-".into()),
                    Some(r) => r
                        .cases
                        .iter()
                        .find(|x| x.name == name)
                        .map(|x| outcome_cell(x.outcome)),
                })
                .collect();
            row.push(combine_cells(&values));
        }
        rows.push(row);
    }
    let first = format!("case{}", modes_note(cols));
    render(&headers(&first, cols), &rows, markdown)
}

fn first_results<'a>(c: &Column<'a>) -> Option<&'a Results> {
    c.modes.iter().find_map(|m| m.results)
}

/// Feature rows x kernel columns from the probe records (of the first mode that has a
/// report: every mode probes the same kernel).
pub fn feature_table(cols: &[Column], markdown: bool) -> String {
    let mut names: Vec<(&str, &str)> = Vec::new();
    for c in cols {
        for f in first_results(c)
            .map(|r| r.features.as_slice())
            .unwrap_or(&[])
        {
            if !names.iter().any(|(n, _)| *n == f.name) {
                names.push((&f.name, &f.since));
            }
        }
    }
    let mut h = headers("feature", cols);
    h.insert(1, "since".into());
    let mut rows = Vec::new();
    for (name, since) in names {
        let mut row = vec![name.to_string(), since.to_string()];
        for c in cols {
            let cell =
                match first_results(c).and_then(|r| r.features.iter().find(|f| f.name == name)) {
                    Some(f) if f.present => "yes",
                    Some(_) => "no",
                    None => "-",
                };
            row.push(cell.to_string());
        }
        rows.push(row);
    }
    render(&h, &rows, markdown)
}
