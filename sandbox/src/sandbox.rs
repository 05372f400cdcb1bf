//! The embedding API: start a sandbox (ARM + Graph on one port, one Kubernetes API server
//! per managed cluster), read its request log and world, save it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::arm::faults::Faults;
use crate::arm::log::{RequestLog, RequestRecord};
use crate::arm::nfs::WorldFabric;
use crate::arm::server::{self, RateLimit, Shared, lock};
use crate::arm::{clock, lro};
use crate::fabric::Fabric;
use crate::kube::{self, ClusterInfo, ClusterState, RunningCluster};
use crate::world::{ClusterSpec, World, key};

/// Default time scale: the guide's ~25 minutes of Azure time take a few seconds.
pub const DEFAULT_TIME_SCALE: f64 = 0.002;
/// The bearer token the sandbox hands out (any non-empty bearer token is accepted by ARM).
pub const DEFAULT_TOKEN: &str = "hpccache-sandbox-token";

/// Errors of the sandbox crate.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("world file {path} cannot be used: {reason}")]
    WorldFile { path: String, reason: String },
    #[error("invalid --faults item {0}")]
    Faults(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot start the sandbox: {0}")]
    Start(#[source] std::io::Error),
}

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub world: World,
    /// Multiplier on Azure's durations (0 = instant).
    pub time_scale: f64,
    pub faults: Faults,
    pub rate_limit: Option<RateLimit>,
    /// Request log as JSON lines, when set.
    pub log_file: Option<PathBuf>,
    /// Port to bind on 127.0.0.1 (a free one when `None`).
    pub port: Option<u16>,
    pub token: String,
    /// Start one Kubernetes API server per managed cluster.
    pub start_clusters: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            world: World::new_default(),
            time_scale: DEFAULT_TIME_SCALE,
            faults: Faults::none(),
            rate_limit: None,
            log_file: None,
            port: None,
            token: DEFAULT_TOKEN.to_string(),
            start_clusters: true,
        }
    }
}

impl SandboxConfig {
    pub fn with_world(mut self, world: World) -> Self {
        self.world = world;
        self
    }

    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    pub fn with_rate_limit(mut self, requests: u32, per: std::time::Duration) -> Self {
        self.rate_limit = Some(RateLimit { requests, per });
        self
    }

    pub fn without_clusters(mut self) -> Self {
        self.start_clusters = false;
        self
    }
}

pub struct Sandbox;

impl Sandbox {
    /// Binds 127.0.0.1, starts serving ARM and Graph, and starts the clusters' API servers.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port.unwrap_or(0)))
            .await
            .map_err(SandboxError::Start)?;
        let addr = listener.local_addr().map_err(SandboxError::Start)?;
        let base = format!("http://{addr}");
        let world = Arc::new(Mutex::new(config.world));
        let log = Arc::new(RequestLog::new(config.log_file));
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(
            world.clone(),
            config.time_scale,
            config.faults,
            config.rate_limit,
            log.clone(),
            base.clone(),
            config.token.clone(),
            stop_rx,
        ));
        let task = server::spawn(listener, shared.clone());
        let fabric = Arc::new(WorldFabric::new(world.clone()));
        let running = RunningSandbox {
            base,
            shared,
            world,
            log,
            fabric,
            clusters: tokio::sync::Mutex::new(BTreeMap::new()),
            stop: stop_tx,
            task: Some(task),
            token: config.token,
        };
        if config.start_clusters {
            let ids: Vec<String> = lock(&running.world).clusters.keys().cloned().collect();
            for id in ids {
                running.start_cluster(&id).await?;
            }
        }
        Ok(running)
    }
}

/// A started sandbox; stops when dropped.
pub struct RunningSandbox {
    base: String,
    shared: Arc<Shared>,
    world: Arc<Mutex<World>>,
    log: Arc<RequestLog>,
    fabric: Arc<WorldFabric>,
    clusters: tokio::sync::Mutex<BTreeMap<String, RunningCluster>>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    token: String,
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RunningSandbox {
    /// `http://127.0.0.1:<port>` (use as the ARM endpoint / resource manager URL).
    pub fn arm_endpoint(&self) -> String {
        self.base.clone()
    }

    /// `http://127.0.0.1:<port>/graph` (append `/v1.0/...`).
    pub fn graph_endpoint(&self) -> String {
        format!("{}/graph", self.base)
    }

    /// A bearer token the sandbox accepts (ARM takes any non-empty one; the clusters this).
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.records()
    }

    pub fn request_log(&self) -> Arc<RequestLog> {
        self.log.clone()
    }

    /// The NFS fabric on this sandbox's world (what the clusters' kubelets use).
    pub fn fabric(&self) -> Arc<WorldFabric> {
        self.fabric.clone()
    }

    /// Runs `f` on the live world (operations settled to now first).
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let mut w = lock(&self.world);
        lro::settle(&mut w, clock::now_ms());
        f(&mut w)
    }

    /// A snapshot of the world, with each running cluster's Kubernetes objects.
    pub fn world(&self) -> World {
        let clusters = self.clusters.try_lock().ok();
        let running = |id: &String| clusters.as_ref().is_some_and(|c| c.contains_key(id));
        // The world's copy of a running cluster's objects is the one it started from, soon
        // replaced below: leave it out of the copy (it can be most of the world).
        let mut snapshot = self.with_world(|w| {
            let stale: Vec<(String, ClusterState)> = w
                .clusters
                .iter_mut()
                .filter(|(id, _)| running(id))
                .map(|(id, rec)| (id.clone(), std::mem::take(&mut rec.kube)))
                .collect();
            let copy = w.clone();
            for (id, kube) in stale {
                if let Some(rec) = w.clusters.get_mut(&id) {
                    rec.kube = kube;
                }
            }
            copy
        });
        for (id, rc) in clusters.iter().flat_map(|c| c.iter()) {
            if let Some(rec) = snapshot.clusters.get_mut(id) {
                rec.kube = rc.snapshot();
            }
        }
        snapshot
    }

    /// Changes whenever the world may have: with every request ARM answers and every
    /// cluster write. `serve` saves the world only when this moved.
    pub fn revision(&self) -> (usize, u64) {
        let kube = self
            .clusters
            .try_lock()
            .map(|c| c.values().map(RunningCluster::resource_version).sum())
            .unwrap_or(u64::MAX);
        (self.log.len(), kube)
    }

    /// Saves the world (atomically) to `path`.
    pub fn save(&self, path: &Path) -> Result<(), SandboxError> {
        self.world().save(path)
    }

    /// The Kubernetes API URL of a managed cluster, if its server runs.
    pub fn kube_url(&self, cluster_id: &str) -> Option<String> {
        lock(&self.shared.kube_urls).get(&key(cluster_id)).cloned()
    }

    /// Adds a managed cluster to the running world and starts its API server.
    pub async fn add_cluster(&self, spec: ClusterSpec) -> Result<String, SandboxError> {
        let id = lock(&self.world).add_cluster(spec)?;
        self.start_cluster(&key(&id)).await?;
        Ok(id)
    }

    async fn start_cluster(&self, cluster_key: &str) -> Result<(), SandboxError> {
        let Some(rec) = lock(&self.world).clusters.get(cluster_key).cloned() else {
            return Ok(());
        };
        let info = ClusterInfo {
            arm_id: rec.arm_id.clone(),
            name: rec.name.clone(),
            nodes: rec.nodes.clone(),
            kubernetes_version: rec.kubernetes_version.clone(),
            lustre_csi: rec.lustre_csi(),
            time_scale: self.shared.time_scale,
        };
        let fabric: Arc<dyn Fabric> = self.fabric.clone();
        let rc = kube::serve(rec.kube.clone(), info, fabric, self.token.clone())
            .await
            .map_err(SandboxError::Start)?;
        lock(&self.shared.kube_urls).insert(cluster_key.to_string(), rc.url());
        self.clusters
            .lock()
            .await
            .insert(cluster_key.to_string(), rc);
        Ok(())
    }

    /// Stops serving (ARM, Graph and the clusters).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.stop_now();
    }
}
