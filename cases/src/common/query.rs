//! IORING_REGISTER_QUERY as user space lays it out (uapi `linux/io_uring/query.h`): headers,
//! chains of them, and the answers, for the query tables. The kernel reads and writes the
//! uapi structs in the CPU's byte order (s390x: big-endian).

use super::*;
use uring_harness::Observation;

/// `struct io_uring_query_hdr`.
pub const HDR_LEN: usize = 40;
/// IO_URING_QUERY_OPCODES, _ZCRX and _ZCRX_EVENT.
pub const QUERY_OPCODES: u32 = 0;
pub const QUERY_ZCRX: u32 = 1;
pub const QUERY_ZCRX_EVENT: u32 = 3;
/// `struct io_uring_query_opcode`.
pub const OPCODES_LEN: u32 = 48;
/// What an answer area holds before the call: a field the kernel forgets to write shows as
/// this, not as a zero that looks like an answer (io_handle_query_entry copies the caller's
/// `size` bytes in before the op fills its fields).
pub const FILL: u8 = 0xa5;

/// One `struct io_uring_query_hdr`.
pub use uring::abi::io_uring_query_hdr as Hdr;

/// A header asking `query_op` for `size` bytes at `query_data`, the end of a chain.
pub fn ask(query_op: u32, query_data: u64, size: u32) -> Hdr {
    Hdr {
        query_data,
        query_op,
        size,
        ..Hdr::default()
    }
}

/// The header's bytes as the kernel reads them.
pub fn hdr_bytes(h: &Hdr) -> Vec<u8> {
    let mut b = Vec::with_capacity(HDR_LEN);
    b.extend(h.next_entry.to_ne_bytes());
    b.extend(h.query_data.to_ne_bytes());
    b.extend(h.query_op.to_ne_bytes());
    b.extend(h.size.to_ne_bytes());
    b.extend(h.result.to_ne_bytes());
    h.resv.iter().for_each(|w| b.extend(w.to_ne_bytes()));
    b
}

/// The header at `off` of `m`.
pub fn read_hdr(m: &Mem, off: usize) -> Hdr {
    let a = Answer {
        result: 0,
        size: 0,
        data: m.read(off, HDR_LEN),
    };
    Hdr {
        next_entry: a.u64_at(0),
        query_data: a.u64_at(8),
        query_op: a.u32_at(16),
        size: a.u32_at(20),
        result: a.u32_at(24) as i32,
        resv: [a.u32_at(28), a.u32_at(32), a.u32_at(36)],
    }
}

/// What one query answered: the header's result and size, and the answer area's bytes.
pub struct Answer {
    pub result: i32,
    pub size: u32,
    pub data: Vec<u8>,
}

impl Answer {
    pub fn u32_at(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.data[off..off + 4].try_into().unwrap_or_default())
    }
    pub fn u64_at(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.data[off..off + 8].try_into().unwrap_or_default())
    }
    /// The offsets of the bytes from `from` on that are not zero (copy_struct_to_user
    /// zeroes the caller's bytes past the answer).
    pub fn nonzero_from(&self, from: usize) -> Vec<usize> {
        (from..self.data.len())
            .filter(|&i| self.data[i] != 0)
            .collect()
    }
}

/// `io_uring_register(-1, QUERY, m + off, 0)`: the chain that starts at `off` of `m`.
pub fn query_call(m: &Arc<Mem>, off: usize) -> RegisterCall<'_> {
    RegisterCall::new(
        FdArg::Num(-1),
        RegisterOp::QUERY,
        ArgPtr::Mem(m.slice(off, HDR_LEN)),
        0,
    )
}

/// Where [`query_with`] puts the answer: 64 bytes into the header's page.
const DATA_OFF: usize = 64;

/// One header `hdr` (its `query_data` set here) answered into an area filled with
/// [`FILL`], observed (the call's own description); returns the header's answer too.
pub fn query_with(cx: &Cx, hdr: Hdr) -> Result<(Observation, Answer), CaseError> {
    let len = hdr.size as usize;
    let m: Arc<Mem> = cx.mem(DATA_OFF + len.max(1))?;
    m.fill(FILL);
    let hdr = Hdr {
        query_data: m.addr() + DATA_OFF as u64,
        ..hdr
    };
    m.write(0, &hdr_bytes(&hdr));
    let what = format!(
        "(one header: query_op {}, size {}, result {}, __resv {:?})",
        hdr.query_op, hdr.size, hdr.result, hdr.resv
    );
    let obs = cx.register_in(query_call(&m, 0), &what)?;
    let h = read_hdr(&m, 0);
    let answer = Answer {
        result: h.result,
        size: h.size,
        data: m.read(DATA_OFF, len),
    };
    Ok((obs, answer))
}

/// One header asking `query_op` for `size` bytes.
pub fn query(cx: &Cx, query_op: u32, size: u32) -> Result<(Observation, Answer), CaseError> {
    query_with(cx, ask(query_op, 0, size))
}

/// `io_uring_enter(fd, 0, 0, flags, NULL, 0)`: submits nothing and passes no memory.
#[allow(unsafe_code)] // io_uring_enter
pub fn enter_nothing(fd: i32, flags: u32) -> Result<i32, Errno> {
    // SAFETY: to_submit is 0 and the argument is NULL with size 0: the kernel reads and
    // writes no memory of this process, whatever `fd` and `flags` are.
    unsafe {
        uring::sys::io_uring_enter(fd, 0, 0, uring::abi::EnterFlags(flags), std::ptr::null(), 0)
    }
}
