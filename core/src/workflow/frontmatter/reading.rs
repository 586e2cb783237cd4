//! From serde_yaml's view of a frontmatter to typed fields, and to errors that name the file,
//! the line in the file and the field.

use serde_yaml::{Mapping, Value};

use super::FrontmatterError;
use super::yaml_edit;
use crate::ids::WpId;
use crate::workflow::Lane;

/// The YAML text starts on the file's second line, after the opening `---`.
pub(super) const YAML_FIRST_LINE: usize = 2;

pub(super) fn broken_yaml(file: &str, yaml_text: &str, error: &serde_yaml::Error) -> FrontmatterError {
    // serde_yaml counts lines from the start of the YAML text; shift them to the file's lines.
    // Errors without a location (rare: limits, not syntax) point at the frontmatter's start.
    let (mut line, mut column) = error.location().map_or((1, 1), |location| (location.line(), location.column()));
    let full = error.to_string();
    // Its message repeats the YAML-relative position (" at line 3 column 1, while parsing ...");
    // keep only the description, since the error's own position is the file's.
    let message = full.split(" at line ").next().unwrap_or(&full).to_string();
    // A duplicate key is located at the start of its mapping; point at the repeated key instead.
    let duplicate_key = message.strip_prefix("duplicate entry with key \"").and_then(|rest| rest.strip_suffix('"'));
    if let Some(key) = duplicate_key {
        let repeated = yaml_edit::key_entries(yaml_text).into_iter().filter(|entry| entry.key == key).nth(1);
        if let Some(entry) = repeated {
            (line, column) = (entry.line_index + 1, 1);
        }
    }
    FrontmatterError::BrokenYaml { file: file.to_string(), line: line + YAML_FIRST_LINE - 1, column, message }
}

/// `WP03` from a path like `kitty-specs/x/tasks/WP03-title.md`.
fn id_from_file_name(path: &str) -> Option<WpId> {
    let name = path.rsplit(['/', '\\']).next()?;
    name.get(..4)?
        .parse()
        .ok()
        .filter(|_| name.ends_with(".md") && !name[4..].starts_with(|c: char| c.is_ascii_digit()))
}

pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Tagged(tagged) => scalar_text(&tagged.value),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string {text:?}"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(tagged) => format!("a value tagged {}", tagged.tag),
    }
}

/// Reads the typed fields, turning problems into errors that name the file, line and field.
pub(super) struct FieldReader<'a> {
    pub file: &'a str,
    pub yaml_text: &'a str,
    pub document: &'a Mapping,
}

impl FieldReader<'_> {
    fn invalid(&self, field: &str, problem: String) -> FrontmatterError {
        let line_index = yaml_edit::key_entries(self.yaml_text)
            .into_iter()
            .find(|entry| entry.key == field)
            .map_or(0, |entry| entry.line_index);
        FrontmatterError::InvalidField {
            file: self.file.to_string(),
            line: line_index + YAML_FIRST_LINE,
            field: field.to_string(),
            problem,
        }
    }

    pub(super) fn work_package_id(&self) -> Result<WpId, FrontmatterError> {
        const FIELD: &str = "work_package_id";
        match self.document.get(FIELD) {
            // Upstream's newer WP files may leave the id to the file name (`tasks/WP03-title.md`), as
            // its finalize-tasks does.
            None | Some(Value::Null) => id_from_file_name(self.file).ok_or_else(|| FrontmatterError::MissingField {
                file: self.file.to_string(),
                field: FIELD.to_string(),
            }),
            Some(Value::String(id)) => id.parse().map_err(|error| self.invalid(FIELD, format!("{error}"))),
            Some(other) => {
                Err(self.invalid(FIELD, format!("expected a WP id like \"WP01\", found {}", describe(other))))
            }
        }
    }

    pub(super) fn lane(&self) -> Result<Lane, FrontmatterError> {
        match self.document.get("lane") {
            None | Some(Value::Null) => Ok(Lane::Planned),
            Some(Value::String(lane)) => lane.parse().map_err(|error| self.invalid("lane", format!("{error}"))),
            Some(other) => Err(self.invalid("lane", format!("expected a lane name, found {}", describe(other)))),
        }
    }

    pub(super) fn dependencies(&self) -> Result<Vec<WpId>, FrontmatterError> {
        self.string_list("dependencies")?
            .into_iter()
            .map(|id| id.parse().map_err(|error| self.invalid("dependencies", format!("{error}"))))
            .collect()
    }

    /// A list of scalars as text; missing or null is empty.
    pub(super) fn string_list(&self, field: &str) -> Result<Vec<String>, FrontmatterError> {
        let items = match self.document.get(field) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Sequence(items)) => items,
            Some(other) => {
                return Err(self.invalid(field, format!("expected a list, found {}", describe(other))));
            }
        };
        items
            .iter()
            .map(|item| {
                scalar_text(item).ok_or_else(|| {
                    self.invalid(field, format!("expected a list of ids, found an item that is {}", describe(item)))
                })
            })
            .collect()
    }
}
