//! uring-matrix: boots the io_uring conformance suite under QEMU on a matrix of kernels.
//! Run `cargo run -p uring-matrix --release -- --help` (or `ci/matrix.sh --help`).

use std::fs;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use uring_matrix::aptsrc::{self, ManifestEntry};

use crate::apt::{fetch_deb_main, fetch_source_main};
use crate::cli::{filter_matches, parse_opts, Command};
use crate::kernels::{build_kernels, cache_root, path_kernel, resolve_manifest, Kernel};
use crate::payload::{build_initramfs, check_static, exec_files, static_binaries};
use crate::qemu::{ensure_qemu, pick_accel};
use crate::run::{report_tables, run_all, scratch_image, write_kcidb};
use crate::util::{die, find_root, log};

mod apt;
mod cli;
mod kernels;
mod payload;
mod qemu;
mod run;
mod util;

fn main() {
    let opts = parse_opts();
    if let Some(Command::FetchDeb {
        suite,
        package,
        dir,
    }) = &opts.command
    {
        fetch_deb_main(&cache_root(&find_root()), suite, package, dir);
    }
    if let Some(Command::FetchSource {
        suite,
        package,
        version,
        dir,
    }) = &opts.command
    {
        fetch_source_main(&cache_root(&find_root()), suite, package, version, dir);
    }
    let started = Instant::now();
    let started_at = SystemTime::now();
    // The KCIDB file is created before anything runs: a path that cannot be written is a
    // usage error now, not after the boots.
    if let Some(p) = &opts.kcidb {
        fs::write(p, "").unwrap_or_else(|e| die(&format!("--kcidb {}: {e}", p.display())));
    }
    let root = find_root();
    let manifest_path = root.join("fixtures/kernels.manifest");
    let manifest = if opts.only_path {
        vec![]
    } else {
        let text = fs::read_to_string(&manifest_path)
            .unwrap_or_else(|e| die(&format!("{}: {e}", manifest_path.display())));
        aptsrc::parse_manifest(&text).unwrap_or_else(|e| die(&e))
    };
    if opts.list {
        for e in &manifest {
            println!(
                "{:16} {:32} {:44} {}",
                e.name,
                e.suites.join(","),
                e.package,
                e.arch
            );
        }
        return;
    }
    let selected: Vec<ManifestEntry> = manifest
        .into_iter()
        .filter(|e| e.arch == opts.arch.debian())
        .filter(|e| {
            opts.filters.is_empty() || opts.filters.iter().any(|f| filter_matches(f, &e.name))
        })
        .filter(|e| !(opts.no_build && e.build_config().is_some()))
        .collect();
    if selected.is_empty() && opts.kernels.is_empty() {
        die("no kernel selected (check --filter)");
    }
    let (to_build, packaged): (Vec<&ManifestEntry>, Vec<&ManifestEntry>) =
        selected.iter().partition(|e| e.build_config().is_some());
    let packaged: Vec<ManifestEntry> = packaged.into_iter().cloned().collect();
    let out = opts.out.clone().unwrap_or_else(|| root.join("ci/out"));
    let cache = cache_root(&root);
    log(&format!("cache: {}", cache.display()));
    for d in [&cache, &out] {
        fs::create_dir_all(d).unwrap_or_else(|e| die(&format!("{}: {e}", d.display())));
    }

    // Kernels (network), own kernels (CPU, cached) and payload (CPU) at the same time.
    let (resolved, built, payload) = std::thread::scope(|s| {
        let h = s.spawn(|| resolve_manifest(&root, &cache, &packaged, opts.offline));
        let b = s.spawn(|| build_kernels(&root, &cache, &to_build));
        let payload = (|| -> Result<PathBuf, String> {
            let qemu = ensure_qemu(&cache, opts.no_install, opts.arch)?;
            log(&format!("QEMU: {qemu}"));
            let (init, suite) = static_binaries(&root, opts.arch, opts.payload.as_deref())?;
            let (init, suite) = (
                check_static(&init, opts.arch)?,
                check_static(&suite, opts.arch)?,
            );
            // The payload belongs to this checkout, not to the shared cache.
            let mut extra = Vec::new();
            if let Some(p) = &opts.mutant_ids {
                let ids = fs::read(p).map_err(|e| format!("--mutant-ids {}: {e}", p.display()))?;
                extra.push((uring_guest_init::MUTANT_IDS, ids));
            }
            // One per architecture: runs of two --arch at once must not boot each
            // other's payload (an s390x guest got the ppc64el init: ENOEXEC).
            let initramfs = out.join(format!("initramfs-{}", opts.arch.name()));
            let exec = match opts.exec.as_deref() {
                Some(dir) => exec_files(dir)?,
                None => Vec::new(),
            };
            build_initramfs(&init, &suite, &extra, &exec, &initramfs)
        })();
        (
            h.join()
                .unwrap_or_else(|_| die("kernel resolution panicked")),
            b.join().unwrap_or_else(|_| die("kernel build panicked")),
            payload,
        )
    });
    let initrd = payload.unwrap_or_else(|e| die(&e));
    let prep_secs = started.elapsed().as_secs_f64();

    // Manifest order, packaged and built alike.
    let mut errors = resolved.errors.clone();
    errors.extend(built.1.iter().cloned());
    let mut kernels: Vec<Kernel> = selected
        .iter()
        .filter_map(|e| {
            resolved
                .kernels
                .iter()
                .chain(built.0.iter())
                .find(|k| k.name == e.name)
                .cloned()
        })
        .collect();
    let mut used: Vec<String> = kernels.iter().map(|k| k.name.clone()).collect();
    for p in &opts.kernels {
        kernels.push(path_kernel(p, &mut used));
    }

    // Smoke-test KVM on a packaged kernel if there is one (the newest, a zstd image).
    let smoke = resolved.kernels.last().or(kernels.last());
    let accel = pick_accel(opts.arch, opts.accel, smoke, &initrd, &out, opts.memory);
    let scratch = scratch_image(&cache)
        .map_err(|e| {
            log(&format!(
                "no scratch disk ({e}): the file-mapping rows will skip"
            ))
        })
        .ok();
    let boot_start = Instant::now();
    let runs = run_all(&kernels, &opts, accel, &initrd, scratch.as_deref(), &out);
    let boot_secs = boot_start.elapsed().as_secs_f64();

    let bad = report_tables(
        &runs,
        &errors,
        &out,
        &opts,
        accel,
        started,
        (prep_secs, boot_secs),
    );
    if let Some(p) = &opts.kcidb {
        match write_kcidb(&runs, &opts, accel, started_at, p) {
            Ok(()) => log(&format!("KCIDB: {}", p.display())),
            Err(e) => die(&e),
        }
    }
    std::process::exit(if bad { 1 } else { 0 });
}
