//! uring-matrix: boots the io_uring conformance suite under QEMU on a matrix of kernels.
//! Run `cargo run -p uring-matrix --release -- --help` (or `ci/matrix.sh --help`).

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uring_matrix::aptsrc::{self, LockEntry, ManifestEntry, Mirrors};
use uring_matrix::classify::{self, BootReport, Flag, VmEnd};
use uring_matrix::cpio::{self, CpioWriter};
use uring_matrix::report::{self, Column, ModeColumn};
use uring_matrix::results::Results;

const HELP: &str = "\
uring-matrix: boot the io_uring conformance suite under QEMU on several kernels.

USAGE: ci/matrix.sh [OPTIONS]
       cargo run -p uring-matrix --release -- [OPTIONS]
       ci/matrix.sh fetch-deb SUITE PACKAGE DIR
           download PACKAGE's candidate from the Debian suite SUITE into DIR the same way
           (private apt configuration, hash checked) and print the .deb's path; a .deb in
           DIR with that hash is reused (ci/build-kernel.sh uses it for linux-source-*)

Kernels come from fixtures/kernels.manifest and/or --kernel. A manifest line is either a
Debian kernel package (`name suites package-glob`: resolved through apt with a private
configuration in the cache at every run; the versions used are written to
fixtures/kernels.lock) or a kernel the matrix builds (`name build:CONFIG linux-source-X.Y`:
`ci/build-kernel.sh --config CONFIG --version X.Y`, fragment
fixtures/kernel-configs/CONFIG.config; cached by the fragment's content, the source version
and the compiler, so only a run after a change builds). A kernel whose .config is known
(built ones; --kernel images next to a `config` file or in a make O= tree) gets the ext4
scratch disk only if it has BLOCK, PCI, BLK_DEV_NVME and EXT4_FS; the others run with TMPDIR
on /tmp.

Every boot runs the suite once per mode of --modes (default and strict: `--strict`); the
tables show one value per cell when the modes agree, else default/strict. Output goes to
ci/out/: per kernel <name>/console.log, results-<mode>.jsonl, verdict.txt; and
cases.{txt,md}, features.{txt,md}, summary.txt. Exit status 1 if any kernel has a failing
case (in any mode), a broken boot or a build that failed, 2 on usage or setup errors.

Cache: ${URING_CACHE:-/var/cache/uring-conformance}, outside the checkout so a fresh clone
is warm (ci/cache/ when that is not writable; URING_CACHE=ci/cache keeps it in the checkout):
apt/ (private apt lists), kernels/ (extracted Debian kernels), debs/, keyring/, kernel/
(ci/build-kernel.sh's trees, builds and images), scratch.ext4.

OPTIONS:
  --kernel PATH        Also boot this kernel image (a bzImage you built). Repeatable.
  --only-path          Boot only the --kernel images, not the manifest's.
  --no-build           Skip the manifest's build: entries (boot only packaged kernels).
  --modes LIST         Suite modes per boot, comma-separated: default, strict (default:
                       default,strict).
  --filter NAME        Only the manifest entries named NAME or NAME-*. Repeatable or
                       comma-separated (e.g. --filter 6.1,7.3 selects 6.1 and 7.3-rc;
                       --filter 6.12 selects 6.12 and 6.12-bpo; --filter 7.2 selects 7.2
                       and the own-config 7.2-tiny, 7.2-minimal, 7.2-faultinject).
  --jobs N             VMs run at the same time (default 2).
  --timeout S          Time limit per boot in seconds (default 240).
  --suite-args 'ARGS'  Extra arguments for uring-conformance inside the VM (passed on the
                       kernel command line as uring.args; no double quotes).
  --threads N          --test-threads for the suite inside the VM (default 2).
  --smp N              vCPUs per VM (default 1; 2 was slower with two VMs on two cores).
  --memory MB          Memory per VM (default 512).
  --accel auto|tcg|kvm auto (default) uses KVM only if a short smoke boot under KVM works,
                       else TCG (-accel tcg -cpu max).
  --retries N          Extra boots for a kernel whose boot never reached the suite (default 2).
  --payload PATH       Use this static uring-conformance binary instead of building it.
  --offline            Do not ask apt: use the kernels recorded in fixtures/kernels.lock
                       that are in the cache (build: kernels use the cached linux-source).
  --no-install         Never install QEMU (by default, as root, a missing or too old QEMU
                       is installed from <codename>-backports through a private apt config).
  --list               Print the manifest entries and exit.
  -h, --help           This text.

Environment: URING_MATRIX_MIRROR overrides the Debian mirror URI taken from the machine's
apt configuration (URING_MATRIX_SECURITY_MIRROR the security one); URING_MATRIX_KEYRING
the keyring that checks the suites (default: the machine's debian-archive-keyring.gpg; a
suite it cannot check gets the debian-archive-keyring package of the newest suite it can).
";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Accel {
    Auto,
    Tcg,
    Kvm,
}

struct Opts {
    kernels: Vec<PathBuf>,
    only_path: bool,
    filters: Vec<String>,
    jobs: usize,
    timeout: u64,
    suite_args: Option<String>,
    threads: u32,
    smp: u32,
    memory: u32,
    accel: Accel,
    retries: u32,
    payload: Option<PathBuf>,
    offline: bool,
    no_install: bool,
    list: bool,
    no_build: bool,
    modes: Vec<String>,
}

fn die(msg: &str) -> ! {
    eprintln!("uring-matrix: {msg}");
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        kernels: vec![],
        only_path: false,
        filters: vec![],
        jobs: 2,
        timeout: 240,
        suite_args: None,
        threads: 2,
        smp: 1,
        memory: 512,
        accel: Accel::Auto,
        retries: 2,
        payload: None,
        offline: false,
        no_install: false,
        list: false,
        no_build: false,
        modes: vec!["default".into(), "strict".into()],
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = |name: &str| -> String {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| die(&format!("{name} needs a value")))
        };
        let num = |v: String, name: &str| -> u64 {
            v.parse()
                .unwrap_or_else(|_| die(&format!("{name}: not a number: {v}")))
        };
        match key.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0)
            }
            "--kernel" => o.kernels.push(PathBuf::from(val("--kernel"))),
            "--only-path" => o.only_path = true,
            "--filter" => o.filters.extend(
                val("--filter")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            "--jobs" => o.jobs = num(val("--jobs"), "--jobs").max(1) as usize,
            "--timeout" => o.timeout = num(val("--timeout"), "--timeout").max(5),
            "--suite-args" => o.suite_args = Some(val("--suite-args")),
            "--threads" => o.threads = num(val("--threads"), "--threads").max(1) as u32,
            "--smp" => o.smp = num(val("--smp"), "--smp").max(1) as u32,
            "--memory" => o.memory = num(val("--memory"), "--memory").max(128) as u32,
            "--retries" => o.retries = num(val("--retries"), "--retries") as u32,
            "--payload" => o.payload = Some(PathBuf::from(val("--payload"))),
            "--offline" => o.offline = true,
            "--no-install" => o.no_install = true,
            "--list" => o.list = true,
            "--no-build" => o.no_build = true,
            "--modes" => {
                o.modes = uring_matrix::parse_modes(&val("--modes"))
                    .unwrap_or_else(|e| die(&format!("--modes: {e}")))
            }
            "--accel" => {
                o.accel = match val("--accel").as_str() {
                    "auto" => Accel::Auto,
                    "tcg" => Accel::Tcg,
                    "kvm" => Accel::Kvm,
                    v => die(&format!("--accel: auto, tcg or kvm, not {v}")),
                }
            }
            _ => die(&format!("unknown option {a} (see --help)")),
        }
    }
    if let Some(s) = &o.suite_args {
        if s.contains('"') || s.contains('\n') {
            die("--suite-args cannot contain double quotes or newlines");
        }
    }
    if o.only_path && o.kernels.is_empty() {
        die("--only-path needs at least one --kernel PATH");
    }
    o
}

/// `--filter 6.12` selects `6.12` and `6.12-bpo`, not `6.1`; `--filter 6.1` only `6.1`.
fn filter_matches(filter: &str, name: &str) -> bool {
    name == filter
        || name
            .strip_prefix(filter)
            .is_some_and(|r| r.starts_with('-'))
}

fn log(msg: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "[matrix] {msg}");
}

/// Runs a command, returning (success, stdout, stderr).
fn run(cmd: &mut Command) -> (bool, String, String) {
    match cmd.stdin(Stdio::null()).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (
            false,
            String::new(),
            format!("cannot run {:?}: {e}", cmd.get_program()),
        ),
    }
}

fn tail(s: &str, n: usize) -> String {
    let v: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    v[v.len().saturating_sub(n)..].join("\n")
}

/// Whether this process runs as root: the effective uid of /proc/self (std only).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The workspace root: the nearest ancestor of the current directory holding
/// ci/matrix/Cargo.toml, else the one this binary was built from.
fn find_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for d in cwd.ancestors() {
            if d.join("ci/matrix/Cargo.toml").is_file() && d.join("Cargo.toml").is_file() {
                return d.to_path_buf();
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if built.join("ci/matrix/Cargo.toml").is_file() {
        return built.canonicalize().unwrap_or(built);
    }
    die("run this from inside the uring-conformance repository")
}

fn sha256_file(p: &Path) -> Result<String, String> {
    let (ok, out, err) = run(Command::new("sha256sum").arg(p));
    if !ok {
        return Err(format!("sha256sum {}: {}", p.display(), err.trim()));
    }
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| "sha256sum: no output".into())
}

// ---------------------------------------------------------------------------------------
// apt: the machine's mirrors, a private configuration per manifest entry
// ---------------------------------------------------------------------------------------

fn system_mirrors() -> Result<Mirrors, String> {
    let mut entries = Vec::new();
    if let Ok(t) = fs::read_to_string("/etc/apt/sources.list") {
        entries.extend(aptsrc::parse_one_line(&t));
    }
    if let Ok(rd) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let Ok(t) = fs::read_to_string(&f) else {
                continue;
            };
            match f.extension().and_then(|e| e.to_str()) {
                Some("sources") => entries.extend(aptsrc::parse_deb822(&t)),
                Some("list") => entries.extend(aptsrc::parse_one_line(&t)),
                _ => {}
            }
        }
    }
    let mut m = aptsrc::pick_mirrors(&entries)
        .ok_or("no Debian mirror found in the machine's apt configuration")?;
    if let Ok(u) = std::env::var("URING_MATRIX_MIRROR") {
        m.security = format!("{}-security", u.trim_end_matches('/'));
        m.archive = u.trim_end_matches('/').to_string();
    }
    if let Ok(u) = std::env::var("URING_MATRIX_SECURITY_MIRROR") {
        m.security = u.trim_end_matches('/').to_string();
    }
    Ok(m)
}

const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The keyring that checks the suites' Release signatures: the machine's Debian archive
/// keyring, unless URING_MATRIX_KEYRING names another.
fn system_keyring() -> PathBuf {
    std::env::var_os("URING_MATRIX_KEYRING")
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_KEYRING.into())
}

/// A private apt configuration: its own sources, lists, cache and (optionally) status.
struct AptEnv {
    dir: PathBuf,
    system_status: bool,
}

impl AptEnv {
    fn new(
        dir: PathBuf,
        suites: &[String],
        mirrors: &Mirrors,
        keyring: &Path,
        system_status: bool,
    ) -> Result<AptEnv, String> {
        for sub in [
            "lists/partial",
            "cache/archives/partial",
            "sources.list.d",
            "preferences.d",
        ] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let status = dir.join("status");
        if !status.exists() {
            fs::write(&status, "").map_err(|e| e.to_string())?;
        }
        let mut list = String::from("# generated by uring-matrix\n");
        for s in suites {
            let uri = if s.ends_with("-security") {
                &mirrors.security
            } else {
                &mirrors.archive
            };
            list.push_str(&format!(
                "deb [arch=amd64 signed-by={}] {uri} {s} main\n",
                keyring.display()
            ));
        }
        fs::write(dir.join("sources.list"), list).map_err(|e| e.to_string())?;
        Ok(AptEnv { dir, system_status })
    }

    fn opts(&self) -> Vec<String> {
        let d = |s: &str| self.dir.join(s).display().to_string();
        let mut o = vec![
            format!("Dir::Etc::SourceList={}", d("sources.list")),
            format!("Dir::Etc::SourceParts={}", d("sources.list.d")),
            format!("Dir::Etc::Preferences={}", d("preferences")),
            format!("Dir::Etc::PreferencesParts={}", d("preferences.d")),
            format!("Dir::State::Lists={}", d("lists")),
            format!("Dir::Cache={}", d("cache")),
            "Acquire::Languages=none".into(),
            "Acquire::PDiffs=false".into(),
            "APT::Architecture=amd64".into(),
            "APT::Architectures=amd64".into(),
            "APT::Get::List-Cleanup=true".into(),
            // Some images (docker-clean) switch the binary caches off; they save a second
            // per apt-cache call on the big lists.
            "Dir::Cache::pkgcache=pkgcache.bin".into(),
            "Dir::Cache::srcpkgcache=".into(),
        ];
        for t in [
            "DEP-11",
            "DEP-11-icons",
            "DEP-11-icons-small",
            "DEP-11-icons-hidpi",
            "Contents-deb",
        ] {
            o.push(format!(
                "Acquire::IndexTargets::deb::{t}::DefaultEnabled=false"
            ));
        }
        if !self.system_status {
            o.push(format!("Dir::State::status={}", d("status")));
        }
        if is_root() {
            // Our private dirs belong to root; the _apt sandbox user could not write them.
            o.push("APT::Sandbox::User=root".into());
        }
        o.into_iter().flat_map(|x| ["-o".to_string(), x]).collect()
    }

    fn cmd(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.args(self.opts())
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C");
        c
    }

    /// `apt-get update`; Err carries apt's complaint. Ok(false) if a signature could not be
    /// checked with the keyring.
    fn update(&self) -> Result<bool, String> {
        let (ok, out, err) = run(self.cmd("apt-get").args(["-q", "update"]));
        let all = format!("{out}\n{err}");
        if all.contains("NO_PUBKEY") || all.contains("EXPKEYSIG") || all.contains("is not signed") {
            return Ok(false);
        }
        if !ok
            || err
                .lines()
                .any(|l| l.starts_with("E:") || l.starts_with("W: Failed to fetch"))
        {
            return Err(tail(&all, 4));
        }
        Ok(true)
    }

    /// The candidate stanza of a package, if any.
    fn candidate(&self, pkg: &str) -> Option<Vec<(String, String)>> {
        let (ok, out, _) = run(self
            .cmd("apt-cache")
            .args(["show", "--no-all-versions", pkg]));
        if !ok {
            return None;
        }
        aptsrc::parse_stanzas(&out).into_iter().next()
    }

    /// The highest candidate among packages matching `pattern`: (name, stanza).
    fn resolve(&self, pattern: &str) -> Option<(String, Vec<(String, String)>)> {
        let prefix = pattern.split('*').next().unwrap_or("");
        let (_, out, _) = run(self.cmd("apt-cache").args(["pkgnames", prefix]));
        let names: Vec<&str> = out
            .lines()
            .filter(|n| aptsrc::glob_match(pattern, n))
            .collect();
        if names.is_empty() {
            return None;
        }
        let (_, out, _) = run(self
            .cmd("apt-cache")
            .args(["show", "--no-all-versions"])
            .args(&names));
        let mut best: Option<(String, Vec<(String, String)>)> = None;
        for st in aptsrc::parse_stanzas(&out) {
            let Some(name) = aptsrc::stanza_field(&st, "Package").map(str::to_string) else {
                continue;
            };
            if !aptsrc::glob_match(pattern, &name) {
                continue;
            }
            let v = aptsrc::stanza_field(&st, "Version").unwrap_or("");
            let better = best.as_ref().is_none_or(|(_, b)| {
                aptsrc::compare_debian_versions(v, aptsrc::stanza_field(b, "Version").unwrap_or(""))
                    .is_gt()
            });
            if better {
                best = Some((name, st));
            }
        }
        best
    }

    /// Downloads `pkg=version` into `dest` (a directory) and returns the .deb path.
    fn download(&self, pkg: &str, version: &str, dest: &Path) -> Result<PathBuf, String> {
        let _ = fs::remove_dir_all(dest);
        fs::create_dir_all(dest).map_err(|e| e.to_string())?;
        let (ok, out, err) = run(self
            .cmd("apt-get")
            .args(["-q", "download", &format!("{pkg}={version}")])
            .current_dir(dest));
        if !ok {
            return Err(format!(
                "apt-get download {pkg}={version}: {}",
                tail(&format!("{out}\n{err}"), 3)
            ));
        }
        fs::read_dir(dest)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .ok_or_else(|| format!("apt-get download {pkg}: no .deb appeared"))
    }
}

/// Extracts one regular file matching `want` from a .deb's data to `to`.
fn extract_from_deb(deb: &Path, want: impl Fn(&str) -> bool, to: &Path) -> Result<String, String> {
    let (ok, out, err) = run(Command::new("dpkg-deb").arg("-c").arg(deb));
    if !ok {
        return Err(format!("dpkg-deb -c: {}", err.trim()));
    }
    let member = out
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| want(p))
        .ok_or_else(|| format!("{}: no matching file inside", deb.display()))?
        .to_string();
    let tmp = to.with_extension("part");
    let script = "dpkg-deb --fsys-tarfile \"$1\" | tar -xOf - \"$2\" > \"$3\"";
    let (ok, _, err) = run(Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(deb)
        .arg(&member)
        .arg(&tmp));
    if !ok {
        return Err(format!("extracting {member}: {}", err.trim()));
    }
    fs::rename(&tmp, to).map_err(|e| e.to_string())?;
    Ok(member)
}

fn is_vmlinuz(path: &str) -> bool {
    let p = path.trim_start_matches("./");
    (p.starts_with("boot/vmlinuz-"))
        || (p.starts_with("usr/lib/modules/") && p.contains("/vmlinuz"))
}

/// One kernel to boot.
#[derive(Clone)]
struct Kernel {
    name: String,
    image: PathBuf,
    /// "package version", the build's origin line, or the path given with --kernel.
    origin: String,
    /// Its .config, when known (built kernels; --kernel images with one beside them).
    config: Option<String>,
}

impl Kernel {
    fn packaged(name: String, image: PathBuf, origin: String) -> Kernel {
        Kernel {
            name,
            image,
            origin,
            config: None,
        }
    }

    /// Whether to attach the ext4 NVMe scratch disk: unless the .config says the kernel
    /// cannot use it (Debian's kernels can).
    fn wants_scratch(&self) -> bool {
        self.config
            .as_deref()
            .is_none_or(uring_matrix::kconfig_can_use_scratch)
    }

    /// Whether its .config has the fault-injection framework (fail-nth must then exist).
    fn has_fault_injection(&self) -> bool {
        self.config
            .as_deref()
            .is_some_and(|c| uring_matrix::kconfig_enabled(c, "CONFIG_FAULT_INJECTION"))
    }
}

/// The .config of a kernel image: `config` beside it (ci/build-kernel.sh's image
/// directories) or the `.config` of the make O= tree it sits in (arch/x86/boot/bzImage).
fn kernel_config_of(image: &Path) -> Option<String> {
    let dir = image.parent()?;
    [dir.join("config"), dir.join("../../../.config")]
        .iter()
        .find_map(|p| fs::read_to_string(p).ok())
}

struct Resolved {
    kernels: Vec<Kernel>,
    locks: Vec<LockEntry>,
    errors: Vec<(String, String)>,
}

fn kernel_cache_dir(cache: &Path, pkg: &str, version: &str) -> PathBuf {
    let v = version.replace([':', '/'], "_");
    cache.join("kernels").join(format!("{pkg}_{v}"))
}

/// A cached extracted kernel, if its recorded .deb hash matches.
fn cached_kernel(cache: &Path, pkg: &str, version: &str, sha: Option<&str>) -> Option<PathBuf> {
    let d = kernel_cache_dir(cache, pkg, version);
    let img = d.join("vmlinuz");
    let have = fs::read_to_string(d.join("deb.sha256")).ok()?;
    (img.is_file() && sha.is_none_or(|s| s == have.trim())).then_some(img)
}

fn resolve_manifest(
    root: &Path,
    cache: &Path,
    entries: &[ManifestEntry],
    offline: bool,
) -> Resolved {
    let lock_path = root.join("fixtures/kernels.lock");
    let old_lock = aptsrc::parse_lock(&fs::read_to_string(&lock_path).unwrap_or_default());
    let mut res = Resolved {
        kernels: vec![],
        locks: vec![],
        errors: vec![],
    };
    let from_lock = |e: &ManifestEntry, why: &str, res: &mut Resolved| match old_lock
        .iter()
        .find(|l| l.name == e.name)
    {
        Some(l) => match cached_kernel(cache, &l.package, &l.version, Some(&l.sha256)) {
            Some(img) => {
                log(&format!(
                    "{}: {why}; using the locked {} {} from the cache",
                    e.name, l.package, l.version
                ));
                res.kernels.push(Kernel::packaged(
                    e.name.clone(),
                    img,
                    format!("{} {} (locked)", l.package, l.version),
                ));
                res.locks.push(l.clone());
            }
            None => res.errors.push((
                e.name.clone(),
                format!("{why}; locked {} {} is not cached", l.package, l.version),
            )),
        },
        None => res.errors.push((e.name.clone(), why.to_string())),
    };
    if offline {
        for e in entries {
            from_lock(e, "--offline", &mut res);
        }
        return res;
    }
    let mirrors = match system_mirrors() {
        Ok(m) => m,
        Err(err) => {
            for e in entries {
                from_lock(e, &err, &mut res);
            }
            return res;
        }
    };
    log(&format!(
        "Debian mirror from the apt configuration: {} (security: {})",
        mirrors.archive, mirrors.security
    ));

    // Update every entry's private lists in parallel (network-bound).
    let keyring = system_keyring();
    let envs: Vec<Result<AptEnv, String>> = entries
        .iter()
        .map(|e| {
            AptEnv::new(
                cache.join("apt").join(&e.name),
                &e.suites,
                &mirrors,
                &keyring,
                false,
            )
        })
        .collect();
    let mut status: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = envs
            .iter()
            .map(|env| s.spawn(move || env.as_ref().map_err(Clone::clone)?.update()))
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("update thread panicked".into()))
            })
            .collect()
    });

    // Suites whose Release signature the machine's keyring cannot check: take
    // debian-archive-keyring from the newest suite it can check, and retry with both keyrings.
    if status.iter().any(|s| matches!(s, Ok(false))) {
        match bootstrap_keyring(cache, &envs, &status) {
            Ok(combined) => {
                for (i, e) in entries.iter().enumerate() {
                    if matches!(status[i], Ok(false)) {
                        let env = AptEnv::new(
                            cache.join("apt").join(&e.name),
                            &e.suites,
                            &mirrors,
                            &combined,
                            false,
                        );
                        status[i] = env.and_then(|env| env.update());
                    }
                }
            }
            Err(err) => log(&format!("keyring bootstrap failed: {err}")),
        }
    }

    // Resolve and fetch every entry in parallel too; collect in manifest order.
    let fetched: Vec<Result<(Kernel, LockEntry), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let (env, st) = (&envs[i], &status[i]);
                s.spawn(move || -> Result<(Kernel, LockEntry), String> {
                    let env = match (env, st) {
                        (Ok(env), Ok(true)) => env,
                        (_, Ok(false)) => {
                            return Err("apt could not verify the suite's signature".into())
                        }
                        (Err(err), _) | (_, Err(err)) => {
                            return Err(format!("apt-get update failed: {err}"))
                        }
                    };
                    let (pkg, st) = env.resolve(&e.package).ok_or_else(|| {
                        format!(
                            "no package matching {} in {}",
                            e.package,
                            e.suites.join(",")
                        )
                    })?;
                    let version = aptsrc::stanza_field(&st, "Version")
                        .unwrap_or("")
                        .to_string();
                    let want_sha = aptsrc::stanza_field(&st, "SHA256").map(str::to_string);
                    let (img, sha, how) =
                        fetch_kernel(cache, env, &pkg, &version, want_sha.as_deref())?;
                    log(&format!("{}: {pkg} {version} ({how})", e.name));
                    let k = Kernel::packaged(e.name.clone(), img, format!("{pkg} {version}"));
                    Ok((
                        k,
                        LockEntry {
                            name: e.name.clone(),
                            package: pkg,
                            version,
                            sha256: sha,
                        },
                    ))
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("resolver thread panicked".into()))
            })
            .collect()
    });
    for (e, f) in entries.iter().zip(fetched) {
        match f {
            Ok((k, l)) => {
                res.kernels.push(k);
                res.locks.push(l);
            }
            Err(err) => from_lock(e, &err, &mut res),
        }
    }

    // Keep lock lines of entries this run did not touch (e.g. --filter), in manifest order.
    let mut lock: Vec<LockEntry> = Vec::new();
    for l in old_lock.iter().chain(res.locks.iter()) {
        lock.retain(|x: &LockEntry| x.name != l.name);
        lock.push(l.clone());
    }
    if let Ok(m) = fs::read_to_string(root.join("fixtures/kernels.manifest")) {
        if let Ok(all) = aptsrc::parse_manifest(&m) {
            lock.sort_by_key(|l| {
                all.iter()
                    .position(|e| e.name == l.name)
                    .unwrap_or(usize::MAX)
            });
        }
    }
    if let Err(e) = fs::write(&lock_path, aptsrc::format_lock(&lock)) {
        log(&format!("cannot write {}: {e}", lock_path.display()));
    }
    res
}

/// Returns (vmlinuz, sha256 of the .deb, "cached" | "downloaded").
fn fetch_kernel(
    cache: &Path,
    env: &AptEnv,
    pkg: &str,
    version: &str,
    want_sha: Option<&str>,
) -> Result<(PathBuf, String, &'static str), String> {
    if let Some(img) = cached_kernel(cache, pkg, version, want_sha) {
        let sha = fs::read_to_string(kernel_cache_dir(cache, pkg, version).join("deb.sha256"))
            .map_err(|e| e.to_string())?;
        return Ok((img, sha.trim().to_string(), "cached"));
    }
    let tmp = cache.join("debs").join(pkg);
    let deb = env.download(pkg, version, &tmp)?;
    let sha = sha256_file(&deb)?;
    if let Some(w) = want_sha {
        if w != sha {
            return Err(format!(
                "{}: sha256 {sha} does not match the signed index ({w})",
                deb.display()
            ));
        }
    }
    let dir = kernel_cache_dir(cache, pkg, version);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let member = extract_from_deb(&deb, is_vmlinuz, &dir.join("vmlinuz"))?;
    fs::write(dir.join("deb.sha256"), format!("{sha}\n")).map_err(|e| e.to_string())?;
    fs::write(dir.join("member"), format!("{member}\n")).map_err(|e| e.to_string())?;
    let _ = fs::remove_dir_all(&tmp);
    Ok((dir.join("vmlinuz"), sha, "downloaded"))
}

/// This machine's Debian codename (`VERSION_CODENAME` of /etc/os-release).
fn host_codename() -> Result<String, String> {
    fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| "cannot tell the Debian codename from /etc/os-release".to_string())
}

fn bootstrap_keyring(
    cache: &Path,
    envs: &[Result<AptEnv, String>],
    status: &[Result<bool, String>],
) -> Result<PathBuf, String> {
    let mut best: Option<(&AptEnv, String)> = None;
    for (env, st) in envs.iter().zip(status) {
        let (Ok(env), Ok(true)) = (env, st) else {
            continue;
        };
        if let Some(s) = env.candidate("debian-archive-keyring") {
            let v = aptsrc::stanza_field(&s, "Version")
                .unwrap_or("")
                .to_string();
            if best
                .as_ref()
                .is_none_or(|(_, b)| aptsrc::compare_debian_versions(&v, b).is_gt())
            {
                best = Some((env, v));
            }
        }
    }
    let (env, version) = best.ok_or("no verifiable suite carries debian-archive-keyring")?;
    let dir = cache.join("keyring");
    let deb = env.download("debian-archive-keyring", &version, &dir.join("deb"))?;
    let newer = dir.join(format!(
        "debian-archive-keyring-{}.gpg",
        version.replace(':', "_")
    ));
    extract_from_deb(
        &deb,
        |p| p.ends_with("usr/share/keyrings/debian-archive-keyring.gpg"),
        &newer,
    )?;
    // Binary OpenPGP keyrings concatenate.
    let mut combined = fs::read(system_keyring()).map_err(|e| e.to_string())?;
    combined.extend(fs::read(&newer).map_err(|e| e.to_string())?);
    let out = dir.join("combined.gpg");
    fs::write(&out, combined).map_err(|e| e.to_string())?;
    let _ = fs::remove_dir_all(dir.join("deb"));
    log(&format!(
        "added debian-archive-keyring {version} (verified through the machine's keyring)"
    ));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The cache and the kernels the matrix builds
// ---------------------------------------------------------------------------------------

const DEFAULT_CACHE: &str = "/var/cache/uring-conformance";

fn writable_dir(d: &Path) -> bool {
    let probe = d.join(format!(".uring-matrix-probe-{}", std::process::id()));
    let ok = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

/// The cache root: `$URING_CACHE` (relative to the checkout when relative, as for
/// ci/build-kernel.sh), else /var/cache/uring-conformance, else (not writable) ci/cache/.
fn cache_root(root: &Path) -> PathBuf {
    match std::env::var_os("URING_CACHE").filter(|v| !v.is_empty()) {
        Some(v) => {
            let d = root.join(PathBuf::from(v));
            if fs::create_dir_all(&d).is_err() || !writable_dir(&d) {
                die(&format!(
                    "URING_CACHE={}: not a writable directory",
                    d.display()
                ));
            }
            d
        }
        None => {
            let d = PathBuf::from(DEFAULT_CACHE);
            if fs::create_dir_all(&d).is_ok() && writable_dir(&d) {
                return d;
            }
            let fallback = root.join("ci/cache");
            log(&format!(
                "{DEFAULT_CACHE} is not writable: caching under {} (set URING_CACHE to choose)",
                fallback.display()
            ));
            fallback
        }
    }
}

/// Builds (or takes from the cache) the kernels of the manifest's `build:` entries, one
/// after the other, with ci/build-kernel.sh (its progress lines go to our stderr).
fn build_kernels(
    root: &Path,
    cache: &Path,
    entries: &[&ManifestEntry],
) -> (Vec<Kernel>, Vec<(String, String)>) {
    let (mut kernels, mut errors) = (Vec::new(), Vec::new());
    for e in entries {
        let (Some(config), Some(version)) = (e.build_config(), e.source_version()) else {
            continue;
        };
        let started = Instant::now();
        log(&format!(
            "{}: ci/build-kernel.sh --config {config} --version {version}",
            e.name
        ));
        let r = Command::new(root.join("ci/build-kernel.sh"))
            .args(["--config", config, "--version", version])
            .env("URING_CACHE", cache)
            .current_dir(root)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output();
        let image = match r {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| PathBuf::from(l.trim()))
                .filter(|p| p.is_file()),
            Ok(o) => {
                errors.push((
                    e.name.clone(),
                    format!("ci/build-kernel.sh --config {config} failed ({})", o.status),
                ));
                continue;
            }
            Err(err) => {
                errors.push((
                    e.name.clone(),
                    format!("cannot run ci/build-kernel.sh: {err}"),
                ));
                continue;
            }
        };
        let Some(image) = image else {
            errors.push((
                e.name.clone(),
                "ci/build-kernel.sh printed no image path".into(),
            ));
            continue;
        };
        let dir = image.parent().unwrap_or(Path::new("."));
        let origin = fs::read_to_string(dir.join("origin"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| format!("build:{config}"));
        log(&format!(
            "{}: {} ({:.0} s)",
            e.name,
            image.display(),
            started.elapsed().as_secs_f64()
        ));
        kernels.push(Kernel {
            name: e.name.clone(),
            config: kernel_config_of(&image),
            image,
            origin,
        });
    }
    (kernels, errors)
}

// ---------------------------------------------------------------------------------------
// QEMU
// ---------------------------------------------------------------------------------------

const QEMU: &str = "qemu-system-x86_64";

fn qemu_version() -> Option<(u32, u32, String)> {
    let (ok, out, _) = run(Command::new(QEMU).arg("--version"));
    if !ok {
        return None;
    }
    let first = out.lines().next()?.to_string();
    let v = first.split("version ").nth(1)?.split_whitespace().next()?;
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    Some((it.next()?, it.next().unwrap_or(0), first))
}

fn ensure_qemu(cache: &Path, no_install: bool) -> Result<String, String> {
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
    let (ok, out, err) = run(env.cmd("apt-get").args([
        "-q",
        "-y",
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

struct BootSpec<'a> {
    image: &'a Path,
    initrd: &'a Path,
    accel: Accel,
    smp: u32,
    memory: u32,
    append: String,
    timeout: Duration,
    /// An ext4 image attached as an NVMe disk, copy-on-write (`snapshot=on`): the guest's
    /// temp directory on a disk filesystem, for the rows that map regular files.
    scratch: Option<&'a Path>,
}

/// Boots once; writes console and QEMU's stderr to the given files.
fn boot(spec: &BootSpec, console: &Path, stderr: &Path) -> Result<(VmEnd, Duration), String> {
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
    .arg(&spec.append);
    if let Some(img) = spec.scratch {
        c.arg("-drive")
            .arg(format!(
                "file={},if=none,id=scratch,format=raw,snapshot=on",
                img.display()
            ))
            .args(["-device", "nvme,drive=scratch,serial=uring-scratch"]);
    }
    c.stdin(Stdio::null())
        .stdout(fs::File::create(console).map_err(|e| e.to_string())?)
        .stderr(fs::File::create(stderr).map_err(|e| e.to_string())?);
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

fn kernel_cmdline(extra: &str) -> String {
    format!("console=ttyS0 panic=-1 loglevel=5 printk.time=1 {extra}")
        .trim()
        .to_string()
}

/// Decides TCG or KVM: KVM only if a short smoke boot under it reaches init.
fn pick_accel(
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
    let (console, err) = (
        out.join("kvm-smoke.console.log"),
        out.join("kvm-smoke.qemu.log"),
    );
    let r = boot(&spec, &console, &err);
    let text = fs::read_to_string(&console).unwrap_or_default();
    let report = classify::classify(
        &text,
        r.as_ref().map(|x| x.0).unwrap_or(VmEnd::Exited(None)),
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

// ---------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------

const TARGET: &str = "x86_64-unknown-linux-gnu";

fn cargo_static(root: &Path, package: &str, bin: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    log(&format!("building {bin} (static, {TARGET})"));
    let st = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            package,
            "--bin",
            bin,
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !st.success() {
        return Err(format!("cargo build -p {package} --bin {bin} failed"));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir.join(TARGET).join("release").join(bin))
}

fn check_static(p: &Path) -> Result<Vec<u8>, String> {
    let bytes = fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    match uring_matrix::elf_is_static(&bytes) {
        Ok(true) => Ok(bytes),
        Ok(false) => Err(format!(
            "{} is dynamically linked; build it with crt-static",
            p.display()
        )),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

fn build_initramfs(init: &[u8], suite: &[u8], dest: &Path) -> Result<PathBuf, String> {
    let mut w = CpioWriter::new();
    for d in ["dev", "proc", "sys", "tmp", "root"] {
        w.dir(d, 0o755);
    }
    w.char_dev("dev/console", 0o600, 5, 1);
    w.char_dev("dev/null", 0o666, 1, 3);
    w.file("init", 0o755, init);
    w.file("uring-conformance", 0o755, suite);
    let archive = w.finish();
    cpio::read_newc(&archive).map_err(|e| format!("self-check of the initramfs: {e}"))?;
    let raw = dest.with_extension("cpio");
    fs::write(&raw, &archive).map_err(|e| e.to_string())?;
    let gz = dest.with_extension("cpio.gz");
    let (ok, _, _) = run(Command::new("gzip")
        .args(["-n", "-6", "-f", "-k"])
        .arg(&raw));
    if ok {
        let _ = fs::remove_file(&raw);
        Ok(gz)
    } else {
        log("gzip not available: using an uncompressed initramfs");
        Ok(raw)
    }
}

// ---------------------------------------------------------------------------------------
// Running the matrix
// ---------------------------------------------------------------------------------------

/// One suite run (mode) of a boot.
struct ModeRun {
    mode: String,
    /// The boot as this mode's run saw it.
    report: BootReport,
    results: Option<Results>,
    flags: Vec<Flag>,
}

struct KernelRun {
    kernel: Kernel,
    /// The boot as the first mode's run saw it (init, kernel problems: the same for all).
    report: BootReport,
    modes: Vec<ModeRun>,
    attempts: Vec<String>,
    secs: f64,
}

impl KernelRun {
    fn clean(&self) -> bool {
        self.modes
            .iter()
            .all(|m| m.flags.is_empty() && m.results.is_some())
    }
}

/// Reads one boot's console as each mode's run saw it.
fn mode_runs(text: &str, end: VmEnd, k: &Kernel, modes: &[String]) -> Vec<ModeRun> {
    modes
        .iter()
        .map(|mode| {
            let report = classify::classify_mode(text, end, mode);
            // Results count only when the framed block was complete.
            let results = report
                .results_text
                .as_deref()
                .filter(|_| report.results_complete)
                .map(Results::parse);
            let mut flags = report.flags(results.as_ref());
            if report.reached_init && k.has_fault_injection() && report.fail_nth != Some(true) {
                flags.push(Flag::Setup(
                    "the .config has FAULT_INJECTION but the guest has no \
                     /proc/thread-self/fail-nth"
                        .into(),
                ));
            }
            ModeRun {
                mode: mode.clone(),
                report,
                results,
                flags,
            }
        })
        .collect()
}

fn flags_label(flags: &[Flag]) -> String {
    if flags.is_empty() {
        "ok".to_string()
    } else {
        flags.iter().map(Flag::label).collect::<Vec<_>>().join(", ")
    }
}

/// Name of the scratch disk in the guest (the first namespace of the first NVMe controller).
const SCRATCH_DEV: &str = "nvme0n1";

/// A blank ext4 image for the guests' temp directory, made once (mke2fs needs no root).
fn scratch_image(cache: &Path) -> Result<PathBuf, String> {
    let img = cache.join("scratch.ext4");
    if img.is_file() {
        return Ok(img);
    }
    let tmp = cache.join("scratch.ext4.part");
    let f = fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.set_len(64 << 20).map_err(|e| e.to_string())?;
    let (ok, out, err) = run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-L", "uring-scratch"])
        .arg(&tmp));
    if !ok {
        let _ = fs::remove_file(&tmp);
        return Err(format!("mke2fs: {}", tail(&format!("{out}\n{err}"), 3)));
    }
    fs::rename(&tmp, &img).map_err(|e| e.to_string())?;
    Ok(img)
}

fn run_kernel(
    k: &Kernel,
    opts: &Opts,
    accel: Accel,
    initrd: &Path,
    scratch: Option<&Path>,
    out: &Path,
) -> KernelRun {
    let dir = out.join(&k.name);
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::create_dir_all(&dir);
    let mut extra = format!(
        "uring.threads={} uring.modes={}",
        opts.threads,
        opts.modes.join(",")
    );
    let scratch = scratch.filter(|_| k.wants_scratch());
    if scratch.is_some() {
        extra.push_str(&format!(" uring.scratch={SCRATCH_DEV}"));
    }
    if let Some(a) = opts.suite_args.as_deref().filter(|a| !a.trim().is_empty()) {
        extra.push_str(&format!(" uring.args=\"{}\"", a.trim()));
    }
    let mut attempts = Vec::new();
    let mut total = 0.0;
    let mut accel_now = accel;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let spec = BootSpec {
            image: &k.image,
            initrd,
            accel: accel_now,
            smp: opts.smp,
            memory: opts.memory,
            append: kernel_cmdline(&extra),
            timeout: Duration::from_secs(opts.timeout),
            scratch,
        };
        let (console, qerr) = (dir.join("console.log"), dir.join("qemu.stderr.log"));
        log(&format!("{}: boot {attempt} ({:?})", k.name, accel_now));
        let (end, took) = match boot(&spec, &console, &qerr) {
            Ok(x) => x,
            Err(e) => {
                let _ = fs::write(&qerr, &e);
                (VmEnd::Exited(None), Duration::ZERO)
            }
        };
        total += took.as_secs_f64();
        let text = fs::read_to_string(&console)
            .or_else(|_| fs::read(&console).map(|b| String::from_utf8_lossy(&b).into_owned()))
            .unwrap_or_default();
        let modes = mode_runs(&text, end, k, &opts.modes);
        let report = modes[0].report.clone();
        let labels: Vec<String> = modes.iter().map(|m| flags_label(&m.flags)).collect();
        let mut verdict = if labels.iter().all(|l| *l == labels[0]) {
            labels[0].clone()
        } else {
            modes
                .iter()
                .zip(&labels)
                .map(|(m, l)| format!("{}: {l}", m.mode))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !report.reached_init {
            let q = tail(&fs::read_to_string(&qerr).unwrap_or_default(), 1);
            if !q.is_empty() {
                verdict.push_str(&format!(" [{q}]"));
            }
        }
        attempts.push(format!(
            "boot {attempt} ({:?}, {:.1}s): {verdict}",
            accel_now,
            took.as_secs_f64()
        ));
        log(&format!(
            "{}: boot {attempt} done in {:.1}s: {verdict}",
            k.name,
            took.as_secs_f64()
        ));
        if modes.iter().any(|m| m.report.reached_suite()) || attempt > opts.retries as usize {
            for m in &modes {
                if let Some(t) = &m.report.results_text {
                    let _ = fs::write(dir.join(format!("results-{}.jsonl", m.mode)), t);
                }
            }
            let run = KernelRun {
                kernel: k.clone(),
                report,
                modes,
                attempts,
                secs: total,
            };
            let _ = fs::write(dir.join("verdict.txt"), verdict_text(&run));
            return run;
        }
        // Keep this attempt's logs and retry; a KVM boot that failed retries under TCG.
        let _ = fs::rename(&console, dir.join(format!("console.try{attempt}.log")));
        let _ = fs::rename(&qerr, dir.join(format!("qemu.stderr.try{attempt}.log")));
        if accel_now == Accel::Kvm {
            accel_now = Accel::Tcg;
        }
    }
}

fn verdict_text(r: &KernelRun) -> String {
    let mut s = format!("kernel: {} ({})\n", r.kernel.name, r.kernel.origin);
    if let Some(rel) = &r.report.kernel_release {
        s.push_str(&format!("uname -r: {rel}\n"));
    }
    if let Some(f) = r.report.fail_nth {
        s.push_str(&format!(
            "fault injection: /proc/thread-self/fail-nth {}\n",
            if f { "present" } else { "absent" }
        ));
    }
    for a in &r.attempts {
        s.push_str(&format!("{a}\n"));
    }
    for m in &r.modes {
        s.push_str(&format!("mode {}: {}\n", m.mode, flags_label(&m.flags)));
        if let Some(res) = &m.results {
            let c = res.counted();
            s.push_str(&format!(
                "  cases: {} pass, {} fail, {} skip, {} broken, {} timeout\n",
                c.pass, c.fail, c.skip, c.broken, c.timeout
            ));
            for f in res.failing_cases() {
                s.push_str(&format!(
                    "  {} {}: {}\n",
                    f.outcome.name().to_uppercase(),
                    f.name,
                    f.reason
                ));
            }
            if !res.bad_lines.is_empty() {
                s.push_str(&format!(
                    "  ({} unparsable result lines)\n",
                    res.bad_lines.len()
                ));
            }
        }
        if m.report.suite_started && !m.report.results_complete {
            if let Some(l) = &m.report.last_suite_line {
                s.push_str(&format!("  suite unfinished; its last output: {l}\n"));
            }
        }
    }
    for e in &r.report.init_errors {
        s.push_str(&format!("init: {e}\n"));
    }
    for p in &r.report.problems {
        s.push_str(&format!("kernel {}: {}\n", p.kind.label(), p.line));
        if let Some(l) = &p.after_suite_line {
            s.push_str(&format!("  last suite output before it: {l}\n"));
        } else if !p.during_suite {
            s.push_str("  (before the suite started)\n");
        }
        for c in p.context.iter().take(8) {
            s.push_str(&format!("  | {c}\n"));
        }
    }
    s
}

/// `uring-matrix fetch-deb SUITE PACKAGE DIR`: downloads the candidate version of PACKAGE
/// from the Debian suite SUITE through a private apt configuration (CACHE/apt/fetch-SUITE,
/// mirror from the machine's apt sources, as for the manifest's kernels) into DIR, checks
/// its sha256 against the signed index, and prints the .deb's path. A .deb already in DIR
/// with that hash is reused without downloading. Used by ci/build-kernel.sh.
fn fetch_deb_main(args: &[String]) -> ! {
    let [suite, pkg, dir] = args else {
        die("usage: uring-matrix fetch-deb SUITE PACKAGE DIR")
    };
    let fail = |e: String| -> ! {
        eprintln!("uring-matrix fetch-deb: {e}");
        std::process::exit(1)
    };
    let root = find_root();
    let cache = cache_root(&root);
    let dir = PathBuf::from(dir);
    let mirrors = system_mirrors().unwrap_or_else(|e| fail(e));
    log(&format!(
        "Debian mirror from the apt configuration: {}",
        mirrors.archive
    ));
    let env_dir = cache.join("apt").join(format!("fetch-{suite}"));
    let suites = [suite.clone()];
    let mut env = AptEnv::new(env_dir.clone(), &suites, &mirrors, &system_keyring(), false)
        .unwrap_or_else(|e| fail(e));
    if !env
        .update()
        .unwrap_or_else(|e| fail(format!("apt-get update: {e}")))
    {
        // The machine's keyring cannot check this suite: take a newer debian-archive-keyring
        // from the machine's own suite (which it can check), as the manifest runs do.
        let codename = host_codename().unwrap_or_else(|e| fail(e));
        let host = AptEnv::new(
            cache.join("apt").join(format!("fetch-{codename}")),
            &[codename],
            &mirrors,
            &system_keyring(),
            false,
        );
        let st = host.as_ref().map_err(Clone::clone).and_then(|h| h.update());
        let combined = bootstrap_keyring(&cache, &[host], &[st]).unwrap_or_else(|e| fail(e));
        env = AptEnv::new(env_dir, &suites, &mirrors, &combined, false).unwrap_or_else(|e| fail(e));
        if !env
            .update()
            .unwrap_or_else(|e| fail(format!("apt-get update: {e}")))
        {
            fail(format!("apt could not verify the signature of {suite}"));
        }
    }
    let st = env
        .candidate(pkg)
        .unwrap_or_else(|| fail(format!("no package {pkg} in {suite}")));
    let version = aptsrc::stanza_field(&st, "Version")
        .unwrap_or("")
        .to_string();
    let want = aptsrc::stanza_field(&st, "SHA256")
        .map(str::to_string)
        .unwrap_or_else(|| fail(format!("{pkg} {version}: the index has no SHA256")));
    fs::create_dir_all(&dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    let mut olds: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    olds.retain(|p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        name.starts_with(&format!("{pkg}_")) && name.ends_with(".deb")
    });
    if let Some(p) = olds
        .iter()
        .find(|p| sha256_file(p).is_ok_and(|s| s == want))
    {
        log(&format!("{pkg} {version}: cached"));
        println!("{}", p.display());
        std::process::exit(0)
    }
    log(&format!("{pkg} {version}: downloading"));
    let deb = env
        .download(pkg, &version, &dir.join("partial"))
        .unwrap_or_else(|e| fail(e));
    let sha = sha256_file(&deb).unwrap_or_else(|e| fail(e));
    if sha != want {
        fail(format!(
            "{}: sha256 {sha} does not match the signed index ({want})",
            deb.display()
        ));
    }
    for p in &olds {
        let _ = fs::remove_file(p);
    }
    let dest = dir.join(deb.file_name().unwrap_or_default());
    fs::rename(&deb, &dest).unwrap_or_else(|e| fail(format!("{}: {e}", dest.display())));
    let _ = fs::remove_dir_all(dir.join("partial"));
    println!("{}", dest.display());
    std::process::exit(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "fetch-deb") {
        fetch_deb_main(&args[1..]);
    }
    let opts = parse_opts();
    let started = Instant::now();
    let root = find_root();
    let manifest_path = root.join("fixtures/kernels.manifest");
    let manifest = if opts.only_path {
        vec![]
    } else {
        let text = fs::read_to_string(&manifest_path)
            .unwrap_or_else(|e| die(&format!("{}: {e}", manifest_path.display())));
        aptsrc::parse_manifest(&text).unwrap_or_else(|e| die(&e))
    };
    if opts.list {
        for e in &manifest {
            println!("{:16} {:32} {}", e.name, e.suites.join(","), e.package);
        }
        return;
    }
    let selected: Vec<ManifestEntry> = manifest
        .into_iter()
        .filter(|e| {
            opts.filters.is_empty() || opts.filters.iter().any(|f| filter_matches(f, &e.name))
        })
        .filter(|e| !(opts.no_build && e.build_config().is_some()))
        .collect();
    if selected.is_empty() && opts.kernels.is_empty() {
        die("no kernel selected (check --filter)");
    }
    let (to_build, packaged): (Vec<&ManifestEntry>, Vec<&ManifestEntry>) =
        selected.iter().partition(|e| e.build_config().is_some());
    let packaged: Vec<ManifestEntry> = packaged.into_iter().cloned().collect();
    let out = root.join("ci/out");
    let cache = cache_root(&root);
    log(&format!("cache: {}", cache.display()));
    for d in [&cache, &out] {
        fs::create_dir_all(d).unwrap_or_else(|e| die(&format!("{}: {e}", d.display())));
    }

    // Kernels (network), own kernels (CPU, cached) and payload (CPU) at the same time.
    let (resolved, built, payload) = std::thread::scope(|s| {
        let h = s.spawn(|| resolve_manifest(&root, &cache, &packaged, opts.offline));
        let b = s.spawn(|| build_kernels(&root, &cache, &to_build));
        let payload = (|| -> Result<PathBuf, String> {
            let qemu = ensure_qemu(&cache, opts.no_install)?;
            log(&format!("QEMU: {qemu}"));
            let init = cargo_static(&root, "uring-matrix", "guest-init")?;
            let suite = match &opts.payload {
                Some(p) => p.clone(),
                None => cargo_static(&root, "uring-conformance", "uring-conformance")?,
            };
            let (init, suite) = (check_static(&init)?, check_static(&suite)?);
            // The payload belongs to this checkout, not to the shared cache.
            build_initramfs(&init, &suite, &out.join("initramfs"))
        })();
        (
            h.join()
                .unwrap_or_else(|_| die("kernel resolution panicked")),
            b.join().unwrap_or_else(|_| die("kernel build panicked")),
            payload,
        )
    });
    let initrd = payload.unwrap_or_else(|e| die(&e));
    let prep_secs = started.elapsed().as_secs_f64();

    // Manifest order, packaged and built alike.
    let mut errors = resolved.errors.clone();
    errors.extend(built.1.iter().cloned());
    let mut kernels: Vec<Kernel> = selected
        .iter()
        .filter_map(|e| {
            resolved
                .kernels
                .iter()
                .chain(built.0.iter())
                .find(|k| k.name == e.name)
                .cloned()
        })
        .collect();
    let mut used: Vec<String> = kernels.iter().map(|k| k.name.clone()).collect();
    for p in &opts.kernels {
        if !p.is_file() {
            die(&format!("--kernel {}: no such file", p.display()));
        }
        let stem: String = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = format!("dev-{stem}");
        let mut n = 2;
        while used.contains(&name) {
            name = format!("dev-{stem}-{n}");
            n += 1;
        }
        used.push(name.clone());
        let image = p.canonicalize().unwrap_or(p.clone());
        kernels.push(Kernel {
            name,
            origin: image.display().to_string(),
            config: kernel_config_of(&image),
            image,
        });
    }

    // Smoke-test KVM on a packaged kernel if there is one (the newest, a zstd image).
    let smoke = resolved.kernels.last().or(kernels.last());
    let accel = pick_accel(opts.accel, smoke, &initrd, &out, opts.memory);
    let scratch = scratch_image(&cache)
        .map_err(|e| {
            log(&format!(
                "no scratch disk ({e}): the file-mapping rows will skip"
            ))
        })
        .ok();
    let queue = Arc::new(Mutex::new((0..kernels.len()).collect::<VecDeque<usize>>()));
    let runs: Arc<Mutex<Vec<Option<KernelRun>>>> =
        Arc::new(Mutex::new((0..kernels.len()).map(|_| None).collect()));
    let boot_start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(kernels.len().max(1)) {
            let (queue, runs, kernels, opts, initrd, out, scratch) =
                (&queue, &runs, &kernels, &opts, &initrd, &out, &scratch);
            s.spawn(move || loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let r = run_kernel(&kernels[i], opts, accel, initrd, scratch.as_deref(), out);
                runs.lock().unwrap()[i] = Some(r);
            });
        }
    });
    let boot_secs = boot_start.elapsed().as_secs_f64();
    let runs: Vec<KernelRun> = Arc::try_unwrap(runs)
        .map_err(|_| ())
        .expect("workers finished")
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect();

    // Tables.
    let cols: Vec<Column> = runs
        .iter()
        .map(|r| Column {
            name: &r.kernel.name,
            release: r.report.kernel_release.as_deref(),
            modes: r
                .modes
                .iter()
                .map(|m| ModeColumn {
                    mode: &m.mode,
                    flags: &m.flags,
                    results: m.results.as_ref(),
                })
                .collect(),
        })
        .collect();
    let cases_txt = report::case_table(&cols, false);
    let features_txt = report::feature_table(&cols, false);
    let _ = fs::write(out.join("cases.txt"), &cases_txt);
    let _ = fs::write(out.join("cases.md"), report::case_table(&cols, true));
    let _ = fs::write(out.join("features.txt"), &features_txt);
    let _ = fs::write(out.join("features.md"), report::feature_table(&cols, true));

    let mut summary = String::new();
    summary.push_str(&format!(
        "accel: {accel:?}; smp {}; memory {} MB; timeout {} s\n",
        opts.smp, opts.memory, opts.timeout
    ));
    for r in &runs {
        summary.push_str(&verdict_text(r));
        summary.push('\n');
    }
    for (name, err) in &errors {
        summary.push_str(&format!("kernel: {name}: NOT RUN: {err}\n\n"));
    }
    summary.push_str(&format!(
        "wall time: {:.1}s (preparation {:.1}s, boots {:.1}s)\n",
        started.elapsed().as_secs_f64(),
        prep_secs,
        boot_secs
    ));
    let _ = fs::write(out.join("summary.txt"), &summary);

    println!("\n== case x kernel ==\n{cases_txt}");
    println!("== feature x kernel ==\n{features_txt}");
    println!("== kernels ==");
    let mut bad = !errors.is_empty();
    for (r, col) in runs.iter().zip(&cols) {
        let status = report::column_status(col);
        let retry = if r.attempts.len() > 1 {
            format!(" after {} boots", r.attempts.len())
        } else {
            String::new()
        };
        println!(
            "{:16} {:16} {:.1}s{}  [{}]",
            r.kernel.name, status, r.secs, retry, r.kernel.origin
        );
        if !r.report.reached_init {
            if let Some(last) = r.attempts.last() {
                println!("{:16}   {last}", "");
            }
        }
        for p in r.report.problems.iter().take(5) {
            println!("{:16}   kernel {}: {}", "", p.kind.label(), p.line);
            if let Some(l) = &p.after_suite_line {
                println!("{:16}     last suite output before it: {l}", "");
            }
        }
        if !r.clean() {
            bad = true;
        }
    }
    for (name, err) in &errors {
        println!("{name:16} NOT RUN          {err}");
    }
    println!(
        "\nwall time {:.1}s (preparation {:.1}s, boots {:.1}s); details in ci/out/summary.txt",
        started.elapsed().as_secs_f64(),
        prep_secs,
        boot_secs
    );
    std::process::exit(if bad { 1 } else { 0 });
}
