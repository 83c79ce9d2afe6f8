//! §2.2: what IORING_REGISTER_CLONE_BUFFERS does: shared pinned pages, refcounts, offsets,
//! DST_REPLACE, tags, memlock. The argument checks, source lookup and ranges are in
//! [`crate::clone_buffers`]; further effects checked by I/O through every slot are in
//! [`crate::clone_effects`].

use crate::common::clone::*;
use crate::common::*;
use std::time::Duration;
use uring::abi::{CloneFlags, CqeFlags};
use uring::register::{register_ring_fd_of, CloneSrc, Iov};
use uring_harness::{Case, Cite, Expect, Feature, Setup};

/// RLIMIT_MEMLOCK of `clone_buffers::clone_not_charged_to_memlock`.
const CLONE_MEMLOCK: u64 = 64 * 1024;

/// How many one-page buffers `clone_not_charged_to_memlock` registers with pages of
/// `page_size` bytes: three quarters of [`CLONE_MEMLOCK`] in pages, rounded up (12 of 16 with
/// 4 KiB pages, 3 of 4 with 16 KiB, 1 of 1 with 64 KiB), so the source's charge fits and a
/// second charge of the same pages by the clone would not. io_buffer_account_pin (rsrc.c)
/// charges every small page of every buffer, even a page two buffers share, so the n
/// buffers of 4096 bytes of `ring_with_buffers` cost n pages at any page size.
fn pages_charged_once(page_size: usize) -> usize {
    let limit_pages = CLONE_MEMLOCK as usize / page_size;
    (3 * limit_pages).div_ceil(4).max(1)
}

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// The clone rows.
pub const CASES: &[Case] = &[
    // ---- §2.2 semantics ----
    Case::new("clone_buffers::full_clone_shares_pages")
        .requires(CB_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers")
                .man(CLONE3, "DESCRIPTION")
                .rows(&[]),
        )
        .run(|cx| {
            let (src, m, mut dst) = pair(cx, 2)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))?;
            reads_into(cx, &mut dst, 0, &m, 0)?;
            reads_into(cx, &mut dst, 1, &m, 4096 + 100)?;
            read_faults(cx, &mut dst, 2, &m, 0)?;
            Ok(obs)
        }),
    Case::new("clone_buffers::source_unregistered_dst_still_works")
        .requires(CB_FIXED)
        .expect(Expect::ok(0))
        .cite(Cite::kernel("rsrc.c:io_buffer_unmap (imu->refs)").man(CLONE3, "DESCRIPTION"))
        .run(|cx| {
            let (mut src, m, mut dst) = pair(cx, 1)?;
            dst.registrar()
                .clone_buffers(CloneSrc::Fd(src.fd()), CloneFlags::NONE, 0, 0, 0)
                .setup("clone")?;
            let obs = cx.sync(
                "io_uring_register(src, UNREGISTER_BUFFERS) after cloning into dst",
                src.registrar().unregister_buffers().map(|_| 0),
            )?;
            reads_into(cx, &mut dst, 0, &m, 0)?;
            read_faults(cx, &mut src, 0, &m, 0)?;
            Ok(obs)
        }),
    Case::new("clone_buffers::offset_clone_into_empty")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (max(dst_off + nr, old nr))")
                .man(CLONE3, "io_uring_clone_buffers_offset"),
        )
        .run(|cx| {
            let (src, m, mut dst) = pair(cx, 3)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 1, 2, 2))?;
            let slots = [
                Slot::Lacks(&m, 0),
                Slot::Lacks(&m, 4096),
                Slot::Holds(&m, 4096),
                Slot::Holds(&m, 2 * 4096),
            ];
            table_is(cx, &mut dst, &slots)?;
            Ok(obs)
        }),
    Case::new("clone_buffers::dst_replace_keeps_other_slots")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (DST_REPLACE)")
                .man(CLONE3, "IORING_REGISTER_DST_REPLACE"),
        )
        .run(|cx| {
            let (src, sm) = ring_with_buffers(cx, 1)?;
            let (mut dst, dm) = ring_with_buffers(cx, 3)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::DST_REPLACE, 0, 1, 1))?;
            read_faults(cx, &mut dst, 1, &dm, 4096)?;
            table_is(
                cx,
                &mut dst,
                &[
                    Slot::Holds(&dm, 0),
                    Slot::Holds(&sm, 0),
                    Slot::Holds(&dm, 2 * 4096),
                ],
            )?;
            Ok(obs)
        }),
    Case::new("clone_buffers::empty_src_slot_replaces_dst_slot")
        .requires(&[Feature::CloneRanges, Feature::OpReadWriteFixed])
        .expect(Expect::ok(0))
        .cite(Cite::kernel(
            "rsrc.c:io_clone_buffers (empty src node -> NULL dst node)",
        ))
        .run(|cx| {
            let src = cx.ring()?;
            let sm = cx.mem(4096)?;
            src.registrar()
                .register_buffers(&[Iov::Mem(sm.slice(0, 4096)), Iov::Empty])
                .setup("src {page, empty}")?;
            let (mut dst, dm) = ring_with_buffers(cx, 2)?;
            let obs = clone(cx, &dst, arg(src.fd(), CloneFlags::DST_REPLACE, 1, 1, 1))?;
            reads_into(cx, &mut dst, 0, &dm, 0)?;
            read_faults(cx, &mut dst, 1, &dm, 4096)?;
            Ok(obs)
        }),
    Case::new("clone_buffers::dst_replace_releases_old_tag")
        .requires(&[Feature::CloneRanges, Feature::RsrcTags])
        .expect(Expect::cqe(0, CqeFlags::NONE))
        .cite(Cite::kernel(
            "rsrc.c:io_clone_buffers -> io_put_rsrc_node (tag CQE)",
        ))
        .run(|cx| {
            let (src, _sm) = ring_with_buffers(cx, 1)?;
            let mut dst = cx.ring()?;
            let (a, b) = (page(cx)?, page(cx)?);
            dst.registrar()
                .register_buffers_tagged(&[a, b], &[0x7a9, 0x7b0])
                .setup("dst with two tagged buffers")?;
            dst.registrar()
                .clone_buffers(CloneSrc::Fd(src.fd()), CloneFlags::DST_REPLACE, 0, 0, 1)
                .setup("clone over dst slot 0")?;
            let c = cx.wait(&mut dst, 1)?;
            cx.check_eq("tag of the released dst node", c[0].user_data, 0x7a9)?;
            cx.check_eq(
                "further tag CQEs",
                cx.settle(&mut dst, Duration::from_millis(20)).len(),
                0,
            )?;
            cx.cqe(
                "tag CQE after CLONE_BUFFERS(DST_REPLACE, dst_off 0, nr 1) over tagged slot 0",
                c[0],
            )
        }),
    Case::new("clone_buffers::self_clone_with_dst_replace")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(Cite::kernel(
            "rsrc.c:io_register_clone_buffers (src_ctx == ctx)",
        ))
        .run(|cx| {
            let (mut ring, m) = ring_with_buffers(cx, 1)?;
            let obs = clone(cx, &ring, arg(ring.fd(), CloneFlags::DST_REPLACE, 0, 1, 1))?;
            reads_into(cx, &mut ring, 0, &m, 0)?;
            reads_into(cx, &mut ring, 1, &m, 8)?;
            Ok(obs)
        }),
    Case::new("clone_buffers::clone_not_charged_to_memlock")
        .requires(CB)
        .unprivileged(CLONE_MEMLOCK)
        .expect(Expect::ok(0))
        .cite(Cite::kernel(
            "rsrc.c:io_buffer_acct_cloned_hpages (no io_account_mem)",
        ))
        .run(|cx| {
            let (src, _m) = ring_with_buffers(cx, pages_charged_once(uring::sys::page_size()))?;
            let dst = cx.ring()?;
            clone(cx, &dst, arg(src.fd(), CloneFlags::NONE, 0, 0, 0))
        }),
    Case::new("clone_buffers::tags_not_cloned")
        .requires(&[Feature::CloneBuffers, Feature::RsrcTags])
        .expect(Expect::ok(0))
        .cite(Cite::kernel(
            "rsrc.c:io_clone_buffers (dst nodes carry tag 0)",
        ))
        .run(|cx| {
            let src = cx.ring()?;
            let a = page(cx)?;
            src.registrar()
                .register_buffers_tagged(&[a], &[0x7a6])
                .setup("tagged src buffer")?;
            let mut src = src;
            let mut dst = cx.ring()?;
            dst.registrar()
                .clone_buffers(CloneSrc::Fd(src.fd()), CloneFlags::NONE, 0, 0, 0)
                .setup("clone")?;
            // Replacing a slot posts its tag on every version (unregister does only from 6.13).
            dst.registrar()
                .update_buffers(0, &[Iov::Empty], &[])
                .setup("clear dst slot 0")?;
            let in_dst = cx.settle(&mut dst, Duration::from_millis(50));
            // Control: the same replacement in the source does post the tag.
            src.registrar()
                .update_buffers(0, &[Iov::Empty], &[])
                .setup("clear src slot 0")?;
            let in_src = cx.wait(&mut src, 1)?;
            cx.check_eq(
                "tag CQE user_data in src after clearing its slot",
                in_src[0].user_data,
                0x7a6,
            )?;
            let n = in_dst.iter().filter(|c| c.user_data == 0x7a6).count();
            cx.sync(
                "clear slot 0 of the clone of a buffer tagged 0x7a6, then count its tag CQEs in \
                 dst",
                Ok::<i64, E>(n as i64),
            )
        }),
    Case::new("clone_buffers::src_registered_index")
        .requires(&[
            Feature::CloneBuffers,
            Feature::RegRegRing,
            Feature::OpReadWriteFixed,
        ])
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("io_uring.c:io_uring_ctx_get_file (registered ring index)")
                .man(CLONE3, "IORING_REGISTER_SRC_REGISTERED"),
        )
        .run(|cx| {
            let (src, m, mut dst) = pair(cx, 1)?;
            let idx = register_ring_fd_of(src.fd()).setup("register the source ring fd")?;
            let obs = clone(
                cx,
                &dst,
                arg(idx as i32, CloneFlags::SRC_REGISTERED, 0, 0, 0),
            )?;
            reads_into(cx, &mut dst, 0, &m, 0)?;
            Ok(obs)
        }),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Within the limit once, over it twice, at every page size Linux uses.
    #[test]
    fn clone_memlock_charge_fits_once_not_twice() {
        for page in [4096, 16384, 65536] {
            let limit = CLONE_MEMLOCK as usize / page;
            let n = pages_charged_once(page);
            assert!(n <= limit && 2 * n > limit, "page {page}: {n} of {limit}");
        }
        assert_eq!(pages_charged_once(4096), 12);
    }
}
