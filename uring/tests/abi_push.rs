//! A ring reads the iovecs an SQE points at in its own ABI's layout: an SQE whose iovecs were
//! laid out for the other ABI is refused at push (`PushError::WrongAbi`), before the kernel
//! could read a native iovec's halves as two compat ones (or the reverse).
#![cfg(target_arch = "x86_64")]

use uring::{op, Abi, Mem, PushError, Ring, RingBuilder};

/// IA32_EMULATION builds have the `abi.vsyscall32` sysctl; without the 32-bit entry a compat
/// ring cannot be made, and this test has nothing to check.
fn has_ia32_emulation() -> bool {
    std::path::Path::new("/proc/sys/abi/vsyscall32").exists()
}

#[test]
fn iovecs_of_the_other_abi_are_refused() {
    if !has_ia32_emulation() {
        eprintln!("not run: this kernel has no IA32_EMULATION (no /proc/sys/abi/vsyscall32)");
        return;
    }
    let mut compat = RingBuilder::new(4)
        .abi(Abi::Compat)
        .build()
        .expect("a compat ring");
    let mut native = Ring::new(4).expect("a native ring");
    let mem = Mem::new(4096).expect("mmap");
    let bufs = [mem.slice(0, 16)];
    let native_sqe = op::readv(Abi::Native, -1, &bufs, 0).expect("native iovecs");
    assert_eq!(compat.push(native_sqe), Err(PushError::WrongAbi));
    let compat_bufs = {
        let _below = uring::compat::below_4g();
        let low = Mem::new(4096).expect("mmap below 4 GiB");
        [low.slice(0, 16)]
    };
    let compat_sqe = op::readv(Abi::Compat, -1, &compat_bufs, 0).expect("compat iovecs");
    assert_eq!(native.push(compat_sqe), Err(PushError::WrongAbi));
    let ok = op::readv(Abi::Compat, -1, &compat_bufs, 0).expect("compat iovecs");
    assert_eq!(compat.push(ok), Ok(()));
}
