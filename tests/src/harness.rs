//! What both parity tests share: the generated cases, and the byte-for-byte comparison of a WASM
//! build's answers with the native ones, which reports the first differing case.

use super::support::{Case, Rng};
use super::{events_cases, orchestrate_cases, plans_cases, sync_cases, workflow_cases};
use std::collections::BTreeMap;

const DEFAULT_SEED: u64 = 0x5EC_C177;
pub const MIN_CASES: usize = 1000;

/// The seed: `SPEC_KITTY_PARITY_SEED` (decimal) picks another one.
pub fn seed() -> u64 {
    std::env::var("SPEC_KITTY_PARITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED)
}

/// Every case, with the native core's answer, from `seed`.
pub fn generate(seed: u64) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::new();
    events_cases::cases(&mut rng, &mut cases);
    workflow_cases::cases(&mut rng, &mut cases);
    plans_cases::cases(&mut rng, &mut cases);
    orchestrate_cases::cases(&mut rng, &mut cases);
    sync_cases::cases(&mut rng, &mut cases);
    assert!(cases.len() >= MIN_CASES, "only {} cases generated", cases.len());
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

/// Panics at the first case whose answer from `runner` (the WASM side, named in the report) differs
/// from the native one; otherwise prints the count per operation.
pub fn assert_identical(cases: &[Case], results: &[String], seed: u64, runner: &str) {
    assert_eq!(results.len(), cases.len(), "one result per case");
    for (index, (case, actual)) in cases.iter().zip(results).enumerate() {
        assert!(
            &case.expected == actual,
            "case {index} of {} (op `{}`, seed {seed:#x}) differs between native and WASM ({runner})\n  args:   {}\n  native: {}\n  wasm:   {}\n{}",
            cases.len(),
            case.op,
            shorten(&case.args.to_string(), 600),
            shorten(&case.expected, 600),
            shorten(actual, 600),
            first_difference(&case.expected, actual),
        );
    }
    let mut per_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in cases {
        let (all, errors) = per_op.entry(case.op).or_default();
        *all += 1;
        *errors += usize::from(case.expected.starts_with(r#"{"error":"#));
    }
    let summary: Vec<String> =
        per_op.iter().map(|(op, (all, errors))| format!("{op} {all} ({errors} errors)")).collect();
    println!("{} cases identical on native and WASM ({runner}), seed {seed:#x}: {}", cases.len(), summary.join(", "));
}
