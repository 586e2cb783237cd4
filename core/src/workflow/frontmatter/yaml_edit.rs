//! Surgical edits of a frontmatter's YAML text. Re-serialising the YAML would reorder keys, drop
//! comments and change quoting all over the file; instead an edit replaces the lines of the one
//! top-level entry it touches and leaves every other byte alone.

use serde_yaml::Value;

use crate::workflow::markdown;

/// The frontmatter keys in the order the contract lists them; a missing key is inserted at its place
/// in this order, so files written by us read the same as files written upstream.
pub(super) const CONTRACT_KEY_ORDER: [&str; 15] = [
    "work_package_id",
    "title",
    "lane",
    "dependencies",
    "base_branch",
    "base_commit",
    "created_at",
    "subtasks",
    "phase",
    "assignee",
    "agent",
    "shell_pid",
    "review_status",
    "reviewed_by",
    "history",
];

/// A top-level `key: ...` entry: its key line and the lines that belong to it (indented lines and
/// `- item` lines; blank and comment lines only when more of the entry follows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyEntry {
    pub key: String,
    /// 0-based line index of the key line within the YAML text.
    pub line_index: usize,
    /// Byte range of the whole entry, line terminators included.
    pub start: usize,
    pub end: usize,
    /// Byte offset where the value on the key line starts (after `key:` and its spaces).
    pub value_start: usize,
    /// Byte offset where the key line's content ends (before its terminator).
    pub key_line_end: usize,
}

pub(super) fn key_entries(yaml: &str) -> Vec<KeyEntry> {
    let mut entries: Vec<KeyEntry> = Vec::new();
    for (line_index, line) in markdown::lines(yaml).enumerate() {
        let content = line.content;
        if content.trim().is_empty() || content.starts_with('#') {
            continue; // belongs to an entry only if a continuation line follows
        }
        let starts_entry = !content.starts_with([' ', '\t', '-']);
        match parse_key_line(content).filter(|_| starts_entry) {
            Some((key, value_offset)) => entries.push(KeyEntry {
                key,
                line_index,
                start: line.start,
                end: line.end,
                value_start: line.start + value_offset,
                key_line_end: line.start + content.len(),
            }),
            None => {
                if let Some(entry) = entries.last_mut() {
                    entry.end = line.end;
                }
            }
        }
    }
    entries
}

/// The key of a `key: value` line and the offset of its value.
fn parse_key_line(line: &str) -> Option<(String, usize)> {
    let (key, key_end) = match line.chars().next()? {
        quote @ ('"' | '\'') => {
            let close = line[1..].find(quote)? + 1;
            (line[1..close].to_string(), close + 1)
        }
        _ => {
            let colon = line
                .char_indices()
                .find(|&(at, c)| c == ':' && line[at + 1..].chars().next().is_none_or(char::is_whitespace))?
                .0;
            (line[..colon].trim_end().to_string(), colon)
        }
    };
    let after_key = &line[key_end..];
    let after_colon = after_key.trim_start().strip_prefix(':')?;
    if !after_colon.is_empty() && !after_colon.starts_with(char::is_whitespace) {
        return None;
    }
    let value_offset = line.len() - after_colon.trim_start().len();
    Some((key, value_offset))
}

/// Splits the value part of a key line into the value and a trailing `# comment` (with the spaces
/// before it), so an edit can keep the comment.
pub(super) fn split_inline_comment(value: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut previous: Option<char> = None;
    let mut chars = value.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some('\'') if c == '\'' && chars.peek().is_some_and(|&(_, next)| next == '\'') => {
                chars.next();
            }
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '#' && previous.is_none_or(char::is_whitespace) => {
                let value_end = value[..at].trim_end().len();
                return (&value[..value_end], &value[value_end..]);
            }
            // A quote opens a quoted scalar only where a scalar can start, not inside `it's`.
            None if (c == '"' || c == '\'') && previous.is_none_or(|p| "[{,: \t".contains(p)) => {
                quote = Some(c);
            }
            None => {}
        }
        previous = Some(c);
    }
    (value, "")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum QuoteStyle {
    Plain,
    Single,
    Double,
}

/// The quoting of an existing value, kept when the value is replaced. Block and flow values
/// become double-quoted scalars, the style the contract's examples use.
pub(super) fn quote_style_of(value: &str) -> QuoteStyle {
    match value.chars().next() {
        Some('"') | None | Some('|' | '>' | '[' | '{') => QuoteStyle::Double,
        Some('\'') => QuoteStyle::Single,
        Some(_) => QuoteStyle::Plain,
    }
}

/// `value` as a YAML scalar in `style`, falling back to double quotes where the style cannot carry it
/// (a plain `123` would read back as a number, a single-quoted string cannot hold a newline).
pub(super) fn format_scalar(value: &str, style: QuoteStyle) -> String {
    match style {
        QuoteStyle::Plain if reads_back_as_plain_string(value) => value.to_string(),
        QuoteStyle::Single if !value.chars().any(needs_escape) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        _ => double_quoted(value),
    }
}

fn reads_back_as_plain_string(value: &str) -> bool {
    if value.is_empty() || value != value.trim() || value.chars().any(needs_escape) {
        return false;
    }
    match serde_yaml::from_str::<Value>(&format!("k: {value}")) {
        Ok(Value::Mapping(mapping)) => mapping.get("k") == Some(&Value::String(value.to_string())),
        _ => false,
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn double_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if needs_escape(c) && (c as u32) <= 0xff => quoted.push_str(&format!("\\x{:02X}", c as u32)),
            c if needs_escape(c) => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn format_key(key: &str) -> String {
    format_scalar(key, QuoteStyle::Plain)
}

/// The YAML text with `key` set to the scalar `value`, keeping the key line's quoting and comment.
pub(super) fn with_scalar(yaml: &str, key: &str, value: &str, eol: &str) -> String {
    replace_or_insert(yaml, key, eol, |existing| match existing {
        Some(line) => {
            let style = quote_style_of(line.value);
            format!("{}{}{}{eol}", line.prefix, format_scalar(value, style), line.comment)
        }
        None => format!("{}: {}{eol}", format_key(key), format_scalar(value, QuoteStyle::Double)),
    })
}

/// The YAML text with `key` set to a block list of double-quoted items (`[]` when empty).
pub(super) fn with_list<S: AsRef<str>>(yaml: &str, key: &str, items: &[S], eol: &str) -> String {
    let mut item_lines = String::new();
    for item in items {
        item_lines.push_str(&format!("  - {}{eol}", double_quoted(item.as_ref())));
    }
    replace_or_insert(yaml, key, eol, |existing| {
        let (key_part, comment) = match existing {
            Some(line) => (line.prefix.trim_end().to_string(), line.comment),
            None => (format!("{}:", format_key(key)), String::new()),
        };
        if items.is_empty() {
            format!("{key_part} []{comment}{eol}")
        } else {
            format!("{key_part}{comment}{eol}{item_lines}")
        }
    })
}

/// The pieces of an existing key line an edit keeps.
struct ExistingKeyLine<'a> {
    /// `key:` and the spaces after it, as written (one space added if there were none).
    prefix: String,
    value: &'a str,
    /// ` # comment`, with at least one space before the `#`; empty when there is none.
    comment: String,
}

fn replace_or_insert(
    yaml: &str,
    key: &str,
    eol: &str,
    render: impl FnOnce(Option<ExistingKeyLine<'_>>) -> String,
) -> String {
    let entries = key_entries(yaml);
    if let Some(entry) = entries.iter().find(|entry| entry.key == key) {
        let (value, comment) = split_inline_comment(&yaml[entry.value_start..entry.key_line_end]);
        let mut prefix = yaml[entry.start..entry.value_start].to_string();
        if !prefix.ends_with(char::is_whitespace) {
            prefix.push(' ');
        }
        let mut comment = comment.to_string();
        if !comment.is_empty() && !comment.starts_with(char::is_whitespace) {
            comment.insert(0, ' '); // its spaces went into the prefix: `key: # note`
        }
        let replacement = render(Some(ExistingKeyLine { prefix, value, comment }));
        return format!("{}{replacement}{}", &yaml[..entry.start], &yaml[entry.end..]);
    }

    let at = insertion_point(yaml, &entries, key);
    let needs_break = at > 0 && !yaml[..at].ends_with('\n');
    let separator = if needs_break { eol } else { "" };
    format!("{}{separator}{}{}", &yaml[..at], render(None), &yaml[at..])
}

/// After the nearest present key that the contract lists before `key`, else before the nearest one
/// it lists after; keys the contract does not name go last.
fn insertion_point(yaml: &str, entries: &[KeyEntry], key: &str) -> usize {
    let find = |name: &str| entries.iter().find(|entry| entry.key == name);
    if let Some(rank) = CONTRACT_KEY_ORDER.iter().position(|known| *known == key) {
        if let Some(earlier) = CONTRACT_KEY_ORDER[..rank].iter().rev().find_map(|name| find(name)) {
            return earlier.end;
        }
        if let Some(later) = CONTRACT_KEY_ORDER[rank + 1..].iter().find_map(|name| find(name)) {
            return later.start;
        }
    }
    yaml.len()
}

#[cfg(test)]
mod tests;
