//! Our ring's side of every figure: the workloads built on `uring` (NOPs, reads, buffer
//! registration, clone, MSG_RING), beside [`crate::lu`] (liburing) and [`crate::iou`]
//! (the io-uring crate).

use crate::callgrind::IoKind;
use crate::{xorshift, Cfg, Work, FILE_SIZE, NBUF, QD};
use std::fs::File;
use std::hint::black_box;
use std::os::fd::AsRawFd;
use uring::abi::{CloneFlags, MsgRingFlags};
use uring::register::{CloneSrc, Iov};
use uring::{op, Mem, Ring};

/// NOPs in batches, pushed through [`Ring::sq_batch`] (the batch path, as the io-uring
/// crate's side pushes through its `submission()` view), or with `Ring::push` one by one
/// when `view` is false (the `ours-push` figure of `--callgrind`).
pub fn ours_nop(cfg: Cfg, batch: u32, view: bool) -> Work {
    let mut ring = Ring::builder(128)
        .flags(cfg.flags())
        .build()
        .expect("ours: setup");
    let mut sink = 0u64;
    Box::new(move |iters| {
        for _ in 0..iters {
            if view {
                let mut sq = ring.sq_batch();
                for j in 0..batch {
                    sq.push(op::nop().user_data(j as u64)).expect("ours: push");
                }
            } else {
                for j in 0..batch {
                    ring.push(op::nop().user_data(j as u64))
                        .expect("ours: push");
                }
            }
            ring.submit_and_wait(batch).expect("ours: submit_and_wait");
            ring.for_each_cqe(|c| sink = sink.wrapping_add(c.user_data).wrapping_add(c.res as u64));
        }
        black_box(sink);
    })
}

pub fn ours_read(file: &File, fixed: bool) -> Work {
    let mut ring = Ring::new(64).expect("ours: setup");
    let mem = Mem::new(QD as usize * 4096).expect("mem");
    if fixed {
        ring.registrar()
            .register_buffers(&[Iov::Mem(mem.slice(0, QD as usize * 4096))])
            .expect("ours: register_buffers");
    }
    let held = ring.hold(&mem);
    let fd = file.as_raw_fd();
    let blocks = FILE_SIZE / 4096;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut free: Vec<u32> = Vec::with_capacity(QD as usize);
    Box::new(move |iters| {
        free.clear();
        free.extend(0..QD);
        let (mut issued, mut done) = (0u64, 0u64);
        while done < iters {
            let mut sq = ring.sq_batch();
            while issued < iters {
                let Some(s) = free.pop() else { break };
                let off = (xorshift(&mut seed) % blocks) * 4096;
                let sqe = if fixed {
                    op::read_fixed(
                        fd,
                        op::Fixed {
                            addr: mem.addr() + s as u64 * 4096,
                            len: 4096,
                            offset: off,
                            buf_index: 0,
                        },
                    )
                } else {
                    op::read(fd, held.slice(s as usize * 4096, 4096), 4096, off)
                };
                sq.push(sqe.user_data(s as u64)).expect("ours: push");
                issued += 1;
            }
            drop(sq);
            ring.submit_and_wait(1).expect("ours: submit_and_wait");
            done += ring.for_each_cqe(|c| {
                assert_eq!(c.res, 4096, "ours: read");
                free.push(c.user_data as u32);
            }) as u64;
        }
    })
}

/// The `--callgrind` read loop: `batch` requests of 4 KiB of `kind` (slots 0..batch of one
/// region held by the ring, or registered for READ_FIXED) pushed through
/// [`Ring::sq_batch`], submit and wait for all, reap; offsets walk `blocks` in order. One
/// loop per opcode (as the io-uring side), so none pays for a merged SQE of all.
pub fn ours_read_batch(fd: i32, kind: IoKind, batch: u32, blocks: u64) -> Work {
    match kind {
        IoKind::Read => ours_read_batch_of::<{ IoKind::Read as u8 }>(fd, batch, blocks),
        IoKind::Fixed => ours_read_batch_of::<{ IoKind::Fixed as u8 }>(fd, batch, blocks),
        IoKind::Readv => ours_read_batch_of::<{ IoKind::Readv as u8 }>(fd, batch, blocks),
        IoKind::Write => ours_read_batch_of::<{ IoKind::Write as u8 }>(fd, batch, blocks),
    }
}

fn ours_read_batch_of<const K: u8>(fd: i32, batch: u32, blocks: u64) -> Work {
    let mut ring = Ring::new(64).expect("ours: setup");
    let mem = Mem::new(QD as usize * 4096).expect("mem");
    if K == IoKind::Fixed as u8 {
        ring.registrar()
            .register_buffers(&[Iov::Mem(mem.slice(0, QD as usize * 4096))])
            .expect("ours: register_buffers");
    }
    let held = ring.hold(&mem);
    // The READV iovecs, one per slot, written for each request.
    let mut iovs = ring.hold_iovecs(&held).expect("ours: iovecs");
    let mut next = 0u64;
    Box::new(move |iters| {
        // The loop's state in locals, as the C loop has it: captured in the closure, it
        // was reloaded (and `n` stored) around every store into an SQE or iovec, which
        // the compiler cannot tell apart from the closure's memory (`fd` stays captured:
        // a local cost a register, 4 instructions at batch 1, measured).
        let (blocks, mut n, mut sink) = (blocks, next, 0u64);
        for _ in 0..iters {
            let mut sq = ring.sq_batch();
            for j in 0..batch {
                let off = (n % blocks) * 4096;
                n += 1;
                let slot = || held.slice(j as usize * 4096, 4096);
                let sqe = if K == IoKind::Fixed as u8 {
                    op::read_fixed(
                        fd,
                        op::Fixed {
                            addr: mem.addr() + j as u64 * 4096,
                            len: 4096,
                            offset: off,
                            buf_index: 0,
                        },
                    )
                } else if K == IoKind::Readv as u8 {
                    let iov = iovs.set(j as u8, &[(j as usize * 4096, 4096)]);
                    op::readv_held(fd, iov, off)
                } else if K == IoKind::Write as u8 {
                    op::write(fd, slot(), 4096, off)
                } else {
                    op::read(fd, slot(), 4096, off)
                };
                sq.push(sqe.user_data(j as u64)).expect("ours: push");
            }
            drop(sq);
            ring.submit_and_wait(batch).expect("ours: submit_and_wait");
            ring.for_each_cqe(|c| {
                // A copy of `res`, as the io-uring side's `c.result()`: a place would
                // have the whole CQE stored to the stack for the failure's message.
                let res = c.res;
                assert_eq!(res, 4096, "ours: read");
                sink = sink.wrapping_add(c.user_data);
            });
        }
        next = n;
        black_box(sink);
    })
}

fn buffers(mem: &std::sync::Arc<Mem>) -> Vec<Iov> {
    (0..NBUF)
        .map(|i| Iov::Mem(mem.slice(i * 4096, 4096)))
        .collect()
}

pub fn ours_reg() -> Work {
    let ring = Ring::new(8).expect("ours: setup");
    let mem = Mem::new(NBUF * 4096).expect("mem");
    let iovs = buffers(&mem);
    Box::new(move |iters| {
        for _ in 0..iters {
            ring.registrar()
                .register_buffers(&iovs)
                .expect("ours: register_buffers");
            ring.registrar()
                .unregister_buffers()
                .expect("ours: unregister_buffers");
        }
    })
}

pub fn ours_clone() -> Option<Work> {
    let src = Ring::new(8).expect("ours: setup");
    let dst = Ring::new(8).expect("ours: setup");
    let mem = Mem::new(NBUF * 4096).expect("mem");
    src.registrar()
        .register_buffers(&buffers(&mem))
        .expect("ours: register_buffers");
    let sfd = src.fd();
    dst.registrar()
        .clone_buffers(CloneSrc::Fd(sfd), CloneFlags::NONE, 0, 0, 0)
        .ok()?;
    dst.registrar().unregister_buffers().ok()?;
    Some(Box::new(move |iters| {
        let _keep = (&src, &mem);
        for _ in 0..iters {
            dst.registrar()
                .clone_buffers(CloneSrc::Fd(sfd), CloneFlags::NONE, 0, 0, 0)
                .expect("ours: clone_buffers");
            dst.registrar()
                .unregister_buffers()
                .expect("ours: unregister_buffers");
        }
    }))
}

pub fn ours_msg(per: u32) -> Work {
    let mut a = Ring::new(64).expect("ours: setup");
    let mut b = Ring::new(64).expect("ours: setup");
    let bfd = b.fd();
    let mut sink = 0u64;
    Box::new(move |iters| {
        for _ in 0..iters {
            let mut sq = a.sq_batch();
            for j in 0..per {
                sq.push(
                    op::msg_ring_data(
                        bfd,
                        op::MsgData {
                            res: 0,
                            user_data: j as u64,
                            flags: MsgRingFlags::NONE,
                        },
                    )
                    .user_data(j as u64),
                )
                .expect("ours: push");
            }
            drop(sq);
            a.submit_and_wait(per).expect("ours: submit_and_wait");
            a.for_each_cqe(|c| sink = sink.wrapping_add(c.user_data).wrapping_add(c.res as u64));
            let mut got = 0;
            while got < per {
                got += b.for_each_cqe(|c| sink = sink.wrapping_add(c.user_data));
                if got < per {
                    b.submit_and_wait(per - got).expect("ours: wait");
                }
            }
        }
        black_box(sink);
    })
}
