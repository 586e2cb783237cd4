//! Parity cases for the sync decisions: batch plans, the backoff, reading the server's answer and the
//! reaction to it.

use super::support::{Case, Rng, SAFE, result_json, to_json};
use serde_json::{Value, json};
use spec_kitty_core::sync::batch::{MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use spec_kitty_core::sync::{
    AnswerContext, BackoffSchedule, BatchAnswer, EventError, EventResult, QueuedItem, SentEvent, parse_retry_after_ms,
    plan_batches_checked, react_to_answer,
};

pub fn cases(rng: &mut Rng, out: &mut Vec<Case>) {
    for _ in 0..60 {
        plan_case(rng, out);
    }
    for _ in 0..150 {
        backoff_case(rng, out);
    }
    for _ in 0..70 {
        answer_case(rng, out);
    }
    for _ in 0..90 {
        react_case(rng, out);
    }
}

fn plan_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let first = rng.below(1000) as i64 - 10;
    let queued: Vec<QueuedItem> = (0..rng.range(0, 300))
        .map(|i| QueuedItem {
            id: first + i as i64,
            bytes: if rng.chance(5) { rng.below(2_000_000) as usize } else { rng.below(3000) as usize },
        })
        .collect();
    let max_events = rng.chance(70).then(|| rng.below(60) as usize);
    let max_bytes = rng.chance(70).then(|| rng.below(30_000) as usize);
    let plans =
        plan_batches_checked(&queued, max_events.unwrap_or(MAX_BATCH_EVENTS), max_bytes.unwrap_or(MAX_BATCH_BYTES));
    out.push(Case::new("planBatches", json!([queued, max_events, max_bytes]), result_json(plans)));
}

fn backoff_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let attempt: u32 = match rng.below(10) {
        0 => u32::MAX,
        1 => rng.below(u64::from(u32::MAX)) as u32,
        _ => rng.below(40) as u32,
    };
    let (random_hex, random) = rng.hex_u64();
    let schedule = rng.chance(25).then(|| BackoffSchedule { base_ms: rng.below(SAFE >> 20), cap_ms: rng.below(SAFE) });
    let delay = schedule.unwrap_or(BackoffSchedule::DEFAULT).delay_ms(attempt, random);
    out.push(Case::new("backoffDelayMs", json!([attempt, random_hex, schedule]), to_json(&delay)));
}

fn results_body(rng: &mut Rng) -> String {
    let entries: Vec<Value> = (0..rng.range(0, 6))
        .map(|i| match rng.below(7) {
            0 => json!({"status": "success"}),
            1 => json!({"event_id": format!("e{i}")}),
            2 => json!({"event_id": format!("e{i}"), "status": "error", "error_message": rng.text(4)}),
            3 => json!({"event_id": format!("e{i}"), "status": "rejected", "error": rng.text(4), "extra": 1}),
            4 => json!({"event_id": 7, "status": "success"}),
            _ => json!({"event_id": format!("e{i}"), "status": rng.pick(&["success", "duplicate"])}),
        })
        .collect();
    match rng.below(10) {
        0 => "not json".to_string(),
        1 => r#"{"results":3}"#.to_string(),
        2 => String::new(),
        _ => json!({ "results": entries, "server": rng.word() }).to_string(),
    }
}

fn answer_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let status: u16 = *rng.pick(&[200, 200, 201, 400, 400, 401, 403, 404, 413, 429, 429, 500, 502, 503, 302, 0]);
    let body = match status {
        200..=299 => results_body(rng),
        400 => match rng.below(4) {
            0 => r#"{"error":"Validation failed","details":"[{\"event_id\":\"e1\",\"reason\":\"missing wp_id\"}]"}"#
                .to_string(),
            1 => "oops".to_string(),
            _ => json!({"error": rng.text(4), "details": [{"event_id": "e1", "error": rng.text(3)}, {"error": "x"}]})
                .to_string(),
        },
        _ => rng.text(5),
    };
    let retry_after = match rng.below(5) {
        0 => None,
        1 => Some("Wed, 21 Oct 2015 07:28:00 GMT".to_string()),
        2 => Some(format!(" {} ", rng.below(600))),
        _ => Some(rng.below(1_000_000_000).to_string()),
    };
    let answer = BatchAnswer::from_http(status, &body, retry_after.as_deref().and_then(parse_retry_after_ms));
    out.push(Case::new("readBatchAnswer", json!([status, body, retry_after]), to_json(&answer)));
}

fn random_answer(rng: &mut Rng, sent: &[SentEvent]) -> BatchAnswer {
    let pick_id = |rng: &mut Rng| {
        if sent.is_empty() || rng.chance(15) {
            format!("other{}", rng.below(3))
        } else {
            rng.pick(sent).event_id.clone()
        }
    };
    match rng.below(10) {
        0..=3 => BatchAnswer::Results {
            results: (0..rng.range(0, sent.len() as u64 + 1))
                .map(|_| EventResult {
                    event_id: pick_id(rng),
                    status: rng.pick(&["success", "duplicate", "rejected", "error", ""]).to_string(),
                    error: rng.chance(40).then(|| rng.text(4)),
                    error_message: rng.chance(30).then(|| rng.text(4)),
                })
                .collect(),
        },
        4 => BatchAnswer::BadRequest {
            error: rng.chance(60).then(|| rng.text(4)),
            details: (0..rng.range(0, 3)).map(|_| EventError { event_id: pick_id(rng), error: rng.text(3) }).collect(),
        },
        5 => BatchAnswer::Unauthorized,
        6 => BatchAnswer::Forbidden,
        7 => BatchAnswer::PayloadTooLarge,
        8 => BatchAnswer::TooManyRequests { retry_after_ms: rng.chance(60).then(|| rng.below(SAFE)) },
        _ => match rng.below(3) {
            0 => BatchAnswer::ServerError { status: 500 + rng.below(100) as u16 },
            1 => BatchAnswer::UnexpectedResponse { status: 404, message: rng.text(3) },
            _ => BatchAnswer::NetworkError { message: rng.text(3) },
        },
    }
}

fn react_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let sent: Vec<SentEvent> = (0..rng.range(0, 8))
        .map(|i| SentEvent {
            event_id: format!("e{i}"),
            retry_count: if rng.chance(80) { rng.below(6) as u32 } else { u32::MAX },
        })
        .collect();
    let answer = random_answer(rng, &sent);
    let (random_hex, random) = rng.hex_u64();
    let ctx = AnswerContext {
        now_ms: rng.below(SAFE),
        failed_sends: if rng.chance(90) { rng.below(12) as u32 } else { u32::MAX },
        random,
        token_just_refreshed: rng.chance(30),
    };
    let js_ctx = json!({
        "nowMs": ctx.now_ms,
        "failedSends": ctx.failed_sends,
        "random": random_hex,
        "tokenJustRefreshed": ctx.token_just_refreshed,
    });
    let outcome = react_to_answer(&answer, &sent, &ctx);
    out.push(Case::new("reactToAnswer", json!([answer, sent, js_ctx]), to_json(&outcome)));
}
