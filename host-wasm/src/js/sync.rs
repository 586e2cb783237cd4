//! JS exports: sync decisions (batch planning, the backoff schedule, reading and reacting to the
//! server's answer).

use super::{call, or_undefined};
use wasm_bindgen::prelude::*;

/// Cuts the queue (oldest first) into batches of at most `maxEvents` events (default 1000) and
/// `maxBytes` bytes of body (default 1 MiB).
#[wasm_bindgen(js_name = planBatches, unchecked_return_type = "BatchPlan[]")]
pub fn plan(
    #[wasm_bindgen(unchecked_param_type = "QueuedItem[]")] queued: JsValue,
    #[wasm_bindgen(js_name = maxEvents, unchecked_optional_param_type = "number")] max_events: Option<JsValue>,
    #[wasm_bindgen(js_name = maxBytes, unchecked_optional_param_type = "number")] max_bytes: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("planBatches", &[queued, or_undefined(max_events), or_undefined(max_bytes)])
}

/// The delay in milliseconds before retry number `attempt` (0-based): min(500 ms * 2^attempt, 30 s) with
/// equal jitter from `random` (default: fresh random bits from the host). `schedule` overrides the
/// 500 ms / 30 s defaults.
#[wasm_bindgen(js_name = backoffDelayMs, unchecked_return_type = "number")]
pub fn backoff_delay_ms(
    #[wasm_bindgen(unchecked_param_type = "number")] attempt: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "Random")] random: Option<JsValue>,
    #[wasm_bindgen(unchecked_optional_param_type = "BackoffSchedule")] schedule: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("backoffDelayMs", &[attempt, or_undefined(random), or_undefined(schedule)])
}

/// Decodes the HTTP answer to `POST /api/v1/events/batch/`: its status, its body text and its
/// `Retry-After` header (seconds), if any.
#[wasm_bindgen(js_name = readBatchAnswer, unchecked_return_type = "BatchAnswer")]
pub fn read_batch_answer(
    #[wasm_bindgen(unchecked_param_type = "number")] status: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] body: JsValue,
    #[wasm_bindgen(js_name = retryAfter, unchecked_optional_param_type = "string | null")] retry_after: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("readBatchAnswer", &[status, body, or_undefined(retry_after)])
}

/// What to do with the sent events after the server's answer, and what the sync loop does next.
/// `context.nowMs` defaults to `Date.now()` and `context.random` to fresh random bits.
#[wasm_bindgen(js_name = reactToAnswer, unchecked_return_type = "BatchOutcome")]
pub fn react(
    #[wasm_bindgen(unchecked_param_type = "BatchAnswer")] answer: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SentEvent[]")] sent: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "AnswerContextInput")] context: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("reactToAnswer", &[answer, sent, or_undefined(context)])
}
