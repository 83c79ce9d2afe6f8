//! Where a run's output goes, so that neither a bad report path nor a stdout that stops
//! taking output costs the run: the report files are created before the run (a path that
//! cannot be written is a usage error at once, not after every row ran) and written at its
//! end; stdout goes through a pipe to a thread that forwards it and, after the first write
//! error (the reader went away: EPIPE; a full device: ENOSPC), drains and discards the rest.
//! libtest-mimic's printer unwraps every write, so without this a `| head -1` panicked it.

use crate::cli::Options;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags};
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
#[cfg(test)]
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The reports a run can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReportKind {
    /// `--report-json`: JSON lines.
    Json,
    /// `--report-ktap`: KTAP v1.
    Ktap,
    /// `--report-junit`: JUnit XML.
    Junit,
}

/// One report file: the option that named it, its path, the file (created, empty).
struct ReportFile {
    kind: ReportKind,
    option: &'static str,
    env: &'static str,
    path: String,
    file: File,
    /// Whether this run made the file (removed again if the run does not start).
    created: bool,
}

impl ReportFile {
    /// `--report-json (URING_REPORT_JSON) PATH`, for messages.
    fn named(&self) -> String {
        format!("{} ({}) {}", self.option, self.env, self.path)
    }
}

/// The report files the options ask for, created before the run and written at its end.
pub(crate) struct ReportFiles(Vec<ReportFile>);

impl ReportFiles {
    /// Creates (truncates) every report file `opts` names. A path that cannot be created (no
    /// such directory, a directory, a read-only place) or that names the same file as another
    /// report option is an error naming the option and the path; then no file was truncated
    /// and those this call made are removed again.
    pub(crate) fn create(opts: &Options) -> Result<ReportFiles, String> {
        let mut files: Vec<ReportFile> = Vec::new();
        let opened = Self::open_all(opts, &mut files);
        for f in &files {
            let truncated = match &opened {
                // A pipe, FIFO or terminal (`--report-json=/dev/stdout`, a process
                // substitution) has nothing to truncate: only a regular file is emptied.
                Ok(()) if f.file.metadata().is_ok_and(|m| m.is_file()) => f.file.set_len(0),
                Ok(()) => Ok(()),
                Err(_) if f.created => std::fs::remove_file(&f.path),
                Err(_) => Ok(()),
            };
            if let (Ok(()), Err(e)) = (&opened, truncated) {
                return Err(format!("{}: cannot truncate it: {e}", f.named()));
            }
        }
        opened.map(|()| ReportFiles(files))
    }

    /// Opens (without truncating) each report file into `files`, up to the first error.
    fn open_all(opts: &Options, files: &mut Vec<ReportFile>) -> Result<(), String> {
        for (kind, option, env, path) in [
            (
                ReportKind::Json,
                "--report-json",
                "URING_REPORT_JSON",
                &opts.report_json,
            ),
            (
                ReportKind::Ktap,
                "--report-ktap",
                "URING_REPORT_KTAP",
                &opts.report_ktap,
            ),
            (
                ReportKind::Junit,
                "--report-junit",
                "URING_REPORT_JUNIT",
                &opts.report_junit,
            ),
        ] {
            let Some(path) = path else { continue };
            let open = |new: bool| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(new)
                    .open(path)
            };
            let (file, created) = match open(true) {
                Ok(f) => (Ok(f), true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (open(false), false),
                Err(e) => (Err(e), false),
            };
            let file = ReportFile {
                kind,
                option,
                env,
                path: path.clone(),
                file: file
                    .map_err(|e| format!("{option} ({env}) {path}: cannot create it: {e}"))?,
                created,
            };
            let id = |f: &ReportFile| f.file.metadata().map(|m| (m.dev(), m.ino())).ok();
            let same = files.iter().find(|o| id(o).is_some() && id(o) == id(&file));
            let same = same.map(|o| format!("{}: the same file as {}", file.named(), o.named()));
            files.push(file);
            if let Some(e) = same {
                return Err(e);
            }
        }
        Ok(())
    }

    /// No report files (a `--list` run writes none).
    pub(crate) fn none() -> ReportFiles {
        ReportFiles(Vec::new())
    }

    /// Writes each report (`render` makes its text) and closes the files; every one that
    /// could not be written is named in the error, one a line.
    pub(crate) fn write(self, render: impl Fn(ReportKind) -> String) -> Result<(), String> {
        let errors: Vec<String> = self
            .0
            .into_iter()
            .filter_map(|mut r| {
                let text = render(r.kind);
                r.file
                    .write_all(text.as_bytes())
                    // fdatasync(2) of a pipe or terminal is EINVAL: only files are synced.
                    .and_then(|()| match r.file.metadata() {
                        Ok(m) if m.is_file() => r.file.sync_data(),
                        _ => Ok(()),
                    })
                    .err()
                    .map(|e| format!("{}: cannot write the report: {e}", r.named()))
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// Prints `text` on stdout (`--cases-json`, `--probe-report`, `--compare`): a stdout that
/// does not take it (a reader gone, a full device) is a note on stderr, not a panic, and
/// leaves the exit status to the caller.
pub(crate) fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        eprintln!("uring-conformance: stdout: {e}: the output was cut short");
    }
}

/// How long the forwarder waits for more output once the run is over: the run's own writes
/// are in the pipe by then; only a copy of fd 1 in a case thread that never ended (a
/// timeout) could keep the pipe open, and it writes nothing.
const DRAIN_POLL_MS: u8 = 50;

/// How long [`StdoutForwarder::sync`] waits for the output to be forwarded: a reader that
/// takes it slowly delays the stderr lines that follow no longer than this.
const SYNC_WAIT: Duration = Duration::from_secs(2);

/// Where [`StdoutForwarder`] sends what the run prints on fd 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ForwardTo {
    /// The real stdout (the usual run: libtest's lines).
    Stdout,
    /// stderr (`--ktap`: stdout carries the KTAP document alone, printed at the end).
    Stderr,
}

/// stdout forwarded through a pipe (see the module's doc). Dropping it (or [`finish`])
/// puts the real stdout back on fd 1.
///
/// [`finish`]: StdoutForwarder::finish
pub(crate) struct StdoutForwarder {
    /// The real stdout, to put back on fd 1.
    saved: Option<OwnedFd>,
    done: Arc<AtomicBool>,
    /// The pipe's read end again, for [`StdoutForwarder::sync`] to see it empty.
    peek: File,
    /// Set by the thread from before each read until its bytes are written out.
    busy: Arc<AtomicBool>,
    thread: Option<JoinHandle<Forwarded>>,
}

/// What the forwarder did: bytes discarded after the first write error, and that error.
#[derive(Debug, Default)]
struct Forwarded {
    error: Option<std::io::Error>,
    discarded: u64,
}

impl StdoutForwarder {
    /// Puts a pipe on fd 1 and starts the thread that forwards it to `to`, when stdout is
    /// open and (forwarded to stdout) not a terminal (a terminal that goes away ends the
    /// session anyway). Install it before the whole run's fd census, so that its fds are
    /// there before and after. Where it cannot be set up (no fd or thread left), the run goes
    /// on with stdout as it was, and says so.
    pub(crate) fn install(to: ForwardTo) -> Option<StdoutForwarder> {
        let out = std::io::stdout();
        if to == ForwardTo::Stdout && out.is_terminal() {
            return None;
        }
        // fd 1 closed: std's stdout already takes EBADF as written, and nothing can be lost.
        let saved = out.as_fd().try_clone_to_owned().ok()?;
        let target = match to {
            ForwardTo::Stdout => saved.try_clone(),
            ForwardTo::Stderr => std::io::stderr().as_fd().try_clone_to_owned(),
        };
        match target
            .map_err(|e| format!("dup {to:?}: {e}"))
            .and_then(|target| Self::start(saved, target))
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("uring-conformance: stdout is not forwarded ({e}); if it stops taking output, the run ends there");
                None
            }
        }
    }

    fn start(saved: OwnedFd, target: OwnedFd) -> Result<StdoutForwarder, String> {
        let target = File::from(target);
        let (read, write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe2: {e}"))?;
        let read = File::from(read);
        let peek = read.try_clone().map_err(|e| format!("dup the pipe: {e}"))?;
        let done = Arc::new(AtomicBool::new(false));
        let busy = Arc::new(AtomicBool::new(false));
        let flags = (done.clone(), busy.clone());
        let thread = std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || forward(read, target, &flags.0, &flags.1))
            .map_err(|e| format!("spawn the stdout thread: {e}"))?;
        let _ = std::io::stdout().lock().flush();
        if let Err(e) = nix::unistd::dup2_stdout(&write) {
            done.store(true, Ordering::Release);
            drop(write);
            let _ = thread.join();
            return Err(format!("dup2 onto stdout: {e}"));
        }
        Ok(StdoutForwarder {
            saved: Some(saved),
            done,
            peek,
            busy,
            thread: Some(thread),
        })
    }

    /// Flushes and waits (briefly) until everything printed so far was forwarded, so that
    /// what the run writes on stderr next comes after it, as it would without the pipe.
    pub(crate) fn sync(&self) {
        let _ = std::io::stdout().lock().flush();
        let start = std::time::Instant::now();
        // Empty first, then not busy: the thread sets `busy` before the read that empties
        // the pipe and clears it once those bytes are written out.
        while (readable(&self.peek) || self.busy.load(Ordering::SeqCst))
            && start.elapsed() < SYNC_WAIT
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Flushes, puts the real stdout back on fd 1, waits for the thread to forward what is
    /// left; on a write error, the one-line note for stderr.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let saved = self.saved.take()?;
        let _ = std::io::stdout().lock().flush();
        // Closes the pipe's write end on fd 1: the thread sees the end of the output.
        let restored = nix::unistd::dup2_stdout(&saved);
        self.done.store(true, Ordering::Release);
        let forwarded = self.thread.take()?.join().unwrap_or_default();
        if let Err(e) = restored {
            return Some(format!("stdout: cannot put it back on fd 1: {e}"));
        }
        let error = forwarded.error?;
        Some(format!(
            "stdout: {e}: the rest of the output was discarded ({n} bytes); the run went on to \
             its end (its reports written, its own exit status)",
            e = error,
            n = forwarded.discarded
        ))
    }
}

impl Drop for StdoutForwarder {
    fn drop(&mut self) {
        if let Some(note) = self.finish() {
            eprintln!("uring-conformance: {note}");
        }
    }
}

/// Whether `f` has bytes to read now.
fn readable(f: &File) -> bool {
    let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, 0u8).is_ok_and(|n| n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
}

/// The thread: copies `read` to `out` until the end of the output (every write end closed,
/// or `done` and nothing more to read); after the first write error it only drains.
fn forward(mut read: File, mut out: File, done: &AtomicBool, busy: &AtomicBool) -> Forwarded {
    let mut got = Forwarded::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut fds = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, DRAIN_POLL_MS) {
            Ok(0) if done.load(Ordering::Acquire) => return got,
            Ok(0) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return got,
        }
        busy.store(true, Ordering::SeqCst);
        let n = match read.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                busy.store(false, Ordering::SeqCst);
                continue;
            }
            Err(_) => return got,
        };
        if got.error.is_some() {
            got.discarded += n as u64;
        } else if let Err(e) = out.write_all(&buf[..n]) {
            got.error = Some(e);
            got.discarded += n as u64;
        }
        busy.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(json: Option<&str>, ktap: Option<&str>, junit: Option<&str>) -> Options {
        let p = |s: Option<&str>| s.map(str::to_string);
        Options {
            report_json: p(json),
            report_ktap: p(ktap),
            report_junit: p(junit),
            ..Options::default()
        }
    }

    /// A path that cannot be created is an error naming the option and the path; the
    /// files made before it are removed again and one that existed keeps its text.
    #[test]
    fn a_bad_report_path_is_an_error_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let at = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        let (old, new, missing) = (at("old.jsonl"), at("new.ktap"), at("no/such.xml"));
        std::fs::write(&old, "an earlier report\n").unwrap();
        let e = ReportFiles::create(&opts(Some(&old), Some(&new), Some(&missing)))
            .err()
            .unwrap();
        assert!(
            e.starts_with(&format!(
                "--report-junit (URING_REPORT_JUNIT) {missing}: cannot create it: "
            )),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&old).unwrap(),
            "an earlier report\n"
        );
        assert!(
            !Path::new(&new).exists(),
            "{new} was made by the refused run"
        );
        let dir_path = dir.path().to_str().unwrap();
        let e = ReportFiles::create(&opts(None, Some(dir_path), None))
            .err()
            .unwrap();
        assert!(
            e.contains("--report-ktap (URING_REPORT_KTAP)") && e.contains("Is a directory"),
            "{e}"
        );
        let same = format!("{}/./old.jsonl", dir_path);
        let e = ReportFiles::create(&opts(Some(&old), None, Some(&same)))
            .err()
            .unwrap();
        assert!(
            e.ends_with(&format!(
                "the same file as --report-json (URING_REPORT_JSON) {old}"
            )),
            "{e}"
        );
    }

    /// A report into a pipe (a FIFO here; `/dev/stdout` or a process substitution alike)
    /// is opened up front and written at the end, with nothing to truncate.
    #[test]
    fn a_report_goes_into_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("report.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let path = fifo.to_str().unwrap().to_string();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let files = ReportFiles::create(&opts(Some(&path), None, None)).unwrap();
        files.write(|k| format!("{k:?}\n")).unwrap();
        assert_eq!(reader.join().unwrap(), "Json\n");
    }

    /// Created up front (an earlier report truncated), written at the end, each its own text.
    #[test]
    fn report_files_are_created_then_written() {
        let dir = tempfile::tempdir().unwrap();
        let at = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        let (json, junit) = (at("r.jsonl"), at("r.xml"));
        std::fs::write(&json, "an earlier, longer report\n").unwrap();
        let files = ReportFiles::create(&opts(Some(&json), None, Some(&junit))).unwrap();
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "");
        assert_eq!(std::fs::read_to_string(&junit).unwrap(), "");
        files.write(|k| format!("{k:?}\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "Json\n");
        assert_eq!(std::fs::read_to_string(&junit).unwrap(), "Junit\n");
    }

    /// A reader that went away: the forwarder keeps draining its pipe (so the writers never
    /// block or fail) and reports the first error with what it discarded.
    #[test]
    fn the_forwarder_drains_after_a_write_error() {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let (out_read, out_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        drop(out_read);
        let (done, busy) = (AtomicBool::new(false), AtomicBool::new(false));
        let mut write = File::from(write);
        let forwarded = std::thread::scope(|s| {
            let t = s.spawn(move || forward(File::from(read), File::from(out_write), &done, &busy));
            // More than a pipe holds: without the drain this write would block.
            for _ in 0..40 {
                write.write_all(&[b'x'; 4096]).unwrap();
            }
            drop(write);
            t.join().unwrap()
        });
        let e = forwarded.error.expect("the write error");
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        assert_eq!(forwarded.discarded, 40 * 4096);
    }
}
