//! uring-bench: our ring, liburing (C) and the io-uring crate side by side, in one run.
//!
//! `uring-bench [--quick] [--rounds=N] [--only=SUBSTR] [--callgrind] [--json]` (`--help`)
//!
//! Every figure is measured for all three implementations in the same round, rounds
//! interleaved, so machine noise hits them alike; the table shows median [min-max] over
//! rounds and the ratio ours/peer. `--callgrind` instead counts user-space instructions
//! per NOP: each configuration runs as its own process under callgrind with N NOPs and
//! with none, and (Ir(N) - Ir(0)) / N is reported.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use uring::abi::SetupFlags;

mod callgrind;
mod cli;
mod iou;
mod lu;
mod ours;

use ours::{ours_clone, ours_msg, ours_nop, ours_read, ours_reg};

/// A figure not yet set up (its rings are made only when its turn comes).
type MakeCase = Box<dyn FnOnce() -> Case>;

/// One workload, set up: runs `iters` loop iterations.
pub type Work = Box<dyn FnMut(u64)>;

const IMPLS: [&str; 3] = ["ours", "liburing", "io-uring"];
const BATCHES: [u32; 4] = [1, 8, 32, 128];
const QD: u32 = 32;
const FILE_SIZE: u64 = 64 << 20;
const NBUF: usize = 1024;

/// A ring's setup flags (named on a --callgrind child's command line).
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Cfg {
    /// No setup flags.
    Default,
    /// SINGLE_ISSUER | DEFER_TASKRUN.
    #[value(name = "sidefer")]
    SingleDefer,
}

impl Cfg {
    fn name(self) -> &'static str {
        match self {
            Cfg::Default => "default",
            Cfg::SingleDefer => "SI|DEFER",
        }
    }
    /// The name a --callgrind child is given.
    fn arg(self) -> &'static str {
        match self {
            Cfg::Default => "default",
            Cfg::SingleDefer => "sidefer",
        }
    }
    fn flags(self) -> SetupFlags {
        match self {
            Cfg::Default => SetupFlags::NONE,
            Cfg::SingleDefer => SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
        }
    }
    /// The raw IORING_SETUP_* bits, for the peers.
    pub fn bits(self) -> u32 {
        self.flags().0
    }
}

#[allow(unsafe_code)] // getrusage
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes one rusage into the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[derive(Default, Clone)]
struct Samples {
    ops_s: Vec<f64>,
    cpu_ns: Vec<f64>,
}

/// Runs `w` for about `target`, in chunks that grow until one takes ~2 ms.
fn measure(w: &mut Work, ops_per_iter: u64, target: Duration) -> (f64, f64) {
    w(1); // warm-up
    let mut chunk = 1u64;
    let mut iters = 0u64;
    let c0 = thread_cpu();
    let t0 = Instant::now();
    loop {
        let t = Instant::now();
        w(chunk);
        iters += chunk;
        if t0.elapsed() >= target {
            break;
        }
        if t.elapsed() < Duration::from_millis(2) {
            chunk *= 2;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (thread_cpu() - c0).as_secs_f64();
    let ops = (iters * ops_per_iter) as f64;
    (ops / wall, cpu * 1e9 / ops)
}

struct Case {
    name: String,
    ops_per_iter: u64,
    works: [Option<Work>; 3],
    show_cpu: bool,
}

/// One xorshift64 step: the pseudo-random block offsets of the read figures, the same
/// sequence on every side.
fn xorshift(s: &mut u64) -> u64 {
    let mut x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    x
}

// ---------------------------------------------------------------- cases

fn temp_file() -> (File, Option<File>, std::path::PathBuf) {
    let dir = std::env::var_os("URING_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("uring-bench-{}.dat", std::process::id()));
    {
        let mut f = File::create(&path).expect("create the 64 MiB test file");
        let mut block = vec![0u8; 1 << 20];
        let mut s = 1u64;
        for chunk in 0..(FILE_SIZE >> 20) {
            for (i, b) in block.iter_mut().enumerate() {
                *b = (xorshift(&mut s) as u8) ^ (i as u8) ^ (chunk as u8);
            }
            f.write_all(&block).expect("write test file");
        }
        f.sync_all().expect("fsync test file");
    }
    let buffered = File::open(&path).expect("open test file");
    let direct = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path)
        .ok();
    (buffered, direct, path)
}

fn cases(only: &str) -> (Vec<MakeCase>, Vec<String>) {
    let mut v: Vec<MakeCase> = Vec::new();
    let mut notes = Vec::new();
    let want = |n: &str| only.is_empty() || n.contains(only);
    for cfg in [Cfg::Default, Cfg::SingleDefer] {
        for b in BATCHES {
            let name = format!("nop {} batch {b}", cfg.name());
            if want(&name) {
                v.push(Box::new(move || Case {
                    name,
                    ops_per_iter: b as u64,
                    works: [
                        Some(ours_nop(cfg, b, true)),
                        lu::nop(cfg, b),
                        Some(iou::nop(cfg, b)),
                    ],
                    show_cpu: false,
                }));
            }
        }
    }
    let any_read = ["read", "read_fixed"]
        .iter()
        .any(|k| want(&format!("{k} buffered")) || want(&format!("{k} O_DIRECT")));
    if any_read {
        let (buffered, direct, path) = temp_file();
        let _ = std::fs::remove_file(&path);
        // Kept open for the whole run (the workloads hold only the raw fd).
        let buffered: &'static File = Box::leak(Box::new(buffered));
        if direct.is_none() {
            notes.push("O_DIRECT: not allowed on this filesystem; rows skipped".into());
        }
        let direct: Option<&'static File> = direct.map(|f| &*Box::leak(Box::new(f)));
        for (mode, file) in [("buffered", Some(buffered)), ("O_DIRECT", direct)] {
            let Some(file) = file else { continue };
            for fixed in [true, false] {
                let name = format!(
                    "{} {mode} 4K QD32",
                    if fixed { "read_fixed" } else { "read" }
                );
                if !want(&name) {
                    continue;
                }
                v.push(Box::new(move || Case {
                    name,
                    ops_per_iter: 1,
                    works: [
                        Some(ours_read(file, fixed)),
                        lu::read(file.as_raw_fd(), fixed),
                        Some(iou::read(file.as_raw_fd(), fixed)),
                    ],
                    show_cpu: true,
                }));
            }
        }
    }
    if want("register+unregister 1024x4K") {
        v.push(Box::new(|| Case {
            name: "register+unregister 1024x4K".into(),
            ops_per_iter: 1,
            works: [Some(ours_reg()), lu::reg(), Some(iou::reg())],
            show_cpu: false,
        }));
    }
    if want("clone 1024 (+unregister)") {
        v.push(Box::new(|| Case {
            name: "clone 1024 (+unregister)".into(),
            ops_per_iter: 1,
            works: [ours_clone(), lu::clone(), iou::clone()],
            show_cpu: false,
        }));
    }
    for per in [1u32, 32] {
        let name = format!("msg_ring data {per}/submit");
        if want(&name) {
            v.push(Box::new(move || Case {
                name,
                ops_per_iter: per as u64,
                works: [Some(ours_msg(per)), lu::msg(per), Some(iou::msg(per))],
                show_cpu: false,
            }));
        }
    }
    (v, notes)
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn cell(s: Option<&Vec<f64>>, f: fn(f64) -> String) -> String {
    match s {
        Some(v) if !v.is_empty() => {
            let (lo, med, hi) = stats(v);
            format!("{} [{}-{}]", f(med), f(lo), f(hi))
        }
        _ => "n/a".into(),
    }
}

fn ratio(ours: Option<&Vec<f64>>, peer: Option<&Vec<f64>>) -> String {
    match (ours, peer) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
            format!("{:.2}x", stats(a).1 / stats(b).1)
        }
        _ => "-".into(),
    }
}

/// One figure of the timed run as a JSON object: per implementation median/min/max (null
/// where it did not run), and the ratios ours/peer of the medians.
fn figure_json(name: &str, unit: &str, v: [Option<&Vec<f64>>; 3]) -> serde_json::Value {
    let summary = |s: Option<&Vec<f64>>| match s {
        Some(s) if !s.is_empty() => {
            let (min, median, max) = stats(s);
            serde_json::json!({ "median": median, "min": min, "max": max, "rounds": s.len() })
        }
        _ => serde_json::Value::Null,
    };
    let r = |p: Option<&Vec<f64>>| match (v[0], p) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
            serde_json::json!(stats(a).1 / stats(b).1)
        }
        _ => serde_json::Value::Null,
    };
    let mut o = serde_json::Map::new();
    o.insert("figure".into(), name.into());
    o.insert("unit".into(), unit.into());
    for (i, imp) in IMPLS.iter().enumerate() {
        o.insert((*imp).into(), summary(v[i]));
    }
    o.insert("ours/liburing".into(), r(v[1]));
    o.insert("ours/io-uring".into(), r(v[2]));
    o.into()
}

fn run_table(quick: bool, rounds: usize, only: &str, json: bool) {
    let target = Duration::from_millis(if quick { 25 } else { 60 });
    // With --json, one JSON object a line (a header, then one per figure) instead of the table.
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "run": "time", "rounds": rounds, "target_ms": target.as_millis() as u64,
                "liburing": cfg!(has_liburing),
            })
        );
    }
    say(format!(
        "uring-bench: {rounds} rounds x ~{} ms per figure per implementation, interleaved; liburing: {}",
        target.as_millis(),
        if cfg!(has_liburing) { "built" } else { "NOT BUILT (install liburing-dev and rebuild)" }
    ));
    say(format!(
        "{:<30} {:<28} {:<28} {:<28} {:>8} {:>8}",
        "figure (ops/s; cpu ns/op)",
        "ours med [min-max]",
        "liburing",
        "io-uring",
        "ours/lu",
        "ours/iou"
    ));
    let (list, notes) = cases(only);
    for mk in list {
        let mut c = mk();
        let mut s: [Samples; 3] = Default::default();
        for r in 0..rounds {
            // Rotate who goes first each round, so no implementation always gets the same
            // slot (frequency ramps, a neighbour's load) in the interleaving.
            for k in 0..3 {
                let i = (r + k) % 3;
                if let Some(w) = &mut c.works[i] {
                    let (ops, cpu) = measure(w, c.ops_per_iter, target);
                    s[i].ops_s.push(ops);
                    s[i].cpu_ns.push(cpu);
                }
            }
        }
        let get = |i: usize, cpu: bool| {
            c.works[i]
                .as_ref()
                .map(|_| if cpu { &s[i].cpu_ns } else { &s[i].ops_s })
        };
        if json {
            let ops = [get(0, false), get(1, false), get(2, false)];
            println!("{}", figure_json(&c.name, "ops/s", ops));
            if c.show_cpu {
                let cpu = [get(0, true), get(1, true), get(2, true)];
                println!("{}", figure_json(&c.name, "cpu ns/op", cpu));
            }
        }
        say(format!(
            "{:<30} {:<28} {:<28} {:<28} {:>8} {:>8}",
            c.name,
            cell(get(0, false), si),
            cell(get(1, false), si),
            cell(get(2, false), si),
            ratio(get(0, false), get(1, false)),
            ratio(get(0, false), get(2, false)),
        ));
        if c.show_cpu {
            let ns = |x: f64| format!("{x:.0}ns");
            say(format!(
                "{:<30} {:<28} {:<28} {:<28} {:>8} {:>8}",
                "  cpu per op",
                cell(get(0, true), ns),
                cell(get(1, true), ns),
                cell(get(2, true), ns),
                ratio(get(0, true), get(1, true)),
                ratio(get(0, true), get(2, true)),
            ));
        }
        std::io::stdout().flush().ok();
    }
    for n in notes {
        if json {
            println!("{}", serde_json::json!({ "note": n }));
        }
        say(format!("note: {n}"));
    }
    say("ratios: ops/s ours/peer (>1: ours faster); cpu rows ours/peer (<1: ours cheaper)".into());
}

fn main() {
    let cli = <cli::Cli as clap::Parser>::parse();
    match cli.child {
        Some(cli::Child::NopChild {
            imp,
            cfg,
            batch,
            iters,
        }) => return callgrind::nop_child(&imp, cfg, batch, iters),
        Some(cli::Child::ReadChild {
            imp,
            mode,
            batch,
            iters,
            file,
        }) => {
            let kind = callgrind::IoKind::from_arg(&mode).expect("a mode clap accepted");
            return callgrind::read_child(&imp, kind, batch, iters, &file);
        }
        None => {}
    }
    let rounds = cli
        .rounds
        .map_or(if cli.quick { 3 } else { 5 }, |r| r as usize);
    if !cfg!(has_liburing) && !cli.json {
        println!("note: liburing was not built (no liburing-dev at build time): its column is n/a");
    }
    if cli.callgrind {
        callgrind::run(cli.quick, cli.json, &cli.only);
    } else {
        run_table(cli.quick, rounds, &cli.only, cli.json);
    }
}
