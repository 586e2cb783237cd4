//! The core's hand-written validator against the oracle, jsonschema 0.61 on `schemas/events.schema.json`.
//!
//! Valid events of every type come from the core's builders; then up to four mutations each
//! (`validation_differential/generate.rs`): wrong types, missing and extra keys, boundary strings (empty,
//! 25/26/27-character and lower-case ULIDs, the letters I/L/O/U, WP1/WP001/WP99, non-ASCII digits),
//! unicode, huge, negative and fractional numbers, null where it is and is not allowed, wrong
//! event_type/payload pairs, malformed and leap-second dates, reordered keys and crowds of unknown keys.
//! Both validators must give the same verdict and the same issues, field and message, in the same order.
//!
//! 100,000 cases by default (about six seconds of CPU in a debug build); more with
//! `PROPTEST_CASES=10000000 cargo test --release -p spec-kitty-core --test validation_differential`.
//! The events come from a plain seeded generator, not proptest strategies: in a debug build those cost
//! about a millisecond a case, this a few microseconds.

#[path = "validation_differential/generate.rs"]
mod generate;

use generate::{SeededRng, built_event, event_case};
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;
use spec_kitty_core::validation::{EVENTS_SCHEMA, ValidationIssue, is_valid_event, validate_event};
use std::sync::OnceLock;

const DEFAULT_CASES: u32 = 100_000;
/// The cases are the same on every run: a failure names its seed, and `event_case` remakes the event.
const SEED: u64 = 0x5eed_2026;

fn oracle() -> &'static jsonschema::Validator {
    static ORACLE: OnceLock<jsonschema::Validator> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let schema: Value = serde_json::from_str(EVENTS_SCHEMA).expect("the schema is JSON");
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema compiles")
    })
}

fn oracle_issues(event: &Value) -> Vec<ValidationIssue> {
    oracle()
        .iter_errors(event)
        .map(|error| ValidationIssue { field: error.instance_path().to_string(), message: error.to_string() })
        .collect()
}

/// The number of cases: `DEFAULT_CASES`, or more when PROPTEST_CASES asks for more (read through proptest's
/// own configuration, as the core's code reads no environment).
fn case_count() -> u32 {
    ProptestConfig::default().cases.max(DEFAULT_CASES)
}

#[test]
fn the_core_and_jsonschema_agree_on_every_event() {
    for case in 0..u64::from(case_count()) {
        let seed = SEED ^ case;
        let event = event_case(&mut SeededRng::new(seed));
        let expected = oracle_issues(&event);
        assert_eq!(validate_event(&event), expected, "seed {seed:#x}, event: {event}");
        assert_eq!(is_valid_event(&event), expected.is_empty(), "seed {seed:#x}, event: {event}");
    }
}

#[test]
fn built_events_are_valid_for_both() {
    let mut rng = SeededRng::new(2026);
    for _ in 0..2000 {
        let event = built_event(&mut rng);
        assert_eq!(oracle_issues(&event), vec![], "{event}");
        assert!(is_valid_event(&event), "{event}");
    }
}
