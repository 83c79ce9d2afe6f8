//! The entry point and the flow of a run: probe once, build the trials (`trial`), run
//! them through libtest-mimic (each row in a thread, `thread_runner`, or in an unprivileged
//! child, `child`), check the run's health (`health`), write the reports.

use crate::baseline::Results;
use crate::case::Case;
use crate::child::{child_main, CHILD_ENV};
use crate::health::run_health;
use crate::kernel_log::KernelLog;
use crate::ktap::Header;
use crate::leaks::Census;
use crate::level::Backports;
use crate::output::{print_stdout, ForwardTo, ReportFiles, ReportKind, StdoutForwarder};
use crate::probe::{self, SetupStatus};
use crate::report::{self, Record};
use crate::suite::SuiteVersion;
use crate::trial::{make_trial, strict_policy, strict_trials};
use crate::version::RunningVersion;
use libtest_mimic::Trial;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

pub use crate::cli::Options;
pub use crate::health::HEALTH_EXIT;
pub use crate::trial::skip_reason;
use uring_report::exit;

/// The entry point of the conformance binary and the `cargo test` target.
/// `suite` is the binary's version and source commit (`--version`, every report's header);
/// `uncovered` lists catalogue paths no row covers (id, reason), for the case table.
pub fn main(suite: SuiteVersion, tables: &[&[Case]], uncovered: &[&[(&str, &str)]]) -> ExitCode {
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
    if opts.version {
        print_stdout(&suite.long());
        return ExitCode::SUCCESS;
    }
    // Every input is checked before anything runs: a bad one is exit status 2 at once.
    let inputs = match Inputs::check(&opts, args.list) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("uring-conformance: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if opts.cases_json {
        let mutants = match crate::table::load_mutant_results() {
            Ok(m) => m,
            Err(e) => {
                eprintln!("uring-conformance: --cases-json: {e}");
                return ExitCode::from(exit::USAGE);
            }
        };
        print_stdout(&crate::table::cases_json(
            &cases,
            uncovered,
            inputs.backports,
            &mutants,
        ));
        return ExitCode::SUCCESS;
    }
    let mut fs = probe::probe(inputs.version, inputs.backports);
    fs.hide(&inputs.hidden);
    let fs = Arc::new(fs);
    if opts.probe_report {
        print_stdout(&crate::table::probe_table(&fs));
        return ExitCode::SUCCESS;
    }
    // Before the census: the forwarder's fds are there before and after the run. With
    // --ktap, stdout carries the KTAP document alone: what the run prints goes to stderr.
    let mut stdout = StdoutForwarder::install(if opts.ktap {
        ForwardTo::Stderr
    } else {
        ForwardTo::Stdout
    });
    let census = Census::take();
    let records = Arc::new(Mutex::new(Vec::<Record>::new()));
    let under_nextest =
        std::env::var_os("NEXTEST").is_some() || std::env::var_os("NEXTEST_RUN_ID").is_some();
    let policy = strict_policy(opts.strict, inputs.baseline, &fs).map(Arc::new);
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
    let args = with_startable_pool(args);
    let conclusion = libtest_mimic::run(&args, trials);
    if listing {
        return ExitCode::SUCCESS;
    }
    if let Some(out) = &stdout {
        out.sync();
    }
    let healthy = run_health(&census, kernel_log);
    let mut records = records.lock().unwrap_or_else(|p| p.into_inner()).clone();
    records.sort_by_key(|r| order.iter().position(|n| *n == r.name));
    let written = inputs.reports.write(|kind| match kind {
        ReportKind::Json => report::json_lines(&fs, suite, opts.strict, &records),
        ReportKind::Ktap => suite.ktap_with_header(&crate::ktap::render(&records, Header::Ktap)),
        ReportKind::Junit => crate::junit::render(&fs.kernel, suite, opts.strict, &records),
    });
    if let Some(note) = stdout.as_mut().and_then(StdoutForwarder::finish) {
        eprintln!("uring-conformance: {note}");
    }
    if opts.ktap {
        print_stdout(&suite.ktap_with_header(&crate::ktap::render(&records, Header::console())));
    }
    if let Err(e) = written {
        eprintln!("uring-conformance: {e}");
        return ExitCode::from(exit::USAGE);
    }
    if let SetupStatus::Broken { reason, .. } = &fs.setup {
        eprintln!("uring-conformance: {reason}: a broken kernel; every row ran and broke on it");
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

/// libtest-mimic's arguments with one test thread when its worker pool cannot be started
/// here (its spawn panics: see [`crate::resource::threads_startable`]); the rows then run one
/// at a time on the main thread and each one's own thread is retried or skipped as usual.
fn with_startable_pool(mut args: libtest_mimic::Arguments) -> libtest_mimic::Arguments {
    let wanted = args
        .test_threads
        .or_else(|| std::thread::available_parallelism().ok().map(Into::into))
        .unwrap_or(1);
    if wanted > 1 && !args.list {
        let startable = crate::resource::threads_startable(wanted);
        if startable < wanted {
            eprintln!(
                "uring-conformance: only {startable} of {wanted} test threads could be started ({}): running one test at a time",
                crate::resource::ResourceLimit::describe(crate::resource::Resource::Tasks)
            );
            args.test_threads = Some(1);
        }
    }
    args
}

/// The inputs of a run beyond the parsed options, each checked before anything runs.
struct Inputs {
    /// The features `URING_CONFORMANCE_HIDE` names.
    hidden: Vec<probe::Feature>,
    /// The kernel version to judge by.
    version: RunningVersion,
    /// The backport table the version-decided levels are judged with, checked whole.
    backports: &'static Backports,
    /// Strict mode's baseline, read whole.
    baseline: Option<Results>,
    /// The report files, created (none for `--list`, `--cases-json`, `--probe-report`,
    /// which write no report: a file named there is left as it is).
    reports: ReportFiles,
}

impl Inputs {
    /// Reads and checks them; the error names the option or variable and what is wrong.
    fn check(opts: &Options, listing: bool) -> Result<Inputs, String> {
        let hidden = crate::cli::hidden_features()?;
        let backports = Backports::committed().map_err(ToString::to_string)?;
        let version = crate::version::running(opts.kernel_version.as_deref())
            .map_err(|e| format!("{}: {e}", crate::version::VERSION_OVERRIDE_ENV))?;
        let baseline = match (&opts.baseline, opts.strict) {
            (Some(path), true) => Some(
                Results::load(std::path::Path::new(path))
                    .map_err(|e| format!("--baseline: {e}"))?,
            ),
            _ => None,
        };
        let reports = if listing || opts.cases_json || opts.probe_report {
            ReportFiles::none()
        } else {
            ReportFiles::create(opts)?
        };
        Ok(Inputs {
            hidden,
            version,
            backports,
            baseline,
            reports,
        })
    }
}
