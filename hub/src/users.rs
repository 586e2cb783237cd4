//! `spec-kitty-hub user add | list | remove`.

use crate::DataArg;
use crate::store::{EventStore, SqliteStore, User};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::io::BufRead;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user to a team; the password is the first line of stdin.
    Add {
        #[arg(long)]
        team: String,
        #[arg(long)]
        username: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// List the users, one `team<TAB>username` line each.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a user; their tokens stop working at once.
    Remove {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        data: DataArg,
    },
}

pub fn open_store(data: &DataArg) -> Result<SqliteStore> {
    std::fs::create_dir_all(&data.data).with_context(|| format!("cannot create {}", data.data.display()))?;
    Ok(SqliteStore::open(&data.data.join("hub.db"))?)
}

/// A team slug as the events carry it: lowercase letters, digits and dashes, not `local` (the team of
/// events queued before login).
fn check_team(team: &str) -> Result<()> {
    let valid = team.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && team.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        bail!("--team `{team}`: use lowercase letters, digits and dashes, starting with a letter or digit");
    }
    if team == "local" {
        bail!("--team local: `local` is the team of events queued before login; choose another name");
    }
    Ok(())
}

pub fn run(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add { team, username, data } => {
            check_team(&team)?;
            if username.trim().is_empty() || username.chars().any(char::is_control) {
                bail!("--username: a user name is one line of text, not empty");
            }
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password).context("cannot read the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("the password (first line of stdin) is empty");
            }
            let store = open_store(&data)?;
            let password_hash = crate::auth::hash_password(password)?;
            store.add_user(&User { username: username.clone(), team_slug: team.clone(), password_hash })?;
            eprintln!("added {username} to team {team}");
            Ok(())
        }
        UserCommand::List { data } => {
            let store = open_store(&data)?;
            let mut out = String::new();
            for user in store.users()? {
                out.push_str(&format!("{}\t{}\n", user.team_slug, user.username));
            }
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            Ok(())
        }
        UserCommand::Remove { username, data } => {
            open_store(&data)?.remove_user(&username)?;
            eprintln!("removed {username}");
            Ok(())
        }
    }
}
