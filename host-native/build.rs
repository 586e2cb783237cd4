//! Links the `spec-kitty` binary as a position-dependent executable on Linux: a PIE makes the dynamic
//! loader apply ~16,000 relocations at every start (about 650 KiB of pages read and written before `main`),
//! and AI agents start this binary thousands of times a day. Only this crate's binaries are affected; the
//! library, tests and proc-macros keep the defaults. Measured with `just bench-commands` (README).
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") && !target.contains("musl") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
