//! What the state file holds.
//!
//! Field names are camelCase like the ARM and Kubernetes documents they describe. New
//! optional fields may be added within a schema version (older builds ignore them);
//! anything an older build would misread bumps [`SCHEMA_VERSION`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The schema version this build writes and the newest it reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Marks a JSON document as an hpccache state file, so a stray JSON file passed with
/// `--state` is refused instead of being overwritten.
pub const KIND: &str = "hpccache.azure.com/deployment";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub kind: String,
    pub version: u32,
    /// The deployment's name; also the state file's default name.
    pub deployment: String,
    /// The Azure service behind the deployment. A state file written before Managed Lustre
    /// existed has none: it is an HPC Cache deployment.
    #[serde(default)]
    pub backend: Backend,
    /// `AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment`, or `Custom`.
    pub cloud: String,
    /// The ARM endpoint used, when not the cloud's default (custom endpoints, sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_endpoint: Option<String>,
    pub subscription_id: String,
    /// True when this deployment lives in a sandbox world, not in Azure.
    #[serde(default)]
    pub sandbox: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// Every Azure resource of the deployment, keyed by its role (`cache`, `subnet`, ...).
    #[serde(default)]
    pub resources: BTreeMap<String, Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsInfo>,
    /// The Managed Lustre filesystem as clients mount it (backend `amlfs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lustre: Option<LustreInfo>,
    #[serde(default)]
    pub namespace_paths: Vec<String>,
    /// Kubernetes objects created or patched by `kubectl hpccache`.
    #[serde(default)]
    pub kube: Vec<KubeObject>,
    /// Finished steps of `up`, keyed by step name.
    #[serde(default)]
    pub steps: BTreeMap<String, StepRecord>,
    /// Long-running operations started and not waited for (`up --no-wait`), keyed by the
    /// resource's role, so `wait` and a later `up` can pick them up.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operations: BTreeMap<String, crate::azure::Operation>,
    /// What `up` was asked for, so `down` and `status` work without the original flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// The directory `up --owner` gave to a non-root user (its job finished), so a re-run
    /// skips the job and `verify` probes as that user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerRecord>,
}

impl State {
    pub fn new(
        deployment: impl Into<String>,
        cloud: impl Into<String>,
        subscription_id: impl Into<String>,
    ) -> Self {
        State {
            kind: KIND.to_string(),
            version: SCHEMA_VERSION,
            deployment: deployment.into(),
            backend: Backend::default(),
            cloud: cloud.into(),
            arm_endpoint: None,
            subscription_id: subscription_id.into(),
            sandbox: false,
            cluster: None,
            resources: BTreeMap::new(),
            cache: None,
            dns: None,
            lustre: None,
            namespace_paths: Vec::new(),
            kube: Vec::new(),
            steps: BTreeMap::new(),
            operations: BTreeMap::new(),
            settings: None,
            owner: None,
        }
    }
}

/// The Azure service a deployment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Azure HPC Cache (`Microsoft.StorageCache/caches`), mounted over NFS.
    #[default]
    Hpccache,
    /// Azure Managed Lustre (`Microsoft.StorageCache/amlFilesystems`), mounted with the
    /// Lustre CSI driver.
    Amlfs,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Hpccache => "hpccache",
            Backend::Amlfs => "amlfs",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What clients need to mount a Managed Lustre filesystem, read from its `clientInfo`, and
/// the settings `verify` judges the volume by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LustreInfo {
    /// `AMLFS-Durable-Premium-{40,125,250,500}`.
    pub sku: String,
    pub storage_capacity_tib: u64,
    /// `clientInfo.mgsAddress`: the IP address clients mount from.
    pub mgs_address: String,
    /// The Lustre filesystem name (`lustrefs` on Azure), the CSI volume's `fs-name`.
    pub filesystem_name: String,
    /// `clientInfo.mountCommand`, for the user's own nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_command: Option<String>,
    /// `rootSquashSettings.mode`: `None`, `RootOnly` or `All`.
    #[serde(default = "root_squash_none")]
    pub root_squash_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub squash_uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub squash_gid: Option<u32>,
    /// Whether the filesystem has blob integration (an HSM data container): `down` archives
    /// to it before deleting.
    #[serde(default)]
    pub hsm: bool,
}

fn root_squash_none() -> String {
    "None".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// ARM id of the managed cluster.
    pub id: String,
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub node_resource_group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Full ARM id.
    pub id: String,
    /// Whether this tool created it. `down` deletes only resources it created.
    pub created: bool,
    /// Not created by this state file, but made for this deployment all the same: it carries
    /// the deployment's `hpccache-deployment` tag (or belongs to a cache or account that
    /// does). What `up` finds after a state file was lost; `down --adopt` deletes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tagged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheInfo {
    pub sku: String,
    pub cache_size_gb: u64,
    #[serde(default)]
    pub mount_addresses: Vec<String>,
    #[serde(default)]
    pub root_squash: bool,
}

/// A directory on the cache given to `uid:gid` by the owner job of `up --owner`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRecord {
    pub uid: u32,
    pub gid: u32,
    /// The namespace path (as clients mount it) that belongs to them.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsInfo {
    pub zone: String,
    pub record: String,
    /// `record.zone`, the name NFS clients mount.
    pub fqdn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeObject {
    /// `PersistentVolume`, `PersistentVolumeClaim`, `Deployment`, ...
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// True when the tool created the object; false when it only patched it (a workload).
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// RFC 3339 time the step finished.
    pub finished: String,
}

/// The settings of `up` that later commands need to find or describe the resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The group the tool creates its resources in (the cluster's node resource group).
    pub resource_group: String,
    pub storage_account: String,
    pub container: String,
    pub storage_target: String,
    pub subnet_name: String,
    #[serde(default)]
    pub dns_registration: bool,
}
