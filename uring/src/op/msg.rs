//! MSG_RING builders: data messages ([`MsgData`]), file descriptors ([`msg_ring_fd`]), and
//! any command ([`Msg`]).

use super::Sqe;
use crate::abi::{MsgRingCmd, MsgRingFlags, Opcode, FILE_INDEX_ALLOC};
use crate::mem::ForeignAddr;

/// A MSG_RING data message: the target ring gets a CQE `{user_data, res: res as i32}`
/// (with `flags`: CQE_SKIP, FLAGS_PASS, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgData {
    /// `len`: the target CQE's `res`.
    pub res: u32,
    /// `off`: the target CQE's `user_data`.
    pub user_data: u64,
    /// `msg_ring_flags`.
    pub flags: MsgRingFlags,
}

/// IORING_OP_MSG_RING, `IORING_MSG_DATA`: posts `m` to the ring `target_fd`.
pub fn msg_ring_data(target_fd: i32, m: MsgData) -> Sqe {
    msg_ring(
        target_fd,
        Msg {
            cmd: MsgRingCmd::DATA,
            len: m.res,
            user_data: m.user_data,
        },
    )
    .op_flags(m.flags.0)
}

/// A MSG_RING SQE's own fields: the command (`addr`), `len` and the target `user_data`
/// (`off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msg {
    /// `addr`: the command; unknown ones test -EINVAL.
    pub cmd: MsgRingCmd,
    /// `len` (the target's `res` for MSG_DATA).
    pub len: u32,
    /// `off`: the target CQE's `user_data`.
    pub user_data: u64,
}

/// IORING_OP_MSG_RING with any command value. The command is a small number: as an address
/// it lies in the never-mapped low page.
pub fn msg_ring(target_fd: i32, m: Msg) -> Sqe {
    let mut s = Sqe::with_opcode(Opcode::MSG_RING);
    s.raw.fd = target_fd;
    s.raw.addr = ForeignAddr::new(m.cmd.0).map_or(0, |a| a.get());
    assert_eq!(
        s.raw.addr, m.cmd.0,
        "a MSG_RING command must be below 64 KiB or a foreign address"
    );
    s.raw.len = m.len;
    s.raw.off = m.user_data;
    s
}

/// IORING_OP_MSG_RING, `IORING_MSG_SEND_FD`: installs the source's fixed file `src_slot`
/// into the target's slot `dst_slot` (or a free one with [`FILE_INDEX_ALLOC`]).
pub fn msg_ring_fd(
    target_fd: i32,
    src_slot: u32,
    dst_slot: MsgFdSlot,
    target_user_data: u64,
    flags: MsgRingFlags,
) -> Sqe {
    let msg = Msg {
        cmd: MsgRingCmd::SEND_FD,
        len: 0,
        user_data: target_user_data,
    };
    let mut s = msg_ring(target_fd, msg).op_flags(flags.0);
    s.raw.addr3 = src_slot as u64;
    s.raw.file_index = match dst_slot {
        MsgFdSlot::Slot(n) => n.wrapping_add(1),
        MsgFdSlot::Alloc => FILE_INDEX_ALLOC,
        MsgFdSlot::RawFileIndex(v) => v,
    };
    s
}

/// The target slot of a SEND_FD message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgFdSlot {
    /// A given slot (encoded as `file_index = slot + 1`).
    Slot(u32),
    /// `IORING_FILE_INDEX_ALLOC`: the kernel picks a free slot and reports it in `res`.
    Alloc,
    /// The raw `file_index` value (0 is invalid: it means slot UINT_MAX).
    RawFileIndex(u32),
}

impl Sqe {
    /// Sets MSG_RING's source fixed-file index (`addr3`), e.g. non-zero for MSG_DATA.
    pub fn msg_src_slot(mut self, slot: u64) -> Sqe {
        assert_eq!(
            self.raw.opcode,
            Opcode::MSG_RING,
            "addr3 is only set for MSG_RING"
        );
        self.raw.addr3 = slot;
        self
    }
}
