//! meta.json: a feature's identity, in either of upstream's two formats:
//! - the 028 format: `feature_number` (`"028"`), `slug` (`"028-cli-event-emission-sync"`),
//!   `friendly_name`, `target_branch`, `created_at`, ...;
//! - the mission format of upstream's later releases: `mission_number` (an integer, or null until
//!   one is assigned), `mission_slug` (often without a number prefix, like
//!   `cascade-org-inert-01M07E9P`), `mission_id` (a ULID), `mission_type`, and no
//!   `feature_number`.
//!
//! Every field is optional: a feature folder without them still works, it just has no
//! FeatureCreated ([`FeatureMeta::feature_created`] says why). A field that is present but has the
//! wrong type or shape (`"feature_number": "28"`, `"mission_number": "7"`) is an error naming the
//! file and the field. Typed fields for what spec-kitty reads; every other key, and the order of
//! all keys, is kept so a rewrite changes only what was changed.

use serde_json::{Map, Value};

use crate::events::FeatureCreated;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureMeta {
    /// Like `"028"` (028 format); always three digits when present.
    pub feature_number: Option<String>,
    /// The mission format's number, `None` when absent or null.
    pub mission_number: Option<u64>,
    /// Like `"028-cli-event-emission-sync"`.
    pub slug: Option<String>,
    /// The mission format's slug, like `"cascade-org-inert-01M07E9P"`.
    pub mission_slug: Option<String>,
    pub friendly_name: Option<String>,
    /// `None` when meta.json has none; the caller decides the default (`main`).
    pub target_branch: Option<String>,
    pub created_at: Option<String>,
    /// The object as read (keys in file order), the base a rewrite starts from.
    document: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureMetaError {
    #[error("{file}:{line}:{column}: broken JSON: {message}")]
    BrokenJson { file: String, line: usize, column: usize, message: String },
    #[error("{file}: expected a JSON object, found {found}")]
    NotAnObject { file: String, found: &'static str },
    #[error("{file}: field `{field}`: expected {expected}, found {found}")]
    InvalidField { file: String, field: &'static str, expected: &'static str, found: String },
}

/// A meta.json field.
impl crate::error_kind::ErrorKind for FeatureMetaError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

/// The typed string fields, in the order a new meta.json lists them.
const STRING_FIELDS: [&str; 6] =
    ["feature_number", "slug", "mission_slug", "friendly_name", "target_branch", "created_at"];

impl FeatureMeta {
    /// A meta.json for a new feature (028 format), with no other keys.
    pub fn new(feature_number: &str, slug: &str, friendly_name: &str) -> FeatureMeta {
        FeatureMeta {
            feature_number: Some(feature_number.to_string()),
            slug: Some(slug.to_string()),
            friendly_name: Some(friendly_name.to_string()),
            ..FeatureMeta::default()
        }
    }

    /// Parses meta.json; `source_label` (usually its path) is what errors name as the file.
    pub fn parse(source_label: &str, text: &str) -> Result<FeatureMeta, FeatureMetaError> {
        let file = || source_label.to_string();
        let document = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(document)) => document,
            Ok(other) => {
                return Err(FeatureMetaError::NotAnObject { file: file(), found: json_kind(&other) });
            }
            Err(error) => {
                let full = error.to_string();
                // serde_json ends its message with the position, which the error already carries.
                let message = full.split(" at line ").next().unwrap_or(&full).to_string();
                return Err(FeatureMetaError::BrokenJson {
                    file: file(),
                    line: error.line(),
                    column: error.column(),
                    message,
                });
            }
        };
        let string = |field| optional_string(source_label, &document, field);
        let feature_number = string("feature_number")?;
        let malformed = feature_number.as_ref().filter(|n| !(n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit())));
        if let Some(number) = malformed {
            return Err(FeatureMetaError::InvalidField {
                file: file(),
                field: "feature_number",
                expected: "three digits as a string, like \"028\"",
                found: format!("{number:?}"),
            });
        }
        let mission_number = match document.get("mission_number") {
            None | Some(Value::Null) => None,
            Some(Value::Number(number)) if number.as_u64().is_some() => number.as_u64(),
            Some(other) => {
                return Err(FeatureMetaError::InvalidField {
                    file: file(),
                    field: "mission_number",
                    expected: "a whole number or null",
                    found: describe(other),
                });
            }
        };
        Ok(FeatureMeta {
            feature_number,
            mission_number,
            slug: string("slug")?,
            mission_slug: string("mission_slug")?,
            friendly_name: string("friendly_name")?,
            target_branch: string("target_branch")?,
            created_at: string("created_at")?,
            document,
        })
    }

    /// The feature's three-digit number: `feature_number`, else `mission_number` zero-padded
    /// (`7` gives `"007"`; a number over 999 gives its own digits, which FeatureCreated refuses).
    pub fn number(&self) -> Option<String> {
        self.feature_number.clone().or_else(|| self.mission_number.map(|n| format!("{n:03}")))
    }

    /// Whether this is the mission format (it has mission keys and no `feature_number`).
    pub fn is_mission_format(&self) -> bool {
        self.feature_number.is_none()
            && ["mission_number", "mission_slug", "mission_id", "mission_type"]
                .iter()
                .any(|k| self.document.contains_key(*k))
    }

    /// Whether meta.json had any key at all (a missing file reads as an empty meta).
    pub fn is_empty(&self) -> bool {
        self.document.is_empty()
    }

    /// The FeatureCreated payload for the feature folder `slug` with `wp_count` WPs, or why none
    /// can be valid: FeatureCreated needs a three-digit `feature_number` and a slug of the form
    /// `NNN-lowercase-words`. `target_branch` defaults to `main`.
    pub fn feature_created(&self, slug: &str, wp_count: u32) -> Result<FeatureCreated, String> {
        let Some(number) = self.number() else {
            return Err("meta.json has no feature_number nor mission_number".to_string());
        };
        if number.len() != 3 {
            return Err(format!(
                "its number {number} does not fit the three digits of FeatureCreated's feature_number"
            ));
        }
        if !is_numbered_slug(slug) {
            return Err(format!(
                "its slug `{slug}` is not of the form NNN-lowercase-words that FeatureCreated's feature_slug needs"
            ));
        }
        Ok(FeatureCreated {
            feature_slug: slug.to_string(),
            feature_number: number,
            target_branch: self
                .target_branch
                .clone()
                .filter(|branch| !branch.is_empty())
                .unwrap_or_else(|| "main".into()),
            wp_count,
            // Optional in the schema, and a `date-time` there: left out when it is not one.
            created_at: self.created_at.clone().filter(|time| is_rfc3339_date_time(time)),
        })
    }

    /// Any key as read, including those without a typed field (`vcs`, `mission_id`, ...).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.document.get(key)
    }

    /// Sets a key without a typed field; a new key goes last. Typed fields win over this.
    pub fn set_other(&mut self, key: &str, value: Value) {
        self.document.insert(key.to_string(), value);
    }

    /// Pretty JSON (two-space indent, trailing newline) with every key in its original place and
    /// new keys at the end.
    pub fn to_json_pretty(&self) -> String {
        let mut document = self.document.clone();
        let typed = [
            &self.feature_number,
            &self.slug,
            &self.mission_slug,
            &self.friendly_name,
            &self.target_branch,
            &self.created_at,
        ];
        let numbers = [("mission_number", self.mission_number.map(Value::from))];
        let strings = STRING_FIELDS.iter().zip(typed).map(|(key, value)| (*key, value.clone().map(Value::String)));
        for (key, value) in strings.chain(numbers) {
            match value {
                Some(value) => {
                    document.insert(key.to_string(), value);
                }
                // A JSON null already says "none"; keep it rather than drop the key.
                None if document.get(key).is_some_and(Value::is_null) => {}
                None => {
                    document.shift_remove(key);
                }
            }
        }
        // `{:#}` is serde_json's infallible pretty printer (two-space indent).
        let mut json = format!("{:#}", Value::Object(document));
        json.push('\n');
        json
    }
}

/// An RFC 3339 date-time as the schema's `date-time` format takes it (`T` between date and time).
fn is_rfc3339_date_time(text: &str) -> bool {
    crate::time::parse_rfc3339_ms(text).is_some() && matches!(text.as_bytes().get(10), Some(b'T' | b't'))
}

/// `^\d{3}-[a-z0-9-]+$`, the schema's pattern for a feature slug.
pub fn is_numbered_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    bytes.len() > 4
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b'-'
        && bytes[4..].iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn optional_string(
    file: &str,
    document: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, FeatureMetaError> {
    match document.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(FeatureMetaError::InvalidField {
            file: file.to_string(),
            field,
            expected: "a string",
            found: describe(other),
        }),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string {text:?}"),
        other => json_kind(other).to_string(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
