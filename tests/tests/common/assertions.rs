//! Checks on events: the reference schema, types, Lamport values and status changes.

use super::build::manifest_dir;
use serde_json::Value;
use std::sync::OnceLock;

/// The reference schema of the events, compiled once.
pub fn reference_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = manifest_dir().join("fixtures/reference-events.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the reference schema"))
            .expect("the reference schema is JSON");
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the reference schema compiles")
    })
}

/// Panics unless `event` validates against the reference schema.
pub fn assert_valid_event(event: &Value) {
    let errors: Vec<String> = reference_validator().iter_errors(event).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "event does not validate against the reference schema: {errors:?}\n{event:#}");
}

/// Filters events by type.
pub fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == event_type).collect()
}

/// The Lamport values of events, in the order given.
pub fn clocks(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["lamport_clock"].as_u64().expect("an integer lamport_clock")).collect()
}

#[track_caller]
pub fn assert_strictly_increasing(values: &[u64]) {
    for pair in values.windows(2) {
        assert!(
            pair[0] < pair[1],
            "Lamport values not strictly increasing: {} then {} in {values:?}",
            pair[0],
            pair[1]
        );
    }
}

#[track_caller]
pub fn assert_no_status_change(events: &[Value]) {
    assert!(of_type(events, "WPStatusChanged").is_empty(), "no WPStatusChanged: {events:#?}");
}

#[track_caller]
pub fn assert_one_status_change(events: &[Value], wp: &str, from: &str, to: &str) {
    let changes = of_type(events, "WPStatusChanged");
    assert_eq!(changes.len(), 1, "exactly one WPStatusChanged: {events:#?}");
    assert_eq!(changes[0]["payload"]["wp_id"], wp);
    assert_eq!(changes[0]["payload"]["previous_status"], from);
    assert_eq!(changes[0]["payload"]["new_status"], to);
}
