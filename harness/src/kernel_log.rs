//! Kernel health during a run: the WARNING/BUG/Oops splats the kernel logged while the
//! suite ran, each with the case that was running.
//!
//! The log is read from /dev/kmsg (root, or `kernel.dmesg_restrict=0`): opened before the
//! first case at its end, read again after the last. A splat names the task it hit
//! ("PID: N", "Comm: iou-wrk-N" for an io-wq worker of task N); every case records the id
//! of its thread and its time span, so a splat is pinned to the case whose thread it hit,
//! or else to the cases running at its timestamp.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;
use std::time::Instant;
use uring_report::problem_kind;

/// One case's thread and time span, in microseconds of CLOCK_MONOTONIC.
#[derive(Clone, Debug)]
struct Span {
    case: &'static str,
    tid: i32,
    start_us: u64,
    end_us: Option<u64>,
}

static SPANS: Mutex<Vec<Span>> = Mutex::new(Vec::new());

fn spans() -> std::sync::MutexGuard<'static, Vec<Span>> {
    SPANS.lock().unwrap_or_else(|p| p.into_inner())
}

/// CLOCK_MONOTONIC in microseconds (the clock printk timestamps roughly follow).
fn monotonic_us() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
        .unwrap_or(0)
}

/// Marks the calling thread as running `case` until the returned guard drops.
pub fn case_running(case: &'static str) -> CaseSpan {
    let mut s = spans();
    s.push(Span {
        case,
        tid: nix::unistd::gettid().as_raw(),
        start_us: monotonic_us(),
        end_us: None,
    });
    CaseSpan(s.len() - 1)
}

/// Ends a case's span on drop (a case that never returns keeps an open span).
pub struct CaseSpan(usize);

impl Drop for CaseSpan {
    fn drop(&mut self) {
        if let Some(s) = spans().get_mut(self.0) {
            s.end_us = Some(monotonic_us());
        }
    }
}

/// The kernel log, positioned at its end when the run began.
pub enum KernelLog {
    /// Readable; `marker` is the line written at the start, which relates printk time
    /// to CLOCK_MONOTONIC when it is read back.
    Open {
        /// /dev/kmsg, read from the end of the log as it was when the run began.
        kmsg: File,
        /// The marker line.
        marker: String,
    },
    /// Not readable here: why.
    Unreadable(String),
}

/// A kernel problem logged during the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// "WARNING", "OOPS/BUG" or "PANIC".
    pub kind: &'static str,
    /// The splat's first line.
    pub line: String,
    /// The case(s) it is pinned to, and how.
    pub during: String,
}

/// What the scan found.
pub struct Scan {
    /// Records read since the run began.
    pub records: usize,
    /// The problems among them.
    pub problems: Vec<Problem>,
}

impl KernelLog {
    /// Opens /dev/kmsg at its end and writes a marker line (when allowed) that later
    /// relates printk time to CLOCK_MONOTONIC.
    pub fn open() -> KernelLog {
        let kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .and_then(|mut f| f.seek(SeekFrom::End(0)).map(|_| f));
        match kmsg {
            Ok(kmsg) => {
                let marker = format!(
                    "uring-conformance: run begins (pid {}, monotonic {} us)",
                    std::process::id(),
                    monotonic_us()
                );
                // A failed write only costs the clock calibration. The newline ends the
                // record: without it the kernel holds it open for a continuation.
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/kmsg")
                    .and_then(|mut w| w.write_all(format!("{marker}\n").as_bytes()));
                KernelLog::Open { kmsg, marker }
            }
            Err(e) => KernelLog::Unreadable(format!("/dev/kmsg: {e}")),
        }
    }

    /// Reads what the kernel logged since [`KernelLog::open`] and pins each problem to a case.
    pub fn scan(self) -> Result<Scan, String> {
        let (mut kmsg, marker) = match self {
            KernelLog::Open { kmsg, marker } => (kmsg, marker),
            KernelLog::Unreadable(why) => return Err(why),
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(2);
        let mut records = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        while Instant::now() < deadline {
            match kmsg.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(r) = parse_record(&String::from_utf8_lossy(&buf[..n])) {
                        records.push(r);
                    }
                }
                // EPIPE: older records were overwritten; the next read goes on from the oldest left.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(_) => break, // EAGAIN: no more records
            }
        }
        let offset_us = records
            .iter()
            .find(|r| r.text == marker)
            .and_then(|r| {
                let mono: u64 = marker
                    .rsplit("monotonic ")
                    .next()?
                    .trim_end_matches(" us)")
                    .parse()
                    .ok()?;
                Some(r.ts_us as i64 - mono as i64)
            })
            .unwrap_or(0);
        let problems = find_problems(&records, &spans(), offset_us);
        Ok(Scan {
            records: records.len(),
            problems,
        })
    }
}

/// One /dev/kmsg record: "PRI,SEQ,TS_US,FLAGS[,...];TEXT" (dictionary lines dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    facility: u32,
    ts_us: u64,
    text: String,
}

fn parse_record(raw: &str) -> Option<Record> {
    let (head, rest) = raw.split_once(';')?;
    let mut f = head.split(',');
    let pri: u32 = f.next()?.parse().ok()?;
    let _seq = f.next()?;
    let ts_us: u64 = f.next()?.parse().ok()?;
    let text = rest.lines().next().unwrap_or("").to_string();
    Some(Record {
        facility: pri >> 3,
        ts_us,
        text,
    })
}

/// The number after `key` in `text` ("PID: 42" -> 42).
fn number_after(text: &str, key: &str) -> Option<i32> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The task a splat hit: its pid, and for an io_uring worker thread the task it works for.
fn splat_tasks(first: &str, following: &[Record]) -> Vec<i32> {
    let mut tids: Vec<i32> = number_after(first, "PID:").into_iter().collect();
    // The "CPU: n [UID: u] PID: p Comm: name ..." line of the dump follows within a few
    // records, before the next splat begins.
    if let Some(cpu_line) = following
        .iter()
        .take(40)
        .take_while(|r| problem_kind(&r.text).is_none())
        .map(|r| r.text.as_str())
        .find(|t| t.contains("PID:") && t.contains("Comm:"))
    {
        tids.extend(number_after(cpu_line, "PID:"));
        let comm = cpu_line.split("Comm:").nth(1).unwrap_or("").trim_start();
        for worker in ["iou-wrk-", "iou-sqp-"] {
            if let Some(owner) = comm.strip_prefix(worker) {
                tids.extend(number_after(owner, ""));
            }
        }
    }
    tids
}

fn find_problems(records: &[Record], spans: &[Span], offset_us: i64) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if r.facility != 0 {
            continue; // only the kernel's own messages; user space cannot forge facility 0
        }
        let Some(kind) = problem_kind(&r.text) else {
            continue;
        };
        let tids = splat_tasks(&r.text, &records[i + 1..]);
        let t = r.ts_us as i64 - offset_us;
        let running =
            |s: &Span| s.start_us as i64 <= t && s.end_us.is_none_or(|e| t <= e as i64 + 1000);
        let of_thread: Vec<&Span> = spans.iter().filter(|s| tids.contains(&s.tid)).collect();
        // A thread id can come back for a later case: prefer the one running at the time.
        let by_thread: Vec<&str> = match of_thread.iter().filter(|s| running(s)).collect::<Vec<_>>()
        {
            now if !now.is_empty() => now.iter().map(|s| s.case).collect(),
            _ => of_thread.iter().map(|s| s.case).collect(),
        };
        let during = if !by_thread.is_empty() {
            format!("case {} (its thread)", by_thread.join(" or "))
        } else {
            let by_time: Vec<&str> = spans
                .iter()
                .filter(|s| running(s))
                .map(|s| s.case)
                .collect();
            if by_time.is_empty() {
                "no case was running (probe or teardown)".to_string()
            } else {
                format!("case {} (by time)", by_time.join(" or "))
            }
        };
        out.push(Problem {
            kind: kind.label(),
            line: r.text.clone(),
            during,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(facility: u32, ts_us: u64, text: &str) -> Record {
        Record {
            facility,
            ts_us,
            text: text.into(),
        }
    }

    #[test]
    fn records_parse() {
        let r = parse_record("4,1234,5678901,-;WARNING: CPU: 1 PID: 42 at io_uring/rsrc.c:10 f+0x1/0x2\n SUBSYSTEM=x\n").unwrap();
        assert_eq!(r.facility, 0);
        assert_eq!(r.ts_us, 5678901);
        assert!(r.text.starts_with("WARNING: CPU: 1 PID: 42"));
        assert_eq!(parse_record("12,1,2,-;hello").unwrap().facility, 1);
        assert_eq!(parse_record("garbage"), None);
    }

    #[test]
    fn splats_are_pinned_to_the_case_whose_thread_they_hit() {
        let spans = [
            Span {
                case: "a::one",
                tid: 100,
                start_us: 0,
                end_us: Some(10_000),
            },
            Span {
                case: "a::two",
                tid: 200,
                start_us: 0,
                end_us: Some(10_000),
            },
        ];
        let records = [
            rec(
                0,
                500,
                "WARNING: CPU: 0 PID: 200 at io_uring/kbuf.c:1 x+0/0",
            ),
            rec(0, 600, "BUG: kernel NULL pointer dereference, address: 0"),
            rec(0, 601, "#PF: supervisor read access in kernel mode"),
            rec(
                0,
                602,
                "CPU: 1 UID: 0 PID: 333 Comm: iou-wrk-100 Not tainted 7.2.0",
            ),
            rec(0, 20_000, "Oops: general protection fault"),
            rec(1, 700, "WARNING: forged by user space"),
            rec(0, 800, "io_uring: a harmless line"),
        ];
        let p = find_problems(&records, &spans, 0);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(
            (p[0].kind, p[0].during.as_str()),
            ("WARNING", "case a::two (its thread)")
        );
        assert_eq!(p[1].during, "case a::one (its thread)");
        assert_eq!(p[2].during, "no case was running (probe or teardown)");
    }

    #[test]
    fn a_reused_thread_id_is_pinned_to_the_case_running_then() {
        let span = |case, start_us, end_us| Span {
            case,
            tid: 5,
            start_us,
            end_us: Some(end_us),
        };
        let spans = [span("c::early", 0, 100), span("c::late", 5_000, 6_000)];
        let p = find_problems(&[rec(0, 5_500, "WARNING: CPU: 0 PID: 5 at x")], &spans, 0);
        assert_eq!(p[0].during, "case c::late (its thread)");
    }

    #[test]
    fn without_a_thread_a_splat_is_pinned_by_time() {
        let spans = [Span {
            case: "b::slow",
            tid: 7,
            start_us: 1_000,
            end_us: None,
        }];
        let p = find_problems(
            &[rec(0, 5_000 + 300, "WARNING: CPU: 0 PID: 9 at x")],
            &spans,
            300,
        );
        assert_eq!(p[0].during, "case b::slow (by time)");
    }
}
