//! Reads a guest's serial console log and decides what happened during the boot.
//!
//! guest-init frames everything it does with `@@URING-...@@` markers and prefixes the
//! suite's own output with `suite| ` (stdout) or `suite! ` (stderr); every other line is the
//! kernel's (with `printk.time=1` they start with `[   12.345678] `).
//!
//! One boot can run the suite several times, once per mode (`default`, `strict`): the
//! suite-begin and results markers then carry `mode=MODE`, and [`classify_mode`] reads the
//! boot as seen by one mode's run (a marker without `mode=` is the `default` mode's).
//!
//! guest-init also writes every line of its own to the results channel (QEMU's
//! isa-debugcon, a file on the host), where each report's begin marker carries its length
//! (`bytes=N`). [`classify_boot`] reads guest-init's lines and the reports from the channel
//! when the boot has one, and the kernel's problems from the console, so a console the
//! kernel stopped draining or a power-off that cut it loses no results.

use crate::results::{Outcome, Results};
use uring_guest_init::{RESULTS_BYTES, RESULTS_MISSING};
pub use uring_report::{problem_kind, ProblemKind};

pub const INIT_MARK: &str = "@@URING-INIT ";
pub const INIT_ERROR: &str = "@@URING-INIT-ERROR ";
pub const SUITE_BEGIN: &str = "@@URING-SUITE-BEGIN";
/// Followed by ` mode=MODE@@` (guest-init runs the suite once per mode) or by `@@`.
pub const RESULTS_BEGIN: &str = "@@URING-RESULTS-BEGIN";
pub const RESULTS_END: &str = "@@URING-RESULTS-END";
pub const POWEROFF: &str = "@@URING-POWEROFF@@";
pub const SMOKE_OK: &str = "@@URING-SMOKE-OK@@";
pub const SUITE_OUT: &str = "suite| ";
/// The suite's exit status when every case passed or skipped but its whole-run leak check
/// or its kernel-log scan found a problem (it prints the reason on stderr).
pub const SUITE_HEALTH_EXIT: i32 = uring_report::exit::HEALTH as i32;
/// How the suite's stderr line starts when its leak check found leftovers.
const LEAK_LINE: &str = "leak check: the run left";
pub const SUITE_ERR: &str = "suite! ";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelProblem {
    pub kind: ProblemKind,
    /// The matching console line, timestamp removed.
    pub line: String,
    /// Up to a dozen kernel lines that followed it (RIP, Call Trace, ...).
    pub context: Vec<String>,
    /// The last line the suite printed before the problem appeared, if any.
    pub after_suite_line: Option<String>,
    /// Whether the suite was running (started and not yet ended) at that point.
    pub during_suite: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuiteExit {
    Code(i32),
    Signal(i32),
}

/// Where a mode's run and report were read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Source {
    /// The serial console (kernels or guests without the results channel).
    #[default]
    Console,
    /// The results channel, lengths checked.
    Channel,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Console => "the console",
            Source::Channel => "the results channel (isa-debugcon)",
        }
    }
}

/// How the VM ended, as seen by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmEnd {
    /// The host killed it at the time limit.
    TimedOut,
    /// QEMU exited by itself with this status (None: killed by a signal).
    Exited(Option<i32>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BootReport {
    pub reached_init: bool,
    pub kernel_release: Option<String>,
    pub init_errors: Vec<String>,
    pub suite_started: bool,
    pub suite_exit: Option<SuiteExit>,
    pub results_missing: bool,
    /// Text between the results markers (JSON lines).
    pub results_text: Option<String>,
    pub results_complete: bool,
    /// The report's length differed from its begin marker's `bytes=` (read from the channel).
    pub results_cut: bool,
    /// Where this report was read from.
    pub source: Source,
    /// `channel=` of the init line: `debugcon` when guest-init writes the results channel.
    pub channel: Option<String>,
    /// `scratch=` of the init line: `mounted`, `unsupported` (no built-in ext4/NVMe
    /// driver), `error` or `none`.
    pub scratch: Option<String>,
    pub powered_off: bool,
    pub smoke_ok: bool,
    pub problems: Vec<KernelProblem>,
    pub timed_out: bool,
    pub qemu_status: Option<i32>,
    /// `fail_nth=` of the init line: whether /proc/thread-self/fail-nth exists (fault
    /// injection); None from a guest-init that did not say.
    pub fail_nth: Option<bool>,
    pub last_suite_line: Option<String>,
    /// The suite's whole-run leak-check line, when it found leftovers.
    pub leak_line: Option<String>,
}

/// One reason a boot is not clean. Ordered from worst to mildest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    Kernel(ProblemKind),
    NoInit,
    Timeout(&'static str),
    SuiteCrashed(i32),
    NoResults,
    CasesFailed(usize),
    /// The guest lacks something its kernel's configuration promised (e.g. fail-nth).
    Setup(String),
    /// Every case passed or skipped, but the run left fds or mappings behind.
    Leaked(String),
}

impl Flag {
    pub fn label(&self) -> String {
        match self {
            Flag::Kernel(k) => format!("kernel {}", k.label()),
            Flag::NoInit => "never reached init".into(),
            Flag::Timeout(stage) => format!("time limit ({stage})"),
            Flag::SuiteCrashed(sig) => format!("suite crashed (signal {sig})"),
            Flag::NoResults => "no/incomplete results".into(),
            Flag::CasesFailed(n) => format!("{n} failing case(s) (fail/broken/timeout)"),
            Flag::Setup(what) => what.clone(),
            Flag::Leaked(line) => line.clone(),
        }
    }
    pub fn short(&self) -> String {
        match self {
            Flag::Kernel(ProblemKind::Panic) => "PANIC".into(),
            Flag::Kernel(ProblemKind::Oops) => "OOPS".into(),
            Flag::Kernel(ProblemKind::Warning) => "WARN".into(),
            Flag::NoInit => "NO-INIT".into(),
            Flag::Timeout(_) => "TIMEOUT".into(),
            Flag::SuiteCrashed(s) => format!("CRASH(sig{s})"),
            Flag::NoResults => "NO-RESULTS".into(),
            Flag::CasesFailed(n) => format!("FAIL({n})"),
            Flag::Setup(_) => "SETUP".into(),
            Flag::Leaked(_) => "LEAK".into(),
        }
    }
}

/// Splits a leading printk timestamp `[    1.234567] ` off a line.
fn strip_timestamp(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = t.strip_prefix('[')?;
    let close = rest.find(']')?;
    let ts = rest[..close].trim();
    let (a, b) = ts.split_once('.')?;
    if a.is_empty() || b.is_empty() || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(rest[close + 1..].trim_start())
}

/// Finds a kernel problem in a console line. Suite and marker lines are only searched for
/// a timestamped kernel message spliced into them (serial output can interleave).
fn line_problem(line: &str, ours: bool) -> Option<(ProblemKind, String)> {
    if !ours {
        let msg = strip_timestamp(line).unwrap_or(line.trim_start());
        if let Some(k) = problem_kind(msg) {
            return Some((k, msg.to_string()));
        }
    }
    // Look for "[ digits.digits] MESSAGE" later in the line.
    let mut from = 1;
    while let Some(p) = line.get(from..).and_then(|s| s.find('[')) {
        let at = from + p;
        if let Some(msg) = strip_timestamp(&line[at..]) {
            if let Some(k) = problem_kind(msg) {
                return Some((k, msg.to_string()));
            }
        }
        from = at + 1;
    }
    None
}

fn marker_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)? + key.len();
    let rest = &line[at..];
    let end = rest.find([' ', '@']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The space-separated words of a marker, without its `@@` ends.
fn marker_words(marker: &str) -> impl Iterator<Item = &str> {
    marker.trim_matches(['@', '\n', '\r']).split(' ')
}

/// The boot as seen by the `default` mode's suite run (or the only one).
pub fn classify(console: &str, end: VmEnd) -> BootReport {
    classify_mode(console, end, DEFAULT_MODE)
}

/// The mode of a suite-begin or results marker without `mode=`.
pub const DEFAULT_MODE: &str = "default";

fn marker_mode(marker: &str) -> &str {
    marker_value(marker, "mode=").unwrap_or(DEFAULT_MODE)
}

/// The boot as seen by the suite run of `mode`, from the console and the results channel
/// (empty when the VM had none or the guest could not write it): guest-init's lines and the
/// report from the channel when it has guest-init's init line and a whole report of `mode`
/// (or no report of `mode` in either), the kernel's problems always from the console.
pub fn classify_boot(console: &str, channel: &str, end: VmEnd, mode: &str) -> BootReport {
    let from_console = classify_mode(console, end, mode);
    if !channel.contains(INIT_MARK) {
        return from_console;
    }
    let mut r = classify_text(channel, end, mode, Source::Channel);
    if !r.results_complete && from_console.results_complete {
        return from_console;
    }
    r.problems = from_console.problems;
    r
}

/// The boot as seen by the suite run of `mode` on the console: its start, exit, report and
/// leak line; the kernel's problems and init's lines are the whole boot's.
pub fn classify_mode(console: &str, end: VmEnd, mode: &str) -> BootReport {
    classify_text(console, end, mode, Source::Console)
}

/// Reads guest-init's markers from `text`; from the channel, a report whose length is not
/// its begin marker's `bytes=` is cut (incomplete). On the console kernel lines can land
/// inside a report, so its length is not checked there.
fn classify_text(text: &str, end: VmEnd, mode: &str, source: Source) -> BootReport {
    let mut r = BootReport {
        timed_out: end == VmEnd::TimedOut,
        qemu_status: match end {
            VmEnd::Exited(s) => s,
            VmEnd::TimedOut => None,
        },
        source,
        ..Default::default()
    };
    let mut in_results = false;
    // This mode's block: the length its begin marker announced, and the bytes read so far.
    let mut announced: Option<usize> = None;
    let mut block_bytes = 0;
    // Whether the results block being read is this mode's.
    let mut our_block = false;
    // Whether the suite output being read is this mode's run.
    let mut our_run = false;
    let mut results = String::new();
    let mut suite_running = false;
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut open_problem: Option<usize> = None;
    for line in &lines {
        let is_suite = line.starts_with(SUITE_OUT) || line.starts_with(SUITE_ERR);
        let is_marker = line.contains("@@URING-");
        if let Some(at) = line.find(INIT_MARK) {
            r.reached_init = true;
            r.kernel_release = marker_value(&line[at..], "kernel=").map(str::to_string);
            r.fail_nth = marker_value(&line[at..], "fail_nth=").map(|v| v == "yes");
            r.channel = marker_value(&line[at..], "channel=").map(str::to_string);
            r.scratch = marker_value(&line[at..], "scratch=").map(str::to_string);
        }
        if let Some(at) = line.find(INIT_ERROR) {
            r.init_errors.push(
                line[at + INIT_ERROR.len()..]
                    .trim_end_matches('@')
                    .to_string(),
            );
        }
        if let Some(at) = line.find(SUITE_BEGIN) {
            our_run = marker_mode(&line[at..]) == mode;
            r.suite_started |= our_run;
            suite_running = true;
        }
        if line.contains(SMOKE_OK) {
            r.smoke_ok = true;
        }
        if line.contains(POWEROFF) {
            r.powered_off = true;
        }
        if let Some(at) = line.find(RESULTS_BEGIN) {
            in_results = true;
            our_block = marker_mode(&line[at..]) == mode;
            if our_block {
                announced = marker_value(&line[at..], RESULTS_BYTES).and_then(|v| v.parse().ok());
                block_bytes = 0;
            }
            suite_running = false;
            continue;
        }
        if let Some(at) = line.find(RESULTS_END) {
            in_results = false;
            suite_running = false;
            let m = &line[at..];
            if marker_mode(m) != mode {
                continue;
            }
            r.results_cut =
                source == Source::Channel && announced.is_some_and(|n| n != block_bytes);
            r.results_complete = !r.results_cut;
            if let Some(v) = marker_value(m, "exit=").and_then(|v| v.parse().ok()) {
                r.suite_exit = Some(SuiteExit::Code(v));
            } else if let Some(v) = marker_value(m, "signal=").and_then(|v| v.parse().ok()) {
                r.suite_exit = Some(SuiteExit::Signal(v));
            }
            if marker_words(m).any(|w| w == RESULTS_MISSING) {
                r.results_missing = true;
            }
            continue;
        }
        if in_results {
            block_bytes += line.len() + 1;
            // Kernel lines can land inside the block; keep only what looks like JSON.
            if let Some(p) = line_problem(line, true) {
                push_problem(&mut r, p, suite_running);
            } else if our_block && line.trim_start().starts_with('{') {
                results.push_str(line.trim());
                results.push('\n');
            }
            continue;
        }
        if is_suite {
            let text = &line[SUITE_OUT.len()..];
            if our_run && text.starts_with(LEAK_LINE) {
                r.leak_line = Some(text.to_string());
            }
            r.last_suite_line = Some(text.to_string());
        }
        match line_problem(line, is_suite || is_marker) {
            Some(p) => {
                push_problem(&mut r, p, suite_running);
                open_problem = Some(r.problems.len() - 1);
            }
            None => {
                if let Some(i) = open_problem {
                    if is_suite || is_marker || r.problems[i].context.len() >= 12 {
                        open_problem = None;
                    } else if let Some(msg) = strip_timestamp(line) {
                        r.problems[i].context.push(msg.to_string());
                    }
                }
            }
        }
    }
    if r.suite_started {
        r.results_text = Some(results);
    }
    r
}

fn push_problem(r: &mut BootReport, (kind, line): (ProblemKind, String), during_suite: bool) {
    // A repeated identical message adds nothing.
    if r.problems.iter().any(|p| p.line == line) {
        return;
    }
    r.problems.push(KernelProblem {
        kind,
        line,
        context: Vec::new(),
        after_suite_line: r.last_suite_line.clone(),
        during_suite,
    });
}

impl BootReport {
    /// Whether the boot got as far as starting the suite (a boot that did not is retried).
    pub fn reached_suite(&self) -> bool {
        self.suite_started
    }

    /// Everything wrong with this boot, worst first; empty means clean.
    pub fn flags(&self, results: Option<&Results>) -> Vec<Flag> {
        let mut f = Vec::new();
        let mut kinds: Vec<ProblemKind> = self.problems.iter().map(|p| p.kind).collect();
        kinds.sort();
        kinds.dedup();
        f.extend(kinds.into_iter().map(Flag::Kernel));
        if !self.reached_init {
            if self.timed_out {
                f.push(Flag::Timeout("before init"));
            } else {
                f.push(Flag::NoInit);
            }
            return f;
        }
        if self.timed_out {
            let stage = if !self.suite_started {
                "before the suite"
            } else if !self.results_complete {
                "suite running"
            } else {
                "after the suite"
            };
            f.push(Flag::Timeout(stage));
        }
        if !self.suite_started {
            if !self.timed_out && f.is_empty() {
                f.push(Flag::NoResults);
            }
            return f;
        }
        let died = f
            .iter()
            .any(|x| matches!(x, Flag::Kernel(ProblemKind::Panic)));
        if !self.results_complete && !self.timed_out && !died {
            // The VM went away while the suite ran, and the kernel said nothing about it.
            f.push(Flag::NoResults);
        }
        if let Some(SuiteExit::Signal(s)) = self.suite_exit {
            f.push(Flag::SuiteCrashed(s));
        }
        let failing = results.map(|r| r.failing_cases().count()).unwrap_or(0);
        let has_summary = results.map(|r| r.summary.is_some()).unwrap_or(false);
        if self.results_complete
            && !matches!(self.suite_exit, Some(SuiteExit::Signal(_)))
            && (self.results_missing || !has_summary)
        {
            f.push(Flag::NoResults);
        }
        let exit_failed = matches!(self.suite_exit, Some(SuiteExit::Code(c)) if c != 0);
        let unhealthy = self.suite_exit == Some(SuiteExit::Code(SUITE_HEALTH_EXIT));
        if failing > 0 {
            f.push(Flag::CasesFailed(failing));
        } else if unhealthy && f.iter().any(|x| matches!(x, Flag::Kernel(_))) {
            // The kernel problem the console shows is why the suite said so.
        } else if unhealthy && self.leak_line.is_some() {
            f.push(Flag::Leaked(self.leak_line.clone().unwrap_or_default()));
        } else if exit_failed && !f.iter().any(|x| matches!(x, Flag::NoResults)) {
            // The suite said something failed but no case record says which.
            f.push(Flag::NoResults);
        }
        f.sort();
        f.dedup();
        f
    }
}

/// Per-case cell text for the matrix: a failure in capitals.
pub fn outcome_cell(outcome: Outcome) -> String {
    match outcome {
        Outcome::Fail => "FAIL".into(),
        o => o.name().into(),
    }
}
