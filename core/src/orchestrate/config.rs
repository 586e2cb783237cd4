//! `.kittify/agents.yaml` as upstream's users write it, plus each agent's `command`.
//!
//! ```yaml
//! defaults:                        # per phase, the fallback order
//!   implementation: [claude, codex]
//!   review: [codex, claude]
//! agents:
//!   claude:
//!     enabled: true                # default true
//!     roles: [implementation, review]
//!     max_concurrent: 2            # runs of this agent at once
//!     timeout_seconds: 600         # per run
//!     command: "claude -p"         # or a list of words; see `command`
//!   codex: false                   # upstream's short form: enabled or not
//! fallback_strategy: next_in_list  # or same_agent, fail
//! max_retries: 3                   # failed tries of a phase after the first
//! single_agent_mode: {enabled: false, agent: null}
//! global_concurrency: 5            # WPs in progress at once (--max-parallel overrides)
//! global_timeout: 3600             # seconds one orchestrate invocation may run
//! ```
//!
//! Parsing is strict: an unknown key (a typo) is an error naming it, as is every wrong value; each
//! error names the file, the field, and the line when the YAML reader knows it.

use super::agents::{Phase, check_agent_id};
use super::command::CommandTemplate;
use raw::{BoolOr, RawAgent, RawCommand, RawConfig, RawDefaults, RawSingleAgentMode};
use serde::{Deserialize, Serialize};

/// Where the configuration lives, relative to the repository root.
pub const AGENTS_FILE: &str = ".kittify/agents.yaml";

pub const DEFAULT_MAX_CONCURRENT: u32 = 2;
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 600;
pub const DEFAULT_MAX_RETRIES: u32 = 3;
pub const DEFAULT_GLOBAL_CONCURRENCY: u32 = 5;
pub const DEFAULT_GLOBAL_TIMEOUT_SECONDS: u64 = 3600;
/// More agents than anyone runs; the scheduler looks agents up by scanning the list, which stays
/// quick at this size (a file of tens of thousands of entries would make every choice slow).
pub const MAX_AGENTS: usize = 256;

/// What to do when a try fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum FallbackStrategy {
    /// The next try goes to the next agent of the phase's list (round the list), up to max_retries.
    #[default]
    NextInList,
    /// Every try goes to the first agent of the list, up to max_retries.
    SameAgent,
    /// The first failure fails the WP.
    Fail,
}

/// One entry of `agents:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentEntry {
    pub id: String,
    pub enabled: bool,
    pub roles: Vec<Phase>,
    /// Upstream's priority; kept so its files read, not used (the `defaults` lists give the order).
    pub priority: Option<i64>,
    pub max_concurrent: u32,
    pub timeout_seconds: u64,
    pub command: Option<CommandTemplate>,
}

/// The whole file, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentsConfig {
    pub version: String,
    /// `defaults.implementation`: the fallback order of implementers, when given.
    pub implementation: Option<Vec<String>>,
    /// `defaults.review`: the fallback order of reviewers, when given.
    pub review: Option<Vec<String>>,
    /// In file order.
    pub agents: Vec<AgentEntry>,
    pub fallback_strategy: FallbackStrategy,
    pub max_retries: u32,
    /// `single_agent_mode.agent` when `single_agent_mode.enabled`.
    pub single_agent: Option<String>,
    pub global_concurrency: u32,
    pub global_timeout_seconds: u64,
}

/// Why agents.yaml cannot be used, naming the file, the field and, when known, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct ConfigError {
    pub file: String,
    pub field: String,
    pub line: Option<usize>,
    pub message: String,
}

impl crate::error_kind::ErrorKind for ConfigError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

impl AgentsConfig {
    /// Parses and checks the text of agents.yaml, called `file` in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<AgentsConfig, ConfigError> {
        let error = |field: &str, message: String| ConfigError {
            file: file.to_string(),
            field: field.to_string(),
            line: None,
            message,
        };
        if text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#')) {
            return Err(error(
                "",
                "no agents configured (`spec-kitty agent config init` writes a starter file)".to_string(),
            ));
        }
        let raw: RawConfig =
            serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let line = inner.location().map(|location| location.line());
                let message = strip_path(&strip_location(&inner.to_string()), &path);
                ConfigError {
                    file: file.to_string(),
                    field: if path == "." { String::new() } else { path },
                    line,
                    message,
                }
            })?;
        let located = |(field, message): Problem| error(&field, message);
        let agents = raw.agents.map(|agents| agents.0).unwrap_or_default();
        if agents.len() > MAX_AGENTS {
            return Err(error("agents", format!("{} agents: at most {MAX_AGENTS}", agents.len())));
        }
        let mut entries: Vec<AgentEntry> = Vec::with_capacity(agents.len());
        let mut seen = std::collections::BTreeSet::new();
        for (id, value) in agents {
            if !seen.insert(id.clone()) {
                return Err(error(&format!("agents.{id}"), "listed twice".to_string()));
            }
            entries.push(agent_entry(id, value).map_err(located)?);
        }
        if entries.is_empty() {
            return Err(error("agents", "no agents configured".to_string()));
        }
        if !entries.iter().any(|entry| entry.enabled) {
            return Err(error("agents", "no agent is enabled".to_string()));
        }
        let defaults = raw.defaults.unwrap_or_default();
        known_defaults(&entries, &defaults).map_err(located)?;
        let single_agent = single_agent(&entries, raw.single_agent_mode).map_err(located)?;
        let global_concurrency = raw.global_concurrency.unwrap_or(DEFAULT_GLOBAL_CONCURRENCY);
        at_least_one(global_concurrency as u64).map_err(|m| error("global_concurrency", m))?;
        let global_timeout_seconds = raw.global_timeout.unwrap_or(DEFAULT_GLOBAL_TIMEOUT_SECONDS);
        at_least_one(global_timeout_seconds).map_err(|m| error("global_timeout", m))?;
        Ok(AgentsConfig {
            version: raw.version.map(|v| v.0).unwrap_or_else(|| "1.0".to_string()),
            implementation: defaults.implementation,
            review: defaults.review,
            agents: entries,
            fallback_strategy: raw.fallback_strategy.unwrap_or_default(),
            max_retries: raw.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            single_agent,
            global_concurrency,
            global_timeout_seconds,
        })
    }

    pub fn agent(&self, id: &str) -> Option<&AgentEntry> {
        self.agents.iter().find(|entry| entry.id == id)
    }

    /// The phase's `defaults` list when the file gives one.
    pub fn defaults(&self, phase: Phase) -> Option<&[String]> {
        match phase {
            Phase::Implementation => self.implementation.as_deref(),
            Phase::Review => self.review.as_deref(),
        }
    }
}

/// A field and what is wrong with it.
type Problem = (String, String);

/// One entry of `agents:`, its values checked.
fn agent_entry(id: String, value: BoolOr<RawAgent>) -> Result<AgentEntry, Problem> {
    let field = format!("agents.{id}");
    check_agent_id(&id).map_err(|why| (field.clone(), why))?;
    let agent = match value {
        BoolOr::Bool(enabled) => {
            return Ok(AgentEntry {
                id,
                enabled,
                roles: Phase::BOTH.to_vec(),
                priority: None,
                max_concurrent: DEFAULT_MAX_CONCURRENT,
                timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
                command: None,
            });
        }
        BoolOr::Value(agent) => agent,
    };
    let command = match agent.command {
        None => None,
        Some(RawCommand::Line(line)) => Some(CommandTemplate::from_line(&line)),
        Some(RawCommand::Words(words)) => Some(CommandTemplate::from_words(words)),
    }
    .transpose()
    .map_err(|e| (format!("{field}.command"), e.to_string()))?;
    let max_concurrent = agent.max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT);
    let timeout_seconds = agent.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    at_least_one(max_concurrent as u64).map_err(|m| (format!("{field}.max_concurrent"), m))?;
    at_least_one(timeout_seconds).map_err(|m| (format!("{field}.timeout_seconds"), m))?;
    let roles = agent.roles.unwrap_or_else(|| Phase::BOTH.to_vec());
    if roles.is_empty() {
        return Err((format!("{field}.roles"), "empty: give implementation, review or both".into()));
    }
    Ok(AgentEntry {
        id,
        enabled: agent.enabled.unwrap_or(true),
        roles,
        priority: agent.priority,
        max_concurrent,
        timeout_seconds,
        command,
    })
}

/// Every agent the `defaults` lists name is one of `agents:`.
fn known_defaults(entries: &[AgentEntry], defaults: &RawDefaults) -> Result<(), Problem> {
    for (phase, list) in [("implementation", &defaults.implementation), ("review", &defaults.review)] {
        for (index, id) in list.iter().flatten().enumerate() {
            if !entries.iter().any(|entry| &entry.id == id) {
                let known: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
                let message = format!("unknown agent `{id}` (agents: {})", known.join(", "));
                return Err((format!("defaults.{phase}[{index}]"), message));
            }
        }
    }
    Ok(())
}

/// The agent `single_agent_mode` names when it is enabled: one of `agents:`, enabled.
fn single_agent(entries: &[AgentEntry], mode: Option<BoolOr<RawSingleAgentMode>>) -> Result<Option<String>, Problem> {
    let field = "single_agent_mode.agent".to_string();
    match mode {
        None | Some(BoolOr::Bool(false)) => Ok(None),
        Some(BoolOr::Bool(true)) => {
            Err(("single_agent_mode".into(), "enabled without an agent: write {enabled: true, agent: ID}".into()))
        }
        Some(BoolOr::Value(mode)) if !mode.enabled.unwrap_or(false) => Ok(None),
        Some(BoolOr::Value(mode)) => {
            let Some(agent) = mode.agent else {
                return Err((field, "missing, and single_agent_mode is enabled".into()));
            };
            match entries.iter().find(|entry| entry.id == agent) {
                None => Err((field, format!("unknown agent `{agent}`"))),
                Some(entry) if !entry.enabled => Err((field, format!("`{agent}` is not enabled"))),
                Some(_) => Ok(Some(agent)),
            }
        }
    }
}

fn at_least_one(value: u64) -> Result<(), String> {
    if value >= 1 { Ok(()) } else { Err(format!("must be at least 1, not {value}")) }
}

/// serde_yaml's message without the path it puts in front (`agents.a: unknown field ...`), which the
/// error reports as its field already.
fn strip_path(message: &str, path: &str) -> String {
    match message.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && path.starts_with(head) => rest.to_string(),
        _ => message.to_string(),
    }
}

/// serde_yaml's message without the " at line L column C" it appends (the line is reported apart).
fn strip_location(message: &str) -> String {
    let one_line = message.replace('\n', " ");
    match one_line.rfind(" at line ") {
        Some(at) if one_line[at..].contains(" column ") => one_line[..at].to_string(),
        _ => one_line,
    }
}

mod raw;
#[cfg(test)]
mod tests;
