//! Running the matrix: the boots of one kernel, their reading, the pool of boots, the
//! verdict texts and the tables.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use uring_guest_init::exec::EXEC_LIST;
use uring_matrix::classify::{self, BootReport, Flag, VmEnd};
use uring_matrix::report::{self, Column, ModeColumn};
use uring_matrix::results::Results;

use crate::cli::{Accel, Opts};
use crate::kernels::Kernel;
use crate::qemu::{boot, kernel_cmdline, BootLogs, BootSpec};
use crate::util::{log, run, tail};

/// One suite run (mode) of a boot.
pub struct ModeRun {
    pub mode: String,
    /// The boot as this mode's run saw it.
    pub report: BootReport,
    pub results: Option<Results>,
    pub flags: Vec<Flag>,
}

pub struct KernelRun {
    pub kernel: Kernel,
    /// The boot as the first mode's run saw it (init, kernel problems: the same for all).
    pub report: BootReport,
    pub modes: Vec<ModeRun>,
    pub attempts: Vec<String>,
    pub secs: f64,
    /// When its first boot started.
    pub started: SystemTime,
}

impl KernelRun {
    pub fn clean(&self) -> bool {
        self.modes
            .iter()
            .all(|m| m.flags.is_empty() && m.results.is_some())
    }
}

/// Reads one boot's console and results channel as each mode's run saw it.
pub fn mode_runs(
    console: &str,
    channel: &str,
    end: VmEnd,
    k: &Kernel,
    modes: &[String],
) -> Vec<ModeRun> {
    modes
        .iter()
        .map(|mode| {
            let report = classify::classify_boot(console, channel, end, mode);
            // Results count only when the framed block was complete.
            let results = report
                .results_text
                .as_deref()
                .filter(|_| report.results_complete)
                .map(Results::salvage);
            let mut flags = report.flags(results.as_ref());
            if report.reached_init && k.has_fault_injection() && report.fail_nth != Some(true) {
                flags.push(Flag::Setup(
                    "the .config has FAULT_INJECTION but the guest has no \
                     /proc/thread-self/fail-nth"
                        .into(),
                ));
            }
            ModeRun {
                mode: mode.clone(),
                report,
                results,
                flags,
            }
        })
        .collect()
}

pub fn flags_label(flags: &[Flag]) -> String {
    if flags.is_empty() {
        "ok".to_string()
    } else {
        flags.iter().map(Flag::label).collect::<Vec<_>>().join(", ")
    }
}

/// Name of the scratch disk in the guest (the first namespace of the first NVMe controller).
pub const SCRATCH_DEV: &str = "nvme0n1";

/// A blank ext4 image for the guests' temp directory, made once (mke2fs needs no root).
pub fn scratch_image(cache: &Path) -> Result<PathBuf, String> {
    let img = cache.join("scratch.ext4");
    if img.is_file() {
        return Ok(img);
    }
    let tmp = cache.join("scratch.ext4.part");
    let f = fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.set_len(64 << 20).map_err(|e| e.to_string())?;
    let (ok, out, err) = run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-L", "uring-scratch"])
        .arg(&tmp));
    if !ok {
        let _ = fs::remove_file(&tmp);
        return Err(format!("mke2fs: {}", tail(&format!("{out}\n{err}"), 3)));
    }
    fs::rename(&tmp, &img).map_err(|e| e.to_string())?;
    Ok(img)
}

pub fn run_kernel(
    k: &Kernel,
    opts: &Opts,
    accel: Accel,
    initrd: &Path,
    scratch: Option<&Path>,
    out: &Path,
) -> KernelRun {
    let dir = out.join(&k.name);
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::create_dir_all(&dir);
    let mut extra = format!(
        "uring.threads={} uring.modes={}",
        opts.threads,
        opts.modes.0.join(",")
    );
    let scratch = scratch.filter(|_| k.wants_scratch());
    if scratch.is_some() {
        extra.push_str(&format!(" uring.scratch={SCRATCH_DEV}"));
    }
    let suite_args = opts.suite_args_for_arch();
    if !suite_args.is_empty() {
        extra.push_str(&format!(" uring.args=\"{suite_args}\""));
    }
    if opts.gcov {
        extra.push_str(" uring.gcov=1");
    }
    if let Some(a) = opts.kernel_args.as_deref().filter(|a| !a.trim().is_empty()) {
        extra.push_str(&format!(" {}", a.trim()));
    }
    if opts.mutant_ids.is_some() {
        extra.push_str(&format!(
            " uring.mutants=1 uring.mutant_limit={}",
            opts.mutant_limit
        ));
    }
    if opts.exec.is_some() {
        extra.push_str(&format!(" uring.exec={EXEC_LIST}"));
    }
    let mut attempts = Vec::new();
    let started = SystemTime::now();
    let mut total = 0.0;
    let mut accel_now = accel;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let spec = BootSpec {
            arch: opts.arch,
            image: &k.image,
            initrd,
            accel: accel_now,
            smp: opts.smp,
            memory: opts.memory,
            append: kernel_cmdline(opts.arch, &extra),
            timeout: Duration::from_secs(opts.boot_timeout()),
            idle: opts.idle_timeout.map(Duration::from_secs),
            scratch,
        };
        let (console, channel, qerr) = (
            dir.join("console.log"),
            dir.join("channel.log"),
            dir.join("qemu.stderr.log"),
        );
        let logs = BootLogs {
            console: &console,
            channel: &channel,
            stderr: &qerr,
        };
        log(&format!("{}: boot {attempt} ({:?})", k.name, accel_now));
        let (end, took) = match boot(&spec, &logs) {
            Ok(x) => x,
            Err(e) => {
                let _ = fs::write(&qerr, &e);
                (VmEnd::Exited(None), Duration::ZERO)
            }
        };
        total += took.as_secs_f64();
        let (text, channel_text) = (read_lossy(&console), read_lossy(&channel));
        let modes = mode_runs(&text, &channel_text, end, k, &opts.modes.0);
        let report = modes[0].report.clone();
        let labels: Vec<String> = modes.iter().map(|m| flags_label(&m.flags)).collect();
        let mut verdict = if labels.iter().all(|l| *l == labels[0]) {
            labels[0].clone()
        } else {
            modes
                .iter()
                .zip(&labels)
                .map(|(m, l)| format!("{}: {l}", m.mode))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !report.reached_init {
            let q = tail(&fs::read_to_string(&qerr).unwrap_or_default(), 1);
            if !q.is_empty() {
                verdict.push_str(&format!(" [{q}]"));
            }
        }
        attempts.push(format!(
            "boot {attempt} ({:?}, {:.1}s): {verdict}",
            accel_now,
            took.as_secs_f64()
        ));
        log(&format!(
            "{}: boot {attempt} done in {:.1}s: {verdict}",
            k.name,
            took.as_secs_f64()
        ));
        if modes.iter().any(|m| m.report.reached_suite()) || attempt > opts.retries as usize {
            for m in &modes {
                if let Some(t) = &m.report.results_text {
                    let _ = fs::write(dir.join(format!("results-{}.jsonl", m.mode)), t);
                }
            }
            let run = KernelRun {
                kernel: k.clone(),
                report,
                modes,
                attempts,
                secs: total,
                started,
            };
            if opts.gcov {
                let note = match uring_matrix::save_gcov(&channel_text, &dir.join("gcov")) {
                    Ok(n) => format!("files={n}"),
                    Err(e) => format!("error: {e}"),
                };
                log(&format!("{}: gcov {note}", k.name));
                let _ = fs::write(dir.join("gcov.txt"), format!("{note}\n"));
            }
            let _ = fs::write(dir.join("verdict.txt"), verdict_text(&run));
            let _ = fs::write(dir.join("verdict.json"), boot_verdict(&run).to_json());
            return run;
        }
        // Keep this attempt's logs and retry; a KVM boot that failed retries under TCG.
        let _ = fs::rename(&console, dir.join(format!("console.try{attempt}.log")));
        let _ = fs::rename(&channel, dir.join(format!("channel.try{attempt}.log")));
        let _ = fs::rename(&qerr, dir.join(format!("qemu.stderr.try{attempt}.log")));
        if accel_now == Accel::Kvm {
            accel_now = Accel::Tcg;
        }
    }
}

/// A log file as text (invalid UTF-8 replaced); empty when missing.
fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The boot's verdict, typed (`verdict.json`): the kernel's problems and why each mode's run
/// did not finish, for the tools that judge boots (ci/mutants/run.py).
pub fn boot_verdict(r: &KernelRun) -> uring_report::BootVerdict {
    use uring_report::Unfinished;
    let unfinished = |f: &Flag| match f {
        Flag::NoInit => Some(Unfinished::NoInit),
        Flag::Timeout(_) => Some(Unfinished::TimeLimit),
        Flag::SuiteCrashed(_) => Some(Unfinished::SuiteCrashed),
        Flag::NoResults => Some(Unfinished::NoResults),
        Flag::Kernel(_) | Flag::CasesFailed(_) | Flag::Setup(_) | Flag::Leaked(_) => None,
    };
    uring_report::BootVerdict {
        kernel: r.kernel.name.clone(),
        problems: r
            .report
            .problems
            .iter()
            .map(|p| uring_report::BootProblem {
                kind: p.kind,
                line: p.line.clone(),
            })
            .collect(),
        modes: r
            .modes
            .iter()
            .map(|m| uring_report::ModeVerdict {
                mode: m.mode.clone(),
                unfinished: m.flags.iter().filter_map(unfinished).collect(),
            })
            .collect(),
    }
}

pub fn verdict_text(r: &KernelRun) -> String {
    let mut s = format!("kernel: {} ({})\n", r.kernel.name, r.kernel.origin);
    if let Some(rel) = &r.report.kernel_release {
        s.push_str(&format!("uname -r: {rel}\n"));
    }
    if let Some(f) = r.report.fail_nth {
        s.push_str(&format!(
            "fault injection: /proc/thread-self/fail-nth {}\n",
            if f { "present" } else { "absent" }
        ));
    }
    if let Some(scratch) = &r.report.scratch {
        s.push_str(&format!("scratch disk: {scratch}\n"));
    }
    for a in &r.attempts {
        s.push_str(&format!("{a}\n"));
    }
    for m in &r.modes {
        s.push_str(&format!("mode {}: {}\n", m.mode, flags_label(&m.flags)));
        if m.report.suite_started {
            s.push_str(&format!(
                "  results read from {}\n",
                m.report.source.label()
            ));
        }
        if m.report.results_cut {
            s.push_str("  the report is shorter or longer than its marker announced (cut)\n");
        }
        if let Some(res) = &m.results {
            let c = res.counted();
            s.push_str(&format!(
                "  cases: {} pass, {} fail, {} skip, {} broken, {} timeout\n",
                c.pass, c.fail, c.skip, c.broken, c.timeout
            ));
            for f in res.failing_cases() {
                s.push_str(&format!(
                    "  {} {}: {}\n",
                    f.outcome.name().to_uppercase(),
                    f.name,
                    f.reason
                ));
            }
            if !res.bad_lines.is_empty() {
                s.push_str(&format!(
                    "  ({} unparsable result lines)\n",
                    res.bad_lines.len()
                ));
            }
        }
        if m.report.suite_started && !m.report.results_complete {
            if let Some(l) = &m.report.last_suite_line {
                s.push_str(&format!("  suite unfinished; its last output: {l}\n"));
            }
        }
    }
    for e in &r.report.init_errors {
        s.push_str(&format!("init: {e}\n"));
    }
    for p in &r.report.problems {
        s.push_str(&format!("kernel {}: {}\n", p.kind.label(), p.line));
        if let Some(l) = &p.after_suite_line {
            s.push_str(&format!("  last suite output before it: {l}\n"));
        } else if !p.during_suite {
            s.push_str("  (before the suite started)\n");
        }
        for c in p.context.iter().take(8) {
            s.push_str(&format!("  | {c}\n"));
        }
    }
    s
}

/// Boots every kernel, `--jobs` at a time, and returns their runs in `kernels` order.
pub fn run_all(
    kernels: &[Kernel],
    opts: &Opts,
    accel: Accel,
    initrd: &Path,
    scratch: Option<&Path>,
    out: &Path,
) -> Vec<KernelRun> {
    let queue = Arc::new(Mutex::new((0..kernels.len()).collect::<VecDeque<usize>>()));
    let runs: Arc<Mutex<Vec<Option<KernelRun>>>> =
        Arc::new(Mutex::new((0..kernels.len()).map(|_| None).collect()));
    std::thread::scope(|s| {
        for _ in 0..usize::from(opts.jobs).min(kernels.len().max(1)) {
            let (queue, runs, kernels, opts, initrd, out, scratch) =
                (&queue, &runs, kernels, opts, initrd, out, scratch);
            s.spawn(move || loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let r = run_kernel(&kernels[i], opts, accel, initrd, scratch, out);
                runs.lock().unwrap()[i] = Some(r);
            });
        }
    });
    Arc::try_unwrap(runs)
        .map_err(|_| ())
        .expect("workers finished")
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

/// Writes the tables and the summary to `out` and prints them with the kernels' verdicts;
/// returns whether any kernel failed or could not run. `secs`: (preparation, boots).
pub fn report_tables(
    runs: &[KernelRun],
    errors: &[(String, String)],
    out: &Path,
    opts: &Opts,
    accel: Accel,
    started: Instant,
    secs: (f64, f64),
) -> bool {
    let (prep_secs, boot_secs) = secs;
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
        opts.smp,
        opts.memory,
        opts.boot_timeout()
    ));
    for r in runs {
        summary.push_str(&verdict_text(r));
        summary.push('\n');
    }
    for (name, err) in errors {
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
    for (name, err) in errors {
        println!("{name:16} NOT RUN          {err}");
    }
    println!(
        "\nwall time {:.1}s (preparation {:.1}s, boots {:.1}s); details in ci/out/summary.txt",
        started.elapsed().as_secs_f64(),
        prep_secs,
        boot_secs
    );
    bad
}

/// `--kcidb PATH`: the run as a KCIDB document ([`uring_matrix::kcidb`]); `run_started`
/// (the matrix's start) tells this run's test ids from another's.
pub fn write_kcidb(
    runs: &[KernelRun],
    opts: &Opts,
    accel: Accel,
    run_started: SystemTime,
    path: &Path,
) -> Result<(), String> {
    use uring_matrix::kcidb::{self, BootInput, ModeInput};
    let environment = format!(
        "QEMU {} guest ({:?}), {} vCPU, {} MiB, uring-matrix",
        opts.arch.name(),
        accel,
        opts.smp,
        opts.memory
    );
    let boots: Vec<BootInput> = runs
        .iter()
        .map(|r| BootInput {
            kernel: &r.kernel.name,
            origin: &r.kernel.origin,
            arch: opts.arch.kernel(),
            release: r.report.kernel_release.as_deref(),
            started: r.started,
            secs: r.secs,
            environment: &environment,
            modes: r
                .modes
                .iter()
                .map(|m| ModeInput {
                    mode: &m.mode,
                    results: m.results.as_ref(),
                    flags: &m.flags,
                })
                .collect(),
        })
        .collect();
    let run_id = kcidb::rfc3339(run_started);
    let doc = kcidb::document(&opts.kcidb_origin, &run_id, &boots);
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
    fs::write(path, text).map_err(|e| format!("--kcidb {}: {e}", path.display()))
}
