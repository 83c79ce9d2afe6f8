//! QEMU: installing it, the command line, one boot with its console capture, TCG or KVM.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use uring_matrix::classify::{self, VmEnd};
use uring_matrix::CHANNEL_PORT;

use crate::apt::host_codename;
use crate::apt::{system_keyring, system_mirrors, AptEnv};
use crate::cli::Accel;
use crate::kernels::Kernel;
use crate::util::{is_root, log, run, tail};

pub const QEMU: &str = "qemu-system-x86_64";

pub fn qemu_version() -> Option<(u32, u32, String)> {
    let (ok, out, _) = run(Command::new(QEMU).arg("--version"));
    if !ok {
        return None;
    }
    let first = out.lines().next()?.to_string();
    let v = first.split("version ").nth(1)?.split_whitespace().next()?;
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    Some((it.next()?, it.next().unwrap_or(0), first))
}

pub fn ensure_qemu(cache: &Path, no_install: bool) -> Result<String, String> {
    if let Some((maj, _, line)) = qemu_version() {
        if maj >= 10 {
            return Ok(line);
        }
        log(&format!(
            "{line}: too old (Debian 12's 7.2 crashes 6.12 kernels under TCG); need >= 10"
        ));
    } else {
        log("qemu-system-x86_64 not found");
    }
    if no_install || !is_root() {
        return Err(
            "need qemu-system-x86_64 >= 10: install qemu-system-x86 from bookworm-backports \
                    (or run this as root without --no-install)"
                .into(),
        );
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
    )?;
    log(&format!(
        "installing qemu-system-x86 from {codename}-backports (private apt config)"
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
        "qemu-system-x86",
    ]));
    if !ok {
        return Err(format!(
            "apt-get install qemu-system-x86: {}",
            tail(&format!("{out}\n{err}"), 6)
        ));
    }
    match qemu_version() {
        Some((maj, _, line)) if maj >= 10 => Ok(line),
        Some((_, _, line)) => Err(format!("installed {line}, still older than 10")),
        None => Err("qemu-system-x86_64 still missing after the install".into()),
    }
}

pub struct BootSpec<'a> {
    pub image: &'a Path,
    pub initrd: &'a Path,
    pub accel: Accel,
    pub smp: u32,
    pub memory: u32,
    pub append: String,
    pub timeout: Duration,
    /// An ext4 image attached as an NVMe disk, copy-on-write (`snapshot=on`): the guest's
    /// temp directory on a disk filesystem, for the rows that map regular files.
    pub scratch: Option<&'a Path>,
}

/// Where one boot's output goes.
pub struct BootLogs<'a> {
    /// The serial console (ttyS0): the kernel's messages and guest-init's lines.
    pub console: &'a Path,
    /// The results channel: an isa-debugcon at guest-init's `CHANNEL_PORT`, written to this
    /// file by QEMU as the guest writes the port (no interrupts, no guest driver), so the
    /// reports survive a console the guest kernel stopped draining.
    pub channel: &'a Path,
    /// QEMU's own stderr.
    pub stderr: &'a Path,
}

/// Boots once; writes the console, the results channel and QEMU's stderr to `logs`.
pub fn boot(spec: &BootSpec, logs: &BootLogs) -> Result<(VmEnd, Duration), String> {
    let mut c = Command::new(QEMU);
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
    .arg(&spec.append)
    .arg("-chardev")
    .arg(format!(
        "file,id=results,path={}",
        logs.channel.display().to_string().replace(',', ",,")
    ))
    .args([
        "-device",
        &format!("isa-debugcon,iobase={CHANNEL_PORT:#x},chardev=results"),
    ]);
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
    let mut child = c.spawn().map_err(|e| format!("cannot start {QEMU}: {e}"))?;
    loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((VmEnd::Exited(st.code()), start.elapsed()));
        }
        if start.elapsed() >= spec.timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((VmEnd::TimedOut, start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn kernel_cmdline(extra: &str) -> String {
    format!("console=ttyS0 panic=-1 loglevel=5 printk.time=1 {extra}")
        .trim()
        .to_string()
}

/// Decides TCG or KVM: KVM only if a short smoke boot under it reaches init.
pub fn pick_accel(
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
        image: &k.image,
        initrd,
        accel: Accel::Kvm,
        smp: 1,
        memory,
        append: kernel_cmdline("uring.smoke=1"),
        timeout: Duration::from_secs(30),
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
