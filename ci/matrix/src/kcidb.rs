//! A matrix run as KCIDB v5 JSON (`--kcidb PATH`), the schema KernelCI's common results
//! database takes (`kci-dev submit`, `kcidb-submit`): one checkout per kernel source, one
//! build per kernel image, and per boot and suite mode one test for the suite as a whole
//! (path `uring_conformance`) plus one per case (`uring_conformance.<interface>.<case>`).
//!
//! Status: pass PASS, fail FAIL, skip SKIP, broken and timeout ERROR (the case could not
//! judge the kernel). The suite-level test is FAIL when a case failed or the boot showed a
//! kernel problem or a leak, ERROR when the mode left no whole report (never reached init,
//! time limit, crash), else PASS: a boot that never reported still appears. Every id is
//! `ORIGIN:...`; `misc` carries what the schema has no field for (expected, actual, call,
//! the typed skip cause, the suite's version and commit).

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::classify::Flag;
use crate::results::{Case, Outcome, Results};

/// The default origin: the CI system name every id starts with (KCIDB: `[a-z0-9_]+`).
pub const DEFAULT_ORIGIN: &str = "uring_conformance";

/// The schema version written (any 5.x reader takes 5.0).
pub const SCHEMA: (u32, u32) = (5, 0);

/// The root of the suite's test paths.
pub const SUITE_PATH: &str = "uring_conformance";

/// KCIDB limits `log_excerpt` to this many characters.
const EXCERPT_MAX: usize = 16384;

/// Whether `origin` is a valid KCIDB origin (`[a-z0-9_]+`).
pub fn valid_origin(origin: &str) -> bool {
    !origin.is_empty()
        && origin
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Where a kernel came from, read from the matrix's origin text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelSource {
    /// A Debian binary package: `linux-image-... 6.1.192-3`.
    Debian { package: String, version: String },
    /// Built by ci/build-kernel.sh from Debian's linux-source with our fragment:
    /// `build:minimal linux-source-7.2 7.2.13-1 gcc 12.2.0 key b15199e2b23dff56`.
    Fragment {
        config: String,
        source: String,
        version: String,
        compiler: String,
        key: String,
    },
    /// An image given with `--kernel` (its path): nothing known of its source.
    Path(String),
}

impl KernelSource {
    /// Reads a kernel's origin line (`Kernel::origin` of the matrix).
    pub fn parse(origin: &str) -> KernelSource {
        let w: Vec<&str> = origin.split_whitespace().collect();
        match w.as_slice() {
            [build, source, version, "gcc", gcc, "key", key] if build.starts_with("build:") => {
                KernelSource::Fragment {
                    config: build["build:".len()..].into(),
                    source: (*source).into(),
                    version: (*version).into(),
                    compiler: format!("gcc {gcc}"),
                    key: (*key).into(),
                }
            }
            [package, version]
                if package.starts_with("linux-")
                    && version.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                KernelSource::Debian {
                    package: (*package).into(),
                    version: (*version).into(),
                }
            }
            _ => KernelSource::Path(origin.into()),
        }
    }

    /// The Debian source version both packaged and built kernels come from.
    fn debian_version(&self) -> Option<&str> {
        match self {
            KernelSource::Debian { version, .. } | KernelSource::Fragment { version, .. } => {
                Some(version)
            }
            KernelSource::Path(_) => None,
        }
    }
}

/// One suite run of a boot.
pub struct ModeInput<'a> {
    /// `default` or `strict`.
    pub mode: &'a str,
    /// Its report, when the mode left a whole one.
    pub results: Option<&'a Results>,
    /// What the matrix flagged for it (empty: clean).
    pub flags: &'a [Flag],
}

/// One boot of the matrix.
pub struct BootInput<'a> {
    /// The matrix's name for the kernel (`7.2-rt`).
    pub kernel: &'a str,
    /// Its origin line (see [`KernelSource::parse`]).
    pub origin: &'a str,
    /// KCIDB's architecture name (`x86_64`, `arm64`).
    pub arch: &'a str,
    /// The kernel release the guest printed, if it got that far.
    pub release: Option<&'a str>,
    /// When the boot started.
    pub started: SystemTime,
    /// Seconds of its boots.
    pub secs: f64,
    /// How it ran (`QEMU x86_64, TCG, 1 vCPU, 512 MiB`).
    pub environment: &'a str,
    /// Its suite runs.
    pub modes: Vec<ModeInput<'a>>,
}

/// RFC 3339 in UTC, as the schema's `date-time` format wants.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A test path component: `[a-zA-Z0-9_-]+`, other characters as `_`.
fn path_part(s: &str) -> String {
    let p: String = s
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    if p.is_empty() {
        "_".into()
    } else {
        p
    }
}

/// `uring_conformance.<interface>.<case>`: the case name's `::` separators become dots.
pub fn test_path(case_name: &str) -> String {
    std::iter::once(SUITE_PATH.to_string())
        .chain(case_name.split("::").map(path_part))
        .collect::<Vec<_>>()
        .join(".")
}

/// KCIDB's status of a case outcome.
pub fn status(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Skip => "SKIP",
        Outcome::Broken | Outcome::Timeout => "ERROR",
    }
}

/// The suite-level status of a mode: FAIL for what the kernel did (a failing case, a kernel
/// problem, a leak), ERROR when the run left no whole report, else PASS.
pub fn suite_status(m: &ModeInput) -> &'static str {
    let kernel_fault = m
        .flags
        .iter()
        .any(|f| matches!(f, Flag::Kernel(_) | Flag::CasesFailed(_) | Flag::Leaked(_)));
    if kernel_fault {
        "FAIL"
    } else if m.results.is_none() || !m.flags.is_empty() {
        "ERROR"
    } else {
        "PASS"
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(EXCERPT_MAX).collect()
}

/// Inserts `value` under `key` when there is one.
fn put(m: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        m.insert(key.into(), v);
    }
}

fn checkout(origin: &str, src: &KernelSource, boot: &BootInput) -> Value {
    let (id, mut c) = match src.debian_version() {
        Some(v) => (
            format!("{origin}:debian-linux-{v}"),
            json!({
                "tree_name": "debian",
                "comment": format!("Debian's linux source package {v}"),
                "misc": {"source_package": "linux", "version": v},
            }),
        ),
        None => (
            format!("{origin}:path-{}-{}", boot.kernel, rfc3339(boot.started)),
            json!({
                "comment": format!("a kernel image given with --kernel ({})", boot.origin),
                "misc": {"image": boot.origin},
            }),
        ),
    };
    c["id"] = id.into();
    c["origin"] = origin.into();
    c
}

fn build(origin: &str, checkout_id: &str, src: &KernelSource, boot: &BootInput) -> Value {
    let (key, config_name, mut misc) = match src {
        KernelSource::Debian { package, version } => (
            format!("{package}-{version}"),
            package.clone(),
            json!({"origin": "debian package", "package": package, "version": version}),
        ),
        KernelSource::Fragment {
            config,
            source,
            version,
            key,
            ..
        } => (
            format!("{config}-{version}-{key}"),
            config.clone(),
            json!({"origin": "fragment", "fragment": format!("fixtures/kernel-configs/{config}.config"),
                   "source": format!("{source} {version}"), "key": key}),
        ),
        KernelSource::Path(p) => (
            format!("path-{}-{}", boot.kernel, rfc3339(boot.started)),
            "unknown".into(),
            json!({"origin": "path", "image": p}),
        ),
    };
    misc["matrix_name"] = boot.kernel.into();
    if let Some(r) = boot.release {
        misc["kernel_release"] = r.into();
    }
    let mut b = json!({
        "id": format!("{origin}:{}:{key}", boot.arch),
        "origin": origin,
        "checkout_id": checkout_id,
        "architecture": boot.arch,
        "config_name": config_name,
        "status": "PASS",
        "misc": misc,
    });
    if let KernelSource::Fragment { compiler, .. } = src {
        b["compiler"] = compiler.as_str().into();
    }
    b
}

fn environment(boot: &BootInput, mode: &str) -> Value {
    json!({"comment": boot.environment, "misc": {"mode": mode, "kernel": boot.kernel}})
}

/// The fields common to every test of one mode's run.
fn suite_misc(boot: &BootInput, m: &ModeInput) -> Map<String, Value> {
    let mut misc = Map::new();
    misc.insert("mode".into(), m.mode.into());
    let run = m.results.and_then(|r| r.run.as_ref());
    put(
        &mut misc,
        "suite_version",
        run.and_then(|r| r.suite_version.clone()).map(Value::from),
    );
    put(
        &mut misc,
        "suite_commit",
        run.and_then(|r| r.suite_commit.clone()).map(Value::from),
    );
    let release = run.map(|r| r.kernel.as_str()).or(boot.release);
    put(&mut misc, "kernel_release", release.map(Value::from));
    misc
}

/// What the tests of one mode's run share: the origin, their id prefix, the build.
struct Run<'a> {
    origin: &'a str,
    prefix: String,
    build_id: &'a str,
    boot: &'a BootInput<'a>,
    mode: &'a ModeInput<'a>,
}

fn case_test(r: &Run, c: &Case) -> Value {
    let (boot, m) = (r.boot, r.mode);
    let mut misc = suite_misc(boot, m);
    misc.insert("outcome".into(), c.outcome.name().into());
    put(&mut misc, "call", c.call.clone().map(Value::from));
    put(&mut misc, "expected", c.expected.clone().map(Value::from));
    put(&mut misc, "actual", c.actual.clone().map(Value::from));
    put(&mut misc, "level", c.level.clone().map(Value::from));
    put(&mut misc, "detail", c.detail.clone().map(Value::from));
    put(
        &mut misc,
        "skip_cause",
        c.cause.as_ref().and_then(|s| serde_json::to_value(s).ok()),
    );
    if c.outcome == Outcome::Skip {
        misc.insert("skip_reason".into(), c.reason.clone().into());
    }
    let mut t = json!({
        "id": format!("{}:{}", r.prefix, c.name),
        "origin": r.origin,
        "build_id": r.build_id,
        "path": test_path(&c.name),
        "status": status(c.outcome),
        "start_time": rfc3339(boot.started),
        // Seconds, to the microsecond the report gives (no binary fraction noise).
        "duration": (c.ms * 1000.0).round() / 1e6,
        "environment": environment(boot, m.mode),
        "misc": misc,
    });
    if c.outcome != Outcome::Pass {
        t["log_excerpt"] = excerpt(&c.headline()).into();
    }
    t
}

fn suite_test(r: &Run) -> Value {
    let (boot, m) = (r.boot, r.mode);
    let mut misc = suite_misc(boot, m);
    let flags: Vec<String> = m.flags.iter().map(Flag::label).collect();
    if let Some(r) = m.results {
        misc.insert(
            "counts".into(),
            serde_json::to_value(r.counted()).unwrap_or_default(),
        );
    }
    misc.insert("flags".into(), flags.clone().into());
    let mut t = json!({
        "id": r.prefix,
        "origin": r.origin,
        "build_id": r.build_id,
        "path": SUITE_PATH,
        "status": suite_status(m),
        "start_time": rfc3339(boot.started),
        "duration": (boot.secs * 1000.0).round() / 1000.0,
        "environment": environment(boot, m.mode),
        "misc": misc,
    });
    if !flags.is_empty() {
        t["log_excerpt"] = excerpt(&flags.join("\n")).into();
    }
    t
}

/// The KCIDB document of a matrix run. `run_id` tells this run's tests from another run's
/// (the start time); `origin` is the submitting CI system's name.
pub fn document(origin: &str, run_id: &str, boots: &[BootInput]) -> Value {
    let (mut checkouts, mut builds, mut tests) = (Vec::new(), Vec::<Value>::new(), Vec::new());
    for boot in boots {
        let src = KernelSource::parse(boot.origin);
        let c = checkout(origin, &src, boot);
        let checkout_id = c["id"].as_str().unwrap_or_default().to_string();
        if !checkouts.iter().any(|x: &Value| x["id"] == c["id"]) {
            checkouts.push(c);
        }
        let b = build(origin, &checkout_id, &src, boot);
        let build_id = b["id"].as_str().unwrap_or_default().to_string();
        if !builds.iter().any(|x| x["id"] == b["id"]) {
            builds.push(b);
        }
        for m in &boot.modes {
            let run = Run {
                origin,
                prefix: format!("{origin}:{run_id}:{}:{}", boot.kernel, m.mode),
                build_id: &build_id,
                boot,
                mode: m,
            };
            tests.push(suite_test(&run));
            for c in m.results.iter().flat_map(|r| &r.cases) {
                tests.push(case_test(&run, c));
            }
        }
    }
    json!({
        "version": {"major": SCHEMA.0, "minor": SCHEMA.1},
        "checkouts": checkouts,
        "builds": builds,
        "tests": tests,
    })
}
