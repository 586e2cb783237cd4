//! `format: date-time`, decided as jsonschema 0.61 decides it (its `is_valid_datetime`), so both
//! validators accept and refuse the same timestamps.
//!
//! RFC 3339 `full-date "T" full-time`: the separator may be `T` or `t` and the zone `Z`, `z` or `±hh:mm`;
//! fractional seconds take any number of digits; the seconds must be there. A leap second (`:60`) is
//! accepted only where it falls at 23:59:60 UTC once the offset is applied.

/// Whether `text` is an RFC 3339 date-time.
pub(super) fn is_date_time(text: &str) -> bool {
    let Some(separator) = text.bytes().position(|b| b == b'T' || b == b't') else {
        return false;
    };
    is_full_date(&text.as_bytes()[..separator]) && is_full_time(&text.as_bytes()[separator + 1..])
}

/// `YYYY-MM-DD`, with the day in its month (29 February in leap years only).
fn is_full_date(bytes: &[u8]) -> bool {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *bytes else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(&[y1, y2, y3, y4]), digits(&[m1, m2]), digits(&[d1, d2])) else {
        return false;
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// `HH:MM:SS[.fraction](Z|z|+hh:mm|-hh:mm)`.
fn is_full_time(bytes: &[u8]) -> bool {
    let [h1, h2, b':', m1, m2, b':', s1, s2, rest @ ..] = bytes else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (digits(&[*h1, *h2]), digits(&[*m1, *m2]), digits(&[*s1, *s2]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let zone = match rest {
        [b'.', fraction @ ..] => {
            let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if count == 0 {
                return false;
            }
            &fraction[count..]
        }
        _ => rest,
    };
    let local = Minutes { hour, minute };
    match zone {
        [b'Z' | b'z'] => second != 60 || local.is_last_minute_of_the_day(),
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let (Some(offset_hour), Some(offset_minute)) = (digits(&[*oh1, *oh2]), digits(&[*om1, *om2])) else {
                return false;
            };
            if offset_hour > 23 || offset_minute > 59 {
                return false;
            }
            second != 60 || local.to_utc(*sign, offset_hour, offset_minute).is_last_minute_of_the_day()
        }
        _ => false,
    }
}

/// A time of day to the minute, the part a leap second's position depends on.
#[derive(Clone, Copy)]
struct Minutes {
    hour: u32,
    minute: u32,
}

impl Minutes {
    fn is_last_minute_of_the_day(self) -> bool {
        self.hour == 23 && self.minute == 59
    }

    /// The same instant in UTC: local time minus a `+` offset, plus a `-` one, modulo a day.
    fn to_utc(self, sign: u8, offset_hour: u32, offset_minute: u32) -> Minutes {
        let local = (self.hour * 60 + self.minute) as i32;
        let offset = (offset_hour * 60 + offset_minute) as i32;
        let utc = if sign == b'+' { local - offset } else { local + offset };
        let utc = utc.rem_euclid(24 * 60) as u32;
        Minutes { hour: utc / 60, minute: utc % 60 }
    }
}

/// The value of ASCII decimal digits, or `None` if any byte is not one.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0, |value, &byte| byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0')))
}

#[cfg(test)]
mod tests {
    use super::is_date_time;

    #[test]
    fn rfc3339_date_times_pass() {
        for text in [
            "2026-02-04T10:46:03.000Z",
            "2026-02-04T10:46:03Z",
            "2026-02-04t10:46:03z",
            "2026-02-04T10:46:03.123456789+05:30",
            "2026-02-04T10:46:03-23:59",
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-12-31T23:59:60.5Z",
            "2027-01-01T00:59:60+01:00",
            "2026-12-31T22:59:60-01:00",
        ] {
            assert!(is_date_time(text), "{text:?} should be a date-time");
        }
    }

    #[test]
    fn malformed_date_times_fail() {
        for text in [
            "",
            "yesterday",
            "2026-02-04",
            "2026-02-04T10:46Z",
            "2026-02-04T10:46:03",
            "2026-02-04 10:46:03Z",
            "2026-02-04T10:46:03.Z",
            "2026-02-04T10:46:03+0100",
            "2026-02-04T10:46:03+01:00:00",
            "2026-02-04T10:46:03+24:00",
            "2026-02-04T10:46:03+01:60",
            "2026-02-04T24:00:00Z",
            "2026-02-04T10:60:00Z",
            "2026-02-04T10:46:61Z",
            "2026-02-04T10:46:60Z",
            "2026-12-31T23:59:60+01:00",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "26-02-04T10:46:03Z",
            "２０２６-02-04T10:46:03Z",
            "2026-02-04T10:46:03Z ",
        ] {
            assert!(!is_date_time(text), "{text:?} should not be a date-time");
        }
    }
}
