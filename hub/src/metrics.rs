//! Counters for `GET /metrics`, in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub events_accepted: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_rejected: AtomicU64,
    pub websockets_open: AtomicU64,
    batch_micros_sum: AtomicU64,
    batch_count: AtomicU64,
}

impl Metrics {
    pub fn count(&self, counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    pub fn record_batch(&self, elapsed: std::time::Duration) {
        self.batch_micros_sum.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.batch_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{value}"));
        };
        for (name, help, counter) in [
            ("spec_kitty_hub_events_accepted_total", "Events stored.", &self.events_accepted),
            ("spec_kitty_hub_events_duplicate_total", "Events answered duplicate.", &self.events_duplicate),
            ("spec_kitty_hub_events_rejected_total", "Events rejected.", &self.events_rejected),
        ] {
            metric(name, "counter", help, format!("{name} {}\n", get(counter)));
        }
        let open = "spec_kitty_hub_websockets_open";
        metric(open, "gauge", "Open WebSocket connections.", format!("{open} {}\n", get(&self.websockets_open)));
        let batch = "spec_kitty_hub_batch_seconds";
        let seconds = get(&self.batch_micros_sum) as f64 / 1e6;
        metric(
            batch,
            "summary",
            "Time to validate, store and answer a batch.",
            format!("{batch}_sum {seconds}\n{batch}_count {}\n", get(&self.batch_count)),
        );
        text
    }
}
