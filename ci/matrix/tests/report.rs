//! The suite's JSON-lines report as the matrix reads it, and the matrix's tables.

use uring_matrix::classify::*;
use uring_matrix::report::{self, Column, ModeColumn};
use uring_matrix::results::{Outcome, Results};

// ---- the suite's report -----------------------------------------------------------------

const REPORT: &str = r#"{"type":"run","kernel":"6.12.95+deb12-cloud-amd64","version":"6.12.95","version_source":"uname -r 6.12.95+deb12-cloud-amd64","strict":false,"setup_features":"0xffff","sqe_ops":58,"register_opcodes":null}
{"type":"feature","name":"clone_buffers","present":true,"how":"CLONE_BUFFERS from an empty ring -> ENXIO","since":"6.12"}
{"type":"feature","name":"pbuf_ring","present":false,"how":"REGISTER_PBUF_RING -> EINVAL","since":"5.19","extra":{"x":[1]}}
{"type":"fact","name":"tmpfs","holds":true,"how":"statfs /tmp"}
{"type":"case","name":"register_buffers::nr_zero","interface":"register_buffers","outcome":"pass","reason":"","call":"io_uring_register(fd, REGISTER_BUFFERS, &iov, 0)","expected":"fails with EINVAL","actual":"fails with EINVAL","level":null,"level_seen":null,"ms":1.230}
{"type":"case","name":"register_buffers::too_many","interface":"register_buffers","outcome":"fail","reason":"expected EINVAL, got \"ENOMEM\"","call":"io_uring_register(fd, REGISTER_BUFFERS, &iov, 32768)","expected":"fails with EINVAL","actual":"fails with ENOMEM","level":null,"level_seen":"lacks","ms":0.500,"new_field":7}
this line got mangled by [    3.1] a kernel message
{"type":"case","name":"probe::ops","interface":"register_probe","outcome":"skip","reason":"needs register_probe (5.6)","call":null,"expected":null,"actual":null,"level":null,"level_seen":null,"ms":0.000}
{"type":"something_new","x":1}
{"type":"summary","pass":1,"fail":1,"skip":1,"broken":0,"timeout":0}
"#;

#[test]
fn results_parse_contract() {
    let r = Results::salvage(REPORT);
    let run = r.run.clone().unwrap();
    assert_eq!(run.kernel, "6.12.95+deb12-cloud-amd64");
    assert_eq!(
        (run.version.as_deref(), run.strict),
        (Some("6.12.95"), false)
    );
    assert_eq!(r.features.len(), 2);
    assert_eq!(r.features[0].name, "clone_buffers");
    assert!(r.features[0].present);
    assert_eq!(r.features[0].since, "6.12");
    assert!(!r.features[1].present);
    assert_eq!(r.cases.len(), 3);
    assert_eq!(r.cases[0].ms, 1.23);
    assert_eq!(r.cases[1].outcome, Outcome::Fail);
    assert_eq!(r.cases[1].reason, "expected EINVAL, got \"ENOMEM\"");
    assert_eq!(r.cases[1].level_seen, Some(uring_report::LevelSeen::Lacks));
    assert_eq!(r.cases[2].call, None);
    assert_eq!(r.bad_lines.len(), 1);
    let s = r.summary.unwrap();
    assert_eq!(
        (s.pass, s.fail, s.skip, s.broken, s.timeout),
        (1, 1, 1, 0, 0)
    );
    assert_eq!(r.counted(), s);
    let failing: Vec<&str> = r.failing_cases().map(|c| c.name.as_str()).collect();
    assert_eq!(failing, ["register_buffers::too_many"]);
}

/// A report the suite wrote (the committed 6.18 baseline) reads whole: every line a
/// record, the counted outcomes the summary's.
#[test]
fn a_suite_report_reads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/baselines/6.18.jsonl"
    );
    let r = Results::salvage(&std::fs::read_to_string(path).unwrap());
    assert!(r.bad_lines.is_empty(), "{:?}", r.bad_lines);
    assert!(r
        .run
        .as_ref()
        .is_some_and(|run| run.kernel.starts_with("6.18")));
    assert!(!r.features.is_empty() && !r.cases.is_empty());
    assert_eq!(Some(r.counted()), r.summary);
}

fn one_mode<'a>(flags: &'a [Flag], results: Option<&'a Results>) -> Vec<ModeColumn<'a>> {
    vec![ModeColumn {
        mode: "default",
        flags,
        results,
    }]
}

#[test]
fn tables() {
    let ok = Results::salvage(REPORT);
    let flags_a = vec![];
    let flags_b = vec![Flag::Kernel(ProblemKind::Warning), Flag::CasesFailed(1)];
    let cols = [
        Column {
            name: "6.1",
            release: Some("6.1.0-56"),
            modes: one_mode(&flags_a, Some(&ok)),
        },
        Column {
            name: "7.3-rc",
            release: None,
            modes: one_mode(&flags_b, None),
        },
    ];
    let t = report::case_table(&cols, false);
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("case") && lines[0].ends_with("7.3-rc"));
    assert!(
        lines[2].starts_with("(boot)")
            && lines[2].contains("ok")
            && lines[2].ends_with("WARN+FAIL(1)")
    );
    assert!(t.contains("register_buffers::too_many") && t.contains("FAIL"));
    let md = report::feature_table(&cols, true);
    assert!(md.starts_with("| feature"), "{md}");
    assert!(md.lines().nth(2).unwrap().contains("| clone_buffers"));
    assert!(md.contains("| yes") && md.contains("| no"));
}

#[test]
fn combined_cells() {
    let v = |x: &[Option<&str>]| -> Vec<Option<String>> {
        x.iter().map(|o| o.map(str::to_string)).collect()
    };
    assert_eq!(
        report::combine_cells(&v(&[Some("pass"), Some("pass")])),
        "pass"
    );
    assert_eq!(report::combine_cells(&v(&[None, Some("pass")])), "pass");
    assert_eq!(
        report::combine_cells(&v(&[Some("skip"), Some("FAIL")])),
        "skip/FAIL"
    );
    assert_eq!(
        report::combine_cells(&v(&[Some("skip"), None, Some("FAIL")])),
        "skip/-/FAIL"
    );
    assert_eq!(report::combine_cells(&v(&[None, None])), "-");
    assert_eq!(report::combine_cells(&v(&[])), "-");
}
