//! A logged-in session with the hub: the credentials, kept fresh, and the core's sync engine's
//! transport ([`BatchTransport`]) and clock ([`SyncClock`]) for this machine.

use crate::credentials::{self, Credentials};
use crate::hub_client::{HubClient, TokenError};
use crate::state::StateDir;
use anyhow::{Result, anyhow};
use spec_kitty_core::sync::answer::BatchAnswer;
use spec_kitty_core::sync::drain::{BatchTransport, QueuedEvent, SyncClock};
use spec_kitty_core::sync::wire::TokenResponse;

/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN_SECS: u64 = 60;

pub struct HubSession {
    state: StateDir,
    pub client: HubClient,
    pub credentials: Credentials,
}

pub fn now_secs() -> u64 {
    crate::emitter::now_ms() / 1000
}

/// Credentials from a token answer.
pub fn credentials_from(answer: &TokenResponse, username: &str, server_url: &str) -> Credentials {
    let now = now_secs();
    Credentials {
        tokens: credentials::Tokens {
            access: answer.access.clone(),
            refresh: answer.refresh.clone(),
            access_expires_at: now + answer.access_lifetime_secs(),
            refresh_expires_at: now + answer.refresh_lifetime_secs(),
        },
        user: credentials::UserSection {
            username: answer.username.clone().unwrap_or_else(|| username.to_string()),
            team_slug: answer.team_slug.clone().unwrap_or_default(),
        },
        server: credentials::ServerSection { url: server_url.to_string() },
    }
}

impl HubSession {
    /// The session of this state folder; an error that says to log in when there is none.
    pub fn open(state: StateDir) -> Result<HubSession> {
        let credentials = credentials::read(&state)?
            .ok_or_else(|| anyhow!("not logged in: run `spec-kitty auth login --server URL`"))?;
        let client = HubClient::new(&credentials.server.url)?;
        Ok(HubSession { state, client, credentials })
    }

    /// The access token, refreshed first when it is about to expire.
    pub fn access(&mut self) -> Result<String, String> {
        if self.credentials.tokens.access_expires_at <= now_secs() + REFRESH_MARGIN_SECS {
            self.refresh()?;
        }
        Ok(self.credentials.tokens.access.clone())
    }

    /// Gets a new access token with the refresh token, under the credentials lock. A process that
    /// finds the file already refreshed by another takes those tokens instead of spending its own
    /// (spent) refresh token.
    pub fn refresh(&mut self) -> Result<(), String> {
        let lock = credentials::lock(&self.state).map_err(|e| format!("{e:#}"))?;
        let current = credentials::read(&self.state)
            .map_err(|e| format!("{e:#}"))?
            .ok_or_else(|| "logged out meanwhile: log in again".to_string())?;
        if current.tokens.refresh != self.credentials.tokens.refresh {
            self.credentials = current;
            return Ok(());
        }
        if current.tokens.refresh_expires_at <= now_secs() {
            return Err("the login has expired: log in again (`spec-kitty auth login`)".into());
        }
        match self.client.refresh(&current.tokens.refresh) {
            Ok(answer) => {
                let mut renewed = credentials_from(&answer, &current.user.username, &current.server.url);
                if renewed.user.team_slug.is_empty() {
                    renewed.user.team_slug = current.user.team_slug.clone();
                }
                credentials::write(&self.state, &renewed, &lock).map_err(|e| format!("{e:#}"))?;
                self.credentials = renewed;
                Ok(())
            }
            Err(TokenError::Refused) => {
                Err("the hub refused the refresh token: log in again (`spec-kitty auth login`)".into())
            }
            Err(TokenError::Other(message)) => Err(message),
        }
    }
}

impl BatchTransport for HubSession {
    fn send_batch(&mut self, events: &[QueuedEvent]) -> BatchAnswer {
        match self.access() {
            Ok(access) => self.client.send_batch(&access, events),
            // A refresh that cannot reach the hub is a network failure; one the hub refuses, a 401.
            Err(message) if message.contains("log in again") => BatchAnswer::Unauthorized,
            Err(message) => BatchAnswer::NetworkError { message },
        }
    }

    fn refresh_token(&mut self) -> Result<(), String> {
        self.refresh()
    }
}

/// Real time and entropy.
pub struct SystemClock;

impl SyncClock for SystemClock {
    fn now_ms(&mut self) -> u64 {
        crate::emitter::now_ms()
    }

    fn random(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn sleep_until(&mut self, at_ms: u64) {
        let now = crate::emitter::now_ms();
        if at_ms > now {
            std::thread::sleep(std::time::Duration::from_millis(at_ms - now));
        }
    }
}
