//! What the kernel supports and allows: PROBE, RESTRICTIONS, and QUERY (which needs no ring).

use super::Registrar;
use crate::abi::{
    io_uring_probe, io_uring_probe_op, io_uring_query_hdr, io_uring_query_opcode,
    io_uring_restriction, Opcode, RegisterOp, IO_URING_OP_SUPPORTED,
};
use crate::sys;
use crate::Errno;
use std::ffi::c_void;

/// The answer of IORING_REGISTER_PROBE.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Highest opcode the kernel knows.
    pub last_op: u8,
    /// The per-opcode entries returned.
    pub ops: Vec<io_uring_probe_op>,
}

impl Probe {
    /// Whether `op` is supported.
    pub fn supports(&self, op: Opcode) -> bool {
        self.ops
            .iter()
            .any(|o| o.op == op.0 && o.flags & IO_URING_OP_SUPPORTED != 0)
    }
}

impl Registrar<'_> {
    /// IORING_REGISTER_RESTRICTIONS (ring must be R_DISABLED).
    pub fn register_restrictions(&self, res: &[io_uring_restriction]) -> Result<(), Errno> {
        let mut v = res.to_vec();
        // SAFETY: the kernel reads `res.len()` restriction structs from `v`.
        unsafe {
            sys::io_uring_register(
                self.fd(),
                RegisterOp::RESTRICTIONS,
                v.as_mut_ptr() as *const c_void,
                v.len() as u32,
            )
        }
        .map(|_| ())
    }

    /// IORING_REGISTER_PROBE for all 256 opcodes.
    pub fn probe(&self) -> Result<Probe, Errno> {
        #[repr(C)]
        struct Buf {
            hdr: io_uring_probe,
            ops: [io_uring_probe_op; 256],
        }
        let mut b = Buf {
            hdr: Default::default(),
            ops: [Default::default(); 256],
        };
        self.register_val(RegisterOp::PROBE, &mut b, 256)?;
        let n = (b.hdr.ops_len as usize).min(256);
        Ok(Probe {
            last_op: b.hdr.last_op,
            ops: b.ops[..n].to_vec(),
        })
    }
}

/// IORING_REGISTER_QUERY (opcodes): the call's own answer (Err: no QUERY here, or the call
/// was refused), and inside it the header's `result` (Err: the kernel refused the entry).
/// The two are apart because the call succeeds even when its entry does not: a kernel
/// that has QUERY but answers a valid header wrongly is a kernel to test, not one without it.
pub fn query_opcodes() -> Result<Result<io_uring_query_opcode, Errno>, Errno> {
    let mut out = io_uring_query_opcode::default();
    let mut hdr = io_uring_query_hdr {
        query_data: &mut out as *mut _ as u64,
        query_op: 0,
        size: std::mem::size_of::<io_uring_query_opcode>() as u32,
        ..Default::default()
    };
    // SAFETY: the kernel reads `hdr`, writes `hdr.result`/`size` and at most `size` bytes
    // into `out`; both live on this frame for the call.
    unsafe {
        sys::io_uring_register(
            -1,
            RegisterOp::QUERY,
            &mut hdr as *mut _ as *const c_void,
            0,
        )
    }?;
    Ok(Errno::from_res(hdr.result).map(|_| out))
}
