//! Reading and writing the state file.
//!
//! Writers hold an exclusive lock on `<file>.lock` for their whole run ([`LockedState`]),
//! so two runs on one deployment cannot interleave; the second fails at once. Readers
//! need no lock: every write replaces the file by an atomic rename of a fully written,
//! fsynced temporary file in the same directory, so a reader sees the old or the new
//! document, never half of one, and a crash mid-write leaves the old file intact.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::schema::{KIND, SCHEMA_VERSION, State};
use crate::error::{Error, Result};

/// Reads and checks the state file. A missing file is [`Error::StateMissing`].
pub fn read(path: &Path) -> Result<State> {
    read_optional(path)?.ok_or_else(|| Error::StateMissing {
        path: path.to_path_buf(),
    })
}

/// Reads and checks the state file; `None` when it does not exist yet.
pub fn read_optional(path: &Path) -> Result<Option<State>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read state file", path, e)),
    };
    parse(path, &bytes).map(Some)
}

/// Checks in an order that gives the most useful message: not JSON, not ours, too new,
/// then the typed schema.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<State> {
    let corrupt = |reason: String| Error::StateCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON ({e})")))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| corrupt("not a JSON object".into()))?;
    match obj.get("kind").and_then(|k| k.as_str()) {
        Some(KIND) => {}
        _ => {
            return Err(corrupt(format!(
                "not an hpccache state file (no \"kind\": \"{KIND}\")"
            )));
        }
    }
    let version = obj
        .get("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| corrupt("missing or non-numeric \"version\"".into()))?;
    if version > u64::from(SCHEMA_VERSION) {
        return Err(Error::StateTooNew {
            path: path.to_path_buf(),
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: SCHEMA_VERSION,
        });
    }
    serde_json::from_value(doc).map_err(|e| corrupt(e.to_string()))
}

/// The state file of one deployment, locked for writing until dropped.
#[derive(Debug)]
pub struct LockedState {
    path: PathBuf,
    // Held for its lock; closing the file releases it, also when the process dies.
    _lock: File,
}

impl LockedState {
    /// Takes the deployment's lock, failing at once with [`Error::StateLocked`] when another
    /// run holds it. Creates the parent directory (mode 0700) when needed.
    pub fn lock(path: &Path) -> Result<LockedState> {
        if let Some(dir) = parent(path) {
            create_private_dir(dir)?;
        }
        let lock_path = lock_path(path);
        let mut opts = OpenOptions::new();
        opts.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(&lock_path)
            .map_err(|e| Error::io("open lock file", &lock_path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(LockedState {
                path: path.to_path_buf(),
                _lock: file,
            }),
            Err(TryLockError::WouldBlock) => Err(Error::StateLocked {
                path: path.to_path_buf(),
                lock: lock_path,
            }),
            Err(TryLockError::Error(e)) => Err(Error::io("lock", &lock_path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Option<State>> {
        read_optional(&self.path)
    }

    /// Replaces the file atomically with `state`, mode 0600. A corrupt or newer file in
    /// its place is never overwritten: it is checked first.
    pub fn save(&self, state: &State) -> Result<()> {
        self.load()?;
        let mut json = serde_json::to_vec_pretty(state).map_err(|e| Error::StateCorrupt {
            path: self.path.clone(),
            reason: format!("cannot serialise: {e}"),
        })?;
        json.push(b'\n');
        write_atomic(&self.path, |f| f.write_all(&json))
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut os = path.as_os_str().to_owned();
    os.push(".lock");
    PathBuf::from(os)
}

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("create directory", dir, e))
}

/// Writes through `fill` into a temporary file beside `path`, fsyncs it, renames it over
/// `path` and fsyncs the directory. On any failure the temporary file is removed and
/// `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<()> {
    let dir = parent(path).unwrap_or(Path::new("."));
    // tempfile creates the file with mode 0600 on Unix, so it is never readable by others,
    // not even for a moment.
    let mut tmp = tempfile::Builder::new()
        .prefix(".hpccache-state-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create temporary file in", dir, e))?;
    fill(tmp.as_file_mut())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write state file", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace state file", path, e.error))?;
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        // Makes the rename itself durable; not every filesystem supports it, and the data
        // is already safe, so a failure here is not an error.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::schema::Resource;

    fn sample() -> State {
        let mut s = State::new(
            "MyHpcCache",
            "AzureCloud",
            "00000000-0000-0000-0000-000000000000",
        );
        s.resources.insert(
            "cache".into(),
            Resource {
                id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.StorageCache/caches/MyHpcCache".into(),
                created: true,
                tagged: false,
            },
        );
        s.namespace_paths.push("/myfilepath".into());
        s
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let locked = LockedState::lock(&path).unwrap();
        assert_eq!(locked.load().unwrap(), None);
        locked.save(&sample()).unwrap();
        assert_eq!(read(&path).unwrap(), sample());
    }

    #[cfg(unix)]
    #[test]
    fn file_lock_and_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/d.json");
        let locked = LockedState::lock(&path).unwrap();
        locked.save(&sample()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&lock_path(&path)), 0o600);
        assert_eq!(mode(&dir.path().join("nested")), 0o700);
    }

    #[test]
    fn failed_write_leaves_old_file_intact_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let locked = LockedState::lock(&path).unwrap();
        locked.save(&sample()).unwrap();
        let before = fs::read(&path).unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"{\"kind\": \"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn corrupt_file_is_an_error_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        fs::write(
            &path,
            b"{\"kind\": \"hpccache.azure.com/deployment\", \"vers",
        )
        .unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, Error::StateCorrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"), "{err}");
        let locked = LockedState::lock(&path).unwrap();
        assert!(locked.save(&sample()).is_err());
        assert!(fs::read_to_string(&path).unwrap().ends_with("\"vers"));
    }

    #[test]
    fn a_json_file_that_is_not_ours_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.json");
        fs::write(&path, br#"{"name": "left-pad", "version": 1}"#).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            err.to_string().contains("not an hpccache state file"),
            "{err}"
        );
        assert!(LockedState::lock(&path).unwrap().save(&sample()).is_err());
    }

    #[test]
    fn a_newer_schema_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let mut doc = serde_json::to_value(sample()).unwrap();
        doc["version"] = (SCHEMA_VERSION + 1).into();
        let text = serde_json::to_string(&doc).unwrap();
        fs::write(&path, &text).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, Error::StateTooNew { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
        assert!(LockedState::lock(&path).unwrap().save(&sample()).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn a_second_lock_in_the_same_process_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let _held = LockedState::lock(&path).unwrap();
        let err = LockedState::lock(&path).unwrap_err();
        assert!(matches!(err, Error::StateLocked { .. }));
        assert!(err.to_string().contains("d.json.lock"), "{err}");
    }

    const HOLD_ENV: &str = "HPCCACHE_TEST_HOLD_LOCK";

    /// Runs only as the child of `lock_contention_between_two_processes`: takes the lock,
    /// says so on stdout, and holds it until stdin closes.
    #[test]
    #[ignore = "helper process for lock_contention_between_two_processes"]
    #[allow(clippy::print_stdout)]
    fn hold_lock_child() {
        let Some(path) = std::env::var_os(HOLD_ENV) else {
            return;
        };
        let _held = LockedState::lock(Path::new(&path)).unwrap();
        println!("LOCKED");
        io::stdout().flush().unwrap();
        let mut sink = String::new();
        let _ = io::stdin().read_line(&mut sink);
    }

    #[test]
    fn lock_contention_between_two_processes() {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "state::file::tests::hold_lock_child",
                "--ignored",
                "--nocapture",
            ])
            .env(HOLD_ENV, &path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("LOCKED") {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "child exited before locking"
            );
        }
        let started = std::time::Instant::now();
        let err = LockedState::lock(&path).unwrap_err();
        assert!(matches!(err, Error::StateLocked { .. }), "{err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "did not fail fast"
        );
        drop(child.stdin.take());
        child.wait().unwrap();
        // The holder is gone, so the lock is free again.
        LockedState::lock(&path).unwrap();
    }
}
