//! The suite's exit codes, beyond libtest's 0 (every case passed or skipped) and 101 (a
//! case failed). A stdout that stops taking output (its reader gone, a full device) changes
//! none of them: the run goes on, its reports are written, and stderr says what was lost.

/// A usage error, found before anything runs (a bad option or value, a name in
/// URING_CONFORMANCE_HIDE that is no feature, a baseline that is not a whole report, a report
/// path that cannot be created), or a report that could not be written at the end or read
/// (`--compare` too).
pub const USAGE: u8 = 2;
/// Every case passed or skipped, but the whole-run leak check or the kernel-log scan found
/// a problem (the suite says which on stderr).
pub const HEALTH: u8 = 3;
/// io_uring is not usable here (setup denied): nothing was testable. The automake /
/// kselftest skip code, distinct from pass and fail.
pub const NOT_TESTABLE: u8 = 77;
