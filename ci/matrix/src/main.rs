//! uring-matrix: boots the io_uring conformance suite under QEMU on a matrix of kernels.
//! Run `cargo run -p uring-matrix --release -- --help` (or `ci/matrix.sh --help`).

use std::collections::VecDeque;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use uring_matrix::aptsrc::{self, ManifestEntry};
use uring_matrix::report::{self, Column, ModeColumn};

use crate::apt::fetch_deb_main;
use crate::cli::{filter_matches, parse_opts};
use crate::kernels::{build_kernels, cache_root, kernel_config_of, resolve_manifest, Kernel};
use crate::payload::{build_initramfs, cargo_static, check_static};
use crate::qemu::{ensure_qemu, pick_accel};
use crate::run::{run_kernel, scratch_image, verdict_text, KernelRun};
use crate::util::{die, find_root, log};

mod apt;
mod cli;
mod kernels;
mod payload;
mod qemu;
mod run;
mod util;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "fetch-deb") {
        fetch_deb_main(&args[1..]);
    }
    let opts = parse_opts();
    let started = Instant::now();
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
            println!("{:16} {:32} {}", e.name, e.suites.join(","), e.package);
        }
        return;
    }
    let selected: Vec<ManifestEntry> = manifest
        .into_iter()
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
    let out = root.join("ci/out");
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
            let qemu = ensure_qemu(&cache, opts.no_install)?;
            log(&format!("QEMU: {qemu}"));
            let init = cargo_static(&root, "uring-matrix", "guest-init")?;
            let suite = match &opts.payload {
                Some(p) => p.clone(),
                None => cargo_static(&root, "uring-conformance", "uring-conformance")?,
            };
            let (init, suite) = (check_static(&init)?, check_static(&suite)?);
            // The payload belongs to this checkout, not to the shared cache.
            build_initramfs(&init, &suite, &out.join("initramfs"))
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
        if !p.is_file() {
            die(&format!("--kernel {}: no such file", p.display()));
        }
        let stem: String = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = format!("dev-{stem}");
        let mut n = 2;
        while used.contains(&name) {
            name = format!("dev-{stem}-{n}");
            n += 1;
        }
        used.push(name.clone());
        let image = p.canonicalize().unwrap_or(p.clone());
        kernels.push(Kernel {
            name,
            origin: image.display().to_string(),
            config: kernel_config_of(&image),
            image,
        });
    }

    // Smoke-test KVM on a packaged kernel if there is one (the newest, a zstd image).
    let smoke = resolved.kernels.last().or(kernels.last());
    let accel = pick_accel(opts.accel, smoke, &initrd, &out, opts.memory);
    let scratch = scratch_image(&cache)
        .map_err(|e| {
            log(&format!(
                "no scratch disk ({e}): the file-mapping rows will skip"
            ))
        })
        .ok();
    let queue = Arc::new(Mutex::new((0..kernels.len()).collect::<VecDeque<usize>>()));
    let runs: Arc<Mutex<Vec<Option<KernelRun>>>> =
        Arc::new(Mutex::new((0..kernels.len()).map(|_| None).collect()));
    let boot_start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(kernels.len().max(1)) {
            let (queue, runs, kernels, opts, initrd, out, scratch) =
                (&queue, &runs, &kernels, &opts, &initrd, &out, &scratch);
            s.spawn(move || loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let r = run_kernel(&kernels[i], opts, accel, initrd, scratch.as_deref(), out);
                runs.lock().unwrap()[i] = Some(r);
            });
        }
    });
    let boot_secs = boot_start.elapsed().as_secs_f64();
    let runs: Vec<KernelRun> = Arc::try_unwrap(runs)
        .map_err(|_| ())
        .expect("workers finished")
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect();

    // Tables.
    let cols: Vec<Column> = runs
        .iter()
        .map(|r| Column {
            name: &r.kernel.name,
            release: r.report.kernel_release.as_deref(),
            modes: r
                .modes
                .iter()
                .map(|m| ModeColumn {
                    mode: &m.mode,
                    flags: &m.flags,
                    results: m.results.as_ref(),
                })
                .collect(),
        })
        .collect();
    let cases_txt = report::case_table(&cols, false);
    let features_txt = report::feature_table(&cols, false);
    let _ = fs::write(out.join("cases.txt"), &cases_txt);
    let _ = fs::write(out.join("cases.md"), report::case_table(&cols, true));
    let _ = fs::write(out.join("features.txt"), &features_txt);
    let _ = fs::write(out.join("features.md"), report::feature_table(&cols, true));

    let mut summary = String::new();
    summary.push_str(&format!(
        "accel: {accel:?}; smp {}; memory {} MB; timeout {} s\n",
        opts.smp, opts.memory, opts.timeout
    ));
    for r in &runs {
        summary.push_str(&verdict_text(r));
        summary.push('\n');
    }
    for (name, err) in &errors {
        summary.push_str(&format!("kernel: {name}: NOT RUN: {err}\n\n"));
    }
    summary.push_str(&format!(
        "wall time: {:.1}s (preparation {:.1}s, boots {:.1}s)\n",
        started.elapsed().as_secs_f64(),
        prep_secs,
        boot_secs
    ));
    let _ = fs::write(out.join("summary.txt"), &summary);

    println!("\n== case x kernel ==\n{cases_txt}");
    println!("== feature x kernel ==\n{features_txt}");
    println!("== kernels ==");
    let mut bad = !errors.is_empty();
    for (r, col) in runs.iter().zip(&cols) {
        let status = report::column_status(col);
        let retry = if r.attempts.len() > 1 {
            format!(" after {} boots", r.attempts.len())
        } else {
            String::new()
        };
        println!(
            "{:16} {:16} {:.1}s{}  [{}]",
            r.kernel.name, status, r.secs, retry, r.kernel.origin
        );
        if !r.report.reached_init {
            if let Some(last) = r.attempts.last() {
                println!("{:16}   {last}", "");
            }
        }
        for p in r.report.problems.iter().take(5) {
            println!("{:16}   kernel {}: {}", "", p.kind.label(), p.line);
            if let Some(l) = &p.after_suite_line {
                println!("{:16}     last suite output before it: {l}", "");
            }
        }
        if !r.clean() {
            bad = true;
        }
    }
    for (name, err) in &errors {
        println!("{name:16} NOT RUN          {err}");
    }
    println!(
        "\nwall time {:.1}s (preparation {:.1}s, boots {:.1}s); details in ci/out/summary.txt",
        started.elapsed().as_secs_f64(),
        prep_secs,
        boot_secs
    );
    std::process::exit(if bad { 1 } else { 0 });
}
