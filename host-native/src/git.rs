//! Real git, through the `git` command: what the user would run by hand.

use anyhow::{Context, Result, bail};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` and returns its trimmed stdout, or an error that quotes git's own message.
pub fn run(dir: &Path, args: &[&str]) -> Result<String> {
    let output =
        Command::new("git").args(args).current_dir(dir).output().context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("git {}: {}", args.join(" "), verdict(&stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// git's own verdict (`fatal: ...`, `error: ...`) in one line, not its progress lines ("Preparing
/// worktree"). A verdict that ends with a colon is followed by an indented list (the untracked files
/// a merge would overwrite): those items are part of it.
fn verdict(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("fatal:") || l.starts_with("error:")) else {
        return lines.last().map(|l| l.trim().to_string()).unwrap_or_else(|| "failed".into());
    };
    let head = lines[at].trim();
    if !head.ends_with(':') {
        return head.to_string();
    }
    let items: Vec<&str> =
        lines[at + 1..].iter().take_while(|l| l.starts_with([' ', '\t'])).map(|l| l.trim()).collect();
    if items.is_empty() { head.to_string() } else { format!("{head} {}", items.join(", ")) }
}

/// The files a failed merge left conflicted (none when it failed for another reason).
pub fn unmerged_paths(dir: &Path) -> Vec<String> {
    run(dir, &["diff", "--name-only", "--diff-filter=U"])
        .map(|out| out.lines().map(str::to_string).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default()
}

/// The main working tree's root and the repository's common git folder, also from inside a
/// linked worktree. Read from the `.git` entries the way gitrepository-layout(5) documents them (a
/// `.git` folder, or a `.git` file naming the worktree's git folder, whose `commondir` names the
/// shared one), so a command spawns no git process for it; anything unusual (`GIT_DIR` set, a bare
/// repository, a submodule) is left to git itself.
pub fn main_worktree_root(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    if let Some(found) = read_git_layout(dir) {
        return Ok((found.root, found.common_dir));
    }
    let common = run(dir, &["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
    let common = PathBuf::from(common);
    let root = match common.file_name().and_then(|n| n.to_str()) {
        Some(".git") => common.parent().map(Path::to_path_buf).unwrap_or_else(|| common.clone()),
        _ => PathBuf::from(run(dir, &["rev-parse", "--show-toplevel"])?),
    };
    Ok((root, common))
}

/// Where a working tree's git data lives.
struct GitLayout {
    /// The main working tree.
    root: PathBuf,
    /// The git folder of the working tree `dir` is in (its own `HEAD`).
    git_dir: PathBuf,
    /// The repository's shared git folder.
    common_dir: PathBuf,
}

/// The git folders found by walking up from `dir`, when the layout is the plain one: `None` sends the
/// caller to git.
fn read_git_layout(dir: &Path) -> Option<GitLayout> {
    // Variables that change where git looks (or stops looking) are git's to apply.
    let git_settings =
        ["GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM"];
    if git_settings.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    let start = std::fs::canonicalize(dir).ok()?;
    let device = start.metadata().ok()?.dev();
    let mut found = None;
    for folder in start.ancestors() {
        // git stops its search at a file system's edge: what lies beyond is for git to decide.
        if folder.metadata().ok()?.dev() != device {
            return None;
        }
        let candidate = folder.join(".git");
        if candidate.symlink_metadata().is_ok() {
            found = Some(candidate);
            break;
        }
    }
    let dot_git = found?;
    let git_dir = if dot_git.is_dir() {
        dot_git.clone()
    } else {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let named = Path::new(text.strip_prefix("gitdir:")?.trim());
        dot_git.parent()?.join(named)
    };
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir.join(text.trim()),
        Err(_) => git_dir.clone(),
    };
    let common_dir = std::fs::canonicalize(common).ok()?;
    // A real repository has HEAD; `.git` under a submodule's or a bare layout goes to git.
    if common_dir.file_name()? != ".git" || !git_dir.join("HEAD").is_file() {
        return None;
    }
    // git refuses a repository another user owns unless `safe.directory` lists it (CVE-2022-24765):
    // read here, such a repository would be edited and committed to behind that refusal.
    if !owned_by_current_user(&[dot_git.parent()?, &dot_git, &git_dir, &common_dir]) {
        return None;
    }
    Some(GitLayout { root: common_dir.parent()?.to_path_buf(), git_dir, common_dir })
}

/// Whether every path (not followed when a link) belongs to the effective user, as git's ownership
/// check requires.
fn owned_by_current_user(paths: &[&Path]) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() };
    paths.iter().all(|path| path.symlink_metadata().is_ok_and(|meta| meta.uid() == user))
}

/// The branch checked out in the working tree `dir` is in (`HEAD` when detached), read from its `HEAD`
/// file when the layout is the plain one.
pub fn current_branch(dir: &Path) -> Result<String> {
    let head = read_git_layout(dir).and_then(|layout| std::fs::read_to_string(layout.git_dir.join("HEAD")).ok());
    match head {
        Some(head) => Ok(head.trim().strip_prefix("ref: refs/heads/").unwrap_or("HEAD").to_string()),
        None => run(dir, &["rev-parse", "--abbrev-ref", "HEAD"]),
    }
}

pub fn branch_exists(dir: &Path, branch: &str) -> bool {
    run(dir, &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")]).is_ok()
}

/// Adds a pattern to the repository's own `.git/info/exclude` (not the shared .gitignore), so the
/// worktrees spec-kitty makes never show up as untracked files or get added as embedded repositories.
pub fn exclude_locally(dir: &Path, pattern: &str) -> Result<()> {
    let path = PathBuf::from(run(dir, &["rev-parse", "--path-format=absolute", "--git-path", "info/exclude"])?);
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    if existing.lines().any(|line| line.trim() == pattern) {
        return Ok(());
    }
    let separator = if existing.is_empty() || existing.ends_with('\n') { "" } else { "\n" };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, format!("{existing}{separator}{pattern}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Whether every commit of `branch` is already in `target`.
pub fn is_merged(dir: &Path, branch: &str, target: &str) -> bool {
    run(dir, &["merge-base", "--is-ancestor", branch, target]).is_ok()
}

/// Stages the given paths and commits them, if anything changed. Returns whether it committed.
pub fn commit_paths(dir: &Path, paths: &[&Path], message: &str) -> Result<bool> {
    // `git commit -- ` with no paths would commit whatever the user has staged.
    if paths.is_empty() {
        return Ok(false);
    }
    let mut add: Vec<&str> = vec!["add", "--"];
    let rendered: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    add.extend(rendered.iter().map(String::as_str));
    run(dir, &add)?;
    // Only these paths: whatever else the user has staged stays staged and uncommitted.
    let mut diff: Vec<&str> = vec!["diff", "--cached", "--quiet", "--"];
    diff.extend(rendered.iter().map(String::as_str));
    if run(dir, &diff).is_ok() {
        return Ok(false);
    }
    let mut commit: Vec<&str> = vec!["commit", "--quiet", "--no-verify", "-m", message, "--"];
    commit.extend(rendered.iter().map(String::as_str));
    run(dir, &commit)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn a_verdict_keeps_the_files_it_lists() {
        let stderr = "error: The following untracked working tree files would be overwritten by merge:\n\tnew.txt\n\tdocs/b.md\nPlease move or remove them before you merge.\nAborting\n";
        assert_eq!(
            verdict(stderr),
            "error: The following untracked working tree files would be overwritten by merge: new.txt, docs/b.md"
        );
        assert_eq!(verdict("Preparing worktree\nfatal: invalid reference: x\n"), "fatal: invalid reference: x");
        assert_eq!(verdict(""), "failed");
    }
}
