//! Library side of `uring-matrix`: the pieces that can be unit-tested without QEMU.
//! The binary is `uring-matrix` (host runner, src/main.rs); PID 1 in the VM is the
//! `guest-init` binary of its own crate (ci/guest-init), whose modes and command-line knobs
//! are re-exported here.

pub use uring_guest_init::{cmdline_value, results_block, CHANNEL_PORT, MODES};

pub mod aptsrc;
pub mod classify;
pub mod cpio;
pub mod kcidb;
pub mod report;
pub mod results;

/// What the matrix checks of a 64-bit ELF file's header: its byte order and `e_machine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elf64 {
    /// ELFDATA2MSB (s390x) rather than ELFDATA2LSB (x86_64, arm64, ppc64el).
    pub big_endian: bool,
    /// `e_machine` (elf.h: EM_X86_64 62, EM_AARCH64 183, EM_PPC64 21, EM_S390 22).
    pub machine: u16,
}

impl Elf64 {
    /// The header of a 64-bit ELF file of either byte order.
    pub fn parse(bytes: &[u8]) -> Result<Elf64, String> {
        if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
            return Err("not an ELF file".into());
        }
        if bytes[4] != 2 {
            return Err("not a 64-bit ELF".into());
        }
        let big_endian = match bytes[5] {
            1 => false,
            2 => true,
            other => return Err(format!("unknown ELF byte order {other}")),
        };
        let mut elf = Elf64 {
            big_endian,
            machine: 0,
        };
        elf.machine = elf.u16_at(bytes, 18).ok_or("truncated ELF header")?;
        Ok(elf)
    }

    /// The `N`-byte field at `offset` in this file's byte order.
    fn field<const N: usize>(&self, bytes: &[u8], offset: usize) -> Option<[u8; N]> {
        let mut b: [u8; N] = bytes.get(offset..offset.checked_add(N)?)?.try_into().ok()?;
        if self.big_endian {
            b.reverse();
        }
        Some(b)
    }

    fn u16_at(&self, bytes: &[u8], offset: usize) -> Option<u16> {
        self.field(bytes, offset).map(u16::from_le_bytes)
    }

    fn u32_at(&self, bytes: &[u8], offset: usize) -> Option<u32> {
        self.field(bytes, offset).map(u32::from_le_bytes)
    }

    fn u64_at(&self, bytes: &[u8], offset: usize) -> Option<u64> {
        self.field(bytes, offset).map(u64::from_le_bytes)
    }
}

/// Whether a 64-bit ELF file (either byte order) has no program interpreter (i.e. is
/// statically linked, possibly static-pie) and so can run in the bare initramfs.
pub fn elf_is_static(bytes: &[u8]) -> Result<bool, String> {
    let elf = Elf64::parse(bytes)?;
    let truncated = || "truncated ELF header".to_string();
    let phoff = elf.u64_at(bytes, 32).ok_or_else(truncated)? as usize;
    let phentsize = usize::from(elf.u16_at(bytes, 54).ok_or_else(truncated)?);
    let phnum = usize::from(elf.u16_at(bytes, 56).ok_or_else(truncated)?);
    for i in 0..phnum {
        let p_type = phoff
            .checked_add(i * phentsize)
            .and_then(|o| elf.u32_at(bytes, o))
            .ok_or("truncated program headers")?;
        if p_type == 3 {
            return Ok(false); // PT_INTERP
        }
    }
    Ok(true)
}

/// Parses `--modes`: a comma-separated, non-empty list of guest-init's [`MODES`], each at
/// most once.
pub fn parse_modes(list: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for m in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if !MODES.iter().any(|(name, _)| *name == m) {
            let known: Vec<&str> = MODES.iter().map(|(name, _)| *name).collect();
            return Err(format!("unknown mode {m:?} (known: {})", known.join(", ")));
        }
        if out.iter().any(|x| x == m) {
            return Err(format!("mode {m} given twice"));
        }
        out.push(m.to_string());
    }
    if out.is_empty() {
        return Err("no mode given".into());
    }
    Ok(out)
}

/// Whether a kernel .config has `OPT=y` (built in; `=m` does not count: the initramfs has
/// no modules).
pub fn kconfig_enabled(config: &str, opt: &str) -> bool {
    config
        .lines()
        .any(|l| l.trim_end().strip_prefix(opt) == Some("=y"))
}

/// Whether a kernel with this .config can mount the matrix's scratch disk (ext4 on an NVMe
/// disk, a PCI device).
pub fn kconfig_can_use_scratch(config: &str) -> bool {
    [
        "CONFIG_BLOCK",
        "CONFIG_PCI",
        "CONFIG_BLK_DEV_NVME",
        "CONFIG_EXT4_FS",
    ]
    .iter()
    .all(|o| kconfig_enabled(config, o))
}

/// `--gcov`: writes the `.gcda` files guest-init sent over the results channel (its text
/// `channel`, see [`uring_guest_init::gcov`]) under `dir` at their build paths
/// (`dir/var/cache/.../io_uring/rsrc.gcda`), replacing what an earlier boot left there;
/// returns how many. An error, and no files, when the transfer is incomplete.
pub fn save_gcov(channel: &str, dir: &std::path::Path) -> Result<usize, String> {
    let files = uring_guest_init::gcov::parse_blocks(channel)?;
    let _ = std::fs::remove_dir_all(dir);
    for (path, data) in &files {
        let target = dir.join(path.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, data).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(files.len())
}
