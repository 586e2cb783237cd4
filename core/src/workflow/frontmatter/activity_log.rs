//! The `## Activity Log` at the end of a WP file's body: one line per change, appended in order.

use crate::workflow::Lane;
use crate::workflow::markdown::{self, FenceTracker};

/// Separates the fields of an activity line: an EN DASH with a space either side, as upstream writes.
const FIELD_SEPARATOR: &str = " – ";

/// `- 2026-02-04T10:46:03Z – codex – shell_pid=63964 – lane=for_review – note`; the shell_pid
/// field is left out when there is none. Line breaks in the note become spaces, because the log
/// is one entry per line.
pub fn activity_line(timestamp_rfc3339: &str, agent: &str, shell_pid: Option<&str>, lane: Lane, note: &str) -> String {
    let mut fields = vec![timestamp_rfc3339.to_string(), agent.to_string()];
    if let Some(pid) = shell_pid {
        fields.push(format!("shell_pid={pid}"));
    }
    fields.push(format!("lane={lane}"));
    fields.push(note.split(['\r', '\n']).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" "));
    format!("- {}", fields.join(FIELD_SEPARATOR))
}

/// `body` with `entry` added as the last line of its (last) `## Activity Log` section: after the
/// section's last non-blank line, before the next level-1 or level-2 heading. Without such a section
/// one is added at the end of the body. Everything else stays byte-identical.
pub(super) fn append_entry(body: &str, entry: &str) -> String {
    let entry = entry.trim_end_matches(['\r', '\n']);
    let eol = markdown::line_ending_of(body);
    let Some(section) = find_activity_log(body) else {
        let break_first = if body.is_empty() || body.ends_with('\n') { "" } else { eol };
        return format!("{body}{break_first}{eol}## Activity Log{eol}{eol}{entry}{eol}");
    };
    let (at, insertion) = match (section.last_content_end, section.first_blank_end) {
        (Some(end), _) if !body[..end].ends_with('\n') => (end, format!("{eol}{entry}")),
        (Some(end), _) => (end, format!("{entry}{eol}")),
        (None, Some(blank_end)) => (blank_end, format!("{entry}{eol}")),
        (None, None) if !body[..section.heading_end].ends_with('\n') => {
            (section.heading_end, format!("{eol}{eol}{entry}"))
        }
        (None, None) => (section.heading_end, format!("{eol}{entry}{eol}")),
    };
    format!("{}{insertion}{}", &body[..at], &body[at..])
}

/// Byte offsets that locate where the next entry goes.
struct ActivityLogSection {
    /// Just past the heading line.
    heading_end: usize,
    /// Just past the section's last non-blank line after the heading, if any.
    last_content_end: Option<usize>,
    /// Just past the first blank line after the heading, used when the log is still empty.
    first_blank_end: Option<usize>,
}

fn find_activity_log(body: &str) -> Option<ActivityLogSection> {
    let mut fences = FenceTracker::default();
    let mut section: Option<ActivityLogSection> = None;
    let mut section_open = false;
    for line in markdown::lines(body) {
        let is_structure = fences.is_structure(line.content);
        let heading = markdown::heading(line.content).filter(|_| is_structure);
        if let Some((level, text)) = heading.filter(|(level, _)| *level <= 2) {
            section_open = level == 2 && text.eq_ignore_ascii_case("activity log");
            if section_open {
                section =
                    Some(ActivityLogSection { heading_end: line.end, last_content_end: None, first_blank_end: None });
            }
            continue;
        }
        let Some(open) = section.as_mut().filter(|_| section_open) else {
            continue;
        };
        if !line.content.trim().is_empty() {
            open.last_content_end = Some(line.end);
        } else if open.last_content_end.is_none() && open.first_blank_end.is_none() {
            open.first_blank_end = Some(line.end);
        }
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "- 2026-02-04T10:46:03Z – codex – lane=done – ok";

    #[test]
    fn the_line_format_matches_upstream() {
        assert_eq!(
            activity_line("2026-02-04T10:46:03Z", "codex", Some("63964"), Lane::ForReview, "Ready\nfor review"),
            "- 2026-02-04T10:46:03Z – codex – shell_pid=63964 – lane=for_review – Ready for review"
        );
        assert_eq!(activity_line("2026-02-04T10:46:03Z", "codex", None, Lane::Done, "ok"), ENTRY);
    }

    #[test]
    fn entries_go_after_the_last_line_of_the_section() {
        let body = "\n# Prompt\n\n## Activity Log\n\n- old\n\n## Review\n\nText\n";
        assert_eq!(append_entry(body, ENTRY), body.replace("- old\n", &format!("- old\n{ENTRY}\n")));
        // Subsections belong to the log, so the entry goes at the very end, as upstream appends.
        let with_subsection = "## Activity Log\n\n- old\n\n### Updating Lane Status\n\nUse the CLI.\n";
        assert_eq!(append_entry(with_subsection, ENTRY), format!("{with_subsection}{ENTRY}\n"));
    }

    #[test]
    fn fenced_headings_do_not_end_the_section() {
        let body = "## Activity Log\n\n- old\n```bash\n# not a heading\n```\n";
        assert_eq!(append_entry(body, ENTRY), format!("{body}{ENTRY}\n"));
    }

    #[test]
    fn empty_missing_and_unterminated_logs() {
        assert_eq!(append_entry("## Activity Log\n\n", ENTRY), format!("## Activity Log\n\n{ENTRY}\n"));
        assert_eq!(append_entry("## Activity Log\n", ENTRY), format!("## Activity Log\n\n{ENTRY}\n"));
        assert_eq!(append_entry("## Activity Log", ENTRY), format!("## Activity Log\n\n{ENTRY}"));
        assert_eq!(append_entry("Body\n", ENTRY), format!("Body\n\n## Activity Log\n\n{ENTRY}\n"));
        assert_eq!(append_entry("Body", ENTRY), format!("Body\n\n## Activity Log\n\n{ENTRY}\n"));
        assert_eq!(append_entry("## Activity Log\n- old", ENTRY), format!("## Activity Log\n- old\n{ENTRY}"));
        assert_eq!(
            append_entry("a\r\n## Activity Log\r\n\r\n- old\r\n", ENTRY),
            format!("a\r\n## Activity Log\r\n\r\n- old\r\n{ENTRY}\r\n")
        );
    }
}
