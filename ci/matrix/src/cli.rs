//! Command-line options of uring-matrix, parsed by clap: `--help` lists every option with
//! its meaning, and a bad value is an error naming the option (exit 2), never a default.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// What the matrix does before the options: the long description of `--help`.
const ABOUT: &str = "\
uring-matrix: boot the io_uring conformance suite under QEMU on several kernels
(ci/matrix.sh [OPTIONS], or cargo run -p uring-matrix --release -- [OPTIONS]).

Kernels come from fixtures/kernels.manifest and/or --kernel. A manifest line is either a
Debian kernel package (`name suites package-glob [arch=ARCH]`: resolved through apt with a
private configuration in the cache at every run, for ARCH (amd64 when absent; --arch picks
which lines boot); the versions used are written to fixtures/kernels.lock) or a kernel the matrix builds (`name build:CONFIG linux-source-X.Y`:
`ci/build-kernel.sh --config CONFIG --version X.Y`, fragment
fixtures/kernel-configs/CONFIG.config; cached by the fragment's content, the source version
and the compiler, so only a run after a change builds). A kernel whose .config is known
(built ones; --kernel images next to a `config` file or in a make O= tree) gets the ext4
scratch disk only if it has BLOCK, PCI, BLK_DEV_NVME and EXT4_FS; the others run with TMPDIR
on /tmp.

Every boot runs the suite once per mode of --modes (default and strict: `--strict`); the
tables show one value per cell when the modes agree, else default/strict. Output goes to
ci/out/: per kernel <name>/console.log, channel.log (the results channel: guest-init's lines
and reports over an isa-debugcon, read before the console; x86 only), results-<mode>.jsonl,
verdict.txt; and
cases.{txt,md}, features.{txt,md}, summary.txt. Exit status 1 if any kernel has a failing
case (in any mode), a broken boot or a build that failed, 2 on usage or setup errors.

Cache: ${URING_CACHE:-/var/cache/uring-conformance}, outside the checkout so a fresh clone
is warm (ci/cache/ when that is not writable; URING_CACHE=ci/cache keeps it in the checkout):
apt/ (private apt lists), kernels/ (extracted Debian kernels), debs/, keyring/, kernel/
(ci/build-kernel.sh's trees, builds and images), scratch.ext4.";

/// The environment variables, after the options in `--help`.
const ENVIRONMENT: &str = "\
Environment: URING_MATRIX_MIRROR overrides the Debian mirror URI taken from the machine's
apt configuration (URING_MATRIX_SECURITY_MIRROR the security one); URING_MATRIX_KEYRING
the keyring that checks the suites (default: the machine's debian-archive-keyring.gpg; a
suite it cannot check gets the debian-archive-keyring package of the newest suite it can).
";

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Accel {
    /// KVM only if a short smoke boot under KVM works, else TCG (-accel tcg -cpu max).
    Auto,
    /// Always TCG.
    Tcg,
    /// Always KVM.
    Kvm,
}

/// The guest architecture: what QEMU emulates and what the payload is built for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Arch {
    /// x86_64: the manifest's kernels, the isa-debugcon results channel.
    #[value(name = "x86_64")]
    X86_64,
    /// arm64 (`-M virt`, PL011 console): the manifest's `arch=arm64` kernels and --kernel
    /// arm64 `Image`s; the payload is cross-built by ci/cross-build.sh; no results channel
    /// (the reports come from the console); always TCG.
    Aarch64,
    /// ppc64el (`-M pseries`, hvc0 console): the manifest's `arch=ppc64el` kernels (ELF
    /// vmlinux); cross-built payload, reports from the console, always TCG.
    #[value(name = "powerpc64le")]
    Powerpc64le,
    /// s390x (`-M s390-ccw-virtio`, SCLP console ttysclp0; big-endian): the manifest's
    /// `arch=s390x` kernels; cross-built payload, reports from the console, always TCG.
    S390x,
}

#[derive(Parser, Debug)]
#[command(name = "uring-matrix", long_about = ABOUT, after_long_help = ENVIRONMENT)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Also boot this kernel image (a bzImage you built). Repeatable.
    #[arg(long = "kernel", value_name = "PATH")]
    pub kernels: Vec<PathBuf>,
    /// Boot only the --kernel images, not the manifest's.
    #[arg(long, requires = "kernels")]
    pub only_path: bool,
    /// Skip the manifest's build: entries (boot only packaged kernels).
    #[arg(long)]
    pub no_build: bool,
    /// Suite modes per boot, comma-separated: default, strict.
    #[arg(long, value_name = "LIST", default_value = "default,strict", value_parser = modes)]
    pub modes: Modes,
    /// Only the manifest entries named NAME or NAME-*. Repeatable or comma-separated (e.g.
    /// --filter 6.1,7.3 selects 6.1 and 7.3-rc; --filter 6.12 selects 6.12 and 6.12-bpo;
    /// --filter 7.2 selects 7.2, 7.2-generic, 7.2-rt and the own-config 7.2-tiny, 7.2-minimal,
    /// 7.2-faultinject).
    #[arg(long = "filter", value_name = "NAME", value_delimiter = ',')]
    pub filters: Vec<String>,
    /// VMs run at the same time.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Time limit per boot in seconds (default 240; 600 for powerpc64le, whose TCG boots
    /// took 210-375 s here under load).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(5..))]
    pub timeout: Option<u64>,
    /// Extra arguments for uring-conformance inside the VM (passed on the kernel command line
    /// as uring.args; no double quotes).
    #[arg(long, value_name = "ARGS", value_parser = suite_args)]
    pub suite_args: Option<String>,
    /// Extra kernel command line arguments for every VM, e.g. `hugepagesz=2M hugepages=8`
    /// so that the hugetlb rows find a pool (no double quotes).
    #[arg(long, value_name = "ARGS", value_parser = suite_args)]
    pub kernel_args: Option<String>,
    /// After the runs, have guest-init send the kernel's gcov counters over the results
    /// channel (`uring.gcov=1`; a kernel with CONFIG_GCOV_KERNEL, e.g. `ci/build-kernel.sh
    /// --config gcov`) and save them under ci/out/<kernel>/gcov/ at their build paths;
    /// ci/out/<kernel>/gcov.txt says how many files came, or why none.
    #[arg(long)]
    pub gcov: bool,
    /// The mutant-schemata loop instead of the modes (ci/mutants.sh): FILE's mutant ids (one
    /// a line, 0 the unmutated kernel) go into the initramfs as /mutant-ids and guest-init
    /// runs the suite once per id of a kernel built by ci/mutants/schema.py
    /// (`uring.mutants=1`), each report framed with its id on the results channel.
    #[arg(long, value_name = "FILE")]
    pub mutant_ids: Option<PathBuf>,
    /// With --mutant-ids: the time limit of one id's suite run in the guest, in seconds.
    #[arg(long, value_name = "S", default_value_t = 150, value_parser = clap::value_parser!(u64).range(1..))]
    pub mutant_limit: u64,
    /// Also end a boot whose console and results channel have both been silent for S
    /// seconds (a hung kernel), as at the time limit.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(5..))]
    pub idle_timeout: Option<u64>,
    /// Where the logs, reports and tables go (default ci/out of the checkout); two matrices
    /// running at once need one each.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Instead of the suite, run the programs DIR/list names, one a line, from DIR (guest-init's
    /// `uring.exec` mode, see its exec module; ci/coverage.sh --anchor runs liburing's tests
    /// so). Every regular file of DIR is packed under /exec/ in the initramfs.
    #[arg(long, value_name = "DIR")]
    pub exec: Option<PathBuf>,
    /// --test-threads for the suite inside the VM.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// vCPUs per VM (2 was slower with two VMs on two cores).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub smp: u32,
    /// Memory per VM in MiB.
    #[arg(long, value_name = "MB", default_value_t = 512, value_parser = clap::value_parser!(u32).range(128..))]
    pub memory: u32,
    /// Accelerator.
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
    /// Guest architecture: boots the manifest's kernels of that architecture (a line's
    /// `arch=`, amd64 when absent) and the --kernel images, which must be of it.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,
    /// Extra boots for a kernel whose boot never reached the suite.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
    /// Use this static uring-conformance binary instead of building it.
    #[arg(long, value_name = "PATH")]
    pub payload: Option<PathBuf>,
    /// Do not ask apt: use the kernels recorded in fixtures/kernels.lock that are in the
    /// cache (build: kernels use the cached linux-source).
    #[arg(long)]
    pub offline: bool,
    /// Never install QEMU (by default, as root, a missing or too old QEMU is installed from
    /// <codename>-backports through a private apt config).
    #[arg(long)]
    pub no_install: bool,
    /// Print the manifest entries and exit.
    #[arg(long)]
    pub list: bool,
    /// Also write the run as KCIDB v5 JSON (checkouts, builds, one test per boot and mode
    /// and per case) to PATH, for `kci-dev submit` / `kcidb-submit`; created before the
    /// boots, so a path that cannot be written is an error at once.
    #[arg(long, value_name = "PATH")]
    pub kcidb: Option<PathBuf>,
    /// The origin (the submitting CI system's name, `[a-z0-9_]+`) that every KCIDB id
    /// starts with.
    #[arg(long, value_name = "NAME", default_value = uring_matrix::kcidb::DEFAULT_ORIGIN,
          value_parser = kcidb_origin)]
    pub kcidb_origin: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download PACKAGE's candidate from the Debian suite SUITE into DIR the way the matrix
    /// does (private apt configuration, hash checked) and print the .deb's path; a .deb in
    /// DIR with that hash is reused (ci/build-kernel.sh uses it for linux-source-*).
    FetchDeb {
        suite: String,
        package: String,
        dir: PathBuf,
    },
    /// Download and unpack source package PACKAGE=VERSION from the Debian suite SUITE into DIR
    /// (private apt configuration with deb-src, hashes checked by apt against the signed
    /// Sources index) and print the unpacked tree's path; a tree already there is reused
    /// (ci/coverage.sh --anchor uses it for liburing).
    FetchSource {
        suite: String,
        package: String,
        version: String,
        dir: PathBuf,
    },
}

/// The suite modes of --modes, each known and given once.
#[derive(Clone, Debug)]
pub struct Modes(pub Vec<String>);

fn modes(list: &str) -> Result<Modes, String> {
    uring_matrix::parse_modes(list).map(Modes)
}

fn kcidb_origin(s: &str) -> Result<String, String> {
    if uring_matrix::kcidb::valid_origin(s) {
        Ok(s.to_string())
    } else {
        Err("a KCIDB origin is lowercase letters, digits and _ only".into())
    }
}

fn suite_args(s: &str) -> Result<String, String> {
    if s.contains('"') || s.contains('\n') {
        return Err(
            "cannot contain double quotes or newlines (it goes on the kernel command line)".into(),
        );
    }
    Ok(s.to_string())
}

/// Parses the command line; usage errors exit 2 with clap's message naming the option.
pub fn parse_opts() -> Opts {
    Opts::parse()
}

impl Arch {
    /// The name --arch takes.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Powerpc64le => "powerpc64le",
            Arch::S390x => "s390x",
        }
    }

    /// The kernel's name of the architecture, which KCIDB's builds use (`x86_64`, `arm64`).
    pub fn kernel(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "arm64",
            Arch::Powerpc64le => "powerpc",
            Arch::S390x => "s390",
        }
    }

    /// The Debian architecture of its kernel packages (a manifest line's `arch=`).
    pub fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::Powerpc64le => "ppc64el",
            Arch::S390x => "s390x",
        }
    }
}

impl Opts {
    /// --timeout, or the architecture's default.
    /// The suite's arguments in the guest: `--suite-args`, and on the architectures QEMU
    /// only emulates here (every one but x86_64) a 60 s case limit unless those arguments set
    /// one: emulated, the THP rows' page zeroing (two 32 MiB PMD pages with 16 KiB pages)
    /// took more than the default 10 s on a loaded host, a timeout no kernel caused.
    pub fn suite_args_for_arch(&self) -> String {
        let given = self.suite_args.as_deref().unwrap_or("").trim();
        if self.arch == Arch::X86_64 || given.contains("--case-timeout") {
            return given.to_string();
        }
        format!("--case-timeout=60 {given}").trim().to_string()
    }

    pub fn boot_timeout(&self) -> u64 {
        self.timeout.unwrap_or(match self.arch {
            Arch::Powerpc64le => 600,
            _ => 240,
        })
    }
}

/// `--filter 6.12` selects `6.12` and `6.12-bpo`, not `6.1`; `--filter 6.1` only `6.1`.
pub fn filter_matches(filter: &str, name: &str) -> bool {
    name == filter
        || name
            .strip_prefix(filter)
            .is_some_and(|r| r.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Opts {
        Opts::try_parse_from(std::iter::once("uring-matrix").chain(args.iter().copied()))
            .expect("valid arguments")
    }

    #[test]
    fn kcidb_options() {
        let o = parse(&["--kcidb", "/tmp/k.json"]);
        assert_eq!(
            o.kcidb.as_deref(),
            Some(std::path::Path::new("/tmp/k.json"))
        );
        assert_eq!(o.kcidb_origin, "uring_conformance");
        assert_eq!(
            parse(&["--kcidb-origin", "my_lab2"]).kcidb_origin,
            "my_lab2"
        );
        for bad in ["My-Lab", "", "a:b"] {
            let e = Opts::try_parse_from(["uring-matrix", "--kcidb-origin", bad]).unwrap_err();
            assert!(e.to_string().contains("--kcidb-origin"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn arch_option_and_its_debian_names() {
        assert_eq!(parse(&[]).arch, Arch::X86_64);
        assert_eq!(parse(&["--arch", "aarch64"]).arch, Arch::Aarch64);
        assert_eq!(parse(&["--arch", "powerpc64le"]).arch, Arch::Powerpc64le);
        assert_eq!(parse(&["--arch", "s390x"]).arch, Arch::S390x);
        assert!(Opts::try_parse_from(["uring-matrix", "--arch", "arm"]).is_err());
        assert_eq!(parse(&[]).boot_timeout(), 240);
        assert_eq!(parse(&["--arch", "powerpc64le"]).boot_timeout(), 600);
        assert_eq!(
            parse(&["--arch", "powerpc64le", "--timeout", "30"]).boot_timeout(),
            30
        );
        for a in Arch::value_variants() {
            assert!(uring_matrix::aptsrc::MANIFEST_ARCHES.contains(&a.debian()));
            // --arch NAME is the name ci/cross-build.sh and the ELF check use.
            assert_eq!(parse(&["--arch", a.name()]).arch, *a);
        }
    }

    #[test]
    fn emulated_architectures_get_a_longer_case_limit_unless_one_is_given() {
        assert_eq!(parse(&[]).suite_args_for_arch(), "");
        assert_eq!(
            parse(&["--suite-args=--strict"]).suite_args_for_arch(),
            "--strict"
        );
        let arm = parse(&["--arch", "aarch64", "--suite-args=--strict"]);
        assert_eq!(arm.suite_args_for_arch(), "--case-timeout=60 --strict");
        let own = parse(&["--arch", "s390x", "--suite-args=--case-timeout=30"]);
        assert_eq!(own.suite_args_for_arch(), "--case-timeout=30");
    }

    #[test]
    fn kernel_args_go_on_the_command_line_without_quotes() {
        let o = parse(&["--kernel-args", "hugepagesz=2M hugepages=8"]);
        assert_eq!(o.kernel_args.as_deref(), Some("hugepagesz=2M hugepages=8"));
        assert_eq!(parse(&[]).kernel_args, None);
        let quoted = ["uring-matrix", "--kernel-args", "a=\"b\""];
        assert!(Opts::try_parse_from(quoted).is_err());
    }
}
