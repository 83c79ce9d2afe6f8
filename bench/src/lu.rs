//! liburing (C, csrc/lu_bench.c) workloads; every function is None when the build step
//! found no liburing-dev.
#![allow(unsafe_code)]

use crate::callgrind::IoKind;
use crate::{Cfg, Work};
use std::os::fd::RawFd;

#[cfg(has_liburing)]
mod ffi {
    #[repr(C)]
    pub struct Ring {
        _p: [u8; 0],
    }
    extern "C" {
        pub fn lu_ring_new(entries: u32, flags: u32, err: *mut i32) -> *mut Ring;
        pub fn lu_ring_free(r: *mut Ring);
        pub fn lu_nop(r: *mut Ring, batch: u32, iters: u64, sink: *mut u64) -> i32;
        pub fn lu_read(
            r: *mut Ring,
            fd: i32,
            fixed: i32,
            qd: u32,
            blocks: u64,
            buf: *mut u8,
            seed: *mut u64,
            iters: u64,
            sink: *mut u64,
        ) -> i32;
        pub fn lu_read_batch(
            r: *mut Ring,
            fd: i32,
            kind: i32,
            batch: u32,
            blocks: u64,
            buf: *mut u8,
            iters: u64,
            sink: *mut u64,
        ) -> i32;
        pub fn lu_register_buffers(r: *mut Ring, buf: *mut u8, nr: u32, len: u32) -> i32;
        pub fn lu_reg_unreg(r: *mut Ring, buf: *mut u8, nr: u32, len: u32, iters: u64) -> i32;
        pub fn lu_clone(src: *mut Ring, dst: *mut Ring, iters: u64) -> i32;
        pub fn lu_msg(a: *mut Ring, b: *mut Ring, per: u32, iters: u64, sink: *mut u64) -> i32;
    }
}

/// A liburing ring, freed on drop.
#[cfg(has_liburing)]
struct LuRing(*mut ffi::Ring);

#[cfg(has_liburing)]
impl LuRing {
    fn new(entries: u32, flags: u32) -> Option<LuRing> {
        let mut err = 0;
        // SAFETY: lu_ring_new writes `err` and returns NULL or a ring we own.
        let p = unsafe { ffi::lu_ring_new(entries, flags, &mut err) };
        if p.is_null() {
            eprintln!("liburing: io_uring_queue_init: {err}");
            return None;
        }
        Some(LuRing(p))
    }
}

#[cfg(has_liburing)]
impl Drop for LuRing {
    fn drop(&mut self) {
        // SAFETY: self.0 is a live ring, freed once.
        unsafe { ffi::lu_ring_free(self.0) }
    }
}

#[cfg(has_liburing)]
fn check(what: &str, r: i32) {
    assert!(r >= 0, "liburing {what}: {r}");
}

/// Page-aligned memory (O_DIRECT, registration), leaked for the process's lifetime.
#[cfg(has_liburing)]
fn pages(len: usize) -> *mut u8 {
    let m = uring::Mem::new(len).expect("mem");
    let p = m.addr() as *mut u8;
    std::mem::forget(m);
    p
}

pub fn nop(cfg: Cfg, batch: u32) -> Option<Work> {
    #[cfg(has_liburing)]
    {
        let r = LuRing::new(128, cfg.bits())?;
        let mut sink = 0u64;
        Some(Box::new(move |iters| {
            // Capture the whole LuRing (not just its pointer field) so it lives as long.
            let r = &r;
            // SAFETY: r is a live ring; sink is ours.
            check("nop", unsafe { ffi::lu_nop(r.0, batch, iters, &mut sink) });
            std::hint::black_box(sink);
        }))
    }
    #[cfg(not(has_liburing))]
    {
        let _ = (cfg, batch);
        None
    }
}

pub fn read(fd: RawFd, fixed: bool) -> Option<Work> {
    #[cfg(has_liburing)]
    {
        let r = LuRing::new(64, 0)?;
        let buf = pages(crate::QD as usize * 4096);
        if fixed {
            // SAFETY: buf holds QD x 4 KiB, never freed.
            check("register", unsafe {
                ffi::lu_register_buffers(r.0, buf, 1, crate::QD * 4096)
            });
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut sink = 0u64;
        Some(Box::new(move |iters| {
            let r = &r;
            // SAFETY: r live; buf holds QD x 4 KiB and outlives the ring's requests (each
            // call waits for all it issued).
            check("read", unsafe {
                ffi::lu_read(
                    r.0,
                    fd,
                    fixed as i32,
                    crate::QD,
                    crate::FILE_SIZE / 4096,
                    buf,
                    &mut seed,
                    iters,
                    &mut sink,
                )
            });
        }))
    }
    #[cfg(not(has_liburing))]
    {
        let _ = (fd, fixed);
        None
    }
}

/// The `--callgrind` read loop: `batch` requests of 4 KiB of `kind` (slots 0..batch of one
/// buffer, registered for READ_FIXED), submit and wait for all, reap; offsets walk `blocks`
/// in order.
pub fn read_batch(fd: RawFd, kind: IoKind, batch: u32, blocks: u64) -> Option<Work> {
    #[cfg(has_liburing)]
    {
        let r = LuRing::new(64, 0)?;
        let buf = pages(crate::QD as usize * 4096);
        if kind == IoKind::Fixed {
            // SAFETY: buf holds QD x 4 KiB, never freed.
            check("register", unsafe {
                ffi::lu_register_buffers(r.0, buf, 1, crate::QD * 4096)
            });
        }
        let kind = kind as i32;
        let mut sink = 0u64;
        Some(Box::new(move |iters| {
            let r = &r;
            // SAFETY: r live; buf holds QD >= batch slots of 4 KiB, never freed, and each
            // call reaps every request it issued.
            check("read", unsafe {
                ffi::lu_read_batch(r.0, fd, kind, batch, blocks, buf, iters, &mut sink)
            });
            std::hint::black_box(sink);
        }))
    }
    #[cfg(not(has_liburing))]
    {
        let _ = (fd, kind, batch, blocks);
        None
    }
}

pub fn reg() -> Option<Work> {
    #[cfg(has_liburing)]
    {
        let r = LuRing::new(8, 0)?;
        let buf = pages(crate::NBUF * 4096);
        Some(Box::new(move |iters| {
            let r = &r;
            // SAFETY: r live; buf holds NBUF x 4 KiB, never freed.
            check("register/unregister", unsafe {
                ffi::lu_reg_unreg(r.0, buf, crate::NBUF as u32, 4096, iters)
            });
        }))
    }
    #[cfg(not(has_liburing))]
    None
}

pub fn clone() -> Option<Work> {
    #[cfg(has_liburing)]
    {
        let src = LuRing::new(8, 0)?;
        let dst = LuRing::new(8, 0)?;
        let buf = pages(crate::NBUF * 4096);
        // SAFETY: src live; buf holds NBUF x 4 KiB, never freed.
        check("register", unsafe {
            ffi::lu_register_buffers(src.0, buf, crate::NBUF as u32, 4096)
        });
        // SAFETY: both rings live.
        if unsafe { ffi::lu_clone(src.0, dst.0, 1) } < 0 {
            return None;
        }
        Some(Box::new(move |iters| {
            let (src, dst) = (&src, &dst);
            // SAFETY: both rings live.
            check("clone", unsafe { ffi::lu_clone(src.0, dst.0, iters) });
        }))
    }
    #[cfg(not(has_liburing))]
    None
}

pub fn msg(per: u32) -> Option<Work> {
    #[cfg(has_liburing)]
    {
        let a = LuRing::new(64, 0)?;
        let b = LuRing::new(64, 0)?;
        let mut sink = 0u64;
        Some(Box::new(move |iters| {
            let (a, b) = (&a, &b);
            // SAFETY: both rings live.
            check("msg_ring", unsafe {
                ffi::lu_msg(a.0, b.0, per, iters, &mut sink)
            });
            std::hint::black_box(sink);
        }))
    }
    #[cfg(not(has_liburing))]
    {
        let _ = per;
        None
    }
}
