//! Command-line options of uring-matrix: the --help text and the argument parser.

use std::path::PathBuf;

use crate::util::die;

pub const HELP: &str = "\
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
pub enum Accel {
    Auto,
    Tcg,
    Kvm,
}

pub struct Opts {
    pub kernels: Vec<PathBuf>,
    pub only_path: bool,
    pub filters: Vec<String>,
    pub jobs: usize,
    pub timeout: u64,
    pub suite_args: Option<String>,
    pub threads: u32,
    pub smp: u32,
    pub memory: u32,
    pub accel: Accel,
    pub retries: u32,
    pub payload: Option<PathBuf>,
    pub offline: bool,
    pub no_install: bool,
    pub list: bool,
    pub no_build: bool,
    pub modes: Vec<String>,
}

pub fn parse_opts() -> Opts {
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
pub fn filter_matches(filter: &str, name: &str) -> bool {
    name == filter
        || name
            .strip_prefix(filter)
            .is_some_and(|r| r.starts_with('-'))
}
