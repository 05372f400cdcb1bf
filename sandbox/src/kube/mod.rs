//! Emulated Kubernetes API server, PV/PVC binder and kubelet model for one cluster.
//!
//! One [`serve`] call runs the API server of one sandbox cluster on 127.0.0.1. Objects are
//! kept as JSON documents ([`ClusterState`], persisted by the world inside its file); the
//! controllers (binder, kubelet, workloads, namespace and garbage collection, the Lustre
//! CSI driver's node plugin) run on a short tick so the cluster converges within a
//! fraction of a second.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fabric::Fabric;
pub use lustre_csi::LustreCsi;

/// Every object of one cluster and the resourceVersion counter.
///
/// `objects` is keyed by [`store::ObjectKey`]'s string form (`resource/namespace/name`,
/// e.g. `persistentvolumeclaims/default/pvc-nfs` or `apps/deployments/default/web`), so
/// the file stays readable and a map of strings serialises everywhere.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    /// Last resourceVersion handed out (global across all kinds, like etcd's revision).
    #[serde(default)]
    pub resource_version: u64,
    #[serde(default)]
    pub objects: BTreeMap<String, Value>,
    /// Pod logs by pod uid (probe pods print their report once they ran), or by
    /// `uid/container` for one container of a pod (a crashed CSI node plugin).
    #[serde(default)]
    pub logs: BTreeMap<String, String>,
    /// Add-ons installed into the cluster once (`azurelustre-csi-driver`), so that a user
    /// who removes one does not see it come back on the next start.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub installed: std::collections::BTreeSet<String>,
}

/// What the Azure side knows about the cluster that the API server needs.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    /// ARM id of the managed cluster, passed to the fabric for mount decisions.
    pub arm_id: String,
    pub name: String,
    /// Node names (e.g. `aks-nodepool1-12345678-vmss000000`).
    pub nodes: Vec<String>,
    /// e.g. `1.33.2`.
    pub kubernetes_version: String,
    /// Whether the Azure Lustre CSI driver is installed, and whether its node pods can start.
    pub lustre_csi: LustreCsi,
    /// Multiplier on the durations the cluster models (the Lustre client install on a
    /// node), as on Azure's: 0 is instant.
    pub time_scale: f64,
}

/// A running API server; stops when dropped or on [`RunningCluster::shutdown`].
pub struct RunningCluster {
    url: String,
    store: store::Shared,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for RunningCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningCluster")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl RunningCluster {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The cluster's last resourceVersion: moves with every write.
    pub fn resource_version(&self) -> u64 {
        self.store.lock().current_rv()
    }

    /// The cluster's objects now, for persisting.
    pub fn snapshot(&self) -> ClusterState {
        self.store.snapshot()
    }

    /// Stops the server and the controllers.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            // Receivers gone means everything already stopped.
            let _ = stop.send(true);
        }
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Serves `state` as the cluster `info` on 127.0.0.1 on a free port. Requests need
/// `Authorization: Bearer <token>`.
pub async fn serve(
    state: ClusterState,
    info: ClusterInfo,
    fabric: Arc<dyn Fabric>,
    token: String,
) -> std::io::Result<RunningCluster> {
    let store = store::Shared::new(state, &info);
    controllers::catch_up(&mut store.lock());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(routes::Ctx {
        store: store.clone(),
        info: info.clone(),
        token,
        stop: stopped.clone(),
        metrics: metrics::Metrics::default(),
    });
    let app = routes::router(ctx);
    let mut server_stop = stopped.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("kube api server stopped: {e}");
        }
    });
    controllers::spawn(store.clone(), info, fabric, stopped);
    Ok(RunningCluster {
        url,
        store,
        stop: Some(stop),
    })
}

/// A kubeconfig with one cluster, one user holding `token`, and one context named
/// `cluster_name` that is current.
///
/// client-go (so kubectl) never sends a bearer token over plain HTTP, so for an `http://`
/// server the token also rides in the server URL's path (`/sandbox-token/<token>`), which
/// this server accepts in place of the header; kube-rs sends the header as well.
pub fn kubeconfig(server_url: &str, token: &str, cluster_name: &str, user: &str) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let server_url = if server_url.starts_with("http://") {
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        format!(
            "{}{}{encoded}",
            server_url.trim_end_matches('/'),
            routes::TOKEN_PREFIX
        )
    } else {
        server_url.to_string()
    };
    let server_url = server_url.as_str();
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {c}\n  cluster:\n    server: {server}\n\
         users:\n\
         - name: {u}\n  user:\n    token: {t}\n\
         contexts:\n\
         - name: {c}\n  context:\n    cluster: {c}\n    user: {u}\n\
         current-context: {c}\n\
         preferences: {{}}\n",
        c = q(cluster_name),
        u = q(user),
        t = q(token),
        server = q(server_url),
    )
}

pub mod admission;
pub mod apply;
pub mod binder;
pub mod controllers;
pub mod csi;
pub mod discovery;
pub mod kubelet;
pub mod lustre_csi;
pub mod meta;
pub mod metrics;
pub mod openapi;
pub mod patch;
pub mod placement;
pub mod resources;
pub mod routes;
pub mod scheduler;
pub mod selectors;
pub mod status;
pub mod store;
pub mod table;
pub mod time;
pub mod watch;
pub mod workloads;
