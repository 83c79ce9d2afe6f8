//! The command line, parsed by clap as the suite's is: an unknown flag or a bad value is
//! exit status 2 with a message naming it, never ignored or defaulted.

use crate::callgrind::{COUNTED, READ_COUNTED};
use crate::Cfg;
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Our ring, liburing (C) and the io-uring crate side by side, in one run.
#[derive(Parser, Debug)]
#[command(name = "uring-bench")]
pub struct Cli {
    /// Shorter figures (about 25 ms per figure and implementation, 3 rounds by default).
    #[arg(long)]
    pub quick: bool,
    /// Rounds per figure (default 5, or 3 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "callgrind")]
    pub rounds: Option<u32>,
    /// Only the figures whose name contains this text.
    #[arg(long, default_value = "")]
    pub only: String,
    /// User-space instructions per NOP and per 4 KiB read under valgrind's callgrind,
    /// instead of the timed table.
    #[arg(long)]
    pub callgrind: bool,
    /// One JSON object a line (a header, then one per figure), no table.
    #[arg(long)]
    pub json: bool,
    /// A child process of --callgrind (started by this program, not by hand).
    #[command(subcommand)]
    pub child: Option<Child>,
}

/// The processes --callgrind runs under valgrind, one configuration each.
#[derive(Subcommand, Debug)]
pub enum Child {
    /// One NOP configuration: `iters` loop iterations of `batch` NOPs, then exit.
    #[command(hide = true)]
    NopChild {
        /// The implementation.
        #[arg(value_parser = PossibleValuesParser::new(COUNTED))]
        imp: String,
        /// The ring's setup flags.
        #[arg(value_enum)]
        cfg: Cfg,
        /// NOPs per submission.
        batch: u32,
        /// Loop iterations (0: set up only, the baseline count).
        iters: u64,
    },
    /// Buffered 4 KiB reads (or writes) of `file` (in the page cache): `iters` iterations
    /// of `batch`.
    #[command(hide = true)]
    ReadChild {
        /// The implementation.
        #[arg(value_parser = PossibleValuesParser::new(READ_COUNTED))]
        imp: String,
        /// `read`, `fixed` (READ_FIXED of a registered buffer), `readv` (one iovec) or
        /// `write` (WRITE of the same blocks).
        #[arg(value_parser = PossibleValuesParser::new(["read", "fixed", "readv", "write"]))]
        mode: String,
        /// Reads per submission.
        batch: u32,
        /// Loop iterations (0: set up only, the baseline count).
        iters: u64,
        /// The file to read.
        file: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("uring-bench").chain(args.iter().copied()))
    }

    #[test]
    fn flags_and_values() {
        let c = parse(&["--quick", "--rounds=2", "--only=nop", "--json"]).unwrap();
        assert!(c.quick && c.json && !c.callgrind);
        assert_eq!((c.rounds, c.only.as_str()), (Some(2), "nop"));
        let c = parse(&["nop-child", "ours-push", "sidefer", "8", "0"]).unwrap();
        assert!(matches!(
            c.child,
            Some(Child::NopChild {
                cfg: Cfg::SingleDefer,
                batch: 8,
                iters: 0,
                ..
            })
        ));
    }

    /// Unknown flags and bad values are errors (clap exits 2 on them), not ignored.
    #[test]
    fn bad_input_is_an_error() {
        let kind = |args: &[&str]| parse(args).unwrap_err().kind();
        assert_eq!(kind(&["--qiuck"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["--rounds=0"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--rounds=x"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--callgrind", "--rounds=3"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            kind(&["nop-child", "ours", "sqpoll", "1", "1"]),
            ErrorKind::InvalidValue
        );
        assert_eq!(
            kind(&["read-child", "ours-push", "read", "1", "1", "f"]),
            ErrorKind::InvalidValue
        );
        assert_eq!(parse(&["--qiuck"]).unwrap_err().exit_code(), 2);
    }
}
