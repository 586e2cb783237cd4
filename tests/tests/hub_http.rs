//! The hub's HTTP surface outside the batch: health, metrics, tokens (login, refresh rotation, ws token)
//! and every way an access token stops being valid (expired, forged, of another hub, of a removed user).

mod hub_support;

use hub_support::{Hub, Response, WsEvent, password_of};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn token_invalid() -> Value {
    json!({"error": "Token expired or invalid"})
}

/// The authenticated routes, each called with `access`.
fn authenticated_answers(hub: &Hub, access: &str) -> Vec<(&'static str, Response)> {
    vec![
        ("GET /api/v1/events/", hub.get("/api/v1/events/", Some(access))),
        ("GET /api/v1/board/", hub.get("/api/v1/board/", Some(access))),
        ("POST /api/v1/ws-token/", hub.post_json("/api/v1/ws-token/", Some(access), &json!({}))),
        ("POST /api/v1/events/batch/", hub.batch(access, &[hub_support::history("alpha", "WP01", "hello")])),
    ]
}

#[track_caller]
fn assert_all_refused(hub: &Hub, access: &str, why: &str) {
    for (route, answer) in authenticated_answers(hub, access) {
        answer.expect_error_line(401);
        assert_eq!(answer.json(), token_invalid(), "{route} with {why}");
    }
}

#[test]
fn health_answers_ok() {
    let hub = Hub::builder().start();
    let answer = hub.get("/health/", None);
    answer.expect_status(200);
    assert_eq!(answer.json(), json!({"status": "ok"}));
}

#[test]
fn metrics_count_accepted_duplicate_and_rejected_events_batches_and_websockets() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let answer = hub.get("/metrics", None);
    answer.expect_status(200);
    let text = answer.text();
    for name in [
        "spec_kitty_hub_events_accepted_total",
        "spec_kitty_hub_events_duplicate_total",
        "spec_kitty_hub_events_rejected_total",
        "spec_kitty_hub_websockets_open",
        "spec_kitty_hub_batch_seconds_sum",
        "spec_kitty_hub_batch_seconds_count",
    ] {
        assert!(hub_support::metric_value(&text, name).is_some(), "no {name} in the metrics:\n{text}");
    }
    let read = |name: &str| hub.metric(name);
    let accepted = read("spec_kitty_hub_events_accepted_total");
    let duplicate = read("spec_kitty_hub_events_duplicate_total");
    let rejected = read("spec_kitty_hub_events_rejected_total");
    let batches = read("spec_kitty_hub_batch_seconds_count");
    assert_eq!(read("spec_kitty_hub_websockets_open"), 0.0);

    let access = hub.login("a1").access;
    let first = hub_support::wp_created("alpha", "WP01", "First");
    let second = hub_support::history("alpha", "WP01", "a note");
    let mut bad = hub_support::wp_created("alpha", "WP02", "x");
    bad["payload"]["title"] = json!("");
    let statuses = hub.batch_statuses(&access, &[first.clone(), second, bad]);
    let kinds: Vec<&str> = statuses.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(kinds, ["success", "success", "rejected"]);
    let statuses = hub.batch_statuses(&access, &[first]);
    assert_eq!(statuses[0].1, "duplicate");

    assert_eq!(read("spec_kitty_hub_events_accepted_total"), accepted + 2.0);
    assert_eq!(read("spec_kitty_hub_events_duplicate_total"), duplicate + 1.0);
    assert_eq!(read("spec_kitty_hub_events_rejected_total"), rejected + 1.0);
    assert_eq!(read("spec_kitty_hub_batch_seconds_count"), batches + 2.0);
    assert!(read("spec_kitty_hub_batch_seconds_sum") >= 0.0);

    let wait_for_open = |wanted: f64| {
        let deadline = Instant::now() + hub_support::WATCHDOG;
        loop {
            let open = read("spec_kitty_hub_websockets_open");
            if open == wanted {
                return;
            }
            assert!(Instant::now() < deadline, "spec_kitty_hub_websockets_open stayed {open}, not {wanted}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (client, _snapshot) = hub.ws_connect_user("a1");
    wait_for_open(1.0);
    client.close();
    wait_for_open(0.0);
}

#[test]
fn token_answers_the_upstream_fields_and_refuses_bad_credentials_and_bad_bodies() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let answer = hub.post_json("/api/v1/token/", None, &json!({"username": "a1", "password": password_of("a1")}));
    answer.expect_status(200);
    let body = answer.json();
    let mut keys: Vec<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access",
            "access_lifetime",
            "expires_in",
            "refresh",
            "refresh_expires_in",
            "refresh_lifetime",
            "team_slug",
            "username"
        ]
    );
    assert!(body["access"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert!(body["refresh"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert_ne!(body["access"], body["refresh"]);
    assert_eq!(body["access_lifetime"], 900);
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_lifetime"], 604800);
    assert_eq!(body["refresh_expires_in"], 604800);
    assert_eq!(body["team_slug"], "alpha");
    assert_eq!(body["username"], "a1");

    for wrong in [json!({"username": "a1", "password": "nope"}), json!({"username": "nobody", "password": "x"})] {
        let answer = hub.post_json("/api/v1/token/", None, &wrong);
        answer.expect_error_line(401);
        assert_eq!(answer.json(), json!({"error": "Invalid credentials"}), "for {wrong}");
    }

    let garbage: [&[u8]; 6] = [
        b"not json at all",
        b"[]",
        b"{\"username\": \"a1\"}",
        b"{\"username\": 1, \"password\": 2}",
        b"{\"username\": \"a1\", \"password\": ",
        b"",
    ];
    for body in garbage {
        let answer = hub.post_bytes("/api/v1/token/", None, body, false);
        answer.expect_error_line(400);
    }
}

#[test]
fn refresh_rotates_and_a_spent_refresh_token_is_refused() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let first = hub.login("a1");
    let refresh = |token: &str| hub.post_json("/api/v1/token/refresh/", None, &json!({"refresh": token}));

    let answer = refresh(&first.refresh);
    answer.expect_status(200);
    let second = hub_support::tokens_of(&answer.json());
    assert_ne!(second.refresh, first.refresh, "the refresh token did not rotate");
    assert_eq!(second.body["team_slug"], "alpha");
    assert_eq!(second.body["username"], "a1");
    assert_eq!(second.body["access_lifetime"], 900);
    assert_eq!(second.body["expires_in"], 900);
    assert_eq!(second.body["refresh_lifetime"], 604800);
    assert_eq!(second.body["refresh_expires_in"], 604800);
    hub.get("/api/v1/events/", Some(&second.access)).expect_status(200);

    let answer = refresh(&second.refresh);
    answer.expect_status(200);
    let third = hub_support::tokens_of(&answer.json());
    assert_ne!(third.refresh, second.refresh);
    assert_ne!(third.refresh, first.refresh);

    for spent in [&first.refresh, &second.refresh] {
        let answer = refresh(spent);
        answer.expect_error_line(401);
        assert_eq!(answer.json(), token_invalid());
    }
    let answer = refresh("not-a-token");
    answer.expect_error_line(401);
    assert_eq!(answer.json(), token_invalid());
    hub.post_bytes("/api/v1/token/refresh/", None, b"{\"refresh\": ", false).expect_error_line(400);
}

#[test]
fn ws_token_is_issued_for_a_valid_access_token_only() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let answer = hub.post_json("/api/v1/ws-token/", Some(&access), &json!({}));
    answer.expect_status(200);
    let body = answer.json();
    let mut keys: Vec<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["expires_in", "ws_token"]);
    assert!(body["ws_token"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert_eq!(body["expires_in"], 60);

    let answer = hub.post_json("/api/v1/ws-token/", None, &json!({}));
    answer.expect_error_line(401);
    assert_eq!(answer.json(), token_invalid());
}

#[test]
fn an_expired_access_token_is_refused_everywhere() {
    let hub = Hub::builder().user("alpha", "a1").args(&["--access-ttl", "1"]).start();
    let tokens = hub.login("a1");
    assert_eq!(tokens.body["access_lifetime"], 1);
    assert_eq!(tokens.body["expires_in"], 1);
    std::thread::sleep(Duration::from_millis(3200));
    assert_all_refused(&hub, &tokens.access, "an expired token");
}

/// `token` with one character of its last dot-separated part (the signature, for a JWT) changed.
fn flip_one_char(token: &str) -> String {
    let start = token.rfind('.').map(|i| i + 1).unwrap_or(0);
    let tail_len = token.len() - start;
    let mut bytes = token.as_bytes().to_vec();
    // A character in the middle, away from the last one (whose low bits can be base64 padding).
    let mut index = start + tail_len / 2;
    while !bytes[index].is_ascii_alphanumeric() {
        index += 1;
    }
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

#[test]
fn a_forged_or_foreign_access_token_is_refused_everywhere() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    hub.get("/api/v1/events/", Some(&access)).expect_status(200);
    let forged = flip_one_char(&access);
    assert_ne!(forged, access);
    assert_all_refused(&hub, &forged, "a forged token");
    assert_all_refused(&hub, "garbage", "a garbage token");
    assert_all_refused(&hub, "", "an empty token");

    // Without any Authorization header.
    for answer in [
        hub.get("/api/v1/events/", None),
        hub.get("/api/v1/board/", None),
        hub.post_bytes("/api/v1/events/batch/", None, b"{\"events\": []}", false),
    ] {
        answer.expect_error_line(401);
        assert_eq!(answer.json(), token_invalid());
    }

    // A token signed by another hub (its own signing key), for a user of the same name and team.
    let other = Hub::builder().user("alpha", "a1").start();
    let foreign = other.login("a1").access;
    assert_all_refused(&hub, &foreign, "another hub's token");
    // And the forged one is no ws token either.
    match hub.ws_connect(Some(&forged), "") {
        Err(hub_support::WsConnectError::Status(401)) => {}
        Err(e) => panic!("a forged token on the upgrade: {e}"),
        Ok(mut client) => panic!("a forged token was let in: {:?}", client.next_within(Duration::from_millis(100))),
    }
}

#[test]
fn the_tokens_of_a_removed_user_are_refused() {
    let mut hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").start();
    let tokens = hub.login("a2");
    hub.get("/api/v1/events/", Some(&tokens.access)).expect_status(200);
    let ws_token = hub.ws_token(&tokens.access);

    hub.user_remove("a2");
    let listed = hub.run_cli(&["user", "list", "--data", &hub.data_dir().display().to_string()], "");
    assert!(listed.status.success());
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "alpha\ta1\n");

    assert_all_refused(&hub, &tokens.access, "a removed user's token");
    let answer = hub.post_json("/api/v1/token/refresh/", None, &json!({"refresh": tokens.refresh}));
    answer.expect_error_line(401);
    assert_eq!(answer.json(), token_invalid());
    let answer = hub.post_json("/api/v1/token/", None, &json!({"username": "a2", "password": password_of("a2")}));
    answer.expect_error_line(401);
    assert_eq!(answer.json(), json!({"error": "Invalid credentials"}));
    match hub.ws_connect(Some(&ws_token), "") {
        Err(hub_support::WsConnectError::Status(401)) => {}
        Err(e) => panic!("a removed user's ws token on the upgrade: {e}"),
        Ok(mut client) => match client.next_within(Duration::from_secs(5)) {
            WsEvent::Json(frame) => panic!("a removed user's ws token was let in: {frame}"),
            other => panic!("a removed user's ws token was upgraded: {other:?}"),
        },
    }
    // The other user of the team is untouched.
    let access = hub.login("a1").access;
    hub.get("/api/v1/events/", Some(&access)).expect_status(200);
}

#[test]
fn user_add_refuses_a_duplicate_a_bad_slug_and_an_empty_password() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let data = hub.data_dir().display().to_string();
    for (team, username, password) in
        [("alpha", "a1", "pw\n"), ("Alpha", "x1", "pw\n"), ("-alpha", "x2", "pw\n"), ("alpha", "x3", "\n")]
    {
        // `--team=VALUE`, so that a slug starting with `-` reaches the hub's own check, not clap's.
        let (team_flag, user_flag) = (format!("--team={team}"), format!("--username={username}"));
        let output = hub.run_cli(&["user", "add", "--data", &data, &team_flag, &user_flag], password);
        assert_eq!(output.status.code(), Some(1), "user add {team}/{username} with {password:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "not a one-line error: {stderr:?}");
    }
    let listed = hub.run_cli(&["user", "list", "--data", &data], "");
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "alpha\ta1\n");
}
