//! An agent's command line from agents.yaml: the program and its arguments, with placeholders for the
//! prompt file, the worktree and the phase.
//!
//! The command is never given to a shell: a line is split into words as a shell would split it (quotes
//! and backslashes, no variables, globs or operators), and placeholders are replaced inside each word,
//! so a path with spaces or quotes stays one argument. Who wants shell syntax writes
//! `command: [sh, -c, "..."]`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The placeholders a command may use, each replaced by the value of one run.
pub const PLACEHOLDERS: [&str; 5] = ["prompt_file", "worktree", "phase", "wp", "feature"];

/// Words a shell would treat as operators: written unquoted in a command line they are a mistake here.
const SHELL_OPERATORS: [&str; 10] = ["|", "||", "&", "&&", ";", "<", ">", ">>", "2>", "2>&1"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(as = "Vec<String>"))]
pub struct CommandTemplate {
    words: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the command is empty")]
    Empty,
    #[error("unterminated {0} quote")]
    UnterminatedQuote(&'static str),
    #[error("a backslash ends the line")]
    TrailingBackslash,
    #[error(
        "`{0}` is shell syntax, and the command is not run by a shell: write `command: [sh, -c, \"...\"]` for that (the prompt also comes on stdin)"
    )]
    ShellOperator(String),
    #[error(
        "unknown placeholder `{{{name}}}` in `{word}`: known are {{prompt_file}}, {{worktree}}, {{phase}}, {{wp}}, {{feature}} (write {{{{ and }}}} for literal braces)"
    )]
    UnknownPlaceholder { name: String, word: String },
    #[error("unmatched `{brace}` in `{word}` (write {{{{ and }}}} for literal braces)")]
    UnmatchedBrace { brace: char, word: String },
    #[error("the program `{0}` must be written out, without placeholders, so it can be checked before the run")]
    PlaceholderInProgram(String),
}

impl crate::error_kind::ErrorKind for CommandError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

/// The values of one agent run, for the placeholders.
#[derive(Debug, Clone, Copy)]
pub struct CommandValues<'a> {
    pub prompt_file: &'a str,
    pub worktree: &'a str,
    pub phase: &'a str,
    pub wp: &'a str,
    pub feature: &'a str,
}

impl CommandValues<'_> {
    fn get(&self, name: &str) -> &str {
        match name {
            "prompt_file" => self.prompt_file,
            "worktree" => self.worktree,
            "phase" => self.phase,
            "wp" => self.wp,
            _ => self.feature,
        }
    }
}

/// A piece of a word: literal text or a placeholder.
enum Piece<'a> {
    Text(String),
    Placeholder(&'a str),
}

fn pieces(word: &str) -> Result<Vec<Piece<'_>>, CommandError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = word;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            text.push(c);
            rest = &rest[2..];
        } else if c == '{' {
            let Some(end) = rest.find('}') else {
                return Err(CommandError::UnmatchedBrace { brace: '{', word: word.to_string() });
            };
            let name = &rest[1..end];
            if !PLACEHOLDERS.contains(&name) {
                return Err(CommandError::UnknownPlaceholder { name: name.to_string(), word: word.to_string() });
            }
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Placeholder(name));
            rest = &rest[end + 1..];
        } else if c == '}' {
            return Err(CommandError::UnmatchedBrace { brace: '}', word: word.to_string() });
        } else {
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Splits a line into words the way a POSIX shell splits a simple command (quotes, backslashes);
/// each word also says whether any of it was quoted (a quoted `|` is an argument, not an operator).
fn split_words(line: &str) -> Result<Vec<(String, bool)>, CommandError> {
    let mut words = Vec::new();
    let mut word: Option<(String, bool)> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let (text, quoted) = word.get_or_insert_with(|| (String::new(), true));
                *quoted = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err(CommandError::UnterminatedQuote("single")),
                    }
                }
            }
            '"' => {
                let (text, quoted) = word.get_or_insert_with(|| (String::new(), true));
                *quoted = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => text.push(escaped),
                            Some('\n') => {}
                            Some(other) => {
                                text.push('\\');
                                text.push(other);
                            }
                            None => return Err(CommandError::UnterminatedQuote("double")),
                        },
                        Some(c) => text.push(c),
                        None => return Err(CommandError::UnterminatedQuote("double")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(escaped) => {
                    let (text, quoted) = word.get_or_insert_with(|| (String::new(), true));
                    text.push(escaped);
                    *quoted = true;
                }
                None => return Err(CommandError::TrailingBackslash),
            },
            c => word.get_or_insert_with(|| (String::new(), false)).0.push(c),
        }
    }
    if let Some(done) = word {
        words.push(done);
    }
    Ok(words)
}

impl CommandTemplate {
    /// A command written as one line, split as a shell would split it.
    pub fn from_line(line: &str) -> Result<CommandTemplate, CommandError> {
        let words = split_words(line)?;
        if let Some((operator, _)) =
            words.iter().find(|(word, quoted)| !quoted && SHELL_OPERATORS.contains(&word.as_str()))
        {
            return Err(CommandError::ShellOperator(operator.clone()));
        }
        CommandTemplate::from_words(words.into_iter().map(|(word, _)| word).collect())
    }

    /// A command written as a list of words, each one argument as it stands.
    pub fn from_words(words: Vec<String>) -> Result<CommandTemplate, CommandError> {
        let Some(program) = words.first() else { return Err(CommandError::Empty) };
        if program.trim().is_empty() {
            return Err(CommandError::Empty);
        }
        for word in &words {
            pieces(word)?;
        }
        if pieces(program)?.iter().any(|piece| matches!(piece, Piece::Placeholder(_))) {
            return Err(CommandError::PlaceholderInProgram(program.clone()));
        }
        Ok(CommandTemplate { words })
    }

    /// The program as written: a name looked up on PATH, or a path.
    pub fn program(&self) -> &str {
        &self.words[0]
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The argument vector of one run, every placeholder replaced.
    pub fn render(&self, values: &CommandValues) -> Vec<String> {
        self.words
            .iter()
            .map(|word| {
                // Checked on construction; a word that fails here is kept as written.
                let Ok(parts) = pieces(word) else { return word.clone() };
                parts
                    .iter()
                    .map(|piece| match piece {
                        Piece::Text(text) => text.as_str(),
                        Piece::Placeholder(name) => values.get(name),
                    })
                    .collect()
            })
            .collect()
    }
}

impl TryFrom<Vec<String>> for CommandTemplate {
    type Error = CommandError;
    fn try_from(words: Vec<String>) -> Result<Self, CommandError> {
        CommandTemplate::from_words(words)
    }
}

impl From<CommandTemplate> for Vec<String> {
    fn from(command: CommandTemplate) -> Vec<String> {
        command.words
    }
}

impl fmt::Display for CommandTemplate {
    /// The words joined by spaces, those with spaces or quotes single-quoted: for messages only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .words
            .iter()
            .map(|word| {
                if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./{}=:,@+".contains(c)) {
                    word.clone()
                } else {
                    format!("'{}'", word.replace('\'', r"'\''"))
                }
            })
            .collect();
        f.write_str(&shown.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: CommandValues = CommandValues {
        prompt_file: "/tmp/a b/prompt.md",
        worktree: "/repo/.worktrees/028-x-WP01",
        phase: "review",
        wp: "WP01",
        feature: "028-x",
    };

    #[test]
    fn a_line_splits_like_a_shell_and_placeholders_stay_one_argument() {
        let command =
            CommandTemplate::from_line(r#"agent -p --cwd {worktree} "two words" 'it''s' a\ b --file={prompt_file}"#)
                .expect("valid");
        assert_eq!(command.program(), "agent");
        assert_eq!(
            command.render(&VALUES),
            [
                "agent",
                "-p",
                "--cwd",
                "/repo/.worktrees/028-x-WP01",
                "two words",
                "its",
                "a b",
                "--file=/tmp/a b/prompt.md"
            ]
        );
        let json = CommandTemplate::from_line(r#"x --json '{{"phase":"{phase}"}}'"#).expect("escaped braces");
        assert_eq!(json.render(&VALUES)[2], r#"{"phase":"review"}"#);
    }

    #[test]
    fn mistakes_are_named() {
        let err = |line: &str| CommandTemplate::from_line(line).expect_err(line).to_string();
        assert!(err("agent {prompt}").contains("unknown placeholder `{prompt}`"), "{}", err("agent {prompt}"));
        assert!(err("agent < {prompt_file}").contains("`<` is shell syntax"));
        assert!(err("agent 'open").contains("unterminated single quote"));
        assert!(err("{worktree}/agent").contains("must be written out"));
        assert!(err("   ").contains("empty"));
        assert!(err("agent {wp").contains("unmatched `{`"));
        // Quoted, an operator is an argument.
        assert_eq!(CommandTemplate::from_line("sh -c 'a | b'").expect("quoted").words()[2], "a | b");
        assert!(CommandTemplate::from_words(vec![]).is_err());
    }

    #[test]
    fn serialises_as_its_words() {
        let command = CommandTemplate::from_line("agent --phase {phase}").expect("valid");
        let json = serde_json::to_string(&command).expect("serialises");
        assert_eq!(json, r#"["agent","--phase","{phase}"]"#);
        assert_eq!(serde_json::from_str::<CommandTemplate>(&json).expect("round trip"), command);
        assert!(serde_json::from_str::<CommandTemplate>(r#"["a","{nope}"]"#).is_err());
        assert_eq!(command.to_string(), "agent --phase {phase}");
    }
}
