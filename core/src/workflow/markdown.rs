//! Just enough Markdown structure for spec-kitty's files: lines with their byte offsets (so edits
//! can splice bytes and leave everything else identical), ATX headings, and fenced code blocks
//! (a `# comment` inside a ```bash block is not a heading).

/// One line of a text. `content` excludes the line terminator (`\n` or `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// 1-based, as editors and error messages count.
    pub number: usize,
    /// Byte offset of the first character of the line.
    pub start: usize,
    /// Byte offset just past the line terminator (the next line's start).
    pub end: usize,
    pub content: &'a str,
}

/// Splits a text into lines, remembering where each one starts and ends.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n').enumerate().map(move |(index, raw)| {
        let content = raw.strip_suffix('\n').unwrap_or(raw);
        let content = content.strip_suffix('\r').unwrap_or(content);
        let line = Line { number: index + 1, start, end: start + raw.len(), content };
        start += raw.len();
        line
    })
}

/// The line terminator a text already uses, so inserted lines match their neighbours.
pub(crate) fn line_ending_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(pos) if text[..pos].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// An ATX heading (`## Title`): its level and its text without the hashes.
pub(crate) fn heading(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let level = rest.len() - rest.trim_start_matches('#').len();
    if !(1..=6).contains(&level) {
        return None;
    }
    let text = &rest[level..];
    if !text.is_empty() && !text.starts_with([' ', '\t']) {
        return None; // `#hashtag` is not a heading
    }
    Some((level, text.trim()))
}

/// Follows fenced code blocks line by line.
#[derive(Debug, Default)]
pub(crate) struct FenceTracker {
    /// The fence character and length of the open block, if inside one.
    open: Option<(char, usize)>,
}

impl FenceTracker {
    /// Whether `line` is Markdown structure: outside any code block and not a fence itself.
    /// Must be called for every line, in order.
    pub(crate) fn is_structure(&mut self, line: &str) -> bool {
        let fence = fence_of(line);
        match (self.open, fence) {
            (None, Some((marker, length, _))) => {
                self.open = Some((marker, length));
                false
            }
            (None, None) => true,
            (Some((open_marker, open_length)), Some((marker, length, info)))
                if marker == open_marker && length >= open_length && info.is_empty() =>
            {
                self.open = None;
                false
            }
            (Some(_), _) => false,
        }
    }
}

/// A fence line: its marker character, how many, and the info string after it.
fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = rest.len() - rest.trim_start_matches(marker).len();
    (length >= 3).then(|| (marker, length, rest[length..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_offsets_and_drop_terminators() {
        let text = "a\r\nbc\n\nd";
        let found: Vec<_> = lines(text).map(|l| (l.number, l.start, l.end, l.content)).collect();
        assert_eq!(found, vec![(1, 0, 3, "a"), (2, 3, 6, "bc"), (3, 6, 7, ""), (4, 7, 8, "d")]);
        assert_eq!(line_ending_of(text), "\r\n");
        assert_eq!(line_ending_of("x\ny"), "\n");
    }

    #[test]
    fn headings_need_a_space_after_the_hashes() {
        assert_eq!(heading("## Work Package WP01"), Some((2, "Work Package WP01")));
        assert_eq!(heading("# Title  "), Some((1, "Title")));
        assert_eq!(heading("#tag"), None);
        assert_eq!(heading("####### seven"), None);
        assert_eq!(heading("    ## indented code"), None);
    }

    #[test]
    fn lines_inside_fences_are_not_structure() {
        let mut fences = FenceTracker::default();
        let seen: Vec<bool> =
            ["# a", "```bash", "# comment", "~~~", "```", "# b"].iter().map(|line| fences.is_structure(line)).collect();
        assert_eq!(seen, vec![true, false, false, false, false, true]);
    }
}
