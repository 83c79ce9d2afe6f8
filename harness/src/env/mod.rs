//! Facts of the machine and of the kernel's configuration that change a row's answer: the
//! block layer, sockets, the temp directory's filesystem, huge pages, capabilities, fault
//! injection. Each is probed by a call of its own, never by a row's call under test, and a
//! row that depends on one declares it (`Case::needs`): where the fact does not hold, the
//! row skips and says which fact and how it was decided.

use crate::detection::Detection;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;

macro_rules! facts {
    ($($(#[$m:meta])* $v:ident = $name:literal, $needs:literal;)*) => {
        /// A fact of this machine or kernel configuration that some rows depend on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fact { $($(#[$m])* $v,)* }
        impl Fact {
            /// Every fact, in report order.
            pub const ALL: &'static [Fact] = &[$(Fact::$v),*];
            /// The snake_case name used in reports.
            pub fn name(self) -> &'static str { match self { $(Fact::$v => $name,)* } }
            /// What a row that needs it is missing where it does not hold.
            pub fn needs(self) -> &'static str { match self { $(Fact::$v => $needs,)* } }
            /// The fact with this name.
            pub fn from_name(n: &str) -> Option<Fact> { match n { $($name => Some(Fact::$v),)* _ => None } }
        }
    };
}

facts! {
    /// CONFIG_BLOCK: the block layer (ioprio, O_DIRECT to block devices). Without it
    /// ioprio_check_cap() is a stub answering -ENOTBLK (include/linux/ioprio.h).
    BlockLayer = "block_layer", "a kernel with CONFIG_BLOCK";
    /// CONFIG_NET: sockets at all; without it io_uring's RECV/SEND prep is
    /// io_eopnotsupp_prep (opdef.c) and REGISTER_PROBE does not list them.
    Net = "net", "a kernel with CONFIG_NET";
    /// CONFIG_UNIX: AF_UNIX socket pairs, which the socket rows use as their peer.
    UnixSockets = "unix_sockets", "a kernel with CONFIG_UNIX (AF_UNIX socketpair)";
    /// The temp directory is on a page-cache filesystem whose shared mappings GUP refuses
    /// to pin long-term for writing (ext2/3/4, xfs, btrfs, f2fs; ramfs too: its
    /// generic_file_vm_ops has page_mkwrite), without DAX. tmpfs (shmem) pins like
    /// anonymous memory; overlayfs, NFS, FUSE and others depend on what lies below.
    TmpdirFileFs = "tmpdir_file_fs", "TMPDIR on ext2/3/4, xfs, btrfs, f2fs or ramfs without DAX (not tmpfs, overlayfs, NFS, FUSE)";
    /// The temp directory is on ext2/3/4 (f_type 0xef53, served by the ext4 driver unless a
    /// kernel builds CONFIG_EXT2_FS for ext2 mounts): ext4_generic_write_checks refuses a
    /// write to an immutable inode (-EPERM), and s_maxbytes (ext4_max_size) lies below
    /// LLONG_MAX, so a write can be cut short there.
    TmpdirExt4 = "tmpdir_ext4", "TMPDIR on ext2/3/4 (the ext4 driver: EPERM for a write to an immutable file, s_maxbytes below LLONG_MAX)";
    /// The temp directory is on tmpfs/shmem (the memfd-like case).
    TmpdirShmem = "tmpdir_shmem", "TMPDIR on tmpfs";
    /// Free hugetlbfs pages of some size (free_hugepages > 0 in a pool of
    /// /sys/kernel/mm/hugepages; rows pick the size with [`huge_page_sizes`]).
    HugetlbPages = "hugetlb_pages", "free hugetlb pages (vm.nr_hugepages, or hugepagesz=/hugepages= on the kernel command line)";
    /// Transparent huge pages enabled for madvise or always.
    TransparentHugepages = "transparent_hugepages", "transparent huge pages (always or madvise)";
    /// This process has CAP_IPC_LOCK: registered memory is not charged to RLIMIT_MEMLOCK.
    CapIpcLock = "cap_ipc_lock", "CAP_IPC_LOCK";
    /// This process can run a row as a uid no task uses (users.rs): CAP_SETUID and
    /// CAP_SETGID, two such uids and their gids mapped in this user namespace, setgroups(2)
    /// allowed or not needed, RLIMIT_NPROC room. The memlock rows' unprivileged children
    /// and the "another user" rows need it.
    CanDropPrivileges = "can_drop_privileges", "to run a row as a uid no other task uses (CAP_SETUID and CAP_SETGID, an unused uid and gid mapped in this user namespace, setgroups allowed or not needed, RLIMIT_NPROC room)";
    /// RLIMIT_MEMLOCK of at least 64 KiB: room for a helper thread that drops CAP_IPC_LOCK
    /// (with its uid) to make a ring and register a page, charged to its own user
    /// (io_uring.c io_uring_create: ctx->user without CAP_IPC_LOCK; memmap.c
    /// io_create_region and rsrc.c io_account_mem charge the ring's pages and the buffer).
    Memlock64K = "memlock_64k", "RLIMIT_MEMLOCK of at least 64 KiB for a helper without CAP_IPC_LOCK to make a ring";
    /// memfd_create(2) works and gives a shmem file (CONFIG_MEMFD_CREATE with SHMEM).
    MemfdShmem = "memfd_shmem", "memfd_create giving a tmpfs (shmem) file";
    /// The page size is 4096. Where the kernel's rule is in pages the rows compute from the
    /// page size (and [`huge_page_sizes`]); only a row whose rule is 4 KiB itself needs it
    /// (`one_tib_page_array_too_big`: 1 TiB passes io_pin_pages' INT_MAX / 8 page pointers
    /// only in 4 KiB pages). Reported so that every report says the page size it ran on.
    Page4K = "page_4k", "a 4 KiB page size";
    /// No LSM confines this process (SELinux not enforcing, AppArmor unconfined), so
    /// security_uring_override_creds() cannot refuse a registered personality (EACCES).
    NoLsmConfinement = "no_lsm_confinement", "no enforcing SELinux and no AppArmor profile on this process";
    /// /proc/thread-self/fail-nth fails a GFP_KERNEL slab allocation of this thread's next
    /// syscall: CONFIG_FAULT_INJECTION + CONFIG_FAILSLAB, and failslab's `ignore-gfp-wait`
    /// (default Y, mm/failslab.c) set to N in debugfs, else only GFP_ATOMIC/NOWAIT ones count.
    FaultInjection = "fault_injection", "fail-nth failing GFP_KERNEL slab allocations (CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB, /sys/kernel/debug/failslab/ignore-gfp-wait = N)";
    /// A file in the temp directory opens with O_DIRECT and a 4 KiB aligned pread(2)
    /// through it works (ext4, xfs, btrfs on a block device; not tmpfs, ramfs, overlayfs).
    TmpdirODirect = "tmpdir_o_direct", "TMPDIR on a filesystem that supports O_DIRECT (a 4 KiB aligned pread of an O_DIRECT fd)";
    /// MemAvailable in /proc/meminfo is at least 3 GiB (rows that fault in and pin a
    /// buffer of over 2 GiB).
    MemAvailable3G = "mem_available_3g", "MemAvailable of at least 3 GiB (/proc/meminfo)";
    /// CONFIG_INET and a loopback interface that is up: 127.0.0.1 routes (the TCP peers of
    /// the zero-copy send rows; AF_UNIX sockets do not support MSG_ZEROCOPY).
    Loopback = "loopback", "CONFIG_INET with the loopback interface up (127.0.0.1 routable)";
    /// AF_UNIX stream sockets report their queue length to recvmsg (SO_INQ and
    /// `msg_get_inq`, one block of unix_stream_read_generic, 6.17): io_uring's RECV bundle
    /// retry and SOCK_NONEMPTY read it.
    UnixInq = "unix_inq", "AF_UNIX stream sockets that report their queue length (SO_INQ)";
    /// A regular file in the temp directory has no `->poll` (file_can_poll() false), so
    /// io_uring commits a provided buffer when it selects it (kbuf.c io_should_commit);
    /// FUSE's files poll. Probed by epoll_ctl(EPOLL_CTL_ADD) of a temp file (files.rs).
    TmpdirFileNotPollable = "tmpdir_file_not_pollable", "TMPDIR on a filesystem whose regular files cannot be polled (not FUSE)";
    /// access_ok() refuses a kernel address: user and kernel share one address space and
    /// __access_ok (include/asm-generic/access_ok.h) compares with TASK_SIZE_MAX. s390
    /// selects ALTERNATE_USER_ADDRESS_SPACE (arch/s390/Kconfig): user space is an address
    /// space of its own, access_ok() accepts every address, and only the copy faults.
    /// Decided by the architecture this suite was built for (a property of the kernel's
    /// architecture, not of its configuration).
    AccessOkRejectsKernel = "access_ok_rejects_kernel", "an architecture whose access_ok() refuses kernel addresses (not s390: its user space is an address space of its own)";
    /// Two of io_uring's mmaps can lie next to each other: io_uring_get_unmapped_area
    /// (memmap.c) asks for a MAP_SHARED mapping at no address, which every architecture the
    /// suite builds for puts at any free page, except s390 for a task with PF_RANDOMIZE:
    /// its get_align_mask (arch/s390/mm/mmap.c) aligns shared mappings to 512 KiB
    /// (MMAP_ALIGN_MASK, asm/elf.h). Decided by the architecture and, on s390x, by
    /// randomize_va_space and this process's personality (ADDR_NO_RANDOMIZE), which
    /// load_elf_binary turns into PF_RANDOMIZE.
    RingMmapsAdjacent = "ring_mmaps_adjacent", "io_uring mmaps that can lie next to each other (not s390x with address space randomization: it aligns shared mappings to 512 KiB)";
    /// The kernel takes 32-bit syscalls from this x86_64 process (`int 0x80`):
    /// CONFIG_IA32_EMULATION, not disabled by `ia32_emulation=0` (or enabled by
    /// `ia32_emulation=1` under IA32_EMULATION_DEFAULT_DISABLED); without it idt_setup_traps
    /// installs no 0x80 gate. The compat rows set their rings up through that entry.
    /// Probed by getpid(2) through `int 0x80` in a child process (ia32.rs).
    Ia32Emulation = "ia32_emulation", "32-bit syscalls (x86_64 with CONFIG_IA32_EMULATION, not disabled by ia32_emulation=0)";
    /// CONFIG_SMP: `uname -v` (UTS_VERSION, init/Makefile: `#N SMP PREEMPT ... date`)
    /// carries the word SMP. What `____cacheline_aligned_in_smp` aligns depends on it
    /// (QUERY(ZCRX)'s rq_hdr_size since 7.3).
    Smp = "smp", "a kernel with CONFIG_SMP (SMP in uname -v)";
}

/// The filesystem of the temp directory, from fstatfs(2) of a file made there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsType(pub i64);

impl FsType {
    const NAMES: &'static [(i64, &'static str, bool)] = &[
        // (f_type magic from include/uapi/linux/magic.h, name, needs dirty tracking)
        (0x0102_1994, "tmpfs", false),
        (0x8584_58f6, "ramfs", true),
        (0xef53, "ext2/3/4", true),
        (0x5846_5342, "xfs", true),
        (0x9123_683e, "btrfs", true),
        (0xf2f5_2010, "f2fs", true),
        (0x794c_7630, "overlayfs", false),
        (0x6969, "nfs", false),
        (0x6573_5546, "fuse", false),
        (0x0187, "autofs", false),
    ];
    /// The filesystem's name, if it is one the suite knows.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES.iter().find(|(m, ..)| *m == self.0).map(|e| e.1)
    }
    /// Whether GUP refuses a long-term writable pin of its shared file mappings (a known
    /// page-cache filesystem: ext2/3/4, xfs, btrfs, f2fs, ramfs).
    pub fn writeback(self) -> bool {
        Self::NAMES.iter().any(|(m, _, w)| *m == self.0 && *w)
    }
    fn describe(self) -> String {
        match self.name() {
            Some(n) => format!("{n} (f_type {:#x})", self.0),
            None => format!("an unknown filesystem (f_type {:#x})", self.0),
        }
    }
}

/// Every fact, probed once per run.
#[derive(Clone, Debug, Default)]
pub struct Env {
    facts: BTreeMap<Fact, Detection>,
    /// The temp directory's filesystem, if a file could be made there.
    pub tmpdir_fs: Option<FsType>,
    /// The uids no task used when probed, if any (with [`Fact::CanDropPrivileges`]).
    pub spare_uids: Option<SpareUids>,
}

impl Env {
    /// Whether `f` holds here.
    pub fn holds(&self, f: Fact) -> bool {
        self.facts.get(&f).is_some_and(|d| d.present)
    }
    /// How `f` was decided.
    pub fn detection(&self, f: Fact) -> Option<&Detection> {
        self.facts.get(&f)
    }
    /// Every fact with its detection, in report order.
    pub fn facts(&self) -> impl Iterator<Item = (Fact, &Detection)> {
        self.facts.iter().map(|(f, d)| (*f, d))
    }
    /// Why a row that needs `needs` cannot run here: the first fact that does not hold.
    pub fn unmet(&self, needs: &[Fact]) -> Option<String> {
        let f = needs.iter().copied().find(|f| !self.holds(*f))?;
        let how = self.detection(f).map_or("not probed", |d| d.how.as_str());
        Some(format!(
            "environment: needs {} ({}); here: {how}",
            f.needs(),
            f.name()
        ))
    }
    /// A set where exactly `holding` hold (tests of the harness; the child runner).
    pub fn synthetic(holding: &[Fact]) -> Env {
        Env::holding(holding, "synthetic")
    }
    fn holding(holding: &[Fact], how: &str) -> Env {
        Env {
            facts: crate::detection::table(Fact::ALL, holding, how),
            tmpdir_fs: None,
            spare_uids: None,
        }
    }
    /// The names of the facts that hold, comma separated (for the child process).
    pub fn holding_names(&self) -> String {
        crate::detection::present_names(&self.facts, Fact::name)
    }
    /// The facts named (comma separated) hold, decided by `how`.
    pub fn from_names(names: &str, how: &str) -> Env {
        Env::holding(&crate::detection::parse_names(names, Fact::from_name), how)
    }
}

/// Probes every fact. Never prints; never panics.
pub fn probe() -> Env {
    let mut env = Env::default();
    let mut set = |f: Fact, present: bool, how: String| {
        env.facts.insert(f, Detection { present, how });
    };
    let (present, how) = block_layer();
    set(Fact::BlockLayer, present, how);
    let (net, unix, how) = sockets();
    set(Fact::Net, net, how.clone());
    set(Fact::UnixSockets, unix, how);
    let tmp = tmpdir_fs();
    let how = match &tmp {
        Ok((t, _)) => format!(
            "fstatfs of a temp file in {}: {}",
            std::env::temp_dir().display(),
            t.describe()
        ),
        Err(e) => format!("no temp file in {}: {e}", std::env::temp_dir().display()),
    };
    let dax = tmp.as_ref().ok().and_then(|(_, dax)| *dax);
    let how_file = match dax {
        Some(true) => format!("{how}; the file is DAX (statx STATX_ATTR_DAX)"),
        _ => how.clone(),
    };
    let tmp = tmp.ok().map(|(t, _)| t);
    set(
        Fact::TmpdirFileFs,
        tmp.is_some_and(FsType::writeback) && dax != Some(true),
        how_file,
    );
    set(
        Fact::TmpdirExt4,
        tmp.is_some_and(|t| t.name() == Some("ext2/3/4")),
        how.clone(),
    );
    set(
        Fact::TmpdirShmem,
        tmp.is_some_and(|t| t.name() == Some("tmpfs")),
        how,
    );
    let (present, how) = huge_page_sizes().any_free();
    set(Fact::HugetlbPages, present, how);
    let (present, how) = transparent_hugepages();
    set(Fact::TransparentHugepages, present, how);
    // io_account_mem() asks capable(CAP_IPC_LOCK), i.e. in the initial user namespace: a
    // container's root with the bit set is still charged.
    let init_ns = in_initial_user_namespace();
    set(
        Fact::CapIpcLock,
        has_cap(CAP_IPC_LOCK) && init_ns,
        format!(
            "CapEff bit 14 in /proc/self/status: {}; initial user namespace (/proc/self/uid_map 0 0 4294967295, or no uid_map: no CONFIG_USER_NS): {init_ns}",
            has_cap(CAP_IPC_LOCK)
        ),
    );
    let (present, how, spare_uids) = users::can_drop_privileges();
    set(Fact::CanDropPrivileges, present, how);
    let (present, how) = memlock_64k();
    set(Fact::Memlock64K, present, how);
    let (present, how) = memfd_shmem();
    set(Fact::MemfdShmem, present, how);
    let page = uring::sys::page_size();
    set(
        Fact::Page4K,
        page == 4096,
        format!("sysconf(_SC_PAGESIZE) -> {page}"),
    );
    let (present, how) = lsm_confinement();
    set(Fact::NoLsmConfinement, present, how);
    let (present, how) = fault_injection();
    set(Fact::FaultInjection, present, how);
    let (present, how) = tmpdir_o_direct();
    set(Fact::TmpdirODirect, present, how);
    let (present, how) = mem_available_3g();
    set(Fact::MemAvailable3G, present, how);
    let (present, how) = loopback();
    set(Fact::Loopback, present, how);
    let (present, how) = unix_inq();
    set(Fact::UnixInq, present, how);
    let (present, how) = files::tmpdir_file_not_pollable(tmp);
    set(Fact::TmpdirFileNotPollable, present, how);
    let (present, how) = access_ok_rejects_kernel();
    set(Fact::AccessOkRejectsKernel, present, how);
    let (present, how) = ring_mmaps_adjacent();
    set(Fact::RingMmapsAdjacent, present, how);
    let (present, how) = ia32::ia32_emulation();
    set(Fact::Ia32Emulation, present, how);
    let (present, how) = smp();
    set(Fact::Smp, present, how);
    env.tmpdir_fs = tmp;
    env.spare_uids = spare_uids.filter(|_| env.holds(Fact::CanDropPrivileges));
    env
}

mod files;
mod huge;
mod ia32;
mod probes;
mod users;
pub use huge::{huge_page_sizes, size_name, HugePageSizes, HugetlbPool};
use probes::*;
pub use users::{holders_of, Holder, SpareUids};
pub(crate) use users::{read_id_map, to_outside};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystems_are_named_by_magic() {
        assert_eq!(FsType(0x0102_1994).name(), Some("tmpfs"));
        assert!(!FsType(0x0102_1994).writeback());
        assert!(
            FsType(0x8584_58f6).writeback(),
            "ramfs pins like a disk file"
        );
        assert!(FsType(0xef53).writeback());
        assert!(!FsType(0x1234).writeback());
        assert!(FsType(0x1234).describe().contains("unknown"));
    }

    #[test]
    fn an_unmet_fact_names_itself_and_how_it_was_decided() {
        let env = Env::from_names("net,unix_sockets", "told by a test");
        assert!(env.holds(Fact::Net));
        assert_eq!(env.unmet(&[Fact::Net]), None);
        let why = env.unmet(&[Fact::Net, Fact::BlockLayer]).unwrap();
        assert!(
            why.contains("CONFIG_BLOCK") && why.contains("told by a test"),
            "{why}"
        );
        let round = Env::from_names(&env.holding_names(), "x");
        assert_eq!(round.holding_names(), env.holding_names());
    }

    /// On the machine the tests run on: the facts are probed without panicking, and the
    /// block layer and sockets (present on every kernel the project tests build on) hold.
    #[test]
    fn this_machine_is_probed() {
        let env = probe();
        assert_eq!(env.facts().count(), Fact::ALL.len());
        for (f, d) in env.facts() {
            assert!(!d.how.is_empty(), "{}", f.name());
        }
    }

    /// Only s390x aligns io_uring's mappings apart (there it depends on randomization).
    #[test]
    fn ring_mmaps_lie_adjacent_off_s390x() {
        let (adjacent, how) = probes::ring_mmaps_adjacent();
        assert!(adjacent || std::env::consts::ARCH == "s390x", "{how}");
    }
}
