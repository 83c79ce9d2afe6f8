//! The whole run's health: the fds and mappings it left open (a census before and after)
//! and the kernel log's WARNING/BUG/Oops during the run.

use crate::kernel_log::KernelLog;
use crate::leaks::Census;

/// Exit status of a run whose cases all passed or skipped but which left fds or mappings
/// behind or during which the kernel logged a WARNING/BUG/Oops.
pub const HEALTH_EXIT: u8 = uring_report::exit::HEALTH;

/// The whole run's leak check and kernel-log scan, one line each on stderr; false if
/// either found a problem.
pub(crate) fn run_health(census: &Census, kernel_log: Option<KernelLog>) -> bool {
    let mut healthy = true;
    // The scan first: it closes /dev/kmsg, which the census would count as left open.
    let scan = kernel_log.map(KernelLog::scan);
    match census.compare(&Census::take()) {
        Ok(line) => eprintln!("{line}"),
        Err(line) => {
            eprintln!("{line}");
            healthy = false;
        }
    }
    match scan {
        None => {}
        Some(Err(why)) => eprintln!("kernel log: not scanned ({why})"),
        Some(Ok(scan)) if scan.problems.is_empty() => eprintln!(
            "kernel log: {} new records during the run, no WARNING/BUG/Oops",
            scan.records
        ),
        Some(Ok(scan)) => {
            healthy = false;
            eprintln!(
                "kernel log: {} problem(s) during the run:",
                scan.problems.len()
            );
            for p in &scan.problems {
                eprintln!("  {}: {}\n    during {}", p.kind, p.line, p.during);
            }
        }
    }
    healthy
}
