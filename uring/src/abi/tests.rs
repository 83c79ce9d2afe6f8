//! Every struct's size, alignment and field offsets against the uapi; the newtypes' Debug.

use super::*;
use std::mem::{align_of, offset_of, size_of};

/// Asserts size, alignment and every (field, offset) of a struct against the uapi.
macro_rules! layout {
    ($t:ty, size $s:expr, align $a:expr, { $($f:ident : $o:expr),* $(,)? }) => {{
        assert_eq!(size_of::<$t>(), $s, "size of {}", stringify!($t));
        assert_eq!(align_of::<$t>(), $a, "align of {}", stringify!($t));
        $(assert_eq!(offset_of!($t, $f), $o, "{}.{}", stringify!($t), stringify!($f));)*
    }};
}

#[test]
fn sqe_layout() {
    layout!(io_uring_sqe, size 64, align 8, {
        opcode: 0, flags: 1, ioprio: 2, fd: 4, off: 8, addr: 16, len: 24, op_flags: 28,
        user_data: 32, buf_index: 40, personality: 42, file_index: 44, addr3: 48, pad2: 56,
    });
}

#[test]
fn cqe_and_params_layout() {
    layout!(io_uring_cqe, size 16, align 8, { user_data: 0, res: 8, flags: 12 });
    layout!(io_sqring_offsets, size 40, align 8, {
        head: 0, tail: 4, ring_mask: 8, ring_entries: 12, flags: 16, dropped: 20, array: 24,
        resv1: 28, user_addr: 32,
    });
    layout!(io_cqring_offsets, size 40, align 8, {
        head: 0, tail: 4, ring_mask: 8, ring_entries: 12, overflow: 16, cqes: 20, flags: 24,
        resv1: 28, user_addr: 32,
    });
    layout!(io_uring_params, size 120, align 8, {
        sq_entries: 0, cq_entries: 4, flags: 8, sq_thread_cpu: 12, sq_thread_idle: 16,
        features: 20, wq_fd: 24, resv: 28, sq_off: 40, cq_off: 80,
    });
}

#[test]
fn rsrc_layouts() {
    layout!(io_uring_rsrc_register, size 32, align 8, { nr: 0, flags: 4, resv2: 8, data: 16, tags: 24 });
    layout!(io_uring_rsrc_update, size 16, align 8, { offset: 0, resv: 4, data: 8 });
    layout!(io_uring_rsrc_update2, size 32, align 8, {
        offset: 0, resv: 4, data: 8, tags: 16, nr: 24, resv2: 28,
    });
    layout!(io_uring_clone_buffers, size 32, align 4, {
        src_fd: 0, flags: 4, src_off: 8, dst_off: 12, nr: 16, pad: 20,
    });
    layout!(io_uring_file_index_range, size 16, align 8, { off: 0, len: 4, resv: 8 });
}

#[test]
fn buffer_ring_layouts() {
    layout!(io_uring_buf, size 16, align 8, { addr: 0, len: 8, bid: 12, resv: 14 });
    assert_eq!(BUF_RING_TAIL_OFFSET, offset_of!(io_uring_buf, resv));
    layout!(io_uring_buf_reg, size 40, align 8, {
        ring_addr: 0, ring_entries: 8, bgid: 12, flags: 14, min_left: 16, resv: 20,
    });
    layout!(io_uring_buf_status, size 40, align 4, { buf_group: 0, head: 4, resv: 8 });
}

#[test]
fn probe_restriction_and_arg_layouts() {
    layout!(io_uring_probe, size 16, align 4, { last_op: 0, ops_len: 1, resv: 2, resv2: 4 });
    layout!(io_uring_probe_op, size 8, align 4, { op: 0, resv: 1, flags: 2, resv2: 4 });
    layout!(io_uring_restriction, size 16, align 4, { opcode: 0, arg: 2, resv: 3, resv2: 4 });
    layout!(io_uring_getevents_arg, size 24, align 8, {
        sigmask: 0, sigmask_sz: 8, min_wait_usec: 12, ts: 16,
    });
    layout!(kernel_timespec, size 16, align 8, { tv_sec: 0, tv_nsec: 8 });
    layout!(io_uring_query_hdr, size 40, align 8, {
        next_entry: 0, query_data: 8, query_op: 16, size: 20, result: 24, resv: 28,
    });
    layout!(io_uring_query_opcode, size 48, align 8, {
        nr_request_opcodes: 0, nr_register_opcodes: 4, feature_flags: 8, ring_setup_flags: 16,
        enter_flags: 24, sqe_flags: 32, nr_query_opcodes: 40, pad: 44,
    });
}

#[test]
fn uapi_numbers() {
    assert_eq!(Opcode::MSG_RING.0, 40);
    assert_eq!(Opcode::READV_FIXED.0, 60);
    assert_eq!(RegisterOp::CLONE_BUFFERS.0, 30);
    assert_eq!(RegisterOp::SEND_MSG_RING.0, 31);
    assert_eq!(RegisterOp::QUERY.0, 35);
    assert_eq!(RegisterOp::BUFFERS.via_registered_ring().0, 0x8000_0000);
    assert_eq!(SetupFlags::NO_SQARRAY.0, 0x10000);
    assert_eq!(CqeFlags::BUF_MORE.0, 16);
    assert_eq!(RECVSEND_BUNDLE, 16);
    assert_eq!(mmap_off::pbuf_ring(3), 0x8003_0000);
    assert_eq!(FILE_INDEX_ALLOC, 0xffff_ffff);
    assert_eq!(Opcode::WRITEV_FIXED.0, 61);
    assert_eq!(Opcode::SEND_ZC.0, 47);
    assert_eq!(Opcode::SENDMSG_ZC.0, 48);
    assert_eq!(NopFlags::FIXED_BUFFER.0, 8);
    assert_eq!(NopFlags::CQE32.0, 32);
    assert_eq!(RecvSendFlags::FIXED_BUF.0, 4);
    assert_eq!(RecvSendFlags::SEND_VECTORIZED.0, 32);
    assert_eq!(RecvSendFlags::RECV_MULTISHOT.0, RECV_MULTISHOT);
}

#[test]
fn unknown_values_stay_representable_and_print() {
    assert_eq!(format!("{:?}", Opcode(200)), "Opcode(200)");
    assert_eq!(format!("{:?}", Opcode::READ_FIXED), "READ_FIXED");
    assert_eq!(format!("{:?}", CqeFlags(0x10001 | 0x40)), "BUFFER|0x10040");
    assert_eq!(CqeFlags(0x0008_0001).buffer_id(), Some(8));
    assert_eq!(format!("{:?}", SqeFlags::NONE), "0");
}
