//! Payload: the static guest-init and suite binaries and the initramfs holding them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use uring_matrix::cpio::{self, CpioWriter};

use crate::util::{log, run};

pub const TARGET: &str = "x86_64-unknown-linux-gnu";

pub fn cargo_static(root: &Path, package: &str, bin: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    log(&format!("building {bin} (static, {TARGET})"));
    let st = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            package,
            "--bin",
            bin,
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !st.success() {
        return Err(format!("cargo build -p {package} --bin {bin} failed"));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir.join(TARGET).join("release").join(bin))
}

pub fn check_static(p: &Path) -> Result<Vec<u8>, String> {
    let bytes = fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    match uring_matrix::elf_is_static(&bytes) {
        Ok(true) => Ok(bytes),
        Ok(false) => Err(format!(
            "{} is dynamically linked; build it with crt-static",
            p.display()
        )),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

pub fn build_initramfs(init: &[u8], suite: &[u8], dest: &Path) -> Result<PathBuf, String> {
    let mut w = CpioWriter::new();
    for d in ["dev", "proc", "sys", "tmp", "root"] {
        w.dir(d, 0o755);
    }
    w.char_dev("dev/console", 0o600, 5, 1);
    w.char_dev("dev/null", 0o666, 1, 3);
    w.file("init", 0o755, init);
    w.file("uring-conformance", 0o755, suite);
    let archive = w.finish();
    cpio::read_newc(&archive).map_err(|e| format!("self-check of the initramfs: {e}"))?;
    let raw = dest.with_extension("cpio");
    fs::write(&raw, &archive).map_err(|e| e.to_string())?;
    let gz = dest.with_extension("cpio.gz");
    let (ok, _, _) = run(Command::new("gzip")
        .args(["-n", "-6", "-f", "-k"])
        .arg(&raw));
    if ok {
        let _ = fs::remove_file(&raw);
        Ok(gz)
    } else {
        log("gzip not available: using an uncompressed initramfs");
        Ok(raw)
    }
}
