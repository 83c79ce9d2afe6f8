//! What guest-init (PID 1 of the matrix's VMs) and the host runner must agree on: the
//! kernel command-line knobs and the suite modes. std only, so the init stays a small
//! static binary.

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
