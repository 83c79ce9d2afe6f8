//! The case tables of uring-conformance: one module per interface, each a `CASES` table of
//! rows. Adding a case means adding a row.

pub mod buf_ring;
pub mod buf_ring_io;
pub mod buf_select;
pub mod buffers_update;
pub mod clone_buffers;
pub mod clone_effects;
mod common;
pub mod envelope;
pub mod fault_injection;
pub mod fault_injection_msg;
pub mod fixed_io;
pub mod fixed_net;
pub mod fixed_ops;
pub mod msg_ring;
pub mod msg_ring_delivery;
pub mod query;
pub mod register_buffers;
pub mod sync_msg_ring;

use uring_harness::Case;

/// Every table, in report order.
pub const TABLES: &[&[Case]] = &[
    envelope::CASES,
    register_buffers::CASES,
    buffers_update::CASES,
    fixed_io::CASES,
    fixed_ops::CASES,
    fixed_net::CASES,
    clone_buffers::CASES,
    clone_effects::CASES,
    buf_ring::CASES,
    buf_select::CASES,
    buf_ring_io::CASES,
    msg_ring::CASES,
    msg_ring_delivery::CASES,
    sync_msg_ring::CASES,
    query::CASES,
    fault_injection::CASES,
    fault_injection_msg::CASES,
];

/// Catalogue rows (error-paths.md ids) no row covers, with the reason, for every table.
pub const UNCOVERED: &[&[(&str, &str)]] = &[
    register_buffers::UNCOVERED,
    buffers_update::UNCOVERED,
    fixed_io::UNCOVERED,
    fixed_ops::UNCOVERED,
    fixed_net::UNCOVERED,
    clone_buffers::UNCOVERED,
    clone_effects::UNCOVERED,
    buf_ring::UNCOVERED,
    buf_ring_io::UNCOVERED,
    msg_ring::UNCOVERED,
    query::UNCOVERED,
    fault_injection::UNCOVERED,
    fault_injection_msg::UNCOVERED,
];

/// Runs the suite with libtest-style arguments (`--list`, `--exact`, `--skip`, filters).
pub fn main() -> std::process::ExitCode {
    uring_harness::run::main(TABLES, UNCOVERED)
}
