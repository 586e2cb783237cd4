//! The `orchestrate` scheduler for any host ([`Arg`]): `spec_kitty_core::orchestrate`'s sans-IO machine,
//! agents.yaml's reading and the run's agents, so a Node tool drives agents with the CLI's decisions.
//!
//! The machine is stateless across the boundary: a start or a call takes the run's state (the
//! `orchestration-state.json` object) and gives back the next state with the actions to carry out, in
//! order. The host keeps the state (and saves it when an action says `save_state`), runs the actions
//! and feeds each outcome back as an input. The ids of the events a call announces come from its
//! `nowMs` and `entropyHex`: a host passes fresh entropy on every call (a JS host's default).

use crate::args::{self, Arg, Error};
use serde::Serialize;
use spec_kitty_core::events::Moment;
use spec_kitty_core::orchestrate::{
    AGENTS_FILE, Action, AgentChoice, AgentsConfig, Input, Orchestration, OrchestrationState, Roster, RunEvent,
    StartRun,
};
use spec_kitty_core::workflow::plans::EventDraft;

/// One step of a run: the state to keep, what to do in order, and when at the latest to call again
/// with a `tick` input (`null` once the run is over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrchestrationStep {
    pub state: OrchestrationState,
    pub actions: Vec<Action>,
    pub next_wakeup_ms: Option<u64>,
}

impl OrchestrationStep {
    fn of(machine: &Orchestration, actions: Vec<Action>) -> OrchestrationStep {
        OrchestrationStep { state: machine.state().clone(), actions, next_wakeup_ms: machine.next_wakeup() }
    }
}

fn moment<A: Arg>(now_ms: &A, entropy_hex: &A) -> Result<Moment, Error> {
    let unix_ms = args::now_ms_or_host("nowMs", now_ms)?;
    let entropy = args::entropy_or_host("entropyHex", entropy_hex)?;
    Ok(Moment { unix_ms, entropy })
}

fn label<A: Arg>(file_label: &A) -> Result<String, Error> {
    Ok(args::optional_string("fileLabel", file_label)?.unwrap_or_else(|| AGENTS_FILE.to_string()))
}

/// agents.yaml's text, checked; errors name `fileLabel` (default `.kittify/agents.yaml`), the field and
/// the line.
pub fn parse_agents_config<A: Arg>(yaml_text: &A, file_label: &A) -> Result<AgentsConfig, Error> {
    let text = args::string("yamlText", yaml_text)?;
    AgentsConfig::from_yaml(&label(file_label)?, &text).map_err(Error::from_display)
}

/// The agents of a run from agents.yaml's text and the optional `--impl-agent` / `--review-agent`
/// choices (`{implementation?, review?}`), as `orchestrate` resolves them.
pub fn agent_roster<A: Arg>(yaml_text: &A, choice: &A, file_label: &A) -> Result<Roster, Error> {
    let file = label(file_label)?;
    let text = args::string("yamlText", yaml_text)?;
    let config = AgentsConfig::from_yaml(&file, &text).map_err(Error::from_display)?;
    let choice: AgentChoice =
        if choice.is_absent() { AgentChoice::default() } else { args::from_arg("choice", choice)? };
    Roster::from_config(&config, &choice).map_err(|e| Error::new(format!("{file}: {e}")))
}

/// A new run (`start` is the core's `StartRun`): its first state and actions.
pub fn orchestration_start<A: Arg>(start: &A, now_ms: &A, entropy_hex: &A) -> Result<OrchestrationStep, Error> {
    let start: StartRun = args::from_arg("start", start)?;
    let now = moment(now_ms, entropy_hex)?;
    let (machine, actions) = Orchestration::start(now, start).map_err(Error::from_display)?;
    Ok(OrchestrationStep::of(&machine, actions))
}

/// What happened (`input`, tagged by its `input` key) to the run in `state`: the next state and actions.
/// A state of another layout version is refused, as the CLI refuses it.
pub fn orchestration_handle<A: Arg>(
    state: &A,
    input: &A,
    now_ms: &A,
    entropy_hex: &A,
) -> Result<OrchestrationStep, Error> {
    let state = state.to_json("state")?;
    let state = OrchestrationState::from_json("state", &state.to_string()).map_err(Error::new)?;
    let input: Input = args::from_arg("input", input)?;
    let now = moment(now_ms, entropy_hex)?;
    let mut machine = Orchestration::restore(state);
    let actions = machine.handle(now, input).map_err(Error::from_display)?;
    Ok(OrchestrationStep::of(&machine, actions))
}

/// The event an `emit` action's announcement stands for (its `event`), in the plans' draft form:
/// `{event_type, payload, causation}` for `buildEvent`.
pub fn run_event_draft<A: Arg>(event: &A, feature_slug: &A) -> Result<EventDraft, Error> {
    let event: RunEvent = args::from_arg("event", event)?;
    let feature_slug = args::string("featureSlug", feature_slug)?;
    Ok(EventDraft::alone(event.payload(&feature_slug)))
}
