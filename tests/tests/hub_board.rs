//! `GET /api/v1/board/` and the WebSocket snapshot equal the core's fold of the team's events
//! (`TeamBoard::from_events`): the same code, so this checks the wiring (which events, which team).

mod hub_support;

use hub_support::Hub;
use serde_json::{Value, json};
use spec_kitty_core::team_board::TeamBoard;

fn fold(events: &[Value]) -> Value {
    serde_json::to_value(TeamBoard::from_events(events)).expect("a board serialises")
}

fn board(hub: &Hub, access: &str) -> Value {
    let answer = hub.get("/api/v1/board/", Some(access));
    answer.expect_status(200);
    answer.json()
}

fn stored(hub: &Hub, access: &str) -> Vec<Value> {
    hub.all_events(access).into_iter().map(|(_, e)| e).collect()
}

#[test]
fn board_equals_the_cores_fold_of_the_teams_events() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").user("beta", "b1").start();
    let alpha = hub.login("a1").access;
    let beta = hub.login("b1").access;

    // An empty team's board is the fold of nothing.
    assert_eq!(board(&hub, &alpha), fold(&[]));
    assert_eq!(board(&hub, &alpha), serde_json::to_value(TeamBoard::default()).expect("JSON"));

    // A feature, its WPs, moves, assignments, notes, one event queued before login (`local`), one
    // of upstream's 2.x dialect, a rejected one and a duplicate.
    let mut sent = vec![
        hub_support::feature_created("alpha", 3),
        hub_support::wp_created("alpha", "WP01", "Parse the events"),
        hub_support::wp_created("alpha", "WP02", "Store the events"),
        hub_support::wp_created("alpha", "WP03", "Serve the board"),
        hub_support::wp_assigned("alpha", "WP01", "claude"),
        hub_support::wp_status("alpha", "WP01", "planned", "doing"),
        hub_support::history("alpha", "WP01", "started"),
        hub_support::wp_status("alpha", "WP01", "doing", "for_review"),
        hub_support::history("local", "WP02", "queued before login"),
    ];
    let mut dialect = hub_support::envelope(
        "alpha",
        "WPStatusChanged",
        "WP02",
        "WorkPackage",
        json!({"wp_id": "WP02", "from_lane": "planned", "to_lane": "in_progress", "actor": "codex",
               "feature_slug": hub_support::FEATURE}),
    );
    dialect["event_id"] = json!("0b7e4c2a-5d3f-4a1b-8c9d-2e3f4a5b6c7d");
    sent.push(dialect);
    let mut rejected = hub_support::wp_created("alpha", "WP04", "x");
    rejected["payload"]["title"] = json!("");
    let mut batch = sent.clone();
    batch.push(rejected);
    batch.push(sent[1].clone());
    let statuses = hub.batch_statuses(&alpha, &batch);
    let kinds: Vec<&str> = statuses.iter().map(|(_, s)| s.as_str()).collect();
    let mut expected = vec!["success"; sent.len()];
    expected.extend(["rejected", "duplicate"]);
    assert_eq!(kinds, expected);

    // Beta's events must not show on alpha's board.
    let beta_events = [
        hub_support::wp_created("beta", "WP01", "Beta's WP"),
        hub_support::wp_status("beta", "WP01", "planned", "done"),
    ];
    assert!(hub.batch_statuses(&beta, &beta_events).iter().all(|(_, s)| s == "success"));

    // Some live over the WebSocket from another member of the team.
    let (mut live, _) = hub.ws_connect_user("a2");
    for event in [
        hub_support::wp_status("alpha", "WP01", "for_review", "done"),
        hub_support::history("alpha", "WP03", "live note"),
    ] {
        live.send_json(&event);
        assert_eq!(live.next_json()["status"], "accepted");
        sent.push(event);
    }

    let alpha_stored = stored(&hub, &alpha);
    assert_eq!(alpha_stored.len(), sent.len());
    let alpha_board = board(&hub, &alpha);
    assert_eq!(alpha_board, fold(&alpha_stored), "the board is not the fold of the team's stored events");
    assert_eq!(alpha_board, fold(&sent), "the board is not the fold of the team's accepted events");
    assert_eq!(alpha_board["events_applied"], json!(sent.len()));
    let beta_board = board(&hub, &beta);
    assert_eq!(beta_board, fold(&stored(&hub, &beta)));
    assert_eq!(beta_board, fold(&beta_events));
    assert_ne!(alpha_board, beta_board);

    // The snapshot of a new connection carries the board's cards.
    let (_, snapshot) = hub.ws_connect_user("a1");
    assert_eq!(snapshot, json!({"type": "snapshot", "work_packages": alpha_board["work_packages"]}));

    // The board follows new events.
    let more = [
        hub_support::wp_status("alpha", "WP03", "planned", "doing"),
        hub_support::wp_assigned("alpha", "WP03", "opencode"),
    ];
    assert!(hub.batch_statuses(&alpha, &more).iter().all(|(_, s)| s == "success"));
    sent.extend(more);
    assert_eq!(board(&hub, &alpha), fold(&sent));
    assert_eq!(board(&hub, &alpha), fold(&stored(&hub, &alpha)));
}
