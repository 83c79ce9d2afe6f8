//! IORING_REGISTER_MEM_REGION (6.14): what io_create_region checks in the region
//! descriptor, the mmap offset it reports for a kernel-allocated region, its size limits and
//! RLIMIT_MEMLOCK charge; and ring memory regions of 5 pages. With CAP_IPC_LOCK ctx->user is
//! NULL and nothing is charged to RLIMIT_MEMLOCK; without it the charge of INT_MAX pages fails
//! with the same ENOMEM.

use crate::common::*;
use std::sync::Arc;
use uring::abi::{CqeFlags, RegisterOp};
use uring::register::{ArgPtr, Iov};
use uring::{Mem, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Setup};

/// IORING_MAP_OFF_PARAM_REGION (memmap.h): the mmap offset of the ring's parameter region.
const MAP_OFF_PARAM_REGION: u64 = 0x2000_0000;

/// RLIMIT_MEMLOCK of the unprivileged rows: 2048 pages of 4 KiB, 128 of 64 KiB.
const MEMLOCK: u64 = 8 << 20;

/// `struct io_uring_region_desc` starts this far into the registration memory, after the
/// 32 bytes of `struct io_uring_mem_region_reg`.
const DESC_AT: usize = 64;

/// The fields of `struct io_uring_region_desc` a row sets (its `__resv` stays zero).
#[derive(Clone, Copy, Debug, Default)]
struct Desc {
    user_addr: u64,
    size: u64,
    flags: u32,
    id: u32,
    mmap_offset: u64,
}

impl Desc {
    /// A kernel-allocated region of `pages` pages.
    fn kernel(pages: u64) -> Desc {
        Desc {
            size: pages * uring::sys::page_size() as u64,
            ..Default::default()
        }
    }

    /// The 64 bytes of the struct (user_addr, size, flags, id, mmap_offset, __resv[4]).
    fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&self.user_addr.to_ne_bytes());
        b.extend_from_slice(&self.size.to_ne_bytes());
        b.extend_from_slice(&self.flags.to_ne_bytes());
        b.extend_from_slice(&self.id.to_ne_bytes());
        b.extend_from_slice(&self.mmap_offset.to_ne_bytes());
        b.resize(64, 0);
        b
    }
}

/// REGISTER_MEM_REGION of `d` (no WAIT_ARG flag) on `ring`, observed; also returns the
/// memory that holds the descriptor, which the kernel writes back on success.
fn register(
    cx: &Cx,
    ring: &Ring,
    d: Desc,
    what: &str,
) -> Result<(CaseResult, Arc<Mem>), CaseError> {
    let m = cx.mem(DESC_AT + 64)?;
    m.write(0, &(m.addr() + DESC_AT as u64).to_ne_bytes());
    m.write(DESC_AT, &d.bytes());
    let o = cx.sync(
        format!("io_uring_register(ring, MEM_REGION, {{region_uptr -> {d:?}}}, 1) {what}"),
        ring.registrar().register_raw(
            RegisterOp::MEM_REGION,
            &ArgPtr::Mem(m.slice(0, DESC_AT + 64)),
            1,
        ),
    );
    Ok((o, m))
}

/// A row registering `d` on a fresh ring and observing the answer.
fn refused(cx: &Cx, d: Desc, what: &str) -> CaseResult {
    let ring = cx.ring()?;
    register(cx, &ring, d, what)?.0
}

/// In an unprivileged child with RLIMIT_MEMLOCK [`MEMLOCK`]: a kernel-allocated region of
/// `pages` pages on one ring, buffers of all but `charged` pages of the limit on a second,
/// then one more page of buffer on a third, observed (ENOMEM where the region charged
/// `charged` pages).
fn region_charge(cx: &Cx, pages: u64, charged: usize) -> CaseResult {
    let page = uring::sys::page_size();
    let with_region = cx.ring()?;
    let (o, _m) = register(cx, &with_region, Desc::kernel(pages), "(flags 0)")?;
    cx.check(
        matches!(o?.answer, uring_harness::Answer::Sync(Ok(_))),
        || format!("the {pages}-page region was refused"),
    )?;
    let rest = MEMLOCK as usize / page - charged;
    let big = cx.mem(rest * page)?;
    let second = cx.ring()?;
    second
        .registrar()
        .register_buffers(&[Iov::Mem(big.slice(0, rest * page))])
        .setup(&format!(
            "buffers of all but {charged} pages of RLIMIT_MEMLOCK on a second ring"
        ))?;
    let one = cx.mem(page)?;
    let third = cx.ring()?;
    cx.sync(
        format!(
            "io_uring_register(ring, REGISTER_BUFFERS, [1 page], 1) with a {pages}-page region \
             and {rest} pages of buffers charged, RLIMIT_MEMLOCK {MEMLOCK}"
        ),
        third
            .registrar()
            .register_buffers(&[Iov::Mem(one.slice(0, page))])
            .map(|_| 0),
    )
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("mem_region::kernel_region_mmap_offset")
        .needs_level(&level::MEM_REGION)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "memmap.c:io_region_allocate_pages (reg->mmap_offset = mmap_offset) <- \
                 register.c:io_register_mem_region (copy_to_user of the descriptor)",
            )
            .rows(&["memreg_kernel_region"])
            .note(
                "a kernel-allocated region reports IORING_MAP_OFF_PARAM_REGION in its \
                 descriptor, and a page mapped there is the region",
            ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let page = uring::sys::page_size();
            let (o, m) = register(cx, &ring, Desc::kernel(1), "(one page, flags 0)")?;
            let o = o?;
            if matches!(o.answer, uring_harness::Answer::Sync(Ok(_))) {
                let off = u64::from_ne_bytes(m.read(DESC_AT + 24, 8).try_into().expect("8"));
                cx.check_eq("mmap_offset written back", off, MAP_OFF_PARAM_REGION)?;
                cx.check_eq(
                    "mmap of one page at IORING_MAP_OFF_PARAM_REGION",
                    ring.mmap_raw(MAP_OFF_PARAM_REGION, page, 0),
                    Ok(()),
                )?;
            }
            Ok(o)
        }),
    Case::new("mem_region::mmap_offset_given")
        .needs_level(&level::MEM_REGION)
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("memmap.c:io_create_region (reg->mmap_offset set)")
                .rows(&["memreg_desc_checks"]),
        )
        .run(|cx| {
            let d = Desc {
                mmap_offset: MAP_OFF_PARAM_REGION,
                ..Desc::kernel(1)
            };
            refused(cx, d, "(one page, mmap_offset given)")
        }),
    Case::new("mem_region::id_given")
        .needs_level(&level::MEM_REGION)
        .expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("memmap.c:io_create_region (reg->id set)").rows(&["memreg_desc_checks"]))
        .run(|cx| {
            let d = Desc {
                id: 1,
                ..Desc::kernel(1)
            };
            refused(cx, d, "(one page, id 1)")
        }),
    Case::new("mem_region::user_addr_without_type_user")
        .needs_level(&level::MEM_REGION)
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel(
                "memmap.c:io_create_region (user_addr set IFF IORING_MEM_REGION_TYPE_USER)",
            )
            .rows(&["memreg_desc_checks"]),
        )
        .run(|cx| {
            let m = cx.mem(uring::sys::page_size())?;
            let d = Desc {
                user_addr: m.addr(),
                ..Desc::kernel(1)
            };
            refused(cx, d, "(a mapped page's address, flags 0)")
        }),
    Case::new("mem_region::size_int_max_pages")
        .needs_level(&level::MEM_REGION)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel(
                "memmap.c:io_create_region ((size >> PAGE_SHIFT) > INT_MAX: E2BIG) -> \
                 io_region_allocate_pages (kvmalloc of INT_MAX page pointers, above INT_MAX \
                 bytes: NULL)",
            )
            .rows(&["memreg_size_limits"])
            .note(
                "INT_MAX pages pass the E2BIG check; the page array (8 bytes a page) is \
                 beyond what kvmalloc gives on any machine: ENOMEM",
            ),
        )
        .run(|cx| refused(cx, Desc::kernel(i32::MAX as u64), "(INT_MAX pages)")),
    Case::new("mem_region::size_above_int_max_pages")
        .needs_level(&level::MEM_REGION)
        .expect(Expect::errno(E::E2BIG))
        .cite(
            Cite::kernel("memmap.c:io_create_region ((size >> PAGE_SHIFT) > INT_MAX)")
                .rows(&["memreg_size_limits"]),
        )
        .run(|cx| refused(cx, Desc::kernel(i32::MAX as u64 + 1), "(INT_MAX + 1 pages)")),
    Case::new("mem_region::rings_of_five_pages")
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(
            Cite::kernel(
                "memmap.c:io_mem_alloc_compound (get_order rounds 5 pages up to 8: extra \
                 pages, charged to no one for ring memory) <- io_uring.c:io_allocate_scq_urings",
            )
            .rows(&["memreg_kernel_region"])
            .note(
                "page / 8 entries: 2 * entries 16-byte CQEs are 4 pages, the SQ array and ring \
                 header a fifth; a NOP goes round",
            ),
        )
        .run(|cx| {
            let entries = (uring::sys::page_size() / 8) as u32;
            let mut ring = cx.ring_with(Ring::builder(entries))?;
            let c = cx.submit_one(&mut ring, uring::op::nop().user_data(5))?;
            cx.observe(
                c,
                &format!("on a ring of {entries} entries (rings region of 5 pages)"),
            )
        }),
    Case::new("mem_region::three_pages_charged_as_four")
        .needs_level(&level::REGION_COMPOUND_CHARGE)
        .unprivileged(MEMLOCK)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel(
                "memmap.c:io_mem_alloc_compound (the pages get_order rounds up to are charged \
                 too) / io_create_region (__io_account_mem) -> rsrc.c:io_buffer_account_pin",
            )
            .rows(&["memreg_memlock"])
            .note(
                "without CAP_IPC_LOCK a 3-page region is one compound allocation of 4 pages and \
                 charges 4: with buffers of all but 4 pages of RLIMIT_MEMLOCK registered, one \
                 more page does not fit",
            ),
        )
        .run(|cx| region_charge(cx, 3, 4)),
];
