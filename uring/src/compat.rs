//! The compat (32-bit) io_uring ABI on x86_64: which layout a ring reads its iovecs and
//! msghdrs in, and memory below 4 GiB for the pointers a compat ring takes as 32-bit.
//!
//! A ring is a compat ring when io_uring_setup(2) came through the 32-bit entry
//! (io_uring_create: `if (in_compat_syscall()) ctx->int_flags |= IO_RING_F_COMPAT`); from
//! then on `io_is_compat(ctx)` decides the layout at every site that reads one, whichever
//! entry the later io_uring_register(2) or io_uring_enter(2) comes through:
//! rsrc.c io_sqe_buffers_register and __io_sqe_buffers_update (`iovec_from_user(.., compat)`
//! and the compat_iovec stride), io_prep_reg_iovec (READV/WRITEV_FIXED, SENDMSG_ZC with a
//! fixed buffer), rw.c io_import_vec (READV/WRITEV) and io_iov_buffer_select_prep (READV
//! with a provided buffer reads a `compat_iovec`), net.c io_msg_copy_hdr (a `compat_msghdr`
//! through io_compat_msg_copy_hdr, its `msg_iov` a compat pointer) and the
//! `MSG_CMSG_COMPAT` of io_sendmsg_prep, io_recvmsg_prep and io_send_zc_prep. Only two
//! sites ask the entry of the call itself, `in_compat_syscall()`: register.c
//! io_register_iowq_aff (the CPU mask) and wait.c io_cqring_wait's sigmask; this crate
//! enters register and enter through the native entry, so those two read native layouts.
//! (rw.c and net.c call `__import_iovec` with the ring's flag, not `import_iovec`, which
//! would ask the entry.)
//!
//! The layouts are never the caller's to choose: the public API takes iovecs as [`Iov`],
//! [`BufSlice`] or `{addr, len}` numbers, and the ring (or a builder told the ring's
//! [`Abi`]) lays them out; a value that does not fit in the 32 bits the compat layout has
//! for it is [`Error::Above32Bits`], the library's refusal, never a kernel errno.
//!
//! [`Iov`]: crate::register::Iov
//! [`BufSlice`]: crate::BufSlice
//! [`Error::Above32Bits`]: crate::Error::Above32Bits

use crate::Error;
use std::cell::Cell;

/// The layout a ring reads the structures behind its pointers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Abi {
    /// A ring set up through the native syscall entry: `struct iovec`, `struct user_msghdr`.
    #[default]
    Native,
    /// A ring set up through the 32-bit entry (`int 0x80`): `struct compat_iovec`
    /// (u32 base, u32 len), `struct compat_msghdr`; every pointer inside them is 32-bit.
    Compat,
}

/// `sizeof(struct compat_msghdr)`: seven 32-bit fields.
#[cfg(test)]
pub(crate) const COMPAT_MSGHDR_SIZE: usize = 28;
/// `sizeof(struct user_msghdr)` on 64-bit Linux.
pub(crate) const MSGHDR_SIZE: usize = 56;

impl Abi {
    /// `sizeof(struct iovec)` in this layout.
    pub fn iovec_size(self) -> usize {
        match self {
            Abi::Native => 16,
            Abi::Compat => 8,
        }
    }

    /// The smallest iovec length the kernel reads as negative in this layout, and refuses
    /// with EINVAL: SSIZE_MAX + 1 (lib/iov_iter.c copy_iovec_from_user, `(ssize_t)len < 0`),
    /// or for a compat iovec 2^31 (copy_compat_iovec_from_user reads `iov_len` as a
    /// `compat_ssize_t`: "compat_size_t not fitting in compat_ssize_t").
    pub fn first_negative_iov_len(self) -> u64 {
        match self {
            Abi::Native => 1 << 63,
            Abi::Compat => 1 << 31,
        }
    }

    /// `{base, len}` pairs as an iovec array in this layout (`compat_iovec` is
    /// `{compat_uptr_t iov_base; compat_size_t iov_len}`).
    pub(crate) fn iovecs(self, iovs: &[(u64, u64)]) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::with_capacity(iovs.len() * self.iovec_size());
        for &(base, len) in iovs {
            match self {
                Abi::Native => {
                    bytes.extend_from_slice(&base.to_ne_bytes());
                    bytes.extend_from_slice(&len.to_ne_bytes());
                }
                Abi::Compat => {
                    bytes.extend_from_slice(&fit32("an iovec base", base)?.to_ne_bytes());
                    bytes.extend_from_slice(&fit32("an iovec length", len)?.to_ne_bytes());
                }
            }
        }
        Ok(bytes)
    }

    /// A msghdr naming only its iovec array `iov` of `iovlen` entries (no name, no control
    /// data, no flags), in this layout.
    pub(crate) fn msghdr(self, iov: u64, iovlen: u64) -> Result<Vec<u8>, Error> {
        self.msghdr_of(&MsgHdr {
            iov,
            iovlen,
            ..MsgHdr::default()
        })
    }

    /// A msghdr naming the address `name` = (pointer, length) and its iovec array `iov` of
    /// `iovlen` entries (no control data, no flags), in this layout.
    pub(crate) fn msghdr_named(
        self,
        name: (u64, u32),
        iov: u64,
        iovlen: u64,
    ) -> Result<Vec<u8>, Error> {
        self.msghdr_of(&MsgHdr {
            name: name.0,
            namelen: name.1 as i32,
            iov,
            iovlen,
            ..MsgHdr::default()
        })
    }

    /// `m` as a msghdr in this layout: `user_msghdr` has `msg_name` at 0, `msg_namelen` at
    /// 8, `msg_iov` at 16, `msg_iovlen` at 24, `msg_control` at 32, `msg_controllen` at 40
    /// and `msg_flags` at 48; `compat_msghdr` has seven 32-bit fields in that order.
    pub fn msghdr_of(self, m: &MsgHdr) -> Result<Vec<u8>, Error> {
        Ok(match self {
            Abi::Native => {
                let mut b = vec![0u8; MSGHDR_SIZE];
                b[0..8].copy_from_slice(&m.name.to_ne_bytes());
                b[8..12].copy_from_slice(&m.namelen.to_ne_bytes());
                b[16..24].copy_from_slice(&m.iov.to_ne_bytes());
                b[24..32].copy_from_slice(&m.iovlen.to_ne_bytes());
                b[32..40].copy_from_slice(&m.control.to_ne_bytes());
                b[40..48].copy_from_slice(&m.controllen.to_ne_bytes());
                b[48..52].copy_from_slice(&m.flags.to_ne_bytes());
                b
            }
            Abi::Compat => [
                fit32("msg_name", m.name)?,
                m.namelen as u32,
                fit32("msg_iov", m.iov)?,
                fit32("msg_iovlen", m.iovlen)?,
                fit32("msg_control", m.control)?,
                fit32("msg_controllen", m.controllen)?,
                m.flags,
            ]
            .iter()
            .flat_map(|f| f.to_ne_bytes())
            .collect(),
        })
    }

    /// The msghdr in `b` (laid out by [`Abi::msghdr_of`]) read back: what the kernel wrote
    /// into it (`msg_controllen`, `msg_flags`) shows in which layout it wrote.
    pub fn msghdr_from(self, b: &[u8]) -> MsgHdr {
        let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap_or_default());
        let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or_default());
        match self {
            Abi::Native => MsgHdr {
                name: u64_at(0),
                namelen: u32_at(8) as i32,
                iov: u64_at(16),
                iovlen: u64_at(24),
                control: u64_at(32),
                controllen: u64_at(40),
                flags: u32_at(48),
            },
            Abi::Compat => MsgHdr {
                name: u32_at(0).into(),
                namelen: u32_at(4) as i32,
                iov: u32_at(8).into(),
                iovlen: u32_at(12).into(),
                control: u32_at(16).into(),
                controllen: u32_at(20).into(),
                flags: u32_at(24),
            },
        }
    }

    /// `sizeof(struct cmsghdr)` in this layout (`compat_cmsghdr`: a 32-bit `cmsg_len`).
    pub fn cmsghdr_size(self) -> usize {
        match self {
            Abi::Native => 16,
            Abi::Compat => 12,
        }
    }
}

/// The fields of a `struct user_msghdr`, pointers and lengths as numbers, for
/// [`Abi::msghdr_of`] to lay out in a ring's layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgHdr {
    /// `msg_name`.
    pub name: u64,
    /// `msg_namelen` (an `int`: negative values are the kernel's to refuse).
    pub namelen: i32,
    /// `msg_iov`.
    pub iov: u64,
    /// `msg_iovlen`.
    pub iovlen: u64,
    /// `msg_control`.
    pub control: u64,
    /// `msg_controllen`.
    pub controllen: u64,
    /// `msg_flags`.
    pub flags: u32,
}

/// `value` as the 32 bits the compat layout has for `what`, or the library's refusal.
fn fit32(what: &'static str, value: u64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::Above32Bits { what, value })
}

thread_local! {
    static BELOW_4G: Cell<bool> = const { Cell::new(false) };
}

/// While alive, every [`Mem`](crate::Mem) this thread maps lies below 4 GiB (MAP_32BIT), so
/// a compat ring can be given its addresses. Got from [`below_4g`]; dropping it restores
/// what the thread had before.
#[must_use = "memory is placed below 4 GiB only while the guard lives"]
pub struct Below4G {
    was: bool,
    /// Not `Send`: it restores the flag of the thread that made it.
    _thread: std::marker::PhantomData<*const ()>,
}

/// Places this thread's new [`Mem`](crate::Mem) regions below 4 GiB until the guard drops:
/// how code written for any ring (a test row) gets memory a compat ring can address.
pub fn below_4g() -> Below4G {
    Below4G {
        was: BELOW_4G.with(|b| b.replace(true)),
        _thread: std::marker::PhantomData,
    }
}

impl Drop for Below4G {
    fn drop(&mut self) {
        BELOW_4G.with(|b| b.set(self.was));
    }
}

/// Whether this thread's new mappings go below 4 GiB.
pub(crate) fn placing_below_4g() -> bool {
    BELOW_4G.with(|b| b.get())
}

/// The mmap flag that places a [`Mem`](crate::Mem)'s reservation, and so the region, where
/// this thread's placement says: MAP_32BIT (the low 2 GiB) inside a [`below_4g`] scope.
pub(crate) fn placement_flags() -> i32 {
    if !placing_below_4g() {
        return 0;
    }
    #[cfg(target_arch = "x86_64")]
    return libc::MAP_32BIT;
    #[cfg(not(target_arch = "x86_64"))]
    return 0; // no compat rings there (sys::io_uring_setup_compat is x86_64 only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_iovecs_are_two_u32s() {
        let b = Abi::Compat
            .iovecs(&[(0x1000, 5), (0xffff_f000, 7)])
            .unwrap();
        assert_eq!(b.len(), 16);
        assert_eq!(&b[0..4], &0x1000u32.to_ne_bytes());
        assert_eq!(&b[4..8], &5u32.to_ne_bytes());
        assert_eq!(&b[8..12], &0xffff_f000u32.to_ne_bytes());
        assert_eq!(Abi::Native.iovecs(&[(1, 2)]).unwrap().len(), 16);
    }

    #[test]
    fn values_above_32_bits_are_the_librarys_refusal() {
        let e = Abi::Compat.iovecs(&[(1 << 32, 1)]).unwrap_err();
        assert_eq!(
            e,
            Error::Above32Bits {
                what: "an iovec base",
                value: 1 << 32
            }
        );
        assert_eq!(e.kernel(), None);
        let e = Abi::Compat.msghdr(0x1_0000_0000, 1).unwrap_err();
        assert_eq!(e.kernel(), None);
    }

    #[test]
    fn compat_msghdr_has_iov_at_8() {
        let b = Abi::Compat.msghdr(0x2000, 3).unwrap();
        assert_eq!(b.len(), 28);
        assert_eq!(&b[8..12], &0x2000u32.to_ne_bytes());
        assert_eq!(&b[12..16], &3u32.to_ne_bytes());
        assert!(b[..8].iter().chain(&b[16..]).all(|&x| x == 0));
    }

    #[test]
    fn guard_restores_the_placement() {
        assert!(!placing_below_4g());
        {
            let _g = below_4g();
            assert!(placing_below_4g());
            {
                let _h = below_4g();
            }
            assert!(placing_below_4g());
        }
        assert!(!placing_below_4g());
    }
}
