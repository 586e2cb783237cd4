//! What every command shares: where it runs, the project, the emitter, and how it reports.

use crate::emitter::{Draft, Emitter};
use crate::feature;
use crate::project::Project;
use crate::repo_files::RepoFiles;
use crate::state::StateDir;
use anyhow::Result;
use serde_json::Value;
use spec_kitty_core::error_kind::error_type_of;
use spec_kitty_core::events::ErrorType;
use spec_kitty_core::workflow::plans::{FeatureFolder, FeatureReading};
use std::path::PathBuf;

pub struct App {
    pub cwd: PathBuf,
    pub json: bool,
    pub feature: Option<String>,
}

/// What a command did, in words for people and as one JSON document for tools.
pub struct Report {
    pub human: String,
    pub json: Value,
}

/// A failure caused by what the user asked for (as opposed to the machine failing), so the
/// ErrorLogged event says `validation`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

/// A sync that ran but did not get everything through: the summary is the error line, and `--json`
/// still prints the whole report.
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct SyncFailed {
    pub summary: String,
    pub json: Value,
}

/// What is known about a failed command, for its ErrorLogged event.
#[derive(Default, Clone)]
pub struct FailureContext {
    pub wp: Option<spec_kitty_core::WpId>,
    pub agent: Option<String>,
}

impl App {
    pub fn project(&self) -> Result<Project> {
        Project::discover(&self.cwd)
    }

    /// The feature this command works on (`--feature`, else the one the branch or folder names,
    /// else the only one), read through the repository's capability directory.
    pub fn load_feature(&self, files: &RepoFiles) -> Result<FeatureFolder> {
        self.load_feature_for(files, &FeatureReading::Whole)
    }

    /// The feature, read only as far as the command needs it.
    pub fn load_feature_for(&self, files: &RepoFiles, reading: &FeatureReading) -> Result<FeatureFolder> {
        let slug = feature::resolve_slug(files, &self.cwd, self.feature.as_deref())?;
        feature::load_for(files, &slug, reading)
    }

    /// An emitter for this project, creating its identity in `.kittify/config.yaml` if missing.
    pub fn emitter(&self, project: &Project) -> Emitter {
        let identity = match project.ensure_identity(crate::emitter::local_node_id().as_str()) {
            Ok((identity, _)) => Some(identity),
            Err(e) => {
                crate::errln!("warning: events carry no project identity: {e:#}");
                None
            }
        };
        // The [Offline] line goes to stderr, so it stays also under --json.
        Emitter::new(StateDir::locate(), identity)
    }

    /// Emits ErrorLogged for a failed command; never fails itself. Outside a git repository there is
    /// no project to log for (a command typed in the wrong folder), so nothing is queued.
    pub fn log_failure(&self, error: &anyhow::Error, context: &FailureContext) {
        let Ok(project) = self.project() else { return };
        let identity = project.identity().ok().flatten();
        let mut emitter = Emitter::new(StateDir::locate(), identity);
        emitter.quiet = true;
        let error_type = error_type(error);
        let message: String = format!("{error:#}").chars().take(2000).collect();
        // A failed command has no report to carry the emission's; its warnings are printed already.
        let _report = emitter.emit(vec![Draft::new(spec_kitty_core::Payload::ErrorLogged(
            spec_kitty_core::events::ErrorLogged {
                wp_id: context.wp.clone(),
                error_type,
                error_message: message,
                stack_trace: None,
                agent_id: context.agent.clone(),
            },
        ))]);
    }
}

/// The error_type of a failed command: the first cause along the chain that knows its own (a
/// [`InvalidInput`] of this host, or any error of the core through its `ErrorKind`), else `runtime`.
pub fn error_type(error: &anyhow::Error) -> ErrorType {
    error
        .chain()
        .find_map(|cause| if cause.is::<InvalidInput>() { Some(ErrorType::Validation) } else { error_type_of(cause) })
        .unwrap_or(ErrorType::Runtime)
}

pub fn invalid(message: impl Into<String>) -> anyhow::Error {
    InvalidInput(message.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use spec_kitty_core::workflow::plans::PlanError;

    #[test]
    fn a_failure_is_typed_by_the_first_cause_that_knows_its_kind() {
        let core = || PlanError::NoWpFile { wp: "WP01".parse().expect("an id"), dir: "kitty-specs/x".into() };
        let wrapped: anyhow::Error = Err::<(), _>(core()).context("implementing WP01").expect_err("an error");
        assert_eq!(error_type(&wrapped), ErrorType::Runtime, "the core says runtime, under the host's context");
        let refused = anyhow::Error::new(PlanError::EmptyNote).context("add-history");
        assert_eq!(error_type(&refused), ErrorType::Validation);
        assert_eq!(error_type(&invalid("--to: x")), ErrorType::Validation);
        assert_eq!(error_type(&anyhow::anyhow!("git failed")), ErrorType::Runtime);
    }
}
