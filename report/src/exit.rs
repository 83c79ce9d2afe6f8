//! The suite's exit codes, beyond libtest's 0 (every case passed or skipped) and 101 (a
//! case failed).

/// A usage error, or a report that could not be written or read (`--compare` too).
pub const USAGE: u8 = 2;
/// Every case passed or skipped, but the whole-run leak check or the kernel-log scan found
/// a problem (the suite says which on stderr).
pub const HEALTH: u8 = 3;
/// io_uring is not usable here (setup denied): nothing was testable. The automake /
/// kselftest skip code, distinct from pass and fail.
pub const NOT_TESTABLE: u8 = 77;
