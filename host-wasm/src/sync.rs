//! Sync decisions: batch planning, the backoff schedule, reading and reacting to the server's answer.

use crate::convert::{self, field_error, get};
use spec_kitty_core::sync::batch::{MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use spec_kitty_core::sync::{
    AnswerContext, BackoffSchedule, BatchAnswer, QueuedItem, SentEvent, parse_retry_after_ms, plan_batches,
    react_to_answer,
};
use wasm_bindgen::prelude::*;

/// Cuts the queue (oldest first) into batches of at most `maxEvents` events (default 1000) and
/// `maxBytes` bytes of body (default 1 MiB).
#[wasm_bindgen(js_name = planBatches, unchecked_return_type = "BatchPlan[]")]
pub fn plan(
    #[wasm_bindgen(unchecked_param_type = "QueuedItem[]")] queued: JsValue,
    #[wasm_bindgen(js_name = maxEvents, unchecked_optional_param_type = "number")] max_events: Option<JsValue>,
    #[wasm_bindgen(js_name = maxBytes, unchecked_optional_param_type = "number")] max_bytes: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let queued: Vec<QueuedItem> = convert::from_js("queued", &queued)?;
    let max_events = size("maxEvents", &convert::or_undefined(max_events))?.unwrap_or(MAX_BATCH_EVENTS);
    let max_bytes = size("maxBytes", &convert::or_undefined(max_bytes))?.unwrap_or(MAX_BATCH_BYTES);
    convert::to_js(&plan_batches(&queued, max_events, max_bytes))
}

fn size(field: &str, value: &JsValue) -> Result<Option<usize>, JsValue> {
    convert::optional_unsigned(field, value)?.map(|n| usize::try_from(n).map_err(|e| field_error(field, e))).transpose()
}

fn attempt_number(field: &str, value: &JsValue) -> Result<u32, JsValue> {
    u32::try_from(convert::unsigned(field, value)?).map_err(|e| field_error(field, e))
}

/// The delay in milliseconds before retry number `attempt` (0-based): min(500 ms * 2^attempt, 30 s) with
/// equal jitter from `random` (default: fresh random bits from the host). `schedule` overrides the
/// 500 ms / 30 s defaults.
#[wasm_bindgen(js_name = backoffDelayMs)]
pub fn backoff_delay_ms(
    #[wasm_bindgen(unchecked_param_type = "number")] attempt: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "Random")] random: Option<JsValue>,
    #[wasm_bindgen(unchecked_optional_param_type = "BackoffSchedule")] schedule: Option<JsValue>,
) -> Result<f64, JsValue> {
    let attempt = attempt_number("attempt", &attempt)?;
    let random = convert::random_u64_or_host("random", &convert::or_undefined(random))?;
    let schedule = match schedule {
        None => BackoffSchedule::DEFAULT,
        Some(schedule) => convert::from_js("schedule", &schedule)?,
    };
    Ok(schedule.delay_ms(attempt, random) as f64)
}

/// Decodes the HTTP answer to `POST /api/v1/events/batch/`: its status, its body text and its
/// `Retry-After` header (seconds), if any.
#[wasm_bindgen(js_name = readBatchAnswer, unchecked_return_type = "BatchAnswer")]
pub fn read_batch_answer(
    #[wasm_bindgen(unchecked_param_type = "number")] status: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] body: JsValue,
    #[wasm_bindgen(js_name = retryAfter, unchecked_optional_param_type = "string | null")] retry_after: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let status = u16::try_from(convert::unsigned("status", &status)?).map_err(|e| field_error("status", e))?;
    let retry_after_ms = convert::optional_string("retryAfter", &convert::or_undefined(retry_after))?
        .and_then(|v| parse_retry_after_ms(&v));
    let body = convert::string("body", &body)?;
    convert::to_js(&BatchAnswer::from_http(status, &body, retry_after_ms))
}

/// What to do with the sent events after the server's answer, and what the sync loop does next.
/// `context.nowMs` defaults to `Date.now()` and `context.random` to fresh random bits.
#[wasm_bindgen(js_name = reactToAnswer, unchecked_return_type = "BatchOutcome")]
pub fn react(
    #[wasm_bindgen(unchecked_param_type = "BatchAnswer")] answer: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SentEvent[]")] sent: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "AnswerContextInput")] context: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let context = convert::or_undefined(context);
    let answer: BatchAnswer = convert::from_js("answer", &answer)?;
    let sent: Vec<SentEvent> = convert::from_js("sent", &sent)?;
    if !convert::is_absent(&context) && !context.is_object() {
        return Err(field_error("context", "expected an object"));
    }
    let failed_sends = get(&context, "failedSends");
    let ctx = AnswerContext {
        now_ms: convert::now_ms_or_host("context.nowMs", &get(&context, "nowMs"))?,
        failed_sends: if convert::is_absent(&failed_sends) {
            0
        } else {
            attempt_number("context.failedSends", &failed_sends)?
        },
        random: convert::random_u64_or_host("context.random", &get(&context, "random"))?,
        token_just_refreshed: flag("context.tokenJustRefreshed", &get(&context, "tokenJustRefreshed"))?,
    };
    convert::to_js(&react_to_answer(&answer, &sent, &ctx))
}

fn flag(field: &str, value: &JsValue) -> Result<bool, JsValue> {
    if convert::is_absent(value) {
        return Ok(false);
    }
    value.as_bool().ok_or_else(|| field_error(field, "expected a boolean"))
}
