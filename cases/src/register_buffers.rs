//! §1.1: registering buffers — REGISTER_BUFFERS, with the effect of each successful
//! registration (I/O through the slots). BUFFERS2 is in `register_buffers2`, BUFFERS_UPDATE
//! in `buffers_update`, UNREGISTER_BUFFERS in `unregister_buffers`, READ_FIXED /
//! WRITE_FIXED in `fixed_io`.

use crate::common::buffers::{b2, buffers2};
use crate::common::*;
use uring::abi::RegisterOp;
use uring::register::{ArgPtr, ArrayArg, Buffers2, Iov};
use uring::{ForeignAddr, Mem};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

/// The premise of `memlock_up_to_limit`: a ring's own pages are not charged to the user, so
/// the whole limit is left for the buffer. 6.14-6.18-era kernels charge them (memmap.c
/// io_create_region with ctx->user; 7.2 passes no user: "ring memory is not charged to
/// RLIMIT_MEMLOCK"): told apart by a ring set up under a soft limit of 0, which such a
/// kernel refuses with ENOMEM whatever __io_account_mem's comparison is.
fn rings_not_charged() -> Result<(), CaseError> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let nix_errno = |e: nix::errno::Errno| E(e as i32);
    let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK)
        .map_err(nix_errno)
        .setup("getrlimit(RLIMIT_MEMLOCK)")?;
    setrlimit(Resource::RLIMIT_MEMLOCK, 0, hard)
        .map_err(nix_errno)
        .setup("setrlimit(RLIMIT_MEMLOCK, 0)")?;
    let ring = uring::Ring::builder(8).build();
    setrlimit(Resource::RLIMIT_MEMLOCK, soft, hard)
        .map_err(nix_errno)
        .setup("setrlimit(RLIMIT_MEMLOCK) back")?;
    match ring.map(drop).map_err(uring::Error::kernel) {
        Ok(()) => Ok(()),
        Err(Some(E::ENOMEM)) => Err(CaseError::Skip(uring_harness::SkipCause::Fact {
            fact: "ring_pages_not_charged".into(),
            needs: "a ring whose own pages are not charged to RLIMIT_MEMLOCK, so that the whole \
                    limit is left for the buffer"
                .into(),
            probe: "io_uring_setup(8) under RLIMIT_MEMLOCK 0 as this uid: ENOMEM (the ring's \
                    pages are charged, as by 6.14-6.18-era kernels)"
                .into(),
        })),
        Err(e) => Err(CaseError::Broken(format!(
            "io_uring_setup(8) under RLIMIT_MEMLOCK 0: {e:?}"
        ))),
    }
}

/// The RLIMIT_MEMLOCK of `memlock_up_to_limit`, registered whole: a whole number of pages at
/// every page size (4, 16 and 64 KiB), so the buffer is exactly the limit.
const MEMLOCK_EXACT: u64 = 64 * 1024;

/// Registration of `mem` memory mapped from a regular file (shared or private); where it
/// succeeds, I/O through it lands in the mapping (a private one leaves the file alone).
fn file_mapping(cx: &Cx, shared: bool) -> CaseResult {
    let (f, orig) = data_file(cx, 8192, 3)?;
    let mem = Mem::map_file(&f, 8192, shared).setup("mmap the file")?;
    let mut ring = cx.ring()?;
    let r = register(cx, &ring, &[Iov::Mem(mem.slice(0, 8192))])?;
    if answered_zero(&r) {
        reads_into(cx, &mut ring, 0, &mem, 4096 + 100)?;
        if !shared {
            let mut back = vec![0u8; 8192];
            use std::os::unix::fs::FileExt;
            f.read_exact_at(&mut back, 0)
                .setup("read the mapped file")?;
            cx.check_eq(
                "the file behind the MAP_PRIVATE buffer after a READ_FIXED into it",
                back,
                orig,
            )?;
        }
    }
    let kind = if shared { "MAP_SHARED" } else { "MAP_PRIVATE" };
    Ok(uring_harness::Observation {
        call: format!("{} over a {kind} regular-file mapping", r.call),
        ..r
    })
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The registered-buffer rows.
pub const CASES: &[Case] = &[
    // ---- §1.1 REGISTER_BUFFERS ----
    Case::new("register_buffers::arg_null")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_BUFFERS)")
                .rows(&["buf_reg_arg_null"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(cx, &ring, RegisterOp::BUFFERS, ArgPtr::NULL, 1)
        }),
    Case::new("register_buffers::nr_zero")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register")
                .man(REG, "ERRORS: EINVAL (nr_args 0)")
                .rows(&["buf_reg_nr_zero"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let one = [page(cx)?];
            cx.sync(
                "io_uring_register(ring, REGISTER_BUFFERS, [valid iovec], 0)",
                ring.registrar()
                    .register_buffers_arg(&ArrayArg::Values(&one), 0)
                    .map(|_| 0),
            )
        }),
    Case::new("register_buffers::nr_over_16384")
        .expect(Expect::errno(E::EINVAL))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (IORING_MAX_REG_BUFFERS)")
                .man(REG, "ERRORS: EINVAL")
                .rows(&["buf_reg_nr_too_many"])
                .note(
                    "register.2 says the limit is UIO_MAXIOV (1024); the kernel's is \
                     IORING_MAX_REG_BUFFERS = 16384 since 5.13",
                ),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let one = [page(cx)?];
            cx.sync(
                "io_uring_register(ring, REGISTER_BUFFERS, iovecs, 16385)",
                ring.registrar()
                    .register_buffers_arg(&ArrayArg::Values(&one), 16_385)
                    .map(|_| 0),
            )
        }),
    Case::new("register_buffers::16384_empty_slots")
        .requires(&[Feature::RsrcTags, Feature::OpReadWriteFixed])
        .expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register").rows(&["buf_reg_nr_too_many"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let iovs = vec![Iov::Empty; 16_384];
            let r = ring.registrar().register_buffers(&iovs);
            let obs = cx.sync(
                "io_uring_register(ring, REGISTER_BUFFERS, 16384 x {NULL, 0}, 16384)",
                r.map(|_| 0),
            )?;
            if answered_zero(&obs) {
                let (f, _) = data_file(cx, 64, 1)?;
                let c = read_fixed(cx, &mut ring, fd(&f), 0x10000, 8, 16_383)?;
                cx.check_eq("READ_FIXED into empty slot 16383", c.res, -libc::EFAULT)?;
                let m = cx.mem(4096)?;
                cx.check_step(
                    "BUFFERS_UPDATE of slot 16383",
                    ring.registrar()
                        .update_buffers(16_383, &[Iov::Mem(m.all())], &[]),
                    1,
                )?;
                reads_into(cx, &mut ring, 16_383, &m, 0)?;
            }
            Ok(obs)
        }),
    Case::new("register_buffers::table_exists")
        .expect(Expect::errno(E::EBUSY))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (ctx->buf_table.nr)")
                .man(REG, "ERRORS: EBUSY")
                .rows(&["buf_reg_busy"]),
        )
        .run(|cx| {
            let (ring, _mem) = ring_with_buffers(cx, 1)?;
            let again = [page(cx)?];
            register(cx, &ring, &again)
        }),
    Case::new("register_buffers::sparse_table_exists")
        .requires(&[Feature::SparseBuffers])
        .expect(Expect::errno(E::EBUSY))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (ctx->buf_table.nr)")
                .man(REG, "ERRORS: EBUSY")
                .rows(&["buf_reg_busy"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            ring.registrar()
                .register_buffers_sparse(4)
                .setup("sparse table")?;
            let again = [page(cx)?];
            register(cx, &ring, &again)
        }),
    Case::new("register_buffers::iovec_array_unmapped")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("lib/iov_iter.c:iovec_from_user via rsrc.c:io_sqe_buffers_register")
                .man(REG, "ERRORS: EFAULT")
                .rows(&["buf_reg_iov_fault"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register_raw(
                cx,
                &ring,
                RegisterOp::BUFFERS,
                ArgPtr::Foreign(ForeignAddr::LOW),
                1,
            )
        }),
    Case::new("register_buffers::len_negative")
        .expect(Expect::by_level(
            &level::IOVEC_LEN_CHECK,
            Want::errno(E::EINVAL),
            Want::errno(E::EFAULT),
        ))
        .cite(
            Cite::kernel("lib/iov_iter.c:copy_iovec_from_user / copy_compat_iovec_from_user")
                .rows(&["buf_reg_len_negative"])
                .note(
                    "changed in 6.11, when buffer registration moved to iovec_from_user (which \
                     rejects lengths above SSIZE_MAX); a compat iovec's length is negative from \
                     2^31 (compat_ssize_t)",
                ),
        )
        .run(|cx| {
            let m = cx.mem(4096)?;
            let ring = cx.ring()?;
            let len = cx.abi().first_negative_iov_len();
            register(cx, &ring, &[Iov::MemLen(m.slice(0, 4096), len)])
        }),
    Case::new("register_buffers::null_base_with_len")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffer_register / io_buffer_validate")
                .man(REG, "ERRORS: EFAULT")
                .rows(&["buf_reg_null_base_len"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Foreign(ForeignAddr::NULL, 4096)])
        }),
    Case::new("register_buffers::zero_len")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_validate_user_buf_range / io_buffer_validate")
                .rows(&["buf_reg_zero_len"])
                .note(
                    "registered_buffers.7 says a zero-length iovec removes a buffer; only {NULL, \
                     0} is an empty slot, {ptr, 0} is EFAULT",
                ),
        )
        .run(|cx| {
            let m = cx.mem(4096)?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::MemLen(m.slice(0, 4096), 0)])
        }),
    Case::new("register_buffers::len_over_1gib")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_buffer_validate (SZ_1G) / memmap.c:io_pin_pages")
                .man(REG, "ERRORS: EFAULT (iov_len > 1 GiB)")
                .rows(&["buf_reg_too_large"])
                .note(
                    "up to 6.18 the size check answers EFAULT before pinning; on 7.x the size is \
                     allowed and pinning stops at the guard page after the buffer, also EFAULT",
                ),
        )
        .run(|cx| {
            let m = cx.mem(4096)?;
            let ring = cx.ring()?;
            register(
                cx,
                &ring,
                &[Iov::MemLen(m.slice(0, 4096), (1 << 30) + 4096)],
            )
        }),
    Case::new("register_buffers::len_over_1tib")
        .native_only("a compat iovec's length is 32 bits: it cannot exceed 1 TiB")
        .expect(Expect::by_level(
            &level::BUFFER_SIZE_1TIB,
            Want::errno(E::EINVAL),
            Want::errno(E::EFAULT),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_validate_user_buf_range (SZ_1T)")
                .man(REG, "NOTES: 1 GiB size limit")
                .rows(&["buf_reg_too_large"])
                .note(
                    "7.x raised the per-buffer limit to 1 TiB and answers EINVAL above it; \
                     register.2 still documents 1 GiB and EFAULT",
                ),
        )
        .run(|cx| {
            let m = cx.mem(4096)?;
            let ring = cx.ring()?;
            register(
                cx,
                &ring,
                &[Iov::MemLen(m.slice(0, 4096), (1 << 40) + 4096)],
            )
        }),
    Case::new("register_buffers::address_wraps")
        .native_only("a 32-bit base plus a 32-bit length cannot wrap the 64-bit address space")
        .expect(Expect::errno(E::EOVERFLOW))
        .cite(
            Cite::kernel("rsrc.c:io_validate_user_buf_range / memmap.c:io_pin_pages")
                .rows(&["buf_reg_addr_overflow"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Foreign(ForeignAddr::TOP_PAGE, 8192)])
        }),
    Case::new("register_buffers::len_one_byte_over_1tib")
        .native_only("a compat iovec's length is 32 bits: it cannot exceed 1 TiB")
        .expect(Expect::by_level(
            &level::BUFFER_SIZE_1TIB,
            Want::errno(E::EINVAL),
            Want::errno(E::EFAULT),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_validate_user_buf_range (ulen > SZ_1T)")
                .rows(&["buf_reg_too_large"])
                .note("the cap is exact: 1 TiB and one byte is refused before any page is pinned"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let iov = [Iov::Foreign(ForeignAddr::LOW, (1 << 40) + 1)];
            register(cx, &ring, &iov)
        }),
    Case::new("register_buffers::base_last_byte")
        .native_only("a 32-bit base cannot be the last byte of the 64-bit address space")
        .expect(Expect::errno(E::EOVERFLOW))
        .cite(
            Cite::kernel("rsrc.c:io_validate_user_buf_range (check_add_overflow)")
                .rows(&["buf_reg_addr_overflow"])
                .note("base ULONG_MAX is no 32-bit sanity failure (EFAULT): base + one page wraps"),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            let last = ForeignAddr::new(u64::MAX).expect("the upper half is foreign");
            register(cx, &ring, &[Iov::Foreign(last, 1)])
        }),
    Case::new("register_buffers::page_prot_none")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("memmap.c:io_pin_pages (short pin -> EFAULT)")
                .man(REG, "ERRORS: EFAULT")
                .rows(&["buf_reg_unmapped"]),
        )
        .run(|cx| {
            // mprotect works in pages of this kernel: two of them, the second PROT_NONE.
            let page = uring::sys::page_size();
            let m = cx.mem(2 * page)?;
            m.protect(page, page, libc::PROT_NONE)
                .setup("mprotect the second page")?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 2 * page))])
        }),
    Case::new("register_buffers::page_unmapped")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("memmap.c:io_pin_pages")
                .man(REG, "ERRORS: EFAULT")
                .rows(&["buf_reg_unmapped"]),
        )
        .run(|cx| {
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Foreign(ForeignAddr::LOW, 4096)])
        }),
    Case::new("register_buffers::read_only_mapping")
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("memmap.c:io_pin_pages (FOLL_WRITE|FOLL_LONGTERM)")
                .rows(&["buf_reg_readonly"]),
        )
        .run(|cx| {
            let m = cx.mem(4096)?;
            m.protect(0, 4096, libc::PROT_READ)
                .setup("mprotect read-only")?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 4096))])
        }),
    Case::new("register_buffers::file_shared_mapping")
        .needs(&[Fact::TmpdirFileFs])
        .expect(Expect::by_level(
            &level::FILE_BACKED_BUFFERS,
            Want::errno(E::EFAULT),
            Want::errno(E::EOPNOTSUPP),
        ))
        .cite(
            Cite::kernel(
                "mm/gup.c (long-term pin of a dirty-tracked file page) / rsrc.c:io_pin_pages vma \
                 check (<= 6.4)",
            )
            .man(REG, "ERRORS: EOPNOTSUPP, EFAULT (newer kernels)")
            .rows(&["buf_reg_file_shared"])
            .note("changed in 6.5 (\"io_uring: rsrc: delegate VMA file-backed check to GUP\")"),
        )
        .run(|cx| file_mapping(cx, true)),
    Case::new("register_buffers::file_private_mapping")
        .requires(FIXED)
        .needs(&[Fact::TmpdirFileFs])
        .expect(Expect::by_level(
            &level::FILE_BACKED_BUFFERS,
            Want::ok(0),
            Want::errno(E::EOPNOTSUPP),
        ))
        .cite(
            Cite::kernel("rsrc.c:io_pin_pages vma check (<= 6.4)")
                .man(REG, "DESCRIPTION: buffers must be anonymous")
                .rows(&["buf_reg_file_private"])
                .note(
                    "register.2 and registered_buffers.7 say buffers must be anonymous; private \
                     file mappings work since 6.5 (pages are COWed to anonymous)",
                ),
        )
        .run(|cx| file_mapping(cx, false)),
    Case::new("register_buffers::memfd_shared_mapping")
        .requires(FIXED)
        .needs(&[Fact::MemfdShmem])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("memmap.c:io_pin_pages")
                .rows(&["buf_reg_file_shared"])
                .note("shmem/memfd MAP_SHARED memory is accepted on every version"),
        )
        .run(|cx| {
            let m = Mem::memfd(8192).setup("memfd")?;
            let mut ring = cx.ring()?;
            let obs = register(cx, &ring, &[Iov::Mem(m.slice(0, 8192))])?;
            if answered_zero(&obs) {
                reads_into(cx, &mut ring, 0, &m, 4096 - 32)?;
            }
            Ok(obs)
        }),
    Case::new("register_buffers::mixed_vmas")
        .requires(FIXED)
        .needs(&[Fact::MemfdShmem])
        .expect(Expect::by_level(
            &level::FILE_BACKED_BUFFERS,
            Want::ok(0),
            Want::errno(E::EINVAL),
        ))
        .cite(
            Cite::kernel(
                "rsrc.c:io_pin_pages (<= 6.4: vmas[i]->vm_file != vmas[0]->vm_file -> EINVAL) / \
                 mm/gup.c (6.5+)",
            )
            .rows(&["buf_reg_mixed_vmas"])
            .note(
                "up to 6.4 io_uring refused one iovec over VMAs of different files (anonymous \
                 counts as one); since 6.5 GUP pins each page by its own rules, and shmem pins \
                 like anonymous memory",
            ),
        )
        .run(|cx| {
            // Anonymous pages 0 and 2, a memfd page over page 1: one iovec over three VMAs
            // (pages of this kernel: mmap places a VMA on page boundaries). The read starts
            // half a page into page 0 and ends half a page into page 2.
            let page = uring::sys::page_size();
            let half = page / 2;
            let m = cx.mem(3 * page)?;
            let f = sys::memfd(page as u64).setup("memfd_create + ftruncate")?;
            m.map_file_over(page, page, &f, true)
                .setup("map a memfd page over page 1")?;
            let mut ring = cx.ring()?;
            let obs = register(cx, &ring, &[Iov::Mem(m.all())])?;
            if answered_zero(&obs) {
                let (src, data) = data_file(cx, 2 * page, 43)?;
                let c = read_fixed(
                    cx,
                    &mut ring,
                    fd(&src),
                    m.addr() + half as u64,
                    2 * page as u32,
                    0,
                )?;
                cx.check_eq(
                    "READ_FIXED across anonymous, memfd and anonymous pages",
                    c.res,
                    2 * page as i32,
                )?;
                cx.check_eq(
                    "bytes in the three pages",
                    m.read(half, 2 * page),
                    data.clone(),
                )?;
                let mut back = vec![0u8; page];
                use std::os::unix::fs::FileExt;
                f.read_exact_at(&mut back, 0).setup("read the memfd")?;
                cx.check_eq(
                    "the memfd page holds its part of the read",
                    back,
                    data[half..half + page].to_vec(),
                )?;
            }
            Ok(obs)
        }),
    Case::new("register_buffers::memlock_exceeded")
        .unprivileged(64 * 1024)
        .expect(Expect::errno(E::ENOMEM))
        .cite(
            Cite::kernel("rsrc.c:io_buffer_account_pin -> __io_account_mem")
                .man(REG, "ERRORS: ENOMEM")
                .rows(&["buf_reg_memlock"])
                .note(
                    "registered_buffers.7 says no memlock limit applies since 5.12; buffers are \
                     charged on every version for creators without CAP_IPC_LOCK",
                ),
        )
        .run(|cx| {
            let m = cx.mem(32 * 4096)?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 32 * 4096))])
        }),
    Case::new("register_buffers::memlock_within_limit")
        .unprivileged(64 * 1024)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_buffer_account_pin -> __io_account_mem")
                .rows(&["buf_reg_memlock"]),
        )
        .run(|cx| {
            let m = cx.mem(4 * 4096)?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 4 * 4096))])
        }),
    Case::new("register_buffers::memlock_up_to_limit")
        .unprivileged(MEMLOCK_EXACT)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:__io_account_mem (new_pages > page_limit)")
                .rows(&["buf_reg_memlock"])
                .note(
                    "pinning exactly RLIMIT_MEMLOCK is allowed: only more than the limit is \
                     ENOMEM; the ring's own pages are never charged to the user (io_create_region \
                     with no user; before 5.12 they were added with the limit not yet in force)",
                ),
        )
        .run(|cx| {
            rings_not_charged()?;
            let len = MEMLOCK_EXACT as usize;
            let m = cx.mem(len)?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, len))])
        }),
    Case::new("register_buffers::failure_installs_nothing")
        .requires(&[Feature::RsrcTags])
        .expect(Expect::errno(E::EFAULT))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (io_clear_table_tags + unregister)")
                .rows(&["buf_reg_atomic_failure"]),
        )
        .run(|cx| {
            let mut ring = cx.ring()?;
            let good = page(cx)?;
            let iovs = [good, Iov::Foreign(ForeignAddr::LOW, 4096)];
            let tags = [0x71u64, 0x72];
            let obs = buffers2(
                cx,
                &ring,
                Buffers2 {
                    tags: ArrayArg::Values(&tags),
                    ..b2(&iovs)
                },
                RR,
            )?;
            cx.check_eq(
                "UNREGISTER_BUFFERS after the failed registration",
                ring.registrar().unregister_buffers(),
                Err(E::ENXIO),
            )?;
            no_cqes(cx, &mut ring, "tag CQEs after a failed registration")?;
            Ok(obs)
        }),
];
