//! Small helpers (kernel command line, static ELF check) and the command lines of
//! ci/build-kernel.sh and uring-matrix: bad arguments exit 2 naming the option.

use uring_matrix::{cmdline_value, elf_is_static};

// ---- misc -------------------------------------------------------------------------------

#[test]
fn kernel_cmdline_values() {
    let c = "console=ttyS0 panic=-1 uring.threads=2 uring.args=\"--strict --filter a::b\" xuring.smoke=1\n";
    assert_eq!(cmdline_value(c, "uring.threads").as_deref(), Some("2"));
    assert_eq!(
        cmdline_value(c, "uring.args").as_deref(),
        Some("--strict --filter a::b")
    );
    assert_eq!(cmdline_value(c, "uring.smoke"), None);
    assert_eq!(cmdline_value(c, "panic").as_deref(), Some("-1"));
}

#[test]
fn elf_static_check() {
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    // The test binary is a normal dynamically linked executable.
    assert_eq!(elf_is_static(&me), Ok(false));
    assert!(elf_is_static(b"#!/bin/sh\n").is_err());
    let mut fake = vec![0u8; 64];
    fake[..4].copy_from_slice(b"\x7fELF");
    fake[4] = 2;
    fake[5] = 1;
    assert_eq!(elf_is_static(&fake), Ok(true)); // no program headers, so no interpreter
                                                // A big-endian (s390x) file with one PT_INTERP program header at offset 64.
    let mut be = vec![0u8; 64 + 56];
    be[..4].copy_from_slice(b"\x7fELF");
    be[4] = 2;
    be[5] = 2;
    be[32..40].copy_from_slice(&64u64.to_be_bytes());
    be[54..56].copy_from_slice(&56u16.to_be_bytes());
    be[56..58].copy_from_slice(&1u16.to_be_bytes());
    be[64..68].copy_from_slice(&3u32.to_be_bytes());
    assert_eq!(elf_is_static(&be), Ok(false));
    be[64..68].copy_from_slice(&1u32.to_be_bytes()); // PT_LOAD
    assert_eq!(elf_is_static(&be), Ok(true));
    be[56..58].copy_from_slice(&2u16.to_be_bytes()); // a second header past the end
    assert!(elf_is_static(&be).is_err());
}

/// Runs `program` with a cache directory that cannot exist: (exit code, stdout, stderr).
fn run_without_cache(program: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let o = std::process::Command::new(program)
        .args(args)
        .env("URING_CACHE", "/nonexistent/never-created")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// ci/build-kernel.sh: bad arguments exit 2 with a message, before touching any cache.
#[test]
fn build_kernel_arguments() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../build-kernel.sh");
    let run = |args: &[&str]| run_without_cache(script, args);
    for (args, says) in [
        (
            &["--config", "nope"][..],
            "no fragment fixtures/kernel-configs/nope.config",
        ),
        (&["--config", "Tiny"][..], "--config wants a name"),
        (&["--config", "../minimal"][..], "--config wants a name"),
        (&["--config"][..], "--config needs a name"),
        (&["--version", "7"][..], "--version wants X.Y"),
        (&["--jobs", "0"][..], "--jobs wants a positive number"),
        (&["--bogus"][..], "unknown argument --bogus"),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, out, _) = run(&["--list"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["arm64-64k", "faultinject", "gcov", "minimal", "tiny"]
    );
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("--config NAME"), "{out}");
}

/// uring-matrix: `--help` names every option with its meaning; a bad value is an error that
/// names the option, exit 2, before any cache, apt or QEMU work.
#[test]
fn matrix_arguments() {
    let run = |args: &[&str]| run_without_cache(env!("CARGO_BIN_EXE_uring-matrix"), args);
    for (args, says) in [
        (&["--jobs", "0"][..], "--jobs <N>"),
        (&["--jobs", "two"][..], "--jobs <N>"),
        (&["--timeout", "1"][..], "--timeout <S>"),
        (&["--memory", "64"][..], "--memory <MB>"),
        (&["--modes", "default,fast"][..], "unknown mode \"fast\""),
        (&["--modes", "strict,strict"][..], "mode strict given twice"),
        (&["--accel", "hvf"][..], "--accel <ACCEL>"),
        (&["--suite-args", "a\"b"][..], "double quotes"),
        (&["--only-path"][..], "--kernel <PATH>"),
        (&["--bogus"][..], "--bogus"),
        (&["fetch-deb", "sid"][..], "<PACKAGE>"),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    for opt in [
        "--kernel",
        "--only-path",
        "--no-build",
        "--modes",
        "--filter",
        "--jobs",
        "--timeout",
        "--suite-args",
        "--threads",
        "--smp",
        "--memory",
        "--accel",
        "--retries",
        "--payload",
        "--offline",
        "--no-install",
        "--list",
        "fetch-deb",
        "URING_MATRIX_MIRROR",
    ] {
        assert!(out.contains(opt), "--help lacks {opt}:\n{out}");
    }
}
