//! The levels: every behaviour change the rows know, with its versions, source and decider.

use super::measured::*;
use super::{Decider, Level};
use crate::env::Fact;
use crate::probe::Feature;
use crate::version::v;

/// Every level, for the case table and the tests.
pub const ALL: &[&Level] = &[
    &BLIND_REGISTER,
    &BLOCK_LAYER,
    &PBUF_RING,
    &PBUF_INC_FLAG,
    &PBUF_MMAP_IGNORES_RING_ADDR,
    &PBUF_MIN_LEFT,
    &PBUF_LISTS_XARRAY,
    &PBUF_MMAP_REGION_ERRNO,
    &SELECT_ACCESS_OK,
    &PBUF_STATUS,
    &CLONE_BUFFERS,
    &CLONE_RANGES,
    &CLONE_SRC_ISSUER_CHECK,
    &MSG_RING_OP,
    &MSG_SEND_FD_CHECKS,
    &MSG_SEND_FD_DISABLED,
    &MSG_CQE_F32_CHECK,
    &MSG_FD_REMOTE_INSTALL,
    &SYNC_MSG_RING,
    &IOVEC_LEN_CHECK,
    &BUFFER_SIZE_1TIB,
    &FILE_BACKED_BUFFERS,
    &UNREGISTER_POSTS_TAGS,
    &UNREGISTER_NO_WAIT,
    &SHORT_WRITE_RETRY,
    &RW_ATTR,
    &MSG_DATA_LOCAL_WORK,
    &NOP_RSRC_FLAGS,
    &NOP_POSTS_LOOKUP_ERRORS,
    &SEND_FIXED_BUF,
    &RECV_FIXED_BUF,
    &SENDMSG_ZC_FIXED_BUF,
    &BUNDLE_END_BUFFER_INTACT,
    &INC_EARLY_COMMIT_BUF_MORE,
    &INC_ZERO_LEN_BUF_MORE,
    &INC_COMMIT_STOPS_AT_ZERO_LEN,
    &BUNDLE_RECV_RETRY,
    &RECV_MSHOT_TOTAL_LIMIT,
    &PEEK_ACCESS_OK,
    &LEGACY_LIST_LIMIT,
    &LEGACY_RECYCLE_CHECKS_LIST,
    &QUERY_SIZE_LIMIT,
    &QUERY_ZCRX_7_2,
    &ZCRX_CTRL_ADD_AREA,
    &ZCRX_RQ_HDR_CACHELINES,
    &MEM_REGION,
    &REGION_COMPOUND_CHARGE,
    &FILES_UPDATE_INDEX_ALLOC,
    &RING_MEMORY_PINNABLE,
    &RING_MEMORY_BUFFERS,
    &RESTRICTIONS_SPLIT,
    &TASK_RESTRICTIONS,
    &APPEND_ERROR_KEEPS_POSITION,
    &PIPE_NOWAIT_WRITE,
    &LEGACY_RECVMSG_DATA,
    &SEND_BUFFER_SELECT,
    &BUNDLE_SEND_WITHOUT_GROUP,
    &ZC_PREP_FAILURE_NOTIFIES,
];

/// `io_uring_register(-1, ...)` goes to io_uring_register_blind(), which knows only SEND_MSG_RING:
/// any other opcode answers EINVAL where fdget(-1) used to give EBADF. Both came in one commit.
pub const BLIND_REGISTER: Level = Level {
    name: "blind_register",
    change: "register(fd=-1, op other than SEND_MSG_RING): EBADF -> EINVAL",
    since: v(6, 13),
    source: "register.c:io_uring_register_blind (came with IORING_REGISTER_SEND_MSG_RING)",
    decided_by: Decider::Probe(Feature::SyncMsgRing),
};

/// ioprio_check_cap() is block/ioprio.c's; without CONFIG_BLOCK a stub answers -ENOTBLK.
pub const BLOCK_LAYER: Level = Level {
    name: "block_layer",
    change: "an invalid ioprio class: ENOTBLK (no CONFIG_BLOCK) -> EINVAL",
    since: v(2, 6),
    source:
        "include/linux/ioprio.h:ioprio_check_cap (a stub answering -ENOTBLK without CONFIG_BLOCK)",
    decided_by: Decider::Env(Fact::BlockLayer),
};

/// Provided-buffer rings; decided by UNREGISTER_PBUF_RING of an unknown group (ENOENT), which came with it.
pub const PBUF_RING: Level = Level {
    name: "pbuf_ring",
    change: "REGISTER_PBUF_RING: EINVAL (unknown opcode) -> accepted",
    since: v(5, 19),
    source: "kbuf.c:io_register_pbuf_ring / io_unregister_pbuf_ring (one commit)",
    decided_by: Decider::Probe(Feature::PbufRing),
};

/// IOU_PBUF_RING_INC; every other call of that change is the flag itself, so the version decides.
pub const PBUF_INC_FLAG: Level = Level {
    name: "pbuf_inc_flag",
    change: "REGISTER_PBUF_RING flags=IOU_PBUF_RING_INC: EINVAL -> accepted",
    since: v(6, 12),
    source: "kbuf.c:io_register_pbuf_ring (\"io_uring/kbuf: add support for incremental buffer consumption\")",
    decided_by: Decider::Version,
};

/// The region rework ignores ring_addr for a kernel-allocated ring.
pub const PBUF_MMAP_IGNORES_RING_ADDR: Level = Level {
    name: "pbuf_mmap_ignores_ring_addr",
    change:
        "REGISTER_PBUF_RING flags=MMAP with ring_addr set: EINVAL -> accepted (ring_addr ignored)",
    since: v(6, 14),
    source: "kbuf.c:io_register_pbuf_ring -> memmap.c:io_create_region (the region rework)",
    decided_by: Decider::Version,
};

/// min_left in io_uring_buf_reg; decided by REGISTER_PBUF_RING with INC and min_left, rows check UNREGISTER.
pub const PBUF_MIN_LEFT: Level = Level {
    name: "pbuf_min_left",
    change: "io_uring_buf_reg.min_left: reserved (EINVAL when set) -> a field",
    since: v(7, 1),
    source: "kbuf.c:io_register_pbuf_ring / io_unregister_pbuf_ring: \"io_uring/kbuf: support min length left for incremental buffers\" (7deba791ad49; stable 6.12.89, 6.18.y)",
    decided_by: Decider::Probe(Feature::PbufMinLeft),
};

/// 6.1 keeps groups below 64 in an array where every entry exists; later kernels keep one xarray.
pub const PBUF_LISTS_XARRAY: Level = Level {
    name: "pbuf_lists_xarray",
    change:
        "UNREGISTER_PBUF_RING of an unknown bgid < 64 after a group < 64 exists: EINVAL -> ENOENT",
    since: v(6, 9),
    source: "kbuf.c:io_buffer_get_list (the small-bgid array io_bl removed)",
    decided_by: Decider::Version,
};

/// mmap(IORING_OFF_PBUF_RING) of a group without a kernel ring.
pub const PBUF_MMAP_REGION_ERRNO: Level = Level {
    name: "pbuf_mmap_region_errno",
    change: "mmap of a buffer ring offset with no kernel-allocated ring: ENOMEM -> EINVAL",
    since: v(7, 2),
    source: "memmap.c:io_mmap_get_region -> kbuf.c:io_pbuf_get_region",
    decided_by: Decider::Version,
};

/// Selection checks each entry with access_ok and skips one that fails.
pub const SELECT_ACCESS_OK: Level = Level {
    name: "select_access_ok",
    change: "a buffer-ring entry with a kernel address: CQE -EFAULT -> -ENOBUFS (entry skipped)",
    since: v(7, 2),
    source: "kbuf.c:io_ring_buffer_select (access_ok)",
    decided_by: Decider::Version,
};

/// MSG_RING SEND_FD into an R_DISABLED target is refused like MSG_DATA is.
pub const MSG_SEND_FD_DISABLED: Level = Level {
    name: "msg_send_fd_disabled",
    change: "MSG_RING SEND_FD to an R_DISABLED ring: installed -> EBADFD",
    since: v(6, 2),
    source: "msg_ring.c:io_msg_send_fd (IORING_SETUP_R_DISABLED)",
    decided_by: Decider::Version,
};

/// UNREGISTER_BUFFERS returns at once while a request still uses a buffer (the node is
/// freed when the request drops it); before, it waited for the references to drop.
pub const UNREGISTER_NO_WAIT: Level = Level {
    name: "unregister_no_wait",
    change: "UNREGISTER_BUFFERS with a request in flight: waits for it -> returns at once",
    since: v(6, 13),
    source: "rsrc.c:io_sqe_buffers_unregister (the rsrc node rework)",
    decided_by: Decider::Version,
};

/// io_write takes a short write to a regular file (fewer bytes than asked, 0 too) for a
/// partial one: it adds them to bytes_done and returns -EAGAIN, and the request, failed from
/// io-wq (or at once under RWF_NOWAIT), completes through io_rw_fail, which posts bytes_done
/// (the -EAGAIN itself when it is 0) and never stores the file position of an offset -1
/// write. Before, kiocb_done completed it as it was (the count, 0 too; f_pos moved).
pub const SHORT_WRITE_RETRY: Level = Level {
    name: "short_write_retry",
    change: "a short WRITE to a regular file: completed as is (0 posted, the offset -1 \
             position moved) -> a partial write failed through io_rw_fail (0 posts -EAGAIN, \
             the position stays)",
    since: v(6, 0),
    source: "rw.c:io_write (the short-write branch), io_rw_fail (\"io_uring: Add support \
             for async buffered writes\", 4e17aaab5435)",
    decided_by: Decider::Version,
};

/// IORING_REGISTER_PBUF_STATUS; its probe (an unknown group, ENOENT) is the same opcode as
/// the row, so the version decides.
pub const PBUF_STATUS: Level = Level {
    name: "pbuf_status",
    change: "IORING_REGISTER_PBUF_STATUS: EINVAL (unknown opcode) -> known",
    since: v(6, 8),
    source: "kbuf.c:io_register_pbuf_status",
    decided_by: Decider::Version,
};

/// Every probe of CLONE_BUFFERS is CLONE_BUFFERS itself, so the version decides.
pub const CLONE_BUFFERS: Level = Level {
    name: "clone_buffers",
    change: "IORING_REGISTER_CLONE_BUFFERS: EINVAL (unknown opcode) -> known",
    since: v(6, 12),
    source: "rsrc.c:io_register_clone_buffers",
    decided_by: Decider::Version,
};

/// Clone ranges and IORING_REGISTER_DST_REPLACE.
pub const CLONE_RANGES: Level = Level {
    name: "clone_ranges",
    change: "CLONE_BUFFERS src_off/dst_off/nr and DST_REPLACE: pad (EINVAL) -> ranges (EOVERFLOW checks)",
    since: v(6, 13),
    source: "rsrc.c:io_clone_buffers (\"io_uring/rsrc: add src_off/dst_off/nr to clone\")",
    decided_by: Decider::Version,
};

/// The source ring's owner check.
pub const CLONE_SRC_ISSUER_CHECK: Level = Level {
    name: "clone_src_issuer_check",
    change: "CLONE_BUFFERS from a SINGLE_ISSUER source owned by another task: accepted -> EEXIST",
    since: v(6, 18),
    source: "rsrc.c:io_register_clone_buffers (src_ctx->submitter_task != current): \"io_uring/rsrc: respect submitter_task in io_register_clone_buffers()\" (2f076a453f75)",
    decided_by: Decider::Version,
};

/// IORING_OP_MSG_RING; REGISTER_PROBE's list decides.
pub const MSG_RING_OP: Level = Level {
    name: "msg_ring_op",
    change: "IORING_OP_MSG_RING: CQE -EINVAL (unknown opcode) -> known",
    since: v(5, 18),
    source: "msg_ring.c:io_msg_ring",
    decided_by: Decider::Probe(Feature::OpMsgRing),
};

/// The SEND_FD argument checks.
pub const MSG_SEND_FD_CHECKS: Level = Level {
    name: "msg_send_fd_checks",
    change: "MSG_RING SEND_FD with len set: installed -> EINVAL",
    since: v(6, 3),
    source: "msg_ring.c:io_msg_send_fd (msg->len)",
    decided_by: Decider::Version,
};

/// FLAGS_PASS refuses the 32-byte-CQE flag for a 16-byte-CQE target.
pub const MSG_CQE_F32_CHECK: Level = Level {
    name: "msg_cqe_f32_check",
    change: "MSG_DATA + FLAGS_PASS with IORING_CQE_F_32 to a ring without CQE32/CQE_MIXED: posted -> EINVAL",
    since: v(7, 2),
    source: "msg_ring.c:io_msg_ring_cqe_flags: \"io_uring/msg_ring: reject CQE32 flag pass-through to normal rings\"",
    decided_by: Decider::Version,
};

/// SEND_FD into a ring of another task goes through that task's task_work.
pub const MSG_FD_REMOTE_INSTALL: Level = Level {
    name: "msg_fd_remote_install",
    change: "MSG_RING SEND_FD to a DEFER_TASKRUN ring whose task exited: installed (res 0) -> EOWNERDEAD",
    since: v(6, 2),
    source: "msg_ring.c:io_msg_fd_remote / io_msg_tw_fd_complete",
    decided_by: Decider::Version,
};

/// Every probe of it is the call itself, so the version decides.
pub const SYNC_MSG_RING: Level = Level {
    name: "sync_msg_ring",
    change: "IORING_REGISTER_SEND_MSG_RING: EINVAL (unknown opcode) -> known",
    since: v(6, 13),
    source: "msg_ring.c:io_uring_sync_msg_ring",
    decided_by: Decider::Version,
};

/// iovec_from_user() rejects lengths above SSIZE_MAX.
pub const IOVEC_LEN_CHECK: Level = Level {
    name: "iovec_len_check",
    change: "REGISTER_BUFFERS with iov_len above SSIZE_MAX: EFAULT -> EINVAL",
    since: v(6, 11),
    source: "lib/iov_iter.c:iovec_from_user (io_sqe_buffers_register moved to the iovec API)",
    decided_by: Decider::Version,
};

/// The per-buffer limit went from 1 GiB (EFAULT) to 1 TiB (EINVAL).
pub const BUFFER_SIZE_1TIB: Level = Level {
    name: "buffer_size_1tib",
    change: "REGISTER_BUFFERS iov_len above 1 TiB: EFAULT (over 1 GiB) -> EINVAL (over 1 TiB)",
    since: v(7, 2),
    source: "rsrc.c:io_validate_user_buf_range (SZ_1T)",
    decided_by: Decider::Version,
};

/// io_uring's own file-backed vma check went to GUP's FOLL_LONGTERM rules.
pub const FILE_BACKED_BUFFERS: Level = Level {
    name: "file_backed_buffers",
    change: "buffers mapped from a regular file: EOPNOTSUPP -> GUP decides (private: accepted; shared on a dirty-tracked fs: EFAULT)",
    since: v(6, 5),
    source: "rsrc.c:io_pin_pages (\"io_uring: rsrc: delegate VMA file-backed check to GUP\")",
    decided_by: Decider::Version,
};

/// Tags are posted when a node is freed, on unregister too.
pub const UNREGISTER_POSTS_TAGS: Level = Level {
    name: "unregister_posts_tags",
    change: "UNREGISTER_BUFFERS of a tagged table: no tag CQE -> one per tagged slot",
    since: v(6, 13),
    source: "rsrc.c:io_free_rsrc_node (the rsrc node rework)",
    decided_by: Decider::Version,
};

/// `sqe->attr_type_mask` of reads and writes: ignored (the words were `addr3`/`__pad2`,
/// unread by READ/WRITE) -> checked in __io_prep_rw (EINVAL unless IORING_RW_ATTR_FLAG_PI).
/// The same commit added IORING_FEAT_RW_ATTR to io_uring_setup's features, which decides.
pub const RW_ATTR: Level = Level {
    name: "rw_attr",
    change: "READ/WRITE(_FIXED) with attr_type_mask set: ignored -> EINVAL unless PI (PI: attr_ptr copied, EFAULT)",
    since: v(6, 15),
    source: "rw.c:__io_prep_rw / io_prep_rw_pi (\"io_uring: introduce attributes for read/write and PI support\")",
    decided_by: Decider::Probe(Feature::RwAttr),
};

/// MSG_DATA into a DEFER_TASKRUN ring is queued as the target's local work: its CQE is
/// posted when the target's task enters with GETEVENTS. Before, the sender posted it at once
/// (6.1), or the target task's task_work did (6.2-6.10, which any return to user space of
/// that task runs). The other calls of that change are the row's own.
pub const MSG_DATA_LOCAL_WORK: Level = Level {
    name: "msg_data_local_work",
    change: "MSG_DATA to a DEFER_TASKRUN ring of this task: target CQE posted before the source's -> posted when the target enters with GETEVENTS",
    since: v(6, 11),
    source: "msg_ring.c:io_msg_data_remote -> io_req_task_work_add_remote (\"io_uring/msg_ring: avoid double indirection task_work for data messages\")",
    decided_by: Decider::Version,
};

/// NOP's resource flags; every other call of that change is a NOP with those flags, so the
/// version decides.
pub const NOP_RSRC_FLAGS: Level = Level {
    name: "nop_rsrc_flags",
    change: "NOP with IORING_NOP_FILE / FIXED_FILE / FIXED_BUFFER: EINVAL (unknown nop_flags) -> the file or buffer is looked up",
    since: v(6, 13),
    source: "nop.c:io_nop_prep / io_nop: \"io_uring/nop: add support for testing registered files and buffers\" (a85f31052bce)",
    decided_by: Decider::Version,
};

/// A NOP whose file or buffer lookup failed marked the request failed but posted
/// `nop->result`; the fix posts the errno.
pub const NOP_POSTS_LOOKUP_ERRORS: Level = Level {
    name: "nop_posts_lookup_errors",
    change: "NOP whose FILE / FIXED_BUFFER lookup fails: CQE res = the injected result (the request only marked failed) -> -EBADF / -EFAULT",
    since: v(7, 2),
    source: "nop.c:io_nop (io_req_set_res(req, ret, 0)): \"io_uring/nop: pass all errors to userspace\" (Fixes: a85f31052bce)",
    decided_by: Decider::Version,
};

/// Registered buffers on plain SEND; the same commit brought them to RECV, whose probe decides.
pub const SEND_FIXED_BUF: Level = Level {
    name: "send_fixed_buf",
    change: "IORING_OP_SEND with IORING_RECVSEND_FIXED_BUF: EINVAL (unknown flag) -> sends from the registered buffer",
    since: v(7, 2),
    source: "net.c:io_sendmsg_prep / io_send: \"io_uring/net: support registered buffer for plain send and recv\"",
    decided_by: Decider::Probe(Feature::RecvFixedBuf),
};

/// Registered buffers on plain RECV; the same commit brought them to SEND, whose probe decides.
pub const RECV_FIXED_BUF: Level = Level {
    name: "recv_fixed_buf",
    change: "IORING_OP_RECV with IORING_RECVSEND_FIXED_BUF: EINVAL (unknown flag) -> receives into the registered buffer",
    since: v(7, 2),
    source: "net.c:io_recvmsg_prep / io_recv: \"io_uring/net: support registered buffer for plain send and recv\"",
    decided_by: Decider::Probe(Feature::SendFixedBuf),
};

/// Vectored registered buffers for SENDMSG_ZC came in the series that added READV_FIXED /
/// WRITEV_FIXED, whose REGISTER_PROBE entry decides.
pub const SENDMSG_ZC_FIXED_BUF: Level = Level {
    name: "sendmsg_zc_fixed_buf",
    change: "SENDMSG_ZC with IORING_RECVSEND_FIXED_BUF: EINVAL -> the msghdr's iovecs name ranges of the registered buffer",
    since: v(6, 15),
    source: "net.c:io_send_zc_prep / io_send_zc_import -> rsrc.c:io_import_reg_vec: \"io_uring/net: implement vectored reg bufs for zctx\" (23371eac7d9a), with \"io_uring/rw: implement vectored registered rw\"",
    decided_by: Decider::Probe(Feature::OpReadvFixed),
};

/// A bundle whose length ends inside a later buffer: that buffer used to be mapped truncated
/// and its ring entry's `len` overwritten with the truncated length; now the peek stops at the
/// last whole buffer and leaves the entry alone.
pub const BUNDLE_END_BUFFER_INTACT: Level = Level {
    name: "bundle_end_buffer_intact",
    change: "RECV bundle ending inside a later buffer: entry len overwritten with the truncated length -> entry untouched (buffer not mapped)",
    since: v(6, 16),
    source: "kbuf.c:io_ring_buffers_peek: \"io_uring/kbuf: don't truncate end buffer for multiple buffer peeks\" (26ec15e4b0c1)",
    decided_by: Decider::Version,
};

/// An incremental buffer committed at selection (a regular file: not pollable) reported the
/// room left only from 2026: the early commit's answer used to be dropped.
pub const INC_EARLY_COMMIT_BUF_MORE: Level = Level {
    name: "inc_early_commit_buf_more",
    change: "INC buffer read by a regular file with room left: CQE without BUF_MORE -> with BUF_MORE",
    since: v(7, 2),
    source: "kbuf.c:io_ring_buffer_select (REQ_F_BUF_MORE from the early io_kbuf_commit): \"io_uring/kbuf: propagate BUF_MORE through early buffer commit path\" (418eab7a6f3c, 2026-03, probably the 7.0 cycle; `since` is 7.2, the first source read that has it, so a 7.0 or 7.1 kernel is accepted either way and records which)",
    decided_by: Decider::Version,
};

/// A zero-length completion (EOF) on an incremental buffer keeps it and says so.
pub const INC_ZERO_LEN_BUF_MORE: Level = Level {
    name: "inc_zero_len_buf_more",
    change: "zero-length completion (EOF) on an INC buffer: CQE without BUF_MORE -> with BUF_MORE",
    since: v(7, 2),
    source: "kbuf.c:io_kbuf_inc_commit (`if (!len) return false`): \"io_uring/kbuf: fix missing BUF_MORE for incremental buffers at EOF\" (3ecd3e03144b, 2026, probably the 7.0 cycle; `since` is 7.2, the first source read that has it, so a 7.0 or 7.1 kernel is accepted either way and records which)",
    decided_by: Decider::Version,
};

/// An INC buffer whose ring entry says len 0 when its completion commits it (the transfer
/// itself overwrote the entry, the buffer being the ring's own memory): the commit loop used
/// to retire the entry without consuming a byte and go on to the next for ever, with the
/// ring's lock held; now it stops and keeps the buffer. The old answer is a hung kernel
/// task, not an answer a row can accept: rows need the kernel decided to have the fix.
pub const INC_COMMIT_STOPS_AT_ZERO_LEN: Level = Level {
    name: "inc_commit_stops_at_zero_len",
    change: "INC commit meeting a ring entry of len 0: loops for ever -> stops, the buffer kept (BUF_MORE)",
    since: v(6, 17),
    source: "kbuf.c:io_kbuf_inc_commit (`|| !this_len`): \"io_uring/kbuf: always use READ_ONCE() to read ring provided buffer lengths\" (98b6fa62c84f, the 6.17 cycle; stable reviews for 6.16 on 2025-09-02 and for 6.12 on 2026-04-08, whose patch levels are not in the backport table: those kernels skip the rows)",
    decided_by: Decider::Version,
};

/// A RECV bundle without a length maps one buffer first; when that transfer filled it and
/// the socket says more is queued, io_recv_finish() retries and appends to the same CQE.
/// AF_UNIX says so only where it reports its queue length, which decides.
pub const BUNDLE_RECV_RETRY: Level = Level {
    name: "bundle_recv_retry",
    change: "RECV bundle, len 0, more queued than the first buffer holds: one buffer per CQE -> the retry appends the rest to the same CQE",
    since: v(6, 17),
    source: "net.c:io_recv_finish (msg_inq > 1 and a full transfer: IORING_RECV_RETRY); net/unix/af_unix.c:unix_stream_read_generic (msg_get_inq)",
    decided_by: Decider::Env(Fact::UnixInq),
};

/// A multishot RECV with `sqe->optlen` set ends (a CQE without F_MORE) once it has received
/// that many bytes in all; before, RECV did not read optlen (Norman Maurer's "Support
/// multishot receive len cap", merged for 6.17).
pub const RECV_MSHOT_TOTAL_LIMIT: Level = Level {
    name: "recv_mshot_total_limit",
    change: "multishot RECV with sqe->optlen: ignored, the request stays armed (F_MORE) -> the CQE that reaches optlen bytes ends it",
    since: v(6, 17),
    source: "net.c:io_recvmsg_prep (mshot_total_len, IORING_RECV_MSHOT_LIM) / io_recv_finish (IORING_RECV_MSHOT_DONE)",
    decided_by: Decider::Version,
};

/// A legacy buffer that an io-wq request selected and then gives back (a recv that ends
/// without data) used to be list_add()ed to whatever list now has its bgid: a group upgraded
/// to a ring meanwhile had its ring pointer (a union with the list head) overwritten. Now the
/// buffer is dropped unless its list is still a legacy one. The old answer is memory
/// corruption, not an answer a row can accept: rows need the kernel decided to have the fix.
pub const LEGACY_RECYCLE_CHECKS_LIST: Level = Level {
    name: "legacy_recycle_checks_list",
    change: "a legacy buffer recycled into a group upgraded to a ring meanwhile: list_add over the ring pointer -> buffer dropped",
    since: v(7, 0),
    source: "kbuf.c:io_kbuf_recycle_legacy: \"io_uring/kbuf: check if target buffer list is still legacy on recycle\" (c2c185be5c85, 2026-03, the 7.0 rc cycle; Cc stable)",
    decided_by: Decider::Version,
};

/// A QUERY header may name at most a page: copy_struct_to_user() zeroes the caller's
/// `size` bytes, so a larger one is refused before anything is read. 6.18.44 has no such
/// check (a size of a page and one byte answers like any other); `since` is 7.2, the first
/// source read that has it, so a 6.19-7.1 kernel is accepted either way and records which.
pub const QUERY_SIZE_LIMIT: Level = Level {
    name: "query_size_limit",
    change: "QUERY header size above the page size: accepted (the answer clamped) -> E2BIG",
    since: v(7, 2),
    source: "query.c:io_handle_query_entry (hdr.size > PAGE_SIZE: -E2BIG)",
    decided_by: Decider::Version,
};

/// QUERY(ZCRX) and QUERY(ZCRX_EVENT) as 7.2 answers them: compile-time values that need no
/// zcrx hardware or CONFIG_IO_URING_ZCRX (query.c is always built). 6.18 answers neither
/// (EOPNOTSUPP); 6.19-7.1 were not read, so their answers are unknown here and the rows
/// that check 7.2's skip below it (the version decides: each answer is the call itself).
pub const QUERY_ZCRX_7_2: Level = Level {
    name: "query_zcrx_7_2",
    change: "QUERY(ZCRX), QUERY(ZCRX_EVENT): EOPNOTSUPP (6.18), 6.19-7.1 not read -> 7.2's answers (register_flags IMPORT|NODEV, features RX_PAGE_SIZE|EVENT, events ALLOC_FAIL|COPY)",
    since: v(7, 2),
    source: "query.c:io_query_zcrx / io_query_zcrx_notif (io_uring/zcrx.h ZCRX_SUPPORTED_REG_FLAGS, ZCRX_FEATURES, ZCRX_EVENT_TYPE_MASK)",
    decided_by: Decider::Version,
};

/// ZCRX_CTRL_ADD_AREA, a fourth zcrx control opcode: QUERY(ZCRX) counts it. Every other
/// call of that change needs a zcrx instance (a NIC queue or ZCRX_REG_NODEV with
/// CONFIG_IO_URING_ZCRX), so the version decides.
pub const ZCRX_CTRL_ADD_AREA: Level = Level {
    name: "zcrx_ctrl_add_area",
    change: "QUERY(ZCRX) nr_ctrl_opcodes: 3 (FLUSH_RQ, EXPORT, ARM_EVENT) -> 4 (ADD_AREA)",
    since: v(7, 3),
    source: "zcrx.c:io_zcrx_ctrl -> zcrx_ctrl_add_area (uapi zcrx.h enum zcrx_ctrl_op, __ZCRX_CTRL_LAST)",
    decided_by: Decider::Version,
};

/// The zcrx refill ring's head and tail moved to cache lines of their own: QUERY(ZCRX)
/// reports the new header's size, which with CONFIG_SMP is two SMP_CACHE_BYTES lines
/// (`____cacheline_aligned_in_smp`) and without it 8 bytes, as before.
pub const ZCRX_RQ_HDR_CACHELINES: Level = Level {
    name: "zcrx_rq_hdr_cachelines",
    change: "QUERY(ZCRX) rq_hdr_size: sizeof(struct io_uring) (8) -> sizeof(struct zcrx_rq_hdr) (2 * SMP_CACHE_BYTES with CONFIG_SMP, else 8)",
    since: v(7, 3),
    source: "query.c:io_query_zcrx (rq_hdr_size = sizeof(struct zcrx_rq_hdr)); zcrx.c:io_allocate_rbuf_ring",
    decided_by: Decider::Version,
};

/// IORING_REGISTER_MEM_REGION as 6.14's region-based allocations left it: a region of the
/// caller's pages with IORING_MEM_REGION_TYPE_USER, else allocated by the kernel and its mmap
/// offset reported; every other call of that change is that opcode, so the version decides.
pub const MEM_REGION: Level = Level {
    name: "mem_region",
    change: "IORING_REGISTER_MEM_REGION: EINVAL (unknown opcode, or 6.13's user-memory-only regions) -> IORING_MEM_REGION_TYPE_USER regions or kernel-allocated ones with their mmap_offset",
    since: v(6, 14),
    source: "register.c:io_register_mem_region -> memmap.c:io_create_region (the region-based allocations series, 6.14)",
    decided_by: Decider::Version,
};

/// A region's RLIMIT_MEMLOCK charge covers the whole compound allocation; ring memory is
/// charged to no one.
pub const REGION_COMPOUND_CHARGE: Level = Level {
    name: "region_compound_charge",
    change: "RLIMIT_MEMLOCK charge of a kernel-allocated region of N pages (no CAP_IPC_LOCK): N, besides the ring's own pages -> 2^get_order(N) pages, the ring's pages uncharged",
    since: v(7, 2),
    source: "memmap.c:io_mem_alloc_compound (extra = nr_compound - nr_pages, __io_account_mem) / io_uring.c:io_allocate_scq_urings (io_create_region(NULL, ...)); 6.18.44 charges a 4-entry ring 2 pages and a 3-page region 3 (measured), 7.2.13 has the new rule; the first version with it is not verified",
    decided_by: Decider::Version,
};

/// A bundle or SEND whose head ring entry fails access_ok() is refused by the peek before
/// the buffers are committed: no F_BUFFER, the head stays.
pub const PEEK_ACCESS_OK: Level = Level {
    name: "peek_access_ok",
    change: "SEND selecting a ring entry at a kernel address: CQE -EFAULT with F_BUFFER, head moved past it -> CQE -EFAULT without F_BUFFER, head stays",
    since: v(7, 2),
    source: "kbuf.c:io_ring_buffers_peek (access_ok in the map loop; before, net.c:io_send_select_buffer's import_ubuf failed after io_buffers_select had committed); commit not identified: `since` is 7.2, the first source read that has it, and the old answer is the one measured on 6.18.44",
    decided_by: Decider::Version,
};

/// A legacy group holds at most 65536 buffers, the whole 16-bit bid space: PROVIDE_BUFFERS
/// into a full list fails with EOVERFLOW, and one PROVIDE_BUFFERS may bring all 65536.
/// 6.18.44 stops at 65535 (USHRT_MAX); older kernels let the list grow without a bound.
pub const LEGACY_LIST_LIMIT: Level = Level {
    name: "legacy_list_limit",
    change: "a legacy group's size: unbounded, then at most USHRT_MAX (65535, measured on 6.18.44) -> at most MAX_BIDS_PER_BGID (65536), EOVERFLOW beyond",
    since: v(7, 2),
    source: "kbuf.c:io_add_buffers (bl->nbufs == MAX_BIDS_PER_BGID) and the nbufs bounds of io_provide_buffers_prep / io_remove_buffers_prep; after \"io_uring/kbuf: limit legacy provided buffer lists to USHRT_MAX\" (2025); the change to MAX_BIDS_PER_BGID not identified: `since` is 7.2, the first source read that has it",
    decided_by: Decider::Version,
};

/// IORING_OP_FILES_UPDATE picks free slots itself when its offset is IORING_FILE_INDEX_ALLOC.
pub const FILES_UPDATE_INDEX_ALLOC: Level = Level {
    name: "files_update_index_alloc",
    change: "IORING_OP_FILES_UPDATE at offset IORING_FILE_INDEX_ALLOC: EOVERFLOW (offset + nr wraps) -> each fd installed in a free slot, whose index is written back over it",
    since: v(5, 19),
    source: "rsrc.c:io_files_update -> io_files_update_with_index_alloc (\"io_uring: let IORING_OP_FILES_UPDATE support choosing fixed file slots\")",
    decided_by: Decider::Version,
};

/// Ring memory the kernel allocated is mapped page by page (vm_insert_pages), so it can be
/// pinned like any other page: a buffer can be registered over it.
pub const RING_MEMORY_PINNABLE: Level = Level {
    name: "ring_memory_pinnable",
    change: "REGISTER_BUFFERS over an mmapped kernel-allocated buffer ring: EFAULT (remap_pfn_range: a VM_PFNMAP mapping GUP refuses) -> registered (vm_insert_pages of its pages, compound ones kept)",
    since: v(6, 10),
    source: "memmap.c:io_region_mmap -> vm_insert_pages (\"io_uring: get rid of remap_pfn_range() for mapping rings/sqes\")",
    decided_by: Decider::Version,
};

/// A fixed buffer can lie in a ring's own memory (its mmap'ed SQE array), whose pages are one
/// compound allocation: the rows that need compound pages without THP or hugetlb use it.
pub const RING_MEMORY_BUFFERS: Level = Level {
    name: "ring_memory_buffers",
    change: "REGISTER_BUFFERS over a ring's mmap'ed SQE array: refused (rings mapped with remap_pfn_range, VM_PFNMAP: GUP's EFAULT) -> pinned, its pages one compound allocation charged to RLIMIT_MEMLOCK whole, once per ring",
    since: v(6, 18),
    source: "memmap.c:io_region_mmap (vm_insert_pages) / io_mem_alloc_compound (__GFP_COMP); rsrc.c:io_buffer_account_pin -> hpage_acct_ref; 6.18 measured, 7.2.13 read; the ring mapping changed earlier (vm_insert_pages), the first version with both is not verified",
    decided_by: Decider::Version,
};

/// Restrictions of register opcodes only leave SQEs unrestricted: ctx->restricted became
/// IO_RING_F_OP_RESTRICTED and IO_RING_F_REG_RESTRICTED. Before, any registered restriction
/// made every SQE opcode need its own SQE_OP entry; the other calls of that change are the
/// row's own, so the version decides.
pub const RESTRICTIONS_SPLIT: Level = Level {
    name: "restrictions_split",
    change: "a NOP on a ring restricted in its register opcodes only: CQE -EACCES -> 0",
    since: v(7, 0),
    source: "register.c:io_register_restrictions (op_registered / reg_registered) / io_uring.c:io_check_restriction (\"io_uring: track restrictions separately for IORING_OP and IORING_REGISTER\")",
    decided_by: Decider::Version,
};

/// Restrictions of a task: `io_uring_register(-1, RESTRICTIONS)` went to
/// io_uring_register_blind()'s EINVAL before. Its other calls are the rows' own (the
/// restriction stays on the calling thread), so the version decides.
pub const TASK_RESTRICTIONS: Level = Level {
    name: "task_restrictions",
    change: "register(-1, RESTRICTIONS, &io_uring_task_restriction, 1): EINVAL -> the task's restrictions (EACCES without NO_NEW_PRIVS or CAP_SYS_ADMIN)",
    since: v(7, 0),
    source: "register.c:io_uring_register_blind -> io_register_restrictions_task",
    decided_by: Decider::Version,
};
