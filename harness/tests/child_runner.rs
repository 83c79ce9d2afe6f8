//! The unprivileged-child runner end to end. Rows with `Isolation::Unprivileged` run in a
//! re-executed binary, as the suite's do; here that binary is this test: started with
//! `URING_HARNESS_CHILD_RUNNER_INNER` set it is a small suite of the rows below (and the
//! runner re-executes it again for each child), otherwise it is the driver, whose trials run
//! the inner suite with one row and a --case-timeout and check what it reports.

use libtest_mimic::{Arguments, Failed, Trial};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};
use uring_harness::{Case, CaseError, Cite, Expect, Setup};

const INNER: &str = "URING_HARNESS_CHILD_RUNNER_INNER";
const MEMLOCK: u64 = 1 << 20;

const ROWS: &[uring_harness::Case] = &[
    // A child whose stderr is far more than a pipe holds (a long backtrace, say).
    Case::new("child::floods_stderr")
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(Cite::kernel("-"))
        .run(|cx| {
            let line = [b'x'; 1023];
            let mut err = std::io::stderr().lock();
            for _ in 0..1536 {
                err.write_all(&line).setup("write stderr")?;
                err.write_all(b"\n").setup("write stderr")?;
            }
            drop(err);
            cx.sync("wrote 1.5 MiB to stderr", Ok::<i64, uring::Errno>(0))
        }),
    // A child whose wait on the kernel never ends: its own deadline must be --case-timeout.
    Case::new("child::waits_on_an_empty_pipe")
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(Cite::kernel("-"))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (r, _w) = std::io::pipe().setup("pipe")?;
            let buf = cx.mem(4096)?;
            let c = cx.submit_one(
                &mut ring,
                uring::op::read(r.as_raw_fd(), buf.slice(0, 8), 8, 0).user_data(1),
            )?;
            cx.cqe("read(empty pipe)", c)
        }),
    // A child that ignores its deadline altogether: the parent kills it.
    Case::new("child::hangs")
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(Cite::kernel("-"))
        .run(|_| {
            std::thread::sleep(Duration::from_secs(120));
            Err(CaseError::Broken("slept two minutes".into()))
        }),
];

fn main() -> ExitCode {
    if std::env::var_os(INNER).is_some() {
        return uring_harness::run::main(uring_harness::SuiteVersion::UNKNOWN, &[ROWS], &[]);
    }
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test("a_child_writing_megabytes_to_stderr_passes", || {
            let (o, took) = inner("child::floods_stderr", 5.0)?;
            expect_line(&o, "child::floods_stderr", "ok")?;
            within(took, Duration::from_secs(5))
        }),
        Trial::test("the_childs_deadline_is_the_case_timeout", || {
            let (o, took) = inner("child::waits_on_an_empty_pipe", 1.0)?;
            expect_line(&o, "child::waits_on_an_empty_pipe", "FAILED")?;
            // The child's own bounded wait ran out (not the parent's kill, 5 s later).
            let out = String::from_utf8_lossy(&o.stdout);
            if !out.contains("timeout: waited for 1 completion(s)") {
                return Err(format!("not the child's own timeout:\n{out}").into());
            }
            within(took, Duration::from_secs(4))
        }),
        Trial::test("a_hung_child_is_killed_after_its_limit", || {
            let (o, took) = inner("child::hangs", 0.5)?;
            expect_line(&o, "child::hangs", "FAILED")?;
            let out = String::from_utf8_lossy(&o.stdout);
            if !out.contains("the child did not finish within 500ms") {
                return Err(format!("not killed as a timeout:\n{out}").into());
            }
            // 0.5 s of limit + 5 s of grace.
            within(took, Duration::from_secs(9))
        }),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

/// The inner suites' children run as the run's spare uid, and each checks that no other task
/// uses it when it starts: two inner suites at once would see each other's child and skip.
static ONE_INNER_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the inner suite with only `row`, the given --case-timeout and no nextest variables.
fn inner(row: &str, timeout_secs: f64) -> Result<(Output, Duration), Failed> {
    let _one = ONE_INNER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.env(INNER, "1")
        .args(["--exact", row, &format!("--case-timeout={timeout_secs}")]);
    for (var, _) in std::env::vars_os() {
        let v = var.to_string_lossy();
        if v.starts_with("NEXTEST") || (v.starts_with("URING_") && v != INNER) {
            cmd.env_remove(&var);
        }
    }
    let t = Instant::now();
    let o = cmd
        .output()
        .map_err(|e| format!("run the inner suite: {e}"))?;
    Ok((o, t.elapsed()))
}

/// The inner run reported `row` as `result` (`ok`, `FAILED`).
fn expect_line(o: &Output, row: &str, result: &str) -> Result<(), Failed> {
    let out = String::from_utf8_lossy(&o.stdout);
    let found = out.lines().any(|l| {
        l.starts_with("test ")
            && l.contains(&format!(" {row} "))
            && l.ends_with(&format!("... {result}"))
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "expected `{row} ... {result}`, exit status {:?}\n{out}\n--- stderr (tail) ---\n{}",
            o.status.code(),
            tail(&String::from_utf8_lossy(&o.stderr))
        )
        .into())
    }
}

fn within(took: Duration, limit: Duration) -> Result<(), Failed> {
    if took < limit {
        Ok(())
    } else {
        Err(format!("took {took:?}, limit {limit:?}").into())
    }
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(2000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
