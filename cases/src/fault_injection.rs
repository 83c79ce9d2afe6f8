//! Allocation-failure paths reached with the kernel's fault injection
//! (/proc/thread-self/fail-nth): ENOMEM of registration, clone, buffer rings and MSG_RING, and
//! the EOVERFLOW of a failed overflow-entry allocation. Each checks nothing is left half-installed.
//!
//! Every row walks fail-nth = 1, 2, 3, ...: each step builds fresh rings, writes n to this
//! thread's fail-nth, makes the one call under test, and reads fail-nth back (0: the n-th
//! fault-injectable allocation of the call was failed; else the call made fewer, the walk's
//! end, where the call must succeed). Between the write and the read the thread makes
//! only that syscall (the arguments are built before). A step whose fault was injected must
//! answer the row's error (or an allowed one, each with its own effect check) or succeed
//! with the full effect (a failure the kernel absorbed, e.g. kvmalloc's vmalloc fallback).
//! The row's answer is the first step that gave its error; the walk must also end.

use crate::common::fault::*;
use crate::common::*;
use std::fs::File;
use std::sync::Arc;
use uring::abi::{io_uring_clone_buffers, CloneFlags, PbufFlags, RegisterOp};
use uring::op::{self};
use uring::register::{buf_reg, ArgPtr, FdArg, RegisterCall};
use uring::{Cqe, Mem, Ring};
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

// ---- synchronous registrations ----

/// A registration walked over fail-nth: fresh state per step, the call under test, and the
/// effect checks after a failure (nothing installed) and after a success (installed).
struct SyncWalk<S> {
    setup: fn(&Cx) -> Result<S, CaseError>,
    call: fn(&S) -> RegisterCall<'_>,
    absent: fn(&Cx, &mut S) -> Result<(), CaseError>,
    present: fn(&Cx, &mut S) -> Result<(), CaseError>,
}

/// Walks `w`; every injected step answers ENOMEM (then nothing is installed and the same
/// call without a fault succeeds and works) or succeeds with the effect. Observes the
/// first ENOMEM, or the first other answer of an injected step.
fn walk_sync<S>(cx: &Cx, w: SyncWalk<S>) -> CaseResult {
    let fi = FailNth::open()?;
    let mut first = None;
    for n in 1..=MAX_STEPS {
        let mut s = (w.setup)(cx)?;
        let call = (w.call)(&s);
        let desc = call.to_string();
        let (r, injected) = fi.around(n, || call.invoke())?;
        drop(call);
        match r {
            Err(e) if !injected || e != E::ENOMEM => {
                let how = if injected { "failed" } else { "not injected" };
                return cx.sync(
                    format!("{desc} with fail-nth={n} ({how})"),
                    Err::<i64, _>(e),
                );
            }
            Err(_) => {
                first.get_or_insert((n, desc));
                at_step(n, (w.absent)(cx, &mut s))?;
                let again = (w.call)(&s).invoke();
                cx.check(again.is_ok(), || {
                    format!(
                        "at fail-nth={n}: after ENOMEM the same call without a fault answered \
                         {again:?}, not success"
                    )
                })?;
                at_step(n, (w.present)(cx, &mut s))?;
            }
            Ok(_) => {
                at_step(n, (w.present)(cx, &mut s))?;
                if !injected {
                    return match first {
                        Some((k, d)) => cx.sync(
                            format!(
                                "{d} with fail-nth={k} (the first injected allocation failure to \
                                 fail it; the walk succeeded at fail-nth={n})"
                            ),
                            Err::<i64, _>(E::ENOMEM),
                        ),
                        None => cx.sync(
                            format!("{desc}: no fail-nth value below {n} made it fail"),
                            Ok::<i64, E>(0),
                        ),
                    };
                }
            }
        }
    }
    Err(CaseError::Fail(format!(
        "the walk did not reach a fail-nth value the call outlives within {MAX_STEPS} steps"
    )))
}

/// A file of 8 KiB of pattern, and the bytes.
fn file8k(cx: &Cx) -> Result<(File, Vec<u8>), CaseError> {
    data_file(cx, 8192, 37)
}

/// Bytes of `u16`/`u32`/`u64` fields in native order (a raw register argument in a `Mem`).
fn arg_mem(cx: &Cx, words: &[u64], widths: &[usize]) -> Result<Arc<Mem>, CaseError> {
    let m = cx.mem(4096)?;
    let mut bytes = Vec::new();
    for (w, n) in words.iter().zip(widths) {
        bytes.extend(field_bytes(*w, *n));
    }
    m.write(0, &bytes);
    Ok(m)
}

/// The `n`-byte native-order field holding `w`: the low `n` bytes of the u64, which come
/// first on little-endian machines and last on big-endian ones (s390x).
fn field_bytes(w: u64, n: usize) -> Vec<u8> {
    let b = w.to_ne_bytes();
    if cfg!(target_endian = "big") {
        b[8 - n..].to_vec()
    } else {
        b[..n].to_vec()
    }
}

/// READ_FIXED of 64 bytes at file offset `off` into registered buffer `idx` at `addr`.
fn read_64_fixed(
    cx: &Cx,
    ring: &mut Ring,
    f: &File,
    addr: u64,
    off: u64,
    idx: u16,
) -> Result<Cqe, CaseError> {
    let args = op::Fixed {
        addr,
        len: 64,
        offset: off,
        buf_index: idx,
    };
    read_fixed_at(cx, ring, fd(f), args)
}

/// Registered buffers `0..n` of `ring` over `mem` (one page each) read the file's bytes.
fn buffers_read(
    cx: &Cx,
    ring: &mut Ring,
    mem: &Arc<Mem>,
    f: &File,
    data: &[u8],
    n: usize,
) -> Result<(), CaseError> {
    for i in 0..n {
        let addr = mem.slice(i * 4096, 4096).addr();
        let c = read_64_fixed(cx, ring, f, addr, i as u64 * 64, i as u16)?;
        cx.check_eq(&format!("READ_FIXED into buffer {i}: res"), c.res, 64)?;
        cx.check_eq(
            &format!("bytes read into buffer {i}"),
            mem.read(i * 4096, 64),
            data[i * 64..i * 64 + 64].to_vec(),
        )?;
    }
    Ok(())
}

/// READ_FIXED into buffer 0 of a ring without a buffer table: -EFAULT (io_find_buf_node
/// finds no node), and the buffer is untouched.
fn no_buffer_table(
    cx: &Cx,
    ring: &mut Ring,
    mem: &Arc<Mem>,
    f: &File,
    what: &str,
) -> Result<(), CaseError> {
    mem.fill(0xee);
    let c = read_64_fixed(cx, ring, f, mem.slice(0, 4096).addr(), 0, 0)?;
    cx.check_eq(
        &format!("READ_FIXED on buffer 0 of {what} (no table): res"),
        c.res,
        -E::EFAULT.0,
    )?;
    cx.check_eq(
        &format!("{what}: buffer 0 untouched"),
        mem.read(0, 64),
        vec![0xee; 64],
    )
}

/// A ring, two one-page buffers (touched), the iovec array in a `Mem`, and a data file.
struct Buffers {
    ring: Ring,
    mem: Arc<Mem>,
    iovs: Arc<Mem>,
    file: (File, Vec<u8>),
}

fn buffers(cx: &Cx) -> Result<Buffers, CaseError> {
    let mem = cx.mem(2 * 4096)?;
    mem.fill(0);
    let a = mem.slice(0, 4096).addr();
    let iovs = arg_mem(cx, &[a, 4096, a + 4096, 4096], &[8, 8, 8, 8])?;
    Ok(Buffers {
        ring: cx.ring()?,
        mem,
        iovs,
        file: file8k(cx)?,
    })
}

fn register_two(b: &Buffers) -> RegisterCall<'_> {
    RegisterCall::new(
        FdArg::Ring(&b.ring),
        RegisterOp::BUFFERS,
        ArgPtr::Mem(b.iovs.slice(0, 32)),
        2,
    )
}

/// A source ring with two buffers registered, a destination ring, the clone argument.
struct Clone2 {
    src: Buffers,
    dst: Ring,
    arg: Arc<Mem>,
}

fn clone_setup(cx: &Cx) -> Result<Clone2, CaseError> {
    let src = buffers(cx)?;
    register_two(&src)
        .invoke()
        .setup("register the source's two buffers")?;
    let dst = cx.ring()?;
    let a = io_uring_clone_buffers {
        src_fd: src.ring.fd() as u32,
        flags: CloneFlags::NONE,
        src_off: 0,
        dst_off: 0,
        nr: 0,
        pad: [0; 3],
    };
    let arg = arg_mem(
        cx,
        &[a.src_fd as u64, a.flags.0 as u64, 0, 0, 0, 0, 0, 0],
        &[4; 8],
    )?;
    Ok(Clone2 { src, dst, arg })
}

/// The group id and entries of the buffer-ring rows.
const BGID: u16 = 5;
const ENTRIES: u32 = 8;

/// A ring, the app-provided buffer-ring memory, and the io_uring_buf_reg argument.
struct PbufReg {
    ring: Ring,
    _ring_mem: Arc<Mem>,
    arg: Arc<Mem>,
}

fn pbuf_setup(cx: &Cx) -> Result<PbufReg, CaseError> {
    let ring_mem = cx.mem(4096)?;
    ring_mem.fill(0);
    let r = buf_reg(BGID, ENTRIES, PbufFlags::NONE);
    let arg = arg_mem(
        cx,
        &[
            ring_mem.slice(0, 4096).addr(),
            r.ring_entries as u64,
            r.bgid as u64,
            r.flags.0 as u64,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
        &[8, 4, 2, 2, 4, 4, 4, 4, 4, 4],
    )?;
    Ok(PbufReg {
        ring: cx.ring()?,
        _ring_mem: ring_mem,
        arg,
    })
}

/// PBUF_STATUS of the group: ENOENT where no group is installed, head 0 where it is.
fn pbuf_status_is(cx: &Cx, p: &PbufReg, want: Result<u32, E>) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("PBUF_STATUS of group {BGID}"),
        p.ring.registrar().pbuf_status(BGID as u32),
        want,
    )
}

// ---- MSG_RING: the source's CQE, the target's CQ ----

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("fault_injection::register_buffers_enomem")
        .requires(&[Feature::OpReadWriteFixed])
        .needs(FI)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel(
                "rsrc.c:io_sqe_buffers_register -> io_rsrc_data_alloc / io_sqe_buffer_register \
                 (io_rsrc_node_alloc, io_pin_pages, io_alloc_imu)",
            )
            .man(REG, "ERRORS: ENOMEM")
            .rows(&["buf_reg_enomem", "fi_buf_reg_clean"]),
        )
        .run(|cx| {
            walk_sync(
                cx,
                SyncWalk {
                    setup: buffers,
                    call: register_two,
                    absent: |cx, b| no_buffer_table(cx, &mut b.ring, &b.mem, &b.file.0, "the ring"),
                    present: |cx, b| buffers_read(cx, &mut b.ring, &b.mem, &b.file.0, &b.file.1, 2),
                },
            )
        }),
    Case::new("fault_injection::clone_buffers_enomem")
        .requires(&[Feature::CloneBuffers, Feature::OpReadWriteFixed])
        .needs(FI)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (io_rsrc_data_alloc, io_rsrc_node_alloc)")
                .man("io_uring_clone_buffers.3", "ERRORS: ENOMEM")
                .rows(&["clone_enomem", "fi_clone_clean"]),
        )
        .run(|cx| {
            walk_sync(
                cx,
                SyncWalk {
                    setup: clone_setup,
                    call: |c| {
                        RegisterCall::new(
                            FdArg::Named(c.dst.fd(), "dst"),
                            RegisterOp::CLONE_BUFFERS,
                            ArgPtr::Mem(c.arg.slice(0, 32)),
                            1,
                        )
                    },
                    absent: |cx, c| {
                        no_buffer_table(
                            cx,
                            &mut c.dst,
                            &c.src.mem,
                            &c.src.file.0,
                            "the destination",
                        )?;
                        buffers_read(
                            cx,
                            &mut c.src.ring,
                            &c.src.mem,
                            &c.src.file.0,
                            &c.src.file.1,
                            2,
                        )
                    },
                    present: |cx, c| {
                        buffers_read(cx, &mut c.dst, &c.src.mem, &c.src.file.0, &c.src.file.1, 2)
                    },
                },
            )
        }),
    Case::new("fault_injection::pbuf_ring_enomem")
        .requires(&[Feature::PbufRing, Feature::PbufStatus])
        .needs(FI)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel(
                "kbuf.c:io_register_pbuf_ring (kzalloc of the list, io_create_region, \
                 io_buffer_add_list)",
            )
            .man(REG, "ERRORS: ENOMEM")
            .rows(&["pbuf_enomem", "fi_pbuf_clean"]),
        )
        .run(|cx| {
            walk_sync(
                cx,
                SyncWalk {
                    setup: pbuf_setup,
                    call: |p| {
                        RegisterCall::new(
                            FdArg::Ring(&p.ring),
                            RegisterOp::PBUF_RING,
                            ArgPtr::Mem(p.arg.slice(0, 40)),
                            1,
                        )
                    },
                    absent: |cx, p| pbuf_status_is(cx, p, Err(E::ENOENT)),
                    present: |cx, p| pbuf_status_is(cx, p, Ok(0)),
                },
            )
        }),
];

#[cfg(test)]
mod tests {
    use super::field_bytes;

    #[test]
    fn fields_hold_their_value_in_native_order() {
        assert_eq!(field_bytes(0x1234_5678, 4), 0x1234_5678u32.to_ne_bytes());
        assert_eq!(field_bytes(5, 2), 5u16.to_ne_bytes());
        assert_eq!(field_bytes(u64::MAX - 1, 8), (u64::MAX - 1).to_ne_bytes());
    }
}
