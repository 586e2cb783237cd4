//! `spec-kitty-hub`: the team sync server. See API.md for the command line and the wire.

mod auth;
mod http;
mod hub;
mod metrics;
mod rate_limit;
mod serve;
mod store;
mod users;
mod ws;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "spec-kitty-hub", version, about = "The spec-kitty team sync server.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct DataArg {
    /// The data folder: hub.db (SQLite) and signing.key.
    #[arg(long, env = "SPEC_KITTY_HUB_DATA", default_value = "hub-data", global = true)]
    data: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP and WebSocket API.
    Serve(serve::ServeArgs),
    /// Manage users (each belongs to one team).
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::User { command } => users::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}").split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
