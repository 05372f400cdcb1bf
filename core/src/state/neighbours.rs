//! The other deployments' state files beside this one. What one of them records belongs to
//! that deployment: `up` must not write it and `down` must not delete it, whatever tags say
//! (resources made before tags were checked carry none).

use std::path::Path;

use super::file::read_optional;
use super::schema::State;
use crate::azure::ids::same_id;

/// The state files in the directory of `own`, except `own` and any other file of the same
/// deployment. Files that do not read as state files (the sandbox world, a corrupt file) are
/// skipped: they record nothing usable.
#[derive(Debug, Default)]
pub struct Neighbours(Vec<State>);

impl Neighbours {
    pub fn load(own: &Path, deployment: &str) -> Self {
        let dir = match own.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Self::default();
        };
        let mut states: Vec<State> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.as_path() != own)
            .filter_map(|p| read_optional(&p).ok().flatten())
            .filter(|s| s.deployment != deployment)
            .collect();
        states.sort_by(|a, b| a.deployment.cmp(&b.deployment));
        Self(states)
    }

    /// The deployment whose state file records the resource `id` (ids compare as ARM does,
    /// without case), if another one does.
    pub fn recording(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|s| s.resources.values().any(|r| same_id(&r.id, id)))
            .map(|s| s.deployment.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LockedState, Resource};

    #[test]
    fn finds_the_deployment_that_records_an_id_and_skips_its_own_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let save = |name: &str, id: &str| {
            let mut s = State::new(name, "AzureCloud", "sub");
            s.resources.insert(
                "dnsRecords".into(),
                Resource {
                    id: id.into(),
                    created: true,
                    tagged: false,
                },
            );
            let path = dir.path().join(format!("{name}.json"));
            LockedState::lock(&path).unwrap().save(&s).unwrap();
            path
        };
        let own = save("Mine", "/x/A/mine");
        save("Theirs", "/X/a/THEIRS");
        std::fs::write(dir.path().join("sandbox.world.json"), b"{\"version\":1}").unwrap();
        let n = Neighbours::load(&own, "Mine");
        assert_eq!(n.recording("/x/a/theirs"), Some("Theirs"));
        assert_eq!(
            n.recording("/x/A/mine"),
            None,
            "its own file is not a neighbour"
        );
        assert_eq!(n.recording("/x/A/other"), None);
    }
}
