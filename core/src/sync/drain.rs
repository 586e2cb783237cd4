//! Draining the offline queue to the hub in batches: the one batch-sync loop that `sync now`, the daemon's
//! periodic sync, a Node tool and the simulation tests all run.
//!
//! The loop decides nothing of its own: [`plan_batches`] cuts the batch (count and byte caps),
//! [`react_to_answer`] says what becomes of each event and what to do next, [`BatchRateLimit`] spaces the
//! sends and the backoff lives inside the reaction. What touches the world comes through three small traits a
//! host implements: [`QueueStore`] (SQLite natively, memory in tests), [`BatchTransport`] (gzip, auth and HTTP
//! natively; a model hub in tests) and [`SyncClock`] (the real clock and entropy natively, a simulated one in
//! tests, where `sleep_until` just moves time). The core itself still reads no clock and does no I/O: the
//! traits are the host's.
//!
//! Rules of a run, beyond what the reaction decides:
//! - Every event leaves a run in one of four ways: acknowledged (deleted), failed (kept with `retry_count + 1`),
//!   dead-lettered, or not reached. An event that *failed* this run, or that the hub left out of a 200's
//!   `results`, is not sent again in the same run: a rejected event cannot hold the others back, a hub that
//!   never answers for an event cannot make the run spin, and each run counts at most one failure per event.
//!   The next run picks them up.
//! - Events left untouched because the *whole request* failed (network, 5xx, 429, 401) are sent again as the
//!   reaction says (backoff, `Retry-After`, a token refresh); after a 413 the same events go again in halves
//!   until the hub takes them, then batches are full-sized again.
//! - The run ends when nothing sendable is left (the queue is read again before each batch, so events queued
//!   meanwhile go too), or with a [`DrainStop`]: the login is gone, the batch belongs to another team,
//!   `max_failed_sends` failed sends in a row (5xx, network, 429), a wait that would pass `stop_at_ms`, or a
//!   store error. Nothing is ever lost by stopping: untouched events stay queued as they were.
//!
//! A run is bounded: every answer either settles at least one event (acknowledged, failed, dead-lettered or
//! left out) or is a failure of the whole request, and those are capped by `max_failed_sends` in a row, by one
//! refresh per 401, and by the halving after a 413.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::answer::{AnswerContext, AuthStop, BatchAnswer, EventFailure, NextStep, SentEvent, react_to_answer};
use super::batch::{QueuedItem, plan_batches};
use super::rate_limit::{BatchRateLimit, WaitUntil};
use super::wire::MAX_BATCH_EVENTS;

#[cfg(test)]
pub(crate) mod fakes;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

/// The default body cap of a drain: 5 MiB of uncompressed JSON. (The conservative cap for unknown proxies is
/// [`super::batch::MAX_BATCH_BYTES`], 1 MiB; our hub takes 10 MiB.)
pub const DEFAULT_DRAIN_MAX_BYTES: usize = 5 * 1024 * 1024;
/// The default number of failed sends in a row after which a drain gives up.
pub const DEFAULT_MAX_FAILED_SENDS: u32 = 6;

/// One queued event as the host's store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub event_id: String,
    /// The envelope JSON text (the queue's `data` column), sent as is.
    pub data: String,
    pub retry_count: u32,
}

/// Where the queue lives (SQLite natively, memory in tests). Errors are one-line texts.
pub trait QueueStore {
    /// Oldest first (FIFO), at most `limit`, never dead letters.
    fn oldest(&mut self, limit: usize) -> Result<Vec<QueuedEvent>, String>;
    /// Acknowledged by the hub (`success`/`duplicate`/ack): delete. Ids no longer queued are ignored.
    fn remove(&mut self, event_ids: &[String]) -> Result<(), String>;
    /// Failed, kept: retry_count + 1, remember the reason.
    fn record_failures(&mut self, failures: &[EventFailure]) -> Result<(), String>;
    /// Failed for the last time: move to the dead-letter table with the reason.
    fn dead_letter(&mut self, failures: &[EventFailure]) -> Result<(), String>;
    /// How many events are queued (dead letters not counted).
    fn len(&mut self) -> Result<usize, String>;
    /// Nothing is queued.
    fn is_empty(&mut self) -> Result<bool, String> {
        self.len().map(|n| n == 0)
    }
}

/// How a batch reaches the hub (the host gzips, authenticates, decodes the HTTP answer with
/// [`BatchAnswer::from_http`]).
pub trait BatchTransport {
    /// Sends `{"events":[...]}` with the events' `data` in this order, and says what came back.
    fn send_batch(&mut self, events: &[QueuedEvent]) -> BatchAnswer;
    /// Get a new access token with the refresh token; Err(reason) when the user must log in again.
    fn refresh_token(&mut self) -> Result<(), String>;
}

/// Time and randomness (real natively, simulated in tests).
pub trait SyncClock {
    /// Unix milliseconds.
    fn now_ms(&mut self) -> u64;
    /// A uniformly random value (the backoff's jitter).
    fn random(&mut self) -> u64;
    /// Blocks until `at_ms` (returns at once if it has passed).
    fn sleep_until(&mut self, at_ms: u64);
}

/// How one drain runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DrainConfig {
    /// The most events in one batch (contract §5: 1000).
    pub max_events: usize,
    /// The most bytes of uncompressed body in one batch (the body cap the host sends under).
    pub max_bytes: usize,
    /// The least time between two sends: 0 for `sync now`, 5000 for background sync.
    pub min_interval_ms: u64,
    /// Give up the drain after this many failed sends in a row (5xx, network, 429); events stay queued.
    pub max_failed_sends: u32,
    /// Send nothing after this time, and give up any wait (backoff, `Retry-After`, rate limit) that would end
    /// beyond it; events stay queued.
    pub stop_at_ms: Option<u64>,
}

impl Default for DrainConfig {
    fn default() -> Self {
        DrainConfig {
            max_events: MAX_BATCH_EVENTS,
            max_bytes: DEFAULT_DRAIN_MAX_BYTES,
            min_interval_ms: 0,
            max_failed_sends: DEFAULT_MAX_FAILED_SENDS,
            stop_at_ms: None,
        }
    }
}

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    /// Requests put on the wire (resends included).
    pub batches: usize,
    /// Events put on the wire, counted once per event even if resent.
    pub sent: usize,
    /// Answered `success`: deleted from the queue.
    pub accepted: usize,
    /// Answered `duplicate` (the hub had them already): deleted from the queue.
    pub duplicates: usize,
    /// Failed this run and kept with `retry_count + 1`.
    pub rejected: usize,
    /// Failed for the last time (or alone still too large): moved to the dead letter.
    pub dead_lettered: usize,
    /// The queue's length at the end (0 if the store could not say; then `stopped` is `Store`).
    pub remaining: usize,
    /// Why the drain ended before the queue was done; `None` when nothing sendable was left.
    pub stopped: Option<DrainStop>,
}

/// Why a drain ended early. The queue keeps every event not settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DrainStop {
    /// The refresh failed, or the hub refused the token right after a refresh: the user must log in again.
    LoginRequired { reason: String },
    /// 403: the batch holds events of a team the logged-in user is not in; they stay queued.
    OtherTeam,
    /// Network or 5xx (or 429) after `max_failed_sends` in a row, or `stop_at_ms` passed.
    GaveUp { reason: String },
    /// The queue store failed.
    Store { reason: String },
}

/// Progress after each batch, for a progress bar.
///
/// `done` counts events settled this run (acknowledged, failed, dead-lettered or left out of an answer);
/// it can pass `total_at_start` when events are queued during the drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainProgress {
    pub done: usize,
    pub total_at_start: usize,
}

/// Sends the whole queue (as it is and as it grows) in batches until it is empty, or stops as [`DrainStop`]
/// says. See the module's documentation for the rules of a run.
pub fn drain(
    store: &mut impl QueueStore,
    transport: &mut impl BatchTransport,
    clock: &mut impl SyncClock,
    config: &DrainConfig,
    progress: &mut dyn FnMut(DrainProgress),
) -> DrainReport {
    let mut run = DrainRun::new(config);
    let stopped = run.run(store, transport, clock, progress).err();
    let mut report = run.report;
    report.sent = run.sent.len();
    report.stopped = stopped;
    match store.len() {
        Ok(n) => report.remaining = n,
        Err(reason) => {
            report.remaining = 0;
            report.stopped.get_or_insert(DrainStop::Store { reason });
        }
    }
    report
}

/// The state of one drain.
struct DrainRun<'c> {
    config: &'c DrainConfig,
    report: DrainReport,
    /// Every event id put on the wire.
    sent: HashSet<String>,
    /// Acknowledged or dead-lettered: gone from the queue.
    settled: HashSet<String>,
    /// Failed or left out of an answer this run: still queued, not sent again this run.
    held_back: HashSet<String>,
    /// After a 413: the events to send again in smaller batches, and the batch size for them.
    split: Option<(HashSet<String>, usize)>,
    rate_limit: BatchRateLimit,
    /// Backoff attempts so far (the reaction's `failed_sends`): +1 on `BackOff`, 0 on `Continue`.
    backoff_attempts: u32,
    /// Failed sends in a row (`BackOff` or `WaitUntil`), for `max_failed_sends`.
    failed_in_a_row: u32,
    token_just_refreshed: bool,
    total_at_start: usize,
}

impl<'c> DrainRun<'c> {
    fn new(config: &'c DrainConfig) -> Self {
        DrainRun {
            config,
            report: DrainReport::default(),
            sent: HashSet::new(),
            settled: HashSet::new(),
            held_back: HashSet::new(),
            split: None,
            rate_limit: BatchRateLimit::new(config.min_interval_ms),
            backoff_attempts: 0,
            failed_in_a_row: 0,
            token_just_refreshed: false,
            total_at_start: 0,
        }
    }

    fn run(
        &mut self,
        store: &mut impl QueueStore,
        transport: &mut impl BatchTransport,
        clock: &mut impl SyncClock,
        progress: &mut dyn FnMut(DrainProgress),
    ) -> Result<(), DrainStop> {
        self.total_at_start = store.len().map_err(store_stop)?;
        loop {
            let batch = self.next_batch(store)?;
            if batch.is_empty() {
                return Ok(());
            }
            self.wait_for_rate_limit(clock)?;
            let sent_at = clock.now_ms();
            self.rate_limit.record_sent(sent_at);
            let answer = transport.send_batch(&batch);
            self.report.batches += 1;
            self.sent.extend(batch.iter().map(|e| e.event_id.clone()));
            let next = self.settle(store, &batch, &answer, clock)?;
            progress(DrainProgress {
                done: self.settled.len() + self.held_back.len(),
                total_at_start: self.total_at_start,
            });
            self.follow(next, &batch, &answer, transport, clock)?;
        }
    }

    /// The next batch: the oldest sendable events (after a 413, only the events being split), cut by the caps.
    fn next_batch(&mut self, store: &mut impl QueueStore) -> Result<Vec<QueuedEvent>, DrainStop> {
        let limit = self.held_back.len().saturating_add(self.config.max_events.max(1));
        let mut seen = HashSet::new();
        let mut candidates: Vec<QueuedEvent> = store
            .oldest(limit)
            .map_err(store_stop)?
            .into_iter()
            .take(limit)
            .filter(|e| {
                !self.settled.contains(&e.event_id)
                    && !self.held_back.contains(&e.event_id)
                    && seen.insert(e.event_id.clone())
            })
            .collect();
        let mut max_events = self.config.max_events;
        if let Some((ids, split_max)) = &self.split {
            let in_split: Vec<QueuedEvent> = candidates.iter().filter(|e| ids.contains(&e.event_id)).cloned().collect();
            if in_split.is_empty() {
                self.split = None;
            } else {
                candidates = in_split;
                max_events = max_events.min(*split_max);
            }
        }
        let items: Vec<QueuedItem> = candidates
            .iter()
            .enumerate()
            .map(|(i, e)| QueuedItem { id: i64::try_from(i).unwrap_or(i64::MAX), bytes: e.data.len() })
            .collect();
        // The plans are consecutive runs of the candidates, so the first plan is a prefix.
        let first = plan_batches(&items, max_events, self.config.max_bytes).first().map_or(0, |p| p.ids.len());
        candidates.truncate(first);
        Ok(candidates)
    }

    fn wait_for_rate_limit(&mut self, clock: &mut impl SyncClock) -> Result<(), DrainStop> {
        let now = clock.now_ms();
        match self.rate_limit.may_send(now) {
            Ok(()) => match self.config.stop_at_ms {
                Some(stop) if now > stop => {
                    Err(DrainStop::GaveUp { reason: "the drain's time ran out before the queue was done".into() })
                }
                _ => Ok(()),
            },
            Err(WaitUntil { at_ms }) => self.wait_until(clock, at_ms, "the rate limit"),
        }
    }

    /// Applies the reaction to `answer` to the queue and the counts; returns what to do next.
    fn settle(
        &mut self,
        store: &mut impl QueueStore,
        batch: &[QueuedEvent],
        answer: &BatchAnswer,
        clock: &mut impl SyncClock,
    ) -> Result<NextStep, DrainStop> {
        let sent: Vec<SentEvent> =
            batch.iter().map(|e| SentEvent { event_id: e.event_id.clone(), retry_count: e.retry_count }).collect();
        let ctx = AnswerContext {
            now_ms: clock.now_ms(),
            failed_sends: self.backoff_attempts,
            random: clock.random(),
            token_just_refreshed: self.token_just_refreshed,
        };
        let outcome = react_to_answer(answer, &sent, &ctx);
        if !outcome.remove.is_empty() {
            store.remove(&outcome.remove).map_err(store_stop)?;
        }
        if !outcome.retry.is_empty() {
            store.record_failures(&outcome.retry).map_err(store_stop)?;
        }
        if !outcome.dead_letter.is_empty() {
            store.dead_letter(&outcome.dead_letter).map_err(store_stop)?;
        }

        let duplicates = match answer {
            BatchAnswer::Results { results } => {
                let mut status: HashMap<&str, &str> = HashMap::with_capacity(results.len());
                for r in results {
                    status.entry(r.event_id.as_str()).or_insert(r.status.as_str());
                }
                outcome.remove.iter().filter(|id| status.get(id.as_str()) == Some(&"duplicate")).count()
            }
            _ => 0,
        };
        self.report.duplicates += duplicates;
        self.report.accepted += outcome.remove.len() - duplicates;
        self.report.rejected += outcome.retry.len();
        self.report.dead_lettered += outcome.dead_letter.len();

        self.settled.extend(outcome.remove);
        self.settled.extend(outcome.dead_letter.into_iter().map(|f| f.event_id));
        self.held_back.extend(outcome.retry.into_iter().map(|f| f.event_id));
        // Left out of a 200's results: kept as is, but not sent again this run (the hub might never answer
        // for it). Untouched after a 400 that named others, or after a failed request, goes again.
        if matches!(answer, BatchAnswer::Results { .. }) {
            self.held_back.extend(outcome.untouched);
        }
        Ok(outcome.next)
    }

    /// Carries out the reaction's next step.
    fn follow(
        &mut self,
        next: NextStep,
        batch: &[QueuedEvent],
        answer: &BatchAnswer,
        transport: &mut impl BatchTransport,
        clock: &mut impl SyncClock,
    ) -> Result<(), DrainStop> {
        self.token_just_refreshed = false;
        match next {
            NextStep::Continue => {
                self.backoff_attempts = 0;
                self.failed_in_a_row = 0;
                Ok(())
            }
            NextStep::RefreshTokenThenRetry => match transport.refresh_token() {
                Ok(()) => {
                    self.token_just_refreshed = true;
                    Ok(())
                }
                Err(reason) => Err(DrainStop::LoginRequired { reason }),
            },
            NextStep::SplitAndRetry { max_events } => {
                let (ids, size) = self.split.get_or_insert_with(|| (HashSet::new(), max_events));
                // The batch that was too large: all of it if no split was going on, else a part of the split.
                ids.extend(batch.iter().map(|e| e.event_id.clone()));
                *size = (*size).min(max_events).max(1);
                Ok(())
            }
            NextStep::WaitUntil { at_ms } => {
                self.count_failed_send(answer)?;
                self.wait_until(clock, at_ms, "the hub's Retry-After")
            }
            NextStep::BackOff { at_ms, .. } => {
                self.backoff_attempts = self.backoff_attempts.saturating_add(1);
                self.count_failed_send(answer)?;
                self.wait_until(clock, at_ms, "the backoff")
            }
            NextStep::StopAuth { reason: AuthStop::LoginRequired } => Err(DrainStop::LoginRequired {
                reason: "the hub refused the access token right after a refresh".into(),
            }),
            NextStep::StopAuth { reason: AuthStop::OtherTeam } => Err(DrainStop::OtherTeam),
        }
    }

    fn count_failed_send(&mut self, answer: &BatchAnswer) -> Result<(), DrainStop> {
        self.failed_in_a_row = self.failed_in_a_row.saturating_add(1);
        if self.failed_in_a_row >= self.config.max_failed_sends {
            return Err(DrainStop::GaveUp {
                reason: format!("{} failed sends in a row, the last: {}", self.failed_in_a_row, describe(answer)),
            });
        }
        Ok(())
    }

    fn wait_until(&self, clock: &mut impl SyncClock, at_ms: u64, what: &str) -> Result<(), DrainStop> {
        if let Some(stop) = self.config.stop_at_ms
            && at_ms > stop
        {
            return Err(DrainStop::GaveUp { reason: format!("{what} asks to wait past the drain's time limit") });
        }
        clock.sleep_until(at_ms);
        Ok(())
    }
}

fn store_stop(reason: String) -> DrainStop {
    DrainStop::Store { reason }
}

/// A failed request in a few words, for `GaveUp`'s reason.
fn describe(answer: &BatchAnswer) -> String {
    match answer {
        BatchAnswer::ServerError { status } => format!("the hub answered HTTP {status}"),
        BatchAnswer::TooManyRequests { .. } => "the hub answered 429 (too many requests)".into(),
        BatchAnswer::NetworkError { message } | BatchAnswer::UnexpectedResponse { message, .. } => {
            message.lines().next().unwrap_or_default().to_string()
        }
        other => format!("{other:?}"),
    }
}
