//! A help beyond upstream's rule, never a change to its result: the WP ids a dependency line of a
//! section mentions that the compatibility rule did not take (prose after the list, ranges,
//! `**Dependencies**:`, a `### Dependencies` list), so finalize-tasks can say which ones and the
//! form that would be read. They are never added as dependencies.
//!
//! A dependency line is a line of a WP's rule section that contains `depend` (any case), or a list
//! item under a heading containing `dependenc`. Lines containing the word `none` are skipped (they
//! say there is nothing to take). A range `WP01–WP03` (`-`, `–`, `—` or `..`) mentions every id in
//! it.

use std::fmt;

use super::dependency_rule::RuleReading;
use crate::ids::WpId;
use crate::workflow::markdown;

/// The ids one WP's dependency lines mention that the rule did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntakenMention {
    pub wp: WpId,
    /// Mentioned, not taken, not the WP itself: sorted.
    pub ids: Vec<WpId>,
    /// The tasks.md lines (1-based) that mention them.
    pub lines: Vec<usize>,
    /// The first such line, trimmed and shortened.
    pub excerpt: String,
    /// What the rule takes plus `ids`, sorted: the list a `Depends on` line would need.
    pub would_read: Vec<WpId>,
}

impl fmt::Display for UntakenMention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |ids: &[WpId]| ids.iter().map(WpId::as_str).collect::<Vec<_>>().join(", ");
        let lines = self.lines.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
        let plural = if self.lines.len() == 1 { "" } else { "s" };
        write!(
            f,
            "{wp}: tasks.md line{plural} {lines} (\"{excerpt}\") mention{s} {ids}, not read as {kind}: only the ids right after \"Depends on\" or on a \"Dependencies:\" line are; write \"Depends on {form}\" if {wp} needs {them}",
            wp = self.wp,
            excerpt = self.excerpt,
            s = if self.lines.len() == 1 { "s" } else { "" },
            ids = join(&self.ids),
            kind = if self.ids.len() == 1 { "a dependency" } else { "dependencies" },
            them = if self.ids.len() == 1 { "it" } else { "them" },
            form = join(&self.would_read),
        )
    }
}

/// For each WP with a rule section, in order of first appearance, the ids its dependency lines
/// mention but the rule did not take; WPs with none are left out.
pub fn untaken_mentions(text: &str, reading: &RuleReading) -> Vec<UntakenMention> {
    let mut found: Vec<UntakenMention> = Vec::new();
    for (wp, taken) in reading.work_packages() {
        let mut ids: Vec<WpId> = Vec::new();
        let mut lines = Vec::new();
        let mut excerpt = String::new();
        for section in reading.sections.iter().filter(|section| &section.wp == wp) {
            let body = &text[section.body.clone()];
            let mut under_dependencies_heading = false;
            for line in markdown::lines(body) {
                let content = line.content;
                let lower = content.to_lowercase();
                if let Some((_, heading)) = markdown::heading(content) {
                    under_dependencies_heading = heading.to_lowercase().contains("dependenc");
                    if !lower.contains("depend") {
                        continue;
                    }
                }
                let list_item = content.trim_start().starts_with(['-', '*', '+']);
                let dependency_line = lower.contains("depend") || (under_dependencies_heading && list_item);
                if !dependency_line || has_word(&lower, "none") {
                    continue;
                }
                let untaken: Vec<WpId> = mentioned_ids(content)
                    .into_iter()
                    .filter(|id| id != wp && !taken.contains(id) && !ids.contains(id))
                    .collect();
                if untaken.is_empty() {
                    continue;
                }
                if excerpt.is_empty() {
                    excerpt = shorten(content.trim(), 80);
                }
                // The section's first line is the rest of its heading line.
                lines.push(section.line + line.number - 1);
                ids.extend(untaken);
            }
        }
        if ids.is_empty() {
            continue;
        }
        ids.sort();
        let mut would_read: Vec<WpId> = taken.iter().chain(&ids).cloned().collect();
        would_read.sort();
        would_read.dedup();
        found.push(UntakenMention { wp: wp.clone(), ids, lines, excerpt, would_read });
    }
    found
}

/// Every `WPdd` a line mentions as a word (not inside `XWP01` or `WP012`), ranges expanded.
fn mentioned_ids(line: &str) -> Vec<WpId> {
    let bytes = line.as_bytes();
    let mut spans: Vec<(usize, usize, u8)> = Vec::new(); // (start, end, number)
    let mut at = 0;
    while let Some(found) = line[at..].find("WP") {
        let start = at + found;
        at = start + 2;
        let before_ok = start == 0 || !line[..start].chars().next_back().is_some_and(char::is_alphanumeric);
        let digits = bytes.get(start + 2..start + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
        let after_ok = !bytes.get(start + 4).is_some_and(u8::is_ascii_digit);
        if let (true, Some(digits), true) = (before_ok, digits, after_ok) {
            spans.push((start, start + 4, (digits[0] - b'0') * 10 + (digits[1] - b'0')));
        }
    }
    let mut numbers: Vec<u8> = spans.iter().map(|span| span.2).collect();
    for pair in spans.windows(2) {
        let between = line[pair[0].1..pair[1].0].trim();
        let is_range = matches!(between, "-" | "–" | "—" | "..");
        if is_range && pair[0].2 < pair[1].2 {
            numbers.extend(pair[0].2 + 1..pair[1].2);
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    numbers.into_iter().filter_map(|n| format!("WP{n:02}").parse().ok()).collect()
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|w| w == word)
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max_chars - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::tasks_md::read_dependencies;

    fn notes(text: &str) -> Vec<UntakenMention> {
        untaken_mentions(text, &read_dependencies(text))
    }

    fn ids(list: &[&str]) -> Vec<WpId> {
        list.iter().map(|id| id.parse().expect("valid id")).collect()
    }

    #[test]
    fn prose_after_the_list_is_named_with_the_form_that_would_be_read() {
        let text = "## Work Package WP01\n## Work Package WP02\n## Work Package WP03\n\
                    - Depends on WP01 (validator), and benefits from metadata updates in WP02\n";
        let found = notes(text);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].wp.as_str(), found[0].ids.clone(), found[0].lines.clone()),
            ("WP03", ids(&["WP02"]), vec![4])
        );
        assert_eq!(found[0].would_read, ids(&["WP01", "WP02"]));
        let note = found[0].to_string();
        assert!(note.starts_with("WP03: tasks.md line 4 (\"- Depends on WP01 (validator)"), "{note}");
        assert!(
            note.contains("mentions WP02, not read as a dependency")
                && note.ends_with("write \"Depends on WP01, WP02\" if WP03 needs it"),
            "{note}"
        );
    }

    #[test]
    fn a_range_mentions_every_id_in_it() {
        let text = "## Work Package WP04: Report\r\n- Depends on outputs of WP01–WP03 to build it\r\n";
        let found = notes(text);
        assert_eq!(found[0].ids, ids(&["WP01", "WP02", "WP03"]));
        assert_eq!(found[0].lines, vec![2]);
    }

    #[test]
    fn bold_and_heading_lists_are_noted_but_none_lines_and_taken_ids_are_not() {
        let text = "## Work Package WP05\n**Dependencies**: WP01\n### Dependencies\n- WP02 (types)\n\
                    - None on WP03\n### Notes\n- WP04 is unrelated\nDepends on WP06\n## Work Package WP06\n";
        let found = notes(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ids, ids(&["WP01", "WP02"]));
        assert_eq!(found[0].lines, vec![2, 4]);
        assert_eq!(found[0].would_read, ids(&["WP01", "WP02", "WP06"]));
        assert!(notes("## Work Package WP02\nDepends on WP01\n").is_empty());
    }

    #[test]
    fn mentions_are_whole_words() {
        assert_eq!(
            mentioned_ids("XWP01 WP012 (WP03) WP05..WP07 WP09 - WP08"),
            ids(&["WP03", "WP05", "WP06", "WP07", "WP08", "WP09"])
        );
    }
}
