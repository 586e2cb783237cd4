//! Per-user token buckets for the batch endpoint: a client that floods gets 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` requests a second per user, with a burst of the same size; 0 turns it off.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter { per_second: f64::from(per_second), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `user`'s bucket, or says how long until one is there.
    pub fn check(&self, user: &str, now: Instant) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(user.to_string()).or_insert(Bucket { tokens: self.per_second, updated: now });
        let refill = now.saturating_duration_since(bucket.updated).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.per_second);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let limiter = RateLimiter::new(2);
        let start = Instant::now();
        assert!(limiter.check("ana", start).is_ok());
        assert!(limiter.check("ana", start).is_ok());
        let wait = limiter.check("ana", start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.check("bo", start).is_ok(), "each user has a bucket");
        assert!(limiter.check("ana", start + Duration::from_millis(500)).is_ok());
        assert!(RateLimiter::new(0).check("ana", start).is_ok());
    }
}
