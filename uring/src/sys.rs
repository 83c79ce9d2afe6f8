//! The three io_uring syscalls, returning `Result<_, Errno>`.
//!
//! These are the raw entry points: the pointers are passed to the kernel as they are,
//! which is why the functions taking them are `unsafe`. The rest of the crate builds safe
//! calls on top of them; the conformance suite uses them directly to send arguments a
//! safe API would never produce (NULL, unmapped, misaligned).
#![allow(unsafe_code)]

use crate::abi::{io_uring_params, EnterFlags, RegisterOp};
use crate::Errno;
use std::ffi::c_void;
use std::os::fd::{FromRawFd, OwnedFd};

fn check(ret: libc::c_long) -> Result<i32, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as i32)
    }
}

/// io_uring_setup(2): creates a ring and returns its fd; the kernel fills in `params`.
pub fn io_uring_setup(entries: u32, params: &mut io_uring_params) -> Result<OwnedFd, Errno> {
    crate::trace::note(|| crate::trace::Call::Setup {
        flags: params.flags.0,
    });
    // SAFETY: `params` is a valid, exclusively borrowed io_uring_params for the whole call;
    // the kernel reads and writes exactly sizeof(struct io_uring_params) bytes of it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_io_uring_setup,
            entries as libc::c_long,
            params as *mut io_uring_params,
        )
    };
    let fd = check(ret)?;
    // SAFETY: on success the syscall returned a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// io_uring_setup(2) entered through the 32-bit syscall entry (`int 0x80`, i386 number
/// 425), so that `in_compat_syscall()` holds in io_uring_create and the ring is a compat
/// ring (`IO_RING_F_COMPAT`): io_is_compat(ctx) then makes rsrc.c, rw.c and net.c read
/// iovecs and msghdrs in their compat layout, whatever entry later calls use. The entry
/// passes its arguments as 32-bit values (`__ia32_sys_io_uring_setup` takes `(u32)regs->cx`),
/// so `params` must lie below 4 GiB. x86_64 only.
///
/// A kernel without IA32_EMULATION, or booted with `ia32_emulation=0`, installs no gate for
/// vector 0x80 (idt_setup_traps): the instruction then raises SIGSEGV. Callers check
/// [`int80_getpid`] in a child process first.
///
/// # Safety
/// `params` must point to a writable `io_uring_params` below 4 GiB.
#[cfg(target_arch = "x86_64")]
pub unsafe fn io_uring_setup_compat(
    entries: u32,
    params: *mut io_uring_params,
) -> Result<OwnedFd, Errno> {
    crate::trace::note(|| crate::trace::Call::Setup {
        // SAFETY: the caller guarantees `params` points to a valid io_uring_params.
        flags: unsafe { (*params).flags.0 },
    });
    debug_assert!(params as u64 + std::mem::size_of::<io_uring_params>() as u64 <= 1 << 32);
    // SAFETY: the kernel reads and writes sizeof(struct io_uring_params) bytes at `params`,
    // which the caller guarantees are ours and below 4 GiB, so the 32-bit argument names
    // them exactly.
    let ret = unsafe { syscall2_int80(I386_IO_URING_SETUP, entries, params as u32) };
    let fd = ret.map_err(Errno)?;
    // SAFETY: on success the syscall returned a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// getpid(2) through the 32-bit syscall entry (`int 0x80`, i386 number 20): the probe of
/// whether the kernel takes 32-bit syscalls at all (IA32_EMULATION, `ia32_emulation=`).
///
/// # Safety
/// Without the int 0x80 gate the instruction raises SIGSEGV, which kills the process: call
/// it only in a child process made for the probe.
#[cfg(target_arch = "x86_64")]
pub unsafe fn int80_getpid() -> Result<i32, Errno> {
    // SAFETY: getpid takes no arguments and touches no memory; the caller accepts the
    // SIGSEGV of a kernel without the gate.
    unsafe { syscall2_int80(I386_GETPID, 0, 0) }.map_err(Errno)
}

/// i386 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl).
#[cfg(target_arch = "x86_64")]
const I386_GETPID: u32 = 20;
#[cfg(target_arch = "x86_64")]
const I386_IO_URING_SETUP: u32 = 425;

/// A two-argument syscall through `int 0x80` from this 64-bit process: the result as the
/// 32-bit ABI returns it (in eax), `Err(errno)` for -4095..-1.
///
/// # Safety
/// The arguments must be valid for syscall `nr` of the i386 table.
#[cfg(target_arch = "x86_64")]
unsafe fn syscall2_int80(nr: u32, a0: u32, a1: u32) -> Result<i32, i32> {
    let ret: u64;
    // SAFETY: the i386 syscall ABI as do_int80_emulation reads it: number in eax, arguments
    // in ebx and ecx (truncated to 32 bits), result in eax. LLVM reserves rbx, so the first
    // argument is swapped into it and back around the instruction. r8-r11 are declared
    // clobbered (kernels before 4.17 zeroed them on this path); nothing else changes, and
    // the stack is not touched. What the kernel does with the arguments is the caller's
    // contract.
    unsafe {
        std::arch::asm!(
            "xchg {b:r}, rbx",
            "int 0x80",
            "xchg {b:r}, rbx",
            b = inout(reg) a0 as u64 => _,
            inlateout("rax") nr as u64 => ret,
            in("rcx") a1 as u64,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
            options(nostack)
        );
    }
    let ret = ret as u32 as i32;
    if (-4095..0).contains(&ret) {
        Err(-ret)
    } else {
        Ok(ret)
    }
}

/// io_uring_enter(2).
///
/// # Safety
/// `arg` must be NULL or point to `argsz` bytes the kernel may read (a sigset or an
/// `io_uring_getevents_arg` as `flags` says). Submitting SQEs makes the kernel act on the
/// memory they reference: the caller guarantees that memory stays valid until completion.
#[inline]
pub unsafe fn io_uring_enter(
    fd: i32,
    to_submit: u32,
    min_complete: u32,
    flags: EnterFlags,
    arg: *const c_void,
    argsz: usize,
) -> Result<i32, Errno> {
    // SAFETY: forwarded from the caller's contract above.
    let ret = unsafe {
        syscall6(
            libc::SYS_io_uring_enter as usize,
            [
                fd as usize,
                to_submit as usize,
                min_complete as usize,
                flags.0 as usize,
                arg as usize,
                argsz,
            ],
        )
    };
    if ret < 0 {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as i32)
    }
}

/// A raw six-argument syscall returning the kernel's value (`-errno` on failure).
///
/// On x86_64 and aarch64 this is the bare syscall instruction, as liburing does: libc's
/// variadic `syscall()` shuffles every argument and goes through errno, which costs a
/// third of a batch-1 submit's user-space instructions.
///
/// # Safety
/// The arguments must be valid for syscall `nr` (the kernel may read/write through them).
#[inline(always)]
unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    #[cfg(target_arch = "x86_64")]
    {
        let ret: isize;
        // SAFETY: the Linux x86_64 syscall ABI: number in rax, arguments in rdi, rsi, rdx,
        // r10, r8, r9, result in rax; the instruction clobbers only rcx and r11 and does not
        // touch the stack. What the kernel does with the arguments is the caller's contract.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
                in("r10") a[3], in("r8") a[4], in("r9") a[5],
                lateout("rcx") _, lateout("r11") _,
                options(nostack)
            );
        }
        ret
    }
    #[cfg(target_arch = "aarch64")]
    {
        let ret: isize;
        // SAFETY: the Linux aarch64 syscall ABI: number in x8, arguments in x0..x5, result
        // in x0; `svc 0` clobbers nothing else. What the kernel does with the arguments is
        // the caller's contract.
        unsafe {
            std::arch::asm!(
                "svc 0",
                in("x8") nr,
                inlateout("x0") a[0] as isize => ret,
                in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
                options(nostack)
            );
        }
        ret
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        // SAFETY: forwarded from the caller's contract above.
        let r = unsafe { libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
        if r < 0 {
            -(Errno::last().0 as isize)
        } else {
            r as isize
        }
    }
}

/// io_uring_register(2) with any opcode and argument.
///
/// # Safety
/// The kernel reads (and for some opcodes writes) `arg` according to `op` and `nr_args`.
/// The caller guarantees that any memory the kernel writes through `arg` is memory it may
/// write, and that memory the kernel keeps using after the call (buffer-ring pages, ...)
/// stays valid for as long as the kernel uses it. Pointers to memory that is not mapped
/// at all (NULL, a page below mmap_min_addr, a kernel address) are fine: the kernel
/// answers EFAULT.
pub unsafe fn io_uring_register(
    fd: i32,
    op: RegisterOp,
    arg: *const c_void,
    nr_args: u32,
) -> Result<i32, Errno> {
    crate::trace::note(|| crate::trace::Call::Register {
        op,
        blind: fd == -1,
    });
    // SAFETY: forwarded from the caller's contract above.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            fd as libc::c_long,
            op.0 as libc::c_long,
            arg,
            nr_args as libc::c_long,
        )
    };
    check(ret)
}

/// The page size of this machine.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ps = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if ps > 0 {
        ps as usize
    } else {
        4096
    }
}
