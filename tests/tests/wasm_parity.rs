//! Native vs WASM parity: the same inputs give byte-identical outputs from the native core and from
//! the built npm package (`host-wasm/pkg`, the core compiled to wasm32 behind its wasm-bindgen face).
//!
//! About 1,700 cases are generated from a fixed seed (time, entropy, domain values, clock values, the
//! three fixture features and generated tasks.md / WP files, event streams for the board fold, batch
//! plans, backoff, server answers), the native outputs computed here as JSON text, and ONE Node process
//! (`tests/parity/run.cjs`) computes the WASM outputs. The first differing case is reported.
//!
//! The package must be built first (`bash scripts/build-wasm.sh`); without it this test fails, never skips.
//! `SPEC_KITTY_PARITY_SEED` picks another seed.

#[path = "../parity/events_cases.rs"]
mod events_cases;
#[path = "../parity/support.rs"]
mod support;
#[path = "../parity/sync_cases.rs"]
mod sync_cases;
#[path = "../parity/workflow_cases.rs"]
mod workflow_cases;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Case, Rng};

const DEFAULT_SEED: u64 = 0x5EC_C177;
const MIN_CASES: usize = 1000;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

fn generate(seed: u64) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::new();
    events_cases::cases(&mut rng, &mut cases);
    workflow_cases::cases(&mut rng, &mut cases);
    sync_cases::cases(&mut rng, &mut cases);
    cases
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(max).collect::<String>())
    }
}

/// The first index where two JSON texts differ, with some context on each side.
fn first_difference(expected: &str, actual: &str) -> String {
    let at = expected.bytes().zip(actual.bytes()).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
    let window = |s: &str| {
        let start = s.floor_char_boundary(at.saturating_sub(60));
        let end = s.ceil_char_boundary((at + 60).min(s.len()));
        s[start..end].to_string()
    };
    format!("first difference at byte {at}:\n  native: ...{}...\n  wasm:   ...{}...", window(expected), window(actual))
}

#[test]
fn native_and_wasm_give_identical_outputs() {
    let root = repo_root();
    let pkg = root.join("host-wasm").join("pkg");
    assert!(
        pkg.join("package.json").is_file() && pkg.join("node").join("spec_kitty_wasm_bg.wasm").is_file(),
        "the npm package is not built ({} is missing): run `bash scripts/build-wasm.sh` first",
        pkg.display()
    );
    let seed = std::env::var("SPEC_KITTY_PARITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let cases = generate(seed);
    assert!(cases.len() >= MIN_CASES, "only {} cases generated", cases.len());

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wasm-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let cases_path = dir.join("cases.json");
    let results_path = dir.join("results.json");
    let inputs: Vec<serde_json::Value> =
        cases.iter().map(|c| serde_json::json!({ "op": c.op, "args": c.args })).collect();
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
    assert_eq!(results.len(), cases.len(), "one result per case");

    for (index, (case, actual)) in cases.iter().zip(&results).enumerate() {
        assert!(
            &case.expected == actual,
            "case {index} of {} (op `{}`, seed {seed:#x}) differs between native and WASM\n  args:   {}\n  native: {}\n  wasm:   {}\n{}",
            cases.len(),
            case.op,
            shorten(&case.args.to_string(), 600),
            shorten(&case.expected, 600),
            shorten(actual, 600),
            first_difference(&case.expected, actual),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut per_op: std::collections::BTreeMap<&str, (usize, usize)> = std::collections::BTreeMap::new();
    for case in &cases {
        let (all, errors) = per_op.entry(case.op).or_default();
        *all += 1;
        *errors += usize::from(case.expected.starts_with(r#"{"error":"#));
    }
    let summary: Vec<String> =
        per_op.iter().map(|(op, (all, errors))| format!("{op} {all} ({errors} errors)")).collect();
    println!("{} cases identical on native and WASM, seed {seed:#x}: {}", cases.len(), summary.join(", "));
}
