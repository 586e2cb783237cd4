//! Where things are: a WP's branch and worktree, a feature's folder and files, relative to the
//! repository's root. Every host names them through these functions, so none can disagree.

use super::PlanError;
use crate::ids::WpId;

/// The folder holding the features.
pub const SPECS_DIR: &str = "kitty-specs";
/// The folder holding the WP worktrees (listed in the repository's own exclude file).
pub const WORKTREES_DIR: &str = ".worktrees";

/// The branch a WP is implemented on: `{slug}-{wp}`, e.g. `028-cli-event-emission-sync-WP01`.
pub fn branch_name(slug: &str, wp: &WpId) -> String {
    format!("{slug}-{wp}")
}

/// Refuses a name git would not take as a branch (`git check-ref-format --branch`'s rules), or
/// would read as an option: a feature folder named `-b` must not hand git `-b-WP01`.
pub fn check_branch_name(branch: &str) -> Result<(), PlanError> {
    let why = if branch.is_empty() {
        Some("it is empty")
    } else if branch.starts_with('-') {
        Some("it starts with `-`, which git reads as an option")
    } else if branch == "HEAD" || branch == "@" {
        Some("git reserves it")
    } else if branch.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c)) {
        Some("it holds a space, a control character or one of ~ ^ : ? * [ \\")
    } else if branch.contains("..") || branch.contains("@{") || branch.contains("//") {
        Some("it holds `..`, `@{` or `//`")
    } else if branch.starts_with('/') || branch.ends_with('/') || branch.ends_with('.') {
        Some("it starts or ends with `/`, or ends with `.`")
    } else if branch.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
        Some("a part of it starts with `.` or ends with `.lock`")
    } else {
        None
    };
    match why {
        Some(why) => Err(PlanError::BadBranchName { branch: branch.to_string(), why: why.to_string() }),
        None => Ok(()),
    }
}

/// The feature slug and WP a branch made by [`branch_name`] names; `None` for any other branch.
pub fn parse_branch_name(branch: &str) -> Option<(&str, WpId)> {
    let (slug, wp) = branch.rsplit_once('-')?;
    let wp: WpId = wp.parse().ok()?;
    (!slug.is_empty()).then_some((slug, wp))
}

/// The worktree of a branch: `.worktrees/{branch}`.
pub fn worktree_path(branch: &str) -> String {
    format!("{WORKTREES_DIR}/{branch}")
}

/// `kitty-specs/{slug}`.
pub fn feature_dir(slug: &str) -> String {
    format!("{SPECS_DIR}/{slug}")
}

/// A file of the feature folder, e.g. `kitty-specs/{slug}/meta.json`.
pub fn feature_file(slug: &str, name: &str) -> String {
    format!("{}/{name}", feature_dir(slug))
}

/// A WP file, `kitty-specs/{slug}/tasks/{file_name}`; `file_name` may be the path the host read
/// it under: only its last component counts.
pub fn wp_file_path(slug: &str, file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    format!("{}/tasks/{base}", feature_dir(slug))
}

/// The feature a branch or a folder inside a worktree or feature folder names, among `slugs`.
/// `folder` is `/`-separated; `kitty-specs/{slug}` or `.worktrees/{branch}` anywhere in it counts.
pub fn slugs_named_by<'a>(slugs: &'a [String], branch: &str, folder: &str) -> Vec<&'a String> {
    let components: Vec<&str> = folder.split(['/', '\\']).collect();
    let named_by_folder = |slug: &str| {
        components.windows(2).any(|pair| match pair {
            [SPECS_DIR, name] => *name == slug,
            [WORKTREES_DIR, name] => parse_branch_name(name).is_some_and(|(named, _)| named == slug),
            _ => false,
        })
    };
    let named_by_branch =
        |slug: &str| branch == slug || parse_branch_name(branch).is_some_and(|(named, _)| named == slug);
    slugs.iter().filter(|slug| named_by_branch(slug) || named_by_folder(slug)).collect()
}
