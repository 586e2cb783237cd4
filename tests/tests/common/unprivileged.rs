//! Runs that file modes bind, also when the tests run as root (as CI does).
//!
//! Root ignores modes: a state folder set to 0500 stops none of its writes, so a test of an unwritable
//! folder would prove nothing. As root, [`ModeBoundUser`] hands the test's temporary tree to `nobody`
//! (uid and gid 65534) and runs the commands as that user, from a copy of the binary that user can
//! reach (a clone may sit in a 0700 folder); the tree goes back to its owners when the guard is dropped.
//! As anyone else, the commands run as the current user, who owns the tree already.

use super::build::binary;
use super::repo::TestRepo;
use super::run::Run;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The unprivileged user of most systems.
pub const NOBODY: u32 = 65534;

pub fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("cannot run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// A user whom file modes bind, owning the repository's temporary tree while this guard lives.
pub struct ModeBoundUser {
    /// `Some(NOBODY)` when the tests run as root.
    uid: Option<u32>,
    bin: PathBuf,
    top: PathBuf,
    /// Each entry's owner (uid, gid) before the hand-over, put back on drop.
    owners: BTreeMap<PathBuf, (u32, u32)>,
}

impl ModeBoundUser {
    /// Hands `repo`'s temporary tree (repository, state folder, HOME) to the user the commands will run as.
    pub fn new(repo: &TestRepo) -> ModeBoundUser {
        let top = repo.top().to_path_buf();
        if !running_as_root() {
            return ModeBoundUser { uid: None, bin: binary().to_path_buf(), top, owners: BTreeMap::new() };
        }
        let bin = top.join("spec-kitty-as-nobody");
        std::fs::copy(binary(), &bin).expect("copy the binary where nobody can reach it");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut owners = BTreeMap::new();
        for path in tree(&top) {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            owners.insert(path.clone(), (meta.uid(), meta.gid()));
            std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY))
                .unwrap_or_else(|e| panic!("chown {} to nobody: {e}", path.display()));
        }
        ModeBoundUser { uid: Some(NOBODY), bin, top, owners }
    }

    /// `spec-kitty ARGS` at the repository's root, as this user.
    pub fn command(&self, repo: &TestRepo, args: &[&str]) -> Command {
        let mut command = repo.command_of(&self.bin, &repo.root, args);
        self.become_user(&mut command);
        command
    }

    pub fn run(&self, repo: &TestRepo, args: &[&str]) -> Run {
        Run::from_process(args, super::run::output_of_fresh_executable(&mut self.command(repo, args)))
    }

    /// Whether this user can create a file in `dir` (for checking that a mode really binds).
    pub fn can_create_in(&self, dir: &Path) -> bool {
        let probe = dir.join(".mode-probe");
        let mut touch = Command::new("touch");
        touch.arg(&probe).stdout(Stdio::null()).stderr(Stdio::null());
        self.become_user(&mut touch);
        let created = touch.status().expect("cannot run touch").success();
        if created {
            std::fs::remove_file(&probe).unwrap();
        }
        created
    }

    fn become_user(&self, command: &mut Command) {
        if let Some(uid) = self.uid {
            command.uid(uid).gid(uid);
        }
    }
}

impl Drop for ModeBoundUser {
    /// Gives every entry back to its owner (entries the user created go to the owner of the top folder),
    /// so that git, run as root afterwards, trusts the repository again.
    fn drop(&mut self) {
        let Some(&top_owner) = self.owners.get(&self.top) else { return };
        for path in tree(&self.top) {
            let (uid, gid) = self.owners.get(&path).copied().unwrap_or(top_owner);
            let _ = std::os::unix::fs::lchown(&path, Some(uid), Some(gid));
        }
    }
}

/// `top` and everything under it, parents first, without following symbolic links.
fn tree(top: &Path) -> Vec<PathBuf> {
    let mut paths = vec![top.to_path_buf()];
    let mut next = 0;
    while next < paths.len() {
        let path = paths[next].clone();
        next += 1;
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect();
            children.sort();
            paths.extend(children);
        }
    }
    paths
}
