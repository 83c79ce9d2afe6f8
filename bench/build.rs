//! Builds the liburing side of the benchmark (csrc/lu_bench.c) when liburing's header and
//! library are installed (`apt-get install liburing-dev`); otherwise the benchmark runs
//! without it and says so.
fn main() {
    println!("cargo:rerun-if-changed=csrc/lu_bench.c");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=URING_BENCH_NO_LIBURING");
    println!("cargo:rustc-check-cfg=cfg(has_liburing)");
    if std::env::var_os("URING_BENCH_NO_LIBURING").is_some() {
        println!("cargo:warning=URING_BENCH_NO_LIBURING set: liburing figures skipped");
        return;
    }
    // liburing2 alone ships no liburing.so link name: need the -dev package's header and lib.
    let lib_dirs = [
        "/usr/lib",
        "/usr/local/lib",
        "/usr/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ];
    // Run again when liburing-dev is installed (or removed) after a first build: cargo
    // watches the header and each library path, present or not.
    println!("cargo:rerun-if-changed=/usr/include/liburing.h");
    for d in lib_dirs {
        println!("cargo:rerun-if-changed={d}/liburing.so");
        println!("cargo:rerun-if-changed={d}/liburing.a");
    }
    let has_lib = lib_dirs.iter().any(|d| {
        std::path::Path::new(d).join("liburing.so").exists()
            || std::path::Path::new(d).join("liburing.a").exists()
    });
    if !has_lib {
        println!("cargo:warning=liburing.so not found: liburing figures skipped (apt-get install liburing-dev)");
        return;
    }
    let mut b = cc::Build::new();
    b.file("csrc/lu_bench.c")
        .opt_level(2)
        .warnings(false)
        .cargo_warnings(false);
    match b.try_compile("lu_bench") {
        Ok(()) => {
            println!("cargo:rustc-link-lib=uring");
            println!("cargo:rustc-cfg=has_liburing");
        }
        Err(e) => println!(
            "cargo:warning=liburing not built ({e}); install liburing-dev for the liburing figures"
        ),
    }
}
