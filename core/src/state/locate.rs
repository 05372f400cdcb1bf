//! Where a deployment's state file lives. Both binaries resolve it the same way, once per
//! command: `--state PATH`, else `HPCCACHE_STATE` (both read by clap into the one global
//! `--state` value, so `--help` shows the variable), else `<state dir>/hpccache/<deployment>.json`
//! where the state dir is `$XDG_STATE_HOME` (or `~/.local/state`) on Linux and the local
//! application-data directory elsewhere.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Environment variable naming the state file, below `--state` in precedence: the binaries'
/// `--state` flag reads it through clap's `env`.
pub const STATE_ENV: &str = "HPCCACHE_STATE";

/// How the state file was found, so messages can say why that file was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Named by `--state` or `HPCCACHE_STATE`.
    Given(PathBuf),
    /// The deployment's file in the state directory.
    Default(PathBuf),
}

impl Location {
    pub fn path(&self) -> &Path {
        match self {
            Location::Given(p) | Location::Default(p) => p,
        }
    }
}

/// The directory holding one state file per deployment.
pub fn deployments_dir() -> Result<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("hpccache"))
        .ok_or(Error::NoStateDir)
}

/// Resolves the state file for `deployment`. `given` is the global `--state` value, which
/// clap has already taken from [`STATE_ENV`] when the flag is absent (an empty value counts
/// as none).
///
/// Without a flag, variable or deployment name, the one deployment in the state directory
/// is used; with none or several, the error says which names exist.
pub fn resolve(given: Option<&Path>, deployment: Option<&str>) -> Result<Location> {
    if let Some(p) = given.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(Location::Given(p.to_path_buf()));
    }
    let dir = deployments_dir()?;
    let name = match deployment {
        Some(name) => name.to_string(),
        None => {
            let mut names = list_deployments(&dir)?;
            match names.len() {
                1 => names.remove(0),
                0 => {
                    return Err(Error::StateMissing {
                        path: dir.join("<deployment>.json"),
                    });
                }
                _ => {
                    return Err(crate::InvalidInput::new(
                        "DEPLOYMENT",
                        format!("several deployments exist ({})", names.join(", ")),
                    )
                    .hint("name one, or pass --state PATH")
                    .into());
                }
            }
        }
    };
    Ok(Location::Default(dir.join(format!("{name}.json"))))
}

/// Names of the deployments that have a state file in `dir`, sorted.
pub fn list_deployments(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".json")?;
            // The sandbox world and temporary files live beside the state files.
            (!stem.starts_with('.') && !stem.contains('.')).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_file_wins_over_the_default() {
        let loc = resolve(Some(Path::new("/a.json")), Some("x")).unwrap();
        assert_eq!(loc, Location::Given("/a.json".into()));
    }

    #[test]
    fn an_empty_given_file_is_ignored() {
        let loc = resolve(Some(Path::new("")), Some("dep")).unwrap();
        assert!(
            matches!(&loc, Location::Default(p) if p.ends_with("hpccache/dep.json")),
            "{loc:?}"
        );
    }

    #[test]
    fn list_skips_worlds_locks_and_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.json",
            "a.json",
            "a.json.lock",
            "a.world.json",
            ".hpccache-state-x.tmp",
            "notes.txt",
        ] {
            fs::write(dir.path().join(f), b"{}").unwrap();
        }
        assert_eq!(list_deployments(dir.path()).unwrap(), ["a", "b"]);
    }

    #[test]
    fn missing_dir_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            list_deployments(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
