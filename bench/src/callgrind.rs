//! `--callgrind`: user-space instructions per NOP, each configuration in its own process
//! under `valgrind --tool=callgrind`, with N NOPs and with none: (Ir(N) - Ir(0)) / N.

use crate::{iou, lu, ours_nop, Cfg, Work, BATCHES, IMPLS};
use std::process::Command;

/// The child of `--callgrind`: one NOP configuration, `iters` loop iterations, exit.
pub fn nop_child(args: &[String]) {
    let imp = args[0].as_str();
    let cfg = Cfg::parse(&args[1]);
    let batch: u32 = args[2].parse().expect("batch");
    let iters: u64 = args[3].parse().expect("iters");
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

fn callgrind_ir(exe: &str, imp: &str, cfg: Cfg, batch: u32, iters: u64) -> Option<u64> {
    let out = std::env::temp_dir().join(format!(
        "uring-bench-cg-{}-{imp}-{}-{batch}-{iters}.out",
        std::process::id(),
        cfg.name().replace('|', "")
    ));
    let st = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args([
            "--nop-child",
            imp,
            cfg_arg(cfg),
            &batch.to_string(),
            &iters.to_string(),
        ])
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

fn cfg_arg(cfg: Cfg) -> &'static str {
    match cfg {
        Cfg::Default => "default",
        Cfg::SingleDefer => "sidefer",
    }
}

/// The implementations counted: the three of the timed run, and our ring pushing one SQE at
/// a time with `Ring::push` (no batch view), so both of its paths are on record.
const COUNTED: [&str; 4] = ["ours", "ours-push", "liburing", "io-uring"];

pub fn run(quick: bool, json: bool) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("--callgrind: valgrind not found (apt-get install valgrind)");
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let exe = exe.to_str().expect("exe path");
    let ops: u64 = if quick { 6400 } else { 25600 };
    let on = |imp: &str| imp != "liburing" || cfg!(has_liburing);
    debug_assert!(IMPLS.iter().all(|i| COUNTED.contains(i)));
    if json {
        println!(
            "{}",
            serde_json::json!({ "run": "callgrind", "nops": ops, "liburing": cfg!(has_liburing) })
        );
    } else {
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
            let iters = ops / b as u64;
            // All runs of this row in parallel (two cores): they are counted, not timed.
            let per: Vec<Option<f64>> = std::thread::scope(|s| {
                let hs: Vec<_> = COUNTED
                    .iter()
                    .map(|imp| {
                        let on = on(imp);
                        s.spawn(move || {
                            if !on {
                                return None;
                            }
                            let base = callgrind_ir(exe, imp, cfg, b, 0)?;
                            let full = callgrind_ir(exe, imp, cfg, b, iters)?;
                            Some(full.saturating_sub(base) as f64 / (iters * b as u64) as f64)
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
            // The lower of the two peers: the figure both of ours must not exceed.
            let best_peer = match (per[2], per[3]) {
                (Some(l), Some(i)) => Some(l.min(i)),
                (l, i) => l.or(i),
            };
            let name = format!("nop {} batch {b}", cfg.name());
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
            let f = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.1}"));
            let r = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.2}x"));
            println!(
                "{:<22} {:>8} {:>10} {:>10} {:>10} {:>8} {:>8} {:>9}",
                name,
                f(per[0]),
                f(per[1]),
                f(per[2]),
                f(per[3]),
                r(ratio(per[0], per[2])),
                r(ratio(per[0], per[3])),
                r(ratio(per[1], best_peer)),
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
