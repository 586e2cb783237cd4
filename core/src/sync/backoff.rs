//! The backoff schedule for reconnects and failed batch sends: min(0.5 s * 2^n, 30 s) with jitter.
//!
//! Randomness comes in as a `u64` from the host, so the same inputs give the same delay on every host and no
//! float crosses a boundary.

use serde::{Deserialize, Serialize};

/// The first nominal delay.
pub const BACKOFF_BASE_MS: u64 = 500;
/// The longest delay.
pub const BACKOFF_CAP_MS: u64 = 30_000;

/// An exponential backoff with **equal jitter**: for attempt `n` (0 for the first retry) the nominal delay is
/// `c = min(base_ms * 2^n, cap_ms)` and the delay is `c/2 + j` with `j` in `[0, c - c/2]` drawn from the
/// random value, so always within `[c/2, c]`.
///
/// Why equal jitter rather than full jitter (`[0, c]`): a client never retries sooner than half the nominal
/// delay, so a dead server or proxy is not hammered by near-zero waits, while clients that lost the same
/// server at the same moment are still spread over half the window.
///
/// The random value is used as the fraction `random / 2^64` of the jitter span (not `random % span`), so for
/// a fixed random value the delay is **non-decreasing in the attempt number**: both `c/2` and the scaled
/// jitter grow with `c`, and `c` grows with `n` until the cap.
///
/// Any inputs are safe: `2^n` saturates for huge `n`, and the result is always within `[0, cap_ms]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackoffSchedule {
    pub base_ms: u64,
    pub cap_ms: u64,
}

impl Default for BackoffSchedule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl BackoffSchedule {
    /// 500 ms doubling up to 30 s (contract §5).
    pub const DEFAULT: BackoffSchedule = BackoffSchedule { base_ms: BACKOFF_BASE_MS, cap_ms: BACKOFF_CAP_MS };

    /// The nominal (un-jittered) delay for `attempt`: `min(base_ms * 2^attempt, cap_ms)`, without overflow.
    pub fn ceiling_ms(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(self.cap_ms)
    }

    /// The delay before retry number `attempt` (0-based), given a random value from the host.
    pub fn delay_ms(&self, attempt: u32, random: u64) -> u64 {
        let ceiling = self.ceiling_ms(attempt);
        let floor = ceiling / 2;
        let span = ceiling - floor;
        // (span + 1) * random / 2^64 is in [0, span]; u128 cannot overflow (both factors < 2^64).
        let jitter = ((u128::from(span) + 1) * u128::from(random)) >> 64;
        // jitter <= span, so the sum is <= ceiling and the conversion cannot fail.
        floor + u64::try_from(jitter).map_or(span, |j| j.min(span))
    }

    /// The time to retry at: `now_ms + delay_ms(attempt, random)`, saturating.
    pub fn retry_at_ms(&self, now_ms: u64, attempt: u32, random: u64) -> u64 {
        now_ms.saturating_add(self.delay_ms(attempt, random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: BackoffSchedule = BackoffSchedule::DEFAULT;

    #[test]
    fn nominal_delays_double_up_to_the_cap() {
        let ceilings: Vec<u64> = (0..9).map(|n| S.ceiling_ms(n)).collect();
        assert_eq!(ceilings, vec![500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
        assert_eq!(S.ceiling_ms(u32::MAX), 30_000);
    }

    #[test]
    fn equal_jitter_ends() {
        assert_eq!(S.delay_ms(0, 0), 250);
        assert_eq!(S.delay_ms(0, u64::MAX), 500);
        assert_eq!(S.delay_ms(6, 0), 15_000);
        assert_eq!(S.delay_ms(6, u64::MAX), 30_000);
        assert_eq!(S.delay_ms(1, 1 << 63), 750);
    }

    #[test]
    fn extreme_schedules_do_not_overflow() {
        let huge = BackoffSchedule { base_ms: u64::MAX, cap_ms: u64::MAX };
        assert_eq!(huge.delay_ms(u32::MAX, u64::MAX), u64::MAX);
        let zero = BackoffSchedule { base_ms: 0, cap_ms: 0 };
        assert_eq!(zero.delay_ms(7, u64::MAX), 0);
        assert_eq!(S.retry_at_ms(u64::MAX, 3, 9), u64::MAX);
    }

    proptest! {
        #[test]
        fn delay_stays_within_zero_and_cap(attempt in any::<u32>(), random in any::<u64>()) {
            let d = S.delay_ms(attempt, random);
            prop_assert!(d <= BACKOFF_CAP_MS);
            let c = S.ceiling_ms(attempt);
            prop_assert!(d >= c / 2 && d <= c);
        }

        #[test]
        fn delay_is_non_decreasing_in_attempt(attempt in 0u32..200, random in any::<u64>()) {
            prop_assert!(S.delay_ms(attempt, random) <= S.delay_ms(attempt + 1, random));
        }

        #[test]
        fn any_schedule_stays_within_its_cap(
            base in any::<u64>(), cap in any::<u64>(), attempt in any::<u32>(), random in any::<u64>()
        ) {
            let s = BackoffSchedule { base_ms: base, cap_ms: cap };
            prop_assert!(s.delay_ms(attempt, random) <= cap);
            prop_assert!(s.delay_ms(attempt, random) <= s.delay_ms(attempt.saturating_add(1), random));
        }
    }
}
