//! Small helpers shared by the modules: dying, logging, running commands, the workspace root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn die(msg: &str) -> ! {
    eprintln!("uring-matrix: {msg}");
    std::process::exit(2)
}

pub fn log(msg: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "[matrix] {msg}");
}

/// Runs a command, returning (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    match cmd.stdin(Stdio::null()).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (
            false,
            String::new(),
            format!("cannot run {:?}: {e}", cmd.get_program()),
        ),
    }
}

pub fn tail(s: &str, n: usize) -> String {
    let v: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    v[v.len().saturating_sub(n)..].join("\n")
}

/// Whether this process runs as root: the effective uid of /proc/self (std only).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The workspace root: the nearest ancestor of the current directory holding
/// ci/matrix/Cargo.toml, else the one this binary was built from.
pub fn find_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for d in cwd.ancestors() {
            if d.join("ci/matrix/Cargo.toml").is_file() && d.join("Cargo.toml").is_file() {
                return d.to_path_buf();
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if built.join("ci/matrix/Cargo.toml").is_file() {
        return built.canonicalize().unwrap_or(built);
    }
    die("run this from inside the uring-conformance repository")
}

pub fn sha256_file(p: &Path) -> Result<String, String> {
    let (ok, out, err) = run(Command::new("sha256sum").arg(p));
    if !ok {
        return Err(format!("sha256sum {}: {}", p.display(), err.trim()));
    }
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| "sha256sum: no output".into())
}
