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
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where the configuration lives, relative to the repository root.
pub const AGENTS_FILE: &str = ".kittify/agents.yaml";

pub const DEFAULT_MAX_CONCURRENT: u32 = 2;
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 600;
pub const DEFAULT_MAX_RETRIES: u32 = 3;
pub const DEFAULT_GLOBAL_CONCURRENCY: u32 = 5;
pub const DEFAULT_GLOBAL_TIMEOUT_SECONDS: u64 = 3600;

/// What to do when a try fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
        let agents = raw.agents.map(|agents| agents.0).unwrap_or_default();
        let mut entries: Vec<AgentEntry> = Vec::with_capacity(agents.len());
        for (id, value) in agents {
            let field = format!("agents.{id}");
            check_agent_id(&id).map_err(|why| error(&field, why))?;
            if entries.iter().any(|entry| entry.id == id) {
                return Err(error(&field, "listed twice".to_string()));
            }
            let entry = match value {
                BoolOr::Bool(enabled) => AgentEntry {
                    id,
                    enabled,
                    roles: Phase::BOTH.to_vec(),
                    priority: None,
                    max_concurrent: DEFAULT_MAX_CONCURRENT,
                    timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
                    command: None,
                },
                BoolOr::Value(agent) => {
                    let command = match agent.command {
                        None => None,
                        Some(RawCommand::Line(line)) => Some(CommandTemplate::from_line(&line)),
                        Some(RawCommand::Words(words)) => Some(CommandTemplate::from_words(words)),
                    }
                    .transpose()
                    .map_err(|e| error(&format!("{field}.command"), e.to_string()))?;
                    let max_concurrent = agent.max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT);
                    let timeout_seconds = agent.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
                    at_least_one(max_concurrent as u64).map_err(|m| error(&format!("{field}.max_concurrent"), m))?;
                    at_least_one(timeout_seconds).map_err(|m| error(&format!("{field}.timeout_seconds"), m))?;
                    let roles = agent.roles.unwrap_or_else(|| Phase::BOTH.to_vec());
                    if roles.is_empty() {
                        return Err(error(
                            &format!("{field}.roles"),
                            "empty: give implementation, review or both".into(),
                        ));
                    }
                    AgentEntry {
                        id,
                        enabled: agent.enabled.unwrap_or(true),
                        roles,
                        priority: agent.priority,
                        max_concurrent,
                        timeout_seconds,
                        command,
                    }
                }
            };
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(error("agents", "no agents configured".to_string()));
        }
        if !entries.iter().any(|entry| entry.enabled) {
            return Err(error("agents", "no agent is enabled".to_string()));
        }
        let defaults = raw.defaults.unwrap_or_default();
        for (phase, list) in [("implementation", &defaults.implementation), ("review", &defaults.review)] {
            for (index, id) in list.iter().flatten().enumerate() {
                if !entries.iter().any(|entry| &entry.id == id) {
                    let known: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
                    return Err(error(
                        &format!("defaults.{phase}[{index}]"),
                        format!("unknown agent `{id}` (agents: {})", known.join(", ")),
                    ));
                }
            }
        }
        let single_agent = match raw.single_agent_mode {
            None | Some(BoolOr::Bool(false)) => None,
            Some(BoolOr::Bool(true)) => {
                return Err(error(
                    "single_agent_mode",
                    "enabled without an agent: write {enabled: true, agent: ID}".into(),
                ));
            }
            Some(BoolOr::Value(mode)) if !mode.enabled.unwrap_or(false) => None,
            Some(BoolOr::Value(mode)) => {
                let Some(agent) = mode.agent else {
                    return Err(error("single_agent_mode.agent", "missing, and single_agent_mode is enabled".into()));
                };
                match entries.iter().find(|entry| entry.id == agent) {
                    None => return Err(error("single_agent_mode.agent", format!("unknown agent `{agent}`"))),
                    Some(entry) if !entry.enabled => {
                        return Err(error("single_agent_mode.agent", format!("`{agent}` is not enabled")));
                    }
                    Some(_) => Some(agent),
                }
            }
        };
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    version: Option<Version>,
    #[serde(default)]
    defaults: Option<RawDefaults>,
    #[serde(default)]
    agents: Option<OrderedAgents>,
    #[serde(default)]
    fallback_strategy: Option<FallbackStrategy>,
    #[serde(default)]
    max_retries: Option<u32>,
    #[serde(default)]
    single_agent_mode: Option<BoolOr<RawSingleAgentMode>>,
    #[serde(default)]
    global_concurrency: Option<u32>,
    #[serde(default)]
    global_timeout: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default)]
    implementation: Option<Vec<String>>,
    #[serde(default)]
    review: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    roles: Option<Vec<Phase>>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    max_concurrent: Option<u32>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
    #[serde(default)]
    command: Option<RawCommand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSingleAgentMode {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    agent: Option<String>,
}

/// `version: 1.0` and `version: "1.0"` alike.
struct Version(String);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a version like \"1.0\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Version, E> {
                Ok(Version(format!("{v:?}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A command as one line or as a list of words.
enum RawCommand {
    Line(String),
    Words(Vec<String>),
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command line, or a list of words")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Line(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    words.push(word);
                }
                Ok(RawCommand::Words(words))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Upstream's short forms: `codex: true` for an agent, `single_agent_mode: false`; null is false.
enum BoolOr<T> {
    Bool(bool),
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for BoolOr<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = BoolOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or a mapping")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<BoolOr<T>, E> {
                Ok(BoolOr::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<BoolOr<T>, E> {
                Ok(BoolOr::Bool(false))
            }
            fn visit_none<E: de::Error>(self) -> Result<BoolOr<T>, E> {
                Ok(BoolOr::Bool(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BoolOr<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(BoolOr::Value)
            }
        }
        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `agents:` in file order (a map type would sort or hash them).
struct OrderedAgents(Vec<(String, BoolOr<RawAgent>)>);

impl<'de> Deserialize<'de> for OrderedAgents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedAgents;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of agent ids to their settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedAgents, A::Error> {
                let mut agents = Vec::new();
                while let Some(id) = map.next_key::<String>()? {
                    agents.push((id, map.next_value()?));
                }
                Ok(OrderedAgents(agents))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OrderedAgents, E> {
                Ok(OrderedAgents(Vec::new()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests;
