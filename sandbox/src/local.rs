//! A sandbox for one command run of a binary (`--sandbox`): the world lives in a file
//! beside the state file and is shared by both binaries across runs.
//!
//! [`LocalSandbox::open`] takes an exclusive lock on `<dir>/sandbox.world.json.lock` (waiting
//! for another run to finish, not failing: runs take turns and none loses its writes),
//! loads `<dir>/sandbox.world.json` (a fresh default world when absent) and starts the
//! sandbox in-process; [`LocalSandbox::close`] saves the world atomically and releases the
//! lock. Dropping it without `close` saves too (best effort), so an error path keeps the
//! world. The environment's settings ([`crate::settings`]: `HPCCACHE_SANDBOX_VNET_CONTENTION`,
//! `HPCCACHE_SANDBOX_ASYNC_NIC_RELEASE`, `HPCCACHE_SANDBOX_PAGE_SIZE`) apply to the run
//! without being saved into the world.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::arm::faults::Faults;
use crate::sandbox::{DEFAULT_TIME_SCALE, RunningSandbox, Sandbox, SandboxConfig, SandboxError};
use crate::settings::Settings;
use crate::world::{World, key};

/// The world file's name, in the state file's directory.
pub const WORLD_FILE: &str = "sandbox.world.json";
/// Multiplier on Azure's durations (0 = instant); default [`DEFAULT_TIME_SCALE`].
pub const ENV_TIME_SCALE: &str = "HPCCACHE_SANDBOX_TIME_SCALE";
/// How long to wait for the lock before telling the user why nothing happens.
const TELL_AFTER: Duration = Duration::from_secs(1);

/// How to open a local sandbox.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Start the clusters' Kubernetes API servers (the ARM-only step commands do not need them).
    pub start_clusters: bool,
    /// `None` reads [`ENV_TIME_SCALE`], else [`DEFAULT_TIME_SCALE`].
    pub time_scale: Option<f64>,
    /// Injected faults (tests).
    pub faults: Faults,
    /// Appends every request as a JSON line to this file (tests, benchmarks).
    pub log_file: Option<PathBuf>,
    /// The bearer token the sandbox expects; `None` for the sandbox's default.
    pub token: Option<String>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            start_clusters: true,
            time_scale: None,
            faults: Faults::none(),
            log_file: None,
            token: None,
        }
    }
}

/// A running in-process sandbox whose world file is locked by this process.
pub struct LocalSandbox {
    running: RunningSandbox,
    path: PathBuf,
    _lock: File,
    saved: bool,
}

impl std::fmt::Debug for LocalSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSandbox")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The time scale from [`ENV_TIME_SCALE`], if set.
pub fn time_scale_from_env() -> Result<Option<f64>, SandboxError> {
    match std::env::var(ENV_TIME_SCALE) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Some)
            .ok_or_else(|| {
                SandboxError::Invalid(format!("{ENV_TIME_SCALE}: '{v}' is not a number >= 0"))
            }),
        _ => Ok(None),
    }
}

impl LocalSandbox {
    /// Opens the world in `dir`. `waiting` is called once when another run holds the lock
    /// for more than a second, with the lock file's path.
    pub async fn open(
        dir: &Path,
        options: LocalOptions,
        waiting: impl FnOnce(&Path),
    ) -> Result<LocalSandbox, SandboxError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| SandboxError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(WORLD_FILE);
        let lock = lock(&dir.join(format!("{WORLD_FILE}.lock")), waiting)?;
        let world = World::load_or_default(&path)?;
        let time_scale = match options.time_scale {
            Some(s) => s,
            None => time_scale_from_env()?.unwrap_or(DEFAULT_TIME_SCALE),
        };
        let mut config = SandboxConfig::default()
            .with_world(world)
            .with_time_scale(time_scale)
            .with_faults(options.faults)
            .with_settings(Settings::from_env()?);
        config.start_clusters = options.start_clusters;
        config.log_file = options.log_file;
        if let Some(token) = options.token {
            config.token = token;
        }
        let running = Sandbox::start(config).await?;
        Ok(LocalSandbox {
            running,
            path,
            _lock: lock,
            saved: false,
        })
    }

    pub fn running(&self) -> &RunningSandbox {
        &self.running
    }

    /// The world file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ARM id of `cluster_id` as the world spells it, or of the only (else first)
    /// cluster when `None`.
    pub fn cluster_id(&self, cluster_id: Option<&str>) -> Option<String> {
        self.running().with_world(|w| match cluster_id {
            Some(id) => w.clusters.get(&key(id)).map(|c| c.arm_id.clone()),
            None => w.clusters.values().next().map(|c| c.arm_id.clone()),
        })
    }

    /// A kubeconfig for the cluster (see [`Self::cluster_id`]), pointing at its running API
    /// server. `None` when there is no such cluster or its server is not started.
    pub fn kubeconfig_for(&self, cluster_id: Option<&str>) -> Option<String> {
        let id = self.cluster_id(cluster_id)?;
        let name = self
            .running()
            .with_world(|w| w.clusters.get(&key(&id)).map(|c| c.name.clone()))?;
        let url = self.running().kube_url(&id)?;
        let token = self.running().token();
        Some(crate::kube::kubeconfig(
            &url,
            &token,
            &name,
            &format!("clusterUser_{name}"),
        ))
    }

    /// Saves the world atomically, then stops the sandbox and releases the lock.
    pub fn close(mut self) -> Result<(), SandboxError> {
        self.saved = true;
        self.running.save(&self.path)
    }
}

impl Drop for LocalSandbox {
    fn drop(&mut self) {
        if !self.saved
            && let Err(e) = self.running.save(&self.path)
        {
            tracing::warn!("cannot save the sandbox world: {e}");
        }
    }
}

/// Takes the lock, polling, so the waiting run can say why it waits.
fn lock(path: &Path, waiting: impl FnOnce(&Path)) -> Result<File, SandboxError> {
    let io = |source| SandboxError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).read(true).write(true);
    // 0600 like the state file's lock (reliability suite, issue 7 item 6).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(io)?;
    let started = Instant::now();
    let mut waiting = Some(waiting);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => {
                if started.elapsed() >= TELL_AFTER
                    && let Some(tell) = waiting.take()
                {
                    tell(path);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fresh_world_is_saved_and_reopened_with_a_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let sb = LocalSandbox::open(dir.path(), LocalOptions::default(), |_| {})
            .await
            .unwrap();
        let kc = sb.kubeconfig_for(None).unwrap();
        assert!(kc.contains("myAKSCluster"), "{kc}");
        assert!(kc.contains("http://127.0.0.1:"), "{kc}");
        sb.close().unwrap();
        assert!(dir.path().join(WORLD_FILE).exists());
        let again = LocalSandbox::open(dir.path(), LocalOptions::default(), |_| {})
            .await
            .unwrap();
        assert!(again.cluster_id(None).is_some());
    }

    #[test]
    fn a_second_opener_waits_and_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock(&path, |_| {}).unwrap();
        let told = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let t2 = told.clone();
        let p2 = path.clone();
        let h = std::thread::spawn(move || {
            lock(&p2, |_| t2.store(true, std::sync::atomic::Ordering::SeqCst)).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(1300));
        drop(held);
        h.join().unwrap().unwrap();
        assert!(told.load(std::sync::atomic::Ordering::SeqCst));
    }
}
