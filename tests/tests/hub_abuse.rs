//! The hub under abuse (the hostile trial of issue 9), through the real binary on 127.0.0.1: events over
//! 256 KiB, WebSocket messages over the body cap, a removed user's open socket, a WebSocket event flood,
//! 405 and bad upgrades, odd gzip bodies and Content-Encodings, two hubs on one data folder, a login
//! flood (its answers and the memory it takes), slowloris headers and bodies (and slow uploads holding up
//! other teams' batches), and the board cache following new events.

mod hub_support;

use hub_support::{Hub, Stream, WATCHDOG, WsEvent, event_id};
use serde_json::{Value, json};
use spec_kitty_core::team_board::TeamBoard;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

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

fn fold(events: &[Value]) -> Value {
    serde_json::to_value(TeamBoard::from_events(events)).expect("a board serialises")
}

fn stored(hub: &Hub, access: &str) -> Vec<Value> {
    hub.all_events(access).into_iter().map(|(_, e)| e).collect()
}

fn board(hub: &Hub, access: &str) -> Value {
    let answer = hub.get("/api/v1/board/", Some(access));
    answer.expect_status(200);
    answer.json()
}

/// A WebSocket of our own (not [`hub_support::WsClient`]), so a send the hub cuts short is an error to
/// look at rather than a panic. Returns the socket and its TCP handle (for read timeouts).
fn raw_ws(hub: &Hub, ws_token: &str) -> (WebSocket<Box<dyn Stream>>, TcpStream) {
    use tungstenite::client::IntoClientRequest;
    let (stream, tcp) = hub.endpoint.stream().expect("connect to the hub");
    let mut request = hub.endpoint.ws_url("").into_client_request().expect("a WebSocket request");
    request.headers_mut().insert("Authorization", format!("Bearer {ws_token}").parse().expect("a header value"));
    let (socket, _) = tungstenite::client(request, stream).unwrap_or_else(|e| panic!("the upgrade failed: {e}"));
    (socket, tcp)
}

/// Writes `bytes` on a fresh TCP connection and reads one answer.
fn raw_request(hub: &Hub, bytes: &[u8]) -> hub_support::Response {
    let mut tcp = hub_support::connect_tcp(hub.endpoint.addr).expect("connect to the hub");
    tcp.write_all(bytes).expect("write the request");
    hub_support::read_response(&mut tcp).unwrap_or_else(|e| panic!("no answer ({e}); log:\n{}", hub.log_tail()))
}

// 1 -------------------------------------------------------------------------------------------------

#[test]
fn an_event_over_256_kib_is_rejected_and_the_rest_of_its_batch_is_stored() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let before = hub_support::wp_created("alpha", "WP01", "Before the huge one");
    let huge = hub_support::wp_created("alpha", "WP02", &"h".repeat(300 * 1024));
    let after = hub_support::history("alpha", "WP01", "after the huge one");
    let events = [before.clone(), huge.clone(), after.clone()];

    for gzipped in [true, false] {
        let answer = if gzipped { hub.batch_gzip(&access, &events) } else { hub.batch(&access, &events) };
        answer.expect_status(200);
        let body = answer.json();
        let statuses: Vec<String> = hub_support::results_of(&body, &events).into_iter().map(|(_, s)| s).collect();
        let expected =
            if gzipped { ["success", "rejected", "success"] } else { ["duplicate", "rejected", "duplicate"] };
        assert_eq!(statuses, expected, "gzip {gzipped}: {body}");
        let error =
            body["results"][1]["error"].as_str().unwrap_or_else(|| panic!("no error for the huge event: {body}"));
        assert!(
            error.contains("262144") || error.contains("256 KiB") || error.contains("256KiB"),
            "the rejection does not name the 256 KiB limit: {error}"
        );
        assert!(error.len() < 1000, "the error echoes the event: {} bytes", error.len());
    }
    assert_eq!(stored(&hub, &access), vec![before.clone(), after.clone()]);

    // The board never holds it.
    let answer = hub.get("/api/v1/board/", Some(&access));
    answer.expect_status(200);
    assert!(answer.body.len() < 32 * 1024, "the board is {} bytes", answer.body.len());
    assert_eq!(answer.json(), fold(&[before.clone(), after.clone()]));

    // Over the WebSocket too: an error frame naming the event, not retryable, nothing stored.
    let (mut client, snapshot) = hub.ws_connect_user("a1");
    assert!(snapshot.to_string().len() < 32 * 1024, "the snapshot is {} bytes", snapshot.to_string().len());
    let huge_ws = hub_support::wp_created("alpha", "WP03", &"w".repeat(300 * 1024));
    client.send_json(&typed(&huge_ws));
    let frame = client.next_json();
    assert_eq!(frame["type"], "error", "{}", &frame.to_string()[..frame.to_string().len().min(500)]);
    assert_eq!(frame["event_id"], huge_ws["event_id"], "{frame}");
    assert_eq!(frame["retryable"], false, "{frame}");
    assert!(frame["error"].as_str().is_some_and(|e| e.contains("262144") || e.contains("256 KiB")), "{frame}");
    assert!(client.ping_roundtrip().is_empty());
    assert_eq!(stored(&hub, &access), vec![before.clone(), after.clone()]);

    // The limit is 256 KiB, not lower: an event of 200 KiB is taken.
    let big = hub_support::wp_created("alpha", "WP04", &"b".repeat(200 * 1024));
    let statuses = hub.batch_statuses(&access, std::slice::from_ref(&big));
    assert_eq!(statuses, vec![(event_id(&big), "success".to_string())]);
    assert_eq!(stored(&hub, &access), vec![before, after, big]);
}

// 2 -------------------------------------------------------------------------------------------------

#[test]
fn a_websocket_message_over_the_body_cap_closes_the_connection_and_stores_nothing() {
    let hub = Hub::builder().user("alpha", "a1").args(&["--max-body-bytes", "100000"]).start();
    let access = hub.login("a1").access;
    let ws_token = hub.ws_token(&access);
    let (mut socket, tcp) = raw_ws(&hub, &ws_token);
    tcp.set_read_timeout(Some(Duration::from_millis(250))).expect("a read timeout");
    // A valid event of ~200 KB (under the 256 KiB event limit, over the 100,000-byte body cap).
    let big = typed(&hub_support::wp_created("alpha", "WP01", &"b".repeat(200_000)));
    let text = big.to_string();
    assert!(text.len() > 200_000);

    let mut frames = Vec::new();
    let mut send_error = None;
    let deadline = Instant::now() + WATCHDOG;
    let mut sent = false;
    let ending = loop {
        if !sent {
            sent = true;
            // The hub may close before it has read the whole frame: a failed send is fine.
            if let Err(e) = socket.send(Message::text(text.clone())) {
                send_error = Some(e.to_string());
            }
        }
        if Instant::now() >= deadline {
            panic!("the connection is still open {WATCHDOG:?} after a 200 KB message; frames: {frames:?}");
        }
        match socket.read() {
            Ok(Message::Text(t)) => {
                let value: Value = serde_json::from_str(t.as_str()).expect("JSON frames");
                if value["type"] != "snapshot" && value["type"] != "ping" {
                    frames.push(value);
                }
            }
            Ok(Message::Close(frame)) => break format!("close frame {frame:?}"),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => break format!("ended: {e}"),
        }
    };
    eprintln!("oversized message: {ending}; send error {send_error:?}; frames {frames:?}");
    assert!(
        frames.iter().all(|f| f["type"] != "ack"),
        "the oversized message was acked ({ending}; send error {send_error:?}): {frames:?}"
    );

    hub.get("/health/", None).expect_status(200);
    assert_eq!(stored(&hub, &access), Vec::<Value>::new(), "an oversized WebSocket message was stored");
    // The hub goes on: a fresh connection takes a normal event.
    let (mut fresh, _) = hub.ws_connect_user("a1");
    let small = hub_support::history("alpha", "WP01", "small");
    fresh.send_json(&typed(&small));
    assert_eq!(fresh.next_json(), ack(&small, "accepted"));
    assert_eq!(stored(&hub, &access), vec![small]);
}

// 3 -------------------------------------------------------------------------------------------------

#[test]
fn a_removed_users_open_websocket_is_refused() {
    let mut hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").start();
    let (mut teammate, _) = hub.ws_connect_user("a2");
    let (mut client, _) = hub.ws_connect_user("a1");
    let first = hub_support::history("alpha", "WP01", "while a member");
    client.send_json(&typed(&first));
    assert_eq!(client.next_json(), ack(&first, "accepted"));

    hub.user_remove("a1");
    let refused = hub_support::wp_created("alpha", "WP02", "after removal");
    client.send_json(&typed(&refused));
    match client.next_within(WATCHDOG) {
        WsEvent::Json(frame) => {
            assert_eq!(frame["type"], "error", "a removed user's event was answered {frame}");
            assert_eq!(frame["retryable"], false, "{frame}");
        }
        other => panic!("no error frame for a removed user's event: {other:?}"),
    }

    // Added again (a new password hash): the old socket is still refused.
    hub.user_add("alpha", "a1");
    let again = hub_support::wp_created("alpha", "WP03", "after re-adding");
    client.send_json(&typed(&again));
    match client.next_within(WATCHDOG) {
        WsEvent::Json(frame) => {
            assert_eq!(frame["type"], "error", "the old socket of a re-added user was answered {frame}");
            assert_eq!(frame["retryable"], false, "{frame}");
        }
        other => panic!("no error frame on the old socket of a re-added user: {other:?}"),
    }

    let access = hub.login("a2").access;
    assert_eq!(stored(&hub, &access), vec![first.clone()], "a removed user's event was stored");
    assert_eq!(teammate.ping_roundtrip(), vec![typed(&first)], "a refused event was fanned out");
}

// 4 -------------------------------------------------------------------------------------------------

#[test]
fn a_websocket_event_flood_is_slowed_down_and_the_connection_stays_open() {
    let hub = Hub::builder().user("alpha", "a1").args(&["--rate-limit", "1"]).start();
    let (mut client, _) = hub.ws_connect_user("a1");
    let events: Vec<Value> = (0..300).map(|i| hub_support::history("alpha", "WP01", &format!("flood {i}"))).collect();
    for event in &events {
        client.send_json(&typed(event));
    }
    let (mut accepted, mut slowed) = (Vec::new(), 0);
    for event in &events {
        let frame = client.next_json();
        match frame["type"].as_str() {
            Some("ack") => {
                assert_eq!(frame, ack(event, "accepted"), "answers out of order");
                accepted.push(event.clone());
            }
            Some("error") => {
                assert_eq!(frame["retryable"], true, "a refused event of the flood is not retryable: {frame}");
                assert_eq!(frame["event_id"], event["event_id"], "{frame}");
                assert!(frame["error"].as_str().is_some_and(|e| e.contains("slow down")), "{frame}");
                slowed += 1;
            }
            _ => panic!("an unexpected frame: {frame}"),
        }
    }
    eprintln!("flood: {} accepted, {slowed} slowed down", accepted.len());
    assert!(slowed > 0, "300 events back to back at 50/s: none was slowed down");
    assert!(!accepted.is_empty(), "the flood refused every event");
    // Still open: a ping gets its pong, with nothing else before it.
    assert!(client.ping_roundtrip().is_empty());
    let access = hub.login("a1").access;
    assert_eq!(stored(&hub, &access), accepted, "the stored events are not exactly the acked ones");
    hub.get("/health/", None).expect_status(200);
}

// 5 -------------------------------------------------------------------------------------------------

#[test]
fn wrong_methods_are_405_and_bad_upgrades_400_in_one_line_json() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    hub.get("/api/v1/events/batch/", None).expect_error_line(405);
    hub.get("/api/v1/events/batch/", Some(&access)).expect_error_line(405);
    hub.request("POST", "/health/", &[], b"{}").expect_error_line(405);
    hub.request("DELETE", "/api/v1/token/", &[], b"").expect_error_line(405);
    // An unknown path is still 404.
    hub.get("/api/v1/nothing-here/", None).expect_error_line(404);

    let ws_token = hub.ws_token(&access);
    // A valid ws token, but no upgrade: 400.
    hub.get("/ws/v1/events/", Some(&ws_token)).expect_error_line(400);
    hub.get(&format!("/ws/v1/events/?token={ws_token}"), None).expect_error_line(400);
    let auth = format!("Bearer {ws_token}");
    let half = [("Authorization", auth.as_str()), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")];
    hub.request("GET", "/ws/v1/events/", &half, b"").expect_error_line(400);
    // No token: 401, before anything else.
    hub.get("/ws/v1/events/", None).expect_error_line(401);
    hub.get("/ws/v1/events/", Some("garbage")).expect_error_line(401);

    hub.get("/health/", None).expect_status(200);
}

// 6 -------------------------------------------------------------------------------------------------

#[test]
fn gzip_trailing_bytes_400_multi_member_200_and_a_non_ascii_content_encoding_415() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let batch = "/api/v1/events/batch/";

    // One member and garbage after it: 400, nothing stored.
    let garbled = hub_support::many_events("alpha", 3);
    let mut body = hub_support::gzip(&hub_support::batch_body(&garbled));
    body.extend_from_slice(b"GARBAGE");
    hub.post_bytes(batch, Some(&access), &body, true).expect_error_line(400);
    assert_eq!(stored(&hub, &access), Vec::<Value>::new(), "a body with trailing garbage was stored");

    // Two members that concatenate to one JSON body: 200, every event stored.
    let events = hub_support::many_events("alpha", 5);
    let plain = hub_support::batch_body(&events);
    let (part1, part2) = plain.split_at(plain.len() / 2);
    let mut body = hub_support::gzip(part1);
    body.extend_from_slice(&hub_support::gzip(part2));
    let answer = hub.post_bytes(batch, Some(&access), &body, true);
    answer.expect_status(200);
    let statuses = hub_support::results_of(&answer.json(), &events);
    assert!(statuses.iter().all(|(_, s)| s == "success"), "{statuses:?}");
    assert_eq!(stored(&hub, &access), events);

    // A Content-Encoding with a non-ASCII byte, on a body that is valid plain JSON: 415, nothing stored.
    let extra = vec![hub_support::history("alpha", "WP01", "odd encoding")];
    let plain = hub_support::batch_body(&extra);
    let auth = format!("Bearer {access}");
    let headers = [("Authorization", auth.as_str()), ("Content-Encoding", "gzip\u{e9}")];
    let error = hub.request("POST", batch, &headers, &plain).expect_error_line(415);
    assert!(error.contains("Content-Encoding"), "{error}");
    for value in [&b"\xff"[..], b"identity\xff", b"\x80gzip"] {
        let mut raw = format!(
            "POST {batch} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nContent-Encoding: ",
            hub.endpoint.addr,
            plain.len()
        )
        .into_bytes();
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n\r\n");
        raw.extend_from_slice(&plain);
        raw_request(&hub, &raw).expect_error_line(415);
    }
    assert_eq!(stored(&hub, &access), events, "a body with an unreadable Content-Encoding was stored");
    hub.get("/health/", None).expect_status(200);
}

// 7 -------------------------------------------------------------------------------------------------

#[test]
fn a_second_hub_on_the_same_data_folder_exits_1_naming_hub_lock() {
    let mut hub = Hub::builder().user("alpha", "a1").start();
    let data = hub.data_dir().display().to_string();
    // run_cli is bounded (it panics when the second serve does not exit within the watchdog).
    let output = hub.run_cli(&["serve", "--addr", "127.0.0.1:0", "--data", &data], "");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "the second serve: {:?}; stderr: {stderr}", output.status);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not a one-line error: {stderr:?}");
    assert!(lines[0].contains("hub.lock"), "the error does not name hub.lock: {stderr:?}");
    assert!(!stdout.contains("listening"), "the second serve said it was listening: {stdout:?}");

    // The first keeps serving.
    assert!(hub.is_running(), "the first hub stopped");
    hub.get("/health/", None).expect_status(200);
    let access = hub.login("a1").access;
    let event = hub_support::history("alpha", "WP01", "still the only hub");
    assert_eq!(hub.batch_statuses(&access, std::slice::from_ref(&event))[0].1, "success");

    // The lock goes with the process: after a kill -9, a new serve takes the folder.
    hub.restart();
    hub.get("/health/", None).expect_status(200);
    let access = hub.login("a1").access;
    assert_eq!(stored(&hub, &access), vec![event]);
}

// 8 -------------------------------------------------------------------------------------------------

/// `n` concurrent logins with wrong passwords (half of them for a user that exists), released together.
fn login_flood(hub: &Hub, n: usize) -> Vec<hub_support::Response> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let workers: Vec<_> = (0..n)
        .map(|i| {
            let endpoint = hub.endpoint.clone();
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                let username = if i % 2 == 0 { "a1" } else { "nobody" };
                let body = json!({"username": username, "password": format!("wrong-{i}")}).to_string();
                barrier.wait();
                endpoint.request("POST", "/api/v1/token/", &[("Content-Type", "application/json")], body.as_bytes())
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|worker| {
            worker
                .join()
                .expect("a login thread")
                .unwrap_or_else(|e| panic!("a login got no answer ({e}); log:\n{}", hub.log_tail()))
        })
        .collect()
}

#[test]
fn a_login_flood_is_answered_401_or_503_and_the_hub_stays_up() {
    let mut hub = Hub::builder().user("alpha", "a1").start();
    let mut counts = (0, 0);
    for answer in login_flood(&hub, 40) {
        match answer.status {
            401 => counts.0 += 1,
            503 => {
                let retry = answer.header("retry-after").unwrap_or_else(|| panic!("a 503 without Retry-After"));
                assert!(retry.parse::<u64>().is_ok_and(|s| s >= 1), "Retry-After {retry:?}");
                counts.1 += 1;
            }
            other => panic!("a wrong login answered {other}: {}", answer.text()),
        }
        answer.expect_error_line(answer.status);
    }
    eprintln!("login flood: {} answered 401, {} answered 503", counts.0, counts.1);
    assert_eq!(counts.0 + counts.1, 40);
    assert!(hub.is_running(), "the hub died under the login flood");
    hub.get("/health/", None).expect_status(200);
    let tokens = hub.login("a1");
    hub.get("/api/v1/board/", Some(&tokens.access)).expect_status(200);
}

/// The hub's peak and current resident memory in KiB (`VmHWM`, `VmRSS` of /proc/PID/status).
#[cfg(target_os = "linux")]
fn resident_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// What the limit of 4 password checks at once is for: each argon2 check takes ~19 MiB, so a flood of
/// logins must not take 19 MiB per request. 4 checks are ~76 MiB; 256 MiB leaves room for the rest.
#[cfg(target_os = "linux")]
#[test]
fn a_login_flood_keeps_the_hubs_memory_bounded() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let (_, idle) = resident_kib(hub.pid());
    for answer in login_flood(&hub, 40) {
        assert!(answer.status == 401 || answer.status == 503, "a wrong login answered {}", answer.status);
    }
    let (peak, after) = resident_kib(hub.pid());
    eprintln!(
        "hub resident: {} MiB idle, {} MiB peak, {} MiB after 40 failed logins",
        idle / 1024,
        peak / 1024,
        after / 1024
    );
    assert!(
        peak <= 256 * 1024,
        "40 concurrent failed logins took the hub to {} MiB resident (now {} MiB; {} MiB idle): \
         the 4-check limit does not bound memory",
        peak / 1024,
        after / 1024,
        idle / 1024
    );
}

// 9 -------------------------------------------------------------------------------------------------

/// Reads until the hub closes the connection (end of stream or reset) or `limit` passes. Returns the bytes
/// read, or None when it was still open.
fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        tcp.set_read_timeout(Some(left)).expect("a read timeout");
        match tcp.read(&mut chunk) {
            Ok(0) => return Some(seen),
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Some(seen), // reset: closed
        }
    }
}

#[test]
fn slowloris_headers_and_bodies_are_cut_off() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let addr = hub.endpoint.addr;

    // Headers that never end: closed within 30 s (the header timeout is 10 s).
    let headers = std::thread::spawn(move || {
        let mut tcp = hub_support::connect_tcp(addr).expect("connect");
        tcp.write_all(b"POST /api/v1/events/batch/ HTTP/1.1\r\n").expect("write");
        let started = Instant::now();
        let seen = read_until_closed(&mut tcp, Duration::from_secs(30));
        eprintln!(
            "unfinished headers, after {:?}: {:?} bytes read, then closed",
            started.elapsed(),
            seen.as_ref().map(Vec::len)
        );
        seen
    });
    // A body that never ends: 408 JSON or a close within 60 s (the body timeout is 30 s).
    let auth = access.clone();
    let body = std::thread::spawn(move || {
        let mut tcp = hub_support::connect_tcp(addr).expect("connect");
        let head = format!(
            "POST /api/v1/events/batch/ HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"ev"
        );
        tcp.write_all(head.as_bytes()).expect("write");
        let started = Instant::now();
        let seen = read_until_closed(&mut tcp, Duration::from_secs(60));
        eprintln!(
            "unfinished body, after {:?}: {:?} bytes read, then closed",
            started.elapsed(),
            seen.as_ref().map(Vec::len)
        );
        seen
    });

    // Meanwhile the hub serves others.
    std::thread::sleep(Duration::from_millis(500));
    hub.get("/health/", None).expect_status(200);
    let event = hub_support::history("alpha", "WP01", "beside the slow ones");
    assert_eq!(hub.batch_statuses(&access, std::slice::from_ref(&event))[0].1, "success");

    let seen = headers.join().expect("the header thread");
    let seen = seen.unwrap_or_else(|| panic!("a request with unfinished headers was still open after 30 s"));
    if !seen.is_empty() {
        let answer = hub_support::read_response(&mut &seen[..]).expect("an HTTP answer");
        assert!(answer.status == 408 || answer.status == 400, "unfinished headers answered {}", answer.status);
    }
    let seen = body.join().expect("the body thread");
    let seen =
        seen.unwrap_or_else(|| panic!("a request with an unfinished body was neither answered nor closed in 60 s"));
    if !seen.is_empty() {
        let answer = hub_support::read_response(&mut &seen[..]).expect("an HTTP answer");
        answer.expect_error_line(408);
    }

    hub.get("/health/", None).expect_status(200);
    assert_eq!(stored(&hub, &access), vec![event]);
}

/// Opens a batch request whose body never comes (Content-Length 1000, 4 bytes sent).
fn slow_upload(hub: &Hub, access: &str) -> TcpStream {
    let mut tcp = hub_support::connect_tcp(hub.endpoint.addr).expect("connect");
    let head = format!(
        "POST /api/v1/events/batch/ HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {access}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"ev",
        hub.endpoint.addr
    );
    tcp.write_all(head.as_bytes()).expect("write");
    tcp
}

/// Whether the hub has neither answered nor closed `tcp` yet.
fn still_waiting(tcp: &TcpStream) -> bool {
    tcp.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    let waiting = matches!((&mut &*tcp).read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    tcp.set_nonblocking(false).expect("blocking");
    waiting
}

#[test]
fn slow_uploads_of_one_user_do_not_hold_up_other_batches() {
    let hub = Hub::builder().user("alpha", "a1").user("beta", "b1").start();
    let slow_user = hub.login("a1").access;
    let other = hub.login("b1").access;
    // More slow uploads than the hub processes at once (8), from one user, within its rate limit (20/s).
    let slow: Vec<TcpStream> = (0..10).map(|_| slow_upload(&hub, &slow_user)).collect();
    std::thread::sleep(Duration::from_millis(500));
    // A user has 2 uploads in progress at most: the rest are answered 429 at once, not queued.
    let (waiting, answered): (Vec<TcpStream>, Vec<TcpStream>) = slow.into_iter().partition(still_waiting);
    assert_eq!(waiting.len(), 2, "two uploads of one user wait for their bodies");
    for tcp in answered {
        let mut bytes = Vec::new();
        let _ = (&tcp).take(64 * 1024).read_to_end(&mut bytes);
        let answer = hub_support::read_response(&mut &bytes[..]).expect("an HTTP answer");
        assert_eq!(answer.status, 429, "the third and later uploads of one user: {}", answer.text());
        assert!(answer.header("retry-after").is_some(), "with Retry-After");
    }

    // Another team's batch is answered while the slow uploads still wait for their bodies (their
    // timeout is 30 s): it did not queue behind them.
    let event = hub_support::history("beta", "WP01", "beside the slow uploads");
    let started = Instant::now();
    let answer = hub.batch(&other, std::slice::from_ref(&event));
    let took = started.elapsed();
    let still = waiting.iter().filter(|tcp| still_waiting(tcp)).count();
    answer.expect_status(200);
    assert_eq!(still, waiting.len(), "the batch was answered after {took:?}, behind the slow uploads");
    assert_eq!(stored(&hub, &other), vec![event]);
}

// 10 ------------------------------------------------------------------------------------------------

#[test]
fn the_cached_board_follows_every_new_event() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").user("beta", "b1").start();
    let alpha = hub.login("a1").access;
    let beta = hub.login("b1").access;
    assert_eq!(board(&hub, &alpha), fold(&[]));

    let mut sent = vec![
        hub_support::feature_created("alpha", 2),
        hub_support::wp_created("alpha", "WP01", "Parse"),
        hub_support::wp_created("alpha", "WP02", "Store"),
    ];
    assert!(hub.batch_statuses(&alpha, &sent).iter().all(|(_, s)| s == "success"));
    let first = board(&hub, &alpha);
    assert_eq!(first, fold(&sent));
    assert_eq!(board(&hub, &alpha), first, "the board changed with no new event");

    // More events by batch: the next board has them.
    let more = [
        hub_support::wp_status("alpha", "WP01", "planned", "doing"),
        hub_support::wp_assigned("alpha", "WP01", "claude"),
    ];
    assert!(hub.batch_statuses(&alpha, &more).iter().all(|(_, s)| s == "success"));
    sent.extend(more);
    let second = board(&hub, &alpha);
    assert_ne!(second, first, "the board did not change after new events");
    assert_eq!(second, fold(&sent));
    let (_, snapshot) = hub.ws_connect_user("a2");
    assert_eq!(snapshot, json!({"type": "snapshot", "work_packages": second["work_packages"]}));

    // By WebSocket, from a teammate.
    let (mut live, _) = hub.ws_connect_user("a2");
    let by_socket = hub_support::wp_status("alpha", "WP01", "doing", "for_review");
    live.send_json(&typed(&by_socket));
    assert_eq!(live.next_json(), ack(&by_socket, "accepted"));
    sent.push(by_socket);
    assert_eq!(board(&hub, &alpha), fold(&sent));

    // Another team's events leave alpha's board alone, and beta's board is beta's.
    let beta_events =
        [hub_support::wp_created("beta", "WP01", "Beta's"), hub_support::wp_status("beta", "WP01", "planned", "done")];
    assert_eq!(board(&hub, &beta), fold(&[]));
    assert!(hub.batch_statuses(&beta, &beta_events).iter().all(|(_, s)| s == "success"));
    assert_eq!(board(&hub, &alpha), fold(&sent));
    assert_eq!(board(&hub, &beta), fold(&beta_events));

    // A duplicate changes nothing; an event queued before login (`local`) counts for alpha.
    assert_eq!(hub.batch_statuses(&alpha, &sent[1..2])[0].1, "duplicate");
    assert_eq!(board(&hub, &alpha), fold(&sent));
    let local = hub_support::wp_status("local", "WP02", "planned", "doing");
    assert_eq!(hub.batch_statuses(&alpha, std::slice::from_ref(&local))[0].1, "success");
    let now = board(&hub, &alpha);
    assert_eq!(now, fold(&stored(&hub, &alpha)));
    assert_eq!(now["events_applied"], json!(sent.len() + 1));
    let (_, snapshot) = hub.ws_connect_user("a1");
    assert_eq!(snapshot, json!({"type": "snapshot", "work_packages": now["work_packages"]}));
}
