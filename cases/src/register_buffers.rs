//! §1: registered buffers — REGISTER_BUFFERS, BUFFERS2 (+ SPARSE, tags), BUFFERS_UPDATE,
//! UNREGISTER_BUFFERS, and READ_FIXED / WRITE_FIXED.

use crate::common::*;
use std::time::Duration;
use uring::abi::{CqeFlags, RegisterOp, RsrcRegisterFlags, SetupFlags, SqeFlags};
use uring::register::{ArgPtr, ArrayArg, Buffers2, BuffersUpdate, FdArg, Iov, RegisterCall};
use uring::{op, ForeignAddr, Mem, Ring};
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Fact, Feature, Setup, Want};

const REG: &str = "io_uring_register.2";
const MAN3: &str = "io_uring_register_buffers.3";
const ENTER: &str = "io_uring_enter.2";
const RSRC: &[Feature] = &[Feature::RsrcTags];
const FIXED: &[Feature] = &[Feature::OpReadWriteFixed];

/// BUFFERS2 with `a`, observed.
fn buffers2(cx: &Cx, ring: &Ring, a: Buffers2<'_>, nr_args: u32) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, BUFFERS2, {{nr={}, flags={:?}, resv2={}, data={}, tags={}}}, {nr_args})",
        a.nr,
        a.flags,
        a.resv2,
        iov_array_desc(&a.data),
        array_desc(&a.tags)
    );
    cx.sync(call, ring.register_buffers2_sized(&a, nr_args).map(|_| 0))
}

/// BUFFERS_UPDATE with `u`, observed.
fn update(cx: &Cx, ring: &Ring, u: BuffersUpdate<'_>, nr_args: u32) -> CaseResult {
    let call = format!(
        "io_uring_register(ring, BUFFERS_UPDATE, {{offset={}, resv={}, data={}, tags={}, nr={}, resv2={}}}, {nr_args})",
        u.offset,
        u.resv,
        iov_array_desc(&u.data),
        array_desc(&u.tags),
        u.nr,
        u.resv2
    );
    cx.sync(
        call,
        ring.register_buffers_update_sized(&u, nr_args)
            .map(i64::from),
    )
}

/// A well-formed BUFFERS2 argument for `iovs` without tags.
fn b2(iovs: &[Iov]) -> Buffers2<'_> {
    Buffers2 {
        nr: iovs.len() as u32,
        flags: RsrcRegisterFlags::NONE,
        resv2: 0,
        data: ArrayArg::Values(iovs),
        tags: ArrayArg::NULL,
    }
}

/// A well-formed BUFFERS_UPDATE argument for `iovs` at `offset` without tags.
fn up(offset: u32, iovs: &[Iov]) -> BuffersUpdate<'_> {
    BuffersUpdate {
        offset,
        resv: 0,
        data: ArrayArg::Values(iovs),
        tags: ArrayArg::NULL,
        nr: iovs.len() as u32,
        resv2: 0,
    }
}

const RR: u32 = 32; // sizeof(struct io_uring_rsrc_register) == sizeof(struct io_uring_rsrc_update2)

/// Submits one READ_FIXED and returns its CQE.
fn read_fixed(
    cx: &Cx,
    ring: &mut Ring,
    fd: i32,
    addr: u64,
    len: u32,
    buf_index: u16,
) -> Result<uring::Cqe, CaseError> {
    cx.submit_one(
        ring,
        op::read_fixed(fd, addr, len, 0, buf_index).user_data(0x42),
    )
}

/// A READ_FIXED observed as the call under test.
fn observe_read_fixed(
    cx: &Cx,
    ring: &mut Ring,
    fd: i32,
    addr: u64,
    len: u32,
    buf_index: u16,
    what: &str,
) -> CaseResult {
    let c = read_fixed(cx, ring, fd, addr, len, buf_index)?;
    cx.observe(c, what)
}

/// An 8-byte READ_FIXED of a data file into a registered page, with one field changed by
/// `tweak`: the shape of every "one bad field" READ_FIXED row.
fn read_fixed_variant(cx: &Cx, what: &str, tweak: fn(uring::Sqe) -> uring::Sqe) -> CaseResult {
    let (mut ring, m) = ring_with_buffers(cx, 1)?;
    let (f, _) = data_file(cx, 64, 1)?;
    let c = cx.submit_one(
        &mut ring,
        tweak(op::read_fixed(fd(&f), m.addr(), 8, 0, 0).user_data(1)),
    )?;
    cx.observe(c, what)
}

/// Registration of `mem` memory mapped from a regular file (shared or private).
fn file_mapping(cx: &Cx, shared: bool) -> CaseResult {
    let (f, _) = data_file(cx, 8192, 3)?;
    let mem = Mem::map_file(&f, 8192, shared).setup("mmap the file")?;
    let ring = cx.ring()?;
    let r = register(cx, &ring, &[Iov::Mem(mem.slice(0, 8192))]);
    let kind = if shared { "MAP_SHARED" } else { "MAP_PRIVATE" };
    r.map(|o| uring_harness::Observation {
        call: format!("{} over a {kind} regular-file mapping", o.call),
        ..o
    })
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[
    ("buf_reg_mixed_vmas", "<= 6.4 only; needs one iovec spanning an anonymous and a file VMA, which Mem cannot build yet"),
    ("bufunreg_eintr", "<= 6.12 only; needs a signal delivered while unregister quiesces in-flight requests: not built yet"),
    ("bufunreg_concurrent", "<= 6.12 race between two tasks quiescing the same table: not deterministic"),
    ("rwf_len_max", "needs a registered buffer above 2 GiB (7.x): beyond the memory of the matrix guests"),
    ("rwf_attr", "7.x attr_type_mask for READ/WRITE: the ring does not model the attribute fields of the SQE yet"),
];

/// The registered-buffer rows.
pub const CASES: &[Case] = &[
    // ---- §1.1 REGISTER_BUFFERS ----
    Case::new("register_buffers::arg_null").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("register.c:__io_uring_register (case IORING_REGISTER_BUFFERS)").rows(&["buf_reg_arg_null"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::BUFFERS, ArgPtr::NULL, 1) }),
    Case::new("register_buffers::nr_zero").expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register").man(REG, "ERRORS: EINVAL (nr_args 0)").rows(&["buf_reg_nr_zero"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let one = [page(cx)?];
            cx.sync("io_uring_register(ring, REGISTER_BUFFERS, [valid iovec], 0)", ring.register_buffers_arg(&ArrayArg::Values(&one), 0).map(|_| 0))
        }),
    Case::new("register_buffers::nr_over_16384").expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (IORING_MAX_REG_BUFFERS)").man(REG, "ERRORS: EINVAL")
            .rows(&["buf_reg_nr_too_many"]).note("register.2 says the limit is UIO_MAXIOV (1024); the kernel's is IORING_MAX_REG_BUFFERS = 16384 since 5.13"))
        .run(|cx| {
            let ring = cx.ring()?;
            let one = [page(cx)?];
            cx.sync("io_uring_register(ring, REGISTER_BUFFERS, iovecs, 16385)", ring.register_buffers_arg(&ArrayArg::Values(&one), 16_385).map(|_| 0))
        }),
    Case::new("register_buffers::16384_empty_slots").expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register").rows(&["buf_reg_nr_too_many"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let iovs = vec![Iov::Empty; 16_384];
            let r = ring.register_buffers(&iovs);
            cx.sync("io_uring_register(ring, REGISTER_BUFFERS, 16384 x {NULL, 0}, 16384)", r.map(|_| 0))
        }),
    Case::new("register_buffers::table_exists").expect(Expect::errno(E::EBUSY))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (ctx->buf_table.nr)").man(REG, "ERRORS: EBUSY").rows(&["buf_reg_busy"]))
        .run(|cx| {
            let (ring, _mem) = ring_with_buffers(cx, 1)?;
            let again = [page(cx)?];
            register(cx, &ring, &again)
        }),
    Case::new("register_buffers::sparse_table_exists").requires(&[Feature::SparseBuffers]).expect(Expect::errno(E::EBUSY))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (ctx->buf_table.nr)").man(REG, "ERRORS: EBUSY").rows(&["buf_reg_busy"]))
        .run(|cx| {
            let ring = cx.ring()?;
            ring.register_buffers_sparse(4).setup("sparse table")?;
            let again = [page(cx)?];
            register(cx, &ring, &again)
        }),
    Case::new("register_buffers::iovec_array_unmapped").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("lib/iov_iter.c:iovec_from_user via rsrc.c:io_sqe_buffers_register").man(REG, "ERRORS: EFAULT").rows(&["buf_reg_iov_fault"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::BUFFERS, ArgPtr::Foreign(ForeignAddr::LOW), 1) }),
    Case::new("register_buffers::len_negative")
        .expect(Expect::by_level(&level::IOVEC_LEN_CHECK, Want::errno(E::EINVAL), Want::errno(E::EFAULT)))
        .cite(Cite::kernel("lib/iov_iter.c:copy_iovec_from_user").rows(&["buf_reg_len_negative"])
            .note("changed in 6.11, when buffer registration moved to iovec_from_user (which rejects lengths above SSIZE_MAX)"))
        .run(|cx| { let m = cx.mem(4096)?; let ring = cx.ring()?; register(cx, &ring, &[Iov::MemLen(m.slice(0, 4096), 1 << 63)]) }),
    Case::new("register_buffers::null_base_with_len").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffer_register / io_buffer_validate").man(REG, "ERRORS: EFAULT").rows(&["buf_reg_null_base_len"]))
        .run(|cx| { let ring = cx.ring()?; register(cx, &ring, &[Iov::Foreign(ForeignAddr::NULL, 4096)]) }),
    Case::new("register_buffers::zero_len").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_validate_user_buf_range / io_buffer_validate").rows(&["buf_reg_zero_len"])
            .note("registered_buffers.7 says a zero-length iovec removes a buffer; only {NULL, 0} is an empty slot, {ptr, 0} is EFAULT"))
        .run(|cx| { let m = cx.mem(4096)?; let ring = cx.ring()?; register(cx, &ring, &[Iov::MemLen(m.slice(0, 4096), 0)]) }),
    Case::new("register_buffers::len_over_1gib").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_buffer_validate (SZ_1G) / memmap.c:io_pin_pages").man(REG, "ERRORS: EFAULT (iov_len > 1 GiB)").rows(&["buf_reg_too_large"])
            .note("up to 6.18 the size check answers EFAULT before pinning; on 7.x the size is allowed and pinning stops at the guard page after the buffer, also EFAULT"))
        .run(|cx| { let m = cx.mem(4096)?; let ring = cx.ring()?; register(cx, &ring, &[Iov::MemLen(m.slice(0, 4096), (1 << 30) + 4096)]) }),
    Case::new("register_buffers::len_over_1tib")
        .expect(Expect::by_level(&level::BUFFER_SIZE_1TIB, Want::errno(E::EINVAL), Want::errno(E::EFAULT)))
        .cite(Cite::kernel("rsrc.c:io_validate_user_buf_range (SZ_1T)").man(REG, "NOTES: 1 GiB size limit").rows(&["buf_reg_too_large"])
            .note("7.x raised the per-buffer limit to 1 TiB and answers EINVAL above it; register.2 still documents 1 GiB and EFAULT"))
        .run(|cx| { let m = cx.mem(4096)?; let ring = cx.ring()?; register(cx, &ring, &[Iov::MemLen(m.slice(0, 4096), (1 << 40) + 4096)]) }),
    Case::new("register_buffers::address_wraps").expect(Expect::errno(E::EOVERFLOW))
        .cite(Cite::kernel("rsrc.c:io_validate_user_buf_range / memmap.c:io_pin_pages").rows(&["buf_reg_addr_overflow"]))
        .run(|cx| { let ring = cx.ring()?; register(cx, &ring, &[Iov::Foreign(ForeignAddr::TOP_PAGE, 8192)]) }),
    Case::new("register_buffers::page_prot_none").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_pin_pages (short pin -> EFAULT)").man(REG, "ERRORS: EFAULT").rows(&["buf_reg_unmapped"]))
        .run(|cx| {
            let m = cx.mem(8192)?;
            m.protect(4096, 4096, libc::PROT_NONE).setup("mprotect the second page")?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 8192))])
        }).needs(&[Fact::Page4K]),
    Case::new("register_buffers::page_unmapped").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_pin_pages").man(REG, "ERRORS: EFAULT").rows(&["buf_reg_unmapped"]))
        .run(|cx| { let ring = cx.ring()?; register(cx, &ring, &[Iov::Foreign(ForeignAddr::LOW, 4096)]) }),
    Case::new("register_buffers::read_only_mapping").expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("memmap.c:io_pin_pages (FOLL_WRITE|FOLL_LONGTERM)").rows(&["buf_reg_readonly"]))
        .run(|cx| {
            let m = cx.mem(4096)?;
            m.protect(0, 4096, libc::PROT_READ).setup("mprotect read-only")?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 4096))])
        }),
    Case::new("register_buffers::file_shared_mapping")
        .expect(Expect::by_level(&level::FILE_BACKED_BUFFERS, Want::errno(E::EFAULT), Want::errno(E::EOPNOTSUPP)))
        .cite(Cite::kernel("mm/gup.c (long-term pin of a dirty-tracked file page) / rsrc.c:io_pin_pages vma check (<= 6.4)")
            .man(REG, "ERRORS: EOPNOTSUPP, EFAULT (newer kernels)").rows(&["buf_reg_file_shared"])
            .note("changed in 6.5 (\"io_uring: rsrc: delegate VMA file-backed check to GUP\")"))
        .run(|cx| file_mapping(cx, true)).needs(&[Fact::TmpdirFileFs]),
    Case::new("register_buffers::file_private_mapping")
        .expect(Expect::by_level(&level::FILE_BACKED_BUFFERS, Want::ok(0), Want::errno(E::EOPNOTSUPP)))
        .cite(Cite::kernel("rsrc.c:io_pin_pages vma check (<= 6.4)").man(REG, "DESCRIPTION: buffers must be anonymous").rows(&["buf_reg_file_private"])
            .note("register.2 and registered_buffers.7 say buffers must be anonymous; private file mappings work since 6.5 (pages are COWed to anonymous)"))
        .run(|cx| file_mapping(cx, false)).needs(&[Fact::TmpdirFileFs]),
    Case::new("register_buffers::memfd_shared_mapping").expect(Expect::ok(0))
        .cite(Cite::kernel("memmap.c:io_pin_pages").rows(&["buf_reg_file_shared"]).note("shmem/memfd MAP_SHARED memory is accepted on every version"))
        .run(|cx| { let m = Mem::memfd(8192).setup("memfd")?; let ring = cx.ring()?; register(cx, &ring, &[Iov::Mem(m.slice(0, 8192))]) }).needs(&[Fact::MemfdShmem]),
    Case::new("register_buffers::memlock_exceeded").expect(Expect::errno(E::ENOMEM))
        .cite(Cite::kernel("rsrc.c:io_buffer_account_pin -> __io_account_mem").man(REG, "ERRORS: ENOMEM").rows(&["buf_reg_memlock"])
            .note("registered_buffers.7 says no memlock limit applies since 5.12; buffers are charged on every version for creators without CAP_IPC_LOCK"))
        .run(|cx| {
            let m = cx.mem(32 * 4096)?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 32 * 4096))]).map(|o| uring_harness::Observation { call: format!("{} as uid nobody, RLIMIT_MEMLOCK 64 KiB", o.call), ..o })
        }).unprivileged(64 * 1024),
    Case::new("register_buffers::memlock_within_limit").expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_buffer_account_pin -> __io_account_mem").rows(&["buf_reg_memlock"]))
        .run(|cx| {
            let m = cx.mem(4 * 4096)?;
            let ring = cx.ring()?;
            register(cx, &ring, &[Iov::Mem(m.slice(0, 4 * 4096))]).map(|o| uring_harness::Observation { call: format!("{} as uid nobody, RLIMIT_MEMLOCK 64 KiB", o.call), ..o })
        }).unprivileged(64 * 1024),
    Case::new("register_buffers::failure_installs_nothing").requires(&[Feature::RsrcTags]).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (io_clear_table_tags + unregister)").rows(&["buf_reg_atomic_failure"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let good = page(cx)?;
            let iovs = [good, Iov::Foreign(ForeignAddr::LOW, 4096)];
            let tags = [0x71u64, 0x72];
            let obs = buffers2(cx, &ring, Buffers2 { tags: ArrayArg::Values(&tags), ..b2(&iovs) }, RR)?;
            cx.check_eq("UNREGISTER_BUFFERS after the failed registration", ring.unregister_buffers(), Err(E::ENXIO))?;
            no_cqes(cx, &mut ring, "tag CQEs after a failed registration")?;
            Ok(obs)
        }),
    Case::new("register_buffers::unaligned_buffer_read_fixed").requires(FIXED).expect(Expect::cqe(3000, CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:io_import_reg_buf").man(MAN3, "DESCRIPTION").rows(&[]))
        .run(|cx| {
            let (f, data) = data_file(cx, 8192, 9)?;
            let m = cx.mem(3 * 4096)?;
            let buf = m.slice(777, 5000);
            let mut ring = cx.ring()?;
            ring.register_buffers(&[Iov::Mem(buf.clone())]).setup("register an unaligned buffer")?;
            let c = cx.submit_one(&mut ring, op::read_fixed(fd(&f), buf.addr() + 100, 3000, 1234, 0).user_data(1))?;
            if c.res == 3000 {
                cx.check_eq("bytes read into the registered buffer", m.read(777 + 100, 3000), data[1234..4234].to_vec())?;
            }
            cx.observe(c, "into a buffer at page offset 777")
        }),
    Case::new("register_buffers::write_fixed_then_read_back").requires(FIXED).expect(Expect::cqe(4096, CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:io_import_reg_buf").man(MAN3, "DESCRIPTION"))
        .run(|cx| {
            let f = cx.file_with(&[])?;
            let (mut ring, m) = ring_with_buffers(cx, 2)?;
            let data = pattern(4096, 5);
            m.write(4096, &data);
            let c = cx.submit_one(&mut ring, op::write_fixed(fd(&f), m.addr() + 4096, 4096, 0, 1).user_data(1))?;
            let mut back = vec![0u8; 4096];
            use std::os::unix::fs::FileExt;
            let n = f.read_at(&mut back, 0).setup("read the file back")?;
            cx.check(c.res != 4096 || (n == 4096 && back == data), || "the file does not hold the bytes of buffer 1".into())?;
            cx.observe(c, "from buffer 1 into an empty file")
        }),
    // ---- §1.2 BUFFERS2 ----
    Case::new("register_buffers2::nr_args_not_struct_size").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").man(REG, "IORING_REGISTER_BUFFERS2 (nr_args = sizeof)").rows(&["buf2_size"]))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; buffers2(cx, &ring, b2(&p), RR - 1) }),
    Case::new("register_buffers2::arg_unmapped").requires(RSRC).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").rows(&["buf2_fault"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::BUFFERS2, ArgPtr::Foreign(ForeignAddr::LOW), RR) }),
    Case::new("register_buffers2::nr_zero").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").rows(&["buf2_nr_zero"]))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; buffers2(cx, &ring, Buffers2 { nr: 0, ..b2(&p) }, RR) }),
    Case::new("register_buffers2::resv2_set").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").rows(&["buf2_resv2"]))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; buffers2(cx, &ring, Buffers2 { resv2: 1, ..b2(&p) }, RR) }),
    Case::new("register_buffers2::unknown_flag").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").man(REG, "IORING_REGISTER_BUFFERS2").rows(&["buf2_flags"]))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; buffers2(cx, &ring, Buffers2 { flags: RsrcRegisterFlags(2), ..b2(&p) }, RR) }),
    Case::new("register_buffers2::sparse_with_data").requires(&[Feature::SparseBuffers]).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc").man(REG, "IORING_RSRC_REGISTER_SPARSE (data and tags must be NULL)").rows(&["buf2_sparse_with_data"]))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; buffers2(cx, &ring, Buffers2 { flags: RsrcRegisterFlags::SPARSE, ..b2(&p) }, RR) }),
    Case::new("register_buffers2::sparse_with_tag").requires(&[Feature::SparseBuffers]).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (tag && !node)").rows(&["buf2_tag_on_empty"]))
        .run(|cx| {
            let ring = cx.ring()?;
            let tags = [0, 5u64];
            buffers2(cx, &ring, Buffers2 { nr: 2, flags: RsrcRegisterFlags::SPARSE, resv2: 0, data: ArrayArg::NULL, tags: ArrayArg::Values(&tags) }, RR)
        }),
    Case::new("register_buffers2::sparse_with_zero_tags").requires(&[Feature::SparseBuffers]).expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register").rows(&["buf2_tag_on_empty"])
            .note("register.2 says data and tags must be NULL with SPARSE; an all-zero tags array is accepted"))
        .run(|cx| {
            let ring = cx.ring()?;
            let tags = [0u64, 0];
            buffers2(cx, &ring, Buffers2 { nr: 2, flags: RsrcRegisterFlags::SPARSE, resv2: 0, data: ArrayArg::NULL, tags: ArrayArg::Values(&tags) }, RR)
        }),
    Case::new("register_buffers2::tag_on_empty_iovec").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (tag && !node)").rows(&["buf2_tag_on_empty"]))
        .run(|cx| { let ring = cx.ring()?; let iovs = [Iov::Empty]; let tags = [9u64]; buffers2(cx, &ring, Buffers2 { tags: ArrayArg::Values(&tags), ..b2(&iovs) }, RR) }),
    Case::new("register_buffers2::tags_unmapped").requires(RSRC).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register").rows(&["buf2_tags_fault"]))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; buffers2(cx, &ring, Buffers2 { tags: ArrayArg::Ptr(ArgPtr::Foreign(ForeignAddr::LOW)), ..b2(&p) }, RR) }),
    Case::new("register_buffers2::data_null_without_sparse_is_sparse").requires(&[Feature::SparseBuffers, Feature::OpReadWriteFixed]).expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_register (if (!arg) memset)").rows(&["buf2_data_null_no_flag"])
            .note("undocumented: data = NULL without the SPARSE flag also creates an all-empty table"))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let obs = buffers2(cx, &ring, Buffers2 { nr: 2, flags: RsrcRegisterFlags::NONE, resv2: 0, data: ArrayArg::NULL, tags: ArrayArg::NULL }, RR)?;
            let (f, _) = data_file(cx, 64, 1)?;
            let c = read_fixed(cx, &mut ring, fd(&f), 0, 8, 1)?;
            cx.check_eq("READ_FIXED into slot 1 of the empty table", c.res, -libc::EFAULT)?;
            Ok(obs)
        }),
    // ---- §1.3 BUFFERS_UPDATE ----
    Case::new("register_buffers_update::nr_args_not_struct_size").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_size"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; let p = [page(cx)?]; update(cx, &ring, up(0, &p), RR + 1) }),
    Case::new("register_buffers_update::arg_unmapped").requires(RSRC).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_fault"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; register_raw(cx, &ring, RegisterOp::BUFFERS_UPDATE, ArgPtr::Foreign(ForeignAddr::LOW), RR) }),
    Case::new("register_buffers_update::nr_zero").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_bad_fields"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; let p = [page(cx)?]; update(cx, &ring, BuffersUpdate { nr: 0, ..up(0, &p) }, RR) }),
    Case::new("register_buffers_update::resv_set").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_bad_fields"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; let p = [page(cx)?]; update(cx, &ring, BuffersUpdate { resv: 1, ..up(0, &p) }, RR) }),
    Case::new("register_buffers_update::resv2_set").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:io_register_rsrc_update").rows(&["bufup_bad_fields"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; let p = [page(cx)?]; update(cx, &ring, BuffersUpdate { resv2: 1, ..up(0, &p) }, RR) }),
    Case::new("register_buffers_update::offset_plus_nr_wraps").requires(RSRC).expect(Expect::errno(E::EOVERFLOW))
        .cite(Cite::kernel("rsrc.c:__io_register_rsrc_update").rows(&["bufup_off_overflow"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; let p = [page(cx)?, page(cx)?]; update(cx, &ring, up(u32::MAX, &p), RR) }),
    Case::new("register_buffers_update::no_table").requires(RSRC).expect(Expect::errno(E::ENXIO))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update").rows(&["bufup_no_table"]).note("register.2 documents ENXIO only for unregister"))
        .run(|cx| { let ring = cx.ring()?; let p = [page(cx)?]; update(cx, &ring, up(0, &p), RR) }),
    Case::new("register_buffers_update::range_past_table").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update").rows(&["bufup_range"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 2)?; let p = [page(cx)?, page(cx)?]; update(cx, &ring, up(1, &p), RR) }),
    Case::new("register_buffers_update::tag_on_empty").requires(RSRC).expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update").rows(&["bufup_tag_on_empty"]))
        .run(|cx| {
            let (ring, _m) = ring_with_buffers(cx, 1)?;
            let e = [Iov::Empty];
            let tags = [7u64];
            update(cx, &ring, BuffersUpdate { tags: ArrayArg::Values(&tags), ..up(0, &e) }, RR)
        }),
    Case::new("register_buffers_update::first_entry_null_base").requires(RSRC).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update -> io_sqe_buffer_register").rows(&["bufup_entry_invalid"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; update(cx, &ring, up(0, &[Iov::Foreign(ForeignAddr::NULL, 4096)]), RR) }),
    Case::new("register_buffers_update::first_entry_zero_len").requires(RSRC).expect(Expect::errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update -> io_validate_user_buf_range").rows(&["bufup_entry_invalid"]))
        .run(|cx| { let (ring, m) = ring_with_buffers(cx, 1)?; update(cx, &ring, up(0, &[Iov::MemLen(m.slice(0, 4096), 0)]), RR) }),
    Case::new("register_buffers_update::partial_success").requires(&[Feature::RsrcTags, Feature::OpReadWriteFixed]).expect(Expect::ok(1))
        .cite(Cite::kernel("rsrc.c:__io_sqe_buffers_update (return done ? done : err)").rows(&["bufup_partial"]))
        .run(|cx| {
            let (mut ring, _old) = ring_with_buffers(cx, 2)?;
            let new = cx.mem(4096)?;
            let iovs = [Iov::Mem(new.slice(0, 4096)), Iov::Foreign(ForeignAddr::LOW, 4096)];
            let obs = update(cx, &ring, up(0, &iovs), RR)?;
            let (f, data) = data_file(cx, 64, 4)?;
            let c = read_fixed(cx, &mut ring, fd(&f), new.addr(), 64, 0)?;
            cx.check_eq("READ_FIXED into the updated slot 0", c.res, 64)?;
            cx.check_eq("bytes in the new buffer of slot 0", new.read(0, 64), data)?;
            Ok(obs)
        }),
    Case::new("register_buffers_update::replaced_tag_posts_cqe").requires(RSRC).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:io_free_rsrc_node / io_rsrc_put_work").man(REG, "IORING_REGISTER_BUFFERS2 (tags)").rows(&["bufup_tag_cqe"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, b) = (page(cx)?, page(cx)?);
            ring.register_buffers_tagged(&[a, Iov::Empty], &[0xa11ce, 0]).setup("register a tagged buffer")?;
            let n = ring.update_buffers(0, &[b], &[0]).setup("replace slot 0")?;
            cx.check_eq("entries updated", n, 1)?;
            let cqes = cx.wait(&mut ring, 1)?;
            cx.check_eq("CQEs after replacing one tagged slot", cqes.len(), 1)?;
            cx.check_eq("tag CQE user_data", cqes[0].user_data, 0xa11ce)?;
            cx.cqe("BUFFERS_UPDATE replacing slot 0 (tag 0xa11ce) -> tag CQE", cqes[0])
        }),
    Case::new("unregister_buffers::tag_cqes").requires(RSRC)
        .expect(Expect::by_level(&level::UNREGISTER_POSTS_TAGS, Want::ok(1), Want::ok(0)))
        .cite(Cite::kernel("rsrc.c:io_free_rsrc_node (7.x) / io_rsrc_data_free").man(REG, "IORING_REGISTER_BUFFERS2 (tags)").rows(&["bufup_tag_cqe"])
            .note("catalogue §1.6 says unregister posts tag CQEs; in the 6.1 and 6.12 sources only update/replace does; the 6.13 rsrc rework (blind_register marks it) posts them on unregister too"))
        .run(|cx| {
            let mut ring = cx.ring()?;
            let (a, b) = (page(cx)?, page(cx)?);
            ring.register_buffers_tagged(&[a, b], &[0, 0xb0b]).setup("register two buffers, one tagged")?;
            ring.unregister_buffers().setup("unregister")?;
            let cqes = cx.settle(&mut ring, Duration::from_millis(50));
            cx.check(cqes.iter().all(|c| c.user_data == 0xb0b && c.res == 0 && c.flags == CqeFlags::NONE), || format!("unexpected CQEs: {cqes:?}"))?;
            cx.sync("UNREGISTER_BUFFERS of slots tagged {0, 0xb0b}, then count tag CQEs {0xb0b, 0, 0}", Ok::<i64, E>(cqes.len() as i64))
        }),
    // ---- §1.4 UNREGISTER_BUFFERS ----
    Case::new("unregister_buffers::arg_not_null").expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register").man(REG, "ERRORS: EINVAL").rows(&["bufunreg_args"]))
        .run(|cx| { let (ring, m) = ring_with_buffers(cx, 1)?; register_raw(cx, &ring, RegisterOp::UNREGISTER_BUFFERS, ArgPtr::Mem(m.slice(0, 8)), 0) }),
    Case::new("unregister_buffers::nr_args_not_zero").expect(Expect::errno(E::EINVAL))
        .cite(Cite::kernel("register.c:__io_uring_register").man(REG, "ERRORS: EINVAL").rows(&["bufunreg_args"]))
        .run(|cx| { let (ring, _m) = ring_with_buffers(cx, 1)?; register_raw(cx, &ring, RegisterOp::UNREGISTER_BUFFERS, ArgPtr::NULL, 1) }),
    Case::new("unregister_buffers::no_table").expect(Expect::errno(E::ENXIO))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_unregister").man(REG, "ERRORS: ENXIO").rows(&["bufunreg_none"]))
        .run(|cx| { let ring = cx.ring()?; register_raw(cx, &ring, RegisterOp::UNREGISTER_BUFFERS, ArgPtr::NULL, 0) }),
    Case::new("unregister_buffers::in_flight_read_completes").requires(FIXED).expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_sqe_buffers_unregister / io_rsrc_data_free").man(REG, "IORING_UNREGISTER_BUFFERS (released synchronously)")
            .rows(&["bufunreg_inflight"]).note("register.2 says buffers are released synchronously; since 6.13 unregister returns at once and the in-flight request completes"))
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let (r, w) = pipe()?;
            ring.push(op::read_fixed(fd(&r), m.addr(), 8, 0, 0).user_data(9)).map_err(|e| CaseError::Broken(e.to_string()))?;
            ring.submit().setup("submit the READ_FIXED on an empty pipe")?;
            let unregister = RegisterCall::new(FdArg::Ring(&ring), RegisterOp::UNREGISTER_BUFFERS, ArgPtr::NULL, 0);
            let got = unregister.invoke();
            let call = format!("{unregister} while a READ_FIXED waits on a pipe");
            use std::io::Write;
            (&w).write_all(b"8 bytes!").setup("write the pipe")?;
            let c = cx.wait(&mut ring, 1)?;
            cx.check_eq("READ_FIXED CQE res after unregister", c[0].res, 8)?;
            cx.check_eq("bytes read into the unregistered buffer", m.read(0, 8), b"8 bytes!".to_vec())?;
            cx.sync(call, got)
        }).needs_level(&level::UNREGISTER_NO_WAIT),
    // ---- §1.5 READ_FIXED / WRITE_FIXED ----
    Case::new("read_fixed::no_table").requires(FIXED).expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_import_reg_buf / rw.c:io_prep_rw_fixed").man(ENTER, "ERRORS: EFAULT").rows(&["rwf_no_table"]))
        .run(|cx| { let mut ring = cx.ring()?; let (f, _) = data_file(cx, 64, 1)?; observe_read_fixed(cx, &mut ring, fd(&f), 0x10000, 8, 0, "with no buffers registered") }),
    Case::new("read_fixed::index_out_of_range").requires(FIXED).expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_find_buf_node -> io_rsrc_node_lookup").man(ENTER, "ERRORS: EINVAL (buf_index)").rows(&["rwf_index_oob"])
            .note("io_uring_enter.2 says an invalid buf_index is EINVAL; the kernel answers EFAULT on every version"))
        .run(|cx| { let (mut ring, m) = ring_with_buffers(cx, 1)?; let (f, _) = data_file(cx, 64, 1)?; observe_read_fixed(cx, &mut ring, fd(&f), m.addr(), 8, 5, "with a 1-slot table") }),
    Case::new("read_fixed::empty_slot").requires(&[Feature::SparseBuffers, Feature::OpReadWriteFixed]).expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:io_find_buf_node").rows(&["rwf_sparse_slot"]))
        .run(|cx| {
            let mut ring = cx.ring()?;
            ring.register_buffers_sparse(2).setup("sparse table")?;
            let (f, _) = data_file(cx, 64, 1)?;
            observe_read_fixed(cx, &mut ring, fd(&f), 0x10000, 8, 1, "into an empty (sparse) slot")
        }),
    Case::new("read_fixed::addr_before_buffer").requires(FIXED).expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:validate_fixed_range / io_import_fixed").man(ENTER, "ERRORS: EFAULT").rows(&["rwf_range"]))
        .run(|cx| { let (mut ring, m) = ring_with_buffers(cx, 1)?; let (f, _) = data_file(cx, 64, 1)?; observe_read_fixed(cx, &mut ring, fd(&f), m.addr() - 1, 8, 0, "one byte before the buffer") }),
    Case::new("read_fixed::end_past_buffer").requires(FIXED).expect(Expect::cqe_errno(E::EFAULT))
        .cite(Cite::kernel("rsrc.c:validate_fixed_range / io_import_fixed").man(ENTER, "ERRORS: EFAULT").rows(&["rwf_range"]))
        .run(|cx| { let (mut ring, m) = ring_with_buffers(cx, 1)?; let (f, _) = data_file(cx, 64, 1)?; observe_read_fixed(cx, &mut ring, fd(&f), m.addr() + 4090, 8, 0, "ending 2 bytes past the buffer") }),
    Case::new("read_fixed::len_zero_at_end").requires(FIXED).expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel("rsrc.c:io_import_fixed").rows(&["rwf_len0"]))
        .run(|cx| { let (mut ring, m) = ring_with_buffers(cx, 1)?; let (f, _) = data_file(cx, 64, 1)?; observe_read_fixed(cx, &mut ring, fd(&f), m.addr() + 4096, 0, 0, "with len 0 at the buffer's end") }),
    Case::new("read_fixed::buffer_select").requires(FIXED).expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("io_uring.c:io_init_req (!def->buffer_select)").man(ENTER, "ERRORS: EOPNOTSUPP").rows(&["rwf_buffer_select"]))
        .run(|cx| read_fixed_variant(cx, "", |s| s.add_flags(SqeFlags::BUFFER_SELECT))),
    Case::new("read_fixed::fd_write_only").requires(FIXED).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("rw.c:io_rw_init_file (FMODE_READ)").man(ENTER, "ERRORS: EBADF").rows(&["rwf_fmode"]))
        .run(|cx| { let (mut ring, m) = ring_with_buffers(cx, 1)?; let f = dev_null(true)?; observe_read_fixed(cx, &mut ring, fd(&f), m.addr(), 8, 0, "on an fd open for writing only") }),
    Case::new("write_fixed::fd_read_only").requires(FIXED).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("rw.c:io_rw_init_file (FMODE_WRITE)").man(ENTER, "ERRORS: EBADF").rows(&["rwf_fmode"]))
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let f = dev_null(false)?;
            let c = cx.submit_one(&mut ring, op::write_fixed(fd(&f), m.addr(), 8, 0, 0).user_data(1))?;
            cx.observe(c, "on an fd open for reading only")
        }),
    Case::new("read_fixed::fd_not_open").requires(FIXED).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("io_uring.c:io_assign_file").man(ENTER, "ERRORS: EBADF").rows(&["rwf_bad_fd"]))
        .run(|cx| { let (mut ring, m) = ring_with_buffers(cx, 1)?; observe_read_fixed(cx, &mut ring, NEVER_OPEN_FD, m.addr(), 8, 0, "on an fd that is not open") }),
    Case::new("read_fixed::fixed_file_slot_empty").requires(FIXED).expect(Expect::cqe_errno(E::EBADF))
        .cite(Cite::kernel("io_uring.c:io_assign_file").man(ENTER, "ERRORS: EBADF").rows(&["rwf_bad_fd"]))
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            ring.register_files(&[-1, -1]).setup("register an empty file table")?;
            let c = cx.submit_one(&mut ring, op::read_fixed(1, m.addr(), 8, 0, 0).add_flags(SqeFlags::FIXED_FILE).user_data(1))?;
            cx.observe(c, "with fixed-file slot 1 empty")
        }),
    Case::new("read_fixed::rw_flags_unknown").requires(FIXED).expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("rw.c:io_rw_init_file -> kiocb_set_rw_flags").man(ENTER, "READV (see preadv2(2))").rows(&["rwf_rw_flags"]))
        .run(|cx| read_fixed_variant(cx, "(an unknown RWF_ bit)", |s| s.op_flags(0x8000_0000))),
    Case::new("read_fixed::ioprio_invalid_class").requires(FIXED).expect(Expect::by_level(&level::BLOCK_LAYER, Want::cqe_errno(E::EINVAL), Want::cqe_errno(E(libc::ENOTBLK))))
        .cite(Cite::kernel("rw.c:__io_prep_rw -> ioprio_check_cap").rows(&["rwf_ioprio"]))
        .run(|cx| read_fixed_variant(cx, "(ioprio class 7)", |s| s.ioprio(7 << 13))),
    Case::new("read_fixed::negative_offset").requires(FIXED).expect(Expect::cqe_errno(E::EINVAL))
        .cite(Cite::kernel("rw.c:__io_read -> rw_verify_area").rows(&["rwf_verify_area"]))
        .run(|cx| read_fixed_variant(cx, "(off 2^63: a negative loff_t)", |s| s.offset(1 << 63))),
    Case::new("read_fixed::iopoll_buffered_file").requires(FIXED).expect(Expect::cqe_errno(E::EOPNOTSUPP))
        .cite(Cite::kernel("rw.c:io_rw_init_file (IOPOLL needs ->iopoll)").rows(&["rwf_iopoll"]))
        .run(|cx| {
            let mut ring = cx.ring_with(Ring::builder(4).flags(SetupFlags::IOPOLL))?;
            let m = cx.mem(4096)?;
            ring.register_buffers(&[Iov::Mem(m.slice(0, 4096))]).setup("register")?;
            let (f, _) = data_file(cx, 64, 1)?;
            let c = cx.submit_one(&mut ring, op::read_fixed(fd(&f), m.addr(), 8, 0, 0).user_data(1))?;
            cx.observe(c, "on a buffered file in an IOPOLL ring")
        }),
];
