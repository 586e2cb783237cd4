//! tasks.md: the feature's plan, as `## Work Package WP02: Title (Priority: P0)` sections holding
//! subtask checkboxes (`- [x] T008 [P] Description`) and dependency lines.
//!
//! A WP section runs from its heading to the next level-1 or level-2 heading, so the WP ids in a
//! trailing `## Dependency & Execution Summary` are not read as anyone's dependencies. Lines inside
//! fenced code blocks are never structure.

mod checkboxes;
mod dependency_line;

use std::collections::BTreeMap;

use serde::Serialize;

use super::markdown::{self, FenceTracker, Line};
use crate::ids::WpId;

pub use checkboxes::{SubtaskChange, set_subtask_done};

/// A parsed tasks.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TasksPlan {
    /// The text of the first `# ` heading.
    pub title: Option<String>,
    /// In file order.
    pub work_packages: Vec<PlannedWp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedWp {
    pub id: WpId,
    pub title: String,
    /// The `P0` of `(Priority: P0)`, when the heading has one.
    pub priority: Option<String>,
    pub subtasks: Vec<Subtask>,
    /// Without duplicates, in order of first appearance.
    pub dependencies: Vec<WpId>,
    /// The line of the section heading.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subtask {
    /// Like `T008`.
    pub id: String,
    pub done: bool,
    /// Marked `[P]`: can proceed in parallel with its siblings.
    pub parallel: bool,
    pub description: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TasksError {
    #[error(
        "{file}:{line}: malformed work package id `{found}` in heading: expected WP followed by two digits, like WP01"
    )]
    MalformedWpHeading { file: String, line: usize, found: String },
    #[error("{file}:{line}: {wp} is declared twice (first on line {first_line})")]
    DuplicateWp { file: String, line: usize, wp: WpId, first_line: usize },
    #[error("{file}:{line}: subtask {subtask} of {wp} is listed twice (first on line {first_line})")]
    DuplicateSubtask { file: String, line: usize, subtask: String, wp: WpId, first_line: usize },
    #[error("{file}:{line}: malformed dependency `{found}` of {wp}: expected WP followed by two digits, like WP01")]
    MalformedDependency { file: String, line: usize, wp: WpId, found: String },
    #[error("{file}: unknown subtask {subtask}: no work package lists it")]
    UnknownSubtask { file: String, subtask: String },
}

impl TasksPlan {
    pub fn work_package(&self, id: &WpId) -> Option<&PlannedWp> {
        self.work_packages.iter().find(|wp| &wp.id == id)
    }

    /// The work package whose section lists `subtask_id`.
    pub fn owner_of_subtask(&self, subtask_id: &str) -> Option<&WpId> {
        self.subtask(subtask_id).map(|(wp, _)| &wp.id)
    }

    pub fn subtask(&self, subtask_id: &str) -> Option<(&PlannedWp, &Subtask)> {
        self.work_packages
            .iter()
            .find_map(|wp| wp.subtasks.iter().find(|subtask| subtask.id == subtask_id).map(|subtask| (wp, subtask)))
    }
}

/// Parses tasks.md; `source_label` (usually its path) is what errors name as the file.
pub fn parse_tasks_md(source_label: &str, text: &str) -> Result<TasksPlan, TasksError> {
    let mut parser = TasksParser::new(source_label);
    for line in markdown::lines(text) {
        parser.read(line)?;
    }
    Ok(parser.finish())
}

/// A subtask checkbox as it sits in its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubtaskLine<'a> {
    /// Byte offset, within the line, of the character between the brackets.
    pub checkbox_offset: usize,
    pub done: bool,
    pub id: &'a str,
    pub parallel: bool,
    pub description: &'a str,
}

/// `- [ ] T008 [P] Description` (also `*` bullets and `[x]`/`[X]`); a checkbox without a `Tnnn`
/// id is an ordinary checklist item, not a subtask.
pub(crate) fn parse_subtask_line(line: &str) -> Option<SubtaskLine<'_>> {
    let item = line.trim_start();
    let after_bullet = item.strip_prefix("- ").or_else(|| item.strip_prefix("* "))?;
    let checkbox = after_bullet.trim_start();
    let checkbox_offset = line.len() - checkbox.len() + 1;
    let done = match checkbox.get(..3)? {
        "[ ]" => false,
        "[x]" | "[X]" => true,
        _ => return None,
    };
    let after_checkbox = &checkbox[3..];
    if !after_checkbox.starts_with([' ', '\t']) {
        return None;
    }
    let rest = after_checkbox.trim_start();
    let id_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let id = &rest[..id_end];
    let is_subtask_id =
        id.strip_prefix('T').is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if !is_subtask_id {
        return None;
    }
    let rest = rest[id_end..].trim_start();
    let (parallel, description) = match rest.strip_prefix("[P]") {
        Some(after_marker) => (true, after_marker.trim()),
        None => (false, rest.trim_end()),
    };
    Some(SubtaskLine { checkbox_offset, done, id, parallel, description })
}

/// A `## Work Package WP02: Title (Priority: P0)` (or `## WP02: Title`) heading.
/// `Ok(None)` for any other heading; an error for a WP heading whose id is malformed.
fn parse_wp_heading(heading: &str) -> Result<Option<(WpId, String, Option<String>)>, String> {
    let after_keyword = match heading.get(..12) {
        Some(keyword) if keyword.eq_ignore_ascii_case("work package") => {
            let rest = &heading[12..];
            if !rest.starts_with([' ', '\t']) {
                return Ok(None); // `Work Packages ...`
            }
            rest.trim_start()
        }
        _ if heading.starts_with("WP") && heading[2..].starts_with(|c: char| c.is_ascii_digit()) => heading,
        _ => return Ok(None),
    };
    let id_end = after_keyword.find(|c: char| c == ':' || c.is_whitespace()).unwrap_or(after_keyword.len());
    let found = &after_keyword[..id_end];
    let id = found.parse::<WpId>().map_err(|_| found.to_string())?;
    let rest = after_keyword[id_end..].trim_start();
    let rest = rest.strip_prefix([':', '-', '–', '—']).unwrap_or(rest).trim();
    let (title, priority) = split_priority(rest);
    Ok(Some((id, title.to_string(), priority.map(str::to_string))))
}

/// Splits `Title (Priority: P0)` into the title and `P0`.
fn split_priority(title: &str) -> (&str, Option<&str>) {
    let Some(inner_end) = title.strip_suffix(')').map(str::len) else {
        return (title, None);
    };
    let Some(open) = title.rfind('(') else {
        return (title, None);
    };
    let inner = &title[open + 1..inner_end];
    match inner.get(..8) {
        Some(keyword) if keyword.eq_ignore_ascii_case("priority") => {
            let value = inner[8..].trim_start().trim_start_matches(':').trim();
            (title[..open].trim_end(), Some(value).filter(|v| !v.is_empty()))
        }
        _ => (title, None),
    }
}

struct TasksParser<'a> {
    file: &'a str,
    plan: TasksPlan,
    current: Option<PlannedWp>,
    /// Inside the current WP's `### Dependencies` subsection, where every list item is one.
    in_dependencies_list: bool,
    fences: FenceTracker,
    wp_lines: BTreeMap<WpId, usize>,
    subtask_lines: BTreeMap<String, usize>,
}

impl<'a> TasksParser<'a> {
    fn new(file: &'a str) -> Self {
        TasksParser {
            file,
            plan: TasksPlan { title: None, work_packages: Vec::new() },
            current: None,
            in_dependencies_list: false,
            fences: FenceTracker::default(),
            wp_lines: BTreeMap::new(),
            subtask_lines: BTreeMap::new(),
        }
    }

    fn read(&mut self, line: Line<'_>) -> Result<(), TasksError> {
        if !self.fences.is_structure(line.content) {
            return Ok(());
        }
        if let Some((level, text)) = markdown::heading(line.content) {
            return self.read_heading(line.number, level, text);
        }
        let Some(wp) = self.current.as_mut() else {
            return Ok(());
        };
        if let Some(subtask) = parse_subtask_line(line.content) {
            if let Some(&first_line) = self.subtask_lines.get(subtask.id) {
                return Err(TasksError::DuplicateSubtask {
                    file: self.file.to_string(),
                    line: line.number,
                    subtask: subtask.id.to_string(),
                    wp: wp.id.clone(),
                    first_line,
                });
            }
            self.subtask_lines.insert(subtask.id.to_string(), line.number);
            wp.subtasks.push(Subtask {
                id: subtask.id.to_string(),
                done: subtask.done,
                parallel: subtask.parallel,
                description: subtask.description.to_string(),
                line: line.number,
            });
            return Ok(());
        }
        let dependencies =
            dependency_line::dependency_ids(line.content, self.in_dependencies_list).map_err(|found| {
                TasksError::MalformedDependency {
                    file: self.file.to_string(),
                    line: line.number,
                    wp: wp.id.clone(),
                    found,
                }
            })?;
        for dependency in dependencies.into_iter().flatten() {
            if !wp.dependencies.contains(&dependency) {
                wp.dependencies.push(dependency);
            }
        }
        Ok(())
    }

    fn read_heading(&mut self, line: usize, level: usize, text: &str) -> Result<(), TasksError> {
        if level >= 3 {
            let name = text.trim_end_matches(':').trim();
            self.in_dependencies_list = name.eq_ignore_ascii_case("dependencies");
            return Ok(());
        }
        self.close_section();
        if level == 1 {
            self.plan.title.get_or_insert_with(|| text.to_string());
            return Ok(());
        }
        let heading = parse_wp_heading(text).map_err(|found| TasksError::MalformedWpHeading {
            file: self.file.to_string(),
            line,
            found,
        })?;
        let Some((id, title, priority)) = heading else {
            return Ok(());
        };
        if let Some(&first_line) = self.wp_lines.get(&id) {
            return Err(TasksError::DuplicateWp { file: self.file.to_string(), line, wp: id, first_line });
        }
        self.wp_lines.insert(id.clone(), line);
        self.current = Some(PlannedWp { id, title, priority, subtasks: Vec::new(), dependencies: Vec::new(), line });
        Ok(())
    }

    fn close_section(&mut self) {
        self.in_dependencies_list = false;
        if let Some(wp) = self.current.take() {
            self.plan.work_packages.push(wp);
        }
    }

    fn finish(mut self) -> TasksPlan {
        self.close_section();
        self.plan
    }
}

#[cfg(test)]
mod tests;
