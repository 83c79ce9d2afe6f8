//! What guest-init (PID 1 of the matrix's VMs) and the host runner must agree on: the
//! kernel command-line knobs and the suite modes. std only, so the init stays a small
//! static binary (the gcov counters of `uring.gcov=1`: [`gcov`]).

pub mod exec;
pub mod gcov;

/// The results channel: QEMU's `isa-debugcon` at this I/O port, which the host writes to a
/// file of its own (`-chardev file`). guest-init mirrors every line it prints on the console
/// there and frames each mode's report with its length, so the reports do not depend on the
/// serial console surviving (a console whose IRQ the kernel disabled, or whose buffered
/// output the power-off cut). It needs no driver in the guest, only ioperm(2)
/// (CONFIG_X86_IOPL_IOPERM), which every kernel of the manifest has.
pub const CHANNEL_PORT: u16 = 0xe9;
/// What a read of [`CHANNEL_PORT`] answers when the debugcon is there (QEMU's `readback`
/// default); a port no device claims reads 0xff.
pub const CHANNEL_READBACK: u8 = 0xe9;
/// `channel=` value of the init line when the channel carries the boot's lines.
pub const CHANNEL_DEBUGCON: &str = "debugcon";
/// Key of the results-begin marker: the length in bytes of the report that follows it,
/// its final newline included.
pub const RESULTS_BYTES: &str = "bytes=";
/// Token of the results-end marker when the suite wrote no report (the marker's words are
/// space-separated; this one has no value).
pub const RESULTS_MISSING: &str = "missing";

/// Mode `mode`'s report framed as guest-init prints it on the console and the channel: the
/// begin marker with the report's length (a final newline added when missing, and counted),
/// the report, the end marker with `end` (`exit=N` or `signal=N`, then ` missing` when there
/// was no report).
pub fn results_block(mode: &str, report: &[u8], end: &str) -> Vec<u8> {
    let newline = !report.is_empty() && !report.ends_with(b"\n");
    let len = report.len() + usize::from(newline);
    let mut block =
        format!("@@URING-RESULTS-BEGIN mode={mode} {RESULTS_BYTES}{len}@@\n").into_bytes();
    block.extend_from_slice(report);
    if newline {
        block.push(b'\n');
    }
    block.extend(format!("@@URING-RESULTS-END mode={mode} {end}@@\n").bytes());
    block
}

/// The file of the initramfs (at its root) that holds the ids of the mutant-schemata loop
/// (`uring.mutants=1`), one a line.
pub const MUTANT_IDS: &str = "mutant-ids";

/// The suite modes guest-init knows (`uring.modes`), and the extra argument each adds.
pub const MODES: &[(&str, &[&str])] = &[("default", &[]), ("strict", &["--strict"])];

/// The value of `key=` on the kernel command line; a value may be "double quoted".
pub fn cmdline_value(cmdline: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=");
    let mut search = 0;
    while let Some(p) = cmdline[search..].find(&pat) {
        let at = search + p;
        let boundary = at == 0 || cmdline.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = &cmdline[at + pat.len()..];
        if boundary {
            return Some(if let Some(q) = rest.strip_prefix('"') {
                q.split('"').next().unwrap_or("").to_string()
            } else {
                rest.split_whitespace().next().unwrap_or("").to_string()
            });
        }
        search = at + pat.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_block_counts_what_it_frames() {
        let b = results_block("strict", b"{\"a\":1}", "exit=0");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "@@URING-RESULTS-BEGIN mode=strict bytes=8@@\n{\"a\":1}\n\
             @@URING-RESULTS-END mode=strict exit=0@@\n"
        );
        let b = results_block("default", b"x\n", "exit=1");
        assert!(b.starts_with(b"@@URING-RESULTS-BEGIN mode=default bytes=2@@\nx\n@@"));
        let b = results_block("default", b"", "exit=127 missing");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "@@URING-RESULTS-BEGIN mode=default bytes=0@@\n\
             @@URING-RESULTS-END mode=default exit=127 missing@@\n"
        );
    }
}
