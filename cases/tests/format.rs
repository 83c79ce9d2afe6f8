//! The tables stay within rustfmt's reach. rustfmt leaves an item as it is, silently, when
//! it cannot fit a line of it into `max_width` (100): a row with extra spaces inside such an
//! item passes `cargo fmt --check`. So no line of `cases/src` may be wider than 100 columns,
//! and rustfmt must really format every line: a copy of each file with every line pushed
//! one column to the right must come back from rustfmt as the file itself. And no `.rs` file
//! of the workspace is over [`MAX_LINES`] lines (the rooms rule: a table that grows splits
//! by topic into two modules).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// rustfmt's default `max_width`.
const MAX_WIDTH: usize = 100;

/// The most lines a source file of the workspace may have.
const MAX_LINES: usize = 600;

/// Every `.rs` file under `dir` (recursively, leaving out build output in `target` and
/// hidden directories), sorted, with its text.
fn rust_files(dir: PathBuf) -> Vec<(PathBuf, String)> {
    fn walk(dir: PathBuf, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if p.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    walk(p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p)
                    .unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
                out.push((p, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir.clone(), &mut out);
    assert!(!out.is_empty(), "no sources found under {}", dir.display());
    out
}

/// Every `.rs` file of `cases/src`, sorted, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    rust_files(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// The files of `files` longer than [`MAX_LINES`] lines, with their line counts.
fn long_files(files: &[(PathBuf, String)]) -> Vec<String> {
    files
        .iter()
        .map(|(p, text)| (p, text.lines().count()))
        .filter(|&(_, n)| n > MAX_LINES)
        .map(|(p, n)| format!("{}: {n} lines", p.display()))
        .collect()
}

/// The lines of `text` wider than [`MAX_WIDTH`] columns (characters, as rustfmt counts).
fn wide_lines(text: &str) -> Vec<(usize, usize)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.chars().count()))
        .filter(|&(_, width)| width > MAX_WIDTH)
        .collect()
}

/// `text` with every non-blank line indented by one more space, except the lines that
/// continue a string literal after a `\` (their leading white space is part of no value,
/// and rustfmt leaves string contents alone) and the body of a top-level `macro_rules!`
/// (rustfmt never formats a macro's definition).
fn shifted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut continues_literal = false;
    let mut in_macro_rules = false;
    for line in text.split_inclusive('\n') {
        in_macro_rules |= line.starts_with("macro_rules!");
        if !continues_literal && !in_macro_rules && !line.trim().is_empty() {
            out.push(' ');
        }
        out.push_str(line);
        continues_literal = line.trim_end_matches('\n').ends_with('\\');
        in_macro_rules &= !line.starts_with('}');
    }
    out
}

/// `text` as rustfmt formats it (read from stdin, the workspace's edition and defaults).
fn rustfmt(text: &str) -> String {
    let mut child = Command::new(std::env::var_os("RUSTFMT").unwrap_or("rustfmt".into()))
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run rustfmt (set RUSTFMT to its path): {e}"));
    let mut stdin = child.stdin.take().expect("rustfmt's stdin");
    let input = text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for rustfmt");
    writer
        .join()
        .expect("the stdin writer")
        .expect("write to rustfmt");
    assert!(
        out.status.success(),
        "rustfmt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("rustfmt's output is UTF-8")
}

#[test]
fn no_line_of_the_tables_is_wider_than_rustfmt_formats() {
    let wide: Vec<String> = sources()
        .iter()
        .flat_map(|(p, text)| {
            wide_lines(text)
                .into_iter()
                .map(move |(n, w)| format!("{}:{n}: {w} columns", p.display()))
        })
        .collect();
    assert!(
        wide.is_empty(),
        "lines over {MAX_WIDTH} columns (rustfmt skips their items; split long string \
         literals with a \\ continuation):\n{}",
        wide.join("\n")
    );
}

#[test]
fn rustfmt_formats_every_line_of_the_tables() {
    let unformatted: Vec<String> = sources()
        .iter()
        .filter(|(_, text)| rustfmt(&shifted(text)) != *text)
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        unformatted.is_empty(),
        "rustfmt leaves lines of these files as they are (an item it cannot fit, a \
         #[rustfmt::skip]), or formats them otherwise from a shifted start (a layout it keeps \
         but would not make: take the one it makes): {unformatted:?}"
    );
}

#[test]
fn no_source_file_of_the_workspace_is_over_600_lines() {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cases/ is in the workspace")
        .to_path_buf();
    let files = rust_files(workspace.clone());
    assert!(
        files.iter().any(|(p, _)| p.ends_with("harness/src/lib.rs")),
        "{} is not the workspace root",
        workspace.display()
    );
    let long = long_files(&files);
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split each by topic into two modules; a table's rows \
         move with their helpers, shared helpers go to cases/src/common):\n{}",
        long.join("\n")
    );
}

#[test]
fn a_file_over_600_lines_is_caught() {
    let at_limit = "x\n".repeat(MAX_LINES);
    let over = format!("{at_limit}y\n");
    let files = [
        (PathBuf::from("a.rs"), at_limit),
        (PathBuf::from("b.rs"), over),
    ];
    assert_eq!(
        long_files(&files),
        vec![format!("b.rs: {} lines", MAX_LINES + 1)]
    );
}

#[test]
fn wide_lines_are_counted_in_characters() {
    let line = format!("// §{}", "x".repeat(MAX_WIDTH - 4));
    assert_eq!(line.chars().count(), MAX_WIDTH);
    assert!(wide_lines(&line).is_empty());
    assert_eq!(
        wide_lines(&format!("a\n{line}x\n")),
        vec![(2, MAX_WIDTH + 1)]
    );
}

#[test]
fn shifting_leaves_string_continuations_alone() {
    let text = "fn f() {\n    g(\"a \\\n        b\");\n\n}\n";
    assert_eq!(
        shifted(text),
        " fn f() {\n     g(\"a \\\n        b\");\n\n }\n"
    );
}

#[test]
fn shifting_leaves_macro_definitions_alone() {
    let text = "macro_rules! m {\n    () => {};\n}\nfn f() {}\n";
    assert_eq!(
        shifted(text),
        "macro_rules! m {\n    () => {};\n}\n fn f() {}\n"
    );
}

#[test]
fn a_misformatted_row_is_caught() {
    let row = "const C: &[u8] = &[\n    f(1,  2),\n];\n";
    assert_ne!(rustfmt(row), row, "rustfmt should remove the extra space");
    let wide = format!(
        "const C: &[u8] = &[\n    f(1,  2, \"{}\"),\n];\n",
        "x".repeat(120)
    );
    assert_eq!(
        rustfmt(&wide),
        wide,
        "rustfmt gives up on an item it cannot fit"
    );
}
