//! The io-uring crate's side: the same workloads, written as its documentation does.
#![allow(unsafe_code)]

use crate::callgrind::IoKind;
use crate::{Cfg, Work};
use io_uring::{opcode, types, IoUring};
use std::os::fd::RawFd;

fn ring(entries: u32, cfg: Cfg) -> IoUring {
    let mut b = IoUring::builder();
    if cfg == Cfg::SingleDefer {
        b.setup_single_issuer().setup_defer_taskrun();
    }
    b.build(entries).expect("io-uring: setup")
}

pub fn nop(cfg: Cfg, batch: u32) -> Work {
    let mut r = ring(128, cfg);
    let mut sink = 0u64;
    Box::new(move |iters| {
        for _ in 0..iters {
            {
                let mut sq = r.submission();
                for j in 0..batch {
                    let e = opcode::Nop::new().build().user_data(j as u64);
                    // SAFETY: a NOP references no memory.
                    unsafe { sq.push(&e) }.expect("io-uring: push");
                }
            }
            r.submit_and_wait(batch as usize)
                .expect("io-uring: submit_and_wait");
            for c in r.completion() {
                sink = sink
                    .wrapping_add(c.user_data())
                    .wrapping_add(c.result() as u64);
            }
        }
        std::hint::black_box(sink);
    })
}

/// Page-aligned memory (O_DIRECT, registration), leaked for the process's lifetime.
fn pages(len: usize) -> *mut u8 {
    let m = uring::Mem::new(len).expect("mem");
    let p = m.addr() as *mut u8;
    std::mem::forget(m);
    p
}

pub fn read(fd: RawFd, fixed: bool) -> Work {
    let mut r = ring(64, Cfg::Default);
    let qd = crate::QD;
    let buf = pages(qd as usize * 4096);
    if fixed {
        let iov = [libc::iovec {
            iov_base: buf.cast(),
            iov_len: qd as usize * 4096,
        }];
        // SAFETY: buf is never freed.
        unsafe { r.submitter().register_buffers(&iov) }.expect("io-uring: register_buffers");
    }
    let blocks = crate::FILE_SIZE / 4096;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut free: Vec<u32> = Vec::with_capacity(qd as usize);
    Box::new(move |iters| {
        free.clear();
        free.extend(0..qd);
        let (mut issued, mut done) = (0u64, 0u64);
        while done < iters {
            {
                let mut sq = r.submission();
                while issued < iters {
                    let Some(s) = free.pop() else { break };
                    let off = (crate::xorshift(&mut seed) % blocks) * 4096;
                    // SAFETY: slot s of buf is ours until its completion.
                    let p = unsafe { buf.add(s as usize * 4096) };
                    let e = if fixed {
                        opcode::ReadFixed::new(types::Fd(fd), p, 4096, 0)
                            .offset(off)
                            .build()
                    } else {
                        opcode::Read::new(types::Fd(fd), p, 4096)
                            .offset(off)
                            .build()
                    };
                    // SAFETY: the buffer stays valid (never freed) until the completion.
                    unsafe { sq.push(&e.user_data(s as u64)) }.expect("io-uring: push");
                    issued += 1;
                }
            }
            r.submit_and_wait(1).expect("io-uring: submit_and_wait");
            for c in r.completion() {
                assert_eq!(c.result(), 4096, "io-uring: read");
                free.push(c.user_data() as u32);
                done += 1;
            }
        }
    })
}

/// The `--callgrind` read loop: `batch` requests of 4 KiB of `kind` (slots 0..batch of one
/// buffer, registered for READ_FIXED), submit and wait for all, reap; offsets walk `blocks`
/// in order. One loop per opcode, as on our side.
pub fn read_batch(fd: RawFd, kind: IoKind, batch: u32, blocks: u64) -> Work {
    match kind {
        IoKind::Read => read_batch_of::<{ IoKind::Read as u8 }>(fd, batch, blocks),
        IoKind::Fixed => read_batch_of::<{ IoKind::Fixed as u8 }>(fd, batch, blocks),
        IoKind::Readv => read_batch_of::<{ IoKind::Readv as u8 }>(fd, batch, blocks),
        IoKind::Write => read_batch_of::<{ IoKind::Write as u8 }>(fd, batch, blocks),
    }
}

/// One loop per request kind `K` (an [`IoKind`] as `u8`), as on the other sides.
fn read_batch_of<const K: u8>(fd: RawFd, batch: u32, blocks: u64) -> Work {
    let mut r = ring(64, Cfg::Default);
    let buf = pages(crate::QD as usize * 4096);
    if K == IoKind::Fixed as u8 {
        let iov = [libc::iovec {
            iov_base: buf.cast(),
            iov_len: crate::QD as usize * 4096,
        }];
        // SAFETY: buf is never freed.
        unsafe { r.submitter().register_buffers(&iov) }.expect("io-uring: register_buffers");
    }
    // The READV iovecs, one per slot, written for each request.
    let mut iov: Vec<libc::iovec> = vec![
        libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0
        };
        crate::QD as usize
    ];
    let mut next = 0u64;
    Box::new(move |iters| {
        // The loop's state in locals, as on our side (see there).
        let (blocks, mut n, mut sink) = (blocks, next, 0u64);
        for _ in 0..iters {
            {
                let mut sq = r.submission();
                for j in 0..batch {
                    let off = (n % blocks) * 4096;
                    n += 1;
                    // SAFETY: j < batch <= QD: slot j lies inside buf.
                    let p = unsafe { buf.add(j as usize * 4096) };
                    let e = if K == IoKind::Fixed as u8 {
                        opcode::ReadFixed::new(types::Fd(fd), p, 4096, 0)
                            .offset(off)
                            .build()
                    } else if K == IoKind::Readv as u8 {
                        let v = &mut iov[j as usize];
                        *v = libc::iovec {
                            iov_base: p.cast(),
                            iov_len: 4096,
                        };
                        opcode::Readv::new(types::Fd(fd), v, 1).offset(off).build()
                    } else if K == IoKind::Write as u8 {
                        opcode::Write::new(types::Fd(fd), p, 4096)
                            .offset(off)
                            .build()
                    } else {
                        opcode::Read::new(types::Fd(fd), p, 4096)
                            .offset(off)
                            .build()
                    };
                    // SAFETY: the buffer and the iovecs are never freed (nor moved: the
                    // Vec is not resized), and every request is reaped below.
                    unsafe { sq.push(&e.user_data(j as u64)) }.expect("io-uring: push");
                }
            }
            r.submit_and_wait(batch as usize)
                .expect("io-uring: submit_and_wait");
            for c in r.completion() {
                assert_eq!(c.result(), 4096, "io-uring: read");
                sink = sink.wrapping_add(c.user_data());
            }
        }
        next = n;
        std::hint::black_box(sink);
    })
}

fn iovecs(buf: *mut u8) -> Vec<libc::iovec> {
    (0..crate::NBUF)
        .map(|i| libc::iovec {
            // SAFETY: buf holds NBUF x 4 KiB, so each offset stays inside it.
            iov_base: unsafe { buf.add(i * 4096) }.cast(),
            iov_len: 4096,
        })
        .collect()
}

pub fn reg() -> Work {
    let r = ring(8, Cfg::Default);
    let iov = iovecs(pages(crate::NBUF * 4096));
    Box::new(move |iters| {
        for _ in 0..iters {
            // SAFETY: the buffers are never freed.
            unsafe { r.submitter().register_buffers(&iov) }.expect("io-uring: register");
            r.submitter()
                .unregister_buffers()
                .expect("io-uring: unregister");
        }
    })
}

pub fn clone() -> Option<Work> {
    let src = ring(8, Cfg::Default);
    let dst = ring(8, Cfg::Default);
    let iov = iovecs(pages(crate::NBUF * 4096));
    // SAFETY: the buffers are never freed.
    unsafe { src.submitter().register_buffers(&iov) }.expect("io-uring: register");
    let sfd = src.as_raw_fd_();
    dst.submitter().register_buffers_clone(sfd).ok()?;
    dst.submitter().unregister_buffers().ok()?;
    Some(Box::new(move |iters| {
        let _keep = &src;
        for _ in 0..iters {
            dst.submitter()
                .register_buffers_clone(sfd)
                .expect("io-uring: clone");
            dst.submitter()
                .unregister_buffers()
                .expect("io-uring: unregister");
        }
    }))
}

trait RawFdOf {
    fn as_raw_fd_(&self) -> RawFd;
}
impl RawFdOf for IoUring {
    fn as_raw_fd_(&self) -> RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self)
    }
}

pub fn msg(per: u32) -> Work {
    let mut a = ring(64, Cfg::Default);
    let mut b = ring(64, Cfg::Default);
    let bfd = b.as_raw_fd_();
    let mut sink = 0u64;
    Box::new(move |iters| {
        for _ in 0..iters {
            {
                let mut sq = a.submission();
                for j in 0..per {
                    let e = opcode::MsgRingData::new(types::Fd(bfd), 0, j as u64, None)
                        .build()
                        .user_data(j as u64);
                    // SAFETY: MSG_RING data references no memory.
                    unsafe { sq.push(&e) }.expect("io-uring: push");
                }
            }
            a.submit_and_wait(per as usize)
                .expect("io-uring: submit_and_wait");
            for c in a.completion() {
                sink = sink
                    .wrapping_add(c.user_data())
                    .wrapping_add(c.result() as u64);
            }
            let mut got = 0;
            while got < per {
                for c in b.completion() {
                    sink = sink.wrapping_add(c.user_data());
                    got += 1;
                }
                if got < per {
                    b.submit_and_wait((per - got) as usize)
                        .expect("io-uring: wait");
                }
            }
        }
        std::hint::black_box(sink);
    })
}
