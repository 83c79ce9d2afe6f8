//! The ring's own tests: round trips, batches, overflow, timed waits, setup variants.

use super::lifetime::U64Hasher;
use super::*;
use crate::abi::{CqeFlags, FeatureFlags, SetupFlags, SqRingFlags};
use crate::{op, Error};
use std::hash::Hasher;
use std::time::{Duration, Instant};

fn ring() -> Ring {
    Ring::new(8).expect("io_uring_setup")
}

#[test]
fn nop_round_trip() {
    let mut r = ring();
    r.push(op::nop().user_data(0xdead_beef)).unwrap();
    assert_eq!(
        r.submit_and_wait_timeout(1, Duration::from_secs(5))
            .unwrap(),
        1
    );
    let c = r.next_cqe().unwrap();
    assert_eq!(
        (c.user_data, c.res, c.flags),
        (0xdead_beef, 0, CqeFlags::NONE)
    );
    assert!(r.next_cqe().is_none());
}

#[test]
fn batch_of_128() {
    let mut r = Ring::new(128).unwrap();
    for i in 0..128 {
        r.push(op::nop().user_data(i)).unwrap();
    }
    assert_eq!(r.push(op::nop()), Err(PushError::Full));
    assert_eq!(
        r.submit_and_wait_timeout(128, Duration::from_secs(5))
            .unwrap(),
        128
    );
    let mut seen: Vec<u64> = r.drain().iter().map(|c| c.user_data).collect();
    seen.sort();
    assert_eq!(seen, (0..128).collect::<Vec<_>>());
    assert_eq!(r.sq_space(), 128);
}

#[test]
fn sq_batch_pushes_until_full_and_hands_the_tail_back() {
    let mut r = ring();
    {
        let mut sq = r.sq_batch();
        for i in 0..8 {
            sq.push(op::nop().user_data(100 + i)).unwrap();
        }
        assert_eq!(sq.space(), 0);
        assert_eq!(sq.push(op::nop()), Err(PushError::Full));
    }
    // The batch's tail is the ring's now: a plain push sees the queue full too.
    assert_eq!(r.push(op::nop()), Err(PushError::Full));
    assert_eq!(
        r.submit_and_wait_timeout(8, Duration::from_secs(5))
            .unwrap(),
        8
    );
    let mut seen: Vec<u64> = r.drain().iter().map(|c| c.user_data).collect();
    seen.sort();
    assert_eq!(seen, (100..108).collect::<Vec<_>>());
    // The next batch starts where the last one ended.
    r.sq_batch().push(op::nop().user_data(9)).unwrap();
    r.submit_and_wait_timeout(1, Duration::from_secs(5))
        .unwrap();
    assert_eq!(r.next_cqe().map(|c| c.user_data), Some(9));
}

/// A request with memory pushed through a batch is tracked as one pushed on the ring:
/// in flight until its CQE is reaped, its data where the kernel put it.
#[test]
fn sq_batch_tracks_requests_with_memory() {
    use std::io::Write;
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(b"batched read").unwrap();
    let mem = Mem::new(4096).unwrap();
    let mut r = ring();
    {
        let mut sq = r.sq_batch();
        sq.push(op::nop().user_data(1)).unwrap();
        sq.push(op::read(f.as_raw_fd(), mem.slice(0, 12), 12, 0).user_data(2))
            .unwrap();
        // The same region again: found by the last-anchor shortcut, counted again.
        sq.push(op::read(f.as_raw_fd(), mem.slice(16, 12), 12, 0).user_data(2))
            .unwrap();
    }
    assert_eq!(r.in_flight_with_memory(), 2);
    r.submit_and_wait_timeout(3, Duration::from_secs(5))
        .unwrap();
    let mut got: Vec<(u64, i32)> = r.drain().iter().map(|c| (c.user_data, c.res)).collect();
    got.sort();
    assert_eq!(got, vec![(1, 0), (2, 12), (2, 12)]);
    assert_eq!(r.in_flight_with_memory(), 0);
    assert_eq!(mem.read(0, 12), b"batched read");
    assert_eq!(mem.read(16, 12), b"batched read");
}

/// The pending count by user_data: small values in the direct table, large ones in the
/// map, repeated values counted each time, a CQE for a value with nothing in flight
/// ignored, and teardown's list of what to cancel covering both.
#[test]
fn pending_counts_small_and_large_user_data() {
    let mut p = super::lifetime::Pending::default();
    assert!(p.is_empty());
    for ud in [3, 3, 5000, u64::MAX - 1, 4095, 4096] {
        p.add(ud);
    }
    let mut all: Vec<(u64, u32)> = p.iter().collect();
    all.sort();
    assert_eq!(
        all,
        vec![(3, 2), (4095, 1), (4096, 1), (5000, 1), (u64::MAX - 1, 1)]
    );
    p.done(7); // nothing in flight with 7: no change
    p.done(1 << 40);
    assert_eq!(p.total, 6);
    for ud in [3, 5000, 4095, 4096, 3, u64::MAX - 1] {
        p.done(ud);
    }
    assert!(p.is_empty());
    assert_eq!(p.iter().count(), 0);
    p.done(3); // one CQE too many (a plain request sharing the value): still zero
    assert!(p.is_empty());
}

/// Page-aligned addresses (twelve zero low bits) and small user_data values land in
/// different buckets: the low bits of the hash, which pick the bucket, differ.
#[test]
fn u64_hasher_spreads_aligned_keys() {
    let h = |k: u64| {
        let mut s = U64Hasher::default();
        s.write_u64(k);
        s.finish()
    };
    let low: std::collections::BTreeSet<u64> = (0..256u64)
        .map(|i| h(0x7f00_0000_0000 + (i << 12)) & 0xff)
        .collect();
    assert!(low.len() > 128, "{} distinct low bytes of 256", low.len());
    let low: std::collections::BTreeSet<u64> = (0..256u64).map(|i| h(i) & 0xff).collect();
    assert!(low.len() > 128, "{} distinct low bytes of 256", low.len());
}

#[test]
fn cq_overflow_and_recovery() {
    // 4 SQ entries, 8 CQ entries: 12 NOPs overflow the CQ; with NODROP nothing is lost.
    let mut r = Ring::builder(4).cq_entries(8).build().unwrap();
    assert_eq!(r.cq_entries(), 8);
    for round in 0..3u64 {
        for i in 0..4 {
            r.push(op::nop().user_data(round * 4 + i)).unwrap();
        }
        r.submit().unwrap();
    }
    assert_eq!(r.cq_ready(), 8);
    let nodrop = r.features().contains(FeatureFlags::NODROP);
    if nodrop {
        assert!(
            r.sq_flags().contains(SqRingFlags::CQ_OVERFLOW),
            "flags {:?}",
            r.sq_flags()
        );
    }
    let mut seen: Vec<u64> = r.drain().iter().map(|c| c.user_data).collect();
    r.flush_overflow().unwrap();
    seen.extend(r.drain().iter().map(|c| c.user_data));
    if nodrop {
        seen.sort();
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
        assert!(!r.sq_flags().contains(SqRingFlags::CQ_OVERFLOW));
        assert_eq!(r.cq_overflow_dropped(), 0);
    } else {
        assert_eq!(r.cq_overflow_dropped(), 4);
    }
}

#[test]
fn wait_times_out_and_the_ring_still_works() {
    let mut r = ring();
    let t = Instant::now();
    assert_eq!(
        r.wait_timeout(1, Duration::from_millis(50)),
        Err(WaitError::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(45));
    r.push(op::nop().user_data(1)).unwrap();
    r.submit_and_wait_timeout(1, Duration::from_secs(5))
        .unwrap();
    assert_eq!(r.next_cqe().unwrap().user_data, 1);
}

#[test]
fn setup_flag_variants() {
    let variants = [
        SetupFlags::SINGLE_ISSUER,
        SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN,
        SetupFlags::COOP_TASKRUN,
        SetupFlags::NO_SQARRAY,
        SetupFlags::CQE32,
        SetupFlags::SQE128,
    ];
    for f in variants {
        let mut r = match Ring::builder(4).flags(f).build() {
            Ok(r) => r,
            Err(Error::Kernel(Errno::EINVAL)) => continue, // flag unknown to this kernel
            Err(e) => panic!("{f:?}: {e}"),
        };
        r.push(op::nop().user_data(7)).unwrap();
        r.submit_and_wait_timeout(1, Duration::from_secs(5))
            .unwrap();
        let c = r.next_cqe().unwrap();
        assert_eq!((c.user_data, c.res), (7, 0), "{f:?}");
    }
}

/// NO_MMAP is refused by the crate, not answered with an errno the kernel never gave.
/// (Whether a ring fd was opened cannot be counted here: other tests open fds in
/// parallel; the refusal comes before io_uring_setup in `build`.)
#[test]
fn no_mmap_is_the_crates_refusal() {
    let r = Ring::builder(4).flags(SetupFlags::NO_MMAP).build();
    assert!(
        matches!(r, Err(Error::Unsupported(_))),
        "{:?}",
        r.as_ref().err()
    );
    assert_eq!(r.err().and_then(Error::kernel), None);
}

#[test]
fn disabled_ring_rejects_submission_until_enabled() {
    let mut r = Ring::builder(4)
        .flags(SetupFlags::R_DISABLED)
        .build()
        .unwrap();
    r.push(op::nop().user_data(3)).unwrap();
    assert_eq!(r.submit(), Err(Errno::EBADFD));
    r.enable().unwrap();
    r.submit_and_wait_timeout(1, Duration::from_secs(5))
        .unwrap();
    assert_eq!(r.next_cqe().unwrap().user_data, 3);
}
