//! What a run needs before anything happens, each checked with a one-line error: the project and
//! the feature (its dependency graph), agents.yaml and the run's agents, and every agent's program.

use super::programs;
use super::run_files::{MAX_AGENTS_BYTES, RunFiles, read_bounded};
use crate::app::invalid;
use crate::project::Project;
use crate::repo_files::RepoFiles;
use crate::{feature, git};
use anyhow::Result;
use spec_kitty_core::WpId;
use spec_kitty_core::orchestrate::{AgentChoice, AgentsConfig, PlannedWork, Roster};
use spec_kitty_core::workflow::Lane;
use spec_kitty_core::workflow::plans::FeatureFolder;
use spec_kitty_core::workflow::plans::layout::{branch_name, worktree_path};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The project and feature a run works on, and the resolved program of each of its agents.
pub struct RunContext {
    pub project: Project,
    pub files: RunFiles,
    pub repo: RepoFiles,
    pub slug: String,
    /// Agent id -> the program to run.
    pub programs: BTreeMap<String, PathBuf>,
}

/// Finds the project and the feature (`--feature`, else the one the branch or folder names, else the
/// only one).
pub fn open(cwd: &Path, requested: Option<&str>) -> Result<RunContext> {
    let project = Project::discover(cwd)?;
    let repo = RepoFiles::open(&project.root)?;
    let slug = feature::resolve_slug(&repo, cwd, requested)?;
    let files = RunFiles::new(&project);
    Ok(RunContext { project, files, repo, slug, programs: BTreeMap::new() })
}

impl RunContext {
    pub fn root(&self) -> &Path {
        &self.project.root
    }

    /// The feature as its files say now.
    pub fn feature(&self) -> Result<FeatureFolder> {
        feature::load(&self.repo, &self.slug)
    }

    pub fn lanes(&self) -> Result<BTreeMap<WpId, Lane>> {
        Ok(self.feature()?.plan.lanes())
    }

    pub fn lane_on_disk(&self, wp: &WpId) -> Result<Lane> {
        self.lanes()?.get(wp).copied().ok_or_else(|| invalid(format!("{wp} is not a work package of {}", self.slug)))
    }

    /// Whether the WP file differs from what the checked-out commit holds.
    pub fn wp_file_uncommitted(&self, wp: &WpId) -> Result<bool> {
        let feature = self.feature()?;
        let (path, _) = feature.wp_file(wp)?;
        Ok(!git::run(self.root(), &["status", "--porcelain", "--", &path])?.is_empty())
    }

    /// The branch WP branches merge into (the feature's target, as the commands decide it).
    pub fn target_branch(&self) -> Result<String> {
        let current = git::current_branch(self.root())?;
        let facts = crate::commands::facts::repository(&self.project, current)?;
        Ok(self.feature()?.target_branch(&facts))
    }

    pub fn worktree(&self, wp: &WpId) -> PathBuf {
        self.root().join(worktree_path(&branch_name(&self.slug, wp)))
    }

    pub fn branch(&self, wp: &WpId) -> String {
        branch_name(&self.slug, wp)
    }

    /// A WP's title and its prompt file's text.
    pub fn wp_prompt(&self, wp: &WpId) -> Result<(String, String)> {
        let feature = self.feature()?;
        let (path, _) = feature.wp_file(wp)?;
        let title = feature.plan.work_package(wp).map(|entry| entry.title()).unwrap_or_else(|| wp.to_string());
        Ok((title, self.repo.read(&path)?))
    }

    /// Resolves every agent's program; a missing one is an error naming the agent and the program.
    pub fn check_programs(&mut self, roster: &Roster) -> Result<()> {
        let path_var = std::env::var_os("PATH");
        for agent in &roster.agents {
            let program = agent.command.program();
            let Some(path) = programs::resolve(program, self.root(), path_var.as_deref()) else {
                let place = if program.contains('/') { "no executable file" } else { "not found on PATH" };
                return Err(invalid(format!(
                    "{}: agents.{}.command: `{program}` is {place}",
                    self.files.relative(&self.files.agents_path()),
                    agent.id
                )));
            };
            self.programs.insert(agent.id.clone(), path);
        }
        Ok(())
    }
}

/// The agents chosen on the command line.
pub fn choice_of(args: &crate::cli::OrchestrateArgs) -> AgentChoice {
    AgentChoice { implementation: args.impl_agent.clone(), review: args.review_agent.clone() }
}

/// agents.yaml and the command line's choices, as the run's agents.
pub fn load_roster(files: &RunFiles, choice: &AgentChoice) -> Result<Roster> {
    let path = files.agents_path();
    let label = files.relative(&path);
    let text = match read_bounded(&path, MAX_AGENTS_BYTES) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Err(invalid(format!(
                "{label} is missing: `spec-kitty agent config init` writes a starter to fill in"
            )));
        }
        Err(e) => return Err(invalid(format!("{e:#}"))),
    };
    let config = AgentsConfig::from_yaml(&label, &text).map_err(|e| invalid(e.to_string()))?;
    Roster::from_config(&config, choice).map_err(|e| invalid(format!("{label}: {e}")))
}

/// The feature's WPs for the machine, each WP not done checked to have its WP file (the commands need it).
pub fn planned_work(feature: &FeatureFolder) -> Result<Vec<PlannedWork>> {
    let lanes = feature.plan.lanes();
    let mut work = Vec::new();
    for wp in &feature.plan.work_packages {
        let lane = lanes.get(wp.id()).copied().unwrap_or(Lane::Planned);
        if lane != Lane::Done {
            feature.wp_file(wp.id()).map_err(|e| invalid(e.to_string()))?;
        }
        work.push(PlannedWork {
            wp: wp.id().clone(),
            dependencies: feature.plan.graph.dependencies_of(wp.id()).to_vec(),
            lane,
        });
    }
    if work.is_empty() {
        return Err(invalid(format!("feature {} has no work packages", feature.slug)));
    }
    Ok(work)
}
