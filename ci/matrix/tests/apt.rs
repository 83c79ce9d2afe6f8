//! apt sources, the kernel manifest and lock, Debian versions, suite modes, kernel configs.

use std::cmp::Ordering;

use uring_matrix::aptsrc::*;
use uring_matrix::{kconfig_can_use_scratch, kconfig_enabled, parse_modes};

// ---- apt sources, manifest, lock, versions -----------------------------------------------

const DEB822: &str = "Types: deb\n\
# http://snapshot.example/archive/debian/20250520T000000Z\n\
URIs: http://mirror.example/debian\n\
Suites: bookworm bookworm-updates\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
\n\
Types: deb\n\
URIs: http://mirror.example/debian-security/\n\
Suites: bookworm-security\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

#[test]
fn apt_deb822_uris() {
    let e = parse_deb822(DEB822);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].uris, ["http://mirror.example/debian"]);
    assert_eq!(e[0].suites, ["bookworm", "bookworm-updates"]);
    assert_eq!(e[1].suites, ["bookworm-security"]);
    let m = pick_mirrors(&e).unwrap();
    assert_eq!(m.archive, "http://mirror.example/debian");
    assert_eq!(m.security, "http://mirror.example/debian-security");
}

#[test]
fn apt_deb822_disabled_and_src() {
    let t = "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n\
             Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n\
             Types: deb\nURIs: https://on.example/debian\nSuites: bookworm\n";
    let m = pick_mirrors(&parse_deb822(t)).unwrap();
    assert_eq!(m.archive, "https://on.example/debian");
    // No security entry: derived the way Debian lays it out.
    assert_eq!(m.security, "https://on.example/debian-security");
}

#[test]
fn apt_one_line_sources() {
    let t = "# comment\n\
        deb [arch=amd64 signed-by=/x.gpg] http://one.example/debian bookworm main contrib\n\
        deb-src http://one.example/debian bookworm main\n\
        deb http://sec.example/debian-security bookworm-security main # trailing\n";
    let e = parse_one_line(t);
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].uris, ["http://one.example/debian"]);
    assert_eq!(e[0].components, ["main", "contrib"]);
    let m = pick_mirrors(&e).unwrap();
    assert_eq!(m.archive, "http://one.example/debian");
    assert_eq!(m.security, "http://sec.example/debian-security");
    assert_eq!(pick_mirrors(&parse_one_line("# nothing\n")), None);
}

#[test]
fn manifest_parsing() {
    let m = parse_manifest(
        "# c\n5.10 bullseye linux-image-5.10.*-cloud-amd64-unsigned\n\n\
         6.1 bookworm,bookworm-security linux-image-6.1.*  # trailing\n",
    )
    .unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].suites, ["bookworm", "bookworm-security"]);
    assert_eq!(m[1].package, "linux-image-6.1.*");
    assert!(parse_manifest("a b\n").is_err());
    assert!(parse_manifest("a/b s p\n").is_err());
    assert!(parse_manifest("a s p\na s q\n").is_err());
    // The optional fourth column: the package's architecture, amd64 when absent.
    assert_eq!(m[0].arch, "amd64");
    let a = parse_manifest("a sid linux-binary-unsigned-7.2*-arm64-16k arch=arm64\n").unwrap();
    assert_eq!(a[0].arch, "arm64");
    assert!(parse_manifest("a s p arch=sparc\n").is_err());
    assert!(parse_manifest("a s p arm64\n").is_err());
    assert!(parse_manifest("a s p arch=arm64 x\n").is_err());
    // Own builds for amd64 and arm64 (build-kernel.sh --arch checks the fragment's).
    assert!(parse_manifest("a build:tiny linux-source-7.2 arch=arm64\n").is_ok());
    assert!(parse_manifest("a build:tiny linux-source-7.2 arch=s390x\n").is_err());
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/kernels.manifest"
    ))
    .unwrap();
    let shipped = parse_manifest(&shipped).unwrap();
    assert_eq!(
        shipped
            .iter()
            .filter(|e| e.build_config().is_none() && e.arch == "amd64")
            .count(),
        8
    );
    // arm64: the generic and the 16 KiB-page flavours of 7.2, each pattern only its own.
    let arm64 = [
        "linux-binary-unsigned-7.2.13+deb14-arm64",
        "linux-binary-unsigned-7.2.13+deb14-arm64-16k",
        "linux-binary-unsigned-7.2.13+deb14-cloud-arm64",
        "linux-binary-unsigned-7.2.13+deb14-rt-arm64",
    ];
    for (name, want) in [("7.2-arm64", 0), ("7.2-arm64-16k", 1)] {
        let e = shipped.iter().find(|e| e.name == name).unwrap();
        assert_eq!(e.arch, "arm64");
        let hits: Vec<usize> = (0..arm64.len())
            .filter(|&i| glob_match(&e.package, arm64[i]))
            .collect();
        assert_eq!(hits, [want], "{name}: {}", e.package);
    }
    // ppc64el and s390x: unsigned architectures, so `linux-binary-*`; each ppc64el
    // flavour (4 and 64 KiB pages) only its own, and the s390x one.
    let other = [
        "linux-binary-7.2.13+deb14-powerpc64le",
        "linux-binary-7.2.13+deb14-powerpc64le-64k",
        "linux-binary-7.2.13+deb14-s390x",
        "linux-binary-unsigned-7.2.13+deb14-s390x",
    ];
    for (name, arch, want) in [
        ("7.2-ppc64el", "ppc64el", 0),
        ("7.2-ppc64el-64k", "ppc64el", 1),
        ("7.2-s390x", "s390x", 2),
    ] {
        let e = shipped.iter().find(|e| e.name == name).unwrap();
        assert_eq!(e.arch, arch);
        let hits: Vec<usize> = (0..other.len())
            .filter(|&i| glob_match(&e.package, other[i]))
            .collect();
        assert_eq!(hits, [want], "{name}: {}", e.package);
    }
    // The three 7.2 flavours of sid (as its package list names them): each pattern matches
    // exactly its own.
    let sid = [
        "linux-binary-unsigned-7.2.13+deb14-amd64",
        "linux-binary-unsigned-7.2.13+deb14-cloud-amd64",
        "linux-binary-unsigned-7.2.13+deb14-rt-amd64",
    ];
    for (name, want) in [("7.2-generic", 0), ("7.2", 1), ("7.2-rt", 2)] {
        let e = shipped.iter().find(|e| e.name == name).unwrap();
        let hits: Vec<usize> = (0..sid.len())
            .filter(|&i| glob_match(&e.package, sid[i]))
            .collect();
        assert_eq!(hits, [want], "{name}: {}", e.package);
    }
    let built: Vec<(&str, &str, &str)> = shipped
        .iter()
        .filter_map(|e| Some((e.build_config()?, e.source_version()?, e.arch.as_str())))
        .collect();
    assert_eq!(
        built,
        [
            ("tiny", "7.2", "amd64"),
            ("minimal", "7.2", "amd64"),
            ("faultinject", "7.2", "amd64"),
            ("arm64-64k", "7.2", "arm64")
        ]
    );
    // Every build: entry names a fragment that exists and is for its arch= (the fragment's
    // `# uring-arch:` line, x86_64 when it has none; ci/build-kernel.sh --arch checks it too).
    for (config, _, arch) in built {
        let f = format!(
            "{}/../../fixtures/kernel-configs/{config}.config",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let declared = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("# uring-arch:"))
            .map(str::trim)
            .unwrap_or("x86_64");
        let declared = if declared == "x86_64" {
            "amd64"
        } else {
            declared
        };
        assert_eq!(declared, arch, "{f}");
    }
}

#[test]
fn manifest_build_entries() {
    let m = parse_manifest(
        "7.2-tiny build:tiny linux-source-7.2\n\
         7.2 sid linux-binary-unsigned-7.2*-cloud-amd64\n\
         x build:fault_inject-2 linux-source-10.11\n",
    )
    .unwrap();
    assert_eq!(m[0].build_config(), Some("tiny"));
    assert_eq!(m[0].source_version(), Some("7.2"));
    assert_eq!(m[0].suites, ["build:tiny"]);
    assert_eq!(m[1].build_config(), None);
    assert_eq!(m[1].source_version(), None);
    assert_eq!(m[2].build_config(), Some("fault_inject-2"));
    assert_eq!(m[2].source_version(), Some("10.11"));
    for bad in [
        "a build: linux-source-7.2\n",         // no config name
        "a build:Tiny linux-source-7.2\n",     // upper case
        "a build:-x linux-source-7.2\n",       // leading dash
        "a build:../x linux-source-7.2\n",     // a path
        "a build:tiny,sid linux-source-7.2\n", // mixed with a suite
        "a sid,build:tiny linux-source-7.2\n", // mixed with a suite
        "a build:tiny linux-image-7.2\n",      // not a source package
        "a build:tiny linux-source-7\n",       // not X.Y
        "a build:tiny linux-source-7.2.13\n",  // not X.Y
        "a build:tiny linux-source-7.x\n",     // not digits
    ] {
        assert!(parse_manifest(bad).is_err(), "{bad}");
    }
}

#[test]
fn config_names() {
    for ok in ["tiny", "minimal", "faultinject", "a", "7", "fault-inject_2"] {
        assert!(valid_config_name(ok), "{ok}");
    }
    for bad in ["", "Tiny", "-x", "_x", "a/b", "a.config", "a b", "..", "ä"] {
        assert!(!valid_config_name(bad), "{bad}");
    }
}

#[test]
fn suite_modes() {
    assert_eq!(
        parse_modes("default,strict").unwrap(),
        ["default", "strict"]
    );
    assert_eq!(parse_modes(" strict ").unwrap(), ["strict"]);
    assert_eq!(
        parse_modes("strict,,default").unwrap(),
        ["strict", "default"]
    );
    assert!(parse_modes("").is_err());
    assert!(parse_modes(",").is_err());
    assert!(parse_modes("default,default").is_err());
    assert!(parse_modes("lenient").is_err());
}

#[test]
fn kconfig_checks() {
    let minimal = "CONFIG_BLOCK=y\nCONFIG_PCI=y\nCONFIG_BLK_DEV_NVME=y\nCONFIG_EXT4_FS=y\n\
                   CONFIG_FAULT_INJECTION=y\n# CONFIG_NET is not set\n";
    assert!(kconfig_enabled(minimal, "CONFIG_BLOCK"));
    assert!(kconfig_enabled(minimal, "CONFIG_FAULT_INJECTION"));
    assert!(!kconfig_enabled(minimal, "CONFIG_NET"));
    assert!(!kconfig_enabled(minimal, "CONFIG_FAULT")); // a prefix is not the option
    assert!(kconfig_can_use_scratch(minimal));
    assert!(!kconfig_can_use_scratch(
        &minimal.replace("NVME=y", "NVME=m")
    ));
    let tiny = "# CONFIG_BLOCK is not set\n# CONFIG_PCI is not set\nCONFIG_IO_URING=y\n";
    assert!(!kconfig_can_use_scratch(tiny));
    assert!(!kconfig_can_use_scratch(""));
}

#[test]
fn lock_round_trip() {
    let l = vec![LockEntry {
        name: "7.2".into(),
        package: "linux-binary-unsigned-7.2.13+deb14-cloud-amd64".into(),
        version: "7.2.13-1".into(),
        sha256: "ab".repeat(32),
    }];
    assert_eq!(parse_lock(&format_lock(&l)), l);
}

#[test]
fn package_globs() {
    assert!(glob_match(
        "linux-image-5.10.*-cloud-amd64-unsigned",
        "linux-image-5.10.0-32-cloud-amd64-unsigned"
    ));
    assert!(!glob_match(
        "linux-image-5.10.*-cloud-amd64-unsigned",
        "linux-image-5.10.0-32-cloud-amd64-unsigned-dbg"
    ));
    assert!(!glob_match(
        "linux-image-6.1.*-cloud-amd64-unsigned",
        "linux-image-6.12.95+deb12-cloud-amd64-unsigned"
    ));
    assert!(glob_match(
        "linux-binary-unsigned-7.2*-cloud-amd64",
        "linux-binary-unsigned-7.2.13+deb14-cloud-amd64"
    ));
    assert!(!glob_match(
        "linux-binary-unsigned-7.3*-cloud-amd64",
        "linux-binary-unsigned-7.2.13+deb14-cloud-amd64"
    ));
    assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    assert!(
        glob_match("a*b*c", "abc") && glob_match("a*b*c", "a-b-b-c") && !glob_match("a*b*c", "ac")
    );
    assert!(!glob_match("ab*ba", "aba"));
}

#[test]
fn debian_versions() {
    use Ordering::*;
    for (a, b, o) in [
        ("5.10.223-1", "5.10.218-1", Greater),
        ("6.1.192-2", "6.1.192-1", Greater),
        ("7.3~rc7-1~exp1", "7.3-1", Less),
        ("7.3~rc7-1~exp1", "7.2.13-1", Greater),
        ("1.0~rc1", "1.0", Less),
        ("1:0.1", "2.0", Greater),
        ("1.0", "1.0", Equal),
        ("1.0-1", "1.0", Greater),
        ("1.0a", "1.0", Greater),
        ("1.0+deb12u1", "1.0", Greater),
        ("2023.3+deb12u2", "2025.1", Less),
        ("1.001", "1.1", Equal),
    ] {
        assert_eq!(compare_debian_versions(a, b), o, "{a} vs {b}");
        assert_eq!(compare_debian_versions(b, a), o.reverse(), "{b} vs {a}");
    }
}

#[test]
fn apt_cache_stanzas() {
    let s = parse_stanzas(
        "Package: a\nVersion: 1.0-1\nDescription: x\n more\nSHA256: abc\n\nPackage: b\n",
    );
    assert_eq!(s.len(), 2);
    assert_eq!(stanza_field(&s[0], "version"), Some("1.0-1"));
    assert_eq!(stanza_field(&s[0], "SHA256"), Some("abc"));
}
