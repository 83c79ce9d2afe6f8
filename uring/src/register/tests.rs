//! Register calls against this machine's kernel.

use super::*;
use crate::abi::{io_uring_buf_reg, Opcode};
use crate::mem::Mem;
use crate::{op, Errno};
use crate::{Error, Ring};
use std::io::Write;
use std::time::Duration;

#[test]
fn probe_sees_nop_and_read_fixed() {
    let r = Ring::new(4).unwrap();
    let p = r.registrar().probe().unwrap();
    assert!(p.supports(Opcode::NOP) && p.supports(Opcode::READ_FIXED));
    assert!(!p.supports(Opcode(255)));
}

#[test]
fn read_fixed_reads_a_file_byte_for_byte() {
    let mut f = tempfile::tempfile().unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
    f.write_all(&data).unwrap();
    let mut r = Ring::new(4).unwrap();
    let m = Mem::new(16384).unwrap();
    r.registrar()
        .register_buffers(&[Iov::Mem(m.slice(0, 16384))])
        .unwrap();
    use std::os::fd::AsRawFd;
    // Read 9000 bytes from file offset 1000 into the buffer at offset 123.
    r.push(
        op::read_fixed(
            f.as_raw_fd(),
            op::Fixed {
                addr: m.addr() + 123,
                len: 9000,
                offset: 1000,
                buf_index: 0,
            },
        )
        .user_data(5),
    )
    .unwrap();
    r.submit_and_wait_timeout(1, Duration::from_secs(5))
        .unwrap();
    let c = r.next_cqe().unwrap();
    assert_eq!((c.user_data, c.res), (5, 9000));
    assert_eq!(m.read(123, 9000), &data[1000..10_000]);
    r.registrar().unregister_buffers().unwrap();
    assert_eq!(r.registrar().unregister_buffers(), Err(Errno::ENXIO));
}

#[test]
fn unregister_with_a_real_address_is_the_crates_refusal() {
    let r = Ring::new(4).unwrap();
    let m = Mem::new(4096).unwrap();
    let reg = io_uring_buf_reg {
        ring_addr: m.addr(),
        bgid: 3,
        ..Default::default()
    };
    assert!(matches!(
        r.registrar().unregister_pbuf_ring_raw(reg),
        Err(Error::Usage(_))
    ));
    // The same without the address goes to the kernel: no such group.
    let reg = io_uring_buf_reg {
        ring_addr: 0,
        ..reg
    };
    assert_eq!(
        r.registrar().unregister_pbuf_ring_raw(reg),
        Err(Error::Kernel(Errno::ENOENT))
    );
}

#[test]
fn register_envelope_answers() {
    assert_eq!(
        register_fd_raw(999_999, RegisterOp::PROBE, &ArgPtr::NULL, 0),
        Err(Errno::EBADF)
    );
    let r = Ring::new(4).unwrap();
    assert_eq!(
        r.registrar()
            .register_raw(RegisterOp(200), &ArgPtr::NULL, 0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn register_call_reads_as_written() {
    let c = RegisterCall::new(FdArg::Num(-1), RegisterOp::BUFFERS, ArgPtr::NULL, 0);
    assert_eq!(c.to_string(), "io_uring_register(-1, BUFFERS, NULL, 0)");
    let v = RegisterCall::new(
        FdArg::Num(16),
        RegisterOp::UNREGISTER_BUFFERS.via_registered_ring(),
        ArgPtr::Foreign(ForeignAddr::LOW),
        1,
    );
    assert_eq!(
        v.to_string(),
        "io_uring_register(16, UNREGISTER_BUFFERS|USE_REGISTERED_RING, 0x1000, 1)"
    );
    let r = Ring::new(4).unwrap();
    let on_ring = RegisterCall::new(FdArg::Ring(&r), RegisterOp(200), ArgPtr::NULL, 0);
    assert_eq!(
        on_ring.to_string(),
        "io_uring_register(ring, RegisterOp(200), NULL, 0)"
    );
    assert_eq!(on_ring.invoke(), Err(Errno::EINVAL));
}
