//! Finding an agent's program before anything runs, as the shell would: a name on PATH, or a path
//! (relative to the repository root, since agents run in worktrees elsewhere).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The executable `program` names, or `None` when there is none.
pub fn resolve(program: &str, root: &Path, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        let path = Path::new(program);
        let path = if path.is_absolute() { path.to_path_buf() } else { root.join(path) };
        return is_executable(&path).then_some(path);
    }
    std::env::split_paths(path_var?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path_and_by_path() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let script = dir.path().join("agent");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let plain = dir.path().join("not-executable");
        std::fs::write(&plain, "").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path_var = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(resolve("agent", Path::new("/"), Some(&path_var)), Some(script.clone()));
        assert_eq!(resolve("not-executable", Path::new("/"), Some(&path_var)), None);
        assert_eq!(resolve("missing", Path::new("/"), Some(&path_var)), None);
        assert_eq!(resolve("./agent", dir.path(), None), Some(dir.path().join("./agent")));
        assert_eq!(resolve(&script.display().to_string(), Path::new("/"), None), Some(script));
        assert_eq!(resolve("agent", Path::new("/"), None), None);
    }
}
