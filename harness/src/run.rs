//! The entry point and the flow of a run: probe once, build the trials (`trial`), run
//! them through libtest-mimic (each row in a thread, `thread_runner`, or in an unprivileged
//! child, `child`), check the run's health (`health`), write the reports.

use crate::case::Case;
use crate::child::{child_main, CHILD_ENV};
use crate::health::run_health;
use crate::kernel_log::KernelLog;
use crate::leaks::Census;
use crate::probe::{self, FeatureSet, SetupStatus};
use crate::report::{self, Record};
use crate::trial::{make_trial, strict_policy, strict_trials};
use libtest_mimic::Trial;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

pub use crate::cli::Options;
pub use crate::health::HEALTH_EXIT;
pub use crate::trial::skip_reason;
use uring_report::exit;

/// The entry point of the conformance binary and the `cargo test` target.
/// `uncovered` lists catalogue paths no row covers (id, reason), for the case table.
pub fn main(tables: &[&[Case]], uncovered: &[&[(&str, &str)]]) -> ExitCode {
    let cases: Vec<Case> = tables.iter().flat_map(|t| t.iter().copied()).collect();
    if let Ok(name) = std::env::var(CHILD_ENV) {
        return child_main(&cases, &name);
    }
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--compare") {
        return crate::baseline::compare_main(&argv[2..]);
    }
    let (opts, args) = match crate::cli::parse(argv) {
        Ok(cli) => (cli.options, cli.libtest),
        Err(status) => return status,
    };
    let hidden = match crate::cli::hidden_features() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("uring-conformance: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if opts.cases_json {
        print!("{}", crate::table::cases_json(&cases, uncovered));
        return ExitCode::SUCCESS;
    }
    let census = Census::take();
    let version = match crate::version::running(opts.kernel_version.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!(
                "uring-conformance: {}: {e}",
                crate::version::VERSION_OVERRIDE_ENV
            );
            return ExitCode::from(exit::USAGE);
        }
    };
    let mut fs = probe::probe(version);
    fs.hide(&hidden);
    let fs = Arc::new(fs);
    if opts.probe_report {
        print!("{}", crate::table::probe_table(&fs));
        return ExitCode::SUCCESS;
    }
    let records = Arc::new(Mutex::new(Vec::<Record>::new()));
    let under_nextest =
        std::env::var_os("NEXTEST").is_some() || std::env::var_os("NEXTEST_RUN_ID").is_some();
    let policy = match strict_policy(&opts, &fs) {
        Ok(p) => p.map(Arc::new),
        Err(e) => {
            eprintln!("uring-conformance: --baseline: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let mut trials: Vec<Trial> = cases
        .iter()
        .map(|case| {
            make_trial(
                *case,
                fs.clone(),
                records.clone(),
                &opts,
                policy.clone(),
                under_nextest,
            )
        })
        .collect();
    if let Some(policy) = &policy {
        trials.extend(strict_trials(&fs, policy, &records));
    }
    let order: Vec<String> = trials.iter().map(|t| t.name().to_string()).collect();
    let listing = args.list;
    let kernel_log = (!listing).then(KernelLog::open);
    let conclusion = libtest_mimic::run(&args, trials);
    if listing {
        return ExitCode::SUCCESS;
    }
    let healthy = run_health(&census, kernel_log);
    let mut records = records.lock().unwrap_or_else(|p| p.into_inner()).clone();
    records.sort_by_key(|r| order.iter().position(|n| *n == r.name));
    if let Err(e) = write_reports(&opts, &fs, &records) {
        eprintln!("uring-conformance: {e}");
        return ExitCode::from(exit::USAGE);
    }
    if let SetupStatus::Denied { reason, .. } = &fs.setup {
        eprintln!(
            "uring-conformance: io_uring is not usable here ({reason}): every case was skipped"
        );
        // 77: "not testable here" (the automake/kselftest skip code), distinct from pass and fail.
        if conclusion.num_failed == 0 && healthy {
            return ExitCode::from(exit::NOT_TESTABLE);
        }
    }
    if !healthy && conclusion.num_failed == 0 {
        return ExitCode::from(HEALTH_EXIT);
    }
    conclusion.exit_code()
}

/// Writes the reports the options ask for (JSON lines, KTAP, JUnit), all from one run.
fn write_reports(opts: &Options, fs: &FeatureSet, records: &[Record]) -> Result<(), String> {
    let reports = [
        (
            &opts.report_json,
            report::json_lines(fs, opts.strict, records),
        ),
        (&opts.report_ktap, crate::ktap::render(records)),
        (
            &opts.report_junit,
            crate::junit::render(&fs.kernel, opts.strict, records),
        ),
    ];
    for (path, text) in reports {
        if let Some(path) = path {
            std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
        }
    }
    Ok(())
}
