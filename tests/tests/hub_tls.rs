//! TLS: `serve --tls-cert --tls-key` with a self-signed certificate for 127.0.0.1; a client that
//! trusts exactly that certificate logs in, sends a batch over https and connects over wss.

mod hub_support;

use hub_support::{Endpoint, Hub};
use serde_json::{Value, json};

#[test]
fn tls_serves_https_and_wss_to_a_client_trusting_the_certificate() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").tls().start();
    assert!(
        hub.first_line.starts_with("spec-kitty-hub listening on https://127.0.0.1:"),
        "the line: {}",
        hub.first_line
    );

    hub.get("/health/", None).expect_status(200);
    let access = hub.login("a1").access;
    let events = vec![
        hub_support::wp_created("alpha", "WP01", "Over TLS"),
        hub_support::history("local", "WP01", "queued before login"),
    ];
    let statuses = hub.batch_statuses(&access, &events);
    assert!(statuses.iter().all(|(_, s)| s == "success"), "{statuses:?}");
    let plain = hub.batch(&access, &events);
    plain.expect_status(200);
    let stored: Vec<String> = hub.all_events(&access).iter().map(|(_, e)| hub_support::event_id(e)).collect();
    assert_eq!(stored, events.iter().map(hub_support::event_id).collect::<Vec<_>>());

    // wss: snapshot, ack, fan-out to the teammate.
    let (mut sender, snapshot) = hub.ws_connect_user("a1");
    assert!(snapshot["work_packages"].is_array(), "{snapshot}");
    let (mut teammate, _) = hub.ws_connect_user("a2");
    let event = hub_support::wp_status("alpha", "WP01", "planned", "doing");
    let mut frame = json!({"type": "event"});
    for (key, value) in event.as_object().expect("an envelope") {
        frame[key] = value.clone();
    }
    sender.send_json(&frame);
    assert_eq!(sender.next_json(), json!({"type": "ack", "event_id": event["event_id"], "status": "accepted"}));
    assert_eq!(teammate.next_json(), frame);
    assert_eq!(sender.ping_roundtrip(), Vec::<Value>::new());

    // A client that does not trust the certificate gets no answer: the handshake fails.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a certificate");
    let untrusting = Endpoint { addr: hub.endpoint.addr, tls: Some(hub_support::tls_client_config(other.cert.der())) };
    assert!(untrusting.request("GET", "/health/", &[], b"").is_err(), "a client trusting another certificate got in");
    // Plain http on the TLS port is no way in either.
    let plain_http = Endpoint { addr: hub.endpoint.addr, tls: None };
    if let Ok(answer) = plain_http.request("GET", "/health/", &[], b"") {
        assert_ne!(answer.status, 200, "plain http was served on the TLS port");
    }
    hub.get("/health/", None).expect_status(200);
}
