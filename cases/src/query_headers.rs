//! IORING_REGISTER_QUERY's headers and chains (io_handle_query_entry, io_query), and the
//! answers of its zcrx query ops, whose fields are compile-time values that need no zcrx
//! hardware: each row checks them exactly, every answer area filled with 0xa5 first, so a
//! field the kernel leaves unwritten shows.

use crate::common::query::*;
use crate::common::*;
use uring_harness::env::Fact;
use uring_harness::level;
use uring_harness::{Case, CaseError, CaseResult, Cite, Cx, Expect, Feature, Want};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

const Q: &[Feature] = &[Feature::RegisterQuery];

/// io_query's IO_MAX_QUERY_ENTRIES: the entry that reaches it ends the call with ERANGE.
const MAX_ENTRIES: usize = 1000;

/// The kernel's L1_CACHE_BYTES (= SMP_CACHE_BYTES: include/linux/cache.h, powerpc's
/// asm/cache.h) on the architecture this suite was built for (arch/*/include/asm/cache.h):
/// x86_64 64 (X86_L1_CACHE_SHIFT 6; MPENTIUM4's 7 is 32-bit only), arm64 and riscv 64,
/// s390 256, ppc64 128; another architecture's was not read and is taken as 64.
const L1_CACHE_BYTES: u32 = if cfg!(target_arch = "s390x") {
    256
} else if cfg!(target_arch = "powerpc64") {
    128
} else {
    64
};

/// `struct io_uring_query_zcrx` and `struct io_uring_query_zcrx_event`.
const ZCRX_LEN: u32 = 40;
const ZCRX_EVENT_LEN: u32 = 48;

/// Compares each `(field, got, allowed answers)`; every mismatch is listed, one failure.
fn fields(cx: &Cx, what: &str, got: &[(&str, u64, Vec<u64>)]) -> Result<(), CaseError> {
    let bad: Vec<String> = got
        .iter()
        .filter(|(_, v, ok)| !ok.contains(v))
        .map(|(f, v, ok)| format!("{f} {v:#x}, expected one of {ok:#x?}"))
        .collect();
    cx.check(bad.is_empty(), || format!("{what}: {}", bad.join("; ")))
}

/// The header answer (result, size) and no non-zero byte past the answer.
fn answered(cx: &Cx, what: &str, a: &Answer, len: u32) -> Result<(), CaseError> {
    cx.check_eq(
        &format!("{what} header (result, size)"),
        (a.result, a.size),
        (0, len),
    )?;
    cx.check_eq(
        &format!("{what}: non-zero bytes past the answer"),
        a.nonzero_from(len as usize),
        vec![],
    )
}

/// A chain of `n` headers asking OPCODES, all into one answer area; the call's answer and
/// how many headers were answered (their size went from 256 to 48).
fn chain(cx: &Cx, n: usize) -> Result<(Result<i32, E>, usize), CaseError> {
    let m = cx.mem(n * HDR_LEN + 256)?;
    let data = m.addr() + (n * HDR_LEN) as u64;
    let mut bytes = Vec::with_capacity(n * HDR_LEN);
    for i in 0..n {
        let next = if i + 1 < n {
            m.addr() + ((i + 1) * HDR_LEN) as u64
        } else {
            0
        };
        let h = Hdr {
            next_entry: next,
            ..ask(QUERY_OPCODES, data, 256)
        };
        bytes.extend(hdr_bytes(&h));
    }
    m.write(0, &bytes);
    let r = query_call(&m, 0).invoke();
    let done = (0..n)
        .map(|i| read_hdr(&m, i * HDR_LEN))
        .filter(|h| h.result == 0 && h.size == OPCODES_LEN)
        .count();
    Ok((r, done))
}

/// The u32 field at `off` of QUERY(ZCRX)'s answer, observed as the row's answer (the
/// header checked first).
fn zcrx_field(cx: &Cx, name: &str, off: usize) -> CaseResult {
    let (_, a) = query(cx, QUERY_ZCRX, 256)?;
    answered(cx, "QUERY(ZCRX)", &a, ZCRX_LEN)?;
    cx.sync(
        format!("io_uring_register(-1, QUERY, ZCRX, 0) -> {name}"),
        Ok::<i64, E>(a.u32_at(off).into()),
    )
}

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("query_headers::bad_header_einval")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_handle_query_entry (__resv not zero || result || !size: result \
                 -EINVAL, size 0; the call itself succeeds)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_bad_header"])
            .note(
                "each of __resv[0..3] set alone, result set to 1, size 0: every one answers \
                 result -EINVAL and size 0 in its header",
            ),
        )
        .run(|cx| {
            let asked = ask(QUERY_OPCODES, 0, OPCODES_LEN);
            let bad = [
                Hdr {
                    resv: [1, 0, 0],
                    ..asked
                },
                Hdr {
                    resv: [0, 1, 0],
                    ..asked
                },
                Hdr {
                    resv: [0, 0, 1],
                    ..asked
                },
                Hdr { result: 1, ..asked },
                Hdr { size: 0, ..asked },
            ];
            let mut wrong = Vec::new();
            let mut last = None;
            for h in bad {
                let (obs, a) = query_with(cx, h)?;
                if (a.result, a.size) != (-E::EINVAL.0, 0) {
                    wrong.push(format!(
                        "__resv {:?} result {} size {}: answered ({}, {})",
                        h.resv, h.result, h.size, a.result, a.size
                    ));
                }
                last = Some(obs);
            }
            cx.check(wrong.is_empty(), || {
                format!(
                    "headers not refused with (-EINVAL, 0): {}",
                    wrong.join("; ")
                )
            })?;
            last.ok_or_else(|| CaseError::Broken("no header asked".into()))
        }),
    Case::new("query_headers::size_of_a_page")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_handle_query_entry (hdr.size > PAGE_SIZE: E2BIG; a page is \
                 accepted, copy_struct_to_user zeroes the rest of it)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_size_limit"]),
        )
        .run(|cx| {
            let page = uring::sys::page_size() as u32;
            let (obs, a) = query(cx, QUERY_OPCODES, page)?;
            answered(cx, "QUERY(OPCODES) of a page", &a, OPCODES_LEN)?;
            Ok(obs)
        }),
    Case::new("query_headers::size_above_a_page")
        .requires(Q)
        .expect(Expect::by_level(
            &level::QUERY_SIZE_LIMIT,
            Want::errno(E::E2BIG),
            Want::ok(0),
        ))
        .cite(
            Cite::kernel("query.c:io_handle_query_entry (hdr.size > PAGE_SIZE: E2BIG)")
                .man(REG, "IORING_REGISTER_QUERY")
                .rows(&["query_size_limit"])
                .note("a page and one byte; 6.18 accepts it"),
        )
        .run(|cx| {
            let page = uring::sys::page_size() as u32;
            query(cx, QUERY_OPCODES, page + 1).map(|(obs, _)| obs)
        }),
    Case::new("query_headers::chain_answers_each")
        .requires(Q)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("query.c:io_query (follows next_entry while it is not 0)")
                .man(REG, "IORING_REGISTER_QUERY")
                .rows(&["query_chain"])
                .note("two headers, each asking 256 bytes of OPCODES: both answer (0, 48)"),
        )
        .run(|cx| {
            let (r, done) = chain(cx, 2)?;
            cx.check_eq("headers answered", done, 2)?;
            cx.sync("io_uring_register(-1, QUERY, a chain of 2 headers, 0)", r)
        }),
    Case::new("query_headers::chain_limit")
        .requires(Q)
        .expect(Expect::errno(E::ERANGE))
        .cite(
            Cite::kernel(
                "query.c:io_query (++nr >= IO_MAX_QUERY_ENTRIES after each entry: ERANGE)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_chain_limit"])
            .note(
                "999 headers answer and the call returns 0; 1000 answer and the call is \
                 ERANGE (the limit is checked after the entry that reaches it)",
            ),
        )
        .run(|cx| {
            let (r, done) = chain(cx, MAX_ENTRIES - 1)?;
            cx.check_eq(
                "a chain of 999 headers: (call, answered)",
                (r, done),
                (Ok(0), MAX_ENTRIES - 1),
            )?;
            let (r, done) = chain(cx, MAX_ENTRIES)?;
            cx.check_eq("a chain of 1000: headers answered", done, MAX_ENTRIES)?;
            cx.sync(
                "io_uring_register(-1, QUERY, a chain of 1000 headers, 0)",
                r,
            )
        }),
    Case::new("query_headers::zcrx_answer")
        .requires(Q)
        .needs_level(&level::QUERY_ZCRX_7_2)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_zcrx (ZCRX_SUPPORTED_REG_FLAGS, IORING_ZCRX_AREA_DMABUF, \
                 rq_hdr_size, L1_CACHE_BYTES, ZCRX_FEATURES, __resv2 = 0)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_zcrx"])
            .note(
                "no zcrx hardware and no CONFIG_IO_URING_ZCRX needed: register_flags 3 \
                 (IMPORT|NODEV), area_flags 1 (DMABUF), features 3 (RX_PAGE_SIZE|EVENT), \
                 rq_hdr_alignment L1_CACHE_BYTES of the architecture (x86_64, arm64 64; s390x \
                 256; ppc64 128), rq_hdr_size 8 without CONFIG_SMP (with it: \
                 zcrx_rq_hdr_size_smp); nr_ctrl_opcodes: zcrx_nr_ctrl_opcodes",
            ),
        )
        .run(|cx| {
            let (obs, a) = query(cx, QUERY_ZCRX, 256)?;
            answered(cx, "QUERY(ZCRX)", &a, ZCRX_LEN)?;
            let mut got = vec![
                ("register_flags", a.u64_at(0), vec![3]),
                ("area_flags", a.u64_at(8), vec![1]),
                ("features", a.u32_at(20).into(), vec![3]),
                (
                    "rq_hdr_alignment",
                    a.u32_at(28).into(),
                    vec![L1_CACHE_BYTES.into()],
                ),
                ("__resv2", a.u64_at(32), vec![0]),
            ];
            // Without CONFIG_SMP ____cacheline_aligned_in_smp aligns nothing: 8 before and
            // after the 7.3 change.
            if !cx.features().env.holds(Fact::Smp) {
                got.push(("rq_hdr_size", a.u32_at(24).into(), vec![8]));
            }
            fields(cx, "QUERY(ZCRX)", &got)?;
            Ok(obs)
        }),
    Case::new("query_headers::zcrx_nr_ctrl_opcodes")
        .requires(Q)
        .needs_level(&level::QUERY_ZCRX_7_2)
        .expect(Expect::by_level(
            &level::ZCRX_CTRL_ADD_AREA,
            Want::ok(4),
            Want::ok(3),
        ))
        .cite(
            Cite::kernel("query.c:io_query_zcrx (nr_ctrl_opcodes = __ZCRX_CTRL_LAST)")
                .man(REG, "IORING_REGISTER_QUERY")
                .rows(&["query_zcrx"])
                .note("FLUSH_RQ, EXPORT, ARM_EVENT; 7.3 adds ADD_AREA"),
        )
        .run(|cx| zcrx_field(cx, "nr_ctrl_opcodes", 16)),
    Case::new("query_headers::zcrx_rq_hdr_size_smp")
        .requires(Q)
        .needs(&[Fact::Smp])
        .needs_level(&level::QUERY_ZCRX_7_2)
        .expect(Expect::by_level(
            &level::ZCRX_RQ_HDR_CACHELINES,
            Want::ok(2 * L1_CACHE_BYTES as i64),
            Want::ok(8),
        ))
        .cite(
            Cite::kernel(
                "query.c:io_query_zcrx (rq_hdr_size = sizeof(struct io_uring); 7.3: \
                 sizeof(struct zcrx_rq_hdr), head and tail ____cacheline_aligned_in_smp)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_zcrx"])
            .note("two cache lines of L1_CACHE_BYTES (= SMP_CACHE_BYTES) from 7.3"),
        )
        .run(|cx| zcrx_field(cx, "rq_hdr_size", 24)),
    Case::new("query_headers::zcrx_event_answer")
        .requires(Q)
        .needs_level(&level::QUERY_ZCRX_7_2)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel(
                "query.c:io_query_zcrx_notif (ZCRX_EVENT_TYPE_MASK, sizeof and __alignof__ \
                 struct zcrx_stats, __resv1 = 0, __resv2 zeroed)",
            )
            .man(REG, "IORING_REGISTER_QUERY")
            .rows(&["query_zcrx"])
            .note(
                "event_flags 3 (ALLOC_FAIL, COPY), stats_size 16 (two __u64), \
                 stats_off_alignment 8 (a 64-bit kernel's __u64), reserved words zero",
            ),
        )
        .run(|cx| {
            let (obs, a) = query(cx, QUERY_ZCRX_EVENT, 256)?;
            answered(cx, "QUERY(ZCRX_EVENT)", &a, ZCRX_EVENT_LEN)?;
            let mut got = vec![
                ("event_flags", a.u32_at(0).into(), vec![3]),
                ("stats_size", a.u32_at(4).into(), vec![16]),
                ("stats_off_alignment", a.u32_at(8).into(), vec![8]),
                ("__resv1", a.u32_at(12).into(), vec![0]),
            ];
            let resv2 = ["__resv2[0]", "__resv2[1]", "__resv2[2]", "__resv2[3]"];
            got.extend((0..4).map(|i| (resv2[i], a.u64_at(16 + 8 * i), vec![0])));
            fields(cx, "QUERY(ZCRX_EVENT)", &got)?;
            Ok(obs)
        }),
];
