//! Validation of events against `schemas/events.schema.json`, embedded at compile time.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

/// The schema every host validates with.
pub const EVENTS_SCHEMA: &str = include_str!("../../schemas/events.schema.json");

/// One failed rule: where in the event (a JSON pointer such as `/payload/title`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationIssue {
    pub field: String,
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() { "(event)" } else { &self.field };
        write!(f, "{field}: {}", self.message)
    }
}

fn validator() -> &'static jsonschema::Validator {
    // Compiling the schema costs milliseconds; do it once per process.
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(EVENTS_SCHEMA).expect("the embedded schema is valid JSON");
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the embedded schema compiles")
    })
}

/// Checks one event (as JSON) and returns every failed rule, or nothing.
pub fn validate_event(event: &Value) -> Vec<ValidationIssue> {
    validator()
        .iter_errors(event)
        .map(|error| ValidationIssue { field: error.instance_path().to_string(), message: error.to_string() })
        .collect()
}

pub fn is_valid_event(event: &Value) -> bool {
    validator().is_valid(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "event_id": "01JKH5Q8ZX6A7B8C9D0E1F2G3H",
            "event_type": "WPCreated",
            "aggregate_id": "WP01",
            "aggregate_type": "WorkPackage",
            "payload": {"wp_id": "WP01", "title": "Event Factory", "dependencies": [], "feature_slug": "028-x"},
            "node_id": "d036a097a835",
            "lamport_clock": 1,
            "causation_id": null,
            "timestamp": "2026-02-04T10:46:03.000Z",
            "team_slug": "local"
        })
    }

    #[test]
    fn a_good_event_passes() {
        assert_eq!(validate_event(&event()), vec![]);
    }

    #[test]
    fn failures_name_the_field() {
        let mut bad = event();
        bad["payload"]["title"] = json!("");
        bad["lamport_clock"] = json!(-1);
        bad["timestamp"] = json!("yesterday");
        let fields: Vec<String> = validate_event(&bad).into_iter().map(|i| i.field).collect();
        for field in ["/payload/title", "/lamport_clock", "/timestamp"] {
            assert!(fields.iter().any(|f| f == field), "{field} missing from {fields:?}");
        }
    }

    #[test]
    fn payload_rules_follow_the_event_type() {
        let mut bad = event();
        bad["event_type"] = json!("WPAssigned");
        let issues = validate_event(&bad);
        assert!(issues.iter().any(|i| i.field == "/payload" && i.message.contains("agent_id")), "{issues:?}");
    }
}
