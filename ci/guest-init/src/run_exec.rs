//! The runner of the `uring.exec=LIST` mode (the format is [`uring_guest_init::exec`]'s):
//! each program in turn, its output pumped to the console, killed at the time limit.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use uring_guest_init::exec::{end_line, list_names, EXEC_TIMEOUT_SECS};

use crate::out::Out;
use crate::{pump, say};

/// Runs every program `list` names (they sit beside it) with `tmpdir` as TMPDIR.
pub fn run_list(out: &Arc<Out>, list: &str, tmpdir: &str) {
    let text = match std::fs::read_to_string(list) {
        Ok(t) => t,
        Err(e) => {
            say(
                out,
                &format!("@@URING-INIT-ERROR uring.exec: {list}: {e}@@"),
            );
            return;
        }
    };
    let dir = Path::new(list).parent().unwrap_or(Path::new("/"));
    let names = list_names(&text);
    for name in &names {
        let start = Instant::now();
        let end = run_one(out, &dir.join(name), tmpdir);
        say(out, &end_line(name, &end, start.elapsed().as_secs_f64()));
    }
    say(out, &format!("@@URING-EXEC-DONE ran={}@@", names.len()));
}

/// One program: `exit=N`, `signal=N`, `timeout` or `exit=127` (it did not start).
fn run_one(out: &Arc<Out>, path: &Path, tmpdir: &str) -> String {
    let child = Command::new(path)
        .env_clear()
        .env("PATH", "/")
        .env("HOME", "/tmp")
        .env("TMPDIR", tmpdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            say(out, &format!("exec| cannot start {}: {e}", path.display()));
            return "exit=127".into();
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    pump(
        child.stdout.take().unwrap(),
        "exec| ",
        out.clone(),
        tx.clone(),
    );
    pump(child.stderr.take().unwrap(), "exec| ", out.clone(), tx);
    let start = Instant::now();
    let end = loop {
        match child.try_wait() {
            Ok(Some(st)) => match st.code() {
                Some(code) => break format!("exit={code}"),
                None => break format!("signal={}", st.signal().unwrap_or(0)),
            },
            Ok(None) if start.elapsed() > Duration::from_secs(EXEC_TIMEOUT_SECS) => {
                let _ = child.kill();
                let _ = child.wait();
                break "timeout".into();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break "exit=-1".into(),
        }
    };
    // Bounded: a leftover grandchild may hold the pipes open.
    for _ in 0..2 {
        let _ = rx.recv_timeout(Duration::from_secs(2));
    }
    end
}
