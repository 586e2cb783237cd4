//! The login session from `credentials` (TOML, mode 0600). Tokens are read only where sync needs
//! them and never printed.

use crate::state::StateDir;
use serde::Deserialize;

#[derive(Deserialize)]
struct CredentialsFile {
    user: Option<UserSection>,
}

#[derive(Deserialize)]
struct UserSection {
    username: Option<String>,
    team_slug: Option<String>,
}

pub struct Session {
    pub username: Option<String>,
    pub team_slug: String,
}

/// The session, when the user has logged in; a missing or unreadable file means "not logged in".
pub fn read_session(state: &StateDir) -> Option<Session> {
    let text = std::fs::read_to_string(state.credentials()).ok()?;
    let file: CredentialsFile = toml::from_str(&text).ok()?;
    let user = file.user?;
    let team_slug = user.team_slug.filter(|t| !t.is_empty())?;
    Some(Session { username: user.username, team_slug })
}
