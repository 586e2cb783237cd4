//! Shared harness of the hub tests (`hub_*.rs`): the real `spec-kitty-hub` binary serving on
//! 127.0.0.1 with a temporary data folder, and the clients that talk to it.
//!
//! The binary is the workspace's own `target/<profile>/spec-kitty-hub`, built once per test executable
//! with `cargo build -p spec-kitty-hub` (cargo does nothing when it is up to date), or the path in
//! `SPEC_KITTY_HUB_BIN` (no build). [`HubBuilder::start`] adds the users first (`user add`, the password
//! on stdin), then runs `serve --addr 127.0.0.1:0 --data DIR` and reads its one stdout line with a bounded
//! wait. The child is killed when the [`Hub`] is dropped; its stderr goes to a log file whose tail is
//! printed when a test panics.
//!
//! The HTTP client is a small HTTP/1.1 one of our own (one connection per request, `Connection: close`),
//! so a test sees every status code, header and byte as the hub sent them, can send a body the hub
//! refuses halfway (the body is written by a second thread while the answer is read), and speaks TLS
//! through rustls with exactly one trusted certificate. The WebSocket client is `tungstenite` over the
//! same streams. Every wait is bounded.
//!
//! Events are 028 envelopes written by hand (contract §1-§2), with ULIDs unique within the process.

#![allow(dead_code)]

// Loaded by both harnesses; a test that uses both compiles it twice, harmlessly.
#[allow(clippy::duplicate_mod)]
#[path = "../workspace_bin/mod.rs"]
mod workspace_bin;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

/// How long any single wait of the harness may take before the test fails.
pub const WATCHDOG: Duration = Duration::from_secs(30);

pub const FEATURE: &str = "028-cli-event-emission-sync";

/// The hub's variables, removed from the children's environment so the flags alone decide.
const HUB_VARIABLES: [&str; 10] = [
    "SPEC_KITTY_HUB_ADDR",
    "SPEC_KITTY_HUB_DATA",
    "SPEC_KITTY_HUB_TLS_CERT",
    "SPEC_KITTY_HUB_TLS_KEY",
    "SPEC_KITTY_HUB_MAX_BODY_BYTES",
    "SPEC_KITTY_HUB_RATE_LIMIT",
    "SPEC_KITTY_HUB_ACCESS_TTL",
    "SPEC_KITTY_HUB_REFRESH_TTL",
    "SPEC_KITTY_HUB_PING_INTERVAL",
    "SPEC_KITTY_HUB_BIN",
];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `spec-kitty-hub` binary, built once per test executable.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin::build("spec-kitty-hub", "spec-kitty-hub", "SPEC_KITTY_HUB_BIN"))
}

/// The password the harness gives a user.
pub fn password_of(username: &str) -> String {
    format!("pw-{username}-S3cret")
}

// ---------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

fn entropy_seed() -> u128 {
    static SEED: OnceLock<u128> = OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut high = std::collections::hash_map::RandomState::new().build_hasher();
        high.write_u32(std::process::id());
        let mut low = std::collections::hash_map::RandomState::new().build_hasher();
        low.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos());
        (u128::from(high.finish()) << 64) | u128::from(low.finish())
    })
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A fresh ULID: the current millisecond and 80 bits of (seed + counter), so no two ids of one process
/// are equal.
pub fn ulid() -> String {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mask = (1u128 << 80) - 1;
    let random = entropy_seed().wrapping_add(u128::from(n)) & mask;
    let value = (u128::from(unix_ms() & 0xFFFF_FFFF_FFFF) << 80) | random;
    let mut chars = [0u8; 26];
    for (i, slot) in chars.iter_mut().enumerate() {
        let shift = 5 * (25 - i);
        *slot = CROCKFORD[((value >> shift) & 0x1F) as usize];
    }
    String::from_utf8(chars.to_vec()).expect("ASCII")
}

/// A lamport clock value, increasing across the process.
fn next_clock() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// A valid 028 envelope (contract §1) of `event_type` for `team`.
pub fn envelope(team: &str, event_type: &str, aggregate_id: &str, aggregate_type: &str, payload: Value) -> Value {
    json!({
        "event_id": ulid(),
        "event_type": event_type,
        "aggregate_id": aggregate_id,
        "aggregate_type": aggregate_type,
        "payload": payload,
        "node_id": "0a1b2c3d4e5f",
        "lamport_clock": next_clock(),
        "causation_id": null,
        "timestamp": "2026-03-01T12:00:00.000Z",
        "team_slug": team,
        "project_uuid": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "project_slug": "spec-kitty-hub-tests",
    })
}

pub fn wp_created(team: &str, wp: &str, title: &str) -> Value {
    envelope(
        team,
        "WPCreated",
        wp,
        "WorkPackage",
        json!({"wp_id": wp, "title": title, "dependencies": [], "feature_slug": FEATURE}),
    )
}

pub fn wp_status(team: &str, wp: &str, from: &str, to: &str) -> Value {
    envelope(
        team,
        "WPStatusChanged",
        wp,
        "WorkPackage",
        json!({"wp_id": wp, "previous_status": from, "new_status": to, "changed_by": "user", "feature_slug": FEATURE}),
    )
}

pub fn wp_assigned(team: &str, wp: &str, agent: &str) -> Value {
    envelope(
        team,
        "WPAssigned",
        wp,
        "WorkPackage",
        json!({"wp_id": wp, "agent_id": agent, "phase": "implementation", "retry_count": 0}),
    )
}

pub fn history(team: &str, wp: &str, text: &str) -> Value {
    envelope(
        team,
        "HistoryAdded",
        wp,
        "WorkPackage",
        json!({"wp_id": wp, "entry_type": "note", "entry_content": text, "author": "user"}),
    )
}

pub fn feature_created(team: &str, wp_count: u32) -> Value {
    envelope(
        team,
        "FeatureCreated",
        FEATURE,
        "Feature",
        json!({"feature_slug": FEATURE, "feature_number": "028", "target_branch": "main", "wp_count": wp_count}),
    )
}

/// `n` valid events of `team`, of several types.
pub fn many_events(team: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let wp = format!("WP{:02}", i % 99 + 1);
            match i % 4 {
                0 => wp_created(team, &wp, &format!("Work package {i}")),
                1 => history(team, &wp, &format!("note {i}")),
                2 => wp_status(team, &wp, "planned", "doing"),
                _ => wp_assigned(team, &wp, "claude"),
            }
        })
        .collect()
}

pub fn event_id(event: &Value) -> String {
    event["event_id"].as_str().expect("an event_id").to_string()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

pub fn batch_body(events: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "events": events })).expect("JSON")
}

// ---------------------------------------------------------------------------------------------------
// Streams: plain TCP or rustls
// ---------------------------------------------------------------------------------------------------

pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A client TLS configuration trusting exactly `cert` (DER).
pub fn tls_client_config(cert_der: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert_der.to_vec()))
        .expect("the test certificate is a valid root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TCP connection to `addr` with bounded connect, read and write waits.
pub fn connect_tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    tcp.set_read_timeout(Some(WATCHDOG))?;
    tcp.set_write_timeout(Some(WATCHDOG))?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

fn wrap_tls(tcp: TcpStream, tls: &Arc<rustls::ClientConfig>) -> io::Result<Box<dyn Stream>> {
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("an IP server name").to_owned();
    let conn = rustls::ClientConnection::new(tls.clone(), name).map_err(io::Error::other)?;
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

// ---------------------------------------------------------------------------------------------------
// HTTP/1.1
// ---------------------------------------------------------------------------------------------------

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (with the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the answer ({}) is not JSON ({e}): {}", self.status, self.text()))
    }

    /// Panics unless the status is `status`.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }

    /// Panics unless the body is one line of JSON: an object whose `error` is a non-empty string.
    /// Returns the error text.
    #[track_caller]
    pub fn expect_error_line(&self, status: u16) -> String {
        self.expect_status(status);
        let text = self.text();
        assert!(!text.trim_end().contains('\n'), "the error body is not one line: {text:?}");
        let value = self.json();
        let error = value["error"].as_str().unwrap_or_else(|| panic!("no string `error` in {text}"));
        assert!(!error.is_empty(), "an empty error in {text}");
        error.to_string()
    }
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP/1.1 answer from `stream`: head, then a Content-Length body, a chunked body, or up to
/// the end of the stream.
pub fn read_response(stream: &mut dyn Read) -> io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(pos) = find_subslice(&buf, b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed before an answer"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 1 << 20 {
            return Err(io::Error::other("an answer head over 1 MiB"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("a bad status line: {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let body = if let Some(length) = get("content-length") {
        let length: usize = length.parse().map_err(|_| io::Error::other("a bad content-length"))?;
        while rest.len() < length {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the body ended early"));
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(length);
        rest
    } else if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(pos) = find_subslice(&rest, b"\r\n") {
                    break pos;
                }
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a chunk ended early"));
                }
                rest.extend_from_slice(&chunk[..n]);
            };
            let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::other(format!("a bad chunk size {size_text:?}")))?;
            rest.drain(..line_end + 2);
            while rest.len() < size + 2 {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a chunk ended early"));
                }
                rest.extend_from_slice(&chunk[..n]);
            }
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
        }
        body
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        rest
    };
    Ok(Response { status, headers, body })
}

fn request_head(method: &str, path: &str, host: &str, headers: &[(&str, &str)], body_len: usize) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if body_len > 0 || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {body_len}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// How a test reaches a hub: its address and, with TLS, the client configuration.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Endpoint {
    pub fn http_base(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn ws_url(&self, query: &str) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}/ws/v1/events/{query}", self.addr)
    }

    /// A connected stream (TLS when the hub serves TLS), plus the TCP socket to tune timeouts.
    pub fn stream(&self) -> io::Result<(Box<dyn Stream>, TcpStream)> {
        let tcp = connect_tcp(self.addr)?;
        let handle = tcp.try_clone()?;
        let stream: Box<dyn Stream> = match &self.tls {
            Some(tls) => wrap_tls(tcp, tls)?,
            None => Box::new(tcp),
        };
        Ok((stream, handle))
    }

    /// One request on a fresh connection. Over plain TCP the body is written by a second thread while
    /// the answer is read, so an answer sent before the hub read the whole body (413) is seen; a write
    /// that fails because the hub closed the connection is not an error then.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Response> {
        let head = request_head(method, path, &self.addr.to_string(), headers, body.len());
        match &self.tls {
            None => {
                let mut tcp = connect_tcp(self.addr)?;
                tcp.write_all(&head)?;
                if body.is_empty() {
                    return read_response(&mut tcp);
                }
                let mut writer = tcp.try_clone()?;
                let body = body.to_vec();
                let sender = std::thread::spawn(move || {
                    let result = writer.write_all(&body).and_then(|()| writer.flush());
                    if result.is_err() {
                        let _ = writer.shutdown(Shutdown::Write);
                    }
                    result
                });
                let answer = read_response(&mut tcp);
                let _ = tcp.shutdown(Shutdown::Both);
                let _ = sender.join();
                answer
            }
            Some(_) => {
                let (mut stream, _tcp) = self.stream()?;
                stream.write_all(&head)?;
                stream.write_all(body)?;
                stream.flush()?;
                read_response(&mut stream)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The hub process
// ---------------------------------------------------------------------------------------------------

/// What a hub is started with.
#[derive(Default)]
pub struct HubBuilder {
    users: Vec<(String, String)>,
    args: Vec<String>,
    tls: bool,
}

impl HubBuilder {
    /// A user (`user add --team TEAM --username NAME`) with the password [`password_of`].
    pub fn user(mut self, team: &str, username: &str) -> Self {
        self.users.push((team.to_string(), username.to_string()));
        self
    }

    /// Extra `serve` arguments, e.g. `["--rate-limit", "2"]`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Serve TLS with a fresh self-signed certificate for 127.0.0.1.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub fn start(self) -> Hub {
        let root = tempfile::Builder::new().prefix("spec-kitty-hub-test").tempdir().expect("a temp dir");
        let data = root.path().join("data");
        let mut args = self.args;
        let mut cert_der = None;
        if self.tls {
            let certified =
                rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a self-signed certificate");
            let cert_path = root.path().join("hub-cert.pem");
            let key_path = root.path().join("hub-key.pem");
            std::fs::write(&cert_path, certified.cert.pem()).expect("write the certificate");
            std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write the key");
            args.extend(["--tls-cert".to_string(), cert_path.display().to_string()]);
            args.extend(["--tls-key".to_string(), key_path.display().to_string()]);
            cert_der = Some(certified.cert.der().to_vec());
        }
        let mut hub = Hub {
            root,
            data,
            args,
            child: None,
            endpoint: Endpoint {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                tls: cert_der.as_deref().map(tls_client_config),
            },
            cert_der,
            teams: HashMap::new(),
            starts: 0,
            first_line: String::new(),
        };
        for (team, username) in &self.users {
            hub.user_add(team, username);
        }
        hub.spawn();
        hub
    }
}

/// A running `spec-kitty-hub serve`.
pub struct Hub {
    root: TempDir,
    data: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    pub endpoint: Endpoint,
    /// The certificate the hub serves (DER), with TLS.
    pub cert_der: Option<Vec<u8>>,
    /// username -> team, for the users this harness added.
    pub teams: HashMap<String, String>,
    starts: u32,
    /// The line `serve` printed on stdout.
    pub first_line: String,
}

/// What a login answered.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

impl Hub {
    pub fn builder() -> HubBuilder {
        HubBuilder::default()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Runs `spec-kitty-hub <args>` (not `serve`) with `stdin` as its input; bounded.
    pub fn run_cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut child = Command::new(binary())
            .args(args)
            .current_dir(self.root.path())
            .env_clear_hub()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run spec-kitty-hub");
        let mut input = child.stdin.take().expect("stdin");
        let stdin = stdin.to_string();
        let feeder = std::thread::spawn(move || {
            let _ = input.write_all(stdin.as_bytes());
        });
        let output = wait_output_bounded(child, WATCHDOG).unwrap_or_else(|| panic!("spec-kitty-hub {args:?} hung"));
        let _ = feeder.join();
        output
    }

    /// `user add` (password on stdin); panics unless it succeeds.
    pub fn user_add(&mut self, team: &str, username: &str) {
        let data = self.data.display().to_string();
        let output = self.run_cli(
            &["user", "add", "--data", &data, "--team", team, "--username", username],
            &format!("{}\n", password_of(username)),
        );
        assert!(
            output.status.success(),
            "user add {team}/{username} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.teams.insert(username.to_string(), team.to_string());
    }

    /// `user remove`; panics unless it succeeds.
    pub fn user_remove(&mut self, username: &str) {
        let data = self.data.display().to_string();
        let output = self.run_cli(&["user", "remove", "--data", &data, "--username", username], "");
        assert!(output.status.success(), "user remove {username} failed: {}", String::from_utf8_lossy(&output.stderr));
        self.teams.remove(username);
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join(format!("hub-{}.log", self.starts))
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "the hub is already running");
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).expect("the hub's log file");
        let data = self.data.display().to_string();
        let mut child = Command::new(binary())
            .args(["serve", "--addr", "127.0.0.1:0", "--data", &data])
            .args(&self.args)
            .current_dir(self.root.path())
            .env_clear_hub()
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn spec-kitty-hub serve");
        let stdout = child.stdout.take().expect("the hub's stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = lines.send(first);
            // Keep draining: the hub must never block on its stdout.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        self.child = Some(child);
        let line = match received.recv_timeout(WATCHDOG) {
            Ok(line) => line,
            Err(_) => {
                let log = self.log_tail();
                panic!("spec-kitty-hub serve printed no line within {WATCHDOG:?}; log:\n{log}");
            }
        };
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        let scheme = if self.endpoint.tls.is_some() { "https" } else { "http" };
        let prefix = format!("spec-kitty-hub listening on {scheme}://127.0.0.1:");
        let port: u16 = line.strip_prefix(&prefix).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            panic!("unexpected first line {line:?} (wanted {prefix}PORT); log:\n{}", self.log_tail())
        });
        assert_ne!(port, 0, "the hub printed port 0");
        self.endpoint.addr = SocketAddr::from(([127, 0, 0, 1], port));
        self.first_line = line;
    }

    /// The last lines of the current run's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the hub is running").id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts `serve` again on the same data folder, with the same arguments (a new port).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Sends SIGTERM (through the `kill` command).
    pub fn sigterm(&self) {
        let status = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("run kill -TERM");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the process to exit; None when it did not.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut().expect("the hub was started");
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // -- HTTP ----------------------------------------------------------------------------------------

    /// A request; panics when the connection fails (the hub must always answer).
    #[track_caller]
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        self.endpoint
            .request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: no answer from the hub ({e}); log:\n{}", self.log_tail()))
    }

    #[track_caller]
    pub fn get(&self, path: &str, access: Option<&str>) -> Response {
        let auth = access.map(|a| format!("Bearer {a}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.request("GET", path, &headers, b"")
    }

    #[track_caller]
    pub fn post_json(&self, path: &str, access: Option<&str>, body: &Value) -> Response {
        self.post_bytes(path, access, &serde_json::to_vec(body).expect("JSON"), false)
    }

    #[track_caller]
    pub fn post_bytes(&self, path: &str, access: Option<&str>, body: &[u8], gzipped: bool) -> Response {
        let auth = access.map(|a| format!("Bearer {a}"));
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        if gzipped {
            headers.push(("Content-Encoding", "gzip"));
        }
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.as_str()));
        }
        self.request("POST", path, &headers, body)
    }

    /// `POST /api/v1/token/`, 200 expected.
    #[track_caller]
    pub fn login(&self, username: &str) -> Tokens {
        let answer =
            self.post_json("/api/v1/token/", None, &json!({"username": username, "password": password_of(username)}));
        answer.expect_status(200);
        tokens_of(&answer.json())
    }

    /// `POST /api/v1/events/batch/`, plain JSON.
    #[track_caller]
    pub fn batch(&self, access: &str, events: &[Value]) -> Response {
        self.post_bytes("/api/v1/events/batch/", Some(access), &batch_body(events), false)
    }

    /// `POST /api/v1/events/batch/`, gzip.
    #[track_caller]
    pub fn batch_gzip(&self, access: &str, events: &[Value]) -> Response {
        self.post_bytes("/api/v1/events/batch/", Some(access), &gzip(&batch_body(events)), true)
    }

    /// The per-event `results` of a 200 batch answer, as (event_id, status).
    #[track_caller]
    pub fn batch_statuses(&self, access: &str, events: &[Value]) -> Vec<(String, String)> {
        let answer = self.batch_gzip(access, events);
        answer.expect_status(200);
        results_of(&answer.json(), events)
    }

    /// Every event of the caller's team, through `GET /api/v1/events/` paging (limit 1000): checks the
    /// cursor on the way (seq increasing, `next_after` the last seq, `has_more` until the end).
    #[track_caller]
    pub fn all_events(&self, access: &str) -> Vec<(u64, Value)> {
        let mut out: Vec<(u64, Value)> = Vec::new();
        let mut after = 0u64;
        for _ in 0..10_000 {
            let answer = self.get(&format!("/api/v1/events/?after={after}&limit=1000"), Some(access));
            answer.expect_status(200);
            let page = answer.json();
            let events = page["events"].as_array().unwrap_or_else(|| panic!("no events list: {page}"));
            assert!(events.len() <= 1000, "a page over the limit: {}", events.len());
            for item in events {
                let seq = item["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {item}"));
                assert!(seq > after, "seq {seq} not after {after}");
                assert!(item["event"].is_object(), "no event object in {item}");
                after = seq;
                out.push((seq, item["event"].clone()));
            }
            let has_more = page["has_more"].as_bool().unwrap_or_else(|| panic!("no has_more in {page}"));
            if let Some(last) = events.last() {
                assert_eq!(page["next_after"], last["seq"], "next_after is not the last seq");
            }
            if !has_more {
                return out;
            }
            assert!(!events.is_empty(), "has_more with an empty page");
        }
        panic!("more than 10,000 pages of events");
    }

    /// The value of a Prometheus sample (summed over its label sets), 0 when absent.
    pub fn metric(&self, name: &str) -> f64 {
        let answer = self.get("/metrics", None);
        answer.expect_status(200);
        metric_value(&answer.text(), name).unwrap_or_else(|| panic!("no metric {name} in:\n{}", answer.text()))
    }

    // -- WebSocket -----------------------------------------------------------------------------------

    /// `POST /api/v1/ws-token/`, 200 expected.
    #[track_caller]
    pub fn ws_token(&self, access: &str) -> String {
        let answer = self.post_json("/api/v1/ws-token/", Some(access), &json!({}));
        answer.expect_status(200);
        let body = answer.json();
        body["ws_token"].as_str().unwrap_or_else(|| panic!("no ws_token in {body}")).to_string()
    }

    /// Logs `username` in, gets a ws token and connects with it in the Authorization header. The
    /// snapshot frame is read and returned with the client.
    #[track_caller]
    pub fn ws_connect_user(&self, username: &str) -> (WsClient, Value) {
        let tokens = self.login(username);
        let ws_token = self.ws_token(&tokens.access);
        let mut client = self.ws_connect(Some(&ws_token), "").unwrap_or_else(|e| panic!("WebSocket refused: {e}"));
        let snapshot = client.next_json();
        assert_eq!(snapshot["type"], "snapshot", "the first frame is not the snapshot: {snapshot}");
        (client, snapshot)
    }

    /// Upgrades to the WebSocket with `Authorization: Bearer <token>` when given, at `/ws/v1/events/<query>`.
    /// On a refused upgrade the error holds the HTTP status.
    pub fn ws_connect(&self, token: Option<&str>, query: &str) -> Result<WsClient, WsConnectError> {
        ws_connect(&self.endpoint, token, query)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!("--- spec-kitty-hub log (tail) ---\n{}\n---", self.log_tail());
        }
        self.kill9();
    }
}

trait ClearHubEnv {
    fn env_clear_hub(&mut self) -> &mut Self;
}

impl ClearHubEnv for Command {
    fn env_clear_hub(&mut self) -> &mut Self {
        for name in HUB_VARIABLES {
            self.env_remove(name);
        }
        self
    }
}

fn wait_output_bounded(mut child: Child, limit: Duration) -> Option<std::process::Output> {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Some(std::process::Output { status, stdout, stderr })
}

pub fn tokens_of(body: &Value) -> Tokens {
    let access = body["access"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string();
    let refresh = body["refresh"].as_str().unwrap_or_else(|| panic!("no refresh token in {body}")).to_string();
    Tokens { access, refresh, body: body.clone() }
}

/// The (event_id, status) of a batch answer, checked to follow `events` one for one, in order.
#[track_caller]
pub fn results_of(answer: &Value, events: &[Value]) -> Vec<(String, String)> {
    let results = answer["results"].as_array().unwrap_or_else(|| panic!("no results list: {answer}"));
    assert_eq!(results.len(), events.len(), "one result per event sent");
    results
        .iter()
        .zip(events)
        .map(|(result, event)| {
            assert_eq!(result["event_id"], event["event_id"], "results out of order: {result}");
            let status = result["status"].as_str().unwrap_or_else(|| panic!("no status in {result}"));
            (event_id(event), status.to_string())
        })
        .collect()
}

/// The value of a sample of the Prometheus text `text`, summed over label sets.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else { continue };
        let value_text = if let Some(labelled) = rest.strip_prefix('{') {
            labelled.split_once('}').map(|(_, v)| v)
        } else if rest.starts_with(' ') {
            Some(rest)
        } else {
            None
        };
        if let Some(value) = value_text.and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += value;
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------------
// WebSocket client
// ---------------------------------------------------------------------------------------------------

#[derive(Debug)]
pub enum WsConnectError {
    /// The upgrade was answered with this HTTP status.
    Status(u16),
    Other(String),
}

impl std::fmt::Display for WsConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsConnectError::Status(s) => write!(f, "the upgrade was answered {s}"),
            WsConnectError::Other(e) => f.write_str(e),
        }
    }
}

pub fn ws_connect(endpoint: &Endpoint, token: Option<&str>, query: &str) -> Result<WsClient, WsConnectError> {
    use tungstenite::client::IntoClientRequest;
    let (stream, tcp) = endpoint.stream().map_err(|e| WsConnectError::Other(e.to_string()))?;
    let mut request = endpoint.ws_url(query).into_client_request().map_err(|e| WsConnectError::Other(e.to_string()))?;
    if let Some(token) = token {
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {token}").parse().map_err(|_| WsConnectError::Other("a bad header".into()))?,
        );
    }
    match tungstenite::client(request, stream) {
        Ok((socket, _response)) => Ok(WsClient { socket, tcp }),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            Err(WsConnectError::Status(response.status().as_u16()))
        }
        Err(e) => Err(WsConnectError::Other(e.to_string())),
    }
}

/// What [`WsClient::next`] saw.
#[derive(Debug)]
pub enum WsEvent {
    Json(Value),
    Close(Option<CloseFrame>),
    /// The connection ended without a close frame.
    Ended(String),
    Timeout,
}

/// A WebSocket connection to the hub.
pub struct WsClient {
    socket: WebSocket<Box<dyn Stream>>,
    tcp: TcpStream,
}

impl WsClient {
    pub fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string());
    }

    pub fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).expect("send a WebSocket frame");
    }

    /// The next text frame as JSON within `limit` (WebSocket-level pings and the hub's JSON pings are
    /// answered and skipped).
    pub fn next_within(&mut self, limit: Duration) -> WsEvent {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return WsEvent::Timeout;
            }
            let _ = self.tcp.set_read_timeout(Some(left.min(Duration::from_millis(250)).max(Duration::from_millis(1))));
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("the hub sent a text frame that is not JSON ({e}): {text}"));
                    if value["type"] == "ping" {
                        let pong = json!({"type": "pong", "timestamp": value["timestamp"]});
                        self.send_json(&pong);
                        continue;
                    }
                    return WsEvent::Json(value);
                }
                Ok(Message::Binary(bytes)) => panic!("the hub sent a binary frame: {bytes:?}"),
                Ok(Message::Close(frame)) => return WsEvent::Close(frame),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(e) => return WsEvent::Ended(e.to_string()),
            }
        }
    }

    /// The next JSON frame; panics on a timeout ([`WATCHDOG`]) or a closed connection.
    #[track_caller]
    pub fn next_json(&mut self) -> Value {
        match self.next_within(WATCHDOG) {
            WsEvent::Json(value) => value,
            other => panic!("no JSON frame from the hub: {other:?}"),
        }
    }

    /// Sends a client ping and reads up to its pong, returning every other frame seen before it.
    #[track_caller]
    pub fn ping_roundtrip(&mut self) -> Vec<Value> {
        let timestamp = SEQUENCE.fetch_add(1, Ordering::Relaxed) + 1_000_000_000;
        self.send_json(&json!({"type": "ping", "timestamp": timestamp}));
        let mut before = Vec::new();
        for _ in 0..10_000 {
            let frame = self.next_json();
            if frame["type"] == "pong" && frame["timestamp"] == json!(timestamp) {
                return before;
            }
            before.push(frame);
        }
        panic!("no pong within 10,000 frames");
    }

    pub fn close(mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}

// Helpers of the sync tests (issue 10).

impl Hub {
    /// The whole log of every run of this hub (each start writes its own file), concatenated.
    pub fn all_logs(&self) -> String {
        (1..=self.starts)
            .map(|n| std::fs::read_to_string(self.root.path().join(format!("hub-{n}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}
