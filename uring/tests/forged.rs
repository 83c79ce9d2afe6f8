//! A CQE forged with a counted request's user_data (MSG_RING data from another ring) brings
//! the ring's in-flight count to zero while the request still runs; teardown must not free
//! the request's memory on that count's word, only once the kernel confirms that no request
//! is left. Its own test binary: the leak census is per process.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;
use uring::abi::{MsgRingFlags, SetupFlags, SqeFlags};
use uring::op::{self, MsgData};
use uring::{Mem, Ring};

const WAIT: Duration = Duration::from_secs(5);
const READ: u64 = 7;

/// Whether the crate still has the region at `addr` mapped.
fn mapped(addr: u64) -> bool {
    uring::census::live_mappings()
        .iter()
        .any(|m| m.addr as u64 <= addr && addr < (m.addr + m.len) as u64)
}

/// A ring (set up with `flags`) with a counted read of 16 bytes (user_data [`READ`]) parked on the empty pipe
/// `rd`, and the read's region; `first` is pushed before the read (a NOP that disables
/// drain, or nothing). Then another ring posts a CQE with the read's user_data into it,
/// which the ring reaps: the count says nothing is in flight.
fn forged(flags: SetupFlags, rd: i32, first: Option<op::Sqe>) -> (Ring, std::sync::Arc<Mem>) {
    let mut r = Ring::builder(8).flags(flags).build().unwrap();
    let mem = Mem::new(4096).unwrap();
    if let Some(sqe) = first {
        r.push(sqe).unwrap();
    }
    r.push(op::read(rd, mem.slice(0, 16), 16, 0).user_data(READ))
        .unwrap();
    r.submit().unwrap();
    assert_eq!(r.in_flight_with_memory(), 1);

    let mut other = Ring::new(4).unwrap();
    let msg = MsgData {
        res: 16,
        user_data: READ,
        flags: MsgRingFlags::NONE,
    };
    other
        .push(op::msg_ring_data(r.fd(), msg).user_data(1))
        .unwrap();
    other.submit_and_wait_timeout(1, WAIT).unwrap();
    assert_eq!(other.next_cqe().map(|c| c.res), Some(0), "MSG_RING sent");
    r.submit_and_wait_timeout(1, WAIT).unwrap();
    let c = r.next_cqe().unwrap();
    assert_eq!((c.user_data, c.res), (READ, 16), "the forged CQE");
    assert_eq!(r.in_flight_with_memory(), 0, "the count believes it");
    (r, mem)
}

/// The premise: after the forged CQE the kernel still writes into the region.
#[test]
fn the_read_outlives_its_forged_cqe() {
    let (rd, mut wr) = std::io::pipe().unwrap();
    let (mut r, mem) = forged(SetupFlags::NONE, rd.as_raw_fd(), None);
    wr.write_all(b"late").unwrap();
    r.submit_and_wait_timeout(1, WAIT).unwrap();
    let c = r.next_cqe().unwrap();
    assert_eq!((c.user_data, c.res), (READ, 4), "the real CQE");
    assert_eq!(mem.read(0, 4), b"late");
}

/// Teardown after a forged CQE: with drain working, the read is cancelled and confirmed
/// gone before the region is freed; with drain disabled (an `IOSQE_CQE_SKIP_SUCCESS`
/// request), nothing can be confirmed and the region stays mapped (leaked), though the
/// count says nothing is in flight.
#[test]
fn teardown_after_a_forged_cqe_frees_only_once_confirmed() {
    let leaked0 = uring::census::leaked_regions();
    for flags in [
        SetupFlags::NONE,
        SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
    ] {
        let (rd, _wr) = std::io::pipe().unwrap();
        let (r, mem) = forged(flags, rd.as_raw_fd(), None);
        let addr = mem.addr();
        drop(mem);
        assert!(mapped(addr), "{flags:?}: the ring keeps it");
        drop(r);
        assert!(!mapped(addr), "{flags:?}: freed once confirmed");
    }
    assert_eq!(uring::census::leaked_regions(), leaked0);

    let (rd, _wr) = std::io::pipe().unwrap();
    let skip = op::nop().flags(SqeFlags::CQE_SKIP_SUCCESS);
    let (r, mem) = forged(SetupFlags::NONE, rd.as_raw_fd(), Some(skip));
    let addr = mem.addr();
    drop(mem);
    drop(r);
    assert!(mapped(addr), "not confirmed: kept mapped");
    assert_eq!(uring::census::leaked_regions(), leaked0 + 1);
}
