//! Provided-buffer ring registration (PBUF_RING, UNREGISTER_PBUF_RING, PBUF_STATUS) with raw
//! fields; [`crate::bufring`] builds the buffer rings on these calls.

use super::Registrar;
use crate::abi::{io_uring_buf_reg, io_uring_buf_status, PbufFlags, RegisterOp};
use crate::mem::{ForeignAddr, UserPtr};
use crate::{Errno, Error};

impl Registrar<'_> {
    /// IORING_REGISTER_PBUF_RING with raw fields and the ring memory (if not kernel-allocated).
    /// Prefer [`Ring::setup_buf_ring`]; this is for sending invalid registrations.
    pub fn register_pbuf_ring_raw(
        &self,
        ring: Option<&UserPtr>,
        reg: io_uring_buf_reg,
    ) -> Result<(), Errno> {
        let mut r = reg;
        if let Some(p) = ring {
            r.ring_addr = p.addr();
        }
        // The ring memory, if any, is a Mem or foreign: pinned by the kernel, never freed under it.
        self.register_val(RegisterOp::PBUF_RING, &mut r, 1)
            .map(|_| ())
    }

    /// IORING_UNREGISTER_PBUF_RING with raw fields (only `bgid` should be set).
    /// A `ring_addr` that is neither 0 nor foreign is refused without a syscall
    /// ([`Error::Usage`]): unregistering never needs a real address, and the safe API hands
    /// the kernel no address outside a `Mem`.
    pub fn unregister_pbuf_ring_raw(&self, reg: io_uring_buf_reg) -> Result<(), Error> {
        let mut r = reg;
        if r.ring_addr != 0 && ForeignAddr::new(r.ring_addr).is_none() {
            return Err(Error::Usage(
                "UNREGISTER_PBUF_RING with a real ring_addr (unregistering never needs one)",
            ));
        }
        self.register_val(RegisterOp::UNREGISTER_PBUF_RING, &mut r, 1)
            .map(|_| ())
            .map_err(Error::Kernel)
    }

    /// IORING_REGISTER_PBUF_STATUS: the kernel's head of group `bgid`'s ring.
    pub fn pbuf_status(&self, bgid: u32) -> Result<u32, Errno> {
        self.pbuf_status_raw(io_uring_buf_status {
            buf_group: bgid,
            ..Default::default()
        })
        .map(|s| s.head)
    }

    /// IORING_REGISTER_PBUF_STATUS with raw fields.
    pub fn pbuf_status_raw(&self, st: io_uring_buf_status) -> Result<io_uring_buf_status, Errno> {
        let mut s = st;
        self.register_val(RegisterOp::PBUF_STATUS, &mut s, 1)?;
        Ok(s)
    }
}

/// `io_uring_buf_reg` for group `bgid` with `entries` and `flags`, other fields zero.
pub fn buf_reg(bgid: u16, entries: u32, flags: PbufFlags) -> io_uring_buf_reg {
    io_uring_buf_reg {
        ring_entries: entries,
        bgid,
        flags,
        ..Default::default()
    }
}
