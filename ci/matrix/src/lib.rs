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

/// Whether an ELF file has no program interpreter (i.e. is statically linked, possibly
/// static-pie) and so can run in the bare initramfs.
pub fn elf_is_static(bytes: &[u8]) -> Result<bool, String> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err("not a 64-bit little-endian ELF".into());
    }
    let u16at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64at(32), u16at(54), u16at(56));
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 > bytes.len() {
            return Err("truncated program headers".into());
        }
        if u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) == 3 {
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
