//! `--kcidb`: a matrix run as a KCIDB v5 document, built from committed reports, checked
//! field by field here and validated with kcidb-io's own schema code (ci/kcidb-check.sh,
//! which also checks that broken copies are rejected).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use uring_matrix::classify::Flag;
use uring_matrix::kcidb::{self, BootInput, KernelSource, ModeInput};
use uring_matrix::results::{Outcome, Results};
use uring_report::{ProblemKind, SkipCause};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn baseline(series: &str) -> Results {
    let p = root().join(format!("fixtures/baselines/{series}.jsonl"));
    Results::read(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Three boots: a Debian kernel with a whole report in both modes (one with a WARNING in
/// the strict run), a kernel built from our fragment, and a `--kernel` image that never
/// reached init.
fn fixture_document() -> (Value, Results) {
    let mut r72 = baseline("7.2");
    // The baselines were written before the typed skip causes: one skip gets one.
    let skip = r72.cases.iter_mut().find(|c| c.outcome == Outcome::Skip);
    skip.unwrap().cause = Some(SkipCause::Environment {
        what: "no free huge pages".into(),
    });
    let r612 = baseline("6.12");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
    let warn = [Flag::Kernel(ProblemKind::Warning)];
    let no_init = [Flag::NoInit];
    let env = "QEMU x86_64 guest (Tcg), 1 vCPU, 512 MiB, uring-matrix";
    let boots = [
        BootInput {
            kernel: "7.2",
            origin: "linux-binary-unsigned-7.2.13+deb14-cloud-amd64 7.2.13-1",
            arch: "x86_64",
            release: Some("7.2.13+deb14-cloud-amd64"),
            started: at,
            secs: 31.5,
            environment: env,
            modes: vec![
                ModeInput {
                    mode: "default",
                    results: Some(&r72),
                    flags: &[],
                },
                ModeInput {
                    mode: "strict",
                    results: Some(&r72),
                    flags: &warn,
                },
            ],
        },
        BootInput {
            kernel: "7.2-minimal",
            origin: "build:minimal linux-source-7.2 7.2.13-1 gcc 12.2.0 key b15199e2b23dff56",
            arch: "x86_64",
            release: None,
            started: at,
            secs: 20.0,
            environment: env,
            modes: vec![ModeInput {
                mode: "default",
                results: Some(&r612),
                flags: &[],
            }],
        },
        BootInput {
            kernel: "bzImage",
            origin: "linux/arch/x86/boot/bzImage",
            arch: "x86_64",
            release: None,
            started: at,
            secs: 240.0,
            environment: env,
            modes: vec![ModeInput {
                mode: "default",
                results: None,
                flags: &no_init,
            }],
        },
    ];
    (
        kcidb::document(kcidb::DEFAULT_ORIGIN, "2026-12-06T09:00:00Z", &boots),
        r72,
    )
}

fn tests_where<'a>(doc: &'a Value, f: impl Fn(&Value) -> bool + 'a) -> Vec<&'a Value> {
    doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| f(t))
        .collect()
}

#[test]
fn origins_read_as_their_sources() {
    assert_eq!(
        KernelSource::parse("linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3"),
        KernelSource::Debian {
            package: "linux-image-6.1.0-57-cloud-amd64-unsigned".into(),
            version: "6.1.192-3".into()
        }
    );
    let KernelSource::Fragment {
        config, compiler, ..
    } = KernelSource::parse("build:tiny linux-source-7.2 7.2.13-1 gcc 12.2.0 key 4f0c")
    else {
        panic!()
    };
    assert_eq!((config.as_str(), compiler.as_str()), ("tiny", "gcc 12.2.0"));
    for path in ["/x/bzImage", "my kernel", "linux-6.1 x"] {
        assert_eq!(KernelSource::parse(path), KernelSource::Path(path.into()));
    }
    assert!(kcidb::valid_origin("uring_conformance") && !kcidb::valid_origin("Lab-1"));
}

#[test]
fn every_case_is_a_test_with_its_status_and_answers() {
    let (doc, r72) = fixture_document();
    assert_eq!(doc["version"], serde_json::json!({"major": 5, "minor": 0}));
    // One checkout per Debian source version (packaged and built 7.2 share it) and one for
    // the image of unknown source; one build per image.
    let ids = |k: &str| -> Vec<String> {
        doc[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("checkouts").len(), 2, "{:#}", doc["checkouts"]);
    assert!(ids("checkouts").contains(&"uring_conformance:debian-linux-7.2.13-1".into()));
    assert_eq!(ids("builds").len(), 3);
    let minimal = &doc["builds"][1];
    assert_eq!(minimal["config_name"], "minimal");
    assert_eq!(minimal["misc"]["origin"], "fragment");
    assert_eq!(minimal["compiler"], "gcc 12.2.0");
    assert_eq!(doc["builds"][0]["misc"]["origin"], "debian package");
    let tests = ids("tests");
    let unique: BTreeSet<&String> = tests.iter().collect();
    assert_eq!(unique.len(), tests.len(), "test ids are unique");
    assert!(tests.iter().all(|i| i.starts_with("uring_conformance:")));
    // 357 cases + the suite test, per mode of each boot that reported, and the lone suite
    // test of the boot that did not.
    assert_eq!(tests.len(), 3 * (357 + 1) + 1);

    let default72 = tests_where(&doc, |t| {
        t["id"].as_str().unwrap().contains(":7.2:default:")
    });
    for o in Outcome::ALL {
        let want = r72.cases.iter().filter(|c| c.outcome == o).count();
        let got = default72
            .iter()
            .filter(|t| t["misc"]["outcome"] == o.name())
            .count();
        assert_eq!(got, want, "{o:?}");
        assert!(default72
            .iter()
            .filter(|t| t["misc"]["outcome"] == o.name())
            .all(|t| t["status"] == kcidb::status(o)));
    }
    let c = r72.cases.iter().find(|c| c.call.is_some()).unwrap();
    let t = default72
        .iter()
        .find(|t| t["id"].as_str().unwrap().ends_with(&format!(":{}", c.name)))
        .unwrap();
    assert_eq!(t["path"], kcidb::test_path(&c.name));
    assert_eq!(t["misc"]["call"].as_str(), c.call.as_deref());
    assert_eq!(t["misc"]["expected"].as_str(), c.expected.as_deref());
    assert_eq!(t["misc"]["actual"].as_str(), c.actual.as_deref());
    assert_eq!(t["start_time"], "2026-11-30T00:53:20.000000Z");
    let skip = default72.iter().find(|t| t["status"] == "SKIP").unwrap();
    assert_eq!(
        skip["misc"]["skip_cause"],
        serde_json::json!({"kind": "environment", "what": "no free huge pages"}),
        "{skip:#}"
    );
    assert!(skip["log_excerpt"].as_str().is_some_and(|s| !s.is_empty()));

    let suite = |id: &str| {
        tests_where(&doc, move |t| t["id"] == id)
            .first()
            .copied()
            .cloned()
            .unwrap()
    };
    let base = "uring_conformance:2026-12-06T09:00:00Z";
    assert_eq!(suite(&format!("{base}:7.2:default"))["status"], "PASS");
    let strict = suite(&format!("{base}:7.2:strict"));
    assert_eq!(strict["status"], "FAIL", "a kernel WARNING fails the run");
    assert_eq!(strict["path"], "uring_conformance");
    let lost = suite(&format!("{base}:bzImage:default"));
    assert_eq!(lost["status"], "ERROR", "a boot that never reported");
    assert_eq!(lost["log_excerpt"], "never reached init");
}

#[test]
fn paths_follow_the_schema() {
    assert_eq!(
        kcidb::test_path("register_buffers::zero_len"),
        "uring_conformance.register_buffers.zero_len"
    );
    assert_eq!(
        kcidb::test_path("strict::feature::setup_cqe32"),
        "uring_conformance.strict.feature.setup_cqe32"
    );
    assert_eq!(kcidb::test_path("a::b c/d"), "uring_conformance.a.b_c_d");
}

/// The fixture document validates with kcidb-io (and its broken copies do not): the schema
/// is KernelCI's, not ours. Skips, saying so, only where kcidb-io cannot be installed.
#[test]
fn the_document_validates_with_kcidb_io() {
    let (doc, _) = fixture_document();
    let path = std::env::temp_dir().join(format!("uring-kcidb-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(root().join("ci/kcidb-check.sh"))
        .arg(&path)
        .output()
        .expect("ci/kcidb-check.sh runs");
    let _ = std::fs::remove_file(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(77) {
        eprintln!("skipped: kcidb-io could not be installed here: {text}");
        return;
    }
    assert!(out.status.success(), "{text}");
    assert!(text.contains("valid KCIDB 5.0"), "{text}");
    assert_eq!(
        text.matches("is rejected, as it must be").count(),
        5,
        "{text}"
    );
}
