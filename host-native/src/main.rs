//! `spec-kitty`: the command-line host of spec-kitty-core.

use clap::Parser;
use clap::error::ErrorKind;
use spec_kitty::app::{App, FailureContext, Report};
use spec_kitty::cli::{
    AgentCommand, AgentConfigCommand, AuthCommand, Cli, Command, Common, FeatureCommand, SubtaskStatus, SyncCommand,
    TasksCommand,
};
use spec_kitty::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    spec_kitty::emitter::mark_command_start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let app = |common: &Common| App { cwd: cwd.clone(), json: common.json, feature: common.feature.clone() };
    let mut failure = FailureContext::default();
    // Workflow commands log their failures as ErrorLogged events; reading commands do not.
    let (common, logs_failures, result) = match &cli.command {
        Command::Init(c) => (c.clone(), false, commands::init::init(&app(c))),
        Command::Implement { wp, common } => {
            (common.clone(), true, commands::lifecycle::implement(&app(common), wp, &mut failure))
        }
        Command::Merge(c) => (c.clone(), true, commands::lifecycle::merge(&app(c), &mut failure)),
        Command::Accept(c) => (c.clone(), true, commands::lifecycle::accept(&app(c))),
        Command::Agent { command: AgentCommand::Feature { command: FeatureCommand::FinalizeTasks(c) } } => {
            (c.clone(), true, commands::lifecycle::finalize_tasks(&app(c)))
        }
        Command::Agent { command: AgentCommand::Config { command: AgentConfigCommand::Init { force, common } } } => {
            (common.clone(), false, commands::orchestrate::config_init(&app(common), *force))
        }
        // Its exit code says how the run ended (0 completed, 1 failed or stopped, 2 usage).
        Command::Orchestrate(args) => return commands::orchestrate::main(args, &cwd),
        Command::Agent { command: AgentCommand::Tasks { command } } => match command {
            TasksCommand::MoveTask { wp, to, agent, note, force, common } => {
                let args =
                    commands::tasks::MoveTask { wp, to, agent: agent.as_deref(), note: note.as_deref(), force: *force };
                (common.clone(), true, commands::tasks::move_task(&app(common), args, &mut failure))
            }
            TasksCommand::MarkStatus { subtasks, status, agent, common } => {
                let done = matches!(status, SubtaskStatus::Done);
                let result = commands::tasks::mark_status(&app(common), subtasks, done, agent.as_deref(), &mut failure);
                (common.clone(), true, result)
            }
            TasksCommand::AddHistory { wp, note, agent, common } => {
                let result = commands::tasks::add_history(&app(common), wp, note, agent.as_deref(), &mut failure);
                (common.clone(), true, result)
            }
        },
        Command::Sync { command: SyncCommand::Status(c) } => (c.clone(), false, commands::sync::status()),
        Command::Sync { command: SyncCommand::Queue { dead: false, common } } => {
            (common.clone(), false, commands::sync::queue())
        }
        Command::Sync { command: SyncCommand::Queue { dead: true, common } } => {
            (common.clone(), false, commands::sync::dead_letters())
        }
        Command::Sync { command: SyncCommand::Now(c) } => (c.clone(), false, commands::sync::now()),
        Command::Sync { command: SyncCommand::RetryDead(c) } => (c.clone(), false, commands::sync::retry_dead()),
        Command::Sync { command: SyncCommand::Daemon(c) } => (c.clone(), false, commands::sync::daemon()),
        Command::Sync { command: SyncCommand::Start(c) } => (c.clone(), false, commands::sync::start()),
        Command::Sync { command: SyncCommand::Stop(c) } => (c.clone(), false, commands::sync::stop()),
        Command::Auth { command: AuthCommand::Login { server, username, password_stdin, no_daemon, common } } => {
            let args = commands::auth::Login {
                server: server.as_deref(),
                username: username.as_deref(),
                password_stdin: *password_stdin,
                start_daemon: !*no_daemon,
            };
            (common.clone(), false, commands::auth::login(args))
        }
        Command::Auth { command: AuthCommand::Logout(c) } => (c.clone(), false, commands::auth::logout()),
        Command::Auth { command: AuthCommand::Status(c) } => (c.clone(), false, commands::auth::status()),
        Command::Demo { keep } => (Common::default(), false, commands::demo::run(*keep)),
    };
    match result {
        Ok(report) => {
            print_report(&report, common.json);
            ExitCode::SUCCESS
        }
        Err(error) => {
            // One line, whatever the input it quotes holds.
            let message = format!("{error:#}").replace(['\r', '\n'], " ");
            if common.json {
                match error.downcast_ref::<spec_kitty::app::SyncFailed>() {
                    Some(failed) => {
                        spec_kitty::outln!("{}", serde_json::to_string_pretty(&failed.json).unwrap_or_default())
                    }
                    None => spec_kitty::outln!("{}", serde_json::json!({"ok": false, "error": message})),
                }
            }
            spec_kitty::errln!("error: {message}");
            if logs_failures {
                app(&common).log_failure(&error, &failure);
            }
            ExitCode::FAILURE
        }
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        spec_kitty::outln!("{}", serde_json::to_string_pretty(&report.json).unwrap_or_default());
    } else if !report.human.is_empty() {
        spec_kitty::outln!("{}", report.human);
    }
}

/// clap's own errors (an unknown flag, a bad value, a missing argument) as clap prints them; with
/// `--json` on the line, stdout still carries one JSON document. Help and version print as usual.
fn usage_error(error: clap::Error) -> ExitCode {
    let wants_json = std::env::args_os().skip(1).any(|arg| arg == "--json");
    if wants_json && !matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let message = if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            "a subcommand or argument is missing (see --help)".to_string()
        } else {
            // The error's own paragraph, without the usage and the hint that follow it.
            let text = error.to_string();
            let lines: Vec<&str> = text.trim_start().lines().take_while(|line| !line.trim().is_empty()).collect();
            lines.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ").trim_start_matches("error: ").to_string()
        };
        spec_kitty::outln!("{}", serde_json::json!({"ok": false, "error": message}));
    }
    let _ = error.print();
    ExitCode::from(error.exit_code().clamp(0, 255) as u8)
}
