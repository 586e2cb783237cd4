//! The WebSocket `/ws/v1/events/`: snapshot first, ack / error per event, ping / pong, bare envelopes,
//! fan-out to the team's other connections only, refused upgrades, abuse that never brings the hub
//! down, and the close frame of a graceful stop.

mod hub_support;

use hub_support::{Hub, WATCHDOG, WsConnectError, WsEvent, event_id};
use serde_json::{Value, json};
use std::time::Duration;

/// `{"type":"event", ...envelope}`.
fn typed(event: &Value) -> Value {
    let mut frame = json!({"type": "event"});
    for (key, value) in event.as_object().expect("an envelope") {
        frame[key] = value.clone();
    }
    frame
}

fn ack(event: &Value, status: &str) -> Value {
    json!({"type": "ack", "event_id": event_id(event), "status": status})
}

#[test]
fn ws_snapshot_first_then_ack_duplicate_error_and_pong() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let (mut client, snapshot) = hub.ws_connect_user("a1");
    assert!(snapshot["work_packages"].is_array(), "no work_packages list in the snapshot: {snapshot}");

    // {"type":"event", ...} -> accepted, then the same again -> duplicate.
    let event = hub_support::wp_created("alpha", "WP01", "Over the socket");
    client.send_json(&typed(&event));
    assert_eq!(client.next_json(), ack(&event, "accepted"));
    client.send_json(&typed(&event));
    assert_eq!(client.next_json(), ack(&event, "duplicate"));

    // A bare envelope, as older clients send.
    let bare = hub_support::history("alpha", "WP01", "bare");
    client.send_json(&bare);
    assert_eq!(client.next_json(), ack(&bare, "accepted"));

    // An invalid event: an error frame naming it, not retryable.
    let mut invalid = hub_support::wp_created("alpha", "WP02", "x");
    invalid["payload"]["title"] = json!("");
    client.send_json(&typed(&invalid));
    let frame = client.next_json();
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["event_id"], invalid["event_id"], "{frame}");
    assert_eq!(frame["retryable"], false, "{frame}");
    assert!(frame["error"].as_str().is_some_and(|e| e.starts_with("/payload/title")), "{frame}");

    // An event of another team: an error, not stored.
    let foreign = hub_support::history("beta", "WP01", "not ours");
    client.send_json(&typed(&foreign));
    let frame = client.next_json();
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["event_id"], foreign["event_id"], "{frame}");
    assert_eq!(frame["retryable"], false, "{frame}");

    // A client ping gets a pong with the same timestamp.
    client.send_json(&json!({"type": "ping", "timestamp": 1234567}));
    assert_eq!(client.next_json(), json!({"type": "pong", "timestamp": 1234567}));

    // Acked means stored, once each.
    let access = hub.login("a1").access;
    let stored: Vec<Value> = hub.all_events(&access).into_iter().map(|(_, e)| e).collect();
    assert_eq!(stored, vec![event, bare]);
}

#[test]
fn ws_garbage_gets_an_error_frame_and_the_connection_keeps_working() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let (mut client, _snapshot) = hub.ws_connect_user("a1");
    for garbage in ["this is not JSON", "{\"type\": \"event\",", "", "[1, 2, 3]", "null", "{\"type\": 5}"] {
        client.send_text(garbage);
        let frame = client.next_json();
        assert_eq!(frame["type"], "error", "for {garbage:?}: {frame}");
        assert_eq!(frame["retryable"], false, "for {garbage:?}: {frame}");
        assert!(frame["error"].as_str().is_some_and(|e| !e.is_empty()), "for {garbage:?}: {frame}");
        if garbage == "this is not JSON" {
            assert_eq!(frame["event_id"], Value::Null, "{frame}");
        }
    }
    // The connection goes on.
    let event = hub_support::history("alpha", "WP01", "still here");
    client.send_json(&typed(&event));
    assert_eq!(client.next_json(), ack(&event, "accepted"));
    assert!(client.ping_roundtrip().is_empty());
    hub.get("/health/", None).expect_status(200);
}

#[test]
fn ws_event_fans_out_to_the_teams_other_connections_only() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").user("beta", "b1").start();
    let (mut sender, _) = hub.ws_connect_user("a1");
    let (mut teammate, _) = hub.ws_connect_user("a2");
    let (mut same_user, _) = hub.ws_connect_user("a1");
    let (mut other_team, _) = hub.ws_connect_user("b1");

    let event = hub_support::wp_created("alpha", "WP01", "Fan me out");
    sender.send_json(&typed(&event));
    assert_eq!(sender.next_json(), ack(&event, "accepted"));
    assert_eq!(teammate.next_json(), typed(&event), "the teammate did not get the event");
    assert_eq!(same_user.next_json(), typed(&event), "a second connection of the sender did not get the event");

    // A bare envelope fans out in the typed form too.
    let bare = hub_support::history("alpha", "WP01", "bare");
    sender.send_json(&bare);
    assert_eq!(sender.next_json(), ack(&bare, "accepted"));
    assert_eq!(teammate.next_json(), typed(&bare));
    assert_eq!(same_user.next_json(), typed(&bare));

    // A duplicate is not sent again.
    sender.send_json(&typed(&event));
    assert_eq!(sender.next_json(), ack(&event, "duplicate"));

    // Nothing reached the sender or the other team: a ping round trip on each finds no frame before its pong.
    assert_eq!(sender.ping_roundtrip(), Vec::<Value>::new(), "the sender got frames back");
    assert_eq!(other_team.ping_roundtrip(), Vec::<Value>::new(), "another team got alpha's events");
    assert_eq!(teammate.ping_roundtrip(), Vec::<Value>::new(), "the duplicate was fanned out");

    // Beta's event goes to no alpha connection.
    let theirs = hub_support::history("beta", "WP01", "beta's");
    other_team.send_json(&typed(&theirs));
    assert_eq!(other_team.next_json(), ack(&theirs, "accepted"));
    for client in [&mut sender, &mut teammate, &mut same_user] {
        assert_eq!(client.ping_roundtrip(), Vec::<Value>::new(), "beta's event reached alpha");
    }
}

#[test]
fn ws_upgrade_without_a_valid_ws_token_is_401() {
    let hub = Hub::builder().user("alpha", "a1").start();
    for token in [None, Some("garbage"), Some("")] {
        match hub.ws_connect(token, "") {
            Err(WsConnectError::Status(401)) => {}
            Err(e) => panic!("token {token:?}: {e}"),
            Ok(mut client) => {
                panic!("token {token:?} was let in: {:?}", client.next_within(Duration::from_millis(100)))
            }
        }
    }
    match hub.ws_connect(None, "?token=garbage") {
        Err(WsConnectError::Status(401)) => {}
        Err(e) => panic!("a garbage query token: {e}"),
        Ok(_) => panic!("a garbage query token was let in"),
    }
    // The browser form: ?token=<ws_token>.
    let access = hub.login("a1").access;
    let ws_token = hub.ws_token(&access);
    let mut client = hub.ws_connect(None, &format!("?token={ws_token}")).expect("the query token is accepted");
    assert_eq!(client.next_json()["type"], "snapshot");
}

#[test]
fn ws_abuse_never_crashes_the_hub() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").start();
    let (mut reader, _) = hub.ws_connect_user("a2");
    // A connection that never reads while another sends 1500 events of 16 kB (24 MB fanned out to it,
    // more than the socket buffers hold next to 1000 waiting frames).
    let (mut stuck, _) = hub.ws_connect_user("a2");
    let (mut sender, _) = hub.ws_connect_user("a1");
    let text = "y".repeat(16_000);
    let events: Vec<Value> = (0..1500).map(|i| hub_support::history("alpha", "WP01", &format!("{i} {text}"))).collect();
    let expected: Vec<Value> = events.iter().map(typed).collect();
    // A teammate that does read gets every one of them, in order, while the stuck one never reads.
    let reading = std::thread::spawn(move || {
        for frame in expected {
            assert_eq!(reader.next_json(), frame, "a stuck connection held up another one");
        }
        reader
    });
    for window in events.chunks(100) {
        for event in window {
            sender.send_json(&typed(event));
        }
        for event in window {
            assert_eq!(sender.next_json(), ack(event, "accepted"));
        }
    }
    let mut reader = reading.join().expect("the reading connection got every event");
    assert!(reader.ping_roundtrip().is_empty());
    // The stuck connection was dropped: read now, it ends before all 1500 events.
    let mut seen = 0;
    loop {
        match stuck.next_within(WATCHDOG) {
            WsEvent::Json(frame) => {
                assert_eq!(frame["type"], "event", "{frame}");
                seen += 1;
                assert!(seen < 1500, "a connection that never read got all 1500 events: it was not dropped");
            }
            WsEvent::Close(_) | WsEvent::Ended(_) => break,
            WsEvent::Timeout => panic!("the stuck connection neither got more events nor was closed"),
        }
    }

    // Huge, deep, or odd frames.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for garbage in [deep.as_str(), "\u{0}\u{1}", "{\"type\":\"event\",\"event_id\":7}", "{\"type\":\"pong\"}"] {
        sender.send_text(garbage);
    }
    // Whatever the answers, the hub still serves.
    let _ = sender.next_within(Duration::from_secs(2));
    hub.get("/health/", None).expect_status(200);
    let (mut fresh, _) = hub.ws_connect_user("a1");
    assert!(fresh.ping_roundtrip().is_empty());
    // Connections cut mid-handshake or mid-frame.
    for partial in [&b"GET /ws/v1/events/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"[..], b"\x81\xfe\xff"] {
        let mut tcp = hub_support::connect_tcp(hub.endpoint.addr).expect("connect");
        std::io::Write::write_all(&mut tcp, partial).expect("write");
        drop(tcp);
    }
    hub.get("/health/", None).expect_status(200);
}

#[test]
fn sigterm_closes_websockets_with_a_close_frame_and_exits_0() {
    let mut hub = Hub::builder().user("alpha", "a1").start();
    let (mut client, _) = hub.ws_connect_user("a1");
    hub.sigterm();
    let mut close = None;
    for _ in 0..100 {
        match client.next_within(WATCHDOG) {
            WsEvent::Close(frame) => {
                close = Some(frame);
                break;
            }
            WsEvent::Json(_) => continue,
            other => panic!("no close frame after SIGTERM: {other:?}"),
        }
    }
    let frame = close.expect("a close frame").expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 1001, "{frame:?}");
    let status = hub.wait_exit(WATCHDOG).expect("the hub did not exit within 30 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}
