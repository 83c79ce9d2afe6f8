//! [`Fact::Ia32Emulation`](super::Fact::Ia32Emulation): whether this x86_64 kernel takes
//! 32-bit syscalls, probed by getpid(2) through `int 0x80` in a child process (the
//! instruction raises SIGSEGV where the kernel installed no gate for it). That is the
//! entry the compat rows set their rings up through, not the behaviour they test.
#![allow(unsafe_code)]

/// Whether `int 0x80` getpid works here, and how that was decided.
#[cfg(target_arch = "x86_64")]
pub(super) fn ia32_emulation() -> (bool, String) {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let param = cmdline
        .split_whitespace()
        .find(|w| w.starts_with("ia32_emulation="))
        .map_or(
            String::from("no ia32_emulation= on the command line"),
            |w| format!("command line {w}"),
        );
    // SAFETY: the child runs only async-signal-safe code (setrlimit, getpid, the
    // instruction, _exit: no allocation, no lock) and never returns into Rust code of the
    // parent's other threads.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // No core file for the expected SIGSEGV.
            let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
            let pid = nix::unistd::getpid().as_raw();
            // SAFETY: this process exists for the probe; a SIGSEGV ends only it.
            let got = unsafe { uring::sys::int80_getpid() };
            let code = match got {
                Ok(p) if p == pid => 0,
                Ok(_) => 3,
                Err(_) => 4,
            };
            // SAFETY: _exit ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            let how = match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, 0)) => {
                    return (
                        true,
                        format!("getpid through int 0x80 in a child: its pid; {param}"),
                    )
                }
                Ok(WaitStatus::Exited(_, 3)) => "answered another pid".to_string(),
                Ok(WaitStatus::Exited(_, 4)) => "answered an error".to_string(),
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    format!(
                        "killed the child by {sig} (no 0x80 gate: no IA32_EMULATION, or disabled)"
                    )
                }
                other => format!("ended the child as {other:?}"),
            };
            (false, format!("getpid through int 0x80 {how}; {param}"))
        }
        Err(e) => (false, format!("fork for the int 0x80 probe: {e}")),
    }
}

/// Not x86_64: no `int 0x80` entry to probe.
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn ia32_emulation() -> (bool, String) {
    (false, format!("not x86_64 ({})", std::env::consts::ARCH))
}
