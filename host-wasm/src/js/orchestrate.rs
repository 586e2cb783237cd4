//! JS exports: the `orchestrate` scheduler, agents.yaml and the run's agents.

use super::{call, or_undefined};
use wasm_bindgen::prelude::*;

/// agents.yaml's text, checked: the core's `AgentsConfig`. Throws naming `fileLabel` (default
/// `.kittify/agents.yaml`), the field and the line.
#[wasm_bindgen(js_name = parseAgentsConfig, unchecked_return_type = "AgentsConfig")]
pub fn parse_agents_config(
    #[wasm_bindgen(js_name = yamlText, unchecked_param_type = "string")] yaml_text: JsValue,
    #[wasm_bindgen(js_name = fileLabel, unchecked_optional_param_type = "string")] file_label: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("parseAgentsConfig", &[yaml_text, or_undefined(file_label)])
}

/// The agents of a run, in fallback order, from agents.yaml's text and the `--impl-agent` /
/// `--review-agent` choices, as `spec-kitty orchestrate` resolves them.
#[wasm_bindgen(js_name = agentRoster, unchecked_return_type = "Roster")]
pub fn agent_roster(
    #[wasm_bindgen(js_name = yamlText, unchecked_param_type = "string")] yaml_text: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "AgentChoice")] choice: Option<JsValue>,
    #[wasm_bindgen(js_name = fileLabel, unchecked_optional_param_type = "string")] file_label: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("agentRoster", &[yaml_text, or_undefined(choice), or_undefined(file_label)])
}

/// A new run: its first state and actions. `nowMs` and `entropyHex` default to the host's.
#[wasm_bindgen(js_name = orchestrationStart, unchecked_return_type = "OrchestrationStep")]
pub fn orchestration_start(
    #[wasm_bindgen(unchecked_param_type = "StartRun")] start: JsValue,
    #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
    #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("orchestrationStart", &[start, or_undefined(now_ms), or_undefined(entropy_hex)])
}

/// What happened to the run in `state`: its next state and the actions to carry out, in order.
#[wasm_bindgen(js_name = orchestrationHandle, unchecked_return_type = "OrchestrationStep")]
pub fn orchestration_handle(
    #[wasm_bindgen(unchecked_param_type = "OrchestrationState")] state: JsValue,
    #[wasm_bindgen(unchecked_param_type = "OrchestrationInput")] input: JsValue,
    #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
    #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("orchestrationHandle", &[state, input, or_undefined(now_ms), or_undefined(entropy_hex)])
}

/// The event an `emit` action announces, as `{event_type, payload, causation}` for `buildEvent`.
#[wasm_bindgen(js_name = runEventDraft, unchecked_return_type = "EventDraft")]
pub fn run_event_draft(
    #[wasm_bindgen(unchecked_param_type = "RunEvent")] event: JsValue,
    #[wasm_bindgen(js_name = featureSlug, unchecked_param_type = "string")] feature_slug: JsValue,
) -> Result<JsValue, JsValue> {
    call("runEventDraft", &[event, feature_slug])
}
