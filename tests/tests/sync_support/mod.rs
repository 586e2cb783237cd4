//! Shared harness of the sync acceptance tests (`sync_*.rs`, issue 10): the real `spec-kitty` binary
//! (through [`crate::common`]) against the real `spec-kitty-hub` (through [`crate::hub_support`]) on
//! 127.0.0.1, optionally through a fault-injecting TCP proxy of our own.
//!
//! - [`SyncEnv`]: a test repository with its temp `SPEC_KITTY_HOME`, a hub with two teams (`acme`: `ana`
//!   and `bob`; `zeta`: `zoe`), and a [`Transcript`] of everything any process printed. Every command runs
//!   under a watchdog and its stdout/stderr go into the transcript; [`SyncEnv::check_secrets`] then greps
//!   the transcript, `daemon.log` and the hub's logs for every token and password the test has seen.
//! - [`Proxy`]: HTTP/1.1 between the CLI and the hub, one request per client connection (the answer says
//!   `Connection: close`), a thread per connection (at most [`PROXY_MAX_CONNECTIONS`] at once). Batch
//!   requests take the next [`Fault`] of a plan: answer 500, 429 with `Retry-After`, 401, cut the
//!   connection halfway through the request body, forward and then drop the answer, or forward. WebSocket
//!   upgrades are tunnelled as bytes. It records every request and harvests the tokens of every token
//!   answer (access, refresh, ws) for the secrets check. Its upstream can change (a restarted hub has a
//!   new port).
//! - [`DaemonGuard`]: kills a daemon the test started if the test ends without stopping it.

#![allow(dead_code)]

use crate::common::{Run, TestRepo, wait_within};
use crate::hub_support::{self, Hub};
use rusqlite::{Connection, params};
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bound of any one CLI command (hanging is a failure, not slowness).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(180);
/// The most client connections the proxy serves at once.
pub const PROXY_MAX_CONNECTIONS: usize = 64;

pub const TEAM: &str = "acme";
pub const USER: &str = "ana";
pub const TEAMMATE: &str = "bob";
pub const OTHER_TEAM: &str = "zeta";
pub const OTHER_USER: &str = "zoe";

// ---------------------------------------------------------------------------------------------------
// Transcript
// ---------------------------------------------------------------------------------------------------

/// Everything the processes of a test printed, labelled.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<(String, String)>>>);

impl Transcript {
    pub fn add(&self, label: &str, text: &str) {
        self.0.lock().unwrap().push((label.to_string(), text.to_string()));
    }

    pub fn record(&self, run: &Run) {
        let label = format!("spec-kitty {}", run.args.join(" "));
        self.add(&format!("{label} (stdout)"), &run.stdout);
        self.add(&format!("{label} (stderr)"), &run.stderr);
    }

    pub fn entries(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------------------------------

/// What the proxy does with one batch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Forward,
    /// Answer 500 without forwarding.
    Status500,
    /// Answer 429 with `Retry-After: <secs>` without forwarding.
    Status429 {
        retry_after_secs: u64,
    },
    /// Answer 401 `Token expired or invalid` without forwarding.
    Status401,
    /// Read the head and half of the body, then close the connection (the hub never sees it).
    CutMidRequest,
    /// Forward the whole request, read the hub's answer (it committed), then close the connection
    /// without a byte of it: the client never learns what happened.
    CutAfterForward,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct ProxyRecord {
    pub method: String,
    pub path: String,
    pub at: Instant,
    pub fault: Fault,
    /// The status the client got (None: no answer).
    pub status: Option<u16>,
    /// For a batch: how many events it held (gzip or plain).
    pub batch_events: Option<usize>,
}

struct ProxyShared {
    upstream: Mutex<SocketAddr>,
    plan: Mutex<VecDeque<Fault>>,
    records: Mutex<Vec<ProxyRecord>>,
    tokens: Mutex<BTreeSet<String>>,
    open: AtomicUsize,
    stopping: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<ProxyShared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(ProxyShared {
            upstream: Mutex::new(upstream),
            plan: Mutex::new(VecDeque::new()),
            records: Mutex::new(Vec::new()),
            tokens: Mutex::new(BTreeSet::new()),
            open: AtomicUsize::new(0),
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
                            if shared.open.load(Ordering::SeqCst) >= PROXY_MAX_CONNECTIONS {
                                drop(client); // bounded: refuse beyond the limit
                                continue;
                            }
                            shared.open.fetch_add(1, Ordering::SeqCst);
                            if let Ok(handle) = client.try_clone() {
                                shared.streams.lock().unwrap().push(handle);
                            }
                            let shared = Arc::clone(&shared);
                            std::thread::spawn(move || {
                                let _ = serve_connection(&shared, client);
                                shared.open.fetch_sub(1, Ordering::SeqCst);
                            });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Proxy { addr, shared, acceptor: Some(acceptor) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().unwrap() = upstream;
    }

    /// The next batch requests take these faults in order; then batches are forwarded.
    pub fn plan(&self, faults: &[Fault]) {
        self.shared.plan.lock().unwrap().extend(faults.iter().copied());
    }

    pub fn plan_left(&self) -> usize {
        self.shared.plan.lock().unwrap().len()
    }

    pub fn records(&self) -> Vec<ProxyRecord> {
        self.shared.records.lock().unwrap().clone()
    }

    pub fn batch_records(&self) -> Vec<ProxyRecord> {
        self.records().into_iter().filter(|r| r.path.starts_with("/api/v1/events/batch/")).collect()
    }

    /// Every token seen in an answer of the token, refresh and ws-token routes.
    pub fn tokens(&self) -> BTreeSet<String> {
        self.shared.tokens.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
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

/// Where `needle` first occurs in `haystack` (HTTP heads in the proxies and fake hubs of the sync tests).
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

fn canned(status: u16, reason: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn count_batch_events(body: &[u8], gzipped: bool) -> Option<usize> {
    let plain = if gzipped {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body).read_to_end(&mut out).ok()?;
        out
    } else {
        body.to_vec()
    };
    let value: Value = serde_json::from_slice(&plain).ok()?;
    value["events"].as_array().map(Vec::len)
}

fn serve_connection(shared: &ProxyShared, mut client: TcpStream) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    client.set_write_timeout(Some(Duration::from_secs(60)))?;
    // The head.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut first = head.split("\r\n").next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let started = Instant::now();
    let upstream = *shared.upstream.lock().unwrap();

    // A WebSocket upgrade: a byte tunnel both ways.
    if header_value(&head, "upgrade").is_some() {
        shared.records.lock().unwrap().push(ProxyRecord {
            method,
            path,
            at: started,
            fault: Fault::Forward,
            status: Some(101),
            batch_events: None,
        });
        let Ok(mut server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else { return Ok(()) };
        shared.streams.lock().unwrap().push(server.try_clone()?);
        server.write_all(&buf)?;
        let mut client_reader = client.try_clone()?;
        let mut server_writer = server.try_clone()?;
        client.set_read_timeout(None)?;
        server.set_read_timeout(None)?;
        let up = std::thread::spawn(move || {
            let _ = std::io::copy(&mut client_reader, &mut server_writer);
            let _ = server_writer.shutdown(Shutdown::Both);
        });
        let _ = std::io::copy(&mut server, &mut client);
        let _ = client.shutdown(Shutdown::Both);
        let _ = up.join();
        return Ok(());
    }

    let length: usize = header_value(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let is_batch = method == "POST" && path.starts_with("/api/v1/events/batch/");
    let fault =
        if is_batch { shared.plan.lock().unwrap().pop_front().unwrap_or(Fault::Forward) } else { Fault::Forward };
    let mut body = buf[head_end + 4..].to_vec();
    if fault == Fault::CutMidRequest {
        while body.len() < length / 2 {
            let n = client.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        shared.records.lock().unwrap().push(ProxyRecord {
            method,
            path,
            at: started,
            fault,
            status: None,
            batch_events: None,
        });
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    while body.len() < length {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let gzipped = header_value(&head, "content-encoding").is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let batch_events = if is_batch { count_batch_events(&body, gzipped) } else { None };
    let record = |status: Option<u16>| ProxyRecord {
        method: method.clone(),
        path: path.clone(),
        at: started,
        fault,
        status,
        batch_events,
    };
    let answer = match fault {
        Fault::Status500 => Some(canned(500, "Internal Server Error", "", r#"{"error":"injected by the test proxy"}"#)),
        Fault::Status429 { retry_after_secs } => Some(canned(
            429,
            "Too Many Requests",
            &format!("Retry-After: {retry_after_secs}\r\n"),
            r#"{"error":"too many batches; wait as Retry-After says"}"#,
        )),
        Fault::Status401 => Some(canned(401, "Unauthorized", "", r#"{"error":"Token expired or invalid"}"#)),
        Fault::CutMidRequest | Fault::Forward | Fault::CutAfterForward => None,
    };
    if let Some(answer) = answer {
        let status = std::str::from_utf8(&answer[9..12]).ok().and_then(|s| s.parse().ok());
        shared.records.lock().unwrap().push(record(status));
        client.write_all(&answer)?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    // Forward, one request per upstream connection.
    let Ok(mut server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
        shared.records.lock().unwrap().push(record(None));
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    };
    server.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut new_head = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if i > 0 && line.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("connection")) {
            continue;
        }
        new_head.push_str(line);
        new_head.push_str("\r\n");
    }
    new_head.push_str("Connection: close\r\n\r\n");
    server.write_all(new_head.as_bytes())?;
    server.write_all(&body)?;
    let response = match hub_support::read_response(&mut server) {
        Ok(response) => response,
        Err(_) => {
            shared.records.lock().unwrap().push(record(None));
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
    };
    harvest_tokens(shared, &response.body);
    if fault == Fault::CutAfterForward {
        shared.records.lock().unwrap().push(record(None));
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    shared.records.lock().unwrap().push(record(Some(response.status)));
    let mut out = format!("HTTP/1.1 {} Proxied\r\n", response.status);
    for (name, value) in &response.headers {
        if ["connection", "content-length", "transfer-encoding", "keep-alive"].contains(&name.as_str()) {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", response.body.len()));
    client.write_all(out.as_bytes())?;
    client.write_all(&response.body)?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

fn harvest_tokens(shared: &ProxyShared, body: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return };
    for key in ["access", "refresh", "ws_token"] {
        if let Some(token) = value.get(key).and_then(Value::as_str) {
            shared.tokens.lock().unwrap().insert(token.to_string());
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------------------------------

/// Whether a process runs (not gone, not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // "pid (comm) S ...": the state follows the last ')'.
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next()).unwrap_or(None);
            !matches!(state, Some('Z') | Some('X'))
        }
        Err(_) => false,
    }
}

/// The pid in `daemon.pid`, if any.
pub fn daemon_pid(home: &Path) -> Option<u32> {
    std::fs::read_to_string(home.join("daemon.pid")).ok()?.trim().parse().ok()
}

/// Kills, on drop, the daemon a test started (by the pid it wrote), if it still runs.
pub struct DaemonGuard {
    pub home: PathBuf,
    pub pids: Mutex<Vec<u32>>,
}

impl DaemonGuard {
    pub fn new(home: &Path) -> DaemonGuard {
        DaemonGuard { home: home.to_path_buf(), pids: Mutex::new(Vec::new()) }
    }

    /// Remembers the daemon's pid (waiting, bounded, for daemon.pid); returns it.
    #[track_caller]
    pub fn adopt(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pid) = daemon_pid(&self.home).filter(|p| pid_alive(*p)) {
                self.pids.lock().unwrap().push(pid);
                return pid;
            }
            assert!(Instant::now() < deadline, "no live daemon.pid in {} within 10 s", self.home.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        let mut pids = self.pids.lock().unwrap().clone();
        pids.extend(daemon_pid(&self.home));
        for pid in pids {
            if pid_alive(pid) {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The environment of one test
// ---------------------------------------------------------------------------------------------------

pub struct SyncEnv {
    pub repo: TestRepo,
    pub hub: Hub,
    pub proxy: Option<Proxy>,
    pub transcript: Transcript,
    /// Tokens seen anywhere (credentials file, proxy, the test's own logins).
    pub secrets: Mutex<BTreeSet<String>>,
    pub daemons: DaemonGuard,
    /// The test's own (access, refresh) tokens of [`USER`] and until when the access token is good.
    own_tokens: Mutex<Option<(String, String, Instant)>>,
}

impl SyncEnv {
    /// A repository and a hub (extra `serve` arguments), with a proxy in front when `proxied`.
    pub fn new(hub_args: &[&str], proxied: bool) -> SyncEnv {
        SyncEnv::start(Hub::builder().user(TEAM, USER).args(hub_args), proxied)
    }

    /// The same, with a teammate ([`TEAMMATE`]) and a user of another team ([`OTHER_USER`]) on the hub.
    pub fn with_other_users(hub_args: &[&str], proxied: bool) -> SyncEnv {
        SyncEnv::start(
            Hub::builder().user(TEAM, USER).user(TEAM, TEAMMATE).user(OTHER_TEAM, OTHER_USER).args(hub_args),
            proxied,
        )
    }

    fn start(builder: hub_support::HubBuilder, proxied: bool) -> SyncEnv {
        let hub = builder.start();
        let proxy = proxied.then(|| Proxy::start(hub.endpoint.addr));
        let repo = TestRepo::new();
        let daemons = DaemonGuard::new(&repo.home);
        SyncEnv {
            repo,
            hub,
            proxy,
            transcript: Transcript::default(),
            secrets: Mutex::new(BTreeSet::new()),
            daemons,
            own_tokens: Mutex::new(None),
        }
    }

    /// The URL the CLI logs in to: the proxy's when there is one.
    pub fn server_url(&self) -> String {
        match &self.proxy {
            Some(proxy) => proxy.url(),
            None => self.hub.endpoint.http_base(),
        }
    }

    pub fn proxy(&self) -> &Proxy {
        self.proxy.as_ref().expect("this test has a proxy")
    }

    /// Runs `spec-kitty ARGS` at the repository's root under the watchdog, recorded in the transcript;
    /// the credentials' tokens are collected afterwards.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None)
    }

    pub fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = self.repo.command_in(&self.repo.root, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().expect("cannot run spec-kitty");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            // A command that refuses before reading stdin (a bad URL) closes it: its answer is the test's.
            if let Err(e) = pipe.write_all(input.as_bytes()) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
            }
        }
        let output = wait_within(child, COMMAND_LIMIT, &format!("spec-kitty {}", args.join(" ")));
        let run = Run::from_process(args, output);
        self.transcript.record(&run);
        self.collect_credentials();
        run
    }

    /// `auth login` to [`Self::server_url`] as [`USER`], the password on stdin.
    pub fn login(&self, start_daemon: bool) -> Run {
        let url = self.server_url();
        let mut args = vec!["auth", "login", "--server", &url, "--username", USER, "--password-stdin"];
        if !start_daemon {
            args.push("--no-daemon");
        }
        let password = format!("{}\n", hub_support::password_of(USER));
        let run = self.run_with(&args, Some(&password));
        if start_daemon && run.code == Some(0) {
            self.daemons.adopt();
        }
        run
    }

    /// `sync now --json`, its JSON.
    pub fn sync_now(&self) -> (Run, Value) {
        let run = self.run(&["sync", "now", "--json"]);
        let json = run.json();
        (run, json)
    }

    pub fn sync_status(&self) -> Value {
        self.run(&["sync", "status", "--json"]).ok().json()
    }

    /// The (access, refresh) tokens of the credentials file, when there is one.
    pub fn credentials_tokens(&self) -> Option<(String, String)> {
        let text = std::fs::read_to_string(self.repo.home.join("credentials")).ok()?;
        let field = |key: &str| {
            text.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        Some((field("access")?, field("refresh")?))
    }

    pub fn collect_credentials(&self) {
        if let Some((access, refresh)) = self.credentials_tokens() {
            let mut secrets = self.secrets.lock().unwrap();
            secrets.insert(access);
            secrets.insert(refresh);
        }
    }

    /// A token of `username` for the test's own requests (kept as a secret too).
    pub fn hub_tokens(&self, username: &str) -> hub_support::Tokens {
        let tokens = self.hub.login(username);
        let mut secrets = self.secrets.lock().unwrap();
        secrets.insert(tokens.access.clone());
        secrets.insert(tokens.refresh.clone());
        tokens
    }

    /// An access token of [`USER`] for the test's own requests, reused while it is good (a login costs
    /// an argon2 hash; after that the test refreshes).
    pub fn own_access(&self) -> String {
        let mut cached = self.own_tokens.lock().unwrap();
        if let Some((access, _, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return access.clone();
        }
        let tokens = match cached.as_ref() {
            Some((_, refresh, _)) => {
                let answer =
                    self.hub.post_json("/api/v1/token/refresh/", None, &serde_json::json!({ "refresh": refresh }));
                if answer.status == 200 { hub_support::tokens_of(&answer.json()) } else { self.hub.login(USER) }
            }
            None => self.hub.login(USER),
        };
        {
            let mut secrets = self.secrets.lock().unwrap();
            secrets.insert(tokens.access.clone());
            secrets.insert(tokens.refresh.clone());
        }
        let lifetime = tokens.body["expires_in"].as_u64().unwrap_or(0);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(5));
        *cached = Some((tokens.access.clone(), tokens.refresh.clone(), until));
        tokens.access
    }

    /// Every event of [`TEAM`] on the hub, in arrival order (`GET /api/v1/events/` paging; a page
    /// answered 401 because the test's own token expired is asked again with a fresh one).
    pub fn hub_events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0u64;
        let mut expired = 0;
        loop {
            let access = self.own_access();
            let answer = self.hub.get(&format!("/api/v1/events/?after={after}&limit=1000"), Some(&access));
            if answer.status == 401 && expired < 20 {
                expired += 1;
                if let Some(cached) = self.own_tokens.lock().unwrap().as_mut() {
                    cached.2 = Instant::now();
                }
                continue;
            }
            answer.expect_status(200);
            let page = answer.json();
            for item in page["events"].as_array().expect("an events list") {
                let seq = item["seq"].as_u64().expect("a seq");
                assert!(seq > after, "seq {seq} not after {after}");
                after = seq;
                out.push(item["event"].clone());
            }
            if page["has_more"] != true {
                return out;
            }
        }
    }

    /// Panics unless the hub holds each of `ids` exactly once and nothing else of the team.
    #[track_caller]
    pub fn assert_hub_holds_exactly(&self, ids: &BTreeSet<String>) {
        let events = self.hub_events();
        let mut seen = BTreeSet::new();
        for event in &events {
            let id = hub_support::event_id(event);
            assert!(seen.insert(id.clone()), "{id} is on the hub twice");
            assert_eq!(event["team_slug"], TEAM, "an event of another team: {event}");
        }
        let missing: Vec<&String> = ids.difference(&seen).take(5).collect();
        let extra: Vec<&String> = seen.difference(ids).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "the hub holds {} events, expected {}; missing e.g. {missing:?}, unexpected e.g. {extra:?}",
            seen.len(),
            ids.len()
        );
    }

    /// The ids of the queued rows.
    pub fn queued_ids(&self) -> BTreeSet<String> {
        queue_column(&self.repo.queue_db(), "SELECT event_id FROM queue")
    }

    pub fn dead_ids(&self) -> BTreeSet<String> {
        queue_column(&self.repo.queue_db(), "SELECT event_id FROM dead_letter")
    }

    /// Every password and token this test has seen.
    pub fn all_secrets(&self) -> BTreeSet<String> {
        self.collect_credentials();
        let mut secrets = self.secrets.lock().unwrap().clone();
        if let Some(proxy) = &self.proxy {
            secrets.extend(proxy.tokens());
        }
        for user in [USER, TEAMMATE, OTHER_USER] {
            secrets.insert(hub_support::password_of(user));
        }
        secrets.retain(|s| s.len() >= 8);
        secrets
    }

    /// Panics when any token or password appears in any output of the test, in daemon.log or in the
    /// hub's logs. Returns how many secrets and texts were checked.
    #[track_caller]
    pub fn check_secrets(&self) -> (usize, usize) {
        let secrets = self.all_secrets();
        assert!(secrets.len() >= 3, "the test saw no tokens to look for");
        let mut texts = self.transcript.entries();
        for name in ["daemon.log"] {
            if let Ok(text) = std::fs::read_to_string(self.repo.home.join(name)) {
                texts.push((name.to_string(), text));
            }
        }
        texts.push(("the hub's logs".to_string(), self.hub.all_logs()));
        for (label, text) in &texts {
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret ({}...) appears in {label}",
                    &secret[..secret.len().min(6)]
                );
            }
        }
        (secrets.len(), texts.len())
    }
}

pub fn queue_column(db: &Path, sql: &str) -> BTreeSet<String> {
    if !db.exists() {
        return BTreeSet::new();
    }
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Appends `count` events to the queue in one transaction: copies of the oldest queued event with new
/// ids, higher Lamport values and `entry_content` "filler N", each passed through `edit` (index, event)
/// first; as that many real emissions would leave them. Returns their ids in order.
pub fn fill_queue(db: &Path, count: usize, edit: impl Fn(usize, &mut Value)) -> Vec<String> {
    let mut conn = Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    let (first, timestamp): (String, i64) = tx
        .query_row("SELECT data, timestamp FROM queue ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["event_type"], "HistoryAdded", "fill_queue copies a HistoryAdded event");
    let high: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'lamport_clock'", [], |r| r.get(0)).unwrap();
    let mut clock = high;
    let mut ids = Vec::with_capacity(count);
    {
        let mut insert =
            tx.prepare("INSERT INTO queue (event_id, event_type, data, timestamp) VALUES (?1, ?2, ?3, ?4)").unwrap();
        for n in 0..count {
            clock += 1;
            let mut event = first.clone();
            let id = hub_support::ulid();
            event["event_id"] = Value::from(id.clone());
            event["lamport_clock"] = Value::from(clock);
            event["payload"]["entry_content"] = Value::from(format!("filler {n}"));
            edit(n, &mut event);
            insert.execute(params![id, event["event_type"].as_str().unwrap(), event.to_string(), timestamp]).unwrap();
            ids.push(id);
        }
    }
    tx.execute("UPDATE meta SET value = ?1 WHERE key = 'lamport_clock'", [clock]).unwrap();
    tx.commit().unwrap();
    // Keep clock.json ahead of the rows written here.
    ids
}

/// Polls `check` every 10 ms until it is true or `limit` passes; returns whether it became true.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn daemon_log(env: &SyncEnv) -> String {
    std::fs::read_to_string(env.repo.home.join("daemon.log")).unwrap_or_default()
}

/// `sync stop` succeeds, names `pid`, and the process is gone (bounded wait).
#[track_caller]
pub fn stop_daemon(env: &SyncEnv, pid: u32) {
    let stopped = env.run(&["sync", "stop", "--json"]).ok().json();
    assert_eq!(stopped["stopped_pid"], pid, "{stopped}");
    assert!(wait_until(Duration::from_secs(10), || !pid_alive(pid)), "daemon {pid} still runs after sync stop");
    assert!(!env.repo.home.join("daemon.pid").exists(), "daemon.pid left behind:\n{}", daemon_log(env));
}
