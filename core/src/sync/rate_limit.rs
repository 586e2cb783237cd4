//! How often the batch sync may send: at most one batch per 5 s, and a background sync every 5 minutes.

use serde::{Deserialize, Serialize};

/// The shortest time between two batch sends (contract §5: one batch per 5 s).
pub const MIN_BATCH_INTERVAL_MS: u64 = 5_000;

/// The default period of the background sync while a long command runs (contract §5: every 5 minutes,
/// configurable in `config.toml`).
pub const BACKGROUND_SYNC_INTERVAL_MS: u64 = 5 * 60 * 1000;

/// Not yet: the next batch may go at `at_ms` (Unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitUntil {
    pub at_ms: u64,
}

/// The batch rate limit: remembers when the last batch went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRateLimit {
    pub min_interval_ms: u64,
    /// When the last batch was sent (Unix milliseconds), if any.
    pub last_sent_ms: Option<u64>,
}

impl Default for BatchRateLimit {
    fn default() -> Self {
        BatchRateLimit { min_interval_ms: MIN_BATCH_INTERVAL_MS, last_sent_ms: None }
    }
}

impl BatchRateLimit {
    /// A limit of one batch per `min_interval_ms`, with nothing sent yet.
    pub fn new(min_interval_ms: u64) -> Self {
        BatchRateLimit { min_interval_ms, last_sent_ms: None }
    }

    /// May a batch go at `now_ms`? If not, says when it may.
    ///
    /// If the clock went backwards (`now_ms` before the last send), the wait is still at most one interval
    /// from `now_ms`: a clock step back must not stall sync for as long as the step.
    pub fn may_send(&self, now_ms: u64) -> Result<(), WaitUntil> {
        let Some(last) = self.last_sent_ms else {
            return Ok(());
        };
        let next = last.saturating_add(self.min_interval_ms).min(now_ms.saturating_add(self.min_interval_ms));
        if now_ms >= next { Ok(()) } else { Err(WaitUntil { at_ms: next }) }
    }

    /// Records that a batch went at `now_ms`.
    pub fn record_sent(&mut self, now_ms: u64) {
        self.last_sent_ms = Some(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_batch_goes_at_once() {
        assert_eq!(BatchRateLimit::default().may_send(0), Ok(()));
    }

    #[test]
    fn one_batch_per_five_seconds() {
        let mut limit = BatchRateLimit::default();
        limit.record_sent(10_000);
        assert_eq!(limit.may_send(10_000), Err(WaitUntil { at_ms: 15_000 }));
        assert_eq!(limit.may_send(14_999), Err(WaitUntil { at_ms: 15_000 }));
        assert_eq!(limit.may_send(15_000), Ok(()));
        assert_eq!(limit.may_send(99_000), Ok(()));
    }

    #[test]
    fn clock_stepping_back_waits_at_most_one_interval() {
        let mut limit = BatchRateLimit::default();
        limit.record_sent(1_000_000);
        assert_eq!(limit.may_send(2_000), Err(WaitUntil { at_ms: 7_000 }));
    }

    #[test]
    fn does_not_overflow_at_the_end_of_time() {
        let mut limit = BatchRateLimit::default();
        limit.record_sent(u64::MAX);
        assert_eq!(limit.may_send(u64::MAX), Ok(()));
    }
}
