//! `--callgrind`: user-space instructions per NOP and per 4 KiB read, each configuration in
//! its own process under `valgrind --tool=callgrind`, with N operations and with none:
//! (Ir(N) - Ir(0)) / N.

use crate::ours::{ours_nop, ours_read_batch};
use crate::{iou, lu, Cfg, Work, BATCHES, IMPLS};
use std::io::Write;
use std::process::Command;

/// The request of a read figure (its value is the liburing side's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IoKind {
    /// IORING_OP_READ into user memory.
    Read = 0,
    /// IORING_OP_READ_FIXED into a registered buffer.
    Fixed = 1,
    /// IORING_OP_READV of one iovec, written for each request.
    Readv = 2,
    /// IORING_OP_WRITE from user memory.
    Write = 3,
}

impl IoKind {
    /// The figures, in the table's order.
    pub const ALL: [IoKind; 4] = [IoKind::Read, IoKind::Readv, IoKind::Write, IoKind::Fixed];

    /// Its name in the child's command line.
    pub fn arg(self) -> &'static str {
        match self {
            IoKind::Read => "read",
            IoKind::Fixed => "fixed",
            IoKind::Readv => "readv",
            IoKind::Write => "write",
        }
    }

    /// The kind of a child's command-line name (one clap checked).
    pub fn from_arg(arg: &str) -> Option<IoKind> {
        IoKind::ALL.into_iter().find(|k| k.arg() == arg)
    }

    /// Its name in the figure.
    fn name(self) -> &'static str {
        match self {
            IoKind::Fixed => "read_fixed",
            k => k.arg(),
        }
    }
}

/// Batches of the read figures (the read rings have 64 entries, the buffer 32 slots).
const READ_BATCHES: [u32; 3] = [1, 8, 32];
/// The page-cache file of the read figures: 1 MiB, read in order, 4 KiB at a time.
const READ_BLOCKS: u64 = 256;

/// The child of `--callgrind`: one NOP configuration, `iters` loop iterations, exit
/// (`imp` is one of [`COUNTED`], checked by the command line).
pub fn nop_child(imp: &str, cfg: Cfg, batch: u32, iters: u64) {
    let mut w: Work = match imp {
        "ours" => ours_nop(cfg, batch, true),
        "ours-push" => ours_nop(cfg, batch, false),
        "io-uring" => iou::nop(cfg, batch),
        "liburing" => lu::nop(cfg, batch).expect("liburing not built"),
        _ => panic!("unknown implementation {imp}"),
    };
    if iters > 0 {
        w(iters);
    }
}

/// The child of `--callgrind` for reads (`imp` one of [`READ_COUNTED`]): buffered reads (or
/// writes) of a file the parent just wrote (so in the page cache): the kernel's copy is not
/// counted, only the user-space submit and reap around it.
pub fn read_child(imp: &str, kind: IoKind, batch: u32, iters: u64, path: &std::path::Path) {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(kind == IoKind::Write)
        .open(path)
        .expect("open the read file");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mut w: Work = match imp {
        "ours" => ours_read_batch(fd, kind, batch, READ_BLOCKS),
        "io-uring" => iou::read_batch(fd, kind, batch, READ_BLOCKS),
        "liburing" => lu::read_batch(fd, kind, batch, READ_BLOCKS).expect("liburing not built"),
        _ => panic!("unknown implementation {imp}"),
    };
    if iters > 0 {
        w(iters);
    }
}

/// Ir of `exe <child args>` under callgrind (`tag` names the output file).
fn callgrind_ir(exe: &str, tag: &str, child: &[String]) -> Option<u64> {
    let out =
        std::env::temp_dir().join(format!("uring-bench-cg-{}-{tag}.out", std::process::id(),));
    let st = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(child)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    let text = std::fs::read_to_string(&out).ok();
    let _ = std::fs::remove_file(&out);
    if !st.success() {
        return None;
    }
    text?.lines().find_map(|l| {
        l.strip_prefix("summary:")
            .or_else(|| l.strip_prefix("totals:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    })
}

/// The implementations counted: the three of the timed run, and our ring pushing one SQE at
/// a time with `Ring::push` (no batch view), so both of its paths are on record.
pub const COUNTED: [&str; 4] = ["ours", "ours-push", "liburing", "io-uring"];

pub fn run(quick: bool, json: bool, only: &str) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("--callgrind: valgrind not found (apt-get install valgrind)");
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let exe = exe.to_str().expect("exe path");
    let ops: u64 = if quick { 6400 } else { 25600 };
    debug_assert!(IMPLS.iter().all(|i| COUNTED.contains(i)));
    if json {
        println!(
            "{}",
            serde_json::json!({ "run": "callgrind", "ops": ops, "nops": ops, "liburing": cfg!(has_liburing) })
        );
    }
    let want = |n: &str| only.is_empty() || n.contains(only);
    let any_nop = [Cfg::Default, Cfg::SingleDefer].iter().any(|c| {
        BATCHES
            .iter()
            .any(|b| want(&format!("nop {} batch {b}", c.name())))
    });
    if any_nop {
        nops(exe, ops, json, &want);
    }
    let any_read = IoKind::ALL.iter().any(|k| {
        READ_BATCHES
            .iter()
            .any(|b| want(&format!("{} buffered 4K batch {b}", k.name())))
    });
    if any_read {
        reads(exe, ops, json, &want);
    }
}

fn nops(exe: &str, ops: u64, json: bool, want: &dyn Fn(&str) -> bool) {
    if !json {
        println!("user-space instructions per NOP: (Ir({ops} NOPs) - Ir(0)) / {ops}, callgrind");
        println!(
            "{:<22} {:>8} {:>10} {:>10} {:>10} {:>8} {:>8} {:>9}",
            "config",
            "ours",
            "ours-push",
            "liburing",
            "io-uring",
            "ours/lu",
            "ours/iou",
            "push/min"
        );
    }
    for cfg in [Cfg::Default, Cfg::SingleDefer] {
        for b in BATCHES {
            let name = format!("nop {} batch {b}", cfg.name());
            if !want(&name) {
                continue;
            }
            let iters = ops / b as u64;
            let per = per_op(&COUNTED, b as u64, iters, |imp, n| {
                let tag = format!("nop-{imp}-{}-{b}-{n}", cfg.arg());
                let args = [
                    "nop-child".to_string(),
                    imp.to_string(),
                    cfg.arg().to_string(),
                    b.to_string(),
                    n.to_string(),
                ];
                callgrind_ir(exe, &tag, &args)
            });
            // The lower of the two peers: the figure both of ours must not exceed.
            let best_peer = match (per[2], per[3]) {
                (Some(l), Some(i)) => Some(l.min(i)),
                (l, i) => l.or(i),
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "figure": name, "unit": "instructions/NOP",
                        "ours": per[0], "ours-push": per[1], "liburing": per[2], "io-uring": per[3],
                        "ours/liburing": ratio(per[0], per[2]),
                        "ours/io-uring": ratio(per[0], per[3]),
                        "ours-push/best-peer": ratio(per[1], best_peer),
                    })
                );
                continue;
            }
            println!(
                "{:<22} {:>8} {:>10} {:>10} {:>10} {:>8} {:>8} {:>9}",
                name,
                count(per[0]),
                count(per[1]),
                count(per[2]),
                count(per[3]),
                times(ratio(per[0], per[2])),
                times(ratio(per[0], per[3])),
                times(ratio(per[1], best_peer)),
            );
        }
    }
    if !json {
        println!(
            "ratios: ours/peer instructions (<=1: ours executes no more user-space code); \
             push/min: ours-push over the lower peer"
        );
    }
}

/// The implementations of the read figures (one push path of ours: `sq_batch`, as the timed
/// run uses).
pub const READ_COUNTED: [&str; 3] = ["ours", "liburing", "io-uring"];

/// Instructions per 4 KiB READ / READ_FIXED of a page-cache file, at [`READ_BATCHES`].
fn reads(exe: &str, ops: u64, json: bool, want: &dyn Fn(&str) -> bool) {
    let path = std::env::temp_dir().join(format!("uring-bench-cg-{}.dat", std::process::id()));
    {
        let mut f = std::fs::File::create(&path).expect("create the read file");
        let block: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
        for _ in 0..READ_BLOCKS {
            f.write_all(&block).expect("write the read file");
        }
    }
    let file = path.to_str().expect("temp path").to_string();
    if !json {
        println!(
            "user-space instructions per 4 KiB read of a page-cache file: (Ir({ops} reads) - Ir(0)) / {ops}, callgrind"
        );
        println!(
            "{:<30} {:>8} {:>10} {:>10} {:>8} {:>8}",
            "config", "ours", "liburing", "io-uring", "ours/lu", "ours/iou"
        );
    }
    for kind in IoKind::ALL {
        for b in READ_BATCHES {
            let name = format!("{} buffered 4K batch {b}", kind.name());
            if !want(&name) {
                continue;
            }
            let iters = ops / b as u64;
            let file = &file;
            let per = per_op(&READ_COUNTED, b as u64, iters, |imp, n| {
                let args = [
                    "read-child".to_string(),
                    imp.to_string(),
                    kind.arg().to_string(),
                    b.to_string(),
                    n.to_string(),
                    file.clone(),
                ];
                callgrind_ir(exe, &format!("{}-{imp}-{b}-{n}", kind.arg()), &args)
            });
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "figure": name, "unit": "instructions/read",
                        "ours": per[0], "liburing": per[1], "io-uring": per[2],
                        "ours/liburing": ratio(per[0], per[1]),
                        "ours/io-uring": ratio(per[0], per[2]),
                    })
                );
                continue;
            }
            println!(
                "{:<30} {:>8} {:>10} {:>10} {:>8} {:>8}",
                name,
                count(per[0]),
                count(per[1]),
                count(per[2]),
                times(ratio(per[0], per[1])),
                times(ratio(per[0], per[2])),
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Instructions per operation of each implementation in `imps` (None where it is not
/// built), all counted at once (two cores: they are counted, not timed): `ir(imp, n)` is
/// the count of a child doing `n` iterations of `batch` operations; the figure is the
/// difference between `iters` iterations and none.
fn per_op(
    imps: &[&str],
    batch: u64,
    iters: u64,
    ir: impl Fn(&str, u64) -> Option<u64> + Sync,
) -> Vec<Option<f64>> {
    let ir = &ir;
    std::thread::scope(|s| {
        let hs: Vec<_> = imps
            .iter()
            .map(|&imp| {
                s.spawn(move || {
                    if imp == "liburing" && !cfg!(has_liburing) {
                        return None;
                    }
                    let base = ir(imp, 0)?;
                    let full = ir(imp, iters)?;
                    Some(full.saturating_sub(base) as f64 / (iters * batch) as f64)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `a / b` where both were counted.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

/// A count as the table shows it.
fn count(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{v:.1}"))
}

/// A ratio as the table shows it.
fn times(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.2}x"))
}
