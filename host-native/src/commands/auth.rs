//! `auth login | logout | status`.

use crate::app::{Report, invalid};
use crate::credentials;
use crate::hub_client::{HubClient, TokenError};
use crate::hub_session::{credentials_from, now_secs};
use crate::queue::OfflineQueue;
use crate::state::StateDir;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;
use std::io::BufRead;

pub struct Login<'a> {
    pub server: Option<&'a str>,
    pub username: Option<&'a str>,
    pub password_stdin: bool,
    pub start_daemon: bool,
}

#[derive(Deserialize, Default)]
struct ConfigToml {
    #[serde(default)]
    sync: SyncSection,
}

#[derive(Deserialize, Default)]
struct SyncSection {
    server_url: Option<String>,
}

/// `[sync] server_url` of `config.toml`, when set.
pub fn configured_server(state: &StateDir) -> Result<Option<String>> {
    let path = state.config_toml();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let config: ConfigToml =
        toml::from_str(&text).map_err(|e| invalid(format!("{}: {}", path.display(), e.message())))?;
    Ok(config.sync.server_url.filter(|url| !url.trim().is_empty()))
}

fn read_line(prompt: Option<&str>) -> Result<String> {
    if let Some(prompt) = prompt {
        crate::errln!("{prompt}");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads the password from the terminal without echoing it.
#[cfg(unix)]
fn read_password_from_terminal() -> Result<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask the password on: pass it with --password-stdin");
    }
    let fd = libc::STDIN_FILENO;
    let mut original = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills the termios struct for a valid descriptor; we only use it when it succeeded.
    let original = unsafe {
        if libc::tcgetattr(fd, original.as_mut_ptr()) != 0 {
            bail!("cannot read the terminal's settings");
        }
        original.assume_init()
    };
    let mut silent = original;
    silent.c_lflag &= !libc::ECHO;
    // SAFETY: setting the attributes of the same valid descriptor, restored below.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &silent) };
    eprint_inline("Password: ");
    let password = read_line(None);
    // SAFETY: restores the settings read above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &original) };
    crate::errln!("");
    password
}

#[cfg(not(unix))]
fn read_password_from_terminal() -> Result<String> {
    bail!("pass the password with --password-stdin")
}

fn eprint_inline(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|_| err.flush());
}

pub fn login(args: Login) -> Result<Report> {
    let state = StateDir::locate();
    let server = match args.server {
        Some(url) => url.to_string(),
        None => configured_server(&state)?
            .ok_or_else(|| invalid("no server: pass --server URL or set [sync] server_url in config.toml"))?,
    };
    let client = HubClient::new(&server).map_err(|e| invalid(format!("{e:#}")))?;
    let username = match args.username {
        Some(name) => name.to_string(),
        None if args.password_stdin => return Err(invalid("--password-stdin needs --username")),
        None => {
            eprint_inline("Username: ");
            read_line(None)?
        }
    };
    if username.trim().is_empty() {
        return Err(invalid("--username: the user name is empty"));
    }
    let password = if args.password_stdin { read_line(None)? } else { read_password_from_terminal()? };
    if password.is_empty() {
        return Err(invalid("the password is empty"));
    }
    let answer = match client.login(&username, &password) {
        Ok(answer) => answer,
        Err(TokenError::Refused) => return Err(invalid(format!("{}: wrong user name or password", client.base()))),
        Err(TokenError::Other(message)) => bail!("cannot log in: {message}"),
    };
    let credentials = credentials_from(&answer, &username, client.base());
    if credentials.user.team_slug.is_empty() {
        bail!("{} did not say which team {username} belongs to (no team_slug in its answer)", client.base());
    }
    let lock = credentials::lock(&state)?;
    credentials::write(&state, &credentials, &lock)?;
    drop(lock);
    // Events queued before this login (team `local`) now belong to this team.
    let adopted = match OfflineQueue::open(&state.queue_db(), crate::queue::busy_timeout()) {
        Ok(mut queue) => queue.adopt_held_events(&credentials.user.team_slug).unwrap_or_else(|e| {
            crate::errln!("warning: events queued before login keep team `local`: {e:#}");
            0
        }),
        Err(e) => {
            crate::errln!("warning: events queued before login keep team `local`: {e:#}");
            0
        }
    };
    let team = &credentials.user.team_slug;
    let daemon = if args.start_daemon {
        match crate::daemon::start() {
            Ok(pid) => Some(pid),
            Err(e) => {
                crate::errln!("warning: the sync daemon did not start ({e:#}); `spec-kitty sync now` sends the queue");
                None
            }
        }
    } else {
        None
    };
    Ok(Report {
        human: format!(
            "logged in to {} as {} (team {team}){}",
            client.base(),
            credentials.user.username,
            if adopted > 0 {
                format!("; {adopted} event(s) queued before login will be sent to team {team}")
            } else {
                String::new()
            }
        ),
        json: json!({"ok": true, "server": client.base(), "username": credentials.user.username, "team_slug": team, "adopted_events": adopted, "daemon_pid": daemon}),
    })
}

pub fn logout() -> Result<Report> {
    let state = StateDir::locate();
    let lock = credentials::lock(&state)?;
    let was = credentials::remove(&state, &lock)?;
    drop(lock);
    // Without a login the daemon must not go on sending.
    if let Err(e) = crate::daemon::stop() {
        crate::errln!("warning: {e:#}");
    }
    Ok(Report {
        human: if was { "logged out; queued events stay in the queue".into() } else { "not logged in".into() },
        json: json!({"ok": true, "was_logged_in": was}),
    })
}

pub fn status() -> Result<Report> {
    let state = StateDir::locate();
    let Some(credentials) = credentials::read(&state)? else {
        return Ok(Report { human: "not logged in".into(), json: json!({"ok": true, "authenticated": false}) });
    };
    let now = now_secs();
    let tokens = &credentials.tokens;
    let expired = tokens.refresh_expires_at <= now;
    Ok(Report {
        human: format!(
            "logged in to {} as {} (team {}); access token {}; login {}",
            credentials.server.url,
            credentials.user.username,
            credentials.user.team_slug,
            if tokens.access_expires_at > now {
                format!("valid for {} s", tokens.access_expires_at - now)
            } else {
                "expired (refreshed on next use)".into()
            },
            if expired {
                "expired: log in again".to_string()
            } else {
                format!("valid for {} s", tokens.refresh_expires_at - now)
            }
        ),
        json: json!({
            "ok": true, "authenticated": !expired, "server": credentials.server.url,
            "username": credentials.user.username, "team_slug": credentials.user.team_slug,
            "access_expires_at": tokens.access_expires_at, "refresh_expires_at": tokens.refresh_expires_at,
        }),
    })
}
