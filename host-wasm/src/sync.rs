//! Sync decisions for any host ([`Arg`]): batch planning, the backoff schedule, reading and reacting
//! to the server's answer.

use crate::args::{self, Arg, Error};
use spec_kitty_core::sync::batch::{MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use spec_kitty_core::sync::{
    AnswerContext, BackoffSchedule, BatchAnswer, BatchOutcome, BatchPlan, QueuedItem, SentEvent, parse_retry_after_ms,
    plan_batches_checked, react_to_answer,
};

/// Cuts the queue (oldest first) into batches of at most `maxEvents` events (default 1000) and
/// `maxBytes` bytes of body (default 1 MiB); a cap of 0 is refused.
pub fn plan<A: Arg>(queued: &A, max_events: &A, max_bytes: &A) -> Result<Vec<BatchPlan>, Error> {
    let queued: Vec<QueuedItem> = args::from_arg("queued", queued)?;
    let max_events = size("maxEvents", max_events)?.unwrap_or(MAX_BATCH_EVENTS);
    let max_bytes = size("maxBytes", max_bytes)?.unwrap_or(MAX_BATCH_BYTES);
    plan_batches_checked(&queued, max_events, max_bytes).map_err(Error::from_display)
}

fn size<A: Arg>(field: &str, value: &A) -> Result<Option<usize>, Error> {
    args::optional_unsigned(field, value)?.map(|n| usize::try_from(n).map_err(|e| Error::field(field, e))).transpose()
}

fn attempt_number<A: Arg>(field: &str, value: &A) -> Result<u32, Error> {
    u32::try_from(args::unsigned(field, value)?).map_err(|e| Error::field(field, e))
}

/// The delay in milliseconds before retry number `attempt` (0-based): min(500 ms * 2^attempt, 30 s) with
/// equal jitter from `random` (the host's random bits when absent). `schedule` overrides the 500 ms /
/// 30 s defaults.
pub fn backoff_delay_ms<A: Arg>(attempt: &A, random: &A, schedule: &A) -> Result<u64, Error> {
    let attempt = attempt_number("attempt", attempt)?;
    let random = args::random_u64_or_host("random", random)?;
    let schedule = if schedule.is_absent() { BackoffSchedule::DEFAULT } else { args::from_arg("schedule", schedule)? };
    Ok(schedule.delay_ms(attempt, random))
}

/// Decodes the HTTP answer to `POST /api/v1/events/batch/`: its status, its body text and its
/// `Retry-After` header (seconds), if any.
pub fn read_batch_answer<A: Arg>(status: &A, body: &A, retry_after: &A) -> Result<BatchAnswer, Error> {
    let status = u16::try_from(args::unsigned("status", status)?).map_err(|e| Error::field("status", e))?;
    let retry_after_ms = args::optional_string("retryAfter", retry_after)?.and_then(|v| parse_retry_after_ms(&v));
    let body = args::string("body", body)?;
    Ok(BatchAnswer::from_http(status, &body, retry_after_ms))
}

/// What to do with the sent events after the server's answer, and what the sync loop does next.
/// `context.nowMs` and `context.random` are the host's when absent.
pub fn react<A: Arg>(answer: &A, sent: &A, context: &A) -> Result<BatchOutcome, Error> {
    let answer: BatchAnswer = args::from_arg("answer", answer)?;
    let sent: Vec<SentEvent> = args::from_arg("sent", sent)?;
    if !context.is_absent() && !context.is_object() {
        return Err(Error::field("context", "expected an object"));
    }
    let failed_sends = context.prop("context", "failedSends")?;
    let ctx = AnswerContext {
        now_ms: args::now_ms_or_host("context.nowMs", &context.prop("context", "nowMs")?)?,
        failed_sends: if failed_sends.is_absent() { 0 } else { attempt_number("context.failedSends", &failed_sends)? },
        random: args::random_u64_or_host("context.random", &context.prop("context", "random")?)?,
        token_just_refreshed: args::flag(
            "context.tokenJustRefreshed",
            &context.prop("context", "tokenJustRefreshed")?,
        )?,
    };
    Ok(react_to_answer(&answer, &sent, &ctx))
}
