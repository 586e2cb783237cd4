//! Cutting the offline queue into batches for `POST /api/v1/events/batch/`.
//!
//! A batch is the body `{"events":[e1,e2,...]}`; the plan keeps each body within a count cap and a byte cap
//! and keeps the queue's order (oldest first), so the server sees events in the order they happened.

use serde::{Deserialize, Serialize};

/// The most events in one batch (contract §5).
pub const MAX_BATCH_EVENTS: usize = 1000;

/// The most bytes of uncompressed JSON body in one batch: 1 MiB.
///
/// The body is gzipped on the wire, so the bytes that reach the server are several times fewer; capping the
/// uncompressed size keeps us under the smallest common request limits whatever the compression ratio
/// (nginx's default `client_max_body_size` is 1 MiB, axum's default body limit is 2 MB, and a server that
/// inflates the body for validation holds the uncompressed size in memory). A typical envelope is well under
/// 1 KiB, so a full batch of 1000 events normally fits; unusually large events just make batches shorter.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// The bytes of `{"events":[` and `]}` around the events.
pub const BATCH_BODY_OVERHEAD: usize = r#"{"events":[]}"#.len();

/// One queued event, as much as planning needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueuedItem {
    /// The queue row's id.
    pub id: i64,
    /// The size in bytes of its envelope JSON (the queue's `data` column).
    pub bytes: usize,
}

/// One batch to send: queue row ids, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BatchPlan {
    pub ids: Vec<i64>,
}

/// The size of the body `{"events":[...]}` holding `count` events of `event_bytes` bytes in total
/// (the events plus the commas between them plus the wrapper), saturating on overflow.
pub fn batch_body_bytes(count: usize, event_bytes: usize) -> usize {
    BATCH_BODY_OVERHEAD.saturating_add(event_bytes).saturating_add(count.saturating_sub(1))
}

/// Cuts `queued` (in queue order, oldest first) into consecutive batches.
///
/// - Every item lands in exactly one batch, and the batches, read in order, give back `queued` in order.
/// - Each batch holds at most `max_events` events, and its whole body ([`batch_body_bytes`]) is at most
///   `max_bytes`, with one exception: an item whose body would exceed `max_bytes` on its own goes alone in its
///   own batch. It is not dropped or reordered here: the server may take it, or answer 413, and the answer's
///   reaction (split, then dead-letter a single event that is still too large) deals with it.
/// - Batches are filled greedily: a batch ends only when the next item would break a cap.
///
/// A `max_events` of 0 is taken as 1, so the plan always makes progress.
pub fn plan_batches(queued: &[QueuedItem], max_events: usize, max_bytes: usize) -> Vec<BatchPlan> {
    let max_events = max_events.max(1);
    let mut plans = Vec::new();
    let mut ids: Vec<i64> = Vec::new();
    let mut event_bytes = 0usize;
    for item in queued {
        let fits = ids.len() < max_events
            && batch_body_bytes(ids.len() + 1, event_bytes.saturating_add(item.bytes)) <= max_bytes;
        if !ids.is_empty() && !fits {
            plans.push(BatchPlan { ids: std::mem::take(&mut ids) });
            event_bytes = 0;
        }
        ids.push(item.id);
        event_bytes = event_bytes.saturating_add(item.bytes);
    }
    if !ids.is_empty() {
        plans.push(BatchPlan { ids });
    }
    plans
}

/// A batch cap of 0 from a caller: a batch that may hold no event (or no byte) cannot be planned, and
/// reading it as "one event per batch" would hide the caller's mistake. Names the cap as the hosts'
/// APIs do (`planBatches(queued, maxEvents, maxBytes)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: a batch cap must be at least 1, got 0")]
pub struct ZeroBatchCap {
    pub field: &'static str,
}

/// What was asked is wrong.
impl crate::error_kind::ErrorKind for ZeroBatchCap {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

/// [`plan_batches`] for caps that come from outside (a JS or ABI caller): refuses a cap of 0, naming it.
pub fn plan_batches_checked(
    queued: &[QueuedItem],
    max_events: usize,
    max_bytes: usize,
) -> Result<Vec<BatchPlan>, ZeroBatchCap> {
    if max_events == 0 {
        return Err(ZeroBatchCap { field: "maxEvents" });
    }
    if max_bytes == 0 {
        return Err(ZeroBatchCap { field: "maxBytes" });
    }
    Ok(plan_batches(queued, max_events, max_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn items(sizes: &[usize]) -> Vec<QueuedItem> {
        sizes.iter().enumerate().map(|(i, &bytes)| QueuedItem { id: i as i64 + 1, bytes }).collect()
    }

    #[test]
    fn empty_queue_plans_nothing() {
        assert!(plan_batches(&[], MAX_BATCH_EVENTS, MAX_BATCH_BYTES).is_empty());
    }

    #[test]
    fn count_cap_cuts_at_1000() {
        let queue = items(&[100; 2500]);
        let plans = plan_batches(&queue, MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
        let lens: Vec<usize> = plans.iter().map(|p| p.ids.len()).collect();
        assert_eq!(lens, vec![1000, 1000, 500]);
        assert_eq!(plans[1].ids.first(), Some(&1001));
    }

    #[test]
    fn byte_cap_counts_wrapper_and_commas() {
        // Two 10-byte events make a body of 13 + 20 + 1 = 34 bytes.
        let queue = items(&[10, 10, 10]);
        assert_eq!(plan_batches(&queue, 10, 34), vec![BatchPlan { ids: vec![1, 2] }, BatchPlan { ids: vec![3] }]);
        assert_eq!(plan_batches(&queue, 10, 33).len(), 3);
    }

    #[test]
    fn oversize_item_goes_alone() {
        let queue = items(&[10, 500, 10]);
        assert_eq!(
            plan_batches(&queue, 10, 100),
            vec![BatchPlan { ids: vec![1] }, BatchPlan { ids: vec![2] }, BatchPlan { ids: vec![3] },]
        );
    }

    #[test]
    fn zero_event_cap_still_progresses() {
        assert_eq!(plan_batches(&items(&[1, 1]), 0, 1000).len(), 2);
    }

    #[test]
    fn a_cap_of_zero_from_a_caller_is_refused_naming_it() {
        let queue = items(&[1, 1]);
        let refused =
            |max_events, max_bytes| plan_batches_checked(&queue, max_events, max_bytes).unwrap_err().to_string();
        assert_eq!(refused(0, 1000), "maxEvents: a batch cap must be at least 1, got 0");
        assert_eq!(refused(10, 0), "maxBytes: a batch cap must be at least 1, got 0");
        assert_eq!(refused(0, 0), "maxEvents: a batch cap must be at least 1, got 0");
        assert_eq!(plan_batches_checked(&queue, 1, 1), Ok(plan_batches(&queue, 1, 1)));
        assert_eq!(plan_batches_checked(&[], MAX_BATCH_EVENTS, MAX_BATCH_BYTES), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn plans_cover_the_queue_once_in_order_within_caps(
            sizes in proptest::collection::vec(0usize..3000, 0..300),
            max_events in 1usize..50,
            max_bytes in 0usize..20_000,
        ) {
            let queue = items(&sizes);
            let size_of: HashMap<i64, usize> = queue.iter().map(|q| (q.id, q.bytes)).collect();
            let plans = plan_batches(&queue, max_events, max_bytes);

            let flat: Vec<i64> = plans.iter().flat_map(|p| p.ids.iter().copied()).collect();
            let expected: Vec<i64> = queue.iter().map(|q| q.id).collect();
            prop_assert_eq!(flat, expected);

            for (i, plan) in plans.iter().enumerate() {
                prop_assert!(!plan.ids.is_empty());
                prop_assert!(plan.ids.len() <= max_events);
                let bytes: usize = plan.ids.iter().map(|id| size_of[id]).sum();
                let body = batch_body_bytes(plan.ids.len(), bytes);
                // Over the byte cap only as the documented lone oversize item.
                prop_assert!(body <= max_bytes || plan.ids.len() == 1);
                // Greedy: the next item would have broken a cap.
                if let Some(next) = plans.get(i + 1).and_then(|p| p.ids.first()) {
                    let with_next = batch_body_bytes(plan.ids.len() + 1, bytes + size_of[next]);
                    prop_assert!(plan.ids.len() == max_events || with_next > max_bytes);
                }
            }
        }
    }
}
