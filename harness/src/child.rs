//! The unprivileged child: the parent re-executes this binary to run one case as a uid no
//! other task uses (env/users.rs, verified again before each child) under the case's
//! RLIMIT_MEMLOCK (one child at a time, its output read while it runs, run again while the
//! memlock quota is still held); the child drops privileges, runs the case and answers in
//! one `RESULT` line on stdout (`RESULT ` and a JSON object, the report crate's
//! [`ChildResult`]). The child's own side is in [`inside`].

mod inside;

pub(crate) use inside::child_main;

use crate::answer::Expected;
use crate::case::{Answer, Case, CaseError, Observation};
use crate::classify::quota_held;
use crate::probe::FeatureSet;
use crate::resource::{resource_cause, skip, Resource, ResourceLimit};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use uring::Errno;
use uring_report::{ChildResult, SkipCause};

/// Environment variable that turns the binary into the child runner of one case.
pub(crate) const CHILD_ENV: &str = "URING_CONFORMANCE_CHILD";
const CHILD_MEMLOCK_ENV: &str = "URING_CONFORMANCE_CHILD_MEMLOCK";
const CHILD_FEATURES_ENV: &str = "URING_CONFORMANCE_CHILD_FEATURES";
const CHILD_FACTS_ENV: &str = "URING_CONFORMANCE_CHILD_FACTS";
/// The parent's level decisions ([`crate::level::Levels::to_json`]).
const CHILD_LEVELS_ENV: &str = "URING_CONFORMANCE_CHILD_LEVELS";
/// The case's time limit, in nanoseconds (the parent's --case-timeout).
const CHILD_TIMEOUT_ENV: &str = "URING_CONFORMANCE_CHILD_TIMEOUT_NS";
/// The uid (and gid) the child drops to: the parent's spare uid for memlock rows.
const CHILD_UID_ENV: &str = "URING_CONFORMANCE_CHILD_UID";

/// Unprivileged children share one user's memlock quota: one at a time.
static UNPRIVILEGED: Mutex<()> = Mutex::new(());

/// Pauses before running an unprivileged child again when it ran out of locked memory.
/// io_uring charges a ring's memory and its registered buffers to the user until the ring is
/// freed, and it frees a closed ring later, from a kworker, after an RCU grace period: a
/// child that starts right after another one (of this run, of the previous run, or of
/// another process as the same uid) can find the quota still held. Measured on 6.18: 10 to
/// 20 ms on an idle machine, over 100 ms while the suite runs. About 1.3 s in all, then the
/// last answer stands.
pub(crate) const QUOTA_RETRY_PAUSES_MS: [u64; 6] = [20, 40, 80, 160, 320, 640];

/// Runs the case in a child as the run's spare uid, one child at a time. The uid is checked
/// to be still unused before the child starts, and again when the child ran out of locked
/// memory its row does not expect: a task of that uid holds part of the quota, and the
/// answer is not the kernel's.
pub(crate) fn run_in_child(
    case: &Case,
    fs: &FeatureSet,
    memlock: u64,
    timeout: Duration,
) -> Result<Observation, CaseError> {
    let Some(uid) = fs.env.spare_uids.map(|u| u.memlock_rows) else {
        return Err(skip(SkipCause::Environment {
            what: "no uid that no task uses to run the row as".into(),
        }));
    };
    let _one_at_a_time = UNPRIVILEGED.lock().unwrap_or_else(|p| p.into_inner());
    let expected = case.expect.decide(fs);
    quota_in_use(uid, "before the child started")?;
    let first = spawn_child(case, fs, uid, memlock, timeout);
    let result = retry_while(quota_held, first, &expected, || {
        spawn_child(case, fs, uid, memlock, timeout)
    });
    if quota_held(&result, &expected) {
        quota_in_use(uid, "after the child ran out of locked memory")?;
    }
    result
}

/// A skip naming the tasks that hold `uid`, if any do: the memlock quota is that user's,
/// shared with them.
fn quota_in_use(uid: u32, when: &str) -> Result<(), CaseError> {
    let holders = crate::env::holders_of(uid);
    if holders.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = holders.iter().map(ToString::to_string).collect();
    Err(skip(SkipCause::Environment {
        what: format!(
            "uid {uid}, unused when the run started, is used by {} {when}: its memlock quota (user->locked_vm) is shared with them",
            names.join(", ")
        ),
    }))
}

/// Runs a row again while it ran out of locked memory it does not expect to (`held`: see
/// [`quota_held`]), after each pause of [`QUOTA_RETRY_PAUSES_MS`]; the last answer stands.
pub(crate) fn retry_while(
    held: fn(&Result<Observation, CaseError>, &Expected) -> bool,
    first: Result<Observation, CaseError>,
    expected: &Expected,
    mut run: impl FnMut() -> Result<Observation, CaseError>,
) -> Result<Observation, CaseError> {
    let mut result = first;
    for &ms in &QUOTA_RETRY_PAUSES_MS {
        if !held(&result, expected) {
            break;
        }
        std::thread::sleep(Duration::from_millis(ms));
        result = run();
    }
    result
}

/// Time a child may take beyond its case's limit before it is killed: process start-up,
/// the ring teardown of a case that ran out of time (cancel and wait, up to 2 s), exit.
const CHILD_GRACE: Duration = Duration::from_secs(5);
/// How much of a child's output is kept: the tail, where the RESULT line and the end of a
/// panic's backtrace are. The rest is read (so the child never blocks on a full pipe) and
/// dropped.
const CHILD_STDOUT_KEEP: usize = 1 << 20;
const CHILD_STDERR_KEEP: usize = 16 << 10;

/// One run of the child: re-executes this binary to run the case as an unprivileged user.
/// The child's case has the same time limit as a case on a thread; its stdout and stderr are
/// read while it runs, so a child that writes more than a pipe holds still finishes.
fn spawn_child(
    case: &Case,
    fs: &FeatureSet,
    uid: u32,
    memlock: u64,
    timeout: Duration,
) -> Result<Observation, CaseError> {
    let exe =
        std::env::current_exe().map_err(|e| CaseError::Broken(format!("current_exe: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.env(CHILD_UID_ENV, uid.to_string());
    spawn_child_command(cmd, case, fs, memlock, timeout)
}

/// [`spawn_child`] with the command to run (this binary; a stand-in in the tests).
fn spawn_child_command(
    mut cmd: Command,
    case: &Case,
    fs: &FeatureSet,
    memlock: u64,
    timeout: Duration,
) -> Result<Observation, CaseError> {
    let mut child = cmd
        .env(CHILD_ENV, case.name)
        .env(CHILD_MEMLOCK_ENV, memlock.to_string())
        .env(CHILD_FEATURES_ENV, fs.present_names())
        .env(CHILD_FACTS_ENV, fs.env.holding_names())
        .env(CHILD_LEVELS_ENV, fs.levels.to_json())
        .env(
            crate::version::VERSION_OVERRIDE_ENV,
            fs.version.version.map_or(String::new(), |v| v.to_string()),
        )
        .env(CHILD_TIMEOUT_ENV, timeout.as_nanos().max(1).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let out = OutputTail::read(child.stdout.take(), CHILD_STDOUT_KEEP);
    let err = OutputTail::read(child.stderr.take(), CHILD_STDERR_KEEP);
    let deadline = Instant::now() + timeout + CHILD_GRACE;
    let finished = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    // A process the child left behind may hold the pipes open: wait for the end of the
    // output only briefly, then take what was read.
    let out = out.finish(Duration::from_secs(1));
    let err = err.finish(Duration::from_secs(1));
    if !finished {
        return Err(CaseError::Timeout(format!(
            "the child did not finish within {timeout:?} (+{CHILD_GRACE:?} grace) and was killed; stderr: {}",
            err.trim()
        )));
    }
    // The last result line, read by the report crate (a line that is none reads as None).
    let result = out
        .lines()
        .rev()
        .find_map(|l| ChildResult::from_line(l).map(|r| (l, r)));
    match result {
        Some((line, r)) => decode_result(line, r),
        None => Err(CaseError::Broken(format!(
            "the child printed no result; stderr: {}",
            err.trim()
        ))),
    }
}

/// A child that could not start: out of tasks (EAGAIN: RLIMIT_NPROC, a pids cgroup,
/// kernel/fork.c copy_process), fds for its pipes (EMFILE, ENFILE) or memory is a resource
/// skip naming it; anything else is broken.
fn spawn_error(e: std::io::Error) -> CaseError {
    let errno = e.raw_os_error().map(Errno);
    match errno {
        Some(e @ Errno::EAGAIN) => Resource::Tasks.skip("spawn the child", e),
        Some(e @ (Errno::EMFILE | Errno::ENFILE)) => {
            Resource::OpenFiles.skip("spawn the child (its pipes)", e)
        }
        // Memory to fork, not locked memory: no quota a pause frees.
        Some(e @ Errno::ENOMEM) => skip(resource_cause(
            Resource::Tasks,
            "spawn the child",
            Some(e),
            "memory to start a process".into(),
        )),
        _ => CaseError::Broken(format!("spawn the child: {e}")),
    }
}

/// The last `keep` bytes of a child's stdout or stderr, read on a thread of its own.
struct OutputTail {
    buf: Arc<Mutex<(Vec<u8>, usize)>>,
    done: Option<mpsc::Receiver<()>>,
}

impl OutputTail {
    fn read(pipe: Option<impl Read + Send + 'static>, keep: usize) -> OutputTail {
        let buf = Arc::new(Mutex::new((Vec::new(), 0usize)));
        let Some(mut pipe) = pipe else {
            return OutputTail { buf, done: None };
        };
        let (tx, rx) = mpsc::channel();
        let shared = buf.clone();
        let spawned = std::thread::Builder::new()
            .name("child-output".into())
            .spawn(move || {
                let mut chunk = vec![0u8; 64 << 10];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            let mut b = shared.lock().unwrap_or_else(|p| p.into_inner());
                            b.0.extend_from_slice(&chunk[..n]);
                            if b.0.len() > 2 * keep {
                                let cut = b.0.len() - keep;
                                b.0.drain(..cut);
                                b.1 += cut;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                let _ = tx.send(());
            });
        OutputTail {
            buf,
            done: spawned.ok().map(|_| rx),
        }
    }

    /// The text read, once the pipe is closed or `wait` has passed.
    fn finish(self, wait: Duration) -> String {
        if let Some(rx) = &self.done {
            let _ = rx.recv_timeout(wait);
        }
        let b = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        let text = String::from_utf8_lossy(&b.0).into_owned();
        if b.1 > 0 {
            format!("[{} bytes before this dropped] {text}", b.1)
        } else {
            text
        }
    }
}

/// One line: `RESULT ` and the result as JSON.
fn encode_result(r: &Result<Observation, CaseError>) -> String {
    let r = match r {
        Ok(Observation { call, answer }) => ChildResult::Obs {
            call: call.clone(),
            answer: answer.to_report(),
        },
        Err(CaseError::Fail(m)) => ChildResult::Fail { message: m.clone() },
        Err(CaseError::Broken(m)) => ChildResult::Broken { message: m.clone() },
        Err(CaseError::Skip(cause)) => ChildResult::Skip {
            cause: cause.clone(),
        },
        Err(CaseError::Timeout(m)) => ChildResult::Timeout { message: m.clone() },
    };
    r.to_line()
}

/// The child's result line `line`, as the report crate read it (`read`).
fn decode_result(line: &str, read: Result<ChildResult, String>) -> Result<Observation, CaseError> {
    let bad = |e: String| CaseError::Broken(format!("unreadable child result ({e}): {line}"));
    match read.map_err(bad)? {
        ChildResult::Obs { call, answer } => Ok(Observation {
            call,
            answer: Answer::from_report(answer),
        }),
        ChildResult::Fail { message } => Err(CaseError::Fail(message)),
        ChildResult::Broken { message } => Err(CaseError::Broken(message)),
        ChildResult::Skip { cause } => Err(CaseError::Skip(cause)),
        ChildResult::Timeout { message } => Err(CaseError::Timeout(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uring::abi::CqeFlags;

    #[test]
    fn only_unexpected_enomem_retries_a_child() {
        let obs = |a: Answer| {
            Ok(Observation {
                call: "c".into(),
                answer: a,
            })
        };
        let exactly = |a| Expected {
            want: crate::case::Want(a),
            or: None,
            level: None,
        };
        let ok = exactly(Answer::Sync(Ok(0)));
        let enomem = exactly(Answer::Sync(Err(Errno::ENOMEM)));
        // An undecided level accepting either answer: ENOMEM is one of them.
        let either = Expected {
            or: Some(crate::case::Want(Answer::Sync(Err(Errno::ENOMEM)))),
            ..exactly(Answer::Sync(Ok(0)))
        };
        assert!(!quota_held(&obs(Answer::Sync(Err(Errno::ENOMEM))), &either));
        assert!(quota_held(&obs(Answer::Sync(Err(Errno::ENOMEM))), &ok));
        assert!(quota_held(
            &obs(Answer::Cqe {
                res: -libc::ENOMEM,
                flags: CqeFlags::NONE
            }),
            &ok
        ));
        assert!(!quota_held(&obs(Answer::Sync(Err(Errno::ENOMEM))), &enomem));
        assert!(!quota_held(&obs(Answer::Sync(Err(Errno::EINVAL))), &ok));
        let setup_enomem =
            crate::cx::Setup::setup(Err::<(), _>(Errno::ENOMEM), "io_uring_setup(8)");
        assert!(quota_held(&setup_enomem.map(|_| unreachable!()), &enomem));
        // set_memlock's skip where the hard limit is below the row's: no quota a pause frees.
        let hard_limit = Err(skip(resource_cause(
            Resource::LockedMemory,
            "setrlimit(RLIMIT_MEMLOCK, 65536) for the case",
            Some(Errno::EPERM),
            "the hard limit here is 0 bytes".into(),
        )));
        assert!(!quota_held(&hard_limit, &ok));
        let spawn_enomem = Err(spawn_error(std::io::Error::from_raw_os_error(libc::ENOMEM)));
        assert!(!quota_held(&spawn_enomem, &ok));
        assert!(!quota_held(
            &Err(CaseError::Broken("x: ENOMEM".into())),
            &ok
        ));
    }

    /// The child's stderr and stdout are read while it runs: 2 MiB of stderr (far more than
    /// a pipe holds) and 2 MiB of stdout before the result do not turn into a timeout; the
    /// child gets the case's time limit; and a process the child leaves behind holding the
    /// pipes does not hold up the parent.
    #[test]
    fn a_child_that_writes_megabytes_still_answers() {
        use crate::case::{Case, Cite, Expect};
        let case = Case::new("harness::child_floods")
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|_| unreachable!("run by the stand-in child"));
        let script = r#"
            head -c 2097152 /dev/zero | tr '\0' e >&2
            head -c 2097152 /dev/zero | tr '\0' o
            echo
            sleep 3 &
            printf 'RESULT {"kind":"obs","call":"limit %s","answer":{"ok":0}}\n' "$URING_CONFORMANCE_CHILD_TIMEOUT_NS"
            echo 'the end of stderr' >&2
        "#;
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c").arg(script);
        let fs = FeatureSet::synthetic(&[]);
        let t = Instant::now();
        let r = spawn_child_command(sh, &case, &fs, 0, Duration::from_millis(2500));
        assert_eq!(
            r,
            Ok(Observation {
                call: "limit 2500000000".into(),
                answer: Answer::Sync(Ok(0)),
            })
        );
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t.elapsed()
        );
    }

    /// A child with no result line is broken, and the message carries the end of its stderr
    /// (not megabytes of it).
    #[test]
    fn a_silent_child_is_broken_with_the_tail_of_its_stderr() {
        use crate::case::{Case, Cite, Expect};
        let case = Case::new("harness::child_silent")
            .expect(Expect::ok(0))
            .cite(Cite::kernel("-"))
            .run(|_| unreachable!("run by the stand-in child"));
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg("head -c 1048576 /dev/zero | tr '\\0' b >&2; echo 'panicked at the end' >&2");
        let fs = FeatureSet::synthetic(&[]);
        let r = spawn_child_command(sh, &case, &fs, 0, Duration::from_secs(5));
        let Err(CaseError::Broken(m)) = r else {
            panic!("{r:?}")
        };
        assert!(
            m.contains("printed no result") && m.ends_with("panicked at the end"),
            "{}",
            &m[m.len().saturating_sub(200)..]
        );
        assert!(m.len() < 2 * CHILD_STDERR_KEEP + 200, "{} bytes", m.len());
    }

    /// A uid some task holds is a skip naming the task (here this test process's own uid),
    /// and a uid no task holds lets the child run.
    #[test]
    fn a_quota_in_use_is_a_skip_naming_its_holder() {
        let me = nix::unistd::getuid().as_raw();
        let Err(CaseError::Skip(SkipCause::Environment { what })) = quota_in_use(me, "now") else {
            panic!("uid {me} is this process's")
        };
        let pid = format!("pid {}", std::process::id());
        assert!(what.contains(&pid), "{what}");
        let free = (1..65_534u32)
            .rev()
            .find(|u| crate::env::holders_of(*u).is_empty());
        assert_eq!(quota_in_use(free.unwrap(), "now"), Ok(()));
    }

    #[test]
    fn child_results_round_trip() {
        let cases = [
            Ok(Observation {
                call: "x(\t1)\n".into(),
                answer: Answer::Sync(Err(Errno::ENOMEM)),
            }),
            Ok(Observation {
                call: "y".into(),
                answer: Answer::Cqe {
                    res: -14,
                    flags: CqeFlags(0x10001),
                },
            }),
            Ok(Observation {
                call: "z".into(),
                answer: Answer::Sync(Ok(3)),
            }),
            Err(CaseError::Fail("bytes differ\tat 3".into())),
            Err(CaseError::Skip(SkipCause::Environment {
                what: "no".into(),
            })),
        ];
        for c in cases {
            let line = encode_result(&c);
            let read = ChildResult::from_line(&line).expect("a result line");
            assert_eq!(decode_result(&line, read), c);
        }
    }
}
