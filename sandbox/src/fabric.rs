//! The contract between the two halves of one sandbox world.
//!
//! The Kubernetes side (kubelet model, `kube/`) asks the Azure side (`arm/`: vnets,
//! private DNS, caches, storage targets, the emulated NFS export) whether an NFS mount
//! made from a node of a given cluster works, and runs probe pods and owner job pods
//! (`mkdir` + `chown`) against the export.
//! The Azure side implements [`NfsFabric`] on its world; the Kubernetes side only calls
//! it, so each half can be built and tested alone (with a test double for the other).

use hpccache_core::{owner, probe};

/// Why a mount failed, as the text a real node puts in the pod's `FailedMount` event,
/// e.g. `mount.nfs: access denied by server while mounting server.myhpccache.local:/wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountFailure {
    pub message: String,
}

/// Who the container runs as (after `securityContext`), for permission checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

pub trait NfsFabric: Send + Sync + 'static {
    /// Whether `server:path` mounts from a node of the managed cluster `cluster_id` (its
    /// ARM id, case-insensitive). `server` is a DNS name resolved through the private DNS
    /// zones linked to the cluster's vnet, or an IPv4 address. `Ok(())` when the name
    /// resolves to a mount address of a cache that is running and healthy and `path` is
    /// (under) a namespace path of one of its storage targets.
    fn mount(&self, cluster_id: &str, server: &str, path: &str) -> Result<(), MountFailure>;

    /// Runs the verification probe against the export: the same checks as [`Self::mount`],
    /// then a write/read of [`probe::PROBE_FILE`] in `path` as `who`, with root squash and
    /// ownership/permissions applied. Returns the report the probe pod would print with
    /// `mount_point` as the mount point.
    fn probe(
        &self,
        cluster_id: &str,
        server: &str,
        path: &str,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure>;

    /// Runs the owner job against the export: the same checks as [`Self::mount`], then
    /// `mkdir -p` and (when the owner differs) `chown` of the directory as `job.who`, with
    /// root squash and permissions applied — under root squash root is nobody, and nobody
    /// may not chown. Returns the report the pod would print (its `error` set when the
    /// shell would fail).
    fn chown(&self, cluster_id: &str, job: &Chown) -> Result<owner::Report, MountFailure>;
}

/// What the owner job's pod (`hpccache_core::owner`) does through its NFS mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chown {
    pub server: String,
    /// The export path the pod's volume mounts.
    pub path: String,
    /// Where the pod mounts it, and the directory to give away relative to that mount
    /// (empty: the mount's root).
    pub mount_point: String,
    pub dir: String,
    /// Who the container runs as, and the owner asked for.
    pub who: Identity,
    pub owner: Identity,
}

/// A Lustre volume a pod asks for through the Azure Lustre CSI driver
/// (`azurelustre.csi.azure.com`): the PV's `volumeAttributes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LustreTarget {
    /// `mgs-ip-address`: the filesystem's `clientInfo.mgsAddress`.
    pub mgs_address: String,
    /// `fs-name`: the Lustre filesystem name (`lustrefs` on Azure Managed Lustre).
    pub fs_name: String,
    /// `sub-dir`: a directory under the filesystem root, when the volume mounts one.
    pub sub_dir: Option<String>,
}

/// The Azure Managed Lustre half of the contract: what a node's Lustre client would see.
pub trait LustreFabric: Send + Sync + 'static {
    /// Whether `target` mounts from a node (address `node_address`) of the managed cluster
    /// `cluster_id`. `Ok(())` when the MGS address belongs to an `amlFilesystems` resource that
    /// is provisioned and healthy, whose filesystem subnet is in the cluster's vnet or a vnet
    /// peered with it, and `fs_name` is its filesystem's name; otherwise the message a node
    /// prints (`mount.lustre: ...`).
    fn mount_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
    ) -> Result<(), MountFailure>;

    /// The verification probe on a Lustre volume: the same checks as [`Self::mount_lustre`],
    /// then a write/read of [`probe::PROBE_FILE`] as `who` with the filesystem's root squash
    /// settings (clients outside `noSquashNidLists` are squashed) and file ownership applied.
    fn probe_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure>;
}

/// Both halves of the Azure side a cluster's kubelet asks about.
pub trait Fabric: NfsFabric + LustreFabric {}

impl<T: NfsFabric + LustreFabric> Fabric for T {}
