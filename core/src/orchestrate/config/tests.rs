use super::*;

const FILE: &str = ".kittify/agents.yaml";

fn parse(text: &str) -> Result<AgentsConfig, ConfigError> {
    AgentsConfig::from_yaml(FILE, text)
}

fn error(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

const UPSTREAM_FILE: &str = r#"
version: '1.0'
defaults:
  implementation:
  - claude-code
  - codex
  review:
  - codex
  - claude-code
agents:
  claude-code:
    enabled: true
    roles:
    - implementation
    - review
    priority: 10
    max_concurrent: 2
    timeout_seconds: 600
    command: claude -p --output-format json
  codex:
    enabled: true
    roles: [implementation, review]
    priority: 20
    max_concurrent: 3
    timeout_seconds: 900
    command: ["codex", "exec", "--cd", "{worktree}", "-"]
  gemini: false
fallback_strategy: next_in_list
max_retries: 3
single_agent_mode:
  enabled: false
  agent: null
global_concurrency: 5
global_timeout: 3600
"#;

#[test]
fn reads_upstreams_file_with_commands() {
    let config = parse(UPSTREAM_FILE).expect("valid");
    assert_eq!(config.version, "1.0");
    assert_eq!(config.implementation.as_deref(), Some(&["claude-code".to_string(), "codex".to_string()][..]));
    assert_eq!(config.defaults(Phase::Review).map(|l| l[0].as_str()), Some("codex"));
    assert_eq!(config.agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["claude-code", "codex", "gemini"]);
    let codex = config.agent("codex").expect("codex");
    assert_eq!((codex.max_concurrent, codex.timeout_seconds, codex.priority), (3, 900, Some(20)));
    assert_eq!(codex.command.as_ref().map(|c| c.words().len()), Some(5));
    assert_eq!(config.agent("claude-code").and_then(|a| a.command.as_ref()).map(|c| c.program()), Some("claude"));
    let gemini = config.agent("gemini").expect("short form");
    assert!(!gemini.enabled);
    assert_eq!(gemini.roles, Phase::BOTH);
    assert_eq!(config.fallback_strategy, FallbackStrategy::NextInList);
    assert_eq!((config.max_retries, config.global_concurrency, config.global_timeout_seconds), (3, 5, 3600));
    assert_eq!(config.single_agent, None);
}

#[test]
fn defaults_fill_what_is_left_out() {
    let config = parse("agents:\n  a:\n    command: run-a\n").expect("valid");
    let a = &config.agents[0];
    assert!(a.enabled);
    assert_eq!((a.max_concurrent, a.timeout_seconds), (DEFAULT_MAX_CONCURRENT, DEFAULT_TIMEOUT_SECONDS));
    assert_eq!(config.implementation, None);
    assert_eq!(config.max_retries, DEFAULT_MAX_RETRIES);
    assert_eq!(config.version, "1.0");
    let numeric = parse("version: 1.0\nagents:\n  a: true\n").expect("a numeric version");
    assert_eq!(numeric.version, "1.0");
}

#[test]
fn errors_name_the_file_the_field_and_the_line() {
    let typo = error("agents:\n  a:\n    max_concurent: 2\n");
    assert!(
        typo.starts_with(".kittify/agents.yaml:3: agents.a.max_concurent: unknown field `max_concurent`"),
        "{typo}"
    );
    let wrong_type = error("agents:\n  a:\n    max_concurrent: many\n");
    assert!(wrong_type.starts_with(".kittify/agents.yaml:3: agents.a.max_concurrent: invalid type"), "{wrong_type}");
    let negative = error("max_retries: -1\nagents:\n  a: true\n");
    assert!(negative.starts_with(".kittify/agents.yaml:1: max_retries: invalid"), "{negative}");
    let role = error("agents:\n  a:\n    roles: [implementer]\n");
    assert!(role.contains("agents.a.roles[0]: unknown variant `implementer`"), "{role}");
    let strategy = error("fallback_strategy: random\nagents:\n  a: true\n");
    assert!(strategy.contains("fallback_strategy: unknown variant `random`"), "{strategy}");
    let syntax = error("agents: [\n");
    assert!(syntax.starts_with(".kittify/agents.yaml:"), "{syntax}");
    assert!(!syntax.contains('\n'));
}

#[test]
fn meaning_is_checked_with_the_field_named() {
    assert_eq!(
        error("defaults:\n  review: [a, b]\nagents:\n  a: true\n"),
        ".kittify/agents.yaml: defaults.review[1]: unknown agent `b` (agents: a)"
    );
    assert_eq!(error("agents:\n  a: false\n"), ".kittify/agents.yaml: agents: no agent is enabled");
    assert!(
        error("agents:\n  a:\n    command: 'x {nope}'\n")
            .starts_with(".kittify/agents.yaml: agents.a.command: unknown placeholder")
    );
    assert!(error("agents:\n  a:\n    max_concurrent: 0\n").contains("agents.a.max_concurrent: must be at least 1"));
    assert!(error("global_concurrency: 0\nagents:\n  a: true\n").contains("global_concurrency: must be at least 1"));
    assert!(error("agents:\n  a:\n    roles: []\n").contains("agents.a.roles: empty"));
    assert!(error("agents:\n  'a b': true\n").contains("agents.a b: `a b` is not an agent id"));
    assert!(error("agents:\n  a: true\n  a: false\n").contains("agents.a"));
    assert!(error("# only comments\n\n").contains("no agents configured"));
    assert!(error("single_agent_mode: {enabled: true, agent: z}\nagents:\n  a: true\n").contains("unknown agent `z`"));
    assert!(error("defaults:\n  planning: [a]\nagents:\n  a: true\n").contains("unknown field `planning`"));
}

#[test]
fn single_agent_mode_names_an_enabled_agent() {
    let config = parse("single_agent_mode: {enabled: true, agent: a}\nagents:\n  a: true\n").expect("valid");
    assert_eq!(config.single_agent.as_deref(), Some("a"));
    assert_eq!(parse("single_agent_mode: false\nagents:\n  a: true\n").expect("short form").single_agent, None);
    assert!(
        error("single_agent_mode: {enabled: true, agent: a}\nagents:\n  a: false\n  b: true\n").contains("not enabled")
    );
}

#[test]
fn a_file_of_thousands_of_agents_is_refused_by_their_number() {
    let many: String = (0..=MAX_AGENTS).map(|i| format!("  a{i}: {{command: x}}\n")).collect();
    assert_eq!(error(&format!("agents:\n{many}")), ".kittify/agents.yaml: agents: 257 agents: at most 256");
    let most: String = (0..MAX_AGENTS).map(|i| format!("  a{i}: {{command: x}}\n")).collect();
    assert_eq!(parse(&format!("agents:\n{most}")).expect("256 agents").agents.len(), MAX_AGENTS);
}
