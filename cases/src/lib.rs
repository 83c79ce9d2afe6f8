//! The case tables of uring-conformance: one module per interface, each a `CASES` table of
//! rows and an `UNCOVERED` list (catalogue rows no row covers, with the reason; empty where
//! none). Adding a case means adding a row; adding a table means its `pub mod` line and its
//! name in `tables!` (a test checks the two lists agree). The modules are declared outside the
//! macro so that rustfmt, which does not look inside macro calls, formats every table.

pub mod buf_legacy;
pub mod buf_ring;
pub mod buf_ring_inc;
pub mod buf_ring_io;
pub mod buf_ring_peek;
pub mod buf_ring_unregister;
pub mod buf_select;
pub mod buf_select_semantics;
pub mod buffers_compound;
pub mod buffers_pinned;
pub mod buffers_update;
pub mod clone_buffers;
pub mod clone_buffers_semantics;
pub mod clone_effects;
pub mod clone_sharing;
mod common;
pub mod compound_buffers;
pub mod envelope;
pub mod fault_injection;
pub mod fault_injection_msg;
pub mod files_register;
pub mod fixed_io;
pub mod fixed_io_pages;
pub mod fixed_io_pos;
pub mod fixed_io_read;
pub mod fixed_io_write;
pub mod fixed_net;
pub mod fixed_net_send;
pub mod fixed_net_zc;
pub mod fixed_nop;
pub mod fixed_ops;
pub mod mem_region;
pub mod msg_ring;
pub mod msg_ring_delivery;
pub mod msg_ring_lifecycle;
pub mod msg_ring_send_fd;
pub mod msg_ring_targets;
pub mod net_c4;
pub mod net_c5a;
pub mod net_c5b;
pub mod net_recvfin;
pub mod net_recvmsg;
pub mod net_send;
pub mod query;
pub mod query_headers;
pub mod read_multishot;
pub mod readv_fixed_segments;
pub mod register_buffers;
pub mod register_buffers2;
pub mod ring_control;
pub mod rsrc_bounds;
pub mod sync_msg_ring;
pub mod unregister_buffers;

use uring_harness::Case;

/// Builds [`TABLES`] and [`UNCOVERED`] from the table modules, in the order given (the report
/// order).
macro_rules! tables {
    ($($table:ident),+ $(,)?) => {
        /// Every table, in report order.
        pub const TABLES: &[&[Case]] = &[$($table::CASES),+];

        /// Catalogue rows (error-paths.md ids) no row covers, with the reason, for every table.
        pub const UNCOVERED: &[&[(&str, &str)]] = &[$($table::UNCOVERED),+];
    };
}

tables!(
    envelope,
    ring_control,
    register_buffers,
    register_buffers2,
    rsrc_bounds,
    buffers_update,
    buffers_pinned,
    buffers_compound,
    unregister_buffers,
    fixed_io,
    fixed_io_pages,
    fixed_io_pos,
    fixed_io_read,
    fixed_io_write,
    fixed_ops,
    readv_fixed_segments,
    fixed_nop,
    fixed_net,
    fixed_net_zc,
    fixed_net_send,
    net_send,
    net_c4,
    clone_buffers,
    clone_buffers_semantics,
    clone_effects,
    clone_sharing,
    compound_buffers,
    buf_ring,
    buf_ring_unregister,
    buf_select,
    buf_select_semantics,
    read_multishot,
    buf_legacy,
    buf_ring_io,
    buf_ring_peek,
    buf_ring_inc,
    net_recvfin,
    net_c5a,
    net_recvmsg,
    net_c5b,
    mem_region,
    files_register,
    msg_ring,
    msg_ring_send_fd,
    msg_ring_delivery,
    msg_ring_targets,
    msg_ring_lifecycle,
    sync_msg_ring,
    query,
    query_headers,
    fault_injection,
    fault_injection_msg,
);

/// The tables whose rows hand the kernel iovecs or msghdrs (REGISTER_BUFFERS, BUFFERS2,
/// BUFFERS_UPDATE, READ/WRITE_FIXED through them, READV/WRITEV_FIXED, SENDMSG_ZC, READV
/// with a provided buffer): each of their rows runs a second time on compat rings, as
/// `compat::NAME` ([`Case::on_compat`]), with the same answer.
pub const COMPAT_TABLES: &[&[Case]] = &[
    register_buffers::CASES,
    register_buffers2::CASES,
    buffers_update::CASES,
    fixed_io::CASES,
    fixed_ops::CASES,
    fixed_net::CASES,
    fixed_net_zc::CASES,
    fixed_net_send::CASES,
    buf_select::CASES,
    net_recvmsg::CASES,
];

/// Every row of the run: the tables, then the compat copies of [`COMPAT_TABLES`].
pub fn all_cases() -> Vec<&'static [Case]> {
    let compat: Vec<Case> = COMPAT_TABLES
        .iter()
        .flat_map(|t| t.iter().filter_map(Case::on_compat))
        .collect();
    let mut all = TABLES.to_vec();
    all.push(Box::leak(compat.into_boxed_slice()));
    all
}

/// Runs the suite with libtest-style arguments (`--list`, `--exact`, `--skip`, filters).
pub fn main() -> std::process::ExitCode {
    uring_harness::run::main(uring_harness::suite_version!(), &all_cases(), UNCOVERED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uring_harness::Fact;

    /// Every row of the compat tables has its `compat::` copy on compat rings, needing the
    /// ia32_emulation fact, except the rows declared native-only; nothing else is copied.
    #[test]
    fn compat_copies_are_the_compat_tables_rows() {
        let all = all_cases();
        assert_eq!(all.len(), TABLES.len() + 1);
        let copies = all[TABLES.len()];
        let want: Vec<String> = COMPAT_TABLES
            .iter()
            .flat_map(|t| t.iter())
            .filter(|c| c.native_only.is_none())
            .map(|c| format!("compat::{}", c.name))
            .collect();
        assert_eq!(copies.iter().map(|c| c.name).collect::<Vec<_>>(), want);
        for c in copies {
            assert_eq!(c.abi, uring::Abi::Compat, "{}", c.name);
            assert_eq!(c.needs.last(), Some(&Fact::Ia32Emulation), "{}", c.name);
        }
        assert!(TABLES
            .iter()
            .flat_map(|t| t.iter())
            .all(|c| c.abi == uring::Abi::Native));
        let native_only = COMPAT_TABLES.iter().flat_map(|t| t.iter());
        assert_eq!(native_only.filter(|c| c.native_only.is_some()).count(), 5);
    }

    /// Every `pub mod` of this file is a table named in `tables!`, and every name there is a
    /// `pub mod` (the compiler checks only the second).
    #[test]
    fn every_table_module_is_registered() {
        let src = include_str!("lib.rs");
        let mods: std::collections::BTreeSet<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
            .collect();
        let listed = src
            .split_once("tables!(\n")
            .and_then(|(_, rest)| rest.split_once(");"))
            .map(|(names, _)| names)
            .expect("a tables!(..) call");
        let listed: std::collections::BTreeSet<&str> = listed
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        assert_eq!(mods, listed);
    }
}
