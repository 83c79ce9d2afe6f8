//! Memory held by a ring ([`Ring::hold`]): reads into it are not counted in flight, a
//! slice is refused by any ring but the one holding it, and teardown frees held memory
//! only once it has confirmed that no request is left (else it leaks it). Its own test
//! binary: the leak census is per process.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;
use uring::abi::{PbufFlags, SetupFlags, SqeFlags};
use uring::{op, BufRingMemory, Mem, PushError, Ring};

const WAIT: Duration = Duration::from_secs(5);

/// Whether the crate still has the region at `addr` mapped.
fn mapped(addr: u64) -> bool {
    uring::census::live_mappings()
        .iter()
        .any(|m| m.addr as u64 <= addr && addr < (m.addr + m.len) as u64)
}

#[test]
fn held_reads_land_and_are_not_counted() {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(b"held read").unwrap();
    let mut r = Ring::new(8).unwrap();
    let held = r.hold(&Mem::new(8192).unwrap());
    {
        let mut sq = r.sq_batch();
        for (i, off) in [0usize, 4096].into_iter().enumerate() {
            let sqe = op::read(f.as_raw_fd(), held.slice(off, 9), 9, 0);
            sq.push(sqe.user_data(i as u64)).unwrap();
        }
    }
    r.push(op::write(f.as_raw_fd(), held.slice(0, 4), 4, 100).user_data(9))
        .unwrap();
    assert_eq!(
        r.in_flight_with_memory(),
        0,
        "held requests are not counted"
    );
    r.submit_and_wait_timeout(3, WAIT).unwrap();
    let mut got: Vec<(u64, i32)> = r.drain().iter().map(|c| (c.user_data, c.res)).collect();
    got.sort();
    assert_eq!(got, vec![(0, 9), (1, 9), (9, 4)]);
    assert_eq!(held.mem().read(0, 9), b"held read");
    assert_eq!(held.mem().read(4096, 9), b"held read");
}

/// On a ring holding memory, a read selecting a provided buffer is not counted either, and
/// one parked at teardown is cancelled before the buffer ring's memory goes.
#[test]
fn buffer_select_on_a_holding_ring_is_not_counted() {
    let (rd, mut wr) = std::io::pipe().unwrap();
    let mut r = Ring::new(8).unwrap();
    let _held = r.hold(&Mem::new(4096).unwrap());
    r.setup_buf_ring(1, 8, BufRingMemory::App, PbufFlags::NONE)
        .unwrap();
    let buf = Mem::new(8192).unwrap();
    let br = r.buf_ring(1).unwrap();
    br.add(&buf.slice(0, 4096), 7, 0);
    br.add(&buf.slice(4096, 4096), 8, 1);
    br.advance(2);
    wr.write_all(b"hi").unwrap();
    r.sq_batch()
        .push(op::read_select(rd.as_raw_fd(), 0, 0, 1).user_data(1))
        .unwrap();
    assert_eq!(r.in_flight_with_memory(), 0);
    r.submit_and_wait_timeout(1, WAIT).unwrap();
    let c = r.next_cqe().unwrap();
    assert_eq!((c.res, c.flags.buffer_id()), (2, Some(7)));
    assert_eq!(buf.read(0, 2), b"hi");
    // Parked on the empty pipe until teardown cancels it.
    r.push(op::read_select(rd.as_raw_fd(), 0, 0, 1).user_data(2))
        .unwrap();
    r.submit().unwrap();
}

/// READV/WRITEV through a held iovec array: data lands, nothing is counted, and entries
/// rewritten for the next request leave the ring's other memory alone.
#[test]
fn held_vectored_reads_and_writes_land() {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(b"0123456789").unwrap();
    let mut r = Ring::new(8).unwrap();
    let held = r.hold(&Mem::new(8192).unwrap());
    let mut iovs = r.hold_iovecs(&held).unwrap();
    let iov = iovs.set(0, &[(0, 4), (4096, 6)]);
    assert_eq!(iov.nr(), 2);
    r.push(op::readv_held(f.as_raw_fd(), iov, 0).user_data(1))
        .unwrap();
    assert_eq!(r.in_flight_with_memory(), 0);
    r.submit_and_wait_timeout(1, WAIT).unwrap();
    assert_eq!(r.next_cqe().map(|c| c.res), Some(10));
    assert_eq!(held.mem().read(0, 4), b"0123");
    assert_eq!(held.mem().read(4096, 6), b"456789");
    held.mem().write(100, b"vec");
    let iov = iovs.set(2, &[(100, 3)]);
    r.push(op::writev_held(f.as_raw_fd(), iov, 10).user_data(2))
        .unwrap();
    r.submit_and_wait_timeout(1, WAIT).unwrap();
    assert_eq!(r.next_cqe().map(|c| c.res), Some(3));
    let mut back = [0u8; 3];
    std::os::unix::fs::FileExt::read_at(&f, &mut back, 10).unwrap();
    assert_eq!(&back, b"vec");
}

/// An iovec array is made only for a region of its own ring, another ring takes no range
/// of it, and a range outside the region is refused with nothing written.
#[test]
fn held_iovecs_refuse_other_rings_and_ranges_outside() {
    let mut a = Ring::new(4).unwrap();
    let mut b = Ring::new(4).unwrap();
    let of_a = a.hold(&Mem::new(4096).unwrap());
    assert!(matches!(b.hold_iovecs(&of_a), Err(uring::Error::Usage(_))));
    let mut iovs = a.hold_iovecs(&of_a).unwrap();
    let iov = iovs.set(0, &[(0, 8)]);
    assert_eq!(b.push(op::readv_held(-1, iov, 0)), Err(PushError::NotHeld));
    assert_eq!(a.push(op::readv_held(-1, iov, 0)), Ok(()));
    let outside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        iovs.set(1, &[(0, 8), (4090, 8)]);
    }));
    assert!(outside.is_err(), "a range past the region's end");
}

#[test]
fn another_rings_slice_is_refused_and_nothing_is_written() {
    let mut a = Ring::new(4).unwrap();
    let mut b = Ring::new(4).unwrap();
    let held = a.hold(&Mem::new(4096).unwrap());
    let sqe = op::read(-1, held.slice(0, 16), 16, 0);
    let space = b.sq_space();
    assert_eq!(b.push(sqe.clone()), Err(PushError::NotHeld));
    assert_eq!(b.sq_batch().push(sqe.clone()), Err(PushError::NotHeld));
    // With other memory beside it (an attribute buffer): still refused.
    let attr = Mem::new(4096).unwrap().slice(0, 64);
    assert_eq!(
        b.push(sqe.clone().rw_attr(attr, 0)),
        Err(PushError::NotHeld)
    );
    assert_eq!(b.sq_space(), space, "no slot taken");
    // The holding ring gone, its slices match no ring (ids are never reused).
    drop(a);
    let mut c = Ring::new(4).unwrap();
    assert_eq!(c.push(sqe), Err(PushError::NotHeld));
    assert_eq!(b.submit(), Ok(0));
}

/// A held read parked on an empty pipe is cancelled at teardown and its region freed
/// (the drained NOP confirmed that nothing is left); when the ring cannot confirm it
/// (drain disabled by an `IOSQE_CQE_SKIP_SUCCESS` request), the region is leaked instead.
#[test]
fn teardown_frees_held_memory_only_once_confirmed() {
    let leaked0 = uring::census::leaked_regions();
    for flags in [
        SetupFlags::NONE,
        SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
    ] {
        let (rd, _wr) = std::io::pipe().unwrap();
        let mut r = Ring::builder(8).flags(flags).build().unwrap();
        let held = r.hold(&Mem::new(4096).unwrap());
        let addr = held.mem().addr();
        r.push(op::read(rd.as_raw_fd(), held.slice(0, 16), 16, 0).user_data(1))
            .unwrap();
        r.submit().unwrap();
        drop(held);
        assert!(mapped(addr));
        drop(r);
        assert!(!mapped(addr), "{flags:?}: freed once confirmed");
    }
    assert_eq!(uring::census::leaked_regions(), leaked0);

    let (rd, _wr) = std::io::pipe().unwrap();
    let mut r = Ring::new(8).unwrap();
    let held = r.hold(&Mem::new(4096).unwrap());
    let addr = held.mem().addr();
    r.push(op::nop().flags(SqeFlags::CQE_SKIP_SUCCESS)).unwrap();
    r.push(op::read(rd.as_raw_fd(), held.slice(0, 16), 16, 0).user_data(1))
        .unwrap();
    r.submit().unwrap();
    drop(held);
    drop(r);
    assert!(mapped(addr), "not confirmed: kept mapped");
    assert_eq!(uring::census::leaked_regions(), leaked0 + 1);
}
