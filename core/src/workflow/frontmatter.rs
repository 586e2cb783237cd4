//! A WP file (`tasks/WP01-some-title.md`): YAML frontmatter between a first `---` line and the next
//! `---` line, then a Markdown body ending with the `## Activity Log`.
//!
//! Reading goes through serde_yaml; writing never re-serialises. Each edit rewrites the lines of the
//! one key it changes (see `yaml_edit`) and the file is parsed again, so unknown keys, key order,
//! comments, the quoting of untouched keys and the body survive byte for byte, and an edit that
//! would leave an invalid file (an unknown lane, say) is refused with the file unchanged.

mod activity_log;
mod reading;
mod yaml_edit;

use std::ops::Range;

use serde_yaml::{Mapping, Value};

use reading::{FieldReader, broken_yaml, describe, scalar_text};

use super::Lane;
use super::markdown;
use crate::ids::WpId;

pub use activity_log::activity_line;

#[derive(Debug, Clone, PartialEq)]
pub struct WpFile {
    source_label: String,
    text: String,
    /// Byte range of the YAML text between the two `---` lines.
    yaml: Range<usize>,
    /// Byte offset where the body starts, just past the closing `---` line.
    body_start: usize,
    document: Mapping,
    work_package_id: WpId,
    lane: Lane,
    dependencies: Vec<WpId>,
    subtasks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontmatterError {
    #[error("{file}: no YAML frontmatter: the first line must be `---`")]
    Missing { file: String },
    #[error("{file}: the frontmatter opened on line 1 is never closed by a `---` line")]
    Unclosed { file: String },
    #[error("{file}:{line}:{column}: broken YAML frontmatter: {message}")]
    BrokenYaml { file: String, line: usize, column: usize, message: String },
    #[error("{file}: the frontmatter is too large ({bytes} bytes; at most {limit})")]
    TooLarge { file: String, bytes: usize, limit: usize },
    #[error("{file}:{line}: the frontmatter nests deeper than {limit} levels")]
    TooDeep { file: String, line: usize, limit: usize },
    #[error("{file}:2: the frontmatter must be a mapping of keys to values, found {found}")]
    NotAMapping { file: String, found: String },
    #[error("{file}: frontmatter field `{field}` is missing")]
    MissingField { file: String, field: String },
    #[error("{file}:{line}: frontmatter field `{field}`: {problem}")]
    InvalidField { file: String, line: usize, field: String, problem: String },
}

/// A WP file's frontmatter.
impl crate::error_kind::ErrorKind for FrontmatterError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

/// Limits checked before the YAML parser sees the text: serde_yaml refuses deep nesting only after
/// it has read all of it, which for 100,000 levels takes most of a minute, and a command reads
/// every WP file of its feature.
mod limits {
    use super::FrontmatterError;

    /// Far above any real WP frontmatter (a few KiB), far below what takes the parser long.
    pub const MAX_BYTES: usize = 1 << 20;
    /// serde_yaml's own recursion limit is 128; real frontmatter nests 3 or 4 levels.
    pub const MAX_DEPTH: usize = 64;

    /// Counts, per line, flow brackets still open plus block levels (indentation steps and the
    /// `- ` markers of compact nested lists): an upper bound of the YAML nesting, cheap to compute.
    pub fn check(file: &str, yaml: &str) -> Result<(), FrontmatterError> {
        if yaml.len() > MAX_BYTES {
            return Err(FrontmatterError::TooLarge { file: file.to_string(), bytes: yaml.len(), limit: MAX_BYTES });
        }
        let too_deep = |index: usize| FrontmatterError::TooDeep {
            file: file.to_string(),
            line: index + super::reading::YAML_FIRST_LINE,
            limit: MAX_DEPTH,
        };
        let mut flow_depth = 0usize;
        for (index, line) in yaml.lines().enumerate() {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            let rest = &line[indent..];
            let dashes = rest.split("- ").take_while(|part| part.trim().is_empty()).count();
            if indent / 2 + dashes > MAX_DEPTH {
                return Err(too_deep(index));
            }
            let mut quote: Option<char> = None;
            for c in rest.chars() {
                match (quote, c) {
                    (Some(open), c) if c == open => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '#') => break,
                    (None, '[' | '{') => {
                        flow_depth += 1;
                        if flow_depth > MAX_DEPTH {
                            return Err(too_deep(index));
                        }
                    }
                    (None, ']' | '}') => flow_depth = flow_depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn deep_or_huge_frontmatter_fails_fast_and_names_the_file() {
            let flow = format!("deep: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
            let err = check("tasks/WP01.md", &flow).unwrap_err();
            assert_eq!(err.to_string(), "tasks/WP01.md:2: the frontmatter nests deeper than 64 levels");
            let dashes = format!("work_package_id: WP01\nlist:\n{}x\n", "- ".repeat(65));
            assert!(matches!(check("f", &dashes), Err(FrontmatterError::TooDeep { line: 4, .. })));
            let huge = format!("title: \"{}\"\n", "a".repeat(MAX_BYTES));
            assert!(matches!(check("f", &huge), Err(FrontmatterError::TooLarge { .. })));
        }

        #[test]
        fn ordinary_frontmatter_passes() {
            let yaml = "work_package_id: WP01\ntitle: \"Kitty's [WIP] {x}\"\ndependencies: [WP02, WP03]\nhistory:\n  - at: x\n    note: '[[[['\n";
            assert_eq!(check("f", yaml), Ok(()));
            let nested = format!("a: {}{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
            assert_eq!(check("f", &nested), Ok(()));
        }
    }
}

impl WpFile {
    /// Parses a WP file; `source_label` (usually its path) is what errors name as the file.
    pub fn parse(source_label: &str, text: &str) -> Result<WpFile, FrontmatterError> {
        let file = || source_label.to_string();
        let mut lines = markdown::lines(text);
        let opening = lines.next().filter(|line| line.content.trim_start_matches('\u{feff}').trim_end() == "---");
        let Some(opening) = opening else {
            return Err(FrontmatterError::Missing { file: file() });
        };
        let Some(closing) = lines.find(|line| line.content.trim_end() == "---") else {
            return Err(FrontmatterError::Unclosed { file: file() });
        };
        let yaml = opening.end..closing.start;
        let yaml_text = &text[yaml.clone()];
        limits::check(source_label, yaml_text)?;

        let document = match serde_yaml::from_str::<Value>(yaml_text) {
            Ok(Value::Mapping(mapping)) => mapping,
            Ok(Value::Null) => Mapping::new(), // `---` directly followed by `---`
            Ok(other) => {
                return Err(FrontmatterError::NotAMapping { file: file(), found: describe(&other) });
            }
            Err(error) => return Err(broken_yaml(source_label, yaml_text, &error)),
        };
        let fields = FieldReader { file: source_label, yaml_text, document: &document };
        let work_package_id = fields.work_package_id()?;
        let lane = fields.lane()?;
        let dependencies = fields.dependencies()?;
        let subtasks = fields.string_list("subtasks")?;

        Ok(WpFile {
            source_label: file(),
            text: text.to_string(),
            yaml,
            body_start: closing.end,
            document,
            work_package_id,
            lane,
            dependencies,
            subtasks,
        })
    }

    pub fn source_label(&self) -> &str {
        &self.source_label
    }

    pub fn work_package_id(&self) -> &WpId {
        &self.work_package_id
    }

    /// The lane; a file without a `lane` key is planned.
    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// Empty when the key is missing or `[]`.
    pub fn dependencies(&self) -> &[WpId] {
        &self.dependencies
    }

    /// The subtask ids (`T001`) the file lists.
    pub fn subtasks(&self) -> &[String] {
        &self.subtasks
    }

    pub fn title(&self) -> Option<String> {
        self.scalar("title")
    }

    pub fn phase(&self) -> Option<String> {
        self.scalar("phase")
    }

    pub fn agent(&self) -> Option<String> {
        self.scalar("agent")
    }

    pub fn assignee(&self) -> Option<String> {
        self.scalar("assignee")
    }

    pub fn shell_pid(&self) -> Option<String> {
        self.scalar("shell_pid")
    }

    pub fn review_status(&self) -> Option<String> {
        self.scalar("review_status")
    }

    pub fn reviewed_by(&self) -> Option<String> {
        self.scalar("reviewed_by")
    }

    pub fn base_branch(&self) -> Option<String> {
        self.scalar("base_branch")
    }

    pub fn base_commit(&self) -> Option<String> {
        self.scalar("base_commit")
    }

    pub fn created_at(&self) -> Option<String> {
        self.scalar("created_at")
    }

    /// A scalar field as text (`shell_pid: 42` gives `"42"`). Missing, null and empty values are
    /// `None`: upstream writes `assignee: ''` for "nobody".
    pub fn scalar(&self, key: &str) -> Option<String> {
        scalar_text(self.document.get(key)?).filter(|text| !text.is_empty())
    }

    /// Any field as parsed YAML, for keys without a typed accessor (`history`, unknown keys).
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.document.get(key)
    }

    /// The top-level keys in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.document.keys().filter_map(Value::as_str)
    }

    /// The YAML text between the `---` lines.
    pub fn frontmatter(&self) -> &str {
        &self.text[self.yaml.clone()]
    }

    /// The Markdown after the closing `---` line.
    pub fn body(&self) -> &str {
        &self.text[self.body_start..]
    }

    /// The whole file, as it would be written back.
    pub fn to_text(&self) -> String {
        self.text.clone()
    }

    /// Sets a scalar field, keeping the quoting style of its current value (`lane: "doing"`); a
    /// missing key is inserted at its place in the contract's key order.
    pub fn set_scalar(&mut self, key: &str, value: &str) -> Result<(), FrontmatterError> {
        let eol = markdown::line_ending_of(&self.text);
        self.replace_frontmatter(&yaml_edit::with_scalar(self.frontmatter(), key, value, eol))
    }

    /// Sets a field to a block list of quoted items (`dependencies:\n  - "WP01"`), or `[]`.
    pub fn set_list<S: AsRef<str>>(&mut self, key: &str, items: &[S]) -> Result<(), FrontmatterError> {
        let eol = markdown::line_ending_of(&self.text);
        self.replace_frontmatter(&yaml_edit::with_list(self.frontmatter(), key, items, eol))
    }

    pub fn set_lane(&mut self, lane: Lane) -> Result<(), FrontmatterError> {
        self.set_scalar("lane", lane.as_str())
    }

    pub fn set_dependencies(&mut self, dependencies: &[WpId]) -> Result<(), FrontmatterError> {
        let ids: Vec<&str> = dependencies.iter().map(WpId::as_str).collect();
        self.set_list("dependencies", &ids)
    }

    /// Appends one line (see [`activity_line`]) at the end of the body's `## Activity Log`,
    /// creating the section at the end of the body if there is none.
    pub fn append_activity(&mut self, line: &str) {
        let body = activity_log::append_entry(self.body(), line);
        self.text.replace_range(self.body_start.., &body);
    }

    fn replace_frontmatter(&mut self, yaml: &str) -> Result<(), FrontmatterError> {
        let mut text = String::with_capacity(self.text.len() + yaml.len());
        text.push_str(&self.text[..self.yaml.start]);
        text.push_str(yaml);
        text.push_str(&self.text[self.yaml.end..]);
        *self = WpFile::parse(&self.source_label, &text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
