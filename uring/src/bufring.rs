//! Provided-buffer rings (IORING_REGISTER_PBUF_RING): in application memory or allocated
//! by the kernel and mmapped (`IOU_PBUF_RING_MMAP`), with add / advance / cq_advance and
//! incremental consumption (`IOU_PBUF_RING_INC`).
//!
//! A buffer ring does its own registration (through the ring's
//! [`Registrar`](crate::register::Registrar)) and is then held by its [`Ring`] as an
//! attachment: the ring keeps it, and at teardown the memory it lent the kernel, without
//! knowing what a buffer ring is.
#![allow(unsafe_code)]

use crate::abi::{io_uring_buf, io_uring_buf_reg, mmap_off, PbufFlags, BUF_RING_TAIL_OFFSET};
use crate::mem::{BufSlice, Mapping, Mem, UserPtr};
use crate::register::buf_reg;
use crate::ring::{Attachment, Ring};
use crate::sys::page_size;
use crate::{Errno, Error};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

/// Where a buffer ring lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufRingMemory {
    /// Application memory (a fresh `Mem`), registered by address.
    App,
    /// Allocated by the kernel (`IOU_PBUF_RING_MMAP`) and mmapped at `IORING_OFF_PBUF_RING | bgid << 16`.
    KernelMmap,
}

/// A registered provided-buffer ring. Owned by its [`Ring`]; reach it with [`Ring::buf_ring`].
pub struct BufRing {
    bgid: u16,
    entries: u32,
    flags: PbufFlags,
    base: *mut io_uring_buf,
    tail: u16,
    /// The mmap of a kernel-allocated ring: held only to unmap it when the BufRing goes.
    _kernel_map: Option<Mapping>,
    /// The ring memory (App) and every buffer ever added: the kernel may write into them.
    anchors: Vec<Arc<Mem>>,
}

// SAFETY: `base` points into memory owned by this BufRing (_kernel_map or anchors[0]);
// all mutation goes through `&mut self`.
unsafe impl Send for BufRing {}

impl BufRing {
    /// The group id.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }
    /// Number of entries.
    pub fn entries(&self) -> u32 {
        self.entries
    }
    /// The registration flags.
    pub fn flags(&self) -> PbufFlags {
        self.flags
    }
    /// The tail we have published.
    pub fn tail(&self) -> u16 {
        self.tail
    }
    fn mask(&self) -> u32 {
        self.entries - 1
    }

    /// Resets the tail to 0 (io_uring_buf_ring_init).
    pub fn init(&mut self) {
        self.tail = 0;
        self.tail_atomic().store(0, Ordering::Release);
    }

    fn tail_atomic(&self) -> &AtomicU16 {
        // SAFETY: the tail is the u16 at byte 14 of the ring (uapi), inside our mapping and
        // 2-byte aligned; the kernel only reads it.
        unsafe { &*((self.base as *mut u8).add(BUF_RING_TAIL_OFFSET) as *const AtomicU16) }
    }

    /// Writes entry `tail + offset` = `{buf, bid}` without publishing it (io_uring_buf_ring_add).
    pub fn add(&mut self, buf: &BufSlice, bid: u16, offset: u16) {
        self.anchors.push(buf.mem().clone());
        self.write_entry(buf.addr(), buf.len() as u32, bid, offset);
    }

    /// Like [`BufRing::add`] with any address (a foreign one: to test the kernel's checks) and length.
    pub fn add_ptr(&mut self, ptr: &UserPtr, len: u32, bid: u16, offset: u16) {
        if let Some(m) = ptr.mem() {
            self.anchors.push(m.clone());
        }
        self.write_entry(ptr.addr(), len, bid, offset);
    }

    fn write_entry(&mut self, addr: u64, len: u32, bid: u16, offset: u16) {
        let idx = (self.tail.wrapping_add(offset) as u32 & self.mask()) as usize;
        // SAFETY: idx < entries, so the entry lies inside the ring memory; entries between
        // the kernel's head and our unpublished tail are ours to write. Entry 0's `resv`
        // is the tail: only addr/len/bid are written, never the whole struct.
        unsafe {
            let e = self.base.add(idx);
            std::ptr::addr_of_mut!((*e).addr).write_volatile(addr);
            std::ptr::addr_of_mut!((*e).len).write_volatile(len);
            std::ptr::addr_of_mut!((*e).bid).write_volatile(bid);
        }
    }

    /// Publishes `n` added entries (store-release of the tail; io_uring_buf_ring_advance).
    pub fn advance(&mut self, n: u16) {
        self.tail = self.tail.wrapping_add(n);
        self.tail_atomic().store(self.tail, Ordering::Release);
    }

    /// Reads entry `idx` as it is now (with INC the kernel writes back addr and len).
    pub fn entry(&self, idx: u32) -> io_uring_buf {
        let idx = (idx & self.mask()) as usize;
        // SAFETY: idx < entries: inside the ring memory; volatile because the kernel writes it.
        unsafe {
            let e = self.base.add(idx);
            io_uring_buf {
                addr: std::ptr::addr_of!((*e).addr).read_volatile(),
                len: std::ptr::addr_of!((*e).len).read_volatile(),
                bid: std::ptr::addr_of!((*e).bid).read_volatile(),
                resv: 0,
            }
        }
    }
}

impl Attachment for BufRing {
    /// Unmaps a kernel-allocated ring (the kernel keeps its own pages) and returns the
    /// memory the kernel may still write: the app ring memory and every buffer added.
    fn into_anchors(self: Box<Self>) -> Vec<Arc<Mem>> {
        self.anchors
    }
}

impl Ring {
    /// Allocates and registers a buffer ring of `entries` for group `bgid`
    /// (io_uring_setup_buf_ring); the ring starts empty with tail 0.
    pub fn setup_buf_ring(
        &mut self,
        bgid: u16,
        entries: u32,
        memory: BufRingMemory,
        flags: PbufFlags,
    ) -> Result<&mut BufRing, Errno> {
        let bytes = (entries as usize * std::mem::size_of::<io_uring_buf>()).max(1);
        match memory {
            BufRingMemory::App => {
                let mem = Mem::new(bytes)?;
                self.register_buf_ring(mem.slice(0, bytes), entries, bgid, flags)
            }
            BufRingMemory::KernelMmap => {
                let flags = flags | PbufFlags::MMAP;
                self.registrar()
                    .register_pbuf_ring_raw(None, buf_reg(bgid, entries, flags))?;
                match self.map_kernel_ring(bgid, entries) {
                    Ok(map) => self.install_mapped(bgid, entries, flags, map),
                    Err(e) => {
                        let _ = self.registrar().unregister_pbuf_ring_raw(buf_reg(
                            bgid,
                            0,
                            PbufFlags::NONE,
                        ));
                        Err(e)
                    }
                }
            }
        }
    }

    /// mmaps the kernel-allocated ring of group `bgid`, already registered with
    /// `IOU_PBUF_RING_MMAP` and `entries` entries (by
    /// [`Registrar::register_pbuf_ring_raw`](crate::register::Registrar::register_pbuf_ring_raw)),
    /// at `IORING_OFF_PBUF_RING | bgid << 16` and takes it as this ring's buffer ring of that
    /// group (tail 0). The mapping lives as long as the [`BufRing`], whatever happens to
    /// the kernel's registration meanwhile.
    pub fn map_buf_ring(
        &mut self,
        bgid: u16,
        entries: u32,
        flags: PbufFlags,
    ) -> Result<&mut BufRing, Errno> {
        let map = self.map_kernel_ring(bgid, entries)?;
        self.install_mapped(bgid, entries, flags, map)
    }

    /// Takes the kernel-allocated ring mapped at `map` as group `bgid`'s buffer ring.
    fn install_mapped(
        &mut self,
        bgid: u16,
        entries: u32,
        flags: PbufFlags,
        map: Mapping,
    ) -> Result<&mut BufRing, Errno> {
        let base = map.ptr() as *mut io_uring_buf;
        self.install(BufRing {
            bgid,
            entries,
            flags,
            base,
            tail: 0,
            _kernel_map: Some(map),
            anchors: Vec::new(),
        })
    }

    fn map_kernel_ring(&self, bgid: u16, entries: u32) -> Result<Mapping, Errno> {
        let bytes = (entries as usize * std::mem::size_of::<io_uring_buf>()).max(1);
        let len = bytes.div_ceil(page_size()) * page_size();
        Mapping::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            Some(self.as_fd()),
            mmap_off::pbuf_ring(bgid),
        )
    }

    /// Registers caller memory as the buffer ring of group `bgid` (io_uring_register_buf_ring).
    /// `ring` must be page aligned and hold `entries` entries.
    pub fn register_buf_ring(
        &mut self,
        ring: BufSlice,
        entries: u32,
        bgid: u16,
        flags: PbufFlags,
    ) -> Result<&mut BufRing, Errno> {
        self.register_buf_ring_with(ring, buf_reg(bgid, entries, flags))
    }

    /// Like [`Ring::register_buf_ring`] with every field of the registration given
    /// (e.g. `min_left`); `reg.ring_addr` is replaced by the address of `ring`.
    pub fn register_buf_ring_with(
        &mut self,
        ring: BufSlice,
        reg: io_uring_buf_reg,
    ) -> Result<&mut BufRing, Errno> {
        let (entries, bgid, flags) = (reg.ring_entries, reg.bgid, reg.flags);
        assert!(
            ring.len() >= entries as usize * 16,
            "ring memory smaller than its entries"
        );
        self.registrar()
            .register_pbuf_ring_raw(Some(&UserPtr::Mem(ring.clone())), reg)?;
        // SAFETY (of later accesses): the pointer stays valid while `anchors[0]` holds the Mem.
        let base = ring.addr() as *mut io_uring_buf;
        let anchors = vec![ring.mem().clone()];
        self.install(BufRing {
            bgid,
            entries,
            flags,
            base,
            tail: 0,
            _kernel_map: None,
            anchors,
        })
    }

    /// Holds `br` as this ring's buffer ring of its group. The kernel may have accepted a
    /// second ring for the group (the old one unregistered behind our back): the old one's
    /// memory stays alive with the ring.
    fn install(&mut self, mut br: BufRing) -> Result<&mut BufRing, Errno> {
        br.init();
        Ok(self.attach(br.bgid.into(), br))
    }

    /// mmap(2) of this ring's fd at `IORING_OFF_PBUF_RING | bgid << 16` with `len` bytes,
    /// `MAP_SHARED`, and address hint `hint` (never `MAP_FIXED`); a successful mapping is
    /// unmapped at once. For testing the kernel's checks of the buffer-ring offset.
    pub fn mmap_pbuf_raw(&self, bgid: u16, len: usize, hint: u64) -> Result<(), Errno> {
        self.mmap_raw(mmap_off::pbuf_ring(bgid), len, hint)
    }

    /// mmap(2) of this ring's fd at any offset (see [`Ring::mmap_pbuf_raw`]).
    pub fn mmap_raw(&self, offset: u64, len: usize, hint: u64) -> Result<(), Errno> {
        // SAFETY: without MAP_FIXED the hint is only advice: the kernel never replaces an
        // existing mapping, so no memory Rust uses can be affected; the fd is our ring.
        let p = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd(),
                offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        // SAFETY: `p..p+len` is the fresh mapping created just above; nothing refers to it.
        unsafe { libc::munmap(p, len) };
        Ok(())
    }

    /// The buffer ring of group `bgid`, if this ring set one up.
    pub fn buf_ring(&mut self, bgid: u16) -> Option<&mut BufRing> {
        self.attachment(bgid.into())
    }

    /// Unregisters and frees the buffer ring of group `bgid` (io_uring_free_buf_ring).
    /// Its buffers stay alive until the ring is dropped: requests may still use them.
    pub fn free_buf_ring(&mut self, bgid: u16) -> Result<(), Error> {
        self.registrar()
            .unregister_pbuf_ring_raw(io_uring_buf_reg {
                bgid,
                ..Default::default()
            })?;
        self.detach::<BufRing>(bgid.into());
        Ok(())
    }

    /// Publishes `bufs` buffers of group `bgid` and marks `cqes` CQEs seen
    /// (io_uring_buf_ring_cq_advance). CQEs taken with `next_cqe`/`drain` are already seen.
    pub fn buf_ring_cq_advance(&mut self, bgid: u16, bufs: u16, cqes: u32) {
        if let Some(br) = self.buf_ring(bgid) {
            br.advance(bufs);
        }
        self.cq_advance(cqes);
    }
}
