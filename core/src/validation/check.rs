//! Walks an event through the contract's tables and reports each failed rule as jsonschema 0.61 words it.
//!
//! Same texts, same JSON pointers and the same order as `jsonschema::Validator::iter_errors`, so the
//! oracle test can compare issue lists exactly. The order follows jsonschema's: within one value the rules
//! run as `type`, `enum`, `minimum`, `minLength`, `pattern`, `format`, `items`; within one object `required`
//! comes before `properties`; the envelope's rules come before the payload's (the schema's `allOf` puts
//! the `Event` definition before the `if`/`then` per event type).

use super::ValidationIssue;
use super::contract::{ENVELOPE, EVENT_TYPE, PAYLOAD, payload_shape};
use super::date_time::is_date_time;
use super::rules::{Field, Format, Kind, MAX_FIELDS, ObjectShape};
use crate::events::EventType;
use serde_json::{Number, Value};
use std::fmt::Write as _;

/// Where a value sits in the event, kept on the stack; the JSON pointer is written only for a failure.
#[derive(Clone, Copy)]
pub(super) enum Location<'a> {
    Root,
    Key(&'a Location<'a>, &'a str),
    Index(&'a Location<'a>, usize),
}

impl Location<'_> {
    fn pointer(&self) -> String {
        let mut pointer = String::new();
        self.write_pointer(&mut pointer);
        pointer
    }

    fn write_pointer(&self, out: &mut String) {
        match self {
            Location::Root => {}
            Location::Key(parent, key) => {
                parent.write_pointer(out);
                out.push('/');
                // RFC 6901: `~` and `/` inside a key are escaped.
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Location::Index(parent, index) => {
                parent.write_pointer(out);
                let _ = write!(out, "/{index}");
            }
        }
    }
}

/// What a walk produces: every issue, or only whether there is one (no message is written then).
pub(super) struct Findings {
    issues: Vec<ValidationIssue>,
    keep_messages: bool,
    failed: bool,
}

impl Findings {
    pub fn all() -> Findings {
        Findings { issues: Vec::new(), keep_messages: true, failed: false }
    }

    pub fn verdict_only() -> Findings {
        Findings { issues: Vec::new(), keep_messages: false, failed: false }
    }

    pub fn into_issues(self) -> Vec<ValidationIssue> {
        self.issues
    }

    pub fn failed(&self) -> bool {
        self.failed
    }

    /// A verdict-only walk can stop at the first failure.
    fn settled(&self) -> bool {
        self.failed && !self.keep_messages
    }

    fn report(&mut self, at: &Location<'_>, message: impl FnOnce() -> String) {
        self.failed = true;
        if self.keep_messages {
            self.issues.push(ValidationIssue { field: at.pointer(), message: message() });
        }
    }

    /// Where the next issue will go.
    fn mark(&self) -> usize {
        self.issues.len()
    }

    /// Reports an issue in front of those reported since `mark`; returns the mark for the next one.
    fn report_before(&mut self, mark: usize, at: &Location<'_>, message: impl FnOnce() -> String) -> usize {
        self.failed = true;
        if !self.keep_messages {
            return mark;
        }
        self.issues.insert(mark, ValidationIssue { field: at.pointer(), message: message() });
        mark + 1
    }
}

/// Checks one event: the envelope, then the payload its `event_type` names.
pub(super) fn check_event(event: &Value, findings: &mut Findings) {
    let root = Location::Root;
    let envelope = check_object(&ENVELOPE, event, &root, findings);
    let event_type = envelope.value(EVENT_TYPE).and_then(Value::as_str).and_then(EventType::parse);
    if let (Some(event_type), Some(payload)) = (event_type, envelope.value(PAYLOAD)) {
        check_object(payload_shape(event_type), payload, &Location::Key(&root, "payload"), findings);
    }
}

/// The values of an object's known fields, by the field's position in its shape.
struct FieldValues<'v>([Option<&'v Value>; MAX_FIELDS]);

impl<'v> FieldValues<'v> {
    fn value(&self, index: usize) -> Option<&'v Value> {
        self.0[index]
    }
}

/// Checks `value` against `shape`; returns the values of its known fields.
fn check_object<'v>(
    shape: &ObjectShape,
    value: &'v Value,
    at: &Location<'_>,
    findings: &mut Findings,
) -> FieldValues<'v> {
    let mut values = FieldValues([None; MAX_FIELDS]);
    let Some(object) = value.as_object() else {
        findings.report(at, || format!(r#"{value} is not of type "object""#));
        return values;
    };
    // jsonschema reports missing fields first, then the known fields in the object's own order, unless
    // the object has more than four members per known field: then it looks each one up, in the schema's
    // order. Missing fields are only known at the end of the pass, so they are put in front afterwards.
    let first_issue = findings.mark();
    let mut present = 0u64;
    let mut check = |index: usize, value: &'v Value, findings: &mut Findings| {
        values.0[index] = Some(value);
        present |= 1 << index;
        if !findings.settled() {
            let field = &shape.fields[index];
            check_field(field, value, &Location::Key(at, field.name), findings);
        }
    };
    if object.len() <= shape.fields.len() * 4 {
        // One pass over the members rather than a hash of each name: most of the work for a valid event.
        let mut next = 0;
        for (name, value) in object {
            if let Some(index) = shape.index_of(name, next) {
                check(index, value, findings);
                next = index + 1;
            }
        }
    } else {
        for (index, field) in shape.fields.iter().enumerate() {
            if let Some(value) = object.get(field.name) {
                check(index, value, findings);
            }
        }
    }
    let missing = shape.required & !present;
    if missing != 0 {
        let mut before = first_issue;
        for (index, field) in shape.fields.iter().enumerate() {
            if missing & 1 << index != 0 {
                before = findings
                    .report_before(before, at, || format!("{} is a required property", Value::from(field.name)));
            }
        }
    }
    values
}

/// Checks one value against every rule of its field, in jsonschema's order: `type`, `enum`, then the
/// rules for the value's own type (`minimum`; `minLength`, `pattern`, `format`; `items`).
fn check_field(field: &Field, value: &Value, at: &Location<'_>, findings: &mut Findings) {
    if !has_kind(value, field.kind) {
        findings.report(at, || match field.kind {
            Kind::StringOrNull => format!(r#"{value} is not of types "null", "string""#),
            Kind::String => format!(r#"{value} is not of type "string""#),
            Kind::Integer => format!(r#"{value} is not of type "integer""#),
            Kind::Object => format!(r#"{value} is not of type "object""#),
            Kind::Array => format!(r#"{value} is not of type "array""#),
        });
    }
    if let Some(allowed) = field.one_of
        && !value.as_str().is_some_and(|text| allowed.contains(&text))
    {
        findings.report(at, || format!("{value} is not one of {}", candidates(allowed)));
    }
    match value {
        Value::Number(number) => {
            if let Some(limit) = field.minimum
                && is_below(number, limit)
            {
                findings.report(at, || format!("{value} is less than the minimum of {limit}"));
            }
        }
        Value::String(text) => check_text(field, text, value, at, findings),
        Value::Array(items) => {
            if let Some(item) = field.items {
                for (index, element) in items.iter().enumerate() {
                    if findings.settled() {
                        return;
                    }
                    check_field(item, element, &Location::Index(at, index), findings);
                }
            }
        }
        _ => {}
    }
}

fn check_text(field: &Field, text: &str, value: &Value, at: &Location<'_>, findings: &mut Findings) {
    if let Some(limit) = field.min_length
        && (text.chars().take(limit as usize).count() as u64) < limit
    {
        let plural = if limit == 1 { "" } else { "s" };
        findings.report(at, || format!("{value} is shorter than {limit} character{plural}"));
    }
    if let Some(pattern) = field.pattern
        && !(pattern.matches)(text)
    {
        findings.report(at, || format!(r#"{value} does not match "{}""#, pattern.source));
    }
    if let Some(format) = field.format
        && !is_formatted(format, text)
    {
        findings.report(at, || format!(r#"{value} is not a "{}""#, format.name()));
    }
}

fn has_kind(value: &Value, kind: Kind) -> bool {
    match kind {
        Kind::String => value.is_string(),
        Kind::StringOrNull => value.is_string() || value.is_null(),
        Kind::Integer => value.as_number().is_some_and(is_integer),
        Kind::Object => value.is_object(),
        Kind::Array => value.is_array(),
    }
}

/// Any whole number, whether written `3`, `3.0` or `3e0`.
fn is_integer(number: &Number) -> bool {
    number.is_i64() || number.is_u64() || number.as_f64().is_some_and(|float| float.fract() == 0.0)
}

fn is_below(number: &Number, limit: u64) -> bool {
    if let Some(whole) = number.as_u64() {
        whole < limit
    } else if number.is_i64() {
        // Only negative numbers are an `i64` and not a `u64`.
        true
    } else {
        number.as_f64().is_some_and(|float| float < limit as f64)
    }
}

fn is_formatted(format: Format, text: &str) -> bool {
    match format {
        Format::DateTime => is_date_time(text),
    }
}

/// The allowed values as jsonschema lists them: all of up to three (`"a", "b" or "c"`), else the first
/// two and a count (`"a", "b" or 6 other candidates`).
fn candidates(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|value| Value::from(*value).to_string()).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [first, second] => format!("{first} or {second}"),
        [first, second, third] => format!("{first}, {second} or {third}"),
        [first, second, rest @ ..] => format!("{first}, {second} or {} other candidates", rest.len()),
    }
}
