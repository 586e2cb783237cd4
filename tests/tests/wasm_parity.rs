//! Native vs WASM parity: the same inputs give byte-identical outputs from the native core and from
//! the built npm package (`host-wasm/pkg`, the core compiled to wasm32 behind its wasm-bindgen face).
//!
//! About 1,900 cases are generated from a fixed seed (time, entropy, domain values, clock values, the
//! three fixture features and generated tasks.md / WP files, event streams for the board fold, batch
//! plans, backoff, server answers, the workflow commands' plans on the six fixture features with lanes
//! and facts varied), the native outputs computed here as JSON text, and ONE Node process
//! (`tests/parity/run.cjs`) computes the WASM outputs. The first differing case is reported.
//! `wasmtime_parity.rs` runs the same cases through the plain-ABI module under wasmtime.
//!
//! The package must be built first (`bash scripts/build-wasm.sh`); without it this test fails, never skips.
//! `SPEC_KITTY_PARITY_SEED` picks another seed.

use spec_kitty_tests::harness;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

#[test]
fn native_and_wasm_give_identical_outputs() {
    let root = repo_root();
    let pkg = root.join("host-wasm").join("pkg");
    assert!(
        pkg.join("package.json").is_file() && pkg.join("spec_kitty_wasm_bg.wasm").is_file(),
        "the npm package is not built ({} is missing): run `bash scripts/build-wasm.sh` first",
        pkg.display()
    );
    let seed = harness::seed();
    let cases = harness::generate(seed);

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wasm-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let cases_path = dir.join("cases.json");
    let results_path = dir.join("results.json");
    let inputs: Vec<serde_json::Value> = cases.iter().map(|c| c.input()).collect();
    std::fs::write(&cases_path, serde_json::to_string(&inputs).expect("cases serialise")).expect("write cases.json");

    let output = Command::new("node")
        .arg(root.join("tests").join("parity").join("run.cjs"))
        .arg(&pkg)
        .arg(&cases_path)
        .arg(&results_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 18+ is needed for the parity test): {e}"));
    assert!(
        output.status.success(),
        "node tests/parity/run.cjs failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&results_path).expect("results.json")).expect("results parse");
    harness::assert_identical(&cases, &results, seed, "Node, npm package");
    let _ = std::fs::remove_dir_all(&dir);
}
