//! Where guest-init's output goes: the results channel (an isa-debugcon on x86_64) and the
//! console, written by a thread of its own.

#![allow(unsafe_code)] // the channel's ioperm(2) and port I/O (x86_64)

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// The isa-debugcon channel is an x86 I/O port: other architectures have no channel.
#[cfg(target_arch = "x86_64")]
use std::ffi::{c_int, c_ulong};
#[cfg(target_arch = "x86_64")]
use uring_guest_init::{CHANNEL_PORT, CHANNEL_READBACK};

#[cfg(target_arch = "x86_64")]
extern "C" {
    fn ioperm(from: c_ulong, num: c_ulong, turn_on: c_int) -> c_int;
}

/// The results channel: permission for its I/O port (ioperm(2); threads and children made
/// afterwards inherit it, arch/x86/kernel/process.c copy_thread -> io_bitmap_share) and a
/// device that answers there.
pub struct Debugcon;

impl Debugcon {
    #[cfg(target_arch = "x86_64")]
    pub fn open() -> Result<Debugcon, String> {
        // SAFETY: ioperm takes no pointers; it only changes this thread's I/O bitmap.
        if unsafe { ioperm(c_ulong::from(CHANNEL_PORT), 1, 1) } != 0 {
            return Err(format!(
                "ioperm(0x{CHANNEL_PORT:x}): {} (a kernel without X86_IOPL_IOPERM?)",
                std::io::Error::last_os_error()
            ));
        }
        let value: u8;
        // SAFETY: reads one byte from the port ioperm just granted; touches no memory.
        unsafe {
            std::arch::asm!("in al, dx", in("dx") CHANNEL_PORT, out("al") value,
                options(nomem, nostack, preserves_flags));
        }
        if value != CHANNEL_READBACK {
            return Err(format!(
                "no isa-debugcon at port 0x{CHANNEL_PORT:x} (it reads 0x{value:02x})"
            ));
        }
        Ok(Debugcon)
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn open() -> Result<Debugcon, String> {
        Err("no isa-debugcon on this architecture".into())
    }

    fn write(&self, bytes: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `rep outsb` reads bytes.len() bytes from bytes.as_ptr(), a live slice, and
        // writes them to the port `open` was granted; it writes no memory (DF is clear on
        // entry to asm, as the Rust ABI guarantees).
        unsafe {
            std::arch::asm!("rep outsb", in("dx") CHANNEL_PORT,
                inout("rsi") bytes.as_ptr() => _, inout("rcx") bytes.len() => _,
                options(nostack, preserves_flags, readonly));
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = bytes;
    }
}

/// Where guest-init's output goes, one line (or report) at a time and in one order for both:
/// the channel, written synchronously (a port write never waits), and the console, through
/// an unbounded queue to a thread of its own.
pub struct Out {
    sinks: Mutex<Sinks>,
}

struct Sinks {
    channel: Option<Debugcon>,
    console: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// Chunks sent to the console writer and not yet written.
    queued: Arc<AtomicUsize>,
}

impl Out {
    pub fn new(channel: Option<Debugcon>) -> Out {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let written = queued.clone();
        let writer = std::thread::spawn(move || {
            let mut console = std::io::stdout();
            for chunk in rx {
                let _ = console.write_all(&chunk);
                let _ = console.flush();
                written.fetch_sub(1, Ordering::SeqCst);
            }
        });
        Out {
            sinks: Mutex::new(Sinks {
                channel,
                console: Some(tx),
                writer: Some(writer),
                queued,
            }),
        }
    }

    /// Writes `bytes` to the channel only (bulk data the console need not carry); false
    /// when there is no channel.
    pub fn write_channel(&self, bytes: &[u8]) -> bool {
        let s = self.lock();
        if let Some(c) = &s.channel {
            c.write(bytes);
        }
        s.channel.is_some()
    }

    pub fn has_channel(&self) -> bool {
        self.lock().channel.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sinks> {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `bytes` to both sinks.
    pub fn write(&self, bytes: Vec<u8>) {
        let s = self.lock();
        if let Some(c) = &s.channel {
            c.write(&bytes);
        }
        if let Some(tx) = &s.console {
            s.queued.fetch_add(1, Ordering::SeqCst);
            if tx.send(bytes).is_err() {
                s.queued.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Waits, at most `limit`, until the console writer has written everything queued.
    /// Without a results channel the reports are read from the console, and a kernel line
    /// (the next suite run's kmsg marker) printed while a report is still being written
    /// lands inside one of its lines and spoils it.
    pub fn wait_console_written(&self, limit: Duration) {
        let queued = self.lock().queued.clone();
        let start = std::time::Instant::now();
        while queued.load(Ordering::SeqCst) > 0 && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lets the console writer finish what is queued, for at most `limit`: the channel has
    /// it all already, and a console that stopped draining must not keep the VM up.
    pub fn drain_console(&self, limit: Duration) {
        let writer = {
            let mut s = self.lock();
            s.console = None;
            s.writer.take()
        };
        let Some(writer) = writer else { return };
        let start = std::time::Instant::now();
        while !writer.is_finished() && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything written is on the console when the wait returns.
    #[test]
    fn wait_console_written_returns_once_the_queue_is_written() {
        let out = Out::new(None);
        for i in 0..100 {
            out.write(format!("line {i}\n").into_bytes());
        }
        out.wait_console_written(Duration::from_secs(10));
        assert_eq!(out.lock().queued.load(Ordering::SeqCst), 0);
    }
}
