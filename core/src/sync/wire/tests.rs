//! Every wire type as the hub, upstream and API.md write it, and back.

use super::*;
use serde_json::json;

fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug>(value: &T) {
    let back: T = serde_json::from_str(&text(value)).unwrap();
    assert_eq!(&back, value);
}

fn envelope() -> Value {
    json!({"event_id": "01JKH5Q8ZX6A7B8C9D0E1F2G3H", "event_type": "WPCreated", "aggregate_id": "WP01",
           "payload": {"wp_id": "WP01"}, "lamport_clock": 3})
}

#[test]
fn token_request_and_refresh_request() {
    let request = TokenRequest { username: "ana".into(), password: "s3cret".into() };
    assert_eq!(text(&request), r#"{"username":"ana","password":"s3cret"}"#);
    round_trip(&request);
    assert!(!format!("{request:?}").contains("s3cret"));
    let refresh = RefreshRequest { refresh: "r.t.x".into() };
    assert_eq!(text(&refresh), r#"{"refresh":"r.t.x"}"#);
    round_trip(&refresh);
    assert!(!format!("{refresh:?}").contains("r.t.x"));
}

#[test]
fn token_response_as_the_hub_writes_it() {
    let answer = TokenResponse::new("a.b.c".into(), "r.s.t".into(), 900, 604_800, "team".into(), "ana".into());
    assert_eq!(
        text(&answer),
        r#"{"access":"a.b.c","refresh":"r.s.t","access_lifetime":900,"expires_in":900,"refresh_lifetime":604800,"refresh_expires_in":604800,"team_slug":"team","username":"ana"}"#
    );
    round_trip(&answer);
    let debug = format!("{answer:?}");
    assert!(!debug.contains("a.b.c") && !debug.contains("r.s.t"), "{debug}");
}

#[test]
fn token_response_reads_either_lifetime_spelling_and_strings() {
    let only_expires: TokenResponse =
        serde_json::from_str(r#"{"access":"a","refresh":"r","expires_in":"120","refresh_expires_in":3600}"#).unwrap();
    assert_eq!(only_expires.access_lifetime_secs(), 120);
    assert_eq!(only_expires.refresh_lifetime_secs(), 3600);
    assert_eq!(only_expires.team_slug, None);
    assert_eq!(only_expires.username, None);

    let preferred: TokenResponse = serde_json::from_str(
        r#"{"access":"a","refresh":"r","access_lifetime":60,"expires_in":30,"refresh_lifetime":70,"refresh_expires_in":40,"team_slug":"t"}"#,
    )
    .unwrap();
    assert_eq!((preferred.access_lifetime_secs(), preferred.refresh_lifetime_secs()), (60, 70));
    assert_eq!(preferred.team_slug.as_deref(), Some("t"));

    let bare: TokenResponse = serde_json::from_str(r#"{"access":"a","refresh":"r","team_slug":null}"#).unwrap();
    assert_eq!((bare.access_lifetime_secs(), bare.refresh_lifetime_secs()), (900, 604_800));

    // Like upstream's `a or b`: zero falls through; unreadable values are absent, not an error.
    let odd: TokenResponse = serde_json::from_str(
        r#"{"access":"a","refresh":"r","access_lifetime":0,"expires_in":"soon","refresh_lifetime":{},"refresh_expires_in":-5}"#,
    )
    .unwrap();
    assert_eq!((odd.access_lifetime_secs(), odd.refresh_lifetime_secs()), (900, 604_800));

    assert!(serde_json::from_str::<TokenResponse>(r#"{"refresh":"r"}"#).is_err(), "access is required");
}

#[test]
fn ws_token_response() {
    let answer = WsTokenResponse { ws_token: "w".into(), expires_in: Some(60) };
    assert_eq!(text(&answer), r#"{"ws_token":"w","expires_in":60}"#);
    round_trip(&answer);
    let bare: WsTokenResponse = serde_json::from_str(r#"{"ws_token":"w"}"#).unwrap();
    assert_eq!(bare.expires_in, None);
    assert!(!format!("{answer:?}").contains("\"w\""));
}

#[test]
fn batch_request_and_response() {
    let request = BatchRequest { events: vec![envelope(), json!({"anything": 1})] };
    round_trip(&request);
    let empty: BatchRequest = serde_json::from_str(r#"{"events":[]}"#).unwrap();
    assert!(empty.events.is_empty());
    let response = BatchResponse {
        results: vec![
            BatchResult::success("A"),
            BatchResult::duplicate("B"),
            BatchResult::rejected("C", "/payload/title: \"\" is shorter than 1 character"),
        ],
    };
    assert_eq!(
        text(&response),
        r#"{"results":[{"event_id":"A","status":"success"},{"event_id":"B","status":"duplicate"},{"event_id":"C","status":"rejected","error":"/payload/title: \"\" is shorter than 1 character"}]}"#
    );
    round_trip(&response);
    // The client's lenient reader takes the hub's answer.
    let read: Vec<super::super::EventResult> =
        serde_json::from_value(serde_json::to_value(&response).unwrap()["results"].clone()).unwrap();
    assert!(read[0].is_acknowledged() && read[1].is_acknowledged() && !read[2].is_acknowledged());
    assert!(read[2].failure_reason().starts_with("/payload/title"));
}

#[test]
fn error_body() {
    assert_eq!(text(&ErrorBody::new("Token expired or invalid")), r#"{"error":"Token expired or invalid"}"#);
    let with_details = ErrorBody {
        error: "bad events".into(),
        details: Some(vec![ErrorDetail { event_id: "A".into(), error: "/payload: x".into() }]),
    };
    assert_eq!(text(&with_details), r#"{"error":"bad events","details":[{"event_id":"A","error":"/payload: x"}]}"#);
    round_trip(&with_details);
}

#[test]
fn events_page() {
    let page = EventsPage { events: vec![SeqEvent { seq: 1, event: envelope() }], next_after: 1, has_more: false };
    let written = text(&page);
    assert!(written.starts_with(r#"{"events":[{"seq":1,"event":{"event_id":"#), "{written}");
    assert!(written.ends_with(r#"}}],"next_after":1,"has_more":false}"#), "{written}");
    round_trip(&page);
}

#[test]
fn server_frames_as_api_md_shows_them() {
    let snapshot = ServerFrame::Snapshot { work_packages: vec![json!({"wp_id": "WP01"})] };
    assert_eq!(snapshot.to_text(), r#"{"type":"snapshot","work_packages":[{"wp_id":"WP01"}]}"#);
    let ack = ServerFrame::Ack { event_id: "A".into(), status: AckStatus::Accepted };
    assert_eq!(ack.to_text(), r#"{"type":"ack","event_id":"A","status":"accepted"}"#);
    let dup = ServerFrame::Ack { event_id: "A".into(), status: AckStatus::Duplicate };
    assert_eq!(dup.to_text(), r#"{"type":"ack","event_id":"A","status":"duplicate"}"#);
    assert_eq!(
        ServerFrame::error(None, "frame is not JSON").to_text(),
        r#"{"type":"error","event_id":null,"error":"frame is not JSON","retryable":false}"#
    );
    assert_eq!(
        ServerFrame::error(Some("A".into()), "team_slug: x").to_text(),
        r#"{"type":"error","event_id":"A","error":"team_slug: x","retryable":false}"#
    );
    assert_eq!(ServerFrame::Ping { timestamp: 17 }.to_text(), r#"{"type":"ping","timestamp":17}"#);
    assert_eq!(ServerFrame::Pong { timestamp: json!(1.5) }.to_text(), r#"{"type":"pong","timestamp":1.5}"#);
    let event = ServerFrame::event(envelope());
    assert_eq!(
        event.to_text(),
        r#"{"type":"event","event_id":"01JKH5Q8ZX6A7B8C9D0E1F2G3H","event_type":"WPCreated","aggregate_id":"WP01","payload":{"wp_id":"WP01"},"lamport_clock":3}"#
    );
    for frame in [snapshot, ack, dup, ServerFrame::error(None, "x"), ServerFrame::Ping { timestamp: 1 }, event] {
        let back: ServerFrame = serde_json::from_str(&frame.to_text()).unwrap();
        assert_eq!(back, frame);
    }
}

#[test]
fn client_frames_tagged_bare_and_ping_pong() {
    let mut tagged = envelope();
    tagged.as_object_mut().unwrap().insert("type".into(), json!("event"));
    assert_eq!(ClientFrame::from_value(tagged).unwrap(), ClientFrame::Event(envelope()));
    assert_eq!(ClientFrame::from_value(envelope()).unwrap(), ClientFrame::Event(envelope()));
    assert_eq!(
        ClientFrame::parse(r#"{"type":"ping","timestamp":42}"#).unwrap(),
        ClientFrame::Ping { timestamp: json!(42) }
    );
    // Upstream's later clients add build_id to a pong; an absent timestamp reads as null.
    assert_eq!(
        ClientFrame::parse(r#"{"type":"pong","timestamp":"1700000000.5","build_id":"b"}"#).unwrap(),
        ClientFrame::Pong { timestamp: json!("1700000000.5") }
    );
    assert_eq!(ClientFrame::parse(r#"{"type":"pong"}"#).unwrap(), ClientFrame::Pong { timestamp: Value::Null });

    assert!(matches!(ClientFrame::parse("not json"), Err(FrameError::NotJson(_))));
    assert_eq!(ClientFrame::parse("[1]"), Err(FrameError::NotObject));
    assert_eq!(ClientFrame::parse(r#"{"type":"LocalCommit"}"#), Err(FrameError::UnknownType("LocalCommit".into())));
    assert_eq!(ClientFrame::parse(r#"{"type":3,"event_id":"A"}"#), Err(FrameError::TypeNotString));
    assert_eq!(ClientFrame::parse(r#"{"hello":1}"#), Err(FrameError::Untyped));
    assert!(ClientFrame::parse(r#"{"type":"LocalCommit"}"#).unwrap_err().to_string().starts_with("type: "));
}

#[test]
fn client_frames_write_the_tagged_form() {
    let event = ClientFrame::Event(envelope());
    assert_eq!(
        event.to_text(),
        r#"{"type":"event","event_id":"01JKH5Q8ZX6A7B8C9D0E1F2G3H","event_type":"WPCreated","aggregate_id":"WP01","payload":{"wp_id":"WP01"},"lamport_clock":3}"#
    );
    assert_eq!(ClientFrame::Pong { timestamp: json!(7) }.to_text(), r#"{"type":"pong","timestamp":7}"#);
    for frame in [event, ClientFrame::Ping { timestamp: json!(1) }, ClientFrame::Pong { timestamp: json!(null) }] {
        let back: ClientFrame = serde_json::from_str(&frame.to_text()).unwrap();
        assert_eq!(back, frame);
    }
    // A server's event frame is a client's event frame: the hub forwards what it admitted.
    let forwarded = ServerFrame::event(envelope()).to_text();
    assert_eq!(ClientFrame::parse(&forwarded).unwrap(), ClientFrame::Event(envelope()));
}
