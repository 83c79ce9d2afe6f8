//! `uring-compare BASELINE.jsonl NEW.jsonl [--xfail=PATH]`: regressions, fixes, new and
//! removed cases between two JSON-lines reports; exit status 1 on a regression.
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    uring_harness::baseline::compare_main(&args)
}
