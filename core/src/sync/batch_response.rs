//! Reading the HTTP answer of `POST /api/v1/events/batch/` into a [`BatchAnswer`], so every host decodes
//! the wire the same way. Decoding is lenient: a server that adds keys, sends `details` as a JSON string, or
//! has one odd entry in `results` must not stall the queue.

use serde::Deserialize;
use serde_json::Value;

use super::answer::{BatchAnswer, EventError, EventResult};

impl BatchAnswer {
    /// Decodes an HTTP answer: its status, its body (as text; empty if none) and its `Retry-After` in
    /// milliseconds (see [`parse_retry_after_ms`]).
    ///
    /// Any 2xx is read as `{"results":[...]}`; an entry of `results` without a string `event_id` is skipped
    /// (its event stays untouched) and an entry without `status` counts as a failure. A 2xx body that is not
    /// such an object is an [`BatchAnswer::UnexpectedResponse`], as is any status the contract does not name.
    pub fn from_http(status: u16, body: &str, retry_after_ms: Option<u64>) -> BatchAnswer {
        match status {
            200..=299 => match parse_results(body) {
                Ok(results) => BatchAnswer::Results { results },
                Err(message) => BatchAnswer::UnexpectedResponse { status, message },
            },
            400 => parse_bad_request(body),
            401 => BatchAnswer::Unauthorized,
            403 => BatchAnswer::Forbidden,
            413 => BatchAnswer::PayloadTooLarge,
            429 => BatchAnswer::TooManyRequests { retry_after_ms },
            500..=599 => BatchAnswer::ServerError { status },
            _ => BatchAnswer::UnexpectedResponse { status, message: format!("unexpected HTTP status {status}") },
        }
    }
}

/// Reads a `Retry-After` header value given in seconds (`"120"`) into milliseconds. An HTTP-date or anything
/// else unreadable gives `None`, and the reaction then waits its default.
pub fn parse_retry_after_ms(value: &str) -> Option<u64> {
    let seconds: u64 = value.trim().parse().ok()?;
    // Clamped here too, not only when reacting: the value crosses into JS, whose numbers stop being
    // exact at 2^53.
    Some(seconds.saturating_mul(1000).min(super::answer::MAX_RETRY_AFTER_MS))
}

fn parse_results(body: &str) -> Result<Vec<EventResult>, String> {
    #[derive(Deserialize)]
    struct Body {
        results: Vec<Value>,
    }
    let parsed: Body = serde_json::from_str(body).map_err(|e| format!("unreadable batch results: {e}"))?;
    Ok(parsed.results.into_iter().filter_map(|entry| serde_json::from_value(entry).ok()).collect())
}

fn parse_bad_request(body: &str) -> BatchAnswer {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let error = parsed.get("error").and_then(Value::as_str).map(str::to_string);
    let details = match parsed.get("details") {
        Some(Value::Array(entries)) => detail_entries(entries),
        // Some servers send the list as a JSON string.
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(entries)) => detail_entries(&entries),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    BatchAnswer::BadRequest { error, details }
}

/// The `{"event_id","error"}` entries (`reason` is taken for `error` too); others are skipped.
fn detail_entries(entries: &[Value]) -> Vec<EventError> {
    entries
        .iter()
        .filter_map(|entry| {
            let event_id = entry.get("event_id")?.as_str()?.to_string();
            let error = ["error", "reason"]
                .iter()
                .find_map(|key| entry.get(*key).and_then(Value::as_str))
                .unwrap_or("rejected")
                .to_string();
            Some(EventError { event_id, error })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_200_results_leniently() {
        let body = r#"{"results":[
            {"event_id":"a","status":"success"},
            {"event_id":"b","status":"rejected","error":"bad lane"},
            {"status":"success"},
            {"event_id":"c"},
            {"event_id":"d","status":"error","error_message":"old server"}
        ],"extra":1}"#;
        let BatchAnswer::Results { results } = BatchAnswer::from_http(200, body, None) else {
            panic!("expected results");
        };
        let ids: Vec<&str> = results.iter().map(|r| r.event_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(results[1].error.as_deref(), Some("bad lane"));
        assert_eq!(results[2].status, "");
        assert_eq!(results[3].error_message.as_deref(), Some("old server"));
    }

    #[test]
    fn unreadable_200_is_unexpected() {
        for body in ["", "not json", r#"{"results":3}"#, "[]"] {
            assert!(
                matches!(BatchAnswer::from_http(200, body, None), BatchAnswer::UnexpectedResponse { status: 200, .. }),
                "{body}"
            );
        }
    }

    #[test]
    fn reads_400_details_as_list_or_string() {
        let list = r#"{"error":"Validation failed","details":[{"event_id":"a","error":"missing wp_id"}]}"#;
        let expected = BatchAnswer::BadRequest {
            error: Some("Validation failed".into()),
            details: vec![EventError { event_id: "a".into(), error: "missing wp_id".into() }],
        };
        assert_eq!(BatchAnswer::from_http(400, list, None), expected);
        let string = r#"{"error":"Validation failed","details":"[{\"event_id\":\"a\",\"reason\":\"missing wp_id\"}]"}"#;
        assert_eq!(BatchAnswer::from_http(400, string, None), expected);
        assert_eq!(BatchAnswer::from_http(400, "oops", None), BatchAnswer::BadRequest { error: None, details: vec![] });
    }

    #[test]
    fn maps_the_other_statuses() {
        assert_eq!(BatchAnswer::from_http(401, "{}", None), BatchAnswer::Unauthorized);
        assert_eq!(BatchAnswer::from_http(403, "", None), BatchAnswer::Forbidden);
        assert_eq!(BatchAnswer::from_http(413, "", None), BatchAnswer::PayloadTooLarge);
        assert_eq!(
            BatchAnswer::from_http(429, "", Some(7000)),
            BatchAnswer::TooManyRequests { retry_after_ms: Some(7000) }
        );
        assert_eq!(BatchAnswer::from_http(503, "", None), BatchAnswer::ServerError { status: 503 });
        assert!(matches!(BatchAnswer::from_http(404, "", None), BatchAnswer::UnexpectedResponse { status: 404, .. }));
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after_ms(" 120 "), Some(120_000));
        assert_eq!(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after_ms("-1"), None);
        assert_eq!(parse_retry_after_ms(&u64::MAX.to_string()), Some(super::super::answer::MAX_RETRY_AFTER_MS));
    }
}
