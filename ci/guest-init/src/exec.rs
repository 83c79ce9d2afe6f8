//! `uring.exec=LIST`: instead of the suite, run the programs LIST names (one a line, `#`
//! comments; each a static binary beside LIST), one after another, each under a time limit.
//! `ci/coverage.sh --anchor` runs liburing's tests for the suite's interfaces so on the gcov
//! kernel, to measure the anchor's coverage of the same code. Each program's output goes to
//! the console prefixed `exec| `, and its end is one line `@@URING-EXEC name=NAME exit=N
//! secs=S@@` (`signal=N`, or `timeout` when it was killed at the limit), then
//! `@@URING-EXEC-DONE ran=N@@`.

/// Where the matrix's `--exec DIR` puts DIR's `list` in the initramfs.
pub const EXEC_LIST: &str = "/exec/list";

/// Time limit of one program: liburing's own runner gives a test 60 s.
pub const EXEC_TIMEOUT_SECS: u64 = 60;

/// The program names of a list file's text, in order.
pub fn list_names(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The end line of one program.
pub fn end_line(name: &str, end: &str, secs: f64) -> String {
    format!("@@URING-EXEC name={name} {end} secs={secs:.1}@@")
}

/// The per-program end lines of a console or channel log: (name, end), in order.
pub fn parse_end_lines(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split("@@URING-EXEC name=").nth(1)?;
            let rest = rest.strip_suffix("@@")?;
            let (name, tail) = rest.split_once(' ')?;
            let end = tail.split(" secs=").next()?;
            Some((name.to_string(), end.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_skips_comments_and_blank_lines() {
        let text = "# head\nbuf-ring\n\n  msg-ring  # MSG_RING\n#x\n";
        assert_eq!(list_names(text), ["buf-ring", "msg-ring"]);
    }

    #[test]
    fn end_lines_round_trip() {
        let log = format!(
            "exec| x\n{}\n{}\n",
            end_line("a-b", "exit=77", 1.25),
            end_line("c", "timeout", 60.0)
        );
        assert_eq!(
            parse_end_lines(&log),
            [
                ("a-b".to_string(), "exit=77".to_string()),
                ("c".to_string(), "timeout".to_string())
            ]
        );
    }
}
