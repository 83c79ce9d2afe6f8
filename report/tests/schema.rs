//! Every record type round-trips, and every committed baseline reads through the schema.

use uring_report::*;

fn round_trip(l: Line) {
    let text = l.to_json();
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(Line::parse(&text), Ok(l), "{text}");
}

#[test]
fn every_record_round_trips() {
    round_trip(Line::Run(Run {
        kernel: "6.12.95+deb12-cloud-amd64".into(),
        version: Some("6.12.95".into()),
        version_source: "uname -r".into(),
        strict: true,
        setup_features: "0xffff".into(),
        sqe_ops: 58,
        register_opcodes: None,
        suite_version: None,
        suite_commit: None,
    }));
    round_trip(Line::Run(Run {
        kernel: "7.2.13".into(),
        suite_version: Some("0.1.0".into()),
        suite_commit: Some("12659de5987c67dfb46e4f2323c4be5b61ee848e-dirty".into()),
        ..Run::default()
    }));
    round_trip(Line::Feature(Feature {
        name: "cap_ipc_lock".into(),
        present: true,
        how: "capget \"x\"\n".into(),
        since: "-".into(),
    }));
    round_trip(Line::Fact(Fact {
        name: "tmpfs".into(),
        holds: false,
        how: "statfs \u{1} é".into(),
    }));
    round_trip(Line::Case(Box::new(Case {
        name: "a::x".into(),
        interface: "a".into(),
        outcome: Outcome::Timeout,
        reason: "tab\there".into(),
        call: Some("io_uring_enter(fd, 1, 0, 0)".into()),
        expected: Some("fails with EINVAL".into()),
        actual: None,
        level: Some("6.1: decided by version".into()),
        level_seen: Some(LevelSeen::Has),
        ms: 1.25,
        cause: None,
        accepts: Some(vec![Answer::Err(22), Answer::Cqe { res: 0, flags: 4 }]),
        answer: None,
        decision: Some(LevelDecision {
            level: "l".into(),
            verdict: LevelVerdict::Either,
            how: "kernel 6.12 < 6.13".into(),
        }),
        detail: Some("timeout: waited 10 s\nfor 1 completion".into()),
    })));
    let cause = SkipCause::Resource {
        resource: Resource::LockedMemory,
        step: "io_uring_setup(8)".into(),
        errno: Some(Errno {
            number: 12,
            name: "ENOMEM".into(),
        }),
        limit: "RLIMIT_MEMLOCK 0 bytes".into(),
    };
    let skipped = Case::skipped("a::y", "a", cause);
    assert_eq!(
        skipped.reason,
        "resource: io_uring_setup(8): ENOMEM (RLIMIT_MEMLOCK 0 bytes)"
    );
    assert_eq!(skipped.headline(), skipped.reason);
    round_trip(Line::Case(Box::new(Case {
        answer: Some(Answer::Ok(0)),
        ..skipped
    })));
    round_trip(Line::Summary(Summary::of([Outcome::Pass, Outcome::Skip])));
    for r in [
        ChildResult::Obs {
            call: "x(\t1)\n".into(),
            answer: Answer::Cqe {
                res: -14,
                flags: 0x10001,
            },
        },
        ChildResult::Obs {
            call: "y".into(),
            answer: Answer::Err(12),
        },
        ChildResult::Obs {
            call: "z".into(),
            answer: Answer::Ok(-3),
        },
        ChildResult::Fail {
            message: "f".into(),
        },
        ChildResult::Broken {
            message: "b".into(),
        },
        ChildResult::Skip {
            cause: SkipCause::Environment { what: "s".into() },
        },
        ChildResult::Timeout {
            message: "t".into(),
        },
    ] {
        let line = r.to_line();
        assert!(line.starts_with(CHILD_RESULT_PREFIX) && !line.contains('\n'));
        assert_eq!(ChildResult::from_line(&line), Some(Ok(r)));
    }
    assert_eq!(ChildResult::from_line("not a result"), None);
    assert!(matches!(ChildResult::from_line("RESULT {"), Some(Err(_))));
}

#[test]
fn line_format_is_the_one_the_suite_wrote() {
    let s = Summary::of([Outcome::Skip, Outcome::Timeout]);
    assert_eq!(
        Line::Summary(s).to_json(),
        r#"{"type":"summary","pass":0,"fail":0,"skip":1,"broken":0,"timeout":1}"#
    );
    assert_eq!(s.count(Outcome::Timeout), 1);
    let f = Line::Feature(Feature {
        name: "n".into(),
        present: false,
        how: "a\"b\\c\nd\u{1}".into(),
        since: "5.1".into(),
    });
    assert_eq!(
        f.to_json(),
        r#"{"type":"feature","name":"n","present":false,"how":"a\"b\\c\nd\u0001","since":"5.1"}"#
    );
}

#[test]
fn unknown_types_and_fields_and_missing_fields_read() {
    let l =
        Line::parse(r#"{"type":"case","name":"a::x","outcome":"skip","new":[1,{"x":2}]}"#).unwrap();
    let Line::Case(c) = l else { panic!("{l:?}") };
    assert_eq!(
        (c.outcome, c.reason.as_str(), c.call),
        (Outcome::Skip, "", None)
    );
    assert_eq!(
        Line::parse(r#"{"type":"something_new","x":1}"#),
        Ok(Line::Other)
    );
    assert!(Line::parse(r#"{"type":"case","name":"a::x","outcome":"meh"}"#).is_err());
    assert!(Line::parse("mangled [ 3.1] by the kernel").is_err());
    let n: Vec<usize> = parse_lines("\n{\"type\":\"x\"}\n  \n{}\n")
        .map(|(n, ..)| n)
        .collect();
    assert_eq!(n, [2, 4]);
}

#[test]
fn outcomes_and_exit_codes() {
    for o in Outcome::ALL {
        assert_eq!(Outcome::from_name(o.name()), Some(o));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            format!("\"{}\"", o.name())
        );
    }
    let failing: Vec<_> = Outcome::ALL
        .into_iter()
        .filter(|o| o.is_failing())
        .collect();
    assert_eq!(failing, [Outcome::Fail, Outcome::Broken, Outcome::Timeout]);
    assert_eq!((exit::USAGE, exit::HEALTH, exit::NOT_TESTABLE), (2, 3, 77));
    assert_eq!(
        problem_kind("Kernel panic - not syncing: x"),
        Some(ProblemKind::Panic)
    );
    assert_eq!(problem_kind("io_uring: informative"), None);
}

/// A report cut short (at a line boundary or inside one), empty, out of order or whose
/// summary disagrees with its cases is refused, saying what is wrong.
#[test]
fn a_report_is_whole_or_refused() {
    let run = r#"{"type":"run","kernel":"6.18.1"}"#;
    let case =
        |name: &str, o: &str| format!(r#"{{"type":"case","name":"{name}","outcome":"{o}"}}"#);
    let summary = r#"{"type":"summary","pass":1,"skip":1}"#;
    let (a, b) = (case("a::x", "pass"), case("a::y", "skip"));
    let whole = [run, &a, &b, summary].join("\n") + "\n";
    let lines = read_report(&whole).unwrap();
    assert_eq!(lines.len(), 4);
    assert!(read_report(&format!(
        "{run}\n{{\"type\":\"new_kind\"}}\n{a}\n{b}\n{summary}\n"
    ))
    .is_ok());
    for (text, why) in [
        (String::new(), "empty"),
        ("\n \n".into(), "empty"),
        ([run, &a, &b].join("\n") + "\n", "no summary line after 2 case lines"),
        (run.to_string(), "no summary line after 0 case lines"),
        (whole[..whole.len() - 10].to_string(), "line 4: "),
        ([&a, run, &b, summary].join("\n"), "line 1: the first record is not the run header"),
        ([run, &a, summary].join("\n"), "the summary says pass 1, fail 0, skip 1, broken 0, timeout 0 but the case lines are pass 1, fail 0, skip 0"),
        ([run, &a, &a, summary].join("\n"), "line 3: case a::x a second time"),
        ([run, &a, &b, summary, &b].join("\n"), "line 5: a record after the summary"),
        ([run, run, &a, &b, summary].join("\n"), "line 2: a second run header"),
        ([r#"{"type":"run"}"#, &a, &b, summary].join("\n"), "line 1: the run header names no kernel"),
        ([run, &case("", "pass"), &b, summary].join("\n"), "line 2: a case without a name"),
    ] {
        let e = read_report(&text).expect_err(&text);
        assert!(e.contains(why), "{text:?}: {e}");
    }
}

#[test]
fn every_committed_baseline_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/baselines");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("jsonl") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let p = path.display();
        // The checks a baseline passes before strict mode or --compare use it.
        let lines = read_report(&text).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(
            !lines.contains(&Line::Other),
            "{p}: a record type the schema lacks"
        );
        // Written back, each line reads as the same record and is the same text: a
        // baseline written before the typed fields lacks them, and gains nothing.
        let texts = text.lines().filter(|l| !l.trim().is_empty());
        for (l, original) in lines.iter().zip(texts) {
            assert_eq!(Line::parse(&l.to_json()).as_ref(), Ok(l), "{p}");
            assert_eq!(l.to_json(), original, "{p}");
        }
    }
    assert!(seen >= 1, "no baselines in {}", dir.display());
}
