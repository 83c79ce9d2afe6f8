//! §2.2 continued: what a clone shares, checked by I/O: huge-page buffers (THP and
//! hugetlb), a source ring of another user, and the pages either side still holds after the
//! other unregisters. The destination table after a clone is in [`crate::clone_effects`].

use crate::common::clone::{arg, clone, pair, CB, CB_FIXED, CLONE3};
use crate::common::*;
use std::os::unix::fs::FileExt;
use uring::abi::CloneFlags;
use uring::mem::Backing;
use uring::register::Iov;
use uring::{Mem, Ring};
use uring_harness::probe::io_uring_disabled_sysctl;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Setup};

/// WRITE_FIXED of 64 bytes from `ring`'s slot `slot` at `mem + off` into a fresh file;
/// returns the bytes the file received (the kernel read them through that slot).
fn written_from(
    cx: &Cx,
    ring: &mut Ring,
    slot: u16,
    mem: &Mem,
    off: usize,
) -> Result<Vec<u8>, CaseError> {
    let f = cx.file_for_writes(64)?;
    let c = cx.submit_one(
        ring,
        uring::op::write_fixed(
            fd(&f),
            uring::op::Fixed {
                addr: mem.addr() + off as u64,
                len: 64,
                offset: 0,
                buf_index: slot,
            },
        )
        .user_data(0x5108),
    )?;
    cx.check_eq(
        &format!("WRITE_FIXED res from slot {slot} at mem+{off:#x}"),
        c.res,
        64,
    )?;
    let mut got = vec![0u8; 64];
    let n = f.read_at(&mut got, 0).setup("read back the written file")?;
    got.truncate(n);
    Ok(got)
}

/// Clones a buffer of one huge page of `kind` (the size probed: the PMD size for THP, the
/// smallest hugetlb pool with a free page) and reads through the clone at offsets in its
/// first base page, across a base page boundary, in the middle and at the end of the huge
/// page, before and after the source unregisters.
fn huge_clone(cx: &mut Cx, kind: Backing) -> CaseResult {
    let page = uring::sys::page_size();
    let (m, huge) = map_huge(kind, 1)?;
    let what = uring_harness::env::size_name(huge);
    let mut src = cx.ring()?;
    src.registrar()
        .register_buffers(&[Iov::Mem(m.all())])
        .setup(&format!("register the {what} huge-page buffer in src"))?;
    let mut dst = cx.ring()?;
    let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))?;
    for off in [0, page - 32, huge / 2 + 100, huge - 64] {
        reads_into(cx, &mut dst, 0, &m, off)?;
    }
    src.registrar()
        .unregister_buffers()
        .setup("unregister src")?;
    reads_into(cx, &mut dst, 0, &m, huge / 2 - 32)?;
    read_faults(cx, &mut src, 0, &m, 0)?;
    Ok(obs)
}

/// Clones a one-buffer pair, fills the buffer through `writer`'s slot (READ_FIXED from a
/// file), unregisters `writer`'s table (the call under test) and checks that `reader`'s
/// slot still holds those bytes (WRITE_FIXED to a file) while `writer`'s slot is gone.
fn unregister_one_side(cx: &mut Cx, unregister_src: bool) -> CaseResult {
    let (src, m, dst) = pair(cx, 1)?;
    dst.registrar()
        .clone_buffers(
            uring::register::CloneSrc::Fd(src.fd()),
            CloneFlags::NONE,
            0,
            0,
            0,
        )
        .setup("clone src into dst")?;
    let (mut writer, mut reader, side, other) = if unregister_src {
        (src, dst, "src", "dst")
    } else {
        (dst, src, "dst", "src")
    };
    reads_into(cx, &mut writer, 0, &m, 0x100)?;
    let wrote = m.read(0x100, 64);
    let obs = cx.sync(
        format!("io_uring_register({side}, UNREGISTER_BUFFERS) after filling slot 0 through it"),
        writer.registrar().unregister_buffers().map(|_| 0),
    )?;
    cx.check_eq(
        &format!("bytes WRITE_FIXED sends from {other}'s slot 0 at mem+0x100"),
        written_from(cx, &mut reader, 0, &m, 0x100)?,
        wrote,
    )?;
    read_faults(cx, &mut writer, 0, &m, 0x100)?;
    Ok(obs)
}

/// A ring with one registered page, made in a helper thread whose own credentials (a raw
/// setresuid(2), which changes only the calling thread) are the run's spare "another user"
/// uid (no task uses it; not the memlock rows' uid) without capabilities: its ring is
/// charged to that uid's user (`ctx->user`), under this process's RLIMIT_MEMLOCK (the row
/// needs fact memlock_64k).
fn ring_of_other_user(cx: &Cx) -> Result<(Ring, std::sync::Arc<Mem>), CaseError> {
    let Some(other) = cx.features().env.spare_uids.map(|u| u.another_user) else {
        return Err(CaseError::Broken(
            "no spare uid although can_drop_privileges holds".into(),
        ));
    };
    let made =
        uring_harness::resource::spawn_thread("another uid", move || -> Result<_, CaseError> {
            let u = other as libc::c_long;
            #[allow(unsafe_code)]
            // SAFETY: the raw syscall (not glibc's setresuid, which changes every thread) only
            // changes this helper thread's credentials; the thread ends after making the ring.
            let r = unsafe { libc::syscall(libc::SYS_setresuid, u, u, u) };
            if r < 0 {
                return Err(CaseError::Broken(format!(
                    "setresuid({other}) in a helper thread: {}",
                    E::last()
                )));
            }
            let setup = format!("io_uring_setup(4) as uid {other}");
            let ring = match Ring::new(4) {
                // With kernel.io_uring_disabled = 1 only io_uring_group and CAP_SYS_ADMIN may
                // create rings (io_uring.c:io_uring_allowed): the machine's policy, no answer.
                Err(E::EPERM) if io_uring_disabled_sysctl().is_some_and(|v| v > 0) => {
                    return Err(CaseError::Skip(uring_harness::SkipCause::NotPermitted {
                        what: format!(
                            "{setup} -> EPERM with kernel.io_uring_disabled = {}",
                            io_uring_disabled_sysctl().unwrap_or(0)
                        ),
                    }))
                }
                // ENOMEM: the helper's user is out of locked memory (a resource skip).
                r => r.setup(&setup)?,
            };
            let m = Mem::new(4096).setup("mmap")?;
            ring.registrar()
                .register_buffers(&[Iov::Mem(m.slice(0, 4096))])
                .setup(&format!("register a page as uid {other}"))?;
            Ok((ring, m))
        })?;
    made.join()
        .map_err(|_| CaseError::Broken("helper thread panicked".into()))?
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows.
pub const CASES: &[Case] = &[
    Case::new("clone_buffers::thp_buffer_cloned")
        .requires(CB_FIXED)
        .needs(&[Fact::TransparentHugepages])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers -> io_buffer_acct_cloned_hpages (coalesced folio, imu \
                 shared)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_hugepage"]),
        )
        .run(|cx| huge_clone(cx, Backing::Thp)),
    Case::new("clone_buffers::hugetlb_buffer_cloned")
        .requires(CB_FIXED)
        .needs(&[Fact::HugetlbPages])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_clone_buffers -> io_buffer_acct_cloned_hpages (coalesced folio, imu \
                 shared)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_hugepage"]),
        )
        .run(|cx| huge_clone(cx, Backing::Hugetlb)),
    Case::new("clone_buffers::src_of_another_user")
        .requires(CB)
        .needs(&[Fact::CapIpcLock, Fact::CanDropPrivileges, Fact::Memlock64K])
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (ctx->user != src_ctx->user)")
                .man(CLONE3, "NOTES")
                .rows(&["clone_acct_mismatch"])
                .note(
                    "io_uring_clone_buffers.3 NOTES asks only for a shared address space, and \
                     lists no EINVAL; the kernel also wants the same accounting user: here the \
                     same mm, the source ring made by a thread running as another uid without \
                     CAP_IPC_LOCK, the destination by one with it (ctx->user NULL)",
                ),
        )
        .run(|cx| {
            let (src, _m) = ring_of_other_user(cx)?;
            let dst = cx.ring()?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::src_unregistered_dst_holds_same_bytes")
        .requires(CB_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_unmap (imu->refs: the pages stay pinned for the other ring)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_shared_after_unregister"]),
        )
        .run(|cx| unregister_one_side(cx, true)),
    Case::new("clone_buffers::dst_unregistered_src_holds_same_bytes")
        .requires(CB_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "rsrc.c:io_buffer_unmap (imu->refs: the pages stay pinned for the other ring)",
            )
            .man(CLONE3, "DESCRIPTION")
            .rows(&["clone_shared_after_unregister"]),
        )
        .run(|cx| unregister_one_side(cx, false)),
];
