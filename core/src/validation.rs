//! Validation of events against `schemas/events.schema.json`.
//!
//! The schema is the contract; [`validate_event`] checks it with rules written out by hand in
//! [`contract`] (one table per definition) rather than with a general JSON Schema engine: nothing to
//! compile at start-up, no regex engine in the WASM module, and each rule reads as the schema says it.
//! The failure texts are jsonschema 0.61's, word for word and in its order, and `jsonschema` stays the
//! oracle: `core/tests/validation_differential.rs` runs both on over 100,000 generated and mutated events
//! and asks for the same verdicts and the same issues.

mod check;
mod contract;
mod date_time;
mod patterns;
mod rules;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The schema every host validates against, as published (for tools that want the file itself).
pub const EVENTS_SCHEMA: &str = include_str!("../../schemas/events.schema.json");

/// One failed rule: where in the event (a JSON pointer such as `/payload/title`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// Checks one event (as JSON) and returns every failed rule, or nothing.
pub fn validate_event(event: &Value) -> Vec<ValidationIssue> {
    let mut findings = check::Findings::all();
    check::check_event(event, &mut findings);
    findings.into_issues()
}

/// Whether the event passes every rule; stops at the first failure and writes no message.
pub fn is_valid_event(event: &Value) -> bool {
    let mut findings = check::Findings::verdict_only();
    check::check_event(event, &mut findings);
    !findings.failed()
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

    fn issues(pairs: &[(&str, &str)]) -> Vec<ValidationIssue> {
        pairs
            .iter()
            .map(|(field, message)| ValidationIssue { field: field.to_string(), message: message.to_string() })
            .collect()
    }

    #[test]
    fn texts_and_order_are_jsonschemas() {
        let mut bad = event();
        bad["event_type"] = json!("WPAssigned");
        bad["payload"] = json!({"retry_count": -1, "phase": 1, "agent_id": "", "wp_id": "WP001"});
        assert_eq!(
            validate_event(&bad),
            issues(&[
                ("/payload/retry_count", "-1 is less than the minimum of 0"),
                ("/payload/phase", r#"1 is not of type "string""#),
                ("/payload/phase", r#"1 is not one of "implementation" or "review""#),
                ("/payload/agent_id", r#""" is shorter than 1 character"#),
                ("/payload/wp_id", r#""WP001" does not match "^WP\d{2}$""#),
            ])
        );
    }

    #[test]
    fn missing_fields_come_first_and_a_payload_fails_for_the_envelope_and_its_type() {
        let mut bad = event();
        let envelope = bad.as_object_mut().expect("an object");
        envelope.shift_remove("event_id");
        envelope.shift_remove("timestamp");
        envelope.insert("causation_id".into(), json!(5));
        envelope.insert("payload".into(), json!(3));
        assert_eq!(
            validate_event(&bad),
            issues(&[
                ("", r#""event_id" is a required property"#),
                ("", r#""timestamp" is a required property"#),
                ("/payload", r#"3 is not of type "object""#),
                ("/causation_id", r#"5 is not of types "null", "string""#),
                ("/payload", r#"3 is not of type "object""#),
            ])
        );
        assert!(!is_valid_event(&bad));
    }
}
