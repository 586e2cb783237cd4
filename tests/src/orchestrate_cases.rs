//! Parity cases for the `orchestrate` exports (`parseAgentsConfig`, `agentRoster`, `orchestrationStart`,
//! `orchestrationHandle`, `runEventDraft`): generated agents.yaml texts, and whole runs on generated
//! dependency graphs driven by a scripted host here (lanes move or fail, agents start or not, exit with
//! a code and a last line, time out, get interrupted; runs resumed, skipped, aborted). Every call of
//! the machine is a case: its state, input, time and entropy in, the next state and actions out.
//!
//! The native answer is the core's own (`spec_kitty_core::orchestrate`, as the CLI calls it), so a
//! binding that read its arguments differently would differ. Refused arguments (junk, a state of
//! another version, an input the run cannot take) are answered natively by the binding's readers.

use super::support::{Case, Rng, error_json, result_json, to_json};
use serde_json::{Value, json};
use spec_kitty_core::events::Moment;
use spec_kitty_core::ids::WpId;
use spec_kitty_core::orchestrate::{
    Action, AgentChoice, AgentsConfig, Input, Orchestration, OrchestrationState, Phase, PlannedWork, Roster, StartRun,
};
use spec_kitty_core::workflow::Lane;
use spec_kitty_core::workflow::plans::EventDraft;
use spec_kitty_wasm::orchestrate as binding;
use std::collections::{BTreeMap, VecDeque};

const AGENTS: [&str; 4] = ["claude", "codex", "opencode", "gemini"];

pub fn cases(rng: &mut Rng, out: &mut Vec<Case>) {
    for _ in 0..30 {
        let yaml = agents_yaml(rng);
        config_cases(rng, &yaml, out);
    }
    for _ in 0..12 {
        run_cases(rng, out);
    }
    refused_argument_cases(out);
}

/// An agents.yaml: two to four agents with commands, sometimes defaults, a disabled agent, a missing
/// command, a typo, or settings out of range.
fn agents_yaml(rng: &mut Rng) -> String {
    let count = rng.range(2, 4) as usize;
    let mut yaml = String::new();
    if rng.chance(60) {
        let order = |rng: &mut Rng| {
            let mut ids: Vec<&str> = AGENTS[..count].to_vec();
            ids.rotate_left(rng.index(count));
            ids.join(", ")
        };
        yaml.push_str(&format!("defaults:\n  implementation: [{}]\n  review: [{}]\n", order(rng), order(rng)));
    }
    yaml.push_str("agents:\n");
    for id in &AGENTS[..count] {
        yaml.push_str(&format!("  {id}:\n"));
        if rng.chance(10) {
            yaml.push_str("    enabled: false\n");
        }
        if rng.chance(92) {
            yaml.push_str(&format!("    command: \"run-{id} {{prompt_file}}\"\n"));
        }
        yaml.push_str(&format!("    max_concurrent: {}\n", rng.range(1, 4)));
        yaml.push_str(&format!("    timeout_seconds: {}\n", rng.range(1, 900)));
        if rng.chance(5) {
            yaml.push_str("    timeout_secs: 5\n");
        }
    }
    yaml.push_str(&format!("max_retries: {}\n", rng.below(4)));
    if rng.chance(20) {
        yaml.push_str(&format!("fallback_strategy: {}\n", ["same_agent", "fail", "next_in_list"][rng.index(3)]));
    }
    if rng.chance(5) {
        yaml.push_str("global_concurrency: 0\n");
    }
    yaml
}

fn choice(rng: &mut Rng) -> AgentChoice {
    let pick = |rng: &mut Rng| rng.chance(25).then(|| AGENTS[rng.index(AGENTS.len())].to_string());
    AgentChoice { implementation: pick(rng), review: pick(rng) }
}

fn choice_json(choice: &AgentChoice) -> Value {
    serde_json::to_value(choice).expect("a choice serialises")
}

fn config_cases(rng: &mut Rng, yaml: &str, out: &mut Vec<Case>) {
    let label = rng.chance(50).then_some("agents.yaml");
    let file = label.unwrap_or(".kittify/agents.yaml");
    let parsed = AgentsConfig::from_yaml(file, yaml);
    out.push(Case::new("parseAgentsConfig", json!([yaml, label]), result_json(parsed.clone())));
    let choice = choice(rng);
    let roster = parsed
        .map_err(|e| e.to_string())
        .and_then(|config| Roster::from_config(&config, &choice).map_err(|e| format!("{file}: {e}")));
    out.push(Case::new("agentRoster", json!([yaml, choice_json(&choice), label]), result_json(roster)));
}

/// A dependency graph of three to seven WPs, each depending on up to two earlier ones; some done.
fn planned_work(rng: &mut Rng) -> Vec<PlannedWork> {
    let count = rng.range(3, 7) as usize;
    let mut work: Vec<PlannedWork> = Vec::new();
    for index in 0..count {
        let mut dependencies = Vec::new();
        for _ in 0..rng.below(3) {
            if index > 0 {
                let dependency = wp(rng.index(index) + 1);
                if !dependencies.contains(&dependency) {
                    dependencies.push(dependency);
                }
            }
        }
        let lane = if index == 0 && rng.chance(15) { Lane::Done } else { Lane::Planned };
        work.push(PlannedWork { wp: wp(index + 1), dependencies, lane });
    }
    work
}

fn wp(number: usize) -> WpId {
    format!("WP{number:02}").parse().expect("a WP id")
}

const TWO_AGENTS: &str = "defaults:\n  implementation: [claude, codex]\n  review: [codex, claude]\nagents:\n  claude:\n    command: run-claude\n    timeout_seconds: 60\n  codex:\n    command: run-codex\n    timeout_seconds: 60\nmax_retries: 2\n";

/// The host's side of a run: what it owes the machine, in the order it will answer.
struct Driver {
    now_ms: u64,
    pending: VecDeque<Input>,
    feature_slug: String,
}

impl Driver {
    fn moment(&mut self, rng: &mut Rng) -> (Moment, String) {
        self.now_ms += rng.range(1, 90_000);
        let entropy = format!("{:020x}", u128::from(rng.next_u64()) << 16 | u128::from(rng.next_u64() & 0xffff));
        let moment = Moment { unix_ms: self.now_ms, entropy: u128::from_str_radix(&entropy, 16).expect("hex") };
        (moment, entropy)
    }

    /// The outcomes the actions lead to, scripted by the seed.
    fn carry_out(&mut self, rng: &mut Rng, actions: &[Action], out: &mut Vec<Case>) {
        for action in actions {
            match action {
                Action::SaveState | Action::Finish { .. } => {}
                Action::MoveLane { wp, to, .. } => self.pending.push_back(if rng.chance(4) {
                    Input::LaneMoveFailed { wp: wp.clone(), error: "git: index.lock exists".into() }
                } else {
                    Input::LaneMoved { wp: wp.clone(), lane: *to }
                }),
                Action::StartAgent { wp, phase, attempt, .. } => {
                    if rng.chance(4) {
                        let error = "program not found".to_string();
                        self.pending.push_back(Input::AgentStartFailed {
                            wp: wp.clone(),
                            phase: *phase,
                            attempt: *attempt,
                            error,
                        });
                        continue;
                    }
                    let log_file = format!(".kittify/logs/x/{wp}-{}-{attempt}.log", phase.as_str());
                    let pid = Some(rng.range(100, 60_000) as u32);
                    self.pending.push_back(Input::AgentStarted {
                        wp: wp.clone(),
                        phase: *phase,
                        attempt: *attempt,
                        pid,
                        log_file,
                    });
                    if rng.chance(8) {
                        // It runs past its timeout: the host ticks, the machine asks for a stop.
                        self.pending.push_back(Input::Tick);
                        continue;
                    }
                    let (exit_code, last_line) = agent_outcome(rng, *phase);
                    self.pending.push_back(Input::AgentExited {
                        wp: wp.clone(),
                        phase: *phase,
                        attempt: *attempt,
                        exit_code,
                        last_line,
                    });
                }
                Action::StopAgent { wp, phase, attempt } => self.pending.push_back(Input::AgentExited {
                    wp: wp.clone(),
                    phase: *phase,
                    attempt: *attempt,
                    exit_code: None,
                    last_line: None,
                }),
                Action::Emit { events } => {
                    for announcement in events {
                        let draft = EventDraft::alone(announcement.event.payload(&self.feature_slug));
                        let args = json!([announcement.event, self.feature_slug]);
                        out.push(Case::new("runEventDraft", args, to_json(&draft)));
                    }
                    let event_ids = events.iter().map(|a| a.event_id.clone()).collect();
                    self.pending.push_back(Input::Emitted { event_ids });
                }
            }
        }
    }
}

fn agent_outcome(rng: &mut Rng, phase: Phase) -> (Option<i32>, Option<String>) {
    match (phase, rng.below(10)) {
        (_, 0) => (Some(1), Some("error: crashed".into())),
        (_, 1) => (None, None),
        (Phase::Review, 2) => (Some(0), Some("VERDICT: rejected tests are missing".into())),
        (Phase::Review, 3) => (Some(0), Some("looks good to me".into())),
        (Phase::Review, _) => (Some(0), Some("VERDICT: approved".into())),
        (Phase::Implementation, _) => (Some(0), Some("done".into())),
    }
}

/// The expected answer of a start or a call, as the binding documents it.
fn step_json(machine: &Orchestration, actions: &[Action]) -> String {
    to_json(&json!({ "state": machine.state(), "actions": actions, "nextWakeupMs": machine.next_wakeup() }))
}

fn state_json(state: &OrchestrationState) -> Value {
    serde_json::to_value(state).expect("a state serialises")
}

/// One run from start to finish (or 60 calls), every call a case; sometimes an interrupt and a resume,
/// a skip or an abort on the way.
fn run_cases(rng: &mut Rng, out: &mut Vec<Case>) {
    let config = AgentsConfig::from_yaml("agents.yaml", TWO_AGENTS).expect("the run's agents.yaml");
    let roster = Roster::from_config(&config, &AgentChoice::default()).expect("the run's roster");
    let work = planned_work(rng);
    let feature_slug = "028-cli-event-emission-sync".to_string();
    let start = StartRun {
        run_id: format!("run-{}", rng.below(1000)),
        feature_slug: feature_slug.clone(),
        work_packages: work.clone(),
        roster,
        agent_choice: AgentChoice::default(),
        max_parallel: rng.chance(70).then(|| rng.range(1, 4) as u32),
        orchestrator_pid: Some(4242),
    };
    let mut driver = Driver { now_ms: 1_770_000_000_000 + rng.below(1 << 30), pending: VecDeque::new(), feature_slug };
    let (now, entropy) = driver.moment(rng);
    let args = json!([start, now.unix_ms, entropy]);
    let (mut machine, actions) = match Orchestration::start(now, start) {
        Ok(started) => started,
        Err(error) => return out.push(Case::new("orchestrationStart", args, error_json(error))),
    };
    out.push(Case::new("orchestrationStart", args, step_json(&machine, &actions)));
    driver.carry_out(rng, &actions, out);
    for _ in 0..60 {
        let input = match rng.below(40) {
            0 => Input::Interrupt,
            1 => Input::Skip { wp: work[rng.index(work.len())].wp.clone() },
            2 if rng.chance(30) => Input::Abort,
            3 => {
                // A crash: what was owed is lost; the resume reads the lanes as the run last saw them.
                driver.pending.clear();
                let lanes: BTreeMap<WpId, Lane> =
                    machine.state().work_packages.iter().map(|(id, run)| (id.clone(), run.lane)).collect();
                Input::Resume { lanes, roster: None, max_parallel: None, orchestrator_pid: Some(4343) }
            }
            _ => match driver.pending.pop_front() {
                Some(input) => input,
                None => break,
            },
        };
        let (now, entropy) = driver.moment(rng);
        let state = machine.state().clone();
        let args = json!([state_json(&state), input, now.unix_ms, entropy]);
        let mut next = Orchestration::restore(state);
        match next.handle(now, input) {
            Ok(actions) => {
                out.push(Case::new("orchestrationHandle", args, step_json(&next, &actions)));
                machine = next;
                driver.carry_out(rng, &actions, out);
            }
            Err(error) => out.push(Case::new("orchestrationHandle", args, error_json(error))),
        }
        if machine.state().status.is_finished() && driver.pending.is_empty() {
            break;
        }
    }
}

/// Junk and wrong arguments: answered by the binding's readers, which the package runs compiled.
fn refused_argument_cases(out: &mut Vec<Case>) {
    let config = AgentsConfig::from_yaml("agents.yaml", TWO_AGENTS).expect("the run's agents.yaml");
    let roster = Roster::from_config(&config, &AgentChoice::default()).expect("the run's roster");
    let start = json!({
        "run_id": "run-1", "feature_slug": "028-x", "roster": roster, "agent_choice": {},
        "work_packages": [{"wp": "WP01", "dependencies": [], "lane": "planned"}],
    });
    let now = Moment { unix_ms: 1_770_000_000_000, entropy: 7 };
    let start_run: StartRun = serde_json::from_value(start.clone()).expect("a start");
    let state = state_json(Orchestration::start(now, start_run).expect("a run").0.state());
    let mut newer = state.clone();
    newer["version"] = json!(99);
    let junk = [json!(null), json!(7), json!("text"), json!([]), json!({}), json!({"input": "launch"})];
    let mut calls: Vec<(&'static str, Value)> = vec![
        ("parseAgentsConfig", json!([])),
        ("parseAgentsConfig", json!([42])),
        ("parseAgentsConfig", json!(["# only a comment\n"])),
        ("parseAgentsConfig", json!(["agents: [", 7])),
        ("agentRoster", json!([TWO_AGENTS, {"implementation": 5}])),
        ("agentRoster", json!([TWO_AGENTS, {"implementation": "nobody"}])),
        ("agentRoster", json!([TWO_AGENTS, {"reviewer": "codex"}])),
        ("orchestrationStart", json!([start, -1, "0"])),
        ("orchestrationStart", json!([start, 1, "not hex"])),
        ("orchestrationHandle", json!([newer, {"input": "tick"}, 1, "0"])),
        ("orchestrationHandle", json!([state, {"input": "lane_moved", "wp": "WP09", "lane": "doing"}, 1, "0"])),
        ("orchestrationHandle", json!([state, {"input": "skip", "wp": "WP1"}, 1, "0"])),
        ("runEventDraft", json!([{"type": "assigned", "wp": "WP01"}, "028-x"])),
        ("runEventDraft", json!([{"type": "error", "wp": "WP01", "agent": null, "message": "m"}, 28])),
    ];
    for value in &junk {
        calls.push(("orchestrationStart", json!([value, 1, "0"])));
        calls.push(("orchestrationHandle", json!([value, {"input": "tick"}, 1, "0"])));
        calls.push(("orchestrationHandle", json!([state, value, 1, "0"])));
        calls.push(("runEventDraft", json!([value, "028-x"])));
        calls.push(("agentRoster", json!([TWO_AGENTS, value])));
    }
    for (op, args) in calls {
        let expected = binding_answer(op, &args);
        out.push(Case::new(op, args, expected));
    }
}

/// The binding's answer natively, through the JSON host's readers.
fn binding_answer(op: &str, args: &Value) -> String {
    let none = Value::Null;
    let arg = |i: usize| args.get(i).unwrap_or(&none);
    match op {
        "parseAgentsConfig" => result_json(binding::parse_agents_config(&arg(0), &arg(1))),
        "agentRoster" => result_json(binding::agent_roster(&arg(0), &arg(1), &arg(2))),
        "orchestrationStart" => result_json(binding::orchestration_start(&arg(0), &arg(1), &arg(2))),
        "orchestrationHandle" => result_json(binding::orchestration_handle(&arg(0), &arg(1), &arg(2), &arg(3))),
        "runEventDraft" => result_json(binding::run_event_draft(&arg(0), &arg(1))),
        _ => unreachable!("an op of this file"),
    }
}
