//! The reaction to the server's answer for a sent batch (contract §5): which events leave the queue, which
//! are retried or dead-lettered, and what the sync loop does next.
//!
//! Every sent event lands in exactly one of `remove`, `retry`, `dead_letter` and `untouched`.
//! `retry_count` counts only failures of *that event* (a non-acknowledged result, or a 400 naming it). A
//! failure of the whole request (401, 403, 413 with several events, 429, 5xx, network) is not the events'
//! fault: they stay untouched, so an outage of any length never dead-letters anything.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::backoff::BackoffSchedule;

/// An event that fails this many times (counting this one) is dead-lettered instead of retried.
pub const MAX_RETRIES: u32 = 5;
/// The wait after a 429 without a usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 60_000;
/// The longest wait a `Retry-After` can impose (1 hour): a misconfigured server must not stop a client's
/// sync for days; after the wait a further 429 simply asks again.
pub const MAX_RETRY_AFTER_MS: u64 = 3_600_000;
/// The dead-letter reason of a single event the server still finds too large (413).
pub const PAYLOAD_TOO_LARGE_REASON: &str = "payload too large";

/// One entry of a 200 answer's `results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventResult {
    pub event_id: String,
    /// `success`, `duplicate`, `rejected`, or from older servers `error`; anything may come.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl EventResult {
    /// The server has the event: `success` or `duplicate`. Any other status is a failure of that event.
    pub fn is_acknowledged(&self) -> bool {
        matches!(self.status.as_str(), "success" | "duplicate")
    }

    /// The failure's reason: `error`, else `error_message`, else the status itself.
    pub fn failure_reason(&self) -> String {
        [&self.error, &self.error_message]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .map_or_else(|| format!("status \"{}\"", self.status), str::to_string)
    }
}

/// One entry of a 400 answer's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "BatchEventError"))]
pub struct EventError {
    pub event_id: String,
    pub error: String,
}

/// What came back for a sent batch, decoded from the HTTP exchange
/// (see [`BatchAnswer::from_http`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum BatchAnswer {
    /// 200 `{"results":[...]}`.
    Results { results: Vec<EventResult> },
    /// 400 `{"error","details":[{"event_id","error"}]}`.
    BadRequest {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default)]
        details: Vec<EventError>,
    },
    /// 401: the access token expired or is invalid.
    Unauthorized,
    /// 403: an event of another team.
    Forbidden,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 429, with `Retry-After` in milliseconds when the server gave one.
    TooManyRequests {
        #[serde(default)]
        retry_after_ms: Option<u64>,
    },
    /// 5xx.
    ServerError { status: u16 },
    /// Any other status, or a success status whose body could not be read.
    UnexpectedResponse { status: u16, message: String },
    /// No answer: connection refused, reset, timed out, TLS failure...
    NetworkError { message: String },
}

/// One event of the sent batch, with its retry count as stored in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SentEvent {
    pub event_id: String,
    pub retry_count: u32,
}

/// What the host knows besides the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AnswerContext {
    /// Unix milliseconds when the answer arrived.
    pub now_ms: u64,
    /// Failed sends in a row before this one (0 after a success): the host adds 1 on `BackOff` and resets it
    /// to 0 on `Continue`.
    pub failed_sends: u32,
    /// A random value from the host, for the backoff's jitter.
    pub random: u64,
    /// This batch was sent right after a token refresh: a 401 now means the refresh did not help.
    #[serde(default)]
    pub token_just_refreshed: bool,
}

/// An event that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventFailure {
    pub event_id: String,
    pub reason: String,
}

/// What the sync loop does after this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum NextStep {
    /// Go on with the next batch (subject to the rate limit).
    Continue,
    /// Refresh the access token, then send the same batch again with `token_just_refreshed`.
    RefreshTokenThenRetry,
    /// Send the same events again in batches of at most `max_events` (half this batch, rounded up).
    SplitAndRetry { max_events: usize },
    /// Send nothing before `at_ms` (the server's `Retry-After`).
    WaitUntil { at_ms: u64 },
    /// Send again at `at_ms`; `attempt` is this failure's 0-based number in the backoff schedule.
    BackOff { attempt: u32, at_ms: u64 },
    /// Stop batch sync until the user logs in again; tell them why.
    StopAuth { reason: AuthStop },
}

/// Why batch sync stops until a new login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AuthStop {
    /// A 401 right after a token refresh: the refresh token is no good either.
    LoginRequired,
    /// A 403: the batch holds events of a team the logged-in user does not belong to (for example events
    /// queued before switching accounts). Retrying cannot succeed and dead-lettering would lose them, though
    /// they become sendable when the user logs in to that team again; so they stay queued and sync stops.
    OtherTeam,
}

/// The reaction to one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BatchOutcome {
    /// Acknowledged (`success` or `duplicate`): delete from the queue.
    pub remove: Vec<String>,
    /// Failed, under [`MAX_RETRIES`]: keep, with `retry_count + 1`.
    pub retry: Vec<EventFailure>,
    /// Failed for the last time: take out of the queue and report with the reason.
    pub dead_letter: Vec<EventFailure>,
    /// Not answered for (or the whole request failed): keep as is.
    pub untouched: Vec<String>,
    pub next: NextStep,
}

impl BatchOutcome {
    fn all_untouched(sent: &[SentEvent], next: NextStep) -> Self {
        BatchOutcome {
            remove: Vec::new(),
            retry: Vec::new(),
            dead_letter: Vec::new(),
            untouched: sent.iter().map(|e| e.event_id.clone()).collect(),
            next,
        }
    }

    fn fail(&mut self, event: &SentEvent, reason: String) {
        let failure = EventFailure { event_id: event.event_id.clone(), reason };
        if event.retry_count.saturating_add(1) >= MAX_RETRIES {
            self.dead_letter.push(failure);
        } else {
            self.retry.push(failure);
        }
    }
}

/// Decides what to do with the events of `sent` after `answer`.
pub fn react_to_answer(answer: &BatchAnswer, sent: &[SentEvent], ctx: &AnswerContext) -> BatchOutcome {
    let back_off = NextStep::BackOff {
        attempt: ctx.failed_sends,
        at_ms: BackoffSchedule::DEFAULT.retry_at_ms(ctx.now_ms, ctx.failed_sends, ctx.random),
    };
    match answer {
        BatchAnswer::Results { results } => {
            let mut by_id: HashMap<&str, &EventResult> = HashMap::with_capacity(results.len());
            for result in results {
                by_id.entry(result.event_id.as_str()).or_insert(result);
            }
            per_event(sent, NextStep::Continue, |id| match by_id.get(id) {
                None => Verdict::Untouched,
                Some(r) if r.is_acknowledged() => Verdict::Acknowledged,
                Some(r) => Verdict::Failed(r.failure_reason()),
            })
        }
        BatchAnswer::BadRequest { error, details } => {
            let fallback = error.as_deref().map(str::trim).filter(|e| !e.is_empty()).unwrap_or("bad request");
            let by_id: HashMap<&str, &str> = details.iter().map(|d| (d.event_id.as_str(), d.error.as_str())).collect();
            let named = sent.iter().any(|e| by_id.contains_key(e.event_id.as_str()));
            // Events the details name failed; the others were only refused along with them and are sent
            // again untouched. If no sent event is named, all of them failed: otherwise a batch the server
            // will never take would block the queue for ever.
            per_event(sent, NextStep::Continue, |id| match by_id.get(id) {
                Some(reason) => Verdict::Failed((*reason).to_string()),
                None if named => Verdict::Untouched,
                None => Verdict::Failed(fallback.to_string()),
            })
        }
        BatchAnswer::Unauthorized => {
            let next = if ctx.token_just_refreshed {
                NextStep::StopAuth { reason: AuthStop::LoginRequired }
            } else {
                NextStep::RefreshTokenThenRetry
            };
            BatchOutcome::all_untouched(sent, next)
        }
        BatchAnswer::Forbidden => BatchOutcome::all_untouched(sent, NextStep::StopAuth { reason: AuthStop::OtherTeam }),
        BatchAnswer::PayloadTooLarge => match sent {
            [single] => {
                let mut outcome = BatchOutcome::all_untouched(&[], NextStep::Continue);
                outcome.dead_letter.push(EventFailure {
                    event_id: single.event_id.clone(),
                    reason: PAYLOAD_TOO_LARGE_REASON.to_string(),
                });
                outcome
            }
            [] => BatchOutcome::all_untouched(sent, NextStep::Continue),
            _ => BatchOutcome::all_untouched(sent, NextStep::SplitAndRetry { max_events: sent.len().div_ceil(2) }),
        },
        BatchAnswer::TooManyRequests { retry_after_ms } => {
            let wait = retry_after_ms.unwrap_or(DEFAULT_RETRY_AFTER_MS).min(MAX_RETRY_AFTER_MS);
            BatchOutcome::all_untouched(sent, NextStep::WaitUntil { at_ms: ctx.now_ms.saturating_add(wait) })
        }
        BatchAnswer::ServerError { .. } | BatchAnswer::UnexpectedResponse { .. } | BatchAnswer::NetworkError { .. } => {
            BatchOutcome::all_untouched(sent, back_off)
        }
    }
}

/// What became of one sent event.
enum Verdict {
    Untouched,
    Acknowledged,
    Failed(String),
}

/// Sorts each sent event by its verdict.
fn per_event(sent: &[SentEvent], next: NextStep, verdict: impl Fn(&str) -> Verdict) -> BatchOutcome {
    let mut outcome = BatchOutcome::all_untouched(&[], next);
    for event in sent {
        match verdict(&event.event_id) {
            Verdict::Untouched => outcome.untouched.push(event.event_id.clone()),
            Verdict::Acknowledged => outcome.remove.push(event.event_id.clone()),
            Verdict::Failed(reason) => outcome.fail(event, reason),
        }
    }
    outcome
}

#[cfg(test)]
mod tests;
