//! Dropping rings leaves nothing behind: no fd, no mapping. Its own test binary (one
//! process, one test), so no concurrently running test changes the counts.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;
use uring::abi::{PbufFlags, SetupFlags};
use uring::register::Iov;
use uring::{op, BufRingMemory, Mem, Ring};

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// Exercises every kind of resource a ring can hold, then drops it all.
fn busy_ring(flags: SetupFlags) {
    let mut r = Ring::builder(8).flags(flags).build().unwrap();
    let m = Mem::new(8192).unwrap();
    r.registrar()
        .register_buffers(&[Iov::Mem(m.slice(0, 8192))])
        .unwrap();
    let (rd, mut wr) = std::io::pipe().unwrap();
    r.registrar().register_files(&[rd.as_raw_fd(), -1]).unwrap();
    r.setup_buf_ring(1, 8, BufRingMemory::App, PbufFlags::NONE)
        .unwrap();
    r.setup_buf_ring(2, 8, BufRingMemory::KernelMmap, PbufFlags::NONE)
        .unwrap();
    let buf = Mem::new(4096).unwrap();
    let br = r.buf_ring(2).unwrap();
    br.add(&buf.slice(0, 4096), 7, 0);
    br.advance(1);
    // One request completes, one stays pending on an empty pipe until teardown cancels it.
    wr.write_all(b"hi").unwrap();
    r.push(op::read_select(rd.as_raw_fd(), 0, 0, 2).user_data(1))
        .unwrap();
    r.submit_and_wait_timeout(1, Duration::from_secs(5))
        .unwrap();
    let c = r.next_cqe().unwrap();
    assert_eq!((c.res, c.flags.buffer_id()), (2, Some(7)));
    assert_eq!(buf.read(0, 2), b"hi");
    let pending = Mem::new(4096).unwrap();
    r.push(op::read(rd.as_raw_fd(), pending.slice(0, 16), 16, 0).user_data(2))
        .unwrap();
    // A select-read names no memory but will write into a buffer of group 2: it must
    // count as in flight, so teardown cancels it before the buffer ring's memory goes.
    let br = r.buf_ring(2).unwrap();
    br.add(&buf.slice(0, 4096), 8, 0);
    br.advance(1);
    r.push(op::read_select(rd.as_raw_fd(), 0, 0, 2).user_data(3))
        .unwrap();
    r.submit().unwrap();
    assert_eq!(r.in_flight_with_memory(), 2);
}

#[test]
fn dropping_rings_leaves_no_fd_and_no_mapping() {
    // Warm up: the first ring may allocate per-process state (thread-local buffers, ...).
    busy_ring(SetupFlags::NONE);
    let (fd0, map0) = (fds(), mappings());
    for flags in [
        SetupFlags::NONE,
        SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
        SetupFlags::NO_SQARRAY,
    ] {
        for _ in 0..3 {
            busy_ring(flags);
        }
    }
    assert_eq!(fds(), fd0, "open fds after dropping rings");
    assert_eq!(mappings(), map0, "mappings after dropping rings");
    assert_eq!(
        uring::census::live_mappings(),
        vec![],
        "ring-crate mappings still live"
    );
    assert_eq!(uring::census::leaked_regions(), 0, "regions leaked");
}
