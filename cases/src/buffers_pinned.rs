//! What registering buffers charges and gives back: without CAP_IPC_LOCK a registration
//! charges its pages to the user's RLIMIT_MEMLOCK quota (`user->locked_vm`) and to the
//! process's pinned memory (`mm->pinned_vm`, the `VmPin` line of /proc/PID/status); the
//! buffer's release returns both (rsrc.c io_buffer_account_pin -> io_account_mem,
//! io_buffer_unmap -> io_unaccount_mem).

use crate::common::*;
use uring::register::Iov;
use uring_harness::level;
use uring_harness::{Case, CaseError, Cite, Expect, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// RLIMIT_MEMLOCK of the rows: 256 pages of 4 KiB, 16 of 64 KiB.
const MEMLOCK: u64 = 1 << 20;

/// `VmPin` of /proc/self/status (mm->pinned_vm), in KiB.
pub(crate) fn vm_pin_kib() -> Result<u64, CaseError> {
    let status = std::fs::read_to_string("/proc/self/status").setup("read /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmPin:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| CaseError::Broken("no `VmPin: N kB` line in /proc/self/status".into()))
}

/// The rows.
pub const CASES: &[Case] = &[
    Case::new("register_buffers::pinned_vm_charged_and_returned")
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_account_pin -> io_account_mem (user->locked_vm, \
             mm_account->pinned_vm) / io_buffer_unmap -> io_unaccount_mem",
            )
            .rows(&["buf_reg_charge_returned"])
            .note(
                "a buffer of half the quota and a page is registered, unregistered and registered \
             again: VmPin grows by its size and falls back, and the quota is free for it again \
             (a ring's own pages, charged by 6.14-6.18-era kernels, take less than half)",
            ),
        )
        .run(|cx| {
            let ps = uring::sys::page_size();
            let len = (MEMLOCK as usize / ps / 2 + 1) * ps;
            let m = cx.mem(len)?;
            let ring = cx.ring()?;
            let iov = [Iov::Mem(m.slice(0, len))];
            let before = vm_pin_kib()?;
            let first = register(cx, &ring, &iov)?;
            // Another answer (ENOMEM while an earlier child's ring still holds the quota, or a
            // wrong one) is judged as such; the charge is measured only after a registration.
            if first.answer != uring_harness::Answer::Sync(Ok(0)) {
                return Ok(first);
            }
            cx.check_eq(
                "VmPin growth (KiB) after registering the buffer",
                vm_pin_kib()?.wrapping_sub(before),
                (len / 1024) as u64,
            )?;
            ring.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS")?;
            cx.check_eq(
                "VmPin growth (KiB) after unregistering it",
                vm_pin_kib()?.wrapping_sub(before),
                0,
            )?;
            register(cx, &ring, &iov)
        }),
    Case::new("register_buffers::memlock_whole_after_unregister")
        .needs_level(&level::REGION_COMPOUND_CHARGE)
        .unprivileged(MEMLOCK)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_unmap -> io_unaccount_mem / __io_account_mem (new_pages > \
                 page_limit)",
            )
            .rows(&["buf_reg_charge_returned"])
            .note(
                "after a buffer of half the quota and a page was registered and unregistered, \
                 a buffer of the whole quota fits: the charge came back, and only more than the \
                 limit is refused; needs a kernel that charges no ring pages (7.2)",
            ),
        )
        .run(|cx| {
            let len = half_and_a_page();
            let m = cx.mem(MEMLOCK as usize)?;
            let ring = cx.ring()?;
            let first = register(cx, &ring, &[Iov::Mem(m.slice(0, len))])?;
            if first.answer != uring_harness::Answer::Sync(Ok(0)) {
                return Ok(first);
            }
            ring.registrar()
                .unregister_buffers()
                .setup("UNREGISTER_BUFFERS")?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, MEMLOCK as usize))])
        }),
    Case::new("register_buffers::unregister_leaves_pinned_vm")
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_unaccount_pages (IO_REGBUF_F_KBUF || !ctx->user: nothing) / \
                 io_buffer_unmap -> io_unaccount_mem",
            )
            .rows(&["buf_reg_charge_returned"])
            .note(
                "in a fork()ed child (a fresh mm, VmPin 0): a buffer registered and \
                 unregistered leaves VmPin at 0, whether the ring charged it (no \
                 CAP_IPC_LOCK) or not (ctx->user NULL: nothing to give back either)",
            ),
        )
        .run(|cx| {
            let m = cx.mem(4 * 4096)?;
            let iov = [Iov::Mem(m.slice(0, 4 * 4096))];
            let r = crate::clone_buffers::in_forked_child(cx, "a ring and its buffer", || {
                let ring = uring::Ring::builder(4)
                    .build()
                    .map_err(|e| uring::Error::kernel(e).unwrap_or(E(libc::EIO)))?;
                let reg = ring.registrar();
                reg.register_buffers(&iov)
                    .map_err(|e| uring::Error::kernel(e).unwrap_or(E(libc::EIO)))?;
                reg.unregister_buffers()?;
                let kib = vm_pin_kib().map_err(|_| E(libc::EIO))?;
                Ok(Ok(kib as i64))
            })?;
            cx.sync(
                "VmPin (KiB) of a fork()ed child after REGISTER_BUFFERS of 4 pages and \
                 UNREGISTER_BUFFERS",
                r,
            )
        }),
];

/// Half the quota and a page: two such buffers do not fit in it, one and a ring's own pages do.
fn half_and_a_page() -> usize {
    let ps = uring::sys::page_size();
    (MEMLOCK as usize / ps / 2 + 1) * ps
}
