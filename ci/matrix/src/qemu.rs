//! QEMU: installing it, the command line, one boot with its console capture, TCG or KVM.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use uring_matrix::classify::{self, VmEnd};
use uring_matrix::CHANNEL_PORT;

use crate::apt::host_codename;
use crate::apt::{system_keyring, system_mirrors, AptEnv, HOST_ARCH};
use crate::cli::{Accel, Arch};
use crate::kernels::Kernel;
use crate::util::{is_root, log, run, tail};

/// What QEMU needs to know about a guest architecture.
impl Arch {
    /// The QEMU system emulator.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
            Arch::Powerpc64le => "qemu-system-ppc64",
            Arch::S390x => "qemu-system-s390x",
        }
    }

    /// The Debian package that ships [`Arch::qemu`].
    fn qemu_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86",
            Arch::Aarch64 => "qemu-system-arm",
            Arch::Powerpc64le => "qemu-system-ppc",
            Arch::S390x => "qemu-system-s390x",
        }
    }

    /// The kernel's name for the serial console QEMU's `-serial stdio` is wired to: on
    /// pseries the first serial is a spapr-vty (the hypervisor console, hvc0), on
    /// s390-ccw-virtio the SCLP line-mode console.
    fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Aarch64 => "ttyAMA0",
            Arch::Powerpc64le => "hvc0",
            Arch::S390x => "ttysclp0",
        }
    }

    /// `-M`: the machine, when QEMU's default is not the one wanted. arm64: the generic
    /// board (PL011, GIC, PCIe host for the NVMe disk). pseries: the speculation-mitigation
    /// capabilities TCG cannot provide set to what it does provide (else QEMU warns on every
    /// boot); the firmware stays SLOF, which formats the NVRAM: under VOF (`x-vof=on`, 7 s
    /// less CPU a boot) the kernel finds it blank and logs "WARNING: nvram corruption
    /// detected" (nvram_scan_partitions), which the matrix rightly counts as a kernel warning.
    fn machine(self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some("virt"),
            Arch::Powerpc64le => {
                Some("pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off")
            }
            Arch::S390x => Some("s390-ccw-virtio"),
        }
    }

    /// Kernel arguments the architecture's guests need under TCG. ppc64: `nmi_watchdog=0`.
    /// Its hard-lockup detector (arch/powerpc/kernel/watchdog.c, the decrementer's soft-NMI)
    /// compares the timebase, which runs with the host's clock, with the last heartbeat of
    /// an hrtimer; when the host starves QEMU's vCPU thread for 10 s (two VMs on a loaded
    /// machine), it reported "CPU 0 self-detected hard LOCKUP" at boot on both ppc64el
    /// kernels: a stall of the emulator, not of the kernel. The x86 guests have no hard-lockup
    /// detector under TCG either (no PMU for the perf NMI); the soft-lockup one stays.
    fn kernel_args(self) -> &'static str {
        match self {
            Arch::Powerpc64le => "nmi_watchdog=0",
            _ => "",
        }
    }

    /// Whether the guest has the isa-debugcon results channel (an x86 I/O port; on other
    /// architectures guest-init reports `channel=none` and the console carries the reports).
    pub fn has_debugcon(self) -> bool {
        self == Arch::X86_64
    }
}

pub fn qemu_version(arch: Arch) -> Option<(u32, u32, String)> {
    let (ok, out, _) = run(Command::new(arch.qemu()).arg("--version"));
    if !ok {
        return None;
    }
    let first = out.lines().next()?.to_string();
    let v = first.split("version ").nth(1)?.split_whitespace().next()?;
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    Some((it.next()?, it.next().unwrap_or(0), first))
}

pub fn ensure_qemu(cache: &Path, no_install: bool, arch: Arch) -> Result<String, String> {
    let (qemu, package) = (arch.qemu(), arch.qemu_package());
    if let Some((maj, _, line)) = qemu_version(arch) {
        if maj >= 10 {
            return Ok(line);
        }
        log(&format!(
            "{line}: too old (Debian 12's 7.2 crashes 6.12 kernels under TCG); need >= 10"
        ));
    } else {
        log(&format!("{qemu} not found"));
    }
    if no_install || !is_root() {
        return Err(format!(
            "need {qemu} >= 10: install {package} from bookworm-backports \
             (or run this as root without --no-install)"
        ));
    }
    let codename = host_codename()?;
    let mirrors = system_mirrors()?;
    let suites: Vec<String> = ["", "-updates", "-security", "-backports"]
        .iter()
        .map(|s| format!("{codename}{s}"))
        .collect();
    let env = AptEnv::new(
        cache.join("apt").join(format!("host-{codename}")),
        &suites,
        &mirrors,
        &system_keyring(),
        true,
        HOST_ARCH,
    )?;
    log(&format!(
        "installing {package} from {codename}-backports (private apt config)"
    ));
    match env.update() {
        Ok(true) => {}
        Ok(false) => return Err("apt could not verify the host suites' signatures".into()),
        Err(e) => return Err(format!("apt-get update: {e}")),
    }
    // The kernel builds install their dependencies at the same time: wait for dpkg's
    // lock instead of failing at once.
    let (ok, out, err) = run(env.cmd("apt-get").args([
        "-q",
        "-y",
        "-o",
        "DPkg::Lock::Timeout=600",
        "--no-install-recommends",
        "-t",
        &format!("{codename}-backports"),
        "install",
        package,
    ]));
    if !ok {
        return Err(format!(
            "apt-get install {package}: {}",
            tail(&format!("{out}\n{err}"), 6)
        ));
    }
    match qemu_version(arch) {
        Some((maj, _, line)) if maj >= 10 => Ok(line),
        Some((_, _, line)) => Err(format!("installed {line}, still older than 10")),
        None => Err(format!("{qemu} still missing after the install")),
    }
}

pub struct BootSpec<'a> {
    pub arch: Arch,
    pub image: &'a Path,
    pub initrd: &'a Path,
    pub accel: Accel,
    pub smp: u32,
    pub memory: u32,
    pub append: String,
    pub timeout: Duration,
    /// Ends the boot as at `timeout` when neither the console nor the results channel has
    /// grown for this long.
    pub idle: Option<Duration>,
    /// An ext4 image attached as an NVMe disk, copy-on-write (`snapshot=on`): the guest's
    /// temp directory on a disk filesystem, for the rows that map regular files.
    pub scratch: Option<&'a Path>,
}

/// Where one boot's output goes.
pub struct BootLogs<'a> {
    /// The serial console (ttyS0, ttyAMA0): the kernel's messages and guest-init's lines.
    pub console: &'a Path,
    /// The results channel: an isa-debugcon at guest-init's `CHANNEL_PORT`, written to this
    /// file by QEMU as the guest writes the port (no interrupts, no guest driver), so the
    /// reports survive a console the guest kernel stopped draining. x86 only: elsewhere the
    /// file stays empty and the reports are read from the console.
    pub channel: &'a Path,
    /// QEMU's own stderr.
    pub stderr: &'a Path,
}

/// Boots once; writes the console, the results channel and QEMU's stderr to `logs`.
pub fn boot(spec: &BootSpec, logs: &BootLogs) -> Result<(VmEnd, Duration), String> {
    let mut c = Command::new(spec.arch.qemu());
    if let Some(machine) = spec.arch.machine() {
        c.args(["-M", machine]);
    }
    match spec.accel {
        Accel::Kvm => c.args(["-accel", "kvm", "-cpu", "host"]),
        _ => c.args(["-accel", "tcg", "-cpu", "max"]),
    };
    c.args([
        "-m",
        &spec.memory.to_string(),
        "-smp",
        &spec.smp.to_string(),
    ])
    .args([
        "-no-reboot",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-serial",
        "stdio",
    ])
    .arg("-kernel")
    .arg(spec.image)
    .arg("-initrd")
    .arg(spec.initrd)
    .arg("-append")
    .arg(&spec.append);
    if spec.arch.has_debugcon() {
        c.arg("-chardev")
            .arg(format!(
                "file,id=results,path={}",
                logs.channel.display().to_string().replace(',', ",,")
            ))
            .args([
                "-device",
                &format!("isa-debugcon,iobase={CHANNEL_PORT:#x},chardev=results"),
            ]);
    } else {
        fs::write(logs.channel, "").map_err(|e| format!("{}: {e}", logs.channel.display()))?;
    }
    if let Some(img) = spec.scratch {
        c.arg("-drive")
            .arg(format!(
                "file={},if=none,id=scratch,format=raw,snapshot=on",
                img.display()
            ))
            .args(["-device", "nvme,drive=scratch,serial=uring-scratch"]);
    }
    c.stdin(Stdio::null())
        .stdout(fs::File::create(logs.console).map_err(|e| e.to_string())?)
        .stderr(fs::File::create(logs.stderr).map_err(|e| e.to_string())?);
    let start = Instant::now();
    let mut child = c
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", spec.arch.qemu()))?;
    let (mut grown, mut size) = (Instant::now(), 0);
    loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((VmEnd::Exited(st.code()), start.elapsed()));
        }
        let now = [logs.console, logs.channel]
            .iter()
            .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
            .sum();
        if now != size {
            (grown, size) = (Instant::now(), now);
        }
        if start.elapsed() >= spec.timeout || spec.idle.is_some_and(|i| grown.elapsed() >= i) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((VmEnd::TimedOut, start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn kernel_cmdline(arch: Arch, extra: &str) -> String {
    let base = format!(
        "console={} panic=-1 loglevel=5 printk.time=1",
        arch.console()
    );
    [base.as_str(), arch.kernel_args(), extra.trim()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decides TCG or KVM: KVM only if a short smoke boot under it reaches init, and only for
/// an x86_64 guest (this host's KVM runs x86_64 guests only).
pub fn pick_accel(
    arch: Arch,
    want: Accel,
    kernel: Option<&Kernel>,
    initrd: &Path,
    out: &Path,
    memory: u32,
) -> Accel {
    if want != Accel::Auto {
        return want;
    }
    let Some(k) = kernel else { return Accel::Tcg };
    if arch != Arch::X86_64 {
        log(&format!("accel: TCG (a {} guest)", arch.name()));
        return Accel::Tcg;
    }
    if fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        log("accel: TCG (no usable /dev/kvm)");
        return Accel::Tcg;
    }
    let spec = BootSpec {
        arch,
        image: &k.image,
        initrd,
        accel: Accel::Kvm,
        smp: 1,
        memory,
        append: kernel_cmdline(arch, "uring.smoke=1"),
        timeout: Duration::from_secs(30),
        idle: None,
        scratch: None,
    };
    let (console, channel, err) = (
        out.join("kvm-smoke.console.log"),
        out.join("kvm-smoke.channel.log"),
        out.join("kvm-smoke.qemu.log"),
    );
    let logs = BootLogs {
        console: &console,
        channel: &channel,
        stderr: &err,
    };
    let r = boot(&spec, &logs);
    let report = classify::classify_boot(
        &fs::read_to_string(&console).unwrap_or_default(),
        &fs::read_to_string(&channel).unwrap_or_default(),
        r.as_ref().map(|x| x.0).unwrap_or(VmEnd::Exited(None)),
        classify::DEFAULT_MODE,
    );
    if report.smoke_ok {
        log(&format!(
            "accel: KVM (smoke boot of {} under KVM reached init)",
            k.name
        ));
        Accel::Kvm
    } else {
        let why = tail(&fs::read_to_string(&err).unwrap_or_default(), 1);
        log(&format!(
            "accel: TCG (smoke boot under KVM failed: {})",
            if why.is_empty() {
                "no init".into()
            } else {
                why
            }
        ));
        Accel::Tcg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_has_the_console_and_the_architecture_arguments() {
        assert_eq!(
            kernel_cmdline(Arch::X86_64, "uring.smoke=1"),
            "console=ttyS0 panic=-1 loglevel=5 printk.time=1 uring.smoke=1"
        );
        assert_eq!(
            kernel_cmdline(Arch::Powerpc64le, ""),
            "console=hvc0 panic=-1 loglevel=5 printk.time=1 nmi_watchdog=0"
        );
        assert!(kernel_cmdline(Arch::S390x, "a").starts_with("console=ttysclp0 "));
    }
}
