//! Which lines of a work-package section name dependencies, and which WP ids they name.
//!
//! Recognised, with a case-insensitive lead word, optionally as a list item and/or in bold:
//! `Depends on WP01`, `Depends on WP01, WP02 (reason)`, `Dependencies: WP01, WP02`,
//! `**Dependencies**: WP01`; and every list item under a `### Dependencies` heading
//! (`- WP01`, `- Depends on WP01 (...)`, `- None (foundation package)`).
//! Text in parentheses is a reason, not a list, so the WP ids it mentions do not count.

use crate::ids::WpId;

/// The WP ids a line declares as dependencies: `Ok(None)` when the line is not a dependency line,
/// `Err(token)` when it names something that looks like a WP id but is malformed (`WP1`).
pub(super) fn dependency_ids(line: &str, in_dependencies_list: bool) -> Result<Option<Vec<WpId>>, String> {
    match dependency_text(line, in_dependencies_list) {
        Some(listed) => wp_ids_outside_parentheses(listed).map(Some),
        None => Ok(None),
    }
}

/// The part of a dependency line after its lead word, or `None` for any other line.
fn dependency_text(line: &str, in_dependencies_list: bool) -> Option<&str> {
    let trimmed = line.trim();
    let list_item = strip_list_marker(trimmed);
    let statement = strip_emphasis(list_item.unwrap_or(trimmed));

    for lead in ["depends on", "depend on"] {
        if let Some(tail) = strip_word_ignore_case(statement, lead) {
            return Some(tail.trim_start_matches(['*', '_', ':', ' ', '\t']));
        }
    }
    if let Some(tail) = strip_word_ignore_case(statement, "dependencies") {
        return strip_emphasis(tail.trim_start()).trim_start().strip_prefix(':');
    }
    if in_dependencies_list {
        return list_item;
    }
    None
}

fn strip_list_marker(line: &str) -> Option<&str> {
    ["- ", "* ", "+ "].iter().find_map(|marker| line.strip_prefix(marker)).map(str::trim_start)
}

fn strip_emphasis(text: &str) -> &str {
    text.trim_start_matches(['*', '_'])
}

/// `text` without a leading `word` (any case), if the word ends there (`depends onward` is not it).
fn strip_word_ignore_case<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let tail = &text[word.len()..];
    let word_ends = tail.chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    (head.eq_ignore_ascii_case(word) && word_ends).then_some(tail)
}

/// Every `WPnn` word outside parentheses. A word that starts like a WP id (`WP` and a digit) but is
/// not one (`WP1`, `WP001`) is returned as the error, so a typo is reported instead of dropped.
fn wp_ids_outside_parentheses(text: &str) -> Result<Vec<WpId>, String> {
    let mut ids = Vec::new();
    let mut depth = 0usize;
    let mut word_start = None;
    let end_sentinel = std::iter::once((text.len(), ' '));
    for (index, c) in text.char_indices().chain(end_sentinel) {
        if c.is_alphanumeric() || c == '_' {
            word_start.get_or_insert(index);
            continue;
        }
        if let Some(start) = word_start.take() {
            let word = &text[start..index];
            if depth == 0 && looks_like_wp_id(word) {
                ids.push(word.parse::<WpId>().map_err(|_| word.to_string())?);
            }
        }
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(ids)
}

fn looks_like_wp_id(word: &str) -> bool {
    word.strip_prefix("WP").is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(line: &str, in_list: bool) -> Option<Vec<String>> {
        dependency_ids(line, in_list)
            .expect("well-formed line")
            .map(|ids| ids.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn lead_words_in_their_usual_shapes() {
        let both = Some(vec!["WP01".to_string(), "WP02".to_string()]);
        assert_eq!(ids("Depends on WP01, WP02 (base protocol)", false), both);
        assert_eq!(ids("- depends on WP01 and WP02", false), both);
        assert_eq!(ids("Dependencies: WP01, WP02", false), both);
        assert_eq!(ids("**Dependencies**: WP01, WP02", false), both);
        assert_eq!(ids("- **Depends on**: WP01, WP02", false), both);
        assert_eq!(ids("**Dependencies**: None", false), Some(vec![]));
    }

    #[test]
    fn reasons_in_parentheses_do_not_count() {
        assert_eq!(ids("Depends on WP05 (WP06 patterns (and WP07) inform it)", false), Some(vec!["WP05".to_string()]));
        assert_eq!(ids("- WP01 (config), WP04 (state)", true), Some(vec!["WP01".to_string(), "WP04".to_string()]));
    }

    #[test]
    fn list_items_count_only_under_a_dependencies_heading() {
        assert_eq!(ids("- WP01", true), Some(vec!["WP01".to_string()]));
        assert_eq!(ids("- None (foundation package)", true), Some(vec![]));
        assert_eq!(ids("- WP01", false), None);
        assert_eq!(ids("WP01 is first", true), None);
    }

    #[test]
    fn other_lines_are_not_dependency_lines() {
        assert_eq!(ids("**Prompt**: `/tasks/WP01-event-factory.md`", false), None);
        assert_eq!(ids("This depends on WP01", false), None);
        assert_eq!(ids("Dependency graph: WP01", false), None);
        assert_eq!(ids("Dependencies WP01", false), None);
    }

    #[test]
    fn malformed_ids_are_reported_not_dropped() {
        assert_eq!(dependency_ids("Depends on WP1", false), Err("WP1".to_string()));
        assert_eq!(dependency_ids("- WP001", true), Err("WP001".to_string()));
        // Words that merely start with WP are not ids.
        assert_eq!(ids("Dependencies: WPs of phase 1", false), Some(vec![]));
    }
}
