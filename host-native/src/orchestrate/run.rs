//! The loop that carries out the scheduler's actions: lane moves through the workflow commands,
//! agent processes, events through the emitter, the state file; and feeds back what happened
//! (exits, signals, the time).

use super::agent_process::{AgentLaunch, AgentProcess, LeftBehind};
use super::lanes;
use super::setup::RunContext;
use super::view::View;
use super::worktree;
use crate::emitter::{Draft, Emitter, moment, now_ms};
use anyhow::{Context, Result, anyhow};
use spec_kitty_core::WpId;
use spec_kitty_core::orchestrate::prompt::{PromptRequest, compose};
use spec_kitty_core::orchestrate::{Action, CommandValues, Feedback, Input, Orchestration, Phase, RunEvent, RunStatus};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the loop looks at agents, signals and the clock when nothing else happens.
const POLL: Duration = Duration::from_millis(50);

type TryKey = (WpId, Phase, u32);

pub struct Runner<'a> {
    context: &'a RunContext,
    machine: Orchestration,
    processes: BTreeMap<TryKey, AgentProcess>,
    /// What ended agents left running in their groups, killed after the grace.
    left_behind: Vec<LeftBehind>,
    pending: VecDeque<Action>,
    finished: Option<RunStatus>,
    emitter: Emitter,
    view: &'a mut View,
    interrupted: Arc<AtomicBool>,
    interrupt_seen: bool,
    save_warned: bool,
}

impl<'a> Runner<'a> {
    pub fn new(
        context: &'a RunContext,
        machine: Orchestration,
        actions: Vec<Action>,
        emitter: Emitter,
        view: &'a mut View,
    ) -> Result<Runner<'a>> {
        let interrupted = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // A second Ctrl-C while agents are being stopped ends the run at once (agents die with it).
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&interrupted))
                .context("cannot watch signals")?;
            signal_hook::flag::register(signal, Arc::clone(&interrupted)).context("cannot watch signals")?;
        }
        let mut emitter = emitter;
        emitter.quiet = true;
        Ok(Runner {
            context,
            machine,
            processes: BTreeMap::new(),
            left_behind: Vec::new(),
            pending: actions.into(),
            finished: None,
            emitter,
            view,
            interrupted,
            interrupt_seen: false,
            save_warned: false,
        })
    }

    /// Runs until the machine finishes; returns how the run ended, and the machine for the report.
    pub fn run(mut self) -> (RunStatus, Orchestration) {
        loop {
            while let Some(action) = self.pending.pop_front() {
                self.carry_out(action);
            }
            if let Some(status) = self.finished {
                for process in self.processes.values_mut() {
                    process.escalate(true);
                }
                for left in self.left_behind.drain(..) {
                    left.kill_when_due(true);
                }
                self.view.finish(self.machine.state(), now_ms());
                return (status, self.machine);
            }
            self.watch();
        }
    }

    /// Feeds an input in; its actions go first, before those queued after the one that led to it.
    fn feed(&mut self, input: Input) {
        match self.machine.handle(moment(), input) {
            Ok(actions) => {
                for (offset, action) in actions.into_iter().enumerate() {
                    self.pending.insert(offset, action);
                }
            }
            Err(error) => self.view.say(format!("warning: {error}")),
        }
    }

    fn carry_out(&mut self, action: Action) {
        match action {
            Action::SaveState => {
                if let Err(error) = self.context.files.write_state(self.machine.state())
                    && !self.save_warned
                {
                    self.save_warned = true;
                    crate::errln!(
                        "warning: the run's state is not saved ({error:#}); a crash now could not be resumed"
                    );
                }
            }
            Action::Emit { events } => {
                for announcement in &events {
                    // Why a try failed, where the user watches (a lane move's failure is said already).
                    if let RunEvent::Error { agent: Some(_), message, .. } = &announcement.event {
                        self.view.say(message.clone());
                    }
                }
                let slug = self.machine.state().feature_slug.clone();
                let ids: Vec<String> = events.iter().map(|a| a.event_id.clone()).collect();
                let drafts = events.iter().map(|a| (a.event_id.clone(), Draft::new(a.event.payload(&slug)))).collect();
                let _report = self.emitter.emit_with_ids(drafts);
                self.feed(Input::Emitted { event_ids: ids });
            }
            Action::MoveLane { wp, from, to, agent, note, base_candidates } => {
                let moved = lanes::move_lane(self.context, &wp, to, agent.as_deref(), &note, &base_candidates);
                match moved {
                    Ok(()) => {
                        if from != to {
                            self.view.say(format!("{wp}: {from} -> {to}"));
                        }
                        self.feed(Input::LaneMoved { wp, lane: to });
                    }
                    Err(error) => {
                        let error = one_line(&error);
                        self.view.say(format!("{wp}: moving to {to} failed: {error}"));
                        self.feed(Input::LaneMoveFailed { wp, error });
                    }
                }
            }
            Action::StartAgent { wp, phase, attempt, agent, timeout_ms: _, implementer, feedback } => {
                match self.start_agent(&wp, phase, attempt, &agent, implementer.as_deref(), feedback.as_ref()) {
                    Ok((pid, log_file)) => {
                        self.view.say(format!("{wp}: {phase} try {} by {agent} started (log {log_file})", attempt + 1));
                        self.feed(Input::AgentStarted { wp, phase, attempt, pid: Some(pid), log_file });
                    }
                    Err(error) => {
                        let error = one_line(&error);
                        self.view.say(format!("{wp}: {phase} try {} by {agent} did not start: {error}", attempt + 1));
                        self.feed(Input::AgentStartFailed { wp, phase, attempt, error });
                    }
                }
            }
            Action::StopAgent { wp, phase, attempt } => {
                if let Some(process) = self.processes.get_mut(&(wp, phase, attempt)) {
                    process.request_stop();
                }
            }
            Action::Finish { status } => self.finished = Some(status),
        }
    }

    fn start_agent(
        &mut self,
        wp: &WpId,
        phase: Phase,
        attempt: u32,
        agent: &str,
        implementer: Option<&str>,
        feedback: Option<&Feedback>,
    ) -> Result<(u32, String)> {
        let context = self.context;
        let worktree = context.worktree(wp);
        worktree::prepare(context, wp)?;
        let worktree_text = worktree.display().to_string();
        let (title, wp_text) = context.wp_prompt(wp)?;
        let branch = context.branch(wp);
        let try_number = attempt + 1;
        let prompt = compose(&PromptRequest {
            phase,
            feature_slug: &context.slug,
            wp: wp.as_str(),
            title: &title,
            wp_prompt: &wp_text,
            worktree: &worktree_text,
            branch: &branch,
            try_number,
            implementer,
            feedback,
        });
        let prompts = context.files.prompts_dir(&context.slug);
        let logs = context.files.logs_dir(&context.slug);
        for dir in [&prompts, &logs] {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let name = format!("{wp}-{phase}-{try_number}");
        let prompt_file = prompts.join(format!("{name}.md"));
        std::fs::write(&prompt_file, prompt).with_context(|| format!("cannot write {}", prompt_file.display()))?;
        let log_file = logs.join(format!("{name}.log"));
        let command = self
            .machine
            .state()
            .roster
            .agent(agent)
            .map(|a| a.command.clone())
            .ok_or_else(|| anyhow!("agent {agent} is not in the run's agents"))?;
        let program = context.programs.get(agent).ok_or_else(|| anyhow!("agent {agent}'s program was not checked"))?;
        let prompt_text = prompt_file.display().to_string();
        let values = CommandValues {
            prompt_file: &prompt_text,
            worktree: &worktree_text,
            phase: phase.as_str(),
            wp: wp.as_str(),
            feature: &context.slug,
        };
        let mut args = command.render(&values);
        args.remove(0);
        let header = format!(
            "# spec-kitty orchestrate: {wp} {phase} try {try_number} by {agent}\n# command: {command}\n# in: {worktree_text}\n# started: {}\n\n",
            spec_kitty_core::time::rfc3339_seconds(now_ms())
        );
        let env = [
            ("SPEC_KITTY_FEATURE", context.slug.clone()),
            ("SPEC_KITTY_WP", wp.to_string()),
            ("SPEC_KITTY_PHASE", phase.to_string()),
            ("SPEC_KITTY_TRY", try_number.to_string()),
            ("SPEC_KITTY_AGENT", agent.to_string()),
            ("SPEC_KITTY_PROMPT_FILE", prompt_text.clone()),
            ("SPEC_KITTY_WORKTREE", worktree_text.clone()),
            ("SPEC_KITTY_BRANCH", branch.clone()),
        ];
        let launch = AgentLaunch {
            program,
            args: &args,
            worktree: &worktree,
            prompt_file: &prompt_file,
            log_file: &log_file,
            env: &env,
            header: &header,
        };
        let process = AgentProcess::spawn(&launch)?;
        let pid = process.pid;
        self.processes.insert((wp.clone(), phase, attempt), process);
        Ok((pid, context.files.relative(&log_file)))
    }

    /// Waits a moment for something to happen: a signal, an agent's exit, a deadline.
    fn watch(&mut self) {
        if self.interrupted.load(Ordering::SeqCst) && !self.interrupt_seen {
            self.interrupt_seen = true;
            self.view.say("interrupted: stopping the agents (the run can be resumed with --resume)");
            self.feed(Input::Interrupt);
            return;
        }
        let ended: Vec<TryKey> = self.processes.keys().cloned().collect();
        for key in ended {
            let Some(exit) = self.processes.get_mut(&key).and_then(AgentProcess::try_exit) else { continue };
            if let Some(left) = self.processes.remove(&key).and_then(|process| process.left_behind()) {
                self.left_behind.push(left);
            }
            let (wp, phase, attempt) = key;
            let how = match exit.code {
                Some(code) => format!("exited with status {code}"),
                None => "was stopped".to_string(),
            };
            self.view.say(format!("{wp}: {phase} try {} {how}", attempt + 1));
            let worktree = worktree::facts(self.context, &wp);
            let (exit_code, last_line) = (exit.code, exit.last_line);
            self.feed(Input::AgentExitedInWorktree { wp, phase, attempt, exit_code, last_line, worktree });
            return;
        }
        for process in self.processes.values_mut() {
            process.escalate(false);
        }
        self.left_behind.retain(|left| !left.kill_when_due(false));
        if self.machine.next_wakeup().is_some_and(|at| now_ms() >= at) {
            self.feed(Input::Tick);
            return;
        }
        self.view.refresh(self.machine.state(), now_ms());
        std::thread::sleep(POLL);
    }
}

fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}").replace(['\r', '\n'], " ")
}
