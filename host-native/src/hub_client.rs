//! The hub's HTTP API from the CLI (contract §5), blocking, through ureq with rustls: `sync now` and the
//! daemon run it on their own thread, and a command that only emits never loads it.

use anyhow::{Context, Result, bail};
use spec_kitty_core::sync::answer::BatchAnswer;
use spec_kitty_core::sync::drain::QueuedEvent;
use spec_kitty_core::sync::parse_retry_after_ms;
use spec_kitty_core::sync::wire::{RefreshRequest, TokenRequest, TokenResponse, WsTokenResponse};
use std::io::Write;
use std::time::Duration;

/// A PEM file of extra certificates to trust (a hub with a self-signed certificate on a LAN).
pub const CA_CERT_ENV: &str = "SPEC_KITTY_CA_CERT";

pub struct HubClient {
    agent: ureq::Agent,
    base: String,
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the hub refused the credentials (401)")]
    Refused,
    #[error("{0}")]
    Other(String),
}

/// The server URL without a trailing slash, checked: https, or http on a loopback host only (tokens
/// must not cross a network in clear).
pub fn checked_server_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) =
        url.split_once("://").with_context(|| format!("server URL `{url}`: expected https://host[:port]"))?;
    let (host_port, after) = rest.split_once('/').map_or((rest, ""), |(host, path)| (host, path));
    if !after.is_empty() || host_port.contains(['?', '#', '@']) {
        bail!("server URL `{}`: expected scheme://host[:port], nothing after it", scheme_and_host(url));
    }
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(host, _)| host)
    };
    if host.is_empty() {
        bail!("server URL `{url}`: no host");
    }
    let port = host_port.strip_prefix('[').map_or(host_port, |r| r.split_once(']').map_or("", |(_, p)| p));
    if let Some((_, port)) = port.rsplit_once(':')
        && port.parse::<u16>().is_err()
    {
        bail!("server URL `{url}`: `{port}` is not a port");
    }
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(url.to_string()),
        "http" if loopback => Ok(url.to_string()),
        "http" => bail!("server URL `{url}`: https is required except on loopback (127.0.0.1, ::1, localhost)"),
        other => bail!("server URL `{url}`: unsupported scheme `{other}` (use https)"),
    }
}

impl HubClient {
    pub fn new(server_url: &str) -> Result<HubClient> {
        let base = checked_server_url(server_url)?;
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A hub that accepts and never answers must not hold a sync for minutes.
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_recv_response(Some(Duration::from_secs(20)))
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("spec-kitty/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = std::env::var_os(CA_CERT_ENV).filter(|p| !p.is_empty()) {
            let pem = std::fs::read(&path).with_context(|| format!("{CA_CERT_ENV}: cannot read {}", path.display()))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                bail!("{CA_CERT_ENV}: {} holds no PEM certificate", path.display());
            }
            let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&certs)).build();
            config = config.tls_config(tls);
        }
        Ok(HubClient { agent: config.build().into(), base })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &[u8],
        gzip: bool,
    ) -> Result<(u16, String, Option<u64>)> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).header("Content-Type", "application/json");
        if gzip {
            request = request.header("Content-Encoding", "gzip");
        }
        if let Some(token) = bearer {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        // The error names the URL, never a header: tokens stay out of messages.
        let mut response = request.send(body).map_err(|e| anyhow::anyhow!("{url}: {}", one_line(&e.to_string())))?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after_ms);
        let text = response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_string().unwrap_or_default();
        Ok((status, text, retry_after))
    }

    fn token_call(&self, path: &str, body: &[u8]) -> Result<TokenResponse, TokenError> {
        let (status, text, _) =
            self.post_json(path, None, body, false).map_err(|e| TokenError::Other(format!("{e:#}")))?;
        match status {
            200..=299 => serde_json::from_str(&text)
                .map_err(|e| TokenError::Other(format!("{}{path}: unexpected token answer: {e}", self.base))),
            401 => Err(TokenError::Refused),
            other => Err(TokenError::Other(format!("{}{path}: HTTP {other}: {}", self.base, error_text(&text)))),
        }
    }

    pub fn login(&self, username: &str, password: &str) -> Result<TokenResponse, TokenError> {
        let body = serde_json::to_vec(&TokenRequest { username: username.into(), password: password.into() })
            .map_err(|e| TokenError::Other(e.to_string()))?;
        self.token_call("/api/v1/token/", &body)
    }

    pub fn refresh(&self, refresh: &str) -> Result<TokenResponse, TokenError> {
        let body = serde_json::to_vec(&RefreshRequest { refresh: refresh.into() })
            .map_err(|e| TokenError::Other(e.to_string()))?;
        self.token_call("/api/v1/token/refresh/", &body)
    }

    pub fn ws_token(&self, access: &str) -> Result<String, TokenError> {
        let (status, text, _) = self
            .post_json("/api/v1/ws-token/", Some(access), b"{}", false)
            .map_err(|e| TokenError::Other(format!("{e:#}")))?;
        match status {
            200..=299 => serde_json::from_str::<WsTokenResponse>(&text)
                .map(|answer| answer.ws_token)
                .map_err(|e| TokenError::Other(format!("unexpected ws-token answer: {e}"))),
            401 => Err(TokenError::Refused),
            other => Err(TokenError::Other(format!("ws-token: HTTP {other}: {}", error_text(&text)))),
        }
    }

    /// `GET path` with the access token; the JSON answer, or an error naming the status.
    pub fn get_json(&self, path: &str, access: &str) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let mut response = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {access}"))
            .call()
            .map_err(|e| anyhow::anyhow!("{url}: {}", one_line(&e.to_string())))?;
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            bail!("{url}: HTTP {status}: {}", error_text(&text));
        }
        serde_json::from_str(&text).with_context(|| format!("{url}: the answer is not JSON"))
    }

    /// Sends one batch, gzipped; every outcome, including no answer at all, is a [`BatchAnswer`].
    pub fn send_batch(&self, access: &str, events: &[QueuedEvent]) -> BatchAnswer {
        let mut body = Vec::with_capacity(events.iter().map(|e| e.data.len() + 1).sum::<usize>() + 16);
        body.extend_from_slice(b"{\"events\":[");
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(event.data.as_bytes());
        }
        body.extend_from_slice(b"]}");
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
        let compressed = match encoder.write_all(&body).and_then(|_| encoder.finish()) {
            Ok(bytes) => bytes,
            Err(e) => return BatchAnswer::NetworkError { message: format!("cannot compress the batch: {e}") },
        };
        match self.post_json("/api/v1/events/batch/", Some(access), &compressed, true) {
            Ok((status, text, retry_after)) => BatchAnswer::from_http(status, &text, retry_after),
            Err(e) => BatchAnswer::NetworkError { message: format!("{e:#}") },
        }
    }
}

/// The `error` of a JSON error body, else the text, on one line and short.
fn error_text(text: &str) -> String {
    let error = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| text.to_string());
    one_line(&error).chars().take(300).collect()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL without anything after the host: what an error may show (a query could carry a secret).
fn scheme_and_host(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host: String = rest.chars().take_while(|c| !matches!(c, '/' | '?' | '#' | '@')).collect();
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::checked_server_url;

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert_eq!(checked_server_url("https://hub.example/").unwrap(), "https://hub.example");
        assert!(checked_server_url("http://127.0.0.1:8765").is_ok());
        assert!(checked_server_url("http://localhost:1").is_ok());
        assert!(checked_server_url("http://[::1]:80").is_ok());
        assert!(checked_server_url("http://192.168.1.20:8765").is_err());
        assert!(checked_server_url("ftp://127.0.0.1").is_err());
        assert!(checked_server_url("127.0.0.1:8765").is_err());
        let with_path = checked_server_url("http://127.0.0.1:1/some/path?secret=x").unwrap_err().to_string();
        assert!(with_path.contains("nothing after it") && !with_path.contains("secret"), "{with_path}");
        assert!(checked_server_url("http://127.0.0.1:99999").is_err());
        assert!(checked_server_url("https://user:pw@hub.example").is_err());
    }
}
