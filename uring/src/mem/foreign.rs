//! Addresses handed to the kernel that are not memory of a [`Mem`](super::Mem): those this
//! process never maps ([`ForeignAddr`]), and either kind as one argument ([`UserPtr`]).

use super::{BufSlice, Mem};
use std::sync::Arc;

/// An address this process never maps, so the kernel can be handed it safely: it can only
/// fault. NULL, the first 128 KiB (this crate never maps with MAP_FIXED or a hint, and the
/// kernel's top-down allocator never places a mapping there), and the upper half of the
/// address space (kernel addresses, non-canonical values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForeignAddr(u64);

impl ForeignAddr {
    /// NULL.
    pub const NULL: ForeignAddr = ForeignAddr(0);
    /// The page at 4096: never mapped by this process.
    pub const LOW: ForeignAddr = ForeignAddr(4096);
    /// A kernel address (fails access_ok, except on s390x, whose user space is an address
    /// space of its own: there it is an unmapped user address).
    pub const KERNEL: ForeignAddr = ForeignAddr(0xffff_ffff_8000_0000);
    /// The last page of the address space: `addr + len` wraps for any len above a page.
    pub const TOP_PAGE: ForeignAddr = ForeignAddr(0xffff_ffff_ffff_f000);

    /// The first page above NULL at this page size (4, 16 or 64 KiB): page-aligned, as a call
    /// that refuses an unaligned address before it touches memory needs (`io_create_region`).
    pub fn low_page() -> ForeignAddr {
        ForeignAddr(crate::sys::page_size() as u64)
    }

    /// `Some` for addresses below 128 KiB or in the upper half of the address space.
    pub const fn new(addr: u64) -> Option<ForeignAddr> {
        if addr < 0x2_0000 || addr >= 0x8000_0000_0000_0000 {
            Some(ForeignAddr(addr))
        } else {
            None
        }
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// An address handed to the kernel: inside a [`Mem`], or foreign.
#[derive(Clone, Debug)]
pub enum UserPtr {
    /// Points into a `Mem` (which it keeps alive).
    Mem(BufSlice),
    /// An address we never map.
    Foreign(ForeignAddr),
}

impl UserPtr {
    /// The address value.
    pub fn addr(&self) -> u64 {
        match self {
            UserPtr::Mem(s) => s.addr(),
            UserPtr::Foreign(f) => f.get(),
        }
    }
    /// The region to keep alive, if any.
    pub fn mem(&self) -> Option<&Arc<Mem>> {
        match self {
            UserPtr::Mem(s) => Some(s.mem()),
            UserPtr::Foreign(_) => None,
        }
    }
}

impl From<BufSlice> for UserPtr {
    fn from(s: BufSlice) -> Self {
        UserPtr::Mem(s)
    }
}

impl From<ForeignAddr> for UserPtr {
    fn from(f: ForeignAddr) -> Self {
        UserPtr::Foreign(f)
    }
}
