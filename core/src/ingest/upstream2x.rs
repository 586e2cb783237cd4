//! Validation of events against `schemas/events-2x.schema.json`: the dialect upstream's 2.x clients send
//! (contract §7), which a hub accepts beside the 028 schema.
//!
//! The 2.x file holds what differs (the envelope with ULID-or-UUID ids and nullable project and git fields,
//! WPStatusChanged with `from_lane`/`to_lane` over eight lanes, the MissionDossier types) and names the 028
//! payload definitions it shares; those are filled in from `events.schema.json` when the schema is compiled,
//! so a change to a shared payload reaches both dialects.
//!
//! The validator (`validate_event_2x`, `is_valid_event_2x`) is jsonschema's, behind the `upstream2x` feature;
//! the lanes, the types and `looks_2x` are plain data and always here.

use crate::validation::EVENTS_SCHEMA;
#[cfg(feature = "upstream2x")]
use crate::validation::ValidationIssue;
use serde_json::Value;
#[cfg(feature = "upstream2x")]
use std::sync::OnceLock;

/// The 2.x dialect's schema, as written (without the shared 028 definitions).
pub const EVENTS_2X_SCHEMA: &str = include_str!("../../../schemas/events-2x.schema.json");

/// The eight lanes of upstream's 2.x clients; our four (`doing` aside) are a subset.
pub const LANES_2X: [&str; 8] =
    ["planned", "claimed", "in_progress", "for_review", "approved", "done", "blocked", "canceled"];

/// The four event types of aggregate `MissionDossier`.
pub const MISSION_DOSSIER_EVENT_TYPES: [&str; 4] = [
    "MissionDossierArtifactIndexed",
    "MissionDossierArtifactMissing",
    "MissionDossierSnapshotComputed",
    "MissionDossierParityDriftDetected",
];

/// The 2.x schema with every definition it names but does not hold copied from the 028 schema.
pub fn composed_schema() -> Value {
    let mut schema: Value = serde_json::from_str(EVENTS_2X_SCHEMA).expect("the embedded 2.x schema is valid JSON");
    let base: Value = serde_json::from_str(EVENTS_SCHEMA).expect("the embedded schema is valid JSON");
    if let (Some(own), Some(shared)) = (schema["definitions"].as_object_mut(), base["definitions"].as_object()) {
        for (name, definition) in shared {
            if !own.contains_key(name) {
                own.insert(name.clone(), definition.clone());
            }
        }
    }
    schema
}

#[cfg(feature = "upstream2x")]
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&composed_schema())
            .expect("the embedded 2.x schema compiles")
    })
}

/// Checks one event against the 2.x dialect and returns every failed rule, or nothing.
#[cfg(feature = "upstream2x")]
pub fn validate_event_2x(event: &Value) -> Vec<ValidationIssue> {
    validator()
        .iter_errors(event)
        .map(|error| ValidationIssue { field: error.instance_path().to_string(), message: error.to_string() })
        .collect()
}

#[cfg(feature = "upstream2x")]
pub fn is_valid_event_2x(event: &Value) -> bool {
    validator().is_valid(event)
}

/// `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`: a UUID of any version.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether an event that fails both schemas was meant as 2.x, so its 2.x issue is the one to report:
/// a `from_lane`/`to_lane` payload, a MissionDossier type, a UUID id, or upstream's git fields.
pub fn looks_2x(event: &Value) -> bool {
    let payload = &event["payload"];
    let uuid = |key: &str| event[key].as_str().is_some_and(is_uuid);
    payload.get("from_lane").is_some()
        || payload.get("to_lane").is_some()
        || event["aggregate_type"] == "MissionDossier"
        || event["event_type"].as_str().is_some_and(|t| t.starts_with("MissionDossier"))
        || uuid("event_id")
        || uuid("causation_id")
        || ["git_branch", "head_commit_sha", "repo_slug"].iter().any(|key| event.get(key).is_some())
}
