//! A simulated host for the machine's tests: lanes in memory, a queue that keeps the first event of an
//! id (as queue.db's INSERT OR IGNORE does), agents whose outcomes a script decides, and crashes that
//! drop everything but the last saved state and the lanes.

use super::{Action, Input, Orchestration, PlannedWork, StartRun};
use crate::events::Moment;
use crate::ids::WpId;
use crate::orchestrate::agents::Phase;
use crate::orchestrate::config::AgentsConfig;
use crate::orchestrate::roster::{AgentChoice, Roster};
use crate::orchestrate::state::{Announcement, OrchestrationState, RunEvent, RunStatus};
use crate::workflow::Lane;
use std::collections::{BTreeMap, VecDeque};

pub fn wp(id: &str) -> WpId {
    id.parse().expect("a valid WP id")
}

/// The 028 feature's shape: WP02..WP05 after WP01, WP06 after WP05, WP07 after WP06.
pub fn feature_028() -> Vec<PlannedWork> {
    let deps: [(&str, &[&str]); 7] = [
        ("WP01", &[]),
        ("WP02", &["WP01"]),
        ("WP03", &["WP01"]),
        ("WP04", &["WP01"]),
        ("WP05", &["WP01"]),
        ("WP06", &["WP05"]),
        ("WP07", &["WP06"]),
    ];
    deps.iter()
        .map(|(id, deps)| PlannedWork {
            wp: wp(id),
            dependencies: deps.iter().map(|d| wp(d)).collect(),
            lane: Lane::Planned,
        })
        .collect()
}

pub fn roster(yaml: &str) -> Roster {
    let config = AgentsConfig::from_yaml("agents.yaml", yaml).expect("valid test config");
    Roster::from_config(&config, &AgentChoice::default()).expect("valid test roster")
}

pub const TWO_AGENTS: &str = "defaults:\n  implementation: [a, b]\n  review: [b, a]\nagents:\n  a:\n    command: run-a\n    max_concurrent: 8\n  b:\n    command: run-b\n    max_concurrent: 8\n";

/// What an agent's try ends with: exit code and last output line.
pub type Script = Box<dyn FnMut(&WpId, Phase, u32, &str) -> (Option<i32>, Option<String>)>;

pub fn always_succeeds() -> Script {
    Box::new(|_, phase, _, _| match phase {
        Phase::Implementation => (Some(0), Some("done".into())),
        Phase::Review => (Some(0), Some("VERDICT: approved".into())),
    })
}

/// Something the world saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Lane { wp: WpId, from: Lane, to: Lane },
    Event(RunEvent),
    Started { wp: WpId, phase: Phase, attempt: u32, agent: String },
}

pub struct World {
    pub lanes: BTreeMap<WpId, Lane>,
    pub dependencies: BTreeMap<WpId, Vec<WpId>>,
    pub queue: Vec<Announcement>,
    pub seen: Vec<Seen>,
    pub running: BTreeMap<(WpId, Phase, u32), String>,
    pub saved: Option<String>,
    pub now: u64,
    pub finished: Option<RunStatus>,
    pub max_parallel: usize,
    pub violations: Vec<String>,
    pub crashes: u32,
    pub most_running: usize,
    script: Script,
    /// Picks which running agent ends next, and when to crash (a value from the test's seed).
    choices: Box<dyn FnMut(usize) -> usize>,
    /// Crash after this many more actions, when set.
    pub crash_in: VecDeque<u32>,
    actions_done: u32,
    pid: u32,
    start: Option<StartRun>,
}

impl World {
    pub fn new(
        work: &[PlannedWork],
        max_parallel: usize,
        script: Script,
        choices: Box<dyn FnMut(usize) -> usize>,
    ) -> World {
        World {
            lanes: work.iter().map(|w| (w.wp.clone(), w.lane)).collect(),
            dependencies: work.iter().map(|w| (w.wp.clone(), w.dependencies.clone())).collect(),
            queue: Vec::new(),
            seen: Vec::new(),
            running: BTreeMap::new(),
            saved: None,
            now: 1_770_000_000_000,
            finished: None,
            max_parallel,
            violations: Vec::new(),
            crashes: 0,
            most_running: 0,
            script,
            choices,
            crash_in: VecDeque::new(),
            actions_done: 0,
            pid: 100,
            start: None,
        }
    }

    fn moment(&mut self) -> Moment {
        self.now += 7;
        Moment { unix_ms: self.now, entropy: u128::from(self.now) * 7919 }
    }

    /// Runs a whole orchestration from the start to its finish, crashing where `crash_in` says.
    pub fn run(&mut self, start: StartRun) -> Orchestration {
        let now = self.moment();
        self.start = Some(start.clone());
        let (mut machine, actions) = Orchestration::start(now, start).expect("the run starts");
        let mut pending: VecDeque<Action> = actions.into();
        for _ in 0..100_000 {
            if let Some(action) = pending.pop_front() {
                if self.crash_due() {
                    machine = self.crash_and_resume(&mut pending);
                    continue;
                }
                self.carry_out(&mut machine, action, &mut pending);
                continue;
            }
            if self.finished.is_some() {
                return machine;
            }
            let input = self.next_agent_exit().unwrap_or(Input::Tick);
            let now = self.moment();
            let actions = machine.handle(now, input).expect("the machine takes the input");
            pending.extend(actions);
        }
        panic!("the run did not finish: {:#?}", machine.state());
    }

    fn crash_due(&mut self) -> bool {
        self.actions_done += 1;
        match self.crash_in.front_mut() {
            Some(0) => {
                self.crash_in.pop_front();
                true
            }
            Some(left) => {
                *left -= 1;
                false
            }
            None => false,
        }
    }

    /// kill -9: agents die with the run; only the saved state and the lanes (and the queue) remain.
    fn crash_and_resume(&mut self, pending: &mut VecDeque<Action>) -> Orchestration {
        self.crashes += 1;
        pending.clear();
        self.running.clear();
        let Some(saved) = self.saved.clone() else {
            // Killed before the first save: nothing happened yet, so the run is started again.
            let start = self.start.clone().expect("a run was started");
            let now = self.moment();
            let (machine, actions) = Orchestration::start(now, start).expect("the run starts");
            pending.extend(actions);
            return machine;
        };
        let state = OrchestrationState::from_json("state.json", &saved).expect("the saved state reads back");
        let mut machine = Orchestration::restore(state);
        let now = self.moment();
        let input =
            Input::Resume { lanes: self.lanes.clone(), roster: None, max_parallel: None, orchestrator_pid: None };
        pending.extend(machine.handle(now, input).expect("a resume is accepted"));
        machine
    }

    fn next_agent_exit(&mut self) -> Option<Input> {
        if self.running.is_empty() {
            return None;
        }
        let index = (self.choices)(self.running.len()) % self.running.len();
        let key = self.running.keys().nth(index)?.clone();
        let agent = self.running.remove(&key)?;
        let (wp, phase, attempt) = key;
        let (exit_code, last_line) = (self.script)(&wp, phase, attempt, &agent);
        Some(Input::AgentExited { wp, phase, attempt, exit_code, last_line })
    }

    fn carry_out(&mut self, machine: &mut Orchestration, action: Action, pending: &mut VecDeque<Action>) {
        let input = match action {
            Action::SaveState => {
                self.saved = Some(machine.state().to_json());
                None
            }
            Action::Emit { events } => {
                let ids = events.iter().map(|a| a.event_id.clone()).collect();
                for announcement in events {
                    if !self.queue.iter().any(|queued| queued.event_id == announcement.event_id) {
                        self.seen.push(Seen::Event(announcement.event.clone()));
                        self.queue.push(announcement);
                    }
                }
                Some(Input::Emitted { event_ids: ids })
            }
            Action::MoveLane { wp, from, to, .. } => {
                let lane = self.lanes[&wp];
                if lane != from || !(from == to || from.can_move_to(to)) {
                    self.violations.push(format!("{wp}: asked to move {from} -> {to}, the lane is {lane}"));
                }
                if lane != to {
                    self.seen.push(Seen::Lane { wp: wp.clone(), from: lane, to });
                }
                self.lanes.insert(wp.clone(), to);
                Some(Input::LaneMoved { wp, lane: to })
            }
            Action::StartAgent { wp, phase, attempt, agent, .. } => {
                if self.lanes[&wp] == Lane::Done {
                    self.violations.push(format!("{wp}: {phase} started after it was done"));
                }
                for dependency in &self.dependencies[&wp] {
                    if self.lanes[dependency] != Lane::Done {
                        self.violations.push(format!("{wp}: {phase} started before {dependency} was done"));
                    }
                }
                self.running.insert((wp.clone(), phase, attempt), agent.clone());
                self.most_running = self.most_running.max(self.running.len());
                if self.running.len() > self.max_parallel {
                    self.violations.push(format!(
                        "{} agents running, max_parallel {}",
                        self.running.len(),
                        self.max_parallel
                    ));
                }
                self.seen.push(Seen::Started { wp: wp.clone(), phase, attempt, agent });
                self.pid += 1;
                Some(Input::AgentStarted { wp, phase, attempt, pid: Some(self.pid), log_file: "log".into() })
            }
            Action::StopAgent { wp, phase, attempt } => {
                self.running.remove(&(wp.clone(), phase, attempt));
                Some(Input::AgentExited { wp, phase, attempt, exit_code: None, last_line: None })
            }
            Action::Finish { status } => {
                self.finished = Some(status);
                None
            }
        };
        if let Some(input) = input {
            let now = self.moment();
            let actions = machine.handle(now, input).expect("the machine takes the input");
            // Outcomes of an action come before the actions queued after it.
            for (offset, action) in actions.into_iter().enumerate() {
                pending.insert(offset, action);
            }
        }
    }

    /// The events the queue holds.
    pub fn events(&self) -> Vec<&RunEvent> {
        self.queue.iter().map(|a| &a.event).collect()
    }
}

pub fn start(work: Vec<PlannedWork>, yaml: &str, max_parallel: u32) -> StartRun {
    StartRun {
        run_id: "run-1".into(),
        feature_slug: "028-cli-event-emission-sync".into(),
        work_packages: work,
        roster: roster(yaml),
        agent_choice: AgentChoice::default(),
        max_parallel: Some(max_parallel),
        orchestrator_pid: Some(1),
    }
}
