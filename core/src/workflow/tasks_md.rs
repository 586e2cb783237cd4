//! tasks.md: the feature's plan, as `## Work Package WP02: Title (Priority: P0)` sections holding
//! subtask checkbox lines (`- [x] T008 [P] Description`) and dependency lines.
//!
//! Two readings of one text, each for its purpose:
//! - **Dependencies** follow upstream's finalize-tasks rule exactly ([`dependency_rule`], the
//!   compatibility rule), so both CLIs derive the same dependencies from the same files.
//! - **Structure** (titles, priorities, subtasks) is read leniently for the commands that tick
//!   subtasks and show plans: a heading at level 2 to 4 naming a WP (`## Work Package WP02: ...`,
//!   `## WP02 - ...`, `#### WP01: Foundation Layer [Priority: P1]`) opens a section that runs to
//!   the next heading of the same or a higher level. Any other heading (`## Work Package
//!   Summary`) is no error, just not a WP; a WP heading repeated continues the first one's section.
//!   Lines inside fenced code blocks are never structure.
//!
//! Each [`PlannedWp`]'s dependencies are the rule's for its id (none when no rule section defines
//! it), whatever the structural heading looks like.

mod checkboxes;
pub mod dependency_notes;
pub mod dependency_rule;

use serde::Serialize;

use super::markdown::{self, FenceTracker, Line};
use crate::ids::WpId;

pub use checkboxes::{SubtaskChange, set_subtask_done};
pub use dependency_rule::{RuleReading, RuleSection, read_dependencies};

/// A parsed tasks.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TasksPlan {
    /// The text of the first `# ` heading.
    pub title: Option<String>,
    /// In file order.
    pub work_packages: Vec<PlannedWp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlannedWp {
    pub id: WpId,
    pub title: String,
    /// The `P0` of `(Priority: P0)` or `[Priority: P0]`, when the heading has one.
    pub priority: Option<String>,
    pub subtasks: Vec<Subtask>,
    /// What the compatibility rule reads for this WP: sorted, without duplicates.
    pub dependencies: Vec<WpId>,
    /// The line of the section heading.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    #[error("{file}:{line}: subtask {subtask} is listed twice (first on line {first_line}): tick it by hand")]
    DuplicateSubtask { file: String, line: usize, subtask: String, first_line: usize },
    #[error("{file}: unknown subtask {subtask}: no work package lists it")]
    UnknownSubtask { file: String, subtask: String },
    #[error("{file}: {wp} depends on itself")]
    SelfDependency { file: String, wp: WpId },
    #[error("{file}: {wp} depends on {missing}, which no `## Work Package {missing}` section of tasks.md defines")]
    UndefinedDependency { file: String, wp: WpId, missing: WpId },
    #[error("{file}: dependency cycle: {}", join_path(path))]
    DependencyCycle {
        /// Starts and ends with the same WP: `[WP02, WP03, WP02]`.
        path: Vec<WpId>,
        file: String,
    },
}

/// tasks.md, or a subtask asked for.
impl crate::error_kind::ErrorKind for TasksError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

fn join_path(path: &[WpId]) -> String {
    path.iter().map(WpId::as_str).collect::<Vec<_>>().join(" -> ")
}

impl TasksPlan {
    pub fn work_package(&self, id: &WpId) -> Option<&PlannedWp> {
        self.work_packages.iter().find(|wp| &wp.id == id)
    }

    /// The work package whose section lists `subtask_id` (the first, if several do).
    pub fn owner_of_subtask(&self, subtask_id: &str) -> Option<&WpId> {
        self.subtask(subtask_id).map(|(wp, _)| &wp.id)
    }

    pub fn subtask(&self, subtask_id: &str) -> Option<(&PlannedWp, &Subtask)> {
        self.work_packages
            .iter()
            .find_map(|wp| wp.subtasks.iter().find(|subtask| subtask.id == subtask_id).map(|subtask| (wp, subtask)))
    }
}

/// Parses tasks.md; `source_label` (usually its path) is what errors name as the file. Reading
/// never fails today (the result type leaves room for limits); dependency problems are refused by
/// [`RuleReading::check`] where a command needs them checked.
pub fn parse_tasks_md(source_label: &str, text: &str) -> Result<TasksPlan, TasksError> {
    let _ = source_label;
    let mut parser = TasksParser::new();
    for line in markdown::lines(text) {
        parser.read(line);
    }
    let mut plan = parser.finish();
    let rule = read_dependencies(text);
    for wp in &mut plan.work_packages {
        wp.dependencies = rule.dependencies_of(&wp.id).map(<[WpId]>::to_vec).unwrap_or_default();
    }
    // A WP the rule's split defines where no heading shows it (`##### Work Package WP05`, or the
    // words mid-line) is still one of the plan's: other WPs may depend on it.
    for section in &rule.sections {
        if plan.work_package(&section.wp).is_none() {
            let dependencies = rule.dependencies_of(&section.wp).map(<[WpId]>::to_vec).unwrap_or_default();
            plan.work_packages.push(PlannedWp {
                id: section.wp.clone(),
                title: String::new(),
                priority: None,
                subtasks: Vec::new(),
                dependencies,
                line: section.line,
            });
        }
    }
    Ok(plan)
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

/// A WP heading's text (`Work Package WP02: Title (Priority: P0)`, `WP02 - Title`): its id, title
/// and priority; `None` for any other heading. The id is `WP` and two digits not followed by
/// another digit.
fn parse_wp_heading(heading: &str) -> Option<(WpId, String, Option<String>)> {
    let after_keyword = match heading.get(..12) {
        Some(keyword) if keyword.eq_ignore_ascii_case("work package") => {
            let rest = &heading[12..];
            if !rest.starts_with([' ', '\t']) {
                return None; // `Work Packages ...`
            }
            rest.trim_start()
        }
        _ => heading,
    };
    let id_end = after_keyword.find(|c: char| c == ':' || c.is_whitespace()).unwrap_or(after_keyword.len());
    let id = after_keyword[..id_end].parse::<WpId>().ok()?;
    let rest = after_keyword[id_end..].trim_start();
    let rest = rest.strip_prefix([':', '-', '–', '—']).unwrap_or(rest).trim();
    let (title, priority) = split_priority(rest);
    Some((id, title.to_string(), priority.map(str::to_string)))
}

/// Splits `Title (Priority: P0)` or `Title [Priority: P0]` into the title and `P0`.
fn split_priority(title: &str) -> (&str, Option<&str>) {
    let Some(close) = title.chars().next_back().filter(|c| matches!(c, ')' | ']')) else {
        return (title, None);
    };
    let open_char = if close == ')' { '(' } else { '[' };
    let inner_end = title.len() - 1;
    let Some(open) = title.rfind(open_char) else {
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

struct TasksParser {
    plan: TasksPlan,
    /// The index in `plan.work_packages` of the open section, and its heading's level.
    current: Option<(usize, usize)>,
    fences: FenceTracker,
}

impl TasksParser {
    fn new() -> Self {
        TasksParser {
            plan: TasksPlan { title: None, work_packages: Vec::new() },
            current: None,
            fences: FenceTracker::default(),
        }
    }

    fn read(&mut self, line: Line<'_>) {
        if !self.fences.is_structure(line.content) {
            return;
        }
        if let Some((level, text)) = markdown::heading(line.content) {
            self.read_heading(line.number, level, text);
            return;
        }
        let Some((index, _)) = self.current else {
            return;
        };
        if let Some(subtask) = parse_subtask_line(line.content) {
            self.plan.work_packages[index].subtasks.push(Subtask {
                id: subtask.id.to_string(),
                done: subtask.done,
                parallel: subtask.parallel,
                description: subtask.description.to_string(),
                line: line.number,
            });
        }
    }

    fn read_heading(&mut self, line: usize, level: usize, text: &str) {
        if level == 1 {
            self.plan.title.get_or_insert_with(|| text.to_string());
        }
        let heading = if (2..=4).contains(&level) { parse_wp_heading(text) } else { None };
        let Some((id, title, priority)) = heading else {
            if self.current.is_some_and(|(_, open_level)| level <= open_level) {
                self.current = None;
            }
            return;
        };
        if let Some(index) = self.plan.work_packages.iter().position(|wp| wp.id == id) {
            self.current = Some((index, level));
            return;
        }
        self.plan.work_packages.push(PlannedWp {
            id,
            title,
            priority,
            subtasks: Vec::new(),
            dependencies: Vec::new(),
            line,
        });
        self.current = Some((self.plan.work_packages.len() - 1, level));
    }

    fn finish(self) -> TasksPlan {
        self.plan
    }
}

#[cfg(test)]
mod tests;
