//! The kernels to boot: manifest resolution and downloads, the cache, the kernels the matrix builds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use uring_matrix::aptsrc::{self, LockEntry, ManifestEntry};

use crate::apt::{
    bootstrap_keyring, extract_from_deb, is_vmlinuz, system_keyring, system_mirrors, AptEnv,
};
use crate::util::{die, log, sha256_file};

/// One kernel to boot.
#[derive(Clone)]
pub struct Kernel {
    pub name: String,
    pub image: PathBuf,
    /// "package version", the build's origin line, or the path given with --kernel.
    pub origin: String,
    /// Its .config, when known (built kernels; --kernel images with one beside them).
    pub config: Option<String>,
}

impl Kernel {
    pub fn packaged(name: String, image: PathBuf, origin: String) -> Kernel {
        Kernel {
            name,
            image,
            origin,
            config: None,
        }
    }

    /// Whether to attach the ext4 NVMe scratch disk: unless the .config says the kernel
    /// cannot use it (Debian's kernels can).
    pub fn wants_scratch(&self) -> bool {
        self.config
            .as_deref()
            .is_none_or(uring_matrix::kconfig_can_use_scratch)
    }

    /// Whether its .config has the fault-injection framework (fail-nth must then exist).
    pub fn has_fault_injection(&self) -> bool {
        self.config
            .as_deref()
            .is_some_and(|c| uring_matrix::kconfig_enabled(c, "CONFIG_FAULT_INJECTION"))
    }
}

/// The .config of a kernel image: `config` beside it (ci/build-kernel.sh's image
/// directories) or the `.config` of the make O= tree it sits in (arch/x86/boot/bzImage).
pub fn kernel_config_of(image: &Path) -> Option<String> {
    let dir = image.parent()?;
    [dir.join("config"), dir.join("../../../.config")]
        .iter()
        .find_map(|p| fs::read_to_string(p).ok())
}

pub struct Resolved {
    pub kernels: Vec<Kernel>,
    pub locks: Vec<LockEntry>,
    pub errors: Vec<(String, String)>,
}

pub fn kernel_cache_dir(cache: &Path, pkg: &str, version: &str) -> PathBuf {
    let v = version.replace([':', '/'], "_");
    cache.join("kernels").join(format!("{pkg}_{v}"))
}

/// A cached extracted kernel, if its recorded .deb hash matches.
pub fn cached_kernel(cache: &Path, pkg: &str, version: &str, sha: Option<&str>) -> Option<PathBuf> {
    let d = kernel_cache_dir(cache, pkg, version);
    let img = d.join("vmlinuz");
    let have = fs::read_to_string(d.join("deb.sha256")).ok()?;
    (img.is_file() && sha.is_none_or(|s| s == have.trim())).then_some(img)
}

pub fn resolve_manifest(
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
                &e.arch,
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
                            &e.arch,
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
pub fn fetch_kernel(
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

// ---------------------------------------------------------------------------------------
// The cache and the kernels the matrix builds
// ---------------------------------------------------------------------------------------

pub const DEFAULT_CACHE: &str = "/var/cache/uring-conformance";

pub fn writable_dir(d: &Path) -> bool {
    let probe = d.join(format!(".uring-matrix-probe-{}", std::process::id()));
    let ok = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

/// The cache root: `$URING_CACHE` (relative to the checkout when relative, as for
/// ci/build-kernel.sh), else /var/cache/uring-conformance, else (not writable) ci/cache/.
pub fn cache_root(root: &Path) -> PathBuf {
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
pub fn build_kernels(
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
            "{}: ci/build-kernel.sh --config {config} --version {version} --arch {}",
            e.name, e.arch
        ));
        let r = Command::new(root.join("ci/build-kernel.sh"))
            .args(["--config", config, "--version", version, "--arch", &e.arch])
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

/// A `--kernel PATH` image as a kernel to boot, named `dev-FILE` (`dev-FILE-2`, ... when
/// `used` has the name already); the name is added to `used`.
pub fn path_kernel(p: &Path, used: &mut Vec<String>) -> Kernel {
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
    let image = p.canonicalize().unwrap_or(p.to_path_buf());
    Kernel {
        name,
        origin: image.display().to_string(),
        config: kernel_config_of(&image),
        image,
    }
}
