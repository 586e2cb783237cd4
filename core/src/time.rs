//! Wall-clock times as text. The host passes Unix milliseconds in; the core never reads a clock.

use chrono::{DateTime, SecondsFormat, Utc};

fn utc(unix_ms: u64) -> DateTime<Utc> {
    // i64 milliseconds reach far past year 9999, where chrono stops; clamp rather than panic.
    let ms = i64::try_from(unix_ms).unwrap_or(i64::MAX);
    DateTime::from_timestamp_millis(ms)
        .or_else(|| DateTime::from_timestamp_millis(253_402_300_799_999))
        .unwrap_or_default()
}

/// RFC 3339 UTC with milliseconds, as event timestamps carry: `2026-02-04T10:46:03.120Z`.
pub fn rfc3339_millis(unix_ms: u64) -> String {
    utc(unix_ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339 UTC to the second, as activity logs and clock.json carry: `2026-02-04T10:46:03Z`.
pub fn rfc3339_seconds(unix_ms: u64) -> String {
    utc(unix_ms).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads an RFC 3339 time (any offset) as Unix milliseconds; `None` when it is not one.
pub fn parse_rfc3339_ms(text: &str) -> Option<u64> {
    let time = DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(time.timestamp_millis()).ok()
}

/// A duration as FeatureCompleted carries it: seconds with one decimal, like `123.4s`.
pub fn duration_text(millis: u64) -> String {
    format!("{}.{}s", millis / 1000, (millis % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_and_without_millis() {
        assert_eq!(rfc3339_millis(1_770_202_123_456), "2026-02-04T10:48:43.456Z");
        assert_eq!(rfc3339_seconds(1_770_202_123_456), "2026-02-04T10:48:43Z");
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn parses_offsets_and_formats_durations() {
        assert_eq!(parse_rfc3339_ms("2026-02-04T11:48:43.456+01:00"), Some(1_770_202_123_456));
        assert_eq!(parse_rfc3339_ms("2026-02-04"), None);
        assert_eq!(duration_text(123_456), "123.4s");
    }

    #[test]
    fn out_of_range_times_clamp_instead_of_panicking() {
        assert_eq!(rfc3339_seconds(u64::MAX), "9999-12-31T23:59:59Z");
    }
}
