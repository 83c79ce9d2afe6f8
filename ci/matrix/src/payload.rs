//! Payload: the static guest-init and suite binaries and the initramfs holding them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use uring_matrix::cpio::{self, CpioWriter};
use uring_matrix::Elf64;

use crate::cli::Arch;
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

/// guest-init and the suite (`suite` when given, e.g. --payload) for `arch`: built here
/// with cargo for x86_64; for another architecture by ci/cross-build.sh (Debian's cross
/// toolchain in a chroot kept in the cache), whose stdout names the suite, then guest-init.
pub fn static_binaries(
    root: &Path,
    arch: Arch,
    suite: Option<&Path>,
) -> Result<(PathBuf, PathBuf), String> {
    if arch == Arch::X86_64 {
        let init = cargo_static(root, "uring-guest-init", "guest-init")?;
        let suite = match suite {
            Some(p) => p.to_path_buf(),
            None => cargo_static(root, "uring-conformance", "uring-conformance")?,
        };
        return Ok((init, suite));
    }
    log(&format!("cross-building the payload for {}", arch.name()));
    let out = Command::new(root.join("ci/cross-build.sh"))
        .arg(arch.name())
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("ci/cross-build.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("ci/cross-build.sh {} failed", arch.name()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().collect::<Vec<_>>()[..] {
        [built, init] => Ok((
            PathBuf::from(init),
            suite.map_or_else(|| PathBuf::from(built), Path::to_path_buf),
        )),
        _ => Err(format!(
            "ci/cross-build.sh {}: expected two paths, got {text:?}",
            arch.name()
        )),
    }
}

/// The ELF header of `arch`'s executables (elf.h: EM_X86_64, EM_AARCH64, EM_PPC64,
/// EM_S390; s390x alone is big-endian).
fn elf_of(arch: Arch) -> Elf64 {
    let (machine, big_endian) = match arch {
        Arch::X86_64 => (62, false),
        Arch::Aarch64 => (183, false),
        Arch::Powerpc64le => (21, false),
        Arch::S390x => (22, true),
    };
    Elf64 {
        big_endian,
        machine,
    }
}

/// The bytes of a static executable for `arch`; an error names the file and what is wrong.
pub fn check_static(p: &Path, arch: Arch) -> Result<Vec<u8>, String> {
    let bytes = fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    if Elf64::parse(&bytes).ok() != Some(elf_of(arch)) {
        return Err(format!(
            "{} is not a 64-bit {} ELF executable",
            p.display(),
            arch.name()
        ));
    }
    match uring_matrix::elf_is_static(&bytes) {
        Ok(true) => Ok(bytes),
        Ok(false) => Err(format!(
            "{} is dynamically linked; build it with crt-static",
            p.display()
        )),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

/// `--exec DIR`: every regular file of DIR (name, contents), for /exec/ in the initramfs.
pub fn exec_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let err = |e: std::io::Error| format!("--exec {}: {e}", dir.display());
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        if entry.file_type().map_err(err)?.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((name, fs::read(entry.path()).map_err(err)?));
        }
    }
    if !files.iter().any(|(n, _)| n == "list") {
        return Err(format!("--exec {}: no file named list", dir.display()));
    }
    files.sort();
    Ok(files)
}

/// The initramfs: guest-init as /init, the suite, `extra` files (name, content) at the root
/// and `exec`'s files under /exec/.
pub fn build_initramfs(
    init: &[u8],
    suite: &[u8],
    extra: &[(&str, Vec<u8>)],
    exec: &[(String, Vec<u8>)],
    dest: &Path,
) -> Result<PathBuf, String> {
    let mut w = CpioWriter::new();
    for d in ["dev", "proc", "sys", "tmp", "root"] {
        w.dir(d, 0o755);
    }
    if !exec.is_empty() {
        w.dir("exec", 0o755);
    }
    for (name, data) in exec {
        w.file(&format!("exec/{name}"), 0o755, data);
    }
    w.char_dev("dev/console", 0o600, 5, 1);
    w.char_dev("dev/null", 0o666, 1, 3);
    w.file("init", 0o755, init);
    w.file("uring-conformance", 0o755, suite);
    for (name, bytes) in extra {
        w.file(name, 0o644, bytes);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_of_reads_machine_and_byte_order() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(Elf64::parse(&h), Ok(elf_of(Arch::Aarch64)));
        h[18..20].copy_from_slice(&21u16.to_le_bytes());
        assert_eq!(Elf64::parse(&h), Ok(elf_of(Arch::Powerpc64le)));
        // s390x: big-endian, so e_machine 22 is stored 00 16.
        h[5] = 2;
        h[18..20].copy_from_slice(&22u16.to_be_bytes());
        assert_eq!(Elf64::parse(&h), Ok(elf_of(Arch::S390x)));
        h[18..20].copy_from_slice(&22u16.to_le_bytes());
        assert_ne!(Elf64::parse(&h), Ok(elf_of(Arch::S390x)));
        h[5] = 3;
        assert!(Elf64::parse(&h).is_err());
        assert!(Elf64::parse(b"#!/bin/sh\n").is_err());
        assert!(Elf64::parse(&h[..10]).is_err());
    }
}
