//! Agents as orchestrate knows them: the phases they work in, the ids upstream's users write (with
//! their aliases), and whether two ids name the same agent.

use crate::events::AssignmentPhase;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an agent does to a WP: implement it, or review someone else's implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Phase {
    Implementation,
    Review,
}

impl Phase {
    pub const BOTH: [Phase; 2] = [Phase::Implementation, Phase::Review];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Implementation => "implementation",
            Phase::Review => "review",
        }
    }

    pub fn assignment(self) -> AssignmentPhase {
        match self {
            Phase::Implementation => AssignmentPhase::Implementation,
            Phase::Review => AssignmentPhase::Review,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent CLI upstream supports: its id, the other names users give it, and its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAgent {
    pub id: &'static str,
    pub aliases: &'static [&'static str],
    /// The program found on PATH when the agent is installed.
    pub program: &'static str,
}

/// Upstream's agents, in its default priority order.
pub const KNOWN_AGENTS: [KnownAgent; 9] = [
    KnownAgent { id: "claude-code", aliases: &["claude"], program: "claude" },
    KnownAgent { id: "codex", aliases: &[], program: "codex" },
    KnownAgent { id: "copilot", aliases: &["github-copilot"], program: "copilot" },
    KnownAgent { id: "gemini", aliases: &[], program: "gemini" },
    KnownAgent { id: "qwen", aliases: &[], program: "qwen" },
    KnownAgent { id: "opencode", aliases: &[], program: "opencode" },
    KnownAgent { id: "kilocode", aliases: &[], program: "kilocode" },
    KnownAgent { id: "augment", aliases: &["auggie"], program: "auggie" },
    KnownAgent { id: "cursor", aliases: &["cursor-agent"], program: "cursor-agent" },
];

/// Who an agent id really is: aliases resolve to upstream's id (`claude` is `claude-code`), case is
/// ignored. Two entries of agents.yaml with the same identity are one agent, so neither reviews the
/// other's work.
pub fn agent_identity(id: &str) -> String {
    let lower = id.trim().to_ascii_lowercase();
    KNOWN_AGENTS
        .iter()
        .find(|known| known.id == lower || known.aliases.contains(&lower.as_str()))
        .map_or(lower, |known| known.id.to_string())
}

/// An agent id as agents.yaml may name one: it goes into events, log file names and the activity log,
/// so it is short printable ASCII without separators.
pub fn check_agent_id(id: &str) -> Result<(), String> {
    let valid_start = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let valid_rest = id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid_start && valid_rest && id.len() <= 64 {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not an agent id: letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most 64"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_one_identity() {
        assert_eq!(agent_identity("claude"), "claude-code");
        assert_eq!(agent_identity("Claude-Code"), "claude-code");
        assert_eq!(agent_identity("auggie"), agent_identity("augment"));
        assert_eq!(agent_identity("my-agent"), "my-agent");
        assert_ne!(agent_identity("codex"), agent_identity("claude"));
    }

    #[test]
    fn ids_are_short_printable_names() {
        assert!(check_agent_id("claude-code").is_ok());
        assert!(check_agent_id("agent_2.b").is_ok());
        for bad in ["", "-x", "a b", "a/b", "a\u{1b}", &"x".repeat(65)] {
            assert!(check_agent_id(bad).is_err(), "{bad:?}");
        }
    }
}
