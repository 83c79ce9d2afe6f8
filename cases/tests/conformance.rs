//! The conformance suite as a `cargo test` target (harness = false).
fn main() -> std::process::ExitCode {
    uring_conformance::main()
}
