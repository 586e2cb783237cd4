//! The compatibility rule: the dependencies upstream spec-kitty's `finalize-tasks` reads from
//! tasks.md (its 2.x line, where feature 028 landed), reproduced exactly so that a teammate with
//! upstream's CLI and one with ours get the same WPCreated events from the same files.
//!
//! - **Sections.** tasks.md is split wherever `##`, one or more whitespace characters, then
//!   `Work Package WPxx` appear, anywhere in the text (not only at a line start, so `### Work
//!   Package WP01` and `#### Work Package WP01` split too: the split matches their last two `#`).
//!   `Work Package` is case-sensitive, with exactly one space before the id. A section runs to the
//!   next split or the end of the file (so a trailing summary belongs to the last section); text
//!   before the first split belongs to none. A WP split twice keeps its last section's result.
//! - **`Depends on`.** Every `Depends on WPaa[, WPbb ...]` in the section (also `Depend on`;
//!   case-insensitive; any whitespace between the words): the comma-separated ids right after
//!   "on", nothing further. Only upper-case `WPdd` of that list count (upstream matches the list
//!   case-insensitively but then picks the ids case-sensitively).
//! - **`Dependencies:`.** The first `Dependencies:` (case-sensitive, so not `**Dependencies**:`
//!   nor a `### Dependencies` heading) anywhere in the section: every `WPdd` on the rest of its
//!   line. The whitespace after the colon may include line breaks, so a `Dependencies:` ending a
//!   line takes the next non-empty line.
//! - The result is both forms' ids without duplicates, sorted. A section with neither has none.
//! - Refused: a WP depending on itself, on a WP no section defines, or a cycle.
//!
//! Upstream is Python: "whitespace" is what `str.isspace` accepts (Unicode white space plus the
//! ASCII separators U+001C..U+001F), and a case-insensitive `s` also matches `ſ` (U+017F). Both
//! are reproduced. One deliberate difference: a WP id's digits are ASCII here, where Python's `\d`
//! would also take other scripts' digits (`WP٠١`), which no WP id has.

use std::collections::BTreeMap;
use std::ops::Range;

use super::TasksError;
use crate::ids::WpId;
use crate::workflow::graph::{DependencyGraph, GraphError};

/// One section of tasks.md as the rule splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSection {
    pub wp: WpId,
    /// The 1-based line where the split (`## Work Package WPxx`) is.
    pub line: usize,
    /// Byte range of the section's text in tasks.md: from just after `WPxx` to the next split.
    pub body: Range<usize>,
    /// What the rule reads in this section: sorted, without duplicates.
    pub dependencies: Vec<WpId>,
}

/// tasks.md read by the compatibility rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleReading {
    /// In file order; a WP split twice appears twice.
    pub sections: Vec<RuleSection>,
}

impl RuleReading {
    /// The dependencies the rule gives `wp` (its last section's), or `None` when no section
    /// defines it.
    pub fn dependencies_of(&self, wp: &WpId) -> Option<&[WpId]> {
        self.sections.iter().rev().find(|section| &section.wp == wp).map(|section| section.dependencies.as_slice())
    }

    /// Whether a section defines `wp`.
    pub fn defines(&self, wp: &WpId) -> bool {
        self.sections.iter().any(|section| &section.wp == wp)
    }

    /// Each defined WP once, in order of first appearance, with its dependencies.
    pub fn work_packages(&self) -> Vec<(&WpId, &[WpId])> {
        let mut seen: Vec<&WpId> = Vec::new();
        for section in &self.sections {
            if !seen.contains(&&section.wp) {
                seen.push(&section.wp);
            }
        }
        seen.into_iter().map(|wp| (wp, self.dependencies_of(wp).unwrap_or(&[]))).collect()
    }

    /// Refuses what upstream refuses, and only that: a self-dependency, a dependency on a WP no
    /// section defines, a cycle. The error names `file` and the WPs involved; the first problem in
    /// file order is the one reported (for cycles, in id order).
    pub fn check(&self, file: &str) -> Result<(), TasksError> {
        let work_packages = self.work_packages();
        for (wp, dependencies) in &work_packages {
            if dependencies.contains(wp) {
                return Err(TasksError::SelfDependency { file: file.to_string(), wp: (*wp).clone() });
            }
        }
        for (wp, dependencies) in &work_packages {
            if let Some(missing) = dependencies.iter().find(|dependency| !self.defines(dependency)) {
                return Err(TasksError::UndefinedDependency {
                    file: file.to_string(),
                    wp: (*wp).clone(),
                    missing: missing.clone(),
                });
            }
        }
        let edges: BTreeMap<WpId, Vec<WpId>> =
            work_packages.iter().map(|(wp, dependencies)| ((*wp).clone(), dependencies.to_vec())).collect();
        match DependencyGraph::new(edges) {
            Ok(_) => Ok(()),
            Err(GraphError::Cycle { path }) => Err(TasksError::DependencyCycle { file: file.to_string(), path }),
            // Every dependency was checked to be defined above.
            Err(GraphError::UnknownDependency { wp, missing }) => {
                Err(TasksError::UndefinedDependency { file: file.to_string(), wp, missing })
            }
        }
    }
}

/// Reads tasks.md by the compatibility rule. Never fails: what the rule does not recognise is
/// simply not a dependency.
pub fn read_dependencies(text: &str) -> RuleReading {
    let splits = section_splits(text);
    // Line numbers counted in one pass over the text (splits are in text order), not from the start
    // for every section: a tasks.md of 10,000 sections must not cost 10,000 scans.
    let (mut counted_to, mut line) = (0, 1);
    let sections = splits
        .iter()
        .enumerate()
        .map(|(index, split)| {
            let end = splits.get(index + 1).map_or(text.len(), |next| next.start);
            let body = split.body_start..end;
            let dependencies = section_dependencies(&text[body.clone()]);
            line += text[counted_to..split.start].matches('\n').count();
            counted_to = split.start;
            RuleSection { wp: split.wp.clone(), line, body, dependencies }
        })
        .collect();
    RuleReading { sections }
}

/// The dependencies one section's text declares, by both forms: sorted, without duplicates.
pub fn section_dependencies(section: &str) -> Vec<WpId> {
    let mut ids = Vec::new();
    let mut from = 0;
    while let Some((end, list)) = next_depends_on(section, from) {
        ids.extend(upper_case_ids(&section[list]));
        from = end;
    }
    if let Some(listed) = dependencies_line(section) {
        ids.extend(upper_case_ids(listed));
    }
    ids.sort();
    ids.dedup();
    ids
}

struct Split {
    /// Byte offset of the `##`.
    start: usize,
    /// Just after the WP id.
    body_start: usize,
    wp: WpId,
}

/// Every non-overlapping `##\s+Work Package WPdd`, left to right.
fn section_splits(text: &str) -> Vec<Split> {
    let mut splits = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("##") {
        let start = at + found;
        match split_at(text, start) {
            Some((body_start, wp)) => {
                splits.push(Split { start, body_start, wp });
                at = body_start;
            }
            None => at = start + 1,
        }
    }
    splits
}

fn split_at(text: &str, start: usize) -> Option<(usize, WpId)> {
    let after_hashes = start + 2;
    let keyword = skip_spaces(text, after_hashes);
    if keyword == after_hashes {
        return None;
    }
    let id_start = keyword + text[keyword..].strip_prefix("Work Package ").map(|_| "Work Package ".len())?;
    let wp = wp_id_at(text, id_start, false)?;
    Some((id_start + 4, wp))
}

/// The next `Depends? on WPdd(, WPdd)*` (case-insensitive) at or after `from`: the match's end and
/// the byte range of its id list.
fn next_depends_on(text: &str, from: usize) -> Option<(usize, Range<usize>)> {
    text[from..]
        .char_indices()
        .filter(|(_, c)| matches!(c, 'd' | 'D'))
        .find_map(|(offset, _)| depends_on_at(text, from + offset))
}

fn depends_on_at(text: &str, start: usize) -> Option<(usize, Range<usize>)> {
    let mut at = word_ignoring_case(text, start, "depend")?;
    if let Some(c) = text[at..].chars().next().filter(|c| matches!(c, 's' | 'S' | 'ſ')) {
        at += c.len_utf8();
    }
    at = spaces_then(text, at)?;
    at = word_ignoring_case(text, at, "on")?;
    at = spaces_then(text, at)?;
    wp_id_at(text, at, true)?;
    let list_start = at;
    at += 4;
    loop {
        let comma = skip_spaces(text, at);
        if !text[comma..].starts_with(',') {
            break;
        }
        let next = skip_spaces(text, comma + 1);
        if wp_id_at(text, next, true).is_none() {
            break;
        }
        at = next + 4;
    }
    Some((at, list_start..at))
}

/// The rest of the line after the first `Dependencies:` and any whitespace (line breaks
/// included); `None` when there is no such line or only whitespace follows it.
fn dependencies_line(section: &str) -> Option<&str> {
    const KEYWORD: &str = "Dependencies:";
    let after = section.find(KEYWORD)? + KEYWORD.len();
    let start = skip_spaces(section, after);
    if start == section.len() {
        return None;
    }
    let end = section[start..].find('\n').map_or(section.len(), |offset| start + offset);
    Some(&section[start..end])
}

/// Every `WPdd` (upper case, ASCII digits) in `text`, left to right, not overlapping; like
/// upstream's `re.findall(r"WP\d{2}", ...)`, with no word boundaries (`WP012` gives `WP01`).
pub(crate) fn upper_case_ids(text: &str) -> Vec<WpId> {
    let mut ids = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("WP") {
        let start = at + found;
        match wp_id_at(text, start, false) {
            Some(id) => {
                ids.push(id);
                at = start + 4;
            }
            None => at = start + 1,
        }
    }
    ids
}

/// `WPdd` at `at` (`wp` and `Wp` too when `ignore_case`), as its upper-case id.
fn wp_id_at(text: &str, at: usize, ignore_case: bool) -> Option<WpId> {
    let bytes = text.as_bytes().get(at..at + 4)?;
    let letters = if ignore_case {
        bytes[0].eq_ignore_ascii_case(&b'W') && bytes[1].eq_ignore_ascii_case(&b'P')
    } else {
        &bytes[..2] == b"WP"
    };
    if !(letters && bytes[2].is_ascii_digit() && bytes[3].is_ascii_digit()) {
        return None;
    }
    format!("WP{}{}", bytes[2] as char, bytes[3] as char).parse().ok()
}

/// Past `word` (ASCII lower case) at `at`, matched as Python's IGNORECASE does.
fn word_ignoring_case(text: &str, at: usize, word: &str) -> Option<usize> {
    let mut chars = text[at..].chars();
    let mut end = at;
    for expected in word.chars() {
        let c = chars.next()?;
        let same = c.to_ascii_lowercase() == expected || (expected == 's' && c == 'ſ');
        if !same {
            return None;
        }
        end += c.len_utf8();
    }
    Some(end)
}

/// Past one or more whitespace characters at `at`; `None` when there is none.
fn spaces_then(text: &str, at: usize) -> Option<usize> {
    let end = skip_spaces(text, at);
    (end > at).then_some(end)
}

/// Past any whitespace at `at`.
fn skip_spaces(text: &str, at: usize) -> usize {
    text[at..].char_indices().find(|(_, c)| !is_python_space(*c)).map_or(text.len(), |(offset, _)| at + offset)
}

/// Python's `str.isspace`, which its regular expressions' `\s` follows: Unicode white space and
/// the ASCII information separators U+001C..U+001F.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

#[cfg(test)]
mod tests {

    #[test]
    fn sections_know_their_heading_lines() {
        let text: String =
            (1..=300).map(|n| format!("## Work Package WP{:02}\nDepends on WP01\n\n", n % 100)).collect();
        let reading = read_dependencies(&text);
        assert_eq!(reading.sections.len(), 300);
        for (index, section) in reading.sections.iter().enumerate() {
            assert_eq!(section.line, index * 3 + 1, "section {index}");
        }
    }
    use super::*;

    fn ids(list: &[&str]) -> Vec<WpId> {
        list.iter().map(|id| id.parse().expect("valid id")).collect()
    }

    fn deps(section: &str) -> Vec<WpId> {
        section_dependencies(section)
    }

    #[test]
    fn the_issue_examples_give_upstreams_results() {
        assert_eq!(deps("- Depends on WP01 (validator), and benefits from metadata updates in WP02\n"), ids(&["WP01"]));
        assert_eq!(deps("- Depends on outputs of WP01–WP03 to build the report\n"), ids(&[]));
        assert_eq!(deps("**Dependencies**: WP01, WP02\n"), ids(&[]));
        assert_eq!(deps("### Dependencies\n- WP01\n"), ids(&[]));
    }

    #[test]
    fn depends_on_takes_only_the_list_right_after_on() {
        assert_eq!(deps("depends ON WP03, WP01,WP02 and WP04\n"), ids(&["WP01", "WP02", "WP03"]));
        assert_eq!(deps("Depend on WP05\nThis also DEPENDS   on\n WP06"), ids(&["WP05", "WP06"]));
        assert_eq!(deps("Depends on wp01, WP02"), ids(&["WP02"]), "the list matches any case, ids only upper");
        assert_eq!(deps("Dependſ on WP07"), ids(&["WP07"]), "Python's IGNORECASE folds ſ to s");
        assert_eq!(deps("Depends on WP012"), ids(&["WP01"]), "no word boundary after the id");
        assert_eq!(deps("Depends upon WP01; depends on: WP02"), ids(&[]));
        assert_eq!(deps("Dependss on WP01"), ids(&[]));
    }

    #[test]
    fn the_first_dependencies_line_counts_and_may_continue_on_the_next_line() {
        assert_eq!(deps("Dependencies: WP02 – after WP01–WP03\nDependencies: WP09\n"), ids(&["WP01", "WP02", "WP03"]));
        assert_eq!(deps("Dependencies:\r\n\r\n  - WP04, WP05\r\n- WP06\r\n"), ids(&["WP04", "WP05"]));
        assert_eq!(deps("No Dependencies:XWP07"), ids(&["WP07"]));
        assert_eq!(deps("dependencies: WP01"), ids(&[]), "case-sensitive");
        assert_eq!(deps("Dependencies:   \n\n"), ids(&[]));
    }

    #[test]
    fn sections_split_at_any_double_hash_before_work_package() {
        let text = "intro Depends on WP09\n#### Work Package WP02: B\nDepends on WP01\n\
                    ## Work Package WP01: A\n## Work Package Summary\n##\tWork Package WP03 x ## Work Package WP04\
                    Dependencies: WP03\n## work package WP05\n";
        let reading = read_dependencies(text);
        let found: Vec<(&str, usize, Vec<WpId>)> =
            reading.sections.iter().map(|s| (s.wp.as_str(), s.line, s.dependencies.clone())).collect();
        assert_eq!(
            found,
            [("WP02", 2, ids(&["WP01"])), ("WP01", 4, ids(&[])), ("WP03", 6, ids(&[])), ("WP04", 6, ids(&["WP03"])),]
        );
        assert!(reading.check("tasks.md").is_ok());
    }

    #[test]
    fn a_wp_split_twice_keeps_its_last_section() {
        let reading =
            read_dependencies("## Work Package WP02\nDepends on WP01\n## Work Package WP01\n## Work Package WP02\n");
        assert_eq!(reading.dependencies_of(&ids(&["WP02"])[0]), Some(&[][..]));
        assert_eq!(reading.work_packages().len(), 2);
    }

    #[test]
    fn refusals_name_the_wps() {
        let check = |text: &str| read_dependencies(text).check("k/tasks.md").map_err(|e| e.to_string());
        assert_eq!(
            check("## Work Package WP01\nDepends on WP01\n"),
            Err("k/tasks.md: WP01 depends on itself".to_string())
        );
        assert_eq!(
            check("## Work Package WP01\n## Work Package WP02\nDependencies: WP01, WP07\n"),
            Err("k/tasks.md: WP02 depends on WP07, which no `## Work Package WP07` section of tasks.md defines"
                .to_string())
        );
        assert_eq!(
            check("## Work Package WP02\nDepends on WP03\n## Work Package WP03\nDepends on WP02\n"),
            Err("k/tasks.md: dependency cycle: WP02 -> WP03 -> WP02".to_string())
        );
    }
}
