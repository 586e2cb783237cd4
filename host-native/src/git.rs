//! Real git, through the `git` command: what the user would run by hand.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` and returns its trimmed stdout, or an error that quotes git's own message.
pub fn run(dir: &Path, args: &[&str]) -> Result<String> {
    let output =
        Command::new("git").args(args).current_dir(dir).output().context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // git's own verdict (`fatal: ...`, `error: ...`), not its progress lines ("Preparing worktree").
        let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let verdict = lines.iter().find(|l| l.starts_with("fatal:") || l.starts_with("error:")).or(lines.last());
        bail!("git {}: {}", args.join(" "), verdict.copied().unwrap_or("failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The main working tree's root, also from inside a linked worktree.
pub fn main_worktree_root(dir: &Path) -> Result<PathBuf> {
    let common = run(dir, &["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
    let common = PathBuf::from(common);
    match common.file_name().and_then(|n| n.to_str()) {
        Some(".git") => Ok(common.parent().map(Path::to_path_buf).unwrap_or(common)),
        _ => Ok(PathBuf::from(run(dir, &["rev-parse", "--show-toplevel"])?)),
    }
}

pub fn current_branch(dir: &Path) -> Result<String> {
    run(dir, &["rev-parse", "--abbrev-ref", "HEAD"])
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
