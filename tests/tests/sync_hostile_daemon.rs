//! Issue 10, from a hostile trial of the sync daemon (the core's `SyncService` driven by `daemon.rs`): the
//! real CLI and daemon against the real hub on 127.0.0.1, and a fake hub of the test's own where the hub
//! must misbehave. Each test is a defect the trial found:
//! - a hub call that never returns (a hub that accepts and never answers) kept `sync stop` from finishing;
//! - a hub that floods the WebSocket with frames starved the daemon: no nudge, no timer, no stop;
//! - a hub that takes the WebSocket and never acknowledges kept the event queued for ever, resent on the
//!   same dead connection, although the batch route worked;
//! - a stale `daemon.pid` (the daemon killed with SIGKILL, its pid reused) was trusted whenever another
//!   command happened to be looking at the daemon lock: `sync stop` sent SIGTERM to an unrelated process and
//!   `sync status` showed a dead daemon's last state;
//! - a login as a user of another team while the daemon ran: the daemon went on with the old login, and the
//!   new team's events were refused and dead-lettered.
//!
//! Every wait is bounded; nothing is timed.

mod common;
mod hub_support;
mod sync_support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sync_support::*;
use tungstenite::Message;

// ---------------------------------------------------------------------------------------------------
// A fake hub
// ---------------------------------------------------------------------------------------------------

/// What the fake hub does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// HTTP goes to the real hub; the WebSocket opens, sends a snapshot, reads and never answers.
    MuteWebSocket,
    /// HTTP goes to the real hub; the WebSocket sends frames the client has no use for, without a pause.
    FloodWebSocket,
    /// Takes the connection and never sends a byte.
    BlackHole,
    /// HTTP and the WebSocket both go to the real hub (the WebSocket as a byte tunnel).
    Forward,
}

struct FakeShared {
    upstream: SocketAddr,
    behaviour: Mutex<Behaviour>,
    /// Connections taken while a black hole.
    swallowed: AtomicUsize,
    websockets: AtomicUsize,
    /// The `event` frames clients sent on the WebSocket.
    event_frames: Mutex<Vec<Value>>,
    /// Tokens seen in the real hub's answers (for the secrets check).
    tokens: Mutex<BTreeSet<String>>,
    /// `ws-token` requests with this bearer token are answered 401, as a hub whose clock runs ahead of
    /// the client's would answer an access token the client still holds for good.
    refused_access: Mutex<Option<String>>,
    stopping: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

struct FakeHub {
    addr: SocketAddr,
    shared: Arc<FakeShared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl FakeHub {
    fn start(upstream: SocketAddr, behaviour: Behaviour) -> FakeHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake hub");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(FakeShared {
            upstream,
            behaviour: Mutex::new(behaviour),
            swallowed: AtomicUsize::new(0),
            websockets: AtomicUsize::new(0),
            event_frames: Mutex::new(Vec::new()),
            tokens: Mutex::new(BTreeSet::new()),
            refused_access: Mutex::new(None),
            stopping: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                while !shared.stopping.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let _ = client.set_nonblocking(false);
                            if let Ok(handle) = client.try_clone() {
                                shared.streams.lock().unwrap().push(handle);
                            }
                            let shared = Arc::clone(&shared);
                            std::thread::spawn(move || {
                                let _ = serve(&shared, client);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        FakeHub { addr, shared, acceptor: Some(acceptor) }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    fn swallowed(&self) -> usize {
        self.shared.swallowed.load(Ordering::SeqCst)
    }

    fn websockets(&self) -> usize {
        self.shared.websockets.load(Ordering::SeqCst)
    }

    /// The notes (`entry_content`) of the event frames clients sent.
    fn notes_sent(&self) -> Vec<String> {
        let frames = self.shared.event_frames.lock().unwrap();
        frames.iter().filter_map(|f| f["payload"]["entry_content"].as_str().map(str::to_string)).collect()
    }

    fn tokens(&self) -> BTreeSet<String> {
        self.shared.tokens.lock().unwrap().clone()
    }

    /// From now on, `ws-token` requests carrying `access` are answered 401.
    fn refuse_for_ws_token(&self, access: &str) {
        *self.shared.refused_access.lock().unwrap() = Some(access.to_string());
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        for stream in self.shared.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(shared: &FakeShared, mut client: TcpStream) -> std::io::Result<()> {
    if *shared.behaviour.lock().unwrap() == Behaviour::BlackHole {
        shared.swallowed.fetch_add(1, Ordering::SeqCst);
        client.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut sink = [0u8; 4096];
        while !shared.stopping.load(Ordering::Relaxed) {
            match client.read(&mut sink) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(());
    }
    // Look at the request's head without taking it: a WebSocket upgrade is the library's to read.
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut peeked = vec![0u8; 64 * 1024];
    let head = (0..3000)
        .find_map(|_| {
            let n = client.peek(&mut peeked).ok()?;
            if n == 0 {
                return Some(None);
            }
            match find(&peeked[..n], b"\r\n\r\n") {
                Some(end) => Some(Some(String::from_utf8_lossy(&peeked[..end]).to_ascii_lowercase())),
                None => {
                    std::thread::sleep(Duration::from_millis(5));
                    None
                }
            }
        })
        .flatten();
    let Some(head) = head else { return Ok(()) };
    if !head.contains("upgrade: websocket") {
        return forward(shared, client);
    }
    if *shared.behaviour.lock().unwrap() == Behaviour::Forward {
        return tunnel(shared, client);
    }
    websocket(shared, client)
}

/// The WebSocket to the real hub, byte for byte, both ways.
fn tunnel(shared: &FakeShared, mut client: TcpStream) -> std::io::Result<()> {
    let mut server = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))?;
    shared.streams.lock().unwrap().push(server.try_clone()?);
    shared.websockets.fetch_add(1, Ordering::SeqCst);
    client.set_read_timeout(None)?;
    let (mut client_reader, mut server_writer) = (client.try_clone()?, server.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut server_writer);
        let _ = server_writer.shutdown(Shutdown::Both);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}

/// One HTTP request to the real hub and its answer back, then the connection closes.
fn forward(shared: &FakeShared, mut client: TcpStream) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(end) = find(&request, b"\r\n\r\n") {
            break end;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let refused = shared.refused_access.lock().unwrap().clone();
    if let Some(refused) = refused
        && head.starts_with("POST /api/v1/ws-token/")
        && head.contains(&format!("Bearer {refused}"))
    {
        let body = r#"{"error":"Token expired or invalid"}"#;
        let answer = format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(answer.as_bytes())?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let length: usize = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while request.len() < head_end + 4 + length {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
    }
    let mut new_head: String = head
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    new_head.push_str("Connection: close\r\n\r\n");
    let mut server = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(Duration::from_secs(30)))?;
    server.write_all(new_head.as_bytes())?;
    server.write_all(&request[head_end + 4..head_end + 4 + length])?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    if let Some(body_at) = find(&answer, b"\r\n\r\n")
        && let Ok(body) = serde_json::from_slice::<Value>(&answer[body_at + 4..])
    {
        for key in ["access", "refresh", "ws_token"] {
            if let Some(token) = body[key].as_str() {
                shared.tokens.lock().unwrap().insert(token.to_string());
            }
        }
    }
    client.write_all(&answer)?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// An unmasked text frame, as a server sends it.
fn server_text_frame(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut frame = vec![0x81];
    match bytes.len() {
        n if n < 126 => frame.push(n as u8),
        n => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(bytes);
    frame
}

fn websocket(shared: &FakeShared, client: TcpStream) -> std::io::Result<()> {
    let raw = client.try_clone()?;
    let mut socket = tungstenite::accept(client).map_err(|e| std::io::Error::other(e.to_string()))?;
    socket
        .send(Message::text(r#"{"type":"snapshot","work_packages":[]}"#))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    shared.websockets.fetch_add(1, Ordering::SeqCst);
    if *shared.behaviour.lock().unwrap() == Behaviour::FloodWebSocket {
        // Frames that parse as JSON and mean nothing to the client, written as fast as it reads them.
        let noise: Vec<u8> =
            (0..2000).flat_map(|n| server_text_frame(&format!(r#"{{"type":"noise","n":{n}}}"#))).collect();
        let mut writer = raw.try_clone()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&stopping);
        std::thread::spawn(move || while !done.load(Ordering::Relaxed) && writer.write_all(&noise).is_ok() {});
        let result = read_event_frames(shared, &mut socket, &raw);
        stopping.store(true, Ordering::Relaxed);
        return result;
    }
    read_event_frames(shared, &mut socket, &raw)
}

/// Records the client's event frames, answering none, until the client or the test ends.
fn read_event_frames(
    shared: &FakeShared,
    socket: &mut tungstenite::WebSocket<TcpStream>,
    raw: &TcpStream,
) -> std::io::Result<()> {
    raw.set_read_timeout(Some(Duration::from_millis(100)))?;
    while !shared.stopping.load(Ordering::Relaxed) {
        match socket.read() {
            Ok(Message::Text(text)) => {
                if let Ok(frame) = serde_json::from_str::<Value>(text.as_str())
                    && frame["type"] == "event"
                {
                    shared.event_frames.lock().unwrap().push(frame);
                }
            }
            Ok(Message::Close(_)) => return Ok(()),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// `auth login` as [`USER`] to `server`, with or without the daemon.
fn login_to(env: &SyncEnv, server: &str, start_daemon: bool) -> common::Run {
    let mut args = vec!["auth", "login", "--server", server, "--username", USER, "--password-stdin"];
    if !start_daemon {
        args.push("--no-daemon");
    }
    let run = env.run_with(&args, Some(&format!("{}\n", hub_support::password_of(USER))));
    if start_daemon && run.code == Some(0) {
        env.daemons.adopt();
    }
    run
}

/// The secrets check, with the tokens that went through the fake hub too.
#[track_caller]
fn check_secrets(env: &SyncEnv, fake: &FakeHub) {
    env.secrets.lock().unwrap().extend(fake.tokens());
    env.check_secrets();
}

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

/// The daemon is inside a call to the hub (ws-token) that will not return for its whole timeout: `sync
/// stop` still ends it within the flush time, and says so.
#[test]
fn sync_stop_ends_a_daemon_whose_call_to_the_hub_never_returns() {
    let env = SyncEnv::new(&[], false);
    let fake = FakeHub::start(env.hub.endpoint.addr, Behaviour::MuteWebSocket);
    login_to(&env, &fake.url(), false).ok();
    fake.set(Behaviour::BlackHole);
    env.run(&["sync", "start"]).ok();
    let pid = env.daemons.adopt();
    assert!(
        wait_until(Duration::from_secs(20), || fake.swallowed() >= 1),
        "the daemon never called the hub:\n{}",
        daemon_log(&env)
    );
    stop_daemon(&env, pid);
    check_secrets(&env, &fake);
}

/// A hub that never stops sending frames: the daemon still takes the command's nudge (the event goes out)
/// and still stops when told.
#[test]
fn a_hub_flooding_the_websocket_does_not_starve_the_daemon() {
    let env = SyncEnv::new(&[], false);
    let fake = FakeHub::start(env.hub.endpoint.addr, Behaviour::FloodWebSocket);
    login_to(&env, &fake.url(), true).ok();
    let pid = env.daemons.adopt();
    assert!(wait_until(Duration::from_secs(20), || fake.websockets() >= 1), "no WebSocket:\n{}", daemon_log(&env));
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "through the flood"]).ok();
    assert!(
        wait_until(Duration::from_secs(20), || fake.notes_sent().iter().any(|n| n == "through the flood")),
        "the daemon never sent the event while the hub flooded it:\n{}",
        daemon_log(&env)
    );
    stop_daemon(&env, pid);
    check_secrets(&env, &fake);
}

/// The WebSocket opens but no ack ever comes, while the batch route works: the event reaches the hub by
/// batch (contract §5) and leaves the queue, once.
#[test]
fn an_event_the_websocket_never_acknowledges_goes_by_batch() {
    let env = SyncEnv::new(&[], false);
    let fake = FakeHub::start(env.hub.endpoint.addr, Behaviour::MuteWebSocket);
    login_to(&env, &fake.url(), true).ok();
    let pid = env.daemons.adopt();
    assert!(wait_until(Duration::from_secs(20), || fake.websockets() >= 1), "no WebSocket:\n{}", daemon_log(&env));
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "never acknowledged live"]).ok();
    let ids = env.queued_ids();
    assert_eq!(ids.len(), 1);
    assert!(
        wait_until(Duration::from_secs(20), || fake.notes_sent().iter().any(|n| n == "never acknowledged live")),
        "the event was not sent live first:\n{}",
        daemon_log(&env)
    );
    assert!(
        wait_until(Duration::from_secs(60), || env.queued_ids().is_empty()),
        "the event never left the queue:\n{}",
        daemon_log(&env)
    );
    env.assert_hub_holds_exactly(&ids);
    assert!(env.dead_ids().is_empty());
    stop_daemon(&env, pid);
    check_secrets(&env, &fake);
}

/// What a daemon killed with SIGKILL leaves behind: `daemon.pid` naming a pid now used by another process
/// and its last state. Another command looks at the daemon lock at that moment (it holds it shared, as
/// every look does): `sync status` must not show the dead daemon's state, and `sync stop` must not signal
/// the other process. Nor when the lock is held by a process `daemon.pid` does not name.
#[test]
fn a_stale_pid_file_is_never_trusted() {
    let env = SyncEnv::new(&[], false);
    env.login(false).ok();
    let home = env.repo.home.clone();
    let mut bystander = std::process::Command::new("sleep").arg("600").spawn().expect("run sleep");
    std::fs::write(home.join("daemon.pid"), bystander.id().to_string()).unwrap();
    std::fs::write(home.join("daemon.state"), "connected").unwrap();
    let lock = File::options().create(true).truncate(false).write(true).open(home.join("daemon.lock")).unwrap();

    lock.lock_shared().unwrap();
    let status = env.sync_status();
    assert_eq!(status["connection"], "Offline", "no daemon runs: {status}");
    let stopped = env.run(&["sync", "stop", "--json"]).ok().json();
    assert_eq!(stopped["stopped_pid"], Value::Null, "{stopped}");
    assert!(bystander.try_wait().unwrap().is_none(), "sync stop signalled a process that is not the daemon");

    lock.unlock().unwrap();
    lock.lock().unwrap();
    let stop = env.run(&["sync", "stop"]);
    assert!(bystander.try_wait().unwrap().is_none(), "sync stop signalled a process that is not the daemon");
    assert!(!stop.stdout.contains("stopped"), "{stop:#?}");
    drop(lock);

    let _ = bystander.kill();
    let _ = bystander.wait();
    env.check_secrets();
}

/// A user of another team logs in on this machine while the daemon runs: the daemon goes on with the new
/// login, so the new team's event reaches the hub in that team instead of being refused and dead-lettered.
#[test]
fn a_login_as_another_team_is_taken_up_by_the_running_daemon() {
    let env = SyncEnv::with_other_users(&[], false);
    env.login(true).ok();
    let pid = env.daemons.adopt();
    assert!(
        wait_until(Duration::from_secs(20), || env.sync_status()["connection"] == "Connected"),
        "not connected:\n{}",
        daemon_log(&env)
    );
    let url = env.server_url();
    let password = format!("{}\n", hub_support::password_of(OTHER_USER));
    let args = ["auth", "login", "--server", url.as_str(), "--username", OTHER_USER, "--password-stdin"];
    let login = env.run_with(&args, Some(&password)).ok().stdout;
    assert!(login.contains(OTHER_TEAM), "{login}");
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "a note of the other team"]).ok();
    assert!(
        wait_until(Duration::from_secs(30), || env.queued_ids().is_empty()),
        "the event never left the queue:\n{}",
        daemon_log(&env)
    );
    assert!(env.dead_ids().is_empty(), "refused as another team's event:\n{}", daemon_log(&env));
    let other = env.hub_tokens(OTHER_USER);
    let events = env.hub.all_events(&other.access);
    assert!(
        events
            .iter()
            .any(|(_, e)| e["payload"]["entry_content"] == "a note of the other team" && e["team_slug"] == OTHER_TEAM),
        "the event is not on the hub in team {OTHER_TEAM}: {events:?}"
    );
    stop_daemon(&env, pid);
    env.check_secrets();
}

/// The daemon could not write its connection state for `sync status` (a full folder; here `daemon.state`
/// is in the way as a folder): once the folder takes files again, the next command's nudge writes it, so
/// `sync status` does not show a stale or missing state for as long as the connection lasts.
#[test]
fn a_connection_state_that_could_not_be_written_is_written_at_the_next_nudge() {
    let env = SyncEnv::new(&[], false);
    env.login(false).ok();
    let state_file = env.repo.home.join("daemon.state");
    std::fs::create_dir(&state_file).unwrap();
    env.run(&["sync", "start"]).ok();
    let pid = env.daemons.adopt();
    assert!(
        wait_until(Duration::from_secs(20), || daemon_log(&env).contains("connection: Connected")),
        "not connected:\n{}",
        daemon_log(&env)
    );
    std::fs::remove_dir(&state_file).unwrap();
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "a nudge"]).ok();
    assert!(
        wait_until(Duration::from_secs(20), || env.sync_status()["connection"] == "Connected"),
        "sync status never showed the connection: {}\n{}",
        env.sync_status(),
        daemon_log(&env)
    );
    stop_daemon(&env, pid);
    env.check_secrets();
}

/// The hub answers 401 to ws-token for the access token the client holds, which the client's clock still
/// counts good (the hub's clock runs ahead): the daemon refreshes once, as on any 401, and connects,
/// instead of failing every attempt until batch mode.
#[test]
fn a_401_on_the_ws_token_refreshes_once_and_connects() {
    let env = SyncEnv::new(&[], false);
    let fake = FakeHub::start(env.hub.endpoint.addr, Behaviour::Forward);
    login_to(&env, &fake.url(), false).ok();
    let (access, _) = env.credentials_tokens().expect("logged in");
    fake.refuse_for_ws_token(&access);
    env.run(&["sync", "start"]).ok();
    let pid = env.daemons.adopt();
    assert!(
        wait_until(Duration::from_secs(30), || fake.websockets() >= 1),
        "the daemon never opened the WebSocket:\n{}",
        daemon_log(&env)
    );
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "after a refresh"]).ok();
    let ids = env.queued_ids();
    assert!(wait_until(Duration::from_secs(20), || env.queued_ids().is_empty()), "{}", daemon_log(&env));
    env.assert_hub_holds_exactly(&ids);
    assert_ne!(env.credentials_tokens().map(|(access, _)| access), Some(access), "the access token was refreshed");
    stop_daemon(&env, pid);
    check_secrets(&env, &fake);
}
