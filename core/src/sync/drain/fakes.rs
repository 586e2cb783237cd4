//! In-memory hosts for the drain's tests: a queue store that checks the retry-count laws as it goes, a
//! simulated clock whose sleeps only move time, and a small seeded PRNG (splitmix64).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use super::{QueueStore, QueuedEvent, SyncClock};
use crate::sync::answer::{EventFailure, MAX_RETRIES, PAYLOAD_TOO_LARGE_REASON};

/// Simulated Unix milliseconds, shared by the clock, the store (arrivals) and the model hub (latency).
pub type SimTime = Rc<Cell<u64>>;

/// splitmix64: tiny, fast, and good enough to drive faults.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// A store operation that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Oldest,
    Remove,
}

/// The queue in memory, FIFO, with a dead-letter list. Panics when the drain breaks a law of the queue:
/// a failure recorded for an event twice in one drain, a dead letter before the last try, a retry count going
/// anywhere but up by one.
#[derive(Debug, Default)]
pub struct MemStore {
    pub queue: Vec<QueuedEvent>,
    pub dead: Vec<(QueuedEvent, String)>,
    pub reasons: HashMap<String, String>,
    /// Events that join the queue once simulated time reaches their time (a command emitting meanwhile).
    pub arrivals: VecDeque<(u64, QueuedEvent)>,
    pub time: SimTime,
    /// Fail this operation on its `n`th call from now (1 = the next call).
    pub fail: Option<(StoreOp, u32)>,
    /// Failures recorded (retries and dead letters) per event id, over all drains.
    pub failures_recorded: HashMap<String, u32>,
    /// Event ids that had a failure recorded during the current drain (see [`MemStore::start_drain`]).
    pub failed_this_drain: HashSet<String>,
    /// When set, the events the hub has: removing any other event is a lost event, and panics.
    pub hub_has: Option<Rc<RefCell<HashSet<String>>>>,
    pub removed: usize,
    pub retried: usize,
    pub dead_lettered: usize,
}

impl MemStore {
    pub fn with_events(events: impl IntoIterator<Item = QueuedEvent>) -> Self {
        MemStore { queue: events.into_iter().collect(), ..MemStore::default() }
    }

    /// A drain begins: forget whose failures this drain recorded.
    pub fn start_drain(&mut self) {
        self.failed_this_drain.clear();
    }

    fn admit_arrivals(&mut self) {
        let now = self.time.get();
        while self.arrivals.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, event)) = self.arrivals.pop_front() {
                self.queue.push(event);
            }
        }
    }

    fn maybe_fail(&mut self, op: StoreOp) -> Result<(), String> {
        if let Some((failing, n)) = &mut self.fail
            && *failing == op
        {
            *n -= 1;
            if *n == 0 {
                self.fail = None;
                return Err(format!("simulated store failure in {op:?}"));
            }
        }
        Ok(())
    }

    fn note_failure(&mut self, event_id: &str) {
        assert!(self.failed_this_drain.insert(event_id.to_string()), "{event_id}: two failures recorded in one drain");
        *self.failures_recorded.entry(event_id.to_string()).or_default() += 1;
    }

    pub fn retry_count(&self, event_id: &str) -> Option<u32> {
        self.queue.iter().find(|e| e.event_id == event_id).map(|e| e.retry_count)
    }

    pub fn dead_ids(&self) -> Vec<&str> {
        self.dead.iter().map(|(e, _)| e.event_id.as_str()).collect()
    }
}

impl QueueStore for MemStore {
    fn oldest(&mut self, limit: usize) -> Result<Vec<QueuedEvent>, String> {
        self.admit_arrivals();
        self.maybe_fail(StoreOp::Oldest)?;
        Ok(self.queue.iter().take(limit).cloned().collect())
    }

    fn remove(&mut self, event_ids: &[String]) -> Result<(), String> {
        self.maybe_fail(StoreOp::Remove)?;
        if let Some(hub) = &self.hub_has {
            let hub = hub.borrow();
            let lost = event_ids.iter().find(|id| !hub.contains(*id));
            assert!(lost.is_none(), "{lost:?}: removed from the queue but the hub does not have it");
        }
        let ids: HashSet<&str> = event_ids.iter().map(String::as_str).collect();
        let before = self.queue.len();
        self.queue.retain(|e| !ids.contains(e.event_id.as_str()));
        self.removed += before - self.queue.len();
        Ok(())
    }

    fn record_failures(&mut self, failures: &[EventFailure]) -> Result<(), String> {
        for failure in failures {
            self.note_failure(&failure.event_id);
            let event = self.queue.iter_mut().find(|e| e.event_id == failure.event_id);
            let event =
                event.unwrap_or_else(|| panic!("{}: failure recorded for an event not queued", failure.event_id));
            event.retry_count += 1;
            assert!(event.retry_count < MAX_RETRIES, "{}: kept after its last try", event.event_id);
            self.reasons.insert(failure.event_id.clone(), failure.reason.clone());
            self.retried += 1;
        }
        Ok(())
    }

    fn dead_letter(&mut self, failures: &[EventFailure]) -> Result<(), String> {
        for failure in failures {
            let at = self.queue.iter().position(|e| e.event_id == failure.event_id);
            let at = at.unwrap_or_else(|| panic!("{}: dead-lettered but not queued", failure.event_id));
            let event = self.queue.remove(at);
            if failure.reason != PAYLOAD_TOO_LARGE_REASON {
                self.note_failure(&failure.event_id);
                assert_eq!(event.retry_count, MAX_RETRIES - 1, "{}: dead-lettered before its last try", event.event_id);
            }
            self.dead.push((event, failure.reason.clone()));
            self.dead_lettered += 1;
        }
        Ok(())
    }

    fn len(&mut self) -> Result<usize, String> {
        self.admit_arrivals();
        Ok(self.queue.len())
    }
}

/// Simulated time: `sleep_until` jumps; every sleep is remembered.
#[derive(Debug)]
pub struct SimClock {
    pub time: SimTime,
    pub rng: SplitMix64,
    pub sleeps: Vec<u64>,
}

impl SimClock {
    pub fn new(time: SimTime, seed: u64) -> Self {
        SimClock { time, rng: SplitMix64::new(seed), sleeps: Vec::new() }
    }
}

impl SyncClock for SimClock {
    fn now_ms(&mut self) -> u64 {
        self.time.get()
    }

    fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn sleep_until(&mut self, at_ms: u64) {
        self.sleeps.push(at_ms);
        self.time.set(self.time.get().max(at_ms));
    }
}

/// A queued event with `size` bytes of data; `reject` puts the marker the model hub always rejects.
pub fn event(id: &str, size: usize, reject: bool) -> QueuedEvent {
    let head = format!(r#"{{"event_id":"{id}","kind":"{}","pad":""#, if reject { "reject" } else { "ok" });
    let pad = "x".repeat(size.saturating_sub(head.len() + 2));
    QueuedEvent { event_id: id.to_string(), data: format!("{head}{pad}\"}}"), retry_count: 0 }
}
