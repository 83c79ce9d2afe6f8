fn main() -> std::process::ExitCode {
    uring_conformance::main()
}
