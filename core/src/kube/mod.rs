//! The cluster side: the PersistentVolume (NFS for HPC Cache, Lustre CSI for Managed Lustre)
//! and its claim, the workload patch, the
//! verification probe, status and unmount. Used by `kubectl hpccache` and by
//! `az-hpccache-ext up --attach`.
//!
//! - [`manifests`]: the PV/PVC pair (and names) built from a [`manifests::VolumeSpec`].
//! - [`apply`]: the one way an object is written (server-side apply, field manager `hpccache`).
//! - [`mount`]: apply pairs to many namespaces with a bounded number of requests in flight.
//! - [`workload`]: add/remove the volume in a deployment, statefulset or daemonset.
//! - [`probe`]: run a probe pod, read its report, always remove it.
//! - [`owner`]: run the job of `up --owner` (a directory for a non-root user), always
//!   remove it.
//! - [`verify`]: the checklist, each failure with its fix.
//! - [`driver`]: the Lustre CSI driver check (installed, node plugin ready everywhere).
//! - [`status`], [`unmount`]; [`in_use`]: the pods a deployment's `down` would break.
//!
//! Nothing here prints; results are values the binaries render.

pub mod apply;
pub mod attach;
pub mod client_info;
pub mod driver;
pub mod existing;
pub mod in_use;
pub mod manifests;
pub mod mount;
pub mod owner;
pub mod probe;
pub mod status;
pub mod unmount;
pub mod verify;
pub mod workload;

/// The field manager of every write, so server-side apply knows which fields are ours.
pub const FIELD_MANAGER: &str = "hpccache";
/// `app.kubernetes.io/managed-by` value on every object this tool makes.
pub const MANAGED_BY: &str = "hpccache";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Ties an object to the deployment (state file) it belongs to.
pub const LABEL_DEPLOYMENT: &str = "hpccache.azure.com/deployment";
/// On a PV and its claim: the claim's namespace, so a mount into some namespaces lists
/// only their objects (and `kubectl get pv -l` finds a namespace's volume).
pub const LABEL_NAMESPACE: &str = "hpccache.azure.com/namespace";
/// Set on a patched workload's pod template: marks pods that use the claim because this
/// tool put the volume there, so `unmount` can tell them from pods it did not patch.
pub const LABEL_VOLUME: &str = "hpccache.azure.com/volume";

impl crate::Error {
    /// Wraps a kube-rs error with what was being done, for `map_err`.
    pub(crate) fn kube(action: impl Into<String>) -> impl FnOnce(::kube::Error) -> crate::Error {
        let action = action.into();
        move |source| crate::Error::Kube { action, source }
    }
}

/// An API server's answer as kubectl prints it (`Error from server (NotFound): namespaces
/// "ghost" not found`), never kube's `Status { .. }` debug dump; other errors as they are.
pub(crate) fn server_error(e: &::kube::Error) -> String {
    match e {
        ::kube::Error::Api(s) => {
            let reason = if s.reason.is_empty() {
                s.code.to_string()
            } else {
                s.reason.clone()
            };
            format!("Error from server ({reason}): {}", s.message)
        }
        other => other.to_string(),
    }
}

/// Whether the server is asked to validate only (`--dry-run=server` → `dryRun=All`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DryRun {
    #[default]
    None,
    Server,
}

pub(crate) fn is_not_found(e: &::kube::Error) -> bool {
    matches!(e, ::kube::Error::Api(s) if s.code == 404)
}

pub(crate) fn is_forbidden(e: &::kube::Error) -> bool {
    matches!(e, ::kube::Error::Api(s) if s.code == 403)
}
