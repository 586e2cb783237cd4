//! The live connection to the hub: a WebSocket (`/ws/v1/events/`), plain on loopback or over rustls,
//! read with a short timeout so one thread can also watch the queue and the clock.

use crate::hub_client::CA_CERT_ENV;
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use tungstenite::{Message, WebSocket};

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

pub struct LiveConnection {
    socket: WebSocket<Stream>,
}

/// What came in.
pub enum Incoming {
    Nothing,
    Text(String),
    Closed,
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os(CA_CERT_ENV).filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&path).with_context(|| format!("{CA_CERT_ENV}: cannot read {}", path.display()))?;
        for item in ureq::tls::parse_pem(&pem) {
            if let Ok(ureq::tls::PemItem::Certificate(cert)) = item {
                let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
                roots
                    .add(der)
                    .with_context(|| format!("{CA_CERT_ENV}: a certificate of {} is not usable", path.display()))?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl LiveConnection {
    /// Connects to `server_url`'s WebSocket with a ws token; reads with `poll` as the longest wait.
    pub fn connect(server_url: &str, ws_token: &str, poll: Duration) -> Result<LiveConnection> {
        let (scheme, rest) = server_url.split_once("://").context("server URL without a scheme")?;
        let host_port = rest.split('/').next().unwrap_or("");
        let tls = match scheme {
            "https" => true,
            "http" => false,
            other => bail!("unsupported scheme {other}"),
        };
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = split_host_port(host_port, default_port)?;
        let tcp =
            connect_within(&host, port, CONNECT_TIMEOUT).with_context(|| format!("cannot connect to {host_port}"))?;
        tcp.set_nodelay(true).ok();
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
        let stream = if tls {
            let name = rustls::pki_types::ServerName::try_from(host.clone()).context("server name")?;
            let connection = rustls::ClientConnection::new(tls_config()?, name).context("TLS")?;
            Stream::Tls(Box::new(rustls::StreamOwned::new(connection, tcp.try_clone()?)))
        } else {
            Stream::Plain(tcp.try_clone()?)
        };
        let ws_scheme = if tls { "wss" } else { "ws" };
        let request = tungstenite::http::Request::builder()
            .uri(format!("{ws_scheme}://{host_port}/ws/v1/events/"))
            .header("Host", host_port)
            .header("Authorization", format!("Bearer {ws_token}"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", tungstenite::handshake::client::generate_key())
            .body(())
            .context("WebSocket request")?;
        let (socket, _) = tungstenite::client::client(request, stream)
            .map_err(|e| anyhow::anyhow!("WebSocket handshake with {host_port} failed: {}", short(&e.to_string())))?;
        tcp.set_read_timeout(Some(poll.max(Duration::from_millis(1))))?;
        Ok(LiveConnection { socket })
    }

    pub fn send_text(&mut self, text: String) -> Result<()> {
        self.socket.send(Message::text(text)).map_err(|e| anyhow::anyhow!("send failed: {}", short(&e.to_string())))
    }

    /// The next text frame, or nothing within the poll time.
    pub fn receive(&mut self) -> Result<Incoming> {
        match self.socket.read() {
            Ok(Message::Text(text)) => Ok(Incoming::Text(text.to_string())),
            Ok(Message::Close(_)) => Ok(Incoming::Closed),
            Ok(_) => Ok(Incoming::Nothing),
            // A signal (Ctrl-Z and continue, a debugger) interrupting the read is not a lost connection.
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                ) =>
            {
                Ok(Incoming::Nothing)
            }
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => Ok(Incoming::Closed),
            Err(e) => bail!("receive failed: {}", short(&e.to_string())),
        }
    }

    pub fn close(mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}

/// A connect to a host that drops packets would otherwise wait for the system's own timeout (minutes), with
/// the daemon's loop, and its stop, waiting behind it. The HTTP calls use the same bound.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The first address of `host:port` that answers within `timeout` each.
fn connect_within(host: &str, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for address in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    Err(last)
}

fn split_host_port(host_port: &str, default_port: u16) -> Result<(String, u16)> {
    if let Some(rest) = host_port.strip_prefix('[') {
        let (host, after) = rest.split_once(']').context("unclosed [ in the server address")?;
        let port = after.strip_prefix(':').map(str::parse).transpose().context("port")?.unwrap_or(default_port);
        return Ok((host.to_string(), port));
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port.parse().context("port")?)),
        None => Ok((host_port.to_string(), default_port)),
    }
}

fn short(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect()
}
