//! The case tables of uring-conformance: one module per interface, each a `CASES` table of
//! rows and an `UNCOVERED` list (catalogue rows no row covers, with the reason; empty where
//! none). Adding a case means adding a row; adding a table means one name in `tables!`.

mod common;

use uring_harness::Case;

/// Declares the table modules and builds [`TABLES`] and [`UNCOVERED`] from them, in the
/// order given (the report order), so a table is registered in one place.
macro_rules! tables {
    ($($table:ident),+ $(,)?) => {
        $(pub mod $table;)+

        /// Every table, in report order.
        pub const TABLES: &[&[Case]] = &[$($table::CASES),+];

        /// Catalogue rows (error-paths.md ids) no row covers, with the reason, for every table.
        pub const UNCOVERED: &[&[(&str, &str)]] = &[$($table::UNCOVERED),+];
    };
}

tables!(
    envelope,
    register_buffers,
    register_buffers2,
    buffers_update,
    unregister_buffers,
    fixed_io,
    fixed_io_pages,
    fixed_ops,
    fixed_nop,
    fixed_net,
    clone_buffers,
    clone_buffers_semantics,
    clone_effects,
    clone_sharing,
    buf_ring,
    buf_ring_unregister,
    buf_select,
    buf_select_semantics,
    buf_ring_io,
    buf_ring_inc,
    msg_ring,
    msg_ring_send_fd,
    msg_ring_delivery,
    msg_ring_targets,
    sync_msg_ring,
    query,
    fault_injection,
    fault_injection_msg,
);

/// Runs the suite with libtest-style arguments (`--list`, `--exact`, `--skip`, filters).
pub fn main() -> std::process::ExitCode {
    uring_harness::run::main(TABLES, UNCOVERED)
}
