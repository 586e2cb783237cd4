//! meta.json: a feature's identity. Typed fields for what spec-kitty reads; every other key, and
//! the order of all keys, is kept so a rewrite changes only what was changed.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMeta {
    /// Like `"028"`.
    pub feature_number: String,
    /// Like `"028-cli-event-emission-sync"`.
    pub slug: String,
    pub friendly_name: String,
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
    #[error("{file}: field `{field}` is missing")]
    MissingField { file: String, field: &'static str },
    #[error("{file}: field `{field}`: expected a string, found {found}")]
    InvalidField { file: String, field: &'static str, found: &'static str },
}

impl FeatureMeta {
    /// A meta.json for a new feature, with no other keys.
    pub fn new(feature_number: &str, slug: &str, friendly_name: &str) -> FeatureMeta {
        FeatureMeta {
            feature_number: feature_number.to_string(),
            slug: slug.to_string(),
            friendly_name: friendly_name.to_string(),
            target_branch: None,
            created_at: None,
            document: Map::new(),
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
        let required = |field: &'static str| -> Result<String, FeatureMetaError> {
            optional_string(source_label, &document, field)?
                .ok_or(FeatureMetaError::MissingField { file: file(), field })
        };
        Ok(FeatureMeta {
            feature_number: required("feature_number")?,
            slug: required("slug")?,
            friendly_name: required("friendly_name")?,
            target_branch: optional_string(source_label, &document, "target_branch")?,
            created_at: optional_string(source_label, &document, "created_at")?,
            document,
        })
    }

    /// Any key as read, including those without a typed field (`vcs`, `mission`, ...).
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
            ("feature_number", Some(&self.feature_number)),
            ("slug", Some(&self.slug)),
            ("friendly_name", Some(&self.friendly_name)),
            ("target_branch", self.target_branch.as_ref()),
            ("created_at", self.created_at.as_ref()),
        ];
        for (key, value) in typed {
            match value {
                Some(text) => {
                    document.insert(key.to_string(), Value::String(text.clone()));
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

fn optional_string(
    file: &str,
    document: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, FeatureMetaError> {
    match document.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(FeatureMetaError::InvalidField { file: file.to_string(), field, found: json_kind(other) }),
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
mod tests {
    use super::*;

    const META: &str = r#"{
  "feature_number": "028",
  "slug": "028-cli-event-emission-sync",
  "friendly_name": "CLI Event Emission + Sync",
  "mission": "software-dev",
  "created_at": "2026-02-03T12:00:00Z",
  "target_branch": "2.x",
  "vcs": "git"
}
"#;

    #[test]
    fn typed_fields_and_unknown_keys_survive_a_rewrite() {
        let mut meta = FeatureMeta::parse("meta.json", META).expect("valid meta");
        assert_eq!(meta.feature_number, "028");
        assert_eq!(meta.target_branch.as_deref(), Some("2.x"));
        assert_eq!(meta.get("vcs"), Some(&Value::String("git".into())));
        assert_eq!(meta.to_json_pretty(), META);

        meta.friendly_name = "Renamed – with dash".into();
        meta.target_branch = None;
        meta.set_other("vcs_locked_at", Value::String("2026-02-04".into()));
        let rewritten = meta.to_json_pretty();
        let keys: Vec<String> = match serde_json::from_str::<Value>(&rewritten) {
            Ok(Value::Object(document)) => document.keys().cloned().collect(),
            other => panic!("rewrite is not an object: {other:?}"),
        };
        assert_eq!(keys, ["feature_number", "slug", "friendly_name", "mission", "created_at", "vcs", "vcs_locked_at"]);
        assert!(rewritten.contains("\"friendly_name\": \"Renamed – with dash\""));
    }

    #[test]
    fn a_new_meta_lists_the_typed_fields_in_contract_order() {
        let mut meta = FeatureMeta::new("029", "029-x", "X");
        meta.target_branch = Some("main".into());
        assert_eq!(
            meta.to_json_pretty(),
            "{\n  \"feature_number\": \"029\",\n  \"slug\": \"029-x\",\n  \"friendly_name\": \"X\",\n  \"target_branch\": \"main\"\n}\n"
        );
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let err = FeatureMeta::parse("kitty-specs/028/meta.json", "{\"slug\": \"s\", \"friendly_name\": \"f\"}")
            .expect_err("no number");
        assert_eq!(err.to_string(), "kitty-specs/028/meta.json: field `feature_number` is missing");
        let err = FeatureMeta::parse("m.json", "{\"feature_number\": 28}").expect_err("a number");
        assert_eq!(err.to_string(), "m.json: field `feature_number`: expected a string, found a number");
        let err = FeatureMeta::parse("m.json", "{\n  \"slug\": \"s\",\n}").expect_err("trailing comma");
        assert!(matches!(err, FeatureMetaError::BrokenJson { line: 3, .. }), "{err:?}");
        assert!(!err.to_string().contains(" at line "), "{err}");
        assert_eq!(
            FeatureMeta::parse("m.json", "[]").expect_err("array").to_string(),
            "m.json: expected a JSON object, found an array"
        );
    }
}
