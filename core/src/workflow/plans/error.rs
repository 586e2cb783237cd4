//! Why a plan cannot be made; each message names the WP, file or branch.

use crate::error_kind::ErrorKind;
use crate::events::ErrorType;
use crate::ids::WpId;
use crate::workflow::{FeatureLoadError, FrontmatterError, Lane, LaneError, TasksError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown work package {wp} in feature {slug} (it has {known})")]
    UnknownWp { wp: WpId, slug: String, known: String },
    #[error("{wp} has no WP file in {dir}/tasks/ (run the tasks generator first)")]
    NoWpFile { wp: WpId, dir: String },
    #[error("{wp} is in lane {lane}; implement starts planned work packages")]
    NotPlanned { wp: WpId, lane: Lane },
    #[error("{base} has no commit to start {branch} from")]
    NoBaseCommit { base: String, branch: String },
    #[error("merge runs on the target branch {target}; {repository} is on {current}")]
    NotOnTarget { target: String, current: String, repository: String },
    #[error("{wp}: {error}")]
    IllegalMove { wp: WpId, error: LaneError },
    #[error("`{branch}` cannot be a git branch: {why} (the WP branches are named after the feature folder)")]
    BadBranchName { branch: String, why: String },
    #[error("--note: the note is empty")]
    EmptyNote,
    #[error(
        "--feature `{0}`: a feature is one folder name under kitty-specs/ (no `/`, `\\`, `.` or `..`), like 028-cli-event-emission-sync"
    )]
    BadSlug(String),
    #[error("no feature `{slug}` in {specs_dir} (found: {found})")]
    NoSuchFeature { slug: String, specs_dir: String, found: String },
    #[error("no features in {specs_dir}")]
    NoFeatures { specs_dir: String },
    #[error("several features ({found}): choose one with --feature SLUG, or run from its branch or folder")]
    SeveralFeatures { found: String },
    #[error(transparent)]
    Load(#[from] FeatureLoadError),
    #[error(transparent)]
    Frontmatter(#[from] FrontmatterError),
    #[error(transparent)]
    Tasks(#[from] TasksError),
}

impl ErrorKind for PlanError {
    fn kind(&self) -> ErrorType {
        match self {
            // The repository is not as a start needs it, and the folder has no file to edit: the
            // machine's state, not what was asked (as the CLI has always logged them).
            PlanError::NoWpFile { .. } | PlanError::NoBaseCommit { .. } | PlanError::NoFeatures { .. } => {
                ErrorType::Runtime
            }
            PlanError::Load(error) => error.kind(),
            PlanError::Frontmatter(error) => error.kind(),
            PlanError::Tasks(error) => error.kind(),
            PlanError::IllegalMove { error, .. } => error.kind(),
            PlanError::UnknownWp { .. }
            | PlanError::NotPlanned { .. }
            | PlanError::NotOnTarget { .. }
            | PlanError::EmptyNote
            | PlanError::BadBranchName { .. }
            | PlanError::BadSlug(_)
            | PlanError::NoSuchFeature { .. }
            | PlanError::SeveralFeatures { .. } => ErrorType::Validation,
        }
    }
}
