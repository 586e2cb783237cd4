//! Two teams on one hub: neither ever sees the other's events, over `GET /api/v1/events/`,
//! `GET /api/v1/board/`, the WebSocket snapshot or the WebSocket fan-out.

mod hub_support;

use hub_support::{Hub, event_id};
use serde_json::{Value, json};

fn typed(event: &Value) -> Value {
    let mut frame = json!({"type": "event"});
    for (key, value) in event.as_object().expect("an envelope") {
        frame[key] = value.clone();
    }
    frame
}

#[test]
fn two_teams_never_see_each_others_events_over_http_or_websocket() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").user("beta", "b1").user("beta", "b2").start();
    let alpha = hub.login("a1").access;
    let beta = hub.login("b1").access;

    // Live connections of both teams before anything is sent.
    let (mut alpha_live, _) = hub.ws_connect_user("a2");
    let (mut beta_live, _) = hub.ws_connect_user("b2");

    // Distinct WP ids per team, so a leak shows in any view.
    let alpha_events = vec![
        hub_support::feature_created("alpha", 1),
        hub_support::wp_created("alpha", "WP11", "Alpha's secret plan"),
        hub_support::wp_status("alpha", "WP11", "planned", "doing"),
    ];
    let beta_events = vec![
        hub_support::wp_created("beta", "WP22", "Beta's secret plan"),
        hub_support::wp_assigned("beta", "WP22", "codex"),
        hub_support::history("local", "WP22", "queued before login"),
    ];
    let statuses = hub.batch_statuses(&alpha, &alpha_events);
    assert!(statuses.iter().all(|(_, s)| s == "success"), "{statuses:?}");
    let statuses = hub.batch_statuses(&beta, &beta_events);
    assert!(statuses.iter().all(|(_, s)| s == "success"), "{statuses:?}");

    // The same event id used by the other team is that team's own event: deduplication is by
    // (team, event_id), so it is stored for beta and answers no `duplicate` that would reveal alpha's ids.
    let mut same_id = hub_support::history("beta", "WP22", "beta reuses an id");
    same_id["event_id"] = alpha_events[1]["event_id"].clone();
    let statuses = hub.batch_statuses(&beta, std::slice::from_ref(&same_id));
    assert_eq!(statuses[0].1, "success", "{statuses:?}");

    // Over the WebSocket: each team's live event reaches its own team only.
    let (mut alpha_sender, _) = hub.ws_connect_user("a1");
    let (mut beta_sender, _) = hub.ws_connect_user("b1");
    let alpha_live_event = hub_support::history("alpha", "WP11", "alpha live");
    let beta_live_event = hub_support::history("beta", "WP22", "beta live");
    alpha_sender.send_json(&typed(&alpha_live_event));
    assert_eq!(alpha_sender.next_json()["status"], "accepted");
    beta_sender.send_json(&typed(&beta_live_event));
    assert_eq!(beta_sender.next_json()["status"], "accepted");

    let collect_until_pong = |client: &mut hub_support::WsClient| -> Vec<Value> { client.ping_roundtrip() };
    let alpha_seen = collect_until_pong(&mut alpha_live);
    let beta_seen = collect_until_pong(&mut beta_live);
    for frame in &alpha_seen {
        assert!(!frame.to_string().contains("WP22"), "alpha's connection saw beta's event: {frame}");
        assert!(!frame.to_string().contains("beta live"), "alpha's connection saw beta's event: {frame}");
    }
    for frame in &beta_seen {
        assert!(!frame.to_string().contains("WP11"), "beta's connection saw alpha's event: {frame}");
        assert!(!frame.to_string().contains("alpha live"), "beta's connection saw alpha's event: {frame}");
    }
    assert!(alpha_seen.contains(&typed(&alpha_live_event)), "alpha's live event did not reach alpha: {alpha_seen:?}");
    assert!(beta_seen.contains(&typed(&beta_live_event)), "beta's live event did not reach beta: {beta_seen:?}");
    for client in [&mut alpha_sender, &mut beta_sender] {
        for frame in client.ping_roundtrip() {
            let text = frame.to_string();
            assert!(!(text.contains("WP11") && text.contains("WP22")), "{text}");
        }
    }

    // Over GET /api/v1/events/: each team's list holds its own ids only.
    let alpha_ids: Vec<String> = hub.all_events(&alpha).iter().map(|(_, e)| event_id(e)).collect();
    let beta_stored = hub.all_events(&beta);
    let beta_ids: Vec<String> = beta_stored.iter().map(|(_, e)| event_id(e)).collect();
    let mut expected_alpha: Vec<String> = alpha_events.iter().map(event_id).collect();
    expected_alpha.push(event_id(&alpha_live_event));
    assert_eq!(alpha_ids, expected_alpha);
    for (_, event) in &beta_stored {
        let text = event.to_string();
        assert!(!text.contains("WP11") && !text.contains("Alpha's"), "beta's list holds alpha's event: {text}");
    }
    let mut expected_beta: Vec<String> = beta_events.iter().map(event_id).collect();
    expected_beta.push(event_id(&same_id));
    expected_beta.push(event_id(&beta_live_event));
    assert_eq!(beta_ids, expected_beta);
    let alpha_text =
        serde_json::to_string(&hub.all_events(&alpha).into_iter().map(|(_, e)| e).collect::<Vec<_>>()).expect("JSON");
    assert!(!alpha_text.contains("WP22") && !alpha_text.contains("Beta's"), "alpha's list holds beta's event");

    // Over GET /api/v1/board/ and a fresh snapshot.
    let alpha_board = hub.get("/api/v1/board/", Some(&alpha));
    alpha_board.expect_status(200);
    let beta_board = hub.get("/api/v1/board/", Some(&beta));
    beta_board.expect_status(200);
    let (alpha_text, beta_text) = (alpha_board.text(), beta_board.text());
    assert!(alpha_text.contains("WP11"), "alpha's board lacks its WP: {alpha_text}");
    assert!(
        !alpha_text.contains("WP22") && !alpha_text.contains("Beta's"),
        "alpha's board shows beta's WP: {alpha_text}"
    );
    assert!(beta_text.contains("WP22"), "beta's board lacks its WP: {beta_text}");
    assert!(
        !beta_text.contains("WP11") && !beta_text.contains("Alpha's"),
        "beta's board shows alpha's WP: {beta_text}"
    );
    let (_, alpha_snapshot) = hub.ws_connect_user("a1");
    let (_, beta_snapshot) = hub.ws_connect_user("b1");
    let (alpha_text, beta_text) = (alpha_snapshot.to_string(), beta_snapshot.to_string());
    assert!(alpha_text.contains("WP11") && !alpha_text.contains("WP22"), "alpha's snapshot: {alpha_text}");
    assert!(beta_text.contains("WP22") && !beta_text.contains("WP11"), "beta's snapshot: {beta_text}");
}
