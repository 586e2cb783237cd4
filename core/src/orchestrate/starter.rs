//! The commented agents.yaml `spec-kitty agent config init` writes, listing the agent CLIs the host
//! found on PATH. It holds no agent's flags: each `command` is the bare program, for the user to
//! complete with the flags their agent needs to work unattended (the README shows examples).

use super::agents::KnownAgent;
use super::config::{DEFAULT_GLOBAL_CONCURRENCY, DEFAULT_GLOBAL_TIMEOUT_SECONDS, DEFAULT_MAX_RETRIES};

/// An installed agent: which one, and where its program is.
#[derive(Debug, Clone)]
pub struct FoundAgent {
    pub agent: KnownAgent,
    pub path: String,
}

/// The short id a starter file gives an agent: its first alias when it has one (`claude`), as users
/// and events name it.
fn short_id(agent: &KnownAgent) -> &'static str {
    agent.aliases.first().copied().unwrap_or(agent.id)
}

/// The starter file. With no agent found, it lists the README's three as disabled examples.
pub fn starter_yaml(found: &[FoundAgent]) -> String {
    let mut text = String::from(
        "# Agents for `spec-kitty orchestrate`: who implements and who reviews each work package.\n\
         #\n\
         # Each agent runs in the work package's worktree with the prompt on stdin. `command` is the program\n\
         # and its arguments, run without a shell; these placeholders are replaced in any argument:\n\
         #   {prompt_file} the prompt file   {worktree} the worktree   {phase} implementation or review\n\
         #   {wp} the work package id        {feature} the feature slug\n\
         # spec-kitty adds no flags of its own: give each agent the flags it needs to work unattended,\n\
         # and only the permissions you want it to have (the README has examples for claude, codex, opencode).\n\
         # A reviewer must end its output with `VERDICT: approved` or `VERDICT: rejected <reason>`.\n\
         # An agent never reviews its own work, so review needs a second agent.\n",
    );
    if found.is_empty() {
        text.push_str("#\n# No agent CLI was found on PATH; enable one below once it is installed.\n");
    } else {
        text.push_str("#\n# Found on PATH:\n");
        for agent in found {
            text.push_str(&format!("#   {} ({})\n", short_id(&agent.agent), agent.path));
        }
    }
    let examples: Vec<KnownAgent> = super::agents::KNOWN_AGENTS
        .iter()
        .filter(|known| ["claude-code", "codex", "opencode"].contains(&known.id))
        .copied()
        .collect();
    let (listed, enabled): (Vec<KnownAgent>, bool) =
        if found.is_empty() { (examples, false) } else { (found.iter().map(|f| f.agent).collect(), true) };
    let ids: Vec<&str> = listed.iter().map(short_id).collect();
    let mut reviewers = ids.clone();
    if !reviewers.is_empty() {
        reviewers.rotate_left(1);
    }
    text.push_str(&format!(
        "\nversion: \"1.0\"\n\n# Per phase, the order in which agents are tried (a failed try goes to the next).\ndefaults:\n  implementation: [{}]\n  review: [{}]\n\nagents:\n",
        ids.join(", "),
        reviewers.join(", ")
    ));
    for agent in &listed {
        text.push_str(&format!(
            "  {}:\n    enabled: {enabled}\n    roles: [implementation, review]\n    max_concurrent: 2\n    timeout_seconds: 600\n    # Add the flags {} needs to work unattended (see the README).\n    command: \"{}\"\n",
            short_id(agent),
            agent.program,
            agent.program
        ));
    }
    text.push_str(&format!(
        "\n# next_in_list: a failed try goes to the next agent; same_agent: retry the first; fail: no retry.\n\
         fallback_strategy: next_in_list\n\
         # Failed tries of a phase (or rejections of a WP) allowed after the first.\n\
         max_retries: {DEFAULT_MAX_RETRIES}\n\
         # Work packages in progress at once (--max-parallel overrides).\n\
         global_concurrency: {DEFAULT_GLOBAL_CONCURRENCY}\n\
         # Seconds one orchestrate run may take before it stops (it can be resumed).\n\
         global_timeout: {DEFAULT_GLOBAL_TIMEOUT_SECONDS}\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrate::agents::KNOWN_AGENTS;
    use crate::orchestrate::config::AgentsConfig;
    use crate::orchestrate::roster::{AgentChoice, Roster};

    #[test]
    fn the_starter_lists_what_was_found_and_parses() {
        let found: Vec<FoundAgent> = KNOWN_AGENTS
            .iter()
            .filter(|known| ["claude-code", "codex"].contains(&known.id))
            .map(|known| FoundAgent { agent: *known, path: format!("/usr/bin/{}", known.program) })
            .collect();
        let text = starter_yaml(&found);
        assert!(text.contains("#   claude (/usr/bin/claude)") && text.contains("#   codex (/usr/bin/codex)"));
        let config = AgentsConfig::from_yaml("agents.yaml", &text).expect("the starter parses");
        assert_eq!(config.implementation.as_deref(), Some(&["claude".to_string(), "codex".to_string()][..]));
        assert_eq!(config.review.as_deref(), Some(&["codex".to_string(), "claude".to_string()][..]));
        let roster = Roster::from_config(&config, &AgentChoice::default()).expect("two agents can run");
        assert_eq!(roster.agent("claude").map(|a| a.command.words().to_vec()), Some(vec!["claude".to_string()]));
        assert!(!text.contains("--dangerously") && !text.contains("--yolo") && !text.contains("--full-auto"));
    }

    #[test]
    fn with_nothing_found_it_shows_disabled_examples() {
        let text = starter_yaml(&[]);
        assert!(text.contains("No agent CLI was found"));
        let err = AgentsConfig::from_yaml("agents.yaml", &text).expect_err("nothing enabled");
        assert!(err.to_string().contains("no agent is enabled"), "{err}");
        assert!(text.contains("  opencode:\n    enabled: false"));
    }
}
