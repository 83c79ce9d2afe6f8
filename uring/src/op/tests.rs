//! The builders' fields against the uapi, and how an SQE reads.

use super::*;
use crate::abi::FILE_INDEX_ALLOC;
use crate::compat::{Abi, COMPAT_MSGHDR_SIZE, MSGHDR_SIZE};

#[test]
fn msg_ring_fields_follow_the_uapi_mapping() {
    let s = msg_ring_fd(7, 3, MsgFdSlot::Slot(4), 0xabc, MsgRingFlags::CQE_SKIP);
    let r = s.raw();
    assert_eq!(
        (r.opcode, r.fd, r.addr, r.addr3, r.file_index, r.off),
        (Opcode::MSG_RING, 7, 1, 3, 5, 0xabc)
    );
    assert_eq!(r.msg_ring_flags(), 1);
    let a = msg_ring_fd(7, 0, MsgFdSlot::Alloc, 0, MsgRingFlags::NONE);
    assert_eq!(a.raw().file_index, FILE_INDEX_ALLOC);
    let d = msg_ring_data(
        9,
        MsgData {
            res: 0x8000_0001,
            user_data: 42,
            flags: MsgRingFlags::NONE,
        },
    );
    assert_eq!(
        (d.raw().addr, d.raw().len, d.raw().off),
        (0, 0x8000_0001, 42)
    );
}

#[test]
fn display_names_the_opcode_and_the_fields_that_matter() {
    let r = read_select(3, 64, u64::MAX, 7).user_data(0x42).to_string();
    assert_eq!(
        r,
        "READ(fd=3, len=64, off=-1, buf_group=7, flags=BUFFER_SELECT, user_data=0x42)"
    );
    let m = msg_ring_fd(5, 2, MsgFdSlot::Alloc, 0xabc, MsgRingFlags::CQE_SKIP).to_string();
    assert_eq!(
        m,
        "MSG_RING(fd=5, cmd=SEND_FD, len=0, target_user_data=0xabc, src_slot=2, \
         msg_flags=CQE_SKIP, file_index=ALLOC, user_data=0x0)"
    );
    let x = read_fixed(
        4,
        Fixed {
            addr: 0x1000,
            len: 8,
            offset: 0,
            buf_index: 0,
        },
    )
    .to_string();
    assert_eq!(
        x,
        "READ_FIXED(fd=4, addr=0x1000, len=8, buf_index=0, user_data=0x0)"
    );
}

#[test]
fn buffer_select_sets_flag_and_group() {
    let s = recv_select(3, 0, 0, 9);
    assert!(s.raw().flags.contains(SqeFlags::BUFFER_SELECT));
    assert_eq!(s.raw().buf_group(), 9);
    assert_eq!(s.raw().addr, 0);
}

#[test]
fn fixed_vectored_builders_fill_the_uapi_fields() {
    let s = readv_fixed(
        Abi::Native,
        3,
        FixedVec {
            iovs: &[(0x1000, 10), (0x2000, 20)],
            offset: 8,
            buf_index: 2,
        },
    )
    .unwrap();
    let r = s.raw();
    assert_eq!(
        (r.opcode, r.fd, r.len, r.off, r.buf_index),
        (Opcode::READV_FIXED, 3, 2, 8, 2)
    );
    let arr = &s.anchors.as_slice()[0];
    assert_eq!(arr.addr(), r.addr);
    assert_eq!(arr.read(16, 8), 0x2000u64.to_ne_bytes());
    assert_eq!(arr.read(24, 8), 20u64.to_ne_bytes());
    assert_eq!(
        writev_fixed(
            Abi::Native,
            3,
            FixedVec {
                iovs: &[],
                offset: 0,
                buf_index: 0
            }
        )
        .unwrap()
        .raw()
        .opcode,
        Opcode::WRITEV_FIXED
    );
    let z = sendmsg_zc_fixed(
        Abi::Native,
        4,
        FixedMsg {
            iovs: &[(0x3000, 5)],
            msg_flags: 0,
            buf_index: 1,
        },
    )
    .unwrap();
    let hdr = &z.anchors.as_slice()[0];
    let iov = &z.anchors.as_slice()[1];
    assert_eq!(hdr.read(16, 8), iov.addr().to_ne_bytes());
    assert_eq!(hdr.read(24, 8), 1u64.to_ne_bytes());
    assert_eq!(iov.read(0, 8), 0x3000u64.to_ne_bytes());
    assert_eq!(z.raw().ioprio, RecvSendFlags::FIXED_BUF.0);
    assert_eq!(MSGHDR_SIZE, std::mem::size_of::<libc::msghdr>());
    assert_eq!(std::mem::offset_of!(libc::msghdr, msg_iov), 16);
    assert_eq!(std::mem::offset_of!(libc::msghdr, msg_iovlen), 24);
}

#[test]
fn display_names_nop_and_recvsend_flags() {
    let n = nop_with(
        NopFlags::FIXED_BUFFER | NopFlags::INJECT_RESULT,
        NopArgs {
            fd: 0,
            len: 7,
            buf_index: 0,
            extra: [0; 2],
        },
    )
    .to_string();
    assert_eq!(
        n,
        "NOP(fd=0, len=7, nop_flags=INJECT_RESULT|FIXED_BUFFER, buf_index=0, user_data=0x0)"
    );
    let s = send_fixed(
        5,
        FixedNet {
            addr: 0x1000,
            len: 4,
            msg_flags: 0,
            buf_index: 0,
        },
    )
    .to_string();
    assert_eq!(
        s,
        "SEND(fd=5, addr=0x1000, len=4, buf_index=0, ioprio=FIXED_BUF, user_data=0x0)"
    );
}

#[test]
fn send_select_is_a_send_with_a_buffer_group_and_no_address() {
    let s = send_select(3, 0, 0, 9).ioprio(crate::abi::RECVSEND_BUNDLE);
    let r = s.raw();
    assert_eq!(
        (r.opcode, r.addr, r.buf_group(), r.ioprio),
        (Opcode::SEND, 0, 9, 16)
    );
    assert!(r.flags.contains(SqeFlags::BUFFER_SELECT));
}

#[test]
fn readv_builds_an_iovec_array_and_anchors_it() {
    let m = Mem::new(8192).unwrap();
    let s = readv(Abi::Native, 0, &[m.slice(0, 10), m.slice(100, 20)], 0).unwrap();
    assert_eq!(s.raw().len, 2);
    assert_eq!(s.anchors.as_slice().len(), 3);
    let arr = &s.anchors.as_slice()[0];
    assert_eq!(arr.read(0, 8), m.addr().to_ne_bytes());
    assert_eq!(arr.read(24, 8), 20u64.to_ne_bytes());
}

#[test]
fn compat_builders_lay_out_compat_structures_below_4g() {
    let iovs = [(0x1000, 10), (0x2000, 20)];
    let v = FixedVec {
        iovs: &iovs,
        offset: 0,
        buf_index: 0,
    };
    let s = readv_fixed(Abi::Compat, 3, v).unwrap();
    let arr = &s.anchors.as_slice()[0];
    assert!(arr.addr() < 1 << 32);
    assert_eq!(
        arr.read(8, 8),
        [0x2000u32.to_ne_bytes(), 20u32.to_ne_bytes()].concat()
    );
    let z = sendmsg_zc_fixed(
        Abi::Compat,
        4,
        FixedMsg {
            iovs: &iovs,
            msg_flags: 0,
            buf_index: 1,
        },
    )
    .unwrap();
    let (hdr, iov) = (&z.anchors.as_slice()[0], &z.anchors.as_slice()[1]);
    assert!(hdr.addr() < 1 << 32 && iov.addr() < 1 << 32);
    assert_eq!(hdr.read(8, 4), (iov.addr() as u32).to_ne_bytes());
    assert_eq!(hdr.read(12, 4), 2u32.to_ne_bytes());
    assert_eq!(COMPAT_MSGHDR_SIZE, 28);
    let wide = FixedVec {
        iovs: &[(1 << 32, 1)],
        offset: 0,
        buf_index: 0,
    };
    assert!(matches!(
        readv_fixed(Abi::Compat, 3, wide),
        Err(crate::Error::Above32Bits { .. })
    ));
}

/// Every field of a msghdr lands where libc's `struct msghdr` has it (native) or at its
/// 32-bit slot (compat), and reads back the same.
#[test]
fn msghdr_of_lays_out_every_field() {
    use crate::compat::MsgHdr;
    let m = MsgHdr {
        name: 0x1000,
        namelen: -1,
        iov: 0x2000,
        iovlen: 3,
        control: 0x3000,
        controllen: 24,
        flags: 0x40,
    };
    let native = Abi::Native.msghdr_of(&m).unwrap();
    assert_eq!(native.len(), std::mem::size_of::<libc::msghdr>());
    assert_eq!(std::mem::offset_of!(libc::msghdr, msg_control), 32);
    assert_eq!(std::mem::offset_of!(libc::msghdr, msg_controllen), 40);
    assert_eq!(std::mem::offset_of!(libc::msghdr, msg_flags), 48);
    assert_eq!(native[8..12], (-1i32).to_ne_bytes());
    assert_eq!(native[40..48], 24u64.to_ne_bytes());
    assert_eq!(Abi::Native.msghdr_from(&native), m);
    let compat = Abi::Compat.msghdr_of(&m).unwrap();
    assert_eq!(compat.len(), COMPAT_MSGHDR_SIZE);
    assert_eq!(compat[20..24], 24u32.to_ne_bytes());
    assert_eq!(Abi::Compat.msghdr_from(&compat), m);
    let wide = MsgHdr {
        control: 1 << 32,
        ..m
    };
    assert!(matches!(
        Abi::Compat.msghdr_of(&wide),
        Err(crate::Error::Above32Bits { .. })
    ));
}
