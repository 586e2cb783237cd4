//! The agents of one run, resolved from agents.yaml and the `--impl-agent` / `--review-agent` choices:
//! who may implement and who may review, in fallback order, how each is run, and which one takes a try.

use super::agents::{Phase, agent_identity};
use super::command::CommandTemplate;
use super::config::{AgentsConfig, FallbackStrategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An agent that takes part in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RosterAgent {
    /// As agents.yaml names it; this goes into events and logs.
    pub id: String,
    /// Aliases resolved ([`agent_identity`]): what "the same agent" means for reviews.
    pub identity: String,
    pub max_concurrent: u32,
    pub timeout_ms: u64,
    pub command: CommandTemplate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Roster {
    pub agents: Vec<RosterAgent>,
    /// Ids of `agents`, in fallback order.
    pub implementation: Vec<String>,
    pub review: Vec<String>,
    pub fallback: FallbackStrategy,
    pub max_retries: u32,
    pub global_concurrency: u32,
    pub global_timeout_ms: u64,
}

/// The agents the user chose on the command line, overriding agents.yaml's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct AgentChoice {
    pub implementation: Option<String>,
    pub review: Option<String>,
}

/// Why the agents cannot run this feature; each names the flag or the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("{flag} {id}: no such agent in agents.yaml (agents: {known})")]
    UnknownAgent { flag: &'static str, id: String, known: String },
    #[error("{source_name}: agent `{id}` is disabled (enabled: false)")]
    Disabled { source_name: String, id: String },
    #[error("{source_name}: agent `{id}` does not take the {phase} role (its roles)")]
    WrongRole { source_name: String, id: String, phase: Phase },
    #[error(
        "agents.{id}.command is missing: spec-kitty builds no agent command line of its own (see the README for examples)"
    )]
    MissingCommand { id: String },
    #[error("no enabled agent takes the {phase} role (defaults.{phase} and each agent's roles)")]
    NoAgentFor { phase: Phase },
    #[error(
        "no reviewer other than `{implementer}` itself: an agent never reviews its own work, so add another agent to defaults.review or --review-agent"
    )]
    NoOtherReviewer { implementer: String },
}

impl crate::error_kind::ErrorKind for RosterError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

impl Roster {
    /// The run's agents: the chosen agent of each phase, else agents.yaml's `defaults` list for it
    /// (single_agent_mode: only that agent), else every enabled agent with the role, in file order.
    /// Every agent that may be asked to work needs a command, and every implementer a reviewer that
    /// is not itself.
    pub fn from_config(config: &AgentsConfig, choice: &AgentChoice) -> Result<Roster, RosterError> {
        let mut lists = BTreeMap::new();
        for phase in Phase::BOTH {
            let chosen = match phase {
                Phase::Implementation => choice.implementation.as_deref().map(|id| ("--impl-agent", id)),
                Phase::Review => choice.review.as_deref().map(|id| ("--review-agent", id)),
            };
            let list: Vec<String> = if let Some((flag, id)) = chosen {
                let entry = find(config, id).ok_or_else(|| RosterError::UnknownAgent {
                    flag,
                    id: id.to_string(),
                    known: config.agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", "),
                })?;
                usable(config, &entry.id, phase, flag)?;
                vec![entry.id.clone()]
            } else if let Some(single) = &config.single_agent {
                usable(config, single, phase, "single_agent_mode.agent")?;
                vec![single.clone()]
            } else if let Some(defaults) = config.defaults(phase) {
                let mut usable_ids = Vec::new();
                for (index, id) in defaults.iter().enumerate() {
                    let source = format!("defaults.{phase}[{index}]");
                    match usable(config, id, phase, &source) {
                        Ok(()) if !usable_ids.contains(id) => usable_ids.push(id.clone()),
                        Ok(()) => {}
                        // A disabled agent in the list is skipped, as upstream skips it.
                        Err(RosterError::Disabled { .. }) => {}
                        Err(other) => return Err(other),
                    }
                }
                usable_ids
            } else {
                let with_role = config.agents.iter().filter(|a| a.enabled && a.roles.contains(&phase));
                with_role.map(|a| a.id.clone()).collect()
            };
            if list.is_empty() {
                return Err(RosterError::NoAgentFor { phase });
            }
            lists.insert(phase, list);
        }
        let implementation = lists.remove(&Phase::Implementation).unwrap_or_default();
        let review = lists.remove(&Phase::Review).unwrap_or_default();
        let mut agents: Vec<RosterAgent> = Vec::new();
        for id in implementation.iter().chain(&review) {
            if agents.iter().any(|agent| &agent.id == id) {
                continue;
            }
            let Some(entry) = config.agent(id) else { continue };
            let command = entry.command.clone().ok_or_else(|| RosterError::MissingCommand { id: id.clone() })?;
            agents.push(RosterAgent {
                id: id.clone(),
                identity: agent_identity(id),
                max_concurrent: entry.max_concurrent,
                timeout_ms: entry.timeout_seconds.saturating_mul(1000),
                command,
            });
        }
        let roster = Roster {
            agents,
            implementation,
            review,
            fallback: config.fallback_strategy,
            max_retries: if config.fallback_strategy == FallbackStrategy::Fail { 0 } else { config.max_retries },
            global_concurrency: config.global_concurrency,
            global_timeout_ms: config.global_timeout_seconds.saturating_mul(1000),
        };
        for implementer in &roster.implementation {
            let identity = agent_identity(implementer);
            if !roster.review.iter().any(|reviewer| agent_identity(reviewer) != identity) {
                return Err(RosterError::NoOtherReviewer { implementer: implementer.clone() });
            }
        }
        Ok(roster)
    }

    pub fn agent(&self, id: &str) -> Option<&RosterAgent> {
        self.agents.iter().find(|agent| agent.id == id)
    }

    /// The phase's agents in fallback order.
    pub fn candidates(&self, phase: Phase) -> &[String] {
        match phase {
            Phase::Implementation => &self.implementation,
            Phase::Review => &self.review,
        }
    }

    /// The agent for a try: the phase's list turned by `failures` earlier failures (next_in_list;
    /// same_agent keeps the first), without the implementer's own identity for a review; the first of
    /// those with a free place (`running` says how many runs each agent has). `None` when all of them
    /// are busy (the try waits) or none may take it.
    pub fn choose(
        &self,
        phase: Phase,
        failures: u32,
        not_identity: Option<&str>,
        running: &BTreeMap<String, u32>,
    ) -> Option<&RosterAgent> {
        let eligible: Vec<&RosterAgent> = self
            .candidates(phase)
            .iter()
            .filter_map(|id| self.agent(id))
            .filter(|agent| not_identity.is_none_or(|own| agent.identity != own))
            .collect();
        if eligible.is_empty() {
            return None;
        }
        let order: Vec<&RosterAgent> = match self.fallback {
            FallbackStrategy::NextInList => {
                let start = failures as usize % eligible.len();
                eligible[start..].iter().chain(&eligible[..start]).copied().collect()
            }
            FallbackStrategy::SameAgent | FallbackStrategy::Fail => vec![eligible[0]],
        };
        order.into_iter().find(|agent| running.get(&agent.id).copied().unwrap_or(0) < agent.max_concurrent)
    }

    /// The agent that would take the first try of a phase with nobody busy: what `--dry-run` shows.
    pub fn first_choice(&self, phase: Phase, not_identity: Option<&str>) -> Option<&RosterAgent> {
        self.choose(phase, 0, not_identity, &BTreeMap::new())
    }
}

/// An entry by its id, else by its identity (`--impl-agent claude` finds `claude-code`).
fn find<'a>(config: &'a AgentsConfig, id: &str) -> Option<&'a super::config::AgentEntry> {
    config.agent(id).or_else(|| {
        let identity = agent_identity(id);
        let mut same = config.agents.iter().filter(|entry| agent_identity(&entry.id) == identity);
        match (same.next(), same.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    })
}

fn usable(config: &AgentsConfig, id: &str, phase: Phase, source: &str) -> Result<(), RosterError> {
    let Some(entry) = config.agent(id) else {
        let known = config.agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ");
        return Err(RosterError::UnknownAgent { flag: "agent", id: id.to_string(), known });
    };
    if !entry.enabled {
        return Err(RosterError::Disabled { source_name: source.to_string(), id: id.to_string() });
    }
    if !entry.roles.contains(&phase) {
        return Err(RosterError::WrongRole { source_name: source.to_string(), id: id.to_string(), phase });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> AgentsConfig {
        AgentsConfig::from_yaml("agents.yaml", text).expect("valid config")
    }

    const TWO: &str = "defaults:\n  implementation: [a, b]\n  review: [b, a]\nagents:\n  a:\n    command: run-a\n  b:\n    command: run-b\n    max_concurrent: 1\n";

    #[test]
    fn the_fallback_order_turns_with_failures_and_skips_busy_agents() {
        let roster = Roster::from_config(&config(TWO), &AgentChoice::default()).expect("valid");
        let idle = BTreeMap::new();
        let id = |agent: Option<&RosterAgent>| agent.map(|a| a.id.clone());
        assert_eq!(id(roster.choose(Phase::Implementation, 0, None, &idle)).as_deref(), Some("a"));
        assert_eq!(id(roster.choose(Phase::Implementation, 1, None, &idle)).as_deref(), Some("b"));
        assert_eq!(id(roster.choose(Phase::Implementation, 2, None, &idle)).as_deref(), Some("a"));
        let b_busy = BTreeMap::from([("b".to_string(), 1)]);
        assert_eq!(id(roster.choose(Phase::Implementation, 1, None, &b_busy)).as_deref(), Some("a"));
        let all_busy = BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 1)]);
        assert_eq!(roster.choose(Phase::Implementation, 0, None, &all_busy), None);
        // Review: never the implementer, whatever the rotation.
        for failures in 0..4 {
            assert_eq!(id(roster.choose(Phase::Review, failures, Some("b"), &idle)).as_deref(), Some("a"));
        }
        assert_eq!(roster.choose(Phase::Review, 0, Some("a"), &b_busy), None, "b busy: wait, never a");
    }

    #[test]
    fn aliases_are_one_agent_for_reviews() {
        let text = "agents:\n  claude:\n    command: c1\n    roles: [implementation]\n  claude-code:\n    command: c2\n    roles: [review]\n";
        let err = Roster::from_config(&config(text), &AgentChoice::default()).expect_err("claude reviews claude");
        assert!(matches!(err, RosterError::NoOtherReviewer { .. }), "{err}");
        let one = "agents:\n  a:\n    command: x\n";
        let err = Roster::from_config(&config(one), &AgentChoice::default()).expect_err("a alone");
        assert!(err.to_string().contains("never reviews its own work"), "{err}");
    }

    #[test]
    fn choices_override_defaults_and_are_checked() {
        let choice = AgentChoice { implementation: Some("b".into()), review: Some("a".into()) };
        let roster = Roster::from_config(&config(TWO), &choice).expect("valid");
        assert_eq!(
            (roster.implementation.clone(), roster.review.clone()),
            (vec!["b".to_string()], vec!["a".to_string()])
        );
        let unknown = AgentChoice { implementation: Some("zed".into()), review: None };
        assert_eq!(
            Roster::from_config(&config(TWO), &unknown).expect_err("unknown").to_string(),
            "--impl-agent zed: no such agent in agents.yaml (agents: a, b)"
        );
        let same = AgentChoice { implementation: Some("a".into()), review: Some("a".into()) };
        assert!(matches!(Roster::from_config(&config(TWO), &same), Err(RosterError::NoOtherReviewer { .. })));
        let no_command = "agents:\n  a:\n    command: x\n  b: true\n";
        assert_eq!(
            Roster::from_config(&config(no_command), &AgentChoice::default()).expect_err("b has none").to_string(),
            "agents.b.command is missing: spec-kitty builds no agent command line of its own (see the README for examples)"
        );
        let wrong_role = "agents:\n  a:\n    command: x\n    roles: [review]\n  b:\n    command: y\n";
        let choice = AgentChoice { implementation: Some("a".into()), review: None };
        assert!(matches!(Roster::from_config(&config(wrong_role), &choice), Err(RosterError::WrongRole { .. })));
    }

    #[test]
    fn a_chosen_agent_is_found_by_its_alias() {
        let text = "agents:\n  claude-code:\n    command: claude -p\n  auggie:\n    command: auggie\n";
        let choice = AgentChoice { implementation: Some("claude".into()), review: Some("augment".into()) };
        let roster = Roster::from_config(&config(text), &choice).expect("aliases resolve");
        assert_eq!((roster.implementation[0].as_str(), roster.review[0].as_str()), ("claude-code", "auggie"));
        let same = AgentChoice { implementation: Some("claude".into()), review: Some("claude-code".into()) };
        assert!(matches!(Roster::from_config(&config(text), &same), Err(RosterError::NoOtherReviewer { .. })));
    }

    #[test]
    fn fail_strategy_allows_no_retries_and_disabled_defaults_are_skipped() {
        let text = "fallback_strategy: fail\ndefaults:\n  implementation: [c, a]\nagents:\n  a:\n    command: x\n  b:\n    command: y\n  c: false\n";
        let roster = Roster::from_config(&config(text), &AgentChoice::default()).expect("valid");
        assert_eq!(roster.max_retries, 0);
        assert_eq!(roster.implementation, ["a"]);
        assert_eq!(roster.review, ["a", "b"], "every enabled reviewer in file order");
    }
}
