//! Provided-buffer rings end to end: both memories, selection, incremental consumption.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;
use uring::abi::{CqeFlags, PbufFlags};
use uring::{op, BufRingMemory, Mem, Ring};

fn read_one(r: &mut Ring, fd: i32, len: u32, bgid: u16) -> uring::Cqe {
    r.push(op::read_select(fd, len, 0, bgid).user_data(1))
        .unwrap();
    r.submit_and_wait_timeout(1, Duration::from_secs(5))
        .unwrap();
    r.next_cqe().unwrap()
}

#[test]
fn selection_from_app_and_kernel_rings() {
    for memory in [BufRingMemory::App, BufRingMemory::KernelMmap] {
        let mut r = Ring::new(4).unwrap();
        let bufs = Mem::new(2 * 4096).unwrap();
        let br = r.setup_buf_ring(3, 4, memory, PbufFlags::NONE).unwrap();
        br.add(&bufs.slice(0, 100), 10, 0);
        br.add(&bufs.slice(4096, 100), 11, 1);
        br.advance(2);
        let (rd, mut wr) = std::io::pipe().unwrap();
        wr.write_all(b"first").unwrap();
        let c = read_one(&mut r, rd.as_raw_fd(), 0, 3);
        assert_eq!((c.res, c.flags.buffer_id()), (5, Some(10)), "{memory:?}");
        assert_eq!(bufs.read(0, 5), b"first");
        wr.write_all(b"second").unwrap();
        let c = read_one(&mut r, rd.as_raw_fd(), 0, 3);
        assert_eq!((c.res, c.flags.buffer_id()), (6, Some(11)), "{memory:?}");
        assert_eq!(bufs.read(4096, 6), b"second");
        let c = read_one(&mut r, rd.as_raw_fd(), 0, 3);
        assert_eq!(c.res, -libc::ENOBUFS, "empty ring");
        assert_eq!(
            r.registrar().pbuf_status(3),
            Ok(2),
            "kernel head after two buffers"
        );
        r.free_buf_ring(3).unwrap();
    }
}

#[test]
fn incremental_consumption_writes_back_and_sets_buf_more() {
    let mut r = Ring::new(4).unwrap();
    let bufs = Mem::new(4096).unwrap();
    let br = match r.setup_buf_ring(5, 2, BufRingMemory::App, PbufFlags::INC) {
        Ok(b) => b,
        Err(uring::Errno::EINVAL) => return, // kernel without IOU_PBUF_RING_INC
        Err(e) => panic!("{e}"),
    };
    br.add(&bufs.slice(0, 256), 4, 0);
    br.advance(1);
    let (rd, mut wr) = std::io::pipe().unwrap();
    wr.write_all(&[7u8; 32]).unwrap();
    let c = read_one(&mut r, rd.as_raw_fd(), 32, 5);
    assert_eq!(c.res, 32);
    assert_eq!(c.flags.buffer_id(), Some(4));
    assert!(c.flags.contains(CqeFlags::BUF_MORE), "flags {:?}", c.flags);
    let e = r.buf_ring(5).unwrap().entry(0);
    assert_eq!(
        (e.addr, e.len),
        (bufs.addr() + 32, 224),
        "kernel write-back of the entry"
    );
}
