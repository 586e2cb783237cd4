//! `schemas/events.schema.json`, rule for rule: the envelope, then one payload per event type.
//!
//! The schema stays the contract; `tests::the_tables_say_what_the_schema_says` compares every required
//! list, property, type, enum, pattern, length, minimum and format here with the schema's text, so the two
//! cannot drift apart.

use super::patterns::{FEATURE_NUMBER, FEATURE_SLUG, NODE_ID, ULID, UUID_V4, WP_ID};
use super::rules::{Field, Format, ObjectShape};
use crate::events::EventType;

/// `event_type`'s enum, in the schema's order.
pub(super) const EVENT_TYPES: &[&str] = &[
    "WPStatusChanged",
    "WPCreated",
    "WPAssigned",
    "FeatureCreated",
    "FeatureCompleted",
    "HistoryAdded",
    "ErrorLogged",
    "DependencyResolved",
];

const LANES: &[&str] = &["planned", "doing", "for_review", "done"];

/// `#/definitions/Event`.
pub(super) const ENVELOPE: ObjectShape = ObjectShape::new(&[
    Field::string("event_id").required().pattern(ULID),
    Field::string("event_type").required().one_of(EVENT_TYPES),
    Field::string("aggregate_id").required().min_length(1),
    Field::string("aggregate_type").required().one_of(&["WorkPackage", "Feature"]),
    Field::object("payload").required(),
    Field::string("node_id").required().min_length(1).pattern(NODE_ID),
    Field::integer("lamport_clock").required().minimum(0),
    Field::string_or_null("causation_id").pattern(ULID),
    Field::string("timestamp").required().format(Format::DateTime),
    Field::string("team_slug").required().min_length(1),
    Field::string("project_uuid").pattern(UUID_V4),
    Field::string("project_slug").min_length(1),
]);

/// Where the envelope keeps the two fields that pick the payload's rules.
pub(super) const EVENT_TYPE: usize = ENVELOPE.position("event_type");
pub(super) const PAYLOAD: usize = ENVELOPE.position("payload");

const WP_STATUS_CHANGED: ObjectShape = ObjectShape::new(&[
    Field::string("wp_id").required().pattern(WP_ID),
    Field::string("previous_status").required().one_of(LANES),
    Field::string("new_status").required().one_of(LANES),
    Field::string("changed_by"),
    Field::string_or_null("feature_slug"),
]);

const WP_CREATED: ObjectShape = ObjectShape::new(&[
    Field::string("wp_id").required().pattern(WP_ID),
    Field::string("title").required().min_length(1),
    Field::array_of("dependencies", &Field::string("").pattern(WP_ID)),
    Field::string("feature_slug").required().min_length(1),
]);

const WP_ASSIGNED: ObjectShape = ObjectShape::new(&[
    Field::string("wp_id").required().pattern(WP_ID),
    Field::string("agent_id").required().min_length(1),
    Field::string("phase").required().one_of(&["implementation", "review"]),
    Field::integer("retry_count").minimum(0),
    Field::string_or_null("feature_slug"),
]);

const FEATURE_CREATED: ObjectShape = ObjectShape::new(&[
    Field::string("feature_slug").required().pattern(FEATURE_SLUG),
    Field::string("feature_number").required().pattern(FEATURE_NUMBER),
    Field::string("target_branch").required().min_length(1),
    Field::integer("wp_count").required().minimum(0),
    Field::string("created_at").format(Format::DateTime),
]);

const FEATURE_COMPLETED: ObjectShape = ObjectShape::new(&[
    Field::string("feature_slug").required(),
    Field::string("completed_at").format(Format::DateTime),
    Field::integer("total_wps").required().minimum(0),
    Field::string_or_null("total_duration"),
]);

const HISTORY_ADDED: ObjectShape = ObjectShape::new(&[
    Field::string("wp_id").required().pattern(WP_ID),
    Field::string("entry_type").required().one_of(&["note", "review", "error", "comment"]),
    Field::string("entry_content").required().min_length(1),
    Field::string("author"),
]);

const ERROR_LOGGED: ObjectShape = ObjectShape::new(&[
    Field::string_or_null("wp_id"),
    Field::string("error_type").required().one_of(&["validation", "runtime", "network", "auth", "unknown"]),
    Field::string("error_message").required().min_length(1),
    Field::string_or_null("stack_trace"),
    Field::string_or_null("agent_id"),
]);

const DEPENDENCY_RESOLVED: ObjectShape = ObjectShape::new(&[
    Field::string("wp_id").required().pattern(WP_ID),
    Field::string("dependency_wp_id").required().pattern(WP_ID),
    Field::string("resolution_type").required().one_of(&["completed", "skipped", "merged"]),
    Field::string_or_null("feature_slug"),
]);

/// The payload an event type carries (the schema's `if event_type is X then payload is XPayload`).
pub(super) fn payload_shape(event_type: EventType) -> &'static ObjectShape {
    match event_type {
        EventType::WPStatusChanged => &WP_STATUS_CHANGED,
        EventType::WPCreated => &WP_CREATED,
        EventType::WPAssigned => &WP_ASSIGNED,
        EventType::FeatureCreated => &FEATURE_CREATED,
        EventType::FeatureCompleted => &FEATURE_COMPLETED,
        EventType::HistoryAdded => &HISTORY_ADDED,
        EventType::ErrorLogged => &ERROR_LOGGED,
        EventType::DependencyResolved => &DEPENDENCY_RESOLVED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::EVENTS_SCHEMA;
    use crate::validation::rules::Kind;
    use serde_json::{Map, Value, json};

    fn schema() -> Value {
        serde_json::from_str(EVENTS_SCHEMA).expect("the schema is JSON")
    }

    /// The keywords a property may carry besides its rules: they validate nothing.
    const ANNOTATIONS: [&str; 2] = ["description", "default"];

    fn assert_field_matches(field: &Field, schema: &Map<String, Value>, at: &str) {
        let kind = match field.kind {
            Kind::String => json!("string"),
            Kind::StringOrNull => json!(["string", "null"]),
            Kind::Integer => json!("integer"),
            Kind::Object => json!("object"),
            Kind::Array => json!("array"),
        };
        let mut expected = Map::new();
        expected.insert("type".into(), kind);
        if let Some(values) = field.one_of {
            expected.insert("enum".into(), json!(values));
        }
        if let Some(limit) = field.minimum {
            expected.insert("minimum".into(), json!(limit));
        }
        if let Some(limit) = field.min_length {
            expected.insert("minLength".into(), json!(limit));
        }
        if let Some(pattern) = field.pattern {
            expected.insert("pattern".into(), json!(pattern.source));
        }
        if let Some(format) = field.format {
            expected.insert("format".into(), json!(format.name()));
        }
        let mut actual = schema.clone();
        actual.retain(|keyword, _| !ANNOTATIONS.contains(&keyword.as_str()));
        if let Some(item) = field.items {
            let items = actual.remove("items").and_then(|items| items.as_object().cloned());
            let items = items.unwrap_or_else(|| panic!("{at}: the schema has no items object"));
            assert_field_matches(item, &items, &format!("{at}/items"));
        }
        assert_eq!(Value::Object(actual), Value::Object(expected), "{at}");
    }

    fn assert_shape_matches(shape: &ObjectShape, definition: &Value, at: &str) {
        assert_eq!(definition["type"], "object", "{at}");
        // The checker reports missing fields in the order of `fields`: the schema's lists must agree.
        let required: Vec<&str> = shape.fields.iter().filter(|field| field.required).map(|field| field.name).collect();
        assert_eq!(definition["required"], json!(required), "{at}/required, in the order of the properties");
        let properties = definition["properties"].as_object().unwrap_or_else(|| panic!("{at}: no properties"));
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let fields: Vec<&str> = shape.fields.iter().map(|field| field.name).collect();
        assert_eq!(names, fields, "{at}/properties, in order");
        for field in shape.fields {
            let property = properties[field.name].as_object().expect("a property is a schema object");
            assert_field_matches(field, property, &format!("{at}/properties/{}", field.name));
        }
        let keywords: Vec<&str> = definition.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(keywords, ["type", "required", "properties"], "{at}: a keyword the tables do not know");
    }

    #[test]
    fn the_tables_say_what_the_schema_says() {
        let schema = schema();
        assert_shape_matches(&ENVELOPE, &schema["definitions"]["Event"], "Event");
        let all_of = schema["allOf"].as_array().expect("allOf");
        assert_eq!(all_of[0], json!({"$ref": "#/definitions/Event"}));
        assert_eq!(all_of.len(), 1 + EVENT_TYPES.len(), "one if/then per event type");
        for (branch, name) in all_of[1..].iter().zip(EVENT_TYPES) {
            let expected_if = json!({"properties": {"event_type": {"const": name}}, "required": ["event_type"]});
            assert_eq!(branch["if"], expected_if, "{name}");
            let reference = branch["then"]["properties"]["payload"]["$ref"].as_str().expect("then payload $ref");
            let definition = reference.strip_prefix("#/definitions/").expect("a local definition");
            let event_type = EventType::parse(name).expect("an event type of the core");
            assert_shape_matches(payload_shape(event_type), &schema["definitions"][definition], definition);
            assert_eq!(branch.as_object().map(Map::len), Some(2), "{name}: only if and then");
        }
        assert_eq!(schema["definitions"]["Event"]["properties"]["event_type"]["enum"], json!(EVENT_TYPES));
    }

    #[test]
    fn the_event_types_are_the_cores() {
        let core: Vec<&str> = EventType::ALL.iter().map(|event_type| event_type.as_str()).collect();
        assert_eq!(core, EVENT_TYPES);
    }
}
