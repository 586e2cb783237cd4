//! Helpers of the orchestrate tests: a copy of the 028 feature in a temporary repository (see
//! `common`), scripted agents (small shell scripts the test writes, which work in the WP's worktree,
//! commit, and end with a verdict line), agents.yaml, and checks on the queued events.

#![allow(dead_code)]

use super::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long one orchestrate run may take before the test fails (a bound on hanging, not a speed check).
pub const RUN_LIMIT: Duration = Duration::from_secs(240);

/// What every scripted agent can do; a test's script picks per WP, phase and try.
const PRELUDE: &str = r#"#!/bin/sh
# A scripted agent: orchestrate runs it in the WP's worktree with SPEC_KITTY_* set.
set -u
echo "$SPEC_KITTY_WP $SPEC_KITTY_PHASE $SPEC_KITTY_TRY $SPEC_KITTY_AGENT" >> "@TOP@/runs.log"
implement() {
  echo "$SPEC_KITTY_WP try $SPEC_KITTY_TRY by $SPEC_KITTY_AGENT" >> "work-$SPEC_KITTY_WP.txt"
  git add "work-$SPEC_KITTY_WP.txt" && git commit -q -m "$SPEC_KITTY_WP: work (try $SPEC_KITTY_TRY)" || exit 90
  echo "implemented $SPEC_KITTY_WP"
}
approve() {
  echo "reviewed $SPEC_KITTY_WP"
  echo "VERDICT: approved"
}
work() {
  if [ "$SPEC_KITTY_PHASE" = implementation ]; then implement; else approve; fi
}
"#;

pub struct Orchestra {
    pub repo: TestRepo,
}

impl Orchestra {
    pub fn new() -> Orchestra {
        Orchestra { repo: TestRepo::new() }
    }

    /// A file in the test's temporary folder (beside the repository).
    pub fn path(&self, name: &str) -> PathBuf {
        self.repo.top().join(name)
    }

    /// Writes an executable agent script: the prelude, then `body` (which calls `work` and friends).
    pub fn agent(&self, name: &str, body: &str) -> PathBuf {
        write_agent(&self.repo, name, body)
    }

    /// Two agents that do their work as asked, `alpha` implementing first and `beta` reviewing first.
    pub fn two_agents(&self, alpha: &str, beta: &str, extra: &str) {
        write_two_agents(&self.repo, alpha, beta, extra);
    }

    pub fn agents_yaml(&self, text: &str) {
        write_agents_yaml(&self.repo, text);
    }

    /// Marks every WP but `planned` done (and commits), so a test runs only the WPs it is about.
    pub fn only_planned(&self, planned: &[&str]) {
        keep_planned(&self.repo, planned);
    }

    /// `spec-kitty orchestrate --feature 028-... ARGS` under a watchdog.
    pub fn orchestrate(&self, args: &[&str]) -> Run {
        let mut all = vec!["orchestrate", "--feature", FEATURE];
        all.extend_from_slice(args);
        self.repo.run_within(RUN_LIMIT, &[], &all)
    }

    /// As [`Self::orchestrate`], with extra environment variables (which the agents inherit).
    pub fn orchestrate_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut all = vec!["orchestrate", "--feature", FEATURE];
        all.extend_from_slice(args);
        self.repo.run_within(RUN_LIMIT, env, &all)
    }

    /// The agents' starts, as each wrote them: `WP01 implementation 1 alpha`.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("runs.log")).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The queued events in Lamport order (each validated against the reference schema).
    pub fn events(&self) -> Vec<Value> {
        let mut events = self.repo.events();
        events.sort_by_key(|e| e["lamport_clock"].as_u64());
        events
    }

    pub fn state(&self) -> Value {
        let text =
            std::fs::read_to_string(self.repo.root.join(".kittify/orchestration-state.json")).expect("a state file");
        serde_json::from_str(&text).expect("the state file is JSON")
    }
}

/// Writes an executable agent script beside `repo`: the prelude, then `body`.
pub fn write_agent(repo: &TestRepo, name: &str, body: &str) -> PathBuf {
    let path = repo.top().join(name);
    let text = format!("{}{body}\n", PRELUDE.replace("@TOP@", &repo.top().display().to_string()));
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// agents.yaml with `alpha` (implementing first, its command a line) and `beta` (reviewing first, its
/// command a list of words), each running the script given, plus `extra` settings.
pub fn write_two_agents(repo: &TestRepo, alpha: &str, beta: &str, extra: &str) {
    let alpha = write_agent(repo, "alpha.sh", alpha);
    let beta = write_agent(repo, "beta.sh", beta);
    write_agents_yaml(
        repo,
        &format!(
            "defaults:\n  implementation: [alpha, beta]\n  review: [beta, alpha]\nagents:\n  alpha:\n    command: {} --phase {{phase}}\n    max_concurrent: 4\n  beta:\n    command: [\"{}\", \"{{prompt_file}}\"]\n    max_concurrent: 4\n{extra}",
            alpha.display(),
            beta.display()
        ),
    );
}

pub fn write_agents_yaml(repo: &TestRepo, text: &str) {
    let dir = repo.root.join(".kittify");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("agents.yaml"), text).unwrap();
}

/// Marks every WP but `planned` done (and commits).
pub fn keep_planned(repo: &TestRepo, planned: &[&str]) {
    for wp in WPS.iter().filter(|wp| !planned.contains(wp)) {
        let path = repo.wp_path(wp);
        let text = std::fs::read_to_string(&path).unwrap().replacen("lane: \"planned\"", "lane: \"done\"", 1);
        std::fs::write(&path, text).unwrap();
    }
    repo.git(&["commit", "--quiet", "-am", "Only some WPs planned"]);
}

/// The events of a type, with their payloads.
pub fn payloads<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == event_type).map(|e| &e["payload"]).collect()
}

/// WPAssigned as (wp, phase, retry_count, agent).
pub fn assignments(events: &[Value]) -> Vec<(String, String, u64, String)> {
    payloads(events, "WPAssigned")
        .into_iter()
        .map(|p| {
            (
                p["wp_id"].as_str().unwrap().to_string(),
                p["phase"].as_str().unwrap().to_string(),
                p["retry_count"].as_u64().unwrap(),
                p["agent_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The Lamport value of the first event matching.
#[track_caller]
pub fn clock_of(events: &[Value], what: &str, matches: impl Fn(&Value) -> bool) -> u64 {
    events.iter().find(|e| matches(e)).unwrap_or_else(|| panic!("no event: {what}"))["lamport_clock"].as_u64().unwrap()
}

pub fn is_move(event: &Value, wp: &str, from: &str, to: &str) -> bool {
    event["event_type"] == "WPStatusChanged"
        && event["payload"]["wp_id"] == wp
        && event["payload"]["previous_status"] == from
        && event["payload"]["new_status"] == to
}

pub fn is_assigned(event: &Value, wp: &str, phase: &str) -> bool {
    event["event_type"] == "WPAssigned" && event["payload"]["wp_id"] == wp && event["payload"]["phase"] == phase
}

/// No event twice: no id twice, and no two events saying the same thing (type and payload).
#[track_caller]
pub fn assert_no_event_twice(events: &[Value]) {
    let mut ids = BTreeMap::new();
    let mut said = BTreeMap::new();
    for event in events {
        *ids.entry(event["event_id"].as_str().unwrap().to_string()).or_insert(0) += 1;
        let mut payload = event["payload"].clone();
        if event["event_type"] == "FeatureCompleted" {
            payload = Value::Null;
        }
        *said.entry(format!("{} {payload}", event["event_type"])).or_insert(0) += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "event ids queued twice: {twice:?}");
    let repeated: Vec<_> = said.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "events said twice: {repeated:#?}");
}
