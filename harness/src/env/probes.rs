//! One probe per fact: each a call of its own (never a row's), answering (holds, how).

#![allow(unsafe_code)] // fstatfs, statx, pread, setsockopt and the raw ioprio_get probe

use super::*;

/// A UDP socket connected to 127.0.0.1: connect(2) looks the route up, which fails with
/// ENETUNREACH while `lo` is down; socket(2) answers EAFNOSUPPORT without CONFIG_INET.
pub(super) fn loopback() -> (bool, String) {
    let r = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.connect("127.0.0.1:9"));
    let answer = match &r {
        Ok(()) => "0".to_string(),
        Err(e) => e
            .raw_os_error()
            .map_or_else(|| e.to_string(), |n| uring::Errno(n).to_string()),
    };
    (
        r.is_ok(),
        format!("UDP socket bound to 0.0.0.0, connect(127.0.0.1:9) -> {answer} (EAFNOSUPPORT: no CONFIG_INET; ENETUNREACH: lo down)"),
    )
}

/// The soft RLIMIT_MEMLOCK (what __io_account_mem compares with) against 64 KiB.
pub(super) fn memlock_64k() -> (bool, String) {
    use nix::sys::resource::{getrlimit, Resource};
    match getrlimit(Resource::RLIMIT_MEMLOCK) {
        Ok((soft, hard)) => (
            soft >= 64 << 10,
            format!("getrlimit(RLIMIT_MEMLOCK) -> soft {soft}, hard {hard} bytes"),
        ),
        Err(e) => (false, format!("getrlimit(RLIMIT_MEMLOCK) -> {e}")),
    }
}

/// Capability bit numbers (linux/capability.h).
pub(super) const CAP_SETGID: u32 = 6;
pub(super) const CAP_SETUID: u32 = 7;
pub(super) const CAP_IPC_LOCK: u32 = 14;

/// A kernel without CONFIG_USER_NS has no `/proc/self/uid_map` (fs/proc/base.c lists it
/// under that option) and no namespace but the initial one: the file's absence says yes.
pub(super) fn in_initial_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(m) => m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"],
        Err(e) => {
            e.kind() == std::io::ErrorKind::NotFound
                && std::path::Path::new("/proc/self/status").exists()
        }
    }
}

pub(super) fn has_cap(bit: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << bit) != 0)
}

/// ioprio_get(2) lives in block/ioprio.c, built only with CONFIG_BLOCK; without it the
/// syscall is COND_SYSCALL (kernel/sys_ni.c) and answers ENOSYS.
pub(super) fn block_layer() -> (bool, String) {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: ioprio_get takes two integers and touches no memory of ours.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0 as libc::c_long) };
    // errno read once, right after the call.
    let err = (r < 0).then(uring::Errno::last);
    let answer = err.map_or_else(|| r.to_string(), |e| e.to_string());
    (
        err != Some(uring::Errno::ENOSYS),
        format!("ioprio_get(IOPRIO_WHO_PROCESS, 0) -> {answer} (ENOSYS: no CONFIG_BLOCK)"),
    )
}

/// socketpair(2) is COND_SYSCALL without CONFIG_NET (ENOSYS); AF_UNIX without CONFIG_UNIX
/// answers EAFNOSUPPORT. The rows' peers are AF_UNIX stream pairs.
pub(super) fn sockets() -> (bool, bool, String) {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    let r = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    );
    let (net, unix, answer) = match r {
        Ok((a, b)) => (
            true,
            true,
            format!("fds {} and {}", a.as_raw_fd(), b.as_raw_fd()),
        ),
        Err(nix::errno::Errno::ENOSYS) => (false, false, "ENOSYS".to_string()),
        Err(e) => (true, false, uring::Errno(e as i32).to_string()),
    };
    (
        net,
        unix,
        format!(
            "socketpair(AF_UNIX, SOCK_STREAM) -> {answer} (ENOSYS: no CONFIG_NET; EAFNOSUPPORT: no CONFIG_UNIX)"
        ),
    )
}

/// The filesystem of an open file: fstatfs(2)'s f_type (`__fsword_t`: a long on most
/// 64-bit architectures, an unsigned int on s390x, so the cast is not a no-op there).
pub(super) fn fs_type_of(f: &impl std::os::fd::AsFd) -> nix::Result<FsType> {
    Ok(FsType(
        nix::sys::statfs::fstatfs(f)?.filesystem_type().0 as i64,
    ))
}

/// The temp directory's filesystem and whether its files are DAX, from one temp file.
pub(super) fn tmpdir_fs() -> Result<(FsType, Option<bool>), String> {
    let f = tempfile::tempfile().map_err(|e| e.to_string())?;
    let t = fs_type_of(&f).map_err(|e| e.to_string())?;
    Ok((t, is_dax(&f)))
}

/// Whether a file is DAX (statx STATX_ATTR_DAX, 5.8+); None where statx cannot say.
pub(super) fn is_dax(f: &std::fs::File) -> Option<bool> {
    // SAFETY: struct statx is plain integers, for which all-zero bytes are a valid value.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: statx writes one struct statx owned by this frame; the path is an empty C
    // string used with AT_EMPTY_PATH on a file we hold open.
    let r = unsafe {
        libc::statx(
            f.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_BASIC_STATS,
            &mut st,
        )
    };
    const STATX_ATTR_DAX: u64 = 0x0020_0000;
    (r == 0 && st.stx_attributes_mask & STATX_ATTR_DAX != 0)
        .then_some(st.stx_attributes & STATX_ATTR_DAX != 0)
}

/// memfd_create(2) (ENOSYS without CONFIG_MEMFD_CREATE) and the filesystem of its file.
pub(super) fn memfd_shmem() -> (bool, String) {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    match memfd_create(c"uring-conformance-probe", MFdFlags::MFD_CLOEXEC) {
        Ok(fd) => match fs_type_of(&fd) {
            Ok(t) => (
                t.name() == Some("tmpfs"),
                format!("memfd_create -> fd on {}", t.describe()),
            ),
            Err(e) => (false, format!("fstatfs of a memfd: {e}")),
        },
        Err(e) => (
            false,
            format!(
                "memfd_create -> {} (ENOSYS: no CONFIG_MEMFD_CREATE)",
                uring::Errno(e as i32)
            ),
        ),
    }
}

/// SELinux's enforce flag and this process's LSM label.
pub(super) fn lsm_confinement() -> (bool, String) {
    let enforcing =
        std::fs::read_to_string("/sys/fs/selinux/enforce").is_ok_and(|s| s.trim() == "1");
    let label = std::fs::read_to_string("/proc/self/attr/current")
        .map(|s| s.trim_end_matches(['\0', '\n']).to_string())
        .unwrap_or_default();
    // No LSM (or one without labels) gives an empty label or an error; AppArmor says
    // "unconfined" or names a profile; SELinux labels (user:role:type) refuse only when it
    // enforces, which the enforce flag says.
    let apparmor_profile =
        !label.is_empty() && !label.contains(':') && !label.starts_with("unconfined");
    (
        !enforcing && !apparmor_profile,
        format!(
            "/sys/fs/selinux/enforce: {}; /proc/self/attr/current: {:?}",
            if enforcing {
                "1"
            } else {
                "not enforcing or absent"
            },
            label
        ),
    )
}

/// Writes 1 to this thread's fail-nth, makes one pipe2(2) (its first allocation,
/// alloc_inode's, is GFP_KERNEL) and reads fail-nth back: 0 means the fault was injected.
/// fail-nth is left 0 whatever happens (a pending value would fail a later allocation).
pub(super) fn fault_injection() -> (bool, String) {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    const PATH: &str = "/proc/thread-self/fail-nth";
    let knob = std::fs::read_to_string("/sys/kernel/debug/failslab/ignore-gfp-wait").map_or_else(
        |e| format!("/sys/kernel/debug/failslab/ignore-gfp-wait: {e}"),
        |v| format!("/sys/kernel/debug/failslab/ignore-gfp-wait = {}", v.trim()),
    );
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(PATH)
    {
        Ok(f) => f,
        Err(e) => return (false, format!("{PATH}: {e} (no CONFIG_FAULT_INJECTION)")),
    };
    if let Err(e) = f.write(b"1") {
        return (false, format!("write 1 to {PATH}: {e}"));
    }
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    let err = (r < 0).then(uring::Errno::last);
    let mut buf = [0u8; 16];
    let left = f
        .read_at(&mut buf, 0)
        .map(|n| String::from_utf8_lossy(&buf[..n]).trim().to_string());
    let reset = f.write(b"0");
    if r == 0 {
        // SAFETY: both fds were just made by pipe2 and are owned by nobody else.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
    let answer = err.map_or_else(|| "fds".to_string(), |e| e.to_string());
    let injected = matches!(&left, Ok(v) if v == "0") && reset.is_ok();
    (
        injected,
        format!(
            "fail-nth 1, pipe2 -> {answer}, fail-nth then reads {} ({}); {knob}",
            left.as_deref().unwrap_or("?"),
            if injected {
                "the fault was injected"
            } else {
                "not injected: GFP_KERNEL allocations are not failed"
            }
        ),
    )
}

pub(super) fn meminfo_value(key: &str) -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    m.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| {
        v.trim_start_matches(':')
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

pub(super) fn transparent_hugepages() -> (bool, String) {
    let path = "/sys/kernel/mm/transparent_hugepage/enabled";
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let s = s.trim();
            (
                s.contains("[always]") || s.contains("[madvise]"),
                format!("{path}: {s}"),
            )
        }
        Err(e) => (
            false,
            format!(
                "{path}: {e} (no CONFIG_TRANSPARENT_HUGEPAGE, or {})",
                huge::NO_HUGE_CPU
            ),
        ),
    }
}

/// An O_DIRECT open of a fresh file in the temp directory and one aligned 4 KiB pread(2)
/// of it (a plain syscall: the rows' calls are io_uring reads and writes).
pub(super) fn tmpdir_o_direct() -> (bool, String) {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let path = dir.join(format!("uring-conformance-odirect-{}", std::process::id()));
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path);
    let _ = std::fs::remove_file(&path);
    let f = match opened {
        Ok(f) => f,
        Err(e) => return (false, format!("open(O_DIRECT) in {}: {e}", dir.display())),
    };
    let answer = f.set_len(4096).and_then(|_| {
        let m = uring::Mem::new(4096).map_err(|e| std::io::Error::from_raw_os_error(e.0))?;
        // SAFETY: pread writes at most 4096 bytes into the Mem's one page (page-aligned, as
        // O_DIRECT wants), which lives until the end of this closure and which Rust only
        // accesses by copy.
        let n = unsafe { libc::pread(f.as_raw_fd(), m.addr() as *mut libc::c_void, 4096, 0) };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    });
    match answer {
        Ok(n) => (
            n == 4096,
            format!(
                "open(O_DIRECT) in {} and an aligned 4 KiB pread -> {n}",
                dir.display()
            ),
        ),
        Err(e) => (
            false,
            format!(
                "open(O_DIRECT) in {}, aligned 4 KiB pread -> {e}",
                dir.display()
            ),
        ),
    }
}

pub(super) fn mem_available_3g() -> (bool, String) {
    match meminfo_value("MemAvailable") {
        Some(kb) => (
            kb >= 3 << 20,
            format!("MemAvailable {kb} kB in /proc/meminfo"),
        ),
        None => (false, "no MemAvailable in /proc/meminfo".into()),
    }
}

/// setsockopt(SO_INQ) on an AF_UNIX stream socket: unix_setsockopt() knows it where
/// unix_stream_read_generic() also fills `msg_inq` (one change); older kernels hand it to
/// sock_setsockopt(), which answers ENOPROTOOPT.
pub(super) fn unix_inq() -> (bool, String) {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    const SO_INQ: libc::c_int = 84;
    let (a, _b) = match socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    ) {
        Ok(p) => p,
        Err(e) => return (false, format!("socketpair(AF_UNIX, SOCK_STREAM) -> {e}")),
    };
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads `optlen` bytes from a live c_int; `a` is an open socket.
    let r = unsafe {
        libc::setsockopt(
            a.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_INQ,
            std::ptr::addr_of!(one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    // errno read once, right after the call.
    let answer = if r == 0 {
        "0".to_string()
    } else {
        uring::Errno::last().to_string()
    };
    (
        r == 0,
        format!("setsockopt(AF_UNIX stream, SOL_SOCKET, SO_INQ, 1) -> {answer} (ENOPROTOOPT: no SO_INQ)"),
    )
}

/// Whether access_ok() refuses kernel addresses: on every architecture but those with a
/// separate user address space (ALTERNATE_USER_ADDRESS_SPACE: s390, parisc, sparc64; of
/// the ones this suite builds for, s390x).
pub(super) fn access_ok_rejects_kernel() -> (bool, String) {
    let arch = std::env::consts::ARCH;
    if arch == "s390x" {
        (
            false,
            "built for s390x: the kernel selects ALTERNATE_USER_ADDRESS_SPACE, so __access_ok() accepts every address".into(),
        )
    } else {
        (
            true,
            format!(
                "built for {arch}: one address space, __access_ok() compares with TASK_SIZE_MAX"
            ),
        )
    }
}

/// Whether two io_uring mmaps can lie next to each other (`Fact::RingMmapsAdjacent`): not
/// on s390x when this process runs with PF_RANDOMIZE, which load_elf_binary set at exec
/// unless randomize_va_space was 0 or the personality has ADDR_NO_RANDOMIZE.
pub(super) fn ring_mmaps_adjacent() -> (bool, String) {
    let arch = std::env::consts::ARCH;
    if arch != "s390x" {
        return (
            true,
            format!("built for {arch}: shared mappings go to any free page"),
        );
    }
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
    let (va_space, personality) = (
        read("/proc/sys/kernel/randomize_va_space"),
        read("/proc/self/personality"),
    );
    let no_randomize = personality
        .as_ref()
        .ok()
        .and_then(|p| u32::from_str_radix(p, 16).ok())
        .map(|p| p & ADDR_NO_RANDOMIZE != 0);
    let how = format!(
        "built for s390x: randomize_va_space {}, personality {} (PF_RANDOMIZE aligns shared \
         mappings to 512 KiB, get_align_mask)",
        va_space.as_deref().unwrap_or("unreadable"),
        personality.as_deref().unwrap_or("unreadable"),
    );
    // Unreadable: randomization is on by default, so the mappings are taken to be aligned.
    let randomized = va_space.as_deref().ok() != Some("0") && no_randomize != Some(true);
    (!randomized, how)
}

/// ADDR_NO_RANDOMIZE of include/uapi/linux/personality.h.
const ADDR_NO_RANDOMIZE: u32 = 0x0040000;

/// Whether the kernel was built with CONFIG_SMP: init/Makefile puts the word `SMP` after
/// the build number in UTS_VERSION (`#1 SMP PREEMPT_DYNAMIC ...`), which uname(2) reports.
pub(super) fn smp() -> (bool, String) {
    let u = nix::sys::utsname::uname();
    match u {
        Ok(u) => {
            let v = u.version().to_string_lossy().into_owned();
            (
                v.split_whitespace().skip(1).any(|w| w == "SMP"),
                format!("uname -v: {v}"),
            )
        }
        Err(e) => (false, format!("uname(2) -> {e}")),
    }
}
