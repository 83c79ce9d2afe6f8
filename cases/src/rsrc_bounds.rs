//! Buffer registration and cloning at their exact bounds: the iovec array of
//! REGISTER_BUFFERS read to its last entry and no further, and CLONE_BUFFERS of a source table
//! of the largest size, IORING_MAX_REG_BUFFERS (16384) slots, whole: every bound of
//! io_clone_buffers (`nr > nbufs`, `nr > IORING_MAX_REG_BUFFERS`, `nr + src_off > nbufs`,
//! `nr + dst_off > IORING_MAX_REG_BUFFERS`) met with equality. The checks one past each bound
//! are in [`crate::register_buffers`] and [`crate::clone_buffers`].

use crate::common::clone::*;
use crate::common::*;
use uring::abi::{CloneFlags, RegisterOp};
use uring::register::{ArgPtr, Iov};
use uring_harness::{Case, Cite, Expect, Setup};

/// Catalogue rows this table cannot trigger honestly, and why.
pub const UNCOVERED: &[(&str, &str)] = &[];

/// IORING_MAX_REG_BUFFERS (rsrc.c).
const MAX_REG_BUFFERS: u32 = 16_384;

/// The rows of this table.
pub const CASES: &[Case] = &[
    Case::new("register_buffers::iovec_array_ends_at_guard_page")
        .requires(FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_sqe_buffers_register (for (i = 0; i < nr_args; i++))")
                .man(REG, "IORING_REGISTER_BUFFERS")
                .rows(&["buf_reg_iov_fault"])
                .note(
                    "the kernel reads nr_args iovecs and not one more: an array whose last \
                     iovec ends where the mapping does registers",
                ),
        )
        .run(|cx| {
            let page = uring::sys::page_size();
            let arr = cx.mem(page)?;
            let buf = cx.mem(4096)?;
            let mut iov = buf.addr().to_ne_bytes().to_vec();
            iov.extend_from_slice(&4096u64.to_ne_bytes());
            arr.write(page - 16, &iov);
            let mut ring = cx.ring()?;
            let obs = register_raw(
                cx,
                &ring,
                RegisterOp::BUFFERS,
                ArgPtr::Mem(arr.slice(page - 16, 16)),
                1,
            )?;
            if matches!(obs.answer, uring_harness::Answer::Sync(Ok(0))) {
                reads_into(cx, &mut ring, 0, &buf, 100)?;
            }
            Ok(obs)
        }),
    Case::new("clone_buffers::nr_16384_of_16384")
        .requires(CR_FIXED)
        .expect(Expect::ok(0))
        .cite(
            Cite::kernel("rsrc.c:io_clone_buffers (arg->nr > IORING_MAX_REG_BUFFERS)")
                .man(CLONE3, "io_uring_clone_buffers_offset")
                .rows(&["clone_dst_too_big"])
                .note(
                    "nr may be the whole 16384-slot source table: the bound is exclusive; the \
                 clone's last slot holds the source's last buffer",
                ),
        )
        .run(|cx| {
            let src = cx.ring()?;
            let mem = cx.mem(4096)?;
            let mut iovs = vec![Iov::Empty; MAX_REG_BUFFERS as usize];
            iovs[MAX_REG_BUFFERS as usize - 1] = Iov::Mem(mem.slice(0, 4096));
            src.registrar()
                .register_buffers(&iovs)
                .setup("register 16383 empty slots and a page in the last")?;
            let mut dst = cx.ring()?;
            let obs = clone(
                cx,
                &dst,
                arg(src.fd(), CloneFlags::NONE, 0, 0, MAX_REG_BUFFERS),
            )?;
            reads_into(cx, &mut dst, (MAX_REG_BUFFERS - 1) as u16, &mem, 0)?;
            read_faults(cx, &mut dst, 0, &mem, 0)?;
            Ok(obs)
        }),
];
