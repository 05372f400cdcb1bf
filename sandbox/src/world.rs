//! The world: every Azure resource of one sandbox, its running operations, and each
//! cluster's Kubernetes objects. Persisted as one JSON file (atomic write), so separate
//! processes (`cache create --no-wait`, then `cache wait`) see one world.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::arm::clock;
use crate::kube::{ClusterState, LustreCsi};
use crate::sandbox::SandboxError;
use crate::settings::Settings;

/// Schema version of the world file.
pub const WORLD_VERSION: u32 = 1;
pub const DEFAULT_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const DEFAULT_TENANT: &str = "11111111-1111-1111-1111-111111111111";
pub const DEFAULT_RESOURCE_GROUP: &str = "myResourceGroup";
pub const DEFAULT_CLUSTER: &str = "myAKSCluster";
pub const DEFAULT_LOCATION: &str = "eastus";
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.33.2";
/// App id of the HPC Cache resource provider, the same in every tenant.
pub const CACHE_RP_APP_ID: &str = "4392ab71-2ce2-4b0d-8770-b352745c73f5";

/// Canonical resource type names (compared case-insensitively).
pub mod types {
    pub const RESOURCE_GROUP: &str = "Microsoft.Resources/resourceGroups";
    pub const MANAGED_CLUSTER: &str = "Microsoft.ContainerService/managedClusters";
    pub const VNET: &str = "Microsoft.Network/virtualNetworks";
    pub const SUBNET: &str = "Microsoft.Network/virtualNetworks/subnets";
    pub const STORAGE_ACCOUNT: &str = "Microsoft.Storage/storageAccounts";
    pub const CONTAINER: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";
    pub const ROLE_ASSIGNMENT: &str = "Microsoft.Authorization/roleAssignments";
    pub const CACHE: &str = "Microsoft.StorageCache/caches";
    pub const STORAGE_TARGET: &str = "Microsoft.StorageCache/caches/storageTargets";
    pub const AML_FILESYSTEM: &str = "Microsoft.StorageCache/amlFilesystems";
    pub const AML_IMPORT_JOB: &str = "Microsoft.StorageCache/amlFilesystems/importJobs";
    pub const VNET_PEERING: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings";
    pub const DNS_ZONE: &str = "Microsoft.Network/privateDnsZones";
    pub const VNET_LINK: &str = "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
    /// Record sets are `Microsoft.Network/privateDnsZones/<TYPE>`.
    pub const RECORD_SET_PREFIX: &str = "Microsoft.Network/privateDnsZones/";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct World {
    pub version: u32,
    pub tenant_id: String,
    pub subscriptions: Vec<Subscription>,
    /// Object id of the HPC Cache resource provider's service principal in this tenant.
    pub cache_rp_object_id: String,
    /// Resource provider registrations, keyed by lower-case namespace.
    pub providers: BTreeMap<String, ProviderState>,
    /// Every resource, keyed by lower-case ARM id (ids are case-insensitive in ARM).
    pub resources: BTreeMap<String, Resource>,
    /// Long-running operations, keyed by operation id.
    pub operations: BTreeMap<String, Operation>,
    /// Sandbox clusters, keyed by lower-case managed-cluster id.
    pub clusters: BTreeMap<String, ClusterRecord>,
    /// Switches for Azure behaviours the sandbox models only when asked (see [`Settings`]).
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
    /// Vnet writes this process has answered: the `conflict-vnet`/`supersede-vnet` faults
    /// roll on this ordinal, not on the request's sequence number, so a client that orders
    /// its writes to one vnet meets the same faults every run whatever its polls in between.
    #[serde(skip)]
    pub vnet_writes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderState {
    pub namespace: String,
    /// `NotRegistered`, `Registering`, `Registered`.
    pub state: String,
    /// When `Registering` turns `Registered` (wall clock, ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The id in the case first used.
    pub id: String,
    /// Canonical type, e.g. `Microsoft.StorageCache/caches`.
    pub rtype: String,
    /// The ARM document as stored (views may add or hide fields when answering).
    pub body: Value,
    pub created_ms: u64,
    /// Sandbox-only state no ARM response shows.
    #[serde(default, skip_serializing_if = "SandboxData::is_empty")]
    pub sandbox: SandboxData,
}

/// State only the sandbox knows: the data in a container, the files of an export.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxData {
    /// Containers: whether the container holds data (blobs, or files flushed into it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub holds_data: bool,
    /// Containers: blob names.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub blobs: BTreeSet<String>,
    /// Storage targets: files and directories under the junctions, keyed by full namespace
    /// path (`/myfilepath/outfile`). A junction root not listed is owned by 0:0, mode 0755.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileEntry>,
    /// Role assignments: when the assignment takes effect (RBAC propagation delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_ms: Option<u64>,
    /// Subnets: ip configurations of deleted resources whose NICs Azure has not released
    /// yet, with the wall-clock time (ms) each is released.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nic_leases: BTreeMap<String, u64>,
}

impl SandboxData {
    fn is_empty(&self) -> bool {
        !self.holds_data
            && self.blobs.is_empty()
            && self.files.is_empty()
            && self.effective_ms.is_none()
            && self.nic_leases.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    #[serde(default)]
    pub dir: bool,
    /// Written through the cache and not yet flushed to the backing store.
    #[serde(default)]
    pub dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpError {
    pub code: String,
    pub message: String,
    /// The causes, as ARM's `error.details[]` (the network RP always sends the array).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

impl OpError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        OpError {
            code: code.to_string(),
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Vec<ErrorDetail>) -> Self {
        self.details = Some(details);
        self
    }
}

/// One entry of an ARM error's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl ErrorDetail {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorDetail {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// A long-running operation: progress is `now` against `due_ms`, both wall clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub id: String,
    pub resource_id: String,
    /// `create`, `update`, `delete`, `flush`, `stop`, `start`, `upgrade`.
    pub action: String,
    pub start_ms: u64,
    pub due_ms: u64,
    /// `InProgress`, `Succeeded`, `Failed`, `Canceled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OpError>,
    /// Set by a fault: the operation ends Failed with this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_error: Option<OpError>,
    /// What the `Location` URL answers once done: the resource (200) or nothing (204).
    #[serde(default)]
    pub location_returns_resource: bool,
    /// The operation's fault name (`cache-create`, `subnet-delete`, ...), for faults that
    /// act on its polling URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A fault's choice of how this operation fails if it does (storage targets:
    /// `target-role-error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Operation {
    pub fn in_progress(&self) -> bool {
        self.status == "InProgress"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRecord {
    pub arm_id: String,
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub nodes: Vec<String>,
    pub kubernetes_version: String,
    /// The vnet the nodes are in (AKS-managed in the node resource group, or the user's).
    pub vnet_id: String,
    /// The Azure Lustre CSI driver in the cluster. `None` only in a world saved before the
    /// setting existed, until [`World::load`] decides it (see there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lustre_csi: Option<LustreCsi>,
    #[serde(default)]
    pub kube: ClusterState,
}

impl ClusterRecord {
    /// The Lustre CSI driver setting (absent when never set).
    pub fn lustre_csi(&self) -> LustreCsi {
        self.lustre_csi.unwrap_or_default()
    }
}

/// How a new cluster's network is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterNetwork {
    /// AKS-managed vnet `aks-vnet-<digits>` 10.224.0.0/12 in the node resource group.
    Managed,
    /// Azure CNI overlay: managed vnet, pod CIDR 10.244.0.0/16.
    Overlay,
    /// The user's own vnet in the cluster's resource group (`vnetSubnetID` set).
    BringYourOwn {
        vnet_name: String,
        address_prefix: String,
        subnet_name: String,
        subnet_prefix: String,
    },
}

#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub network: ClusterNetwork,
    pub node_count: usize,
    pub kubernetes_version: String,
    /// Absent by default, as AKS creates clusters.
    pub lustre_csi: LustreCsi,
    /// `properties.nodeResourceGroupProfile.restrictionLevel` (`ReadOnly`, `Unrestricted`);
    /// `None` leaves the profile out, as for clusters made before the feature.
    pub node_rg_restriction: Option<String>,
}

impl ClusterSpec {
    pub fn new(name: &str, resource_group: &str) -> Self {
        ClusterSpec {
            name: name.to_string(),
            resource_group: resource_group.to_string(),
            location: DEFAULT_LOCATION.to_string(),
            network: ClusterNetwork::Managed,
            node_count: 3,
            kubernetes_version: DEFAULT_KUBERNETES_VERSION.to_string(),
            lustre_csi: LustreCsi::Absent,
            node_rg_restriction: None,
        }
    }

    pub fn with_lustre_csi(mut self, lustre_csi: LustreCsi) -> Self {
        self.lustre_csi = lustre_csi;
        self
    }

    pub fn with_network(mut self, network: ClusterNetwork) -> Self {
        self.network = network;
        self
    }

    pub fn with_location(mut self, location: &str) -> Self {
        self.location = location.to_string();
        self
    }
}

impl World {
    /// The guide's starting point: one subscription, `myResourceGroup` in eastus and the
    /// AKS cluster `myAKSCluster` with its node resource group and AKS-managed vnet.
    ///
    /// Unlike a cluster AKS creates, `myAKSCluster` has the Azure Lustre CSI driver
    /// installed, so that the Azure Managed Lustre flow runs end to end on a fresh world;
    /// `world add-cluster` makes clusters without it (or with it not ready).
    pub fn new_default() -> Self {
        let mut w = Self::empty();
        // The default spec names an existing group and a fresh cluster: cannot fail.
        let _ = w.add_cluster(
            ClusterSpec::new(DEFAULT_CLUSTER, DEFAULT_RESOURCE_GROUP)
                .with_lustre_csi(LustreCsi::Installed),
        );
        w
    }

    /// The id of the default world's cluster.
    pub fn default_cluster_id() -> String {
        format!(
            "/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/{DEFAULT_CLUSTER}"
        )
    }

    /// A world saved before clusters had a Lustre CSI setting: its default cluster gets
    /// what a fresh world's has (the driver installed, so the Managed Lustre flow works on
    /// it as on a new world); every other cluster was added as AKS creates clusters, so it
    /// stays without the driver.
    fn settle_lustre_csi(&mut self) {
        let default = key(&Self::default_cluster_id());
        for (k, rec) in &mut self.clusters {
            if rec.lustre_csi.is_none() {
                rec.lustre_csi = Some(if *k == default {
                    LustreCsi::Installed
                } else {
                    LustreCsi::Absent
                });
            }
        }
    }

    /// A world with the subscription, its tenant and provider registrations, and nothing else.
    pub fn empty() -> Self {
        let mut providers = BTreeMap::new();
        for (ns, state) in [
            ("Microsoft.StorageCache", "NotRegistered"),
            ("Microsoft.Network", "Registered"),
            ("Microsoft.Storage", "Registered"),
            ("Microsoft.ContainerService", "Registered"),
            ("Microsoft.Authorization", "Registered"),
            ("Microsoft.Resources", "Registered"),
        ] {
            providers.insert(
                ns.to_ascii_lowercase(),
                ProviderState {
                    namespace: ns.to_string(),
                    state: state.to_string(),
                    registered_at_ms: None,
                },
            );
        }
        let mut w = World {
            version: WORLD_VERSION,
            tenant_id: DEFAULT_TENANT.to_string(),
            subscriptions: vec![Subscription {
                id: DEFAULT_SUBSCRIPTION.to_string(),
                display_name: "Sandbox Subscription".to_string(),
            }],
            cache_rp_object_id: uuid::Uuid::new_v4().to_string(),
            providers,
            resources: BTreeMap::new(),
            operations: BTreeMap::new(),
            clusters: BTreeMap::new(),
            settings: Settings::default(),
            vnet_writes: 0,
        };
        w.ensure_resource_group(
            DEFAULT_SUBSCRIPTION,
            DEFAULT_RESOURCE_GROUP,
            DEFAULT_LOCATION,
        );
        w
    }

    pub fn load(path: &Path) -> Result<Self, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut world: World =
            serde_json::from_str(&text).map_err(|e| SandboxError::WorldFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if world.version > WORLD_VERSION {
            return Err(SandboxError::WorldFile {
                path: path.display().to_string(),
                reason: format!(
                    "schema version {} is newer than this sandbox understands ({WORLD_VERSION})",
                    world.version
                ),
            });
        }
        world.settle_lustre_csi();
        Ok(world)
    }

    /// Loads `path`, or starts from [`World::new_default`] when it does not exist.
    pub fn load_or_default(path: &Path) -> Result<Self, SandboxError> {
        if path.exists() {
            Self::load(path)
        } else {
            Ok(Self::new_default())
        }
    }

    /// Writes the world atomically: temp file in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), SandboxError> {
        use std::io::Write;
        let io = |source| SandboxError::Io {
            path: path.display().to_string(),
            source,
        };
        // Compact: with clusters holding thousands of objects a pretty world is twice the
        // size and takes twice as long to write and read back (`jq .` shows it indented).
        let text = serde_json::to_string(self).map_err(|e| SandboxError::WorldFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!(
            ".{file_name}.{}.tmp",
            uuid::Uuid::new_v4().simple()
        ));
        // Mode 0600 like the state file beside it (reliability suite, issue 7 item 6): the
        // world is the sandbox's whole Azure, not for other users of the machine.
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&key(id))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Resource> {
        self.resources.get_mut(&key(id))
    }

    pub fn insert(&mut self, resource: Resource) {
        self.resources.insert(key(&resource.id), resource);
    }

    pub fn remove(&mut self, id: &str) -> Option<Resource> {
        self.resources.remove(&key(id))
    }

    /// Removes the resource and everything under its id.
    pub fn remove_tree(&mut self, id: &str) {
        let k = key(id);
        let prefix = format!("{k}/");
        self.resources
            .retain(|rk, _| rk != &k && !rk.starts_with(&prefix));
    }

    /// Resources of `rtype` whose id starts with `scope` + `/` (case-insensitive).
    pub fn under<'a>(
        &'a self,
        scope: &str,
        rtype: &'a str,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        let prefix = format!("{}/", key(scope));
        self.resources
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| r)
            .filter(move |r| r.rtype.eq_ignore_ascii_case(rtype))
    }

    /// All resources of `rtype`.
    pub fn of_type<'a>(&'a self, rtype: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .values()
            .filter(move |r| r.rtype.eq_ignore_ascii_case(rtype))
    }

    pub fn has_subscription(&self, sub: &str) -> bool {
        self.subscriptions
            .iter()
            .any(|s| s.id.eq_ignore_ascii_case(sub))
    }

    pub fn resource_group(&self, sub: &str, rg: &str) -> Option<&Resource> {
        self.get(&format!("/subscriptions/{sub}/resourceGroups/{rg}"))
    }

    /// Creates the resource group if missing; returns its id.
    pub fn ensure_resource_group(&mut self, sub: &str, rg: &str, location: &str) -> String {
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg}");
        if self.get(&id).is_none() {
            self.insert(Resource {
                id: id.clone(),
                rtype: types::RESOURCE_GROUP.to_string(),
                body: json!({
                    "id": id,
                    "name": rg,
                    "type": types::RESOURCE_GROUP,
                    "location": location,
                    "properties": {"provisioningState": "Succeeded"}
                }),
                created_ms: clock::now_ms(),
                sandbox: SandboxData::default(),
            });
        }
        id
    }

    /// Adds a managed cluster (and its node resource group, vnet and subnet); returns its id.
    pub fn add_cluster(&mut self, spec: ClusterSpec) -> Result<String, SandboxError> {
        let mut spec = spec;
        spec.node_rg_restriction = spec
            .node_rg_restriction
            .as_deref()
            .map(restriction_level)
            .transpose()?;
        let sub = DEFAULT_SUBSCRIPTION;
        let loc = spec.location.clone();
        let rg = spec.resource_group.clone();
        let name = spec.name.clone();
        self.ensure_resource_group(sub, &rg, &loc);
        let cluster_id = format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
        );
        if self.get(&cluster_id).is_some() {
            return Err(SandboxError::Invalid(format!(
                "cluster {name} already exists in {rg}"
            )));
        }
        let digits = if self.clusters.is_empty() {
            12_345_678
        } else {
            10_000_000 + (fnv(&cluster_id.to_ascii_lowercase()) % 90_000_000)
        };
        let node_rg = format!("MC_{rg}_{name}_{loc}");
        self.ensure_resource_group(sub, &node_rg, &loc);
        let (vnet_rg, vnet_name, space, subnet_name, subnet_prefix, byo) = match &spec.network {
            ClusterNetwork::Managed | ClusterNetwork::Overlay => (
                node_rg.clone(),
                format!("aks-vnet-{digits}"),
                "10.224.0.0/12".to_string(),
                "aks-subnet".to_string(),
                "10.224.0.0/16".to_string(),
                false,
            ),
            ClusterNetwork::BringYourOwn {
                vnet_name,
                address_prefix,
                subnet_name,
                subnet_prefix,
            } => (
                rg.clone(),
                vnet_name.clone(),
                address_prefix.clone(),
                subnet_name.clone(),
                subnet_prefix.clone(),
                true,
            ),
        };
        let vnet_id = format!(
            "/subscriptions/{sub}/resourceGroups/{vnet_rg}/providers/Microsoft.Network/virtualNetworks/{vnet_name}"
        );
        let subnet_id = format!("{vnet_id}/subnets/{subnet_name}");
        let now = clock::now_ms();
        if self.get(&vnet_id).is_none() {
            self.insert(Resource {
                id: vnet_id.clone(),
                rtype: types::VNET.to_string(),
                body: json!({
                    "id": vnet_id,
                    "name": vnet_name,
                    "type": types::VNET,
                    "location": loc,
                    "etag": etag(),
                    "properties": {
                        "provisioningState": "Succeeded",
                        "resourceGuid": uuid::Uuid::new_v4().to_string(),
                        "addressSpace": {"addressPrefixes": [space]},
                        "enableDdosProtection": false
                    }
                }),
                created_ms: now,
                sandbox: SandboxData::default(),
            });
        }
        if self.get(&subnet_id).is_none() {
            self.insert(Resource {
                id: subnet_id.clone(),
                rtype: types::SUBNET.to_string(),
                body: json!({
                    "id": subnet_id,
                    "name": subnet_name,
                    "type": types::SUBNET,
                    "etag": etag(),
                    "properties": {
                        "provisioningState": "Succeeded",
                        "addressPrefix": subnet_prefix,
                        "privateEndpointNetworkPolicies": "Disabled",
                        "privateLinkServiceNetworkPolicies": "Enabled"
                    }
                }),
                created_ms: now,
                sandbox: SandboxData::default(),
            });
        }
        let nodes: Vec<String> = (0..spec.node_count)
            .map(|i| format!("aks-nodepool1-{digits}-vmss{i:06}"))
            .collect();
        let image = spec.lustre_csi.node_image();
        let mut pool = json!({
            "name": "nodepool1",
            "count": spec.node_count,
            "vmSize": "Standard_DS2_v2",
            "osDiskSizeGB": 128,
            "osDiskType": "Managed",
            "maxPods": if spec.network == ClusterNetwork::Overlay { 250 } else { 30 },
            "type": "VirtualMachineScaleSets",
            "provisioningState": "Succeeded",
            "powerState": {"code": "Running"},
            "orchestratorVersion": spec.kubernetes_version,
            "currentOrchestratorVersion": spec.kubernetes_version,
            "mode": "System",
            "osType": "Linux",
            "osSKU": if image.os_sku == "Ubuntu2204" { "Ubuntu" } else { image.os_sku },
            "nodeImageVersion": image.version
        });
        if byo {
            pool["vnetSubnetID"] = json!(subnet_id);
        }
        let mut network = json!({
            "networkPlugin": "azure",
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
            "serviceCidr": "10.0.0.0/16",
            "dnsServiceIP": "10.0.0.10",
            "serviceCidrs": ["10.0.0.0/16"],
            "ipFamilies": ["IPv4"]
        });
        if spec.network == ClusterNetwork::Overlay {
            network["networkPluginMode"] = json!("overlay");
            network["podCidr"] = json!("10.244.0.0/16");
            network["podCidrs"] = json!(["10.244.0.0/16"]);
        }
        let dns_prefix = format!("{}-{}-{}", name, rg, &sub[..6]);
        let mut cluster = json!({
            "id": cluster_id,
            "name": name,
            "type": types::MANAGED_CLUSTER,
            "location": loc,
            "sku": {"name": "Base", "tier": "Free"},
            "identity": {
                "type": "SystemAssigned",
                "principalId": uuid::Uuid::new_v4().to_string(),
                "tenantId": self.tenant_id
            },
            "properties": {
                "provisioningState": "Succeeded",
                "powerState": {"code": "Running"},
                "kubernetesVersion": spec.kubernetes_version,
                "currentKubernetesVersion": spec.kubernetes_version,
                "dnsPrefix": dns_prefix,
                "fqdn": format!("{}-{:08x}.hcp.{loc}.azmk8s.io", dns_prefix.to_ascii_lowercase(), fnv(&cluster_id) as u32),
                "agentPoolProfiles": [pool],
                "nodeResourceGroup": node_rg,
                "enableRBAC": true,
                "networkProfile": network,
                "maxAgentPools": 100
            }
        });
        if let Some(level) = &spec.node_rg_restriction {
            cluster["properties"]["nodeResourceGroupProfile"] = json!({"restrictionLevel": level});
        }
        self.insert(Resource {
            id: cluster_id.clone(),
            rtype: types::MANAGED_CLUSTER.to_string(),
            body: cluster,
            created_ms: now,
            sandbox: SandboxData::default(),
        });
        self.clusters.insert(
            key(&cluster_id),
            ClusterRecord {
                arm_id: cluster_id.clone(),
                name,
                resource_group: rg,
                location: loc,
                nodes,
                kubernetes_version: spec.kubernetes_version,
                vnet_id,
                lustre_csi: Some(spec.lustre_csi),
                kube: ClusterState::default(),
            },
        );
        Ok(cluster_id)
    }

    /// Sets (or, with `None`, removes) a cluster's node resource group lockdown
    /// (`properties.nodeResourceGroupProfile.restrictionLevel`).
    pub fn set_node_rg_restriction(
        &mut self,
        cluster_id: &str,
        level: Option<&str>,
    ) -> Result<(), SandboxError> {
        let level = level.map(restriction_level).transpose()?;
        let cluster = self
            .get_mut(cluster_id)
            .filter(|r| r.rtype.eq_ignore_ascii_case(types::MANAGED_CLUSTER))
            .ok_or_else(|| SandboxError::Invalid(format!("no managed cluster {cluster_id}")))?;
        match level {
            Some(l) => {
                cluster.body["properties"]["nodeResourceGroupProfile"] =
                    json!({"restrictionLevel": l})
            }
            None => {
                if let Some(p) = cluster.body["properties"].as_object_mut() {
                    p.remove("nodeResourceGroupProfile");
                }
            }
        }
        Ok(())
    }

    /// Whether a blob container holds data (blobs, or files flushed into it).
    pub fn container_holds_data(&self, container_id: &str) -> bool {
        self.get(container_id).is_some_and(|r| r.sandbox.holds_data)
    }

    /// Puts a blob into a container (test set-up: "this container holds data").
    pub fn put_blob(&mut self, container_id: &str, name: &str) -> Result<(), SandboxError> {
        let r = self
            .get_mut(container_id)
            .ok_or_else(|| SandboxError::Invalid(format!("no container {container_id}")))?;
        r.sandbox.blobs.insert(name.to_string());
        r.sandbox.holds_data = true;
        Ok(())
    }

    /// The cluster record for a managed-cluster id (case-insensitive).
    pub fn cluster(&self, cluster_id: &str) -> Option<&ClusterRecord> {
        self.clusters.get(&key(cluster_id))
    }
}

/// The restriction levels AKS knows (`RestrictionLevel` in the containerservice spec), in
/// their canonical spelling.
pub const RESTRICTION_LEVELS: &[&str] = &["ReadOnly", "Unrestricted"];

fn restriction_level(level: &str) -> Result<String, SandboxError> {
    RESTRICTION_LEVELS
        .iter()
        .find(|l| l.eq_ignore_ascii_case(level))
        .map(|l| (*l).to_string())
        .ok_or_else(|| {
            SandboxError::Invalid(format!(
                "node resource group restriction level '{level}' is not one of {}",
                RESTRICTION_LEVELS.join(", ")
            ))
        })
}

/// Map key of an ARM id: lower case, no trailing slash.
pub fn key(id: &str) -> String {
    id.trim_end_matches('/').to_ascii_lowercase()
}

/// A fresh etag as ARM resource providers write them (a quoted-less GUID).
pub fn etag() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// FNV-1a, for stable pseudo-random digits derived from names.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_has_the_guide_starting_point() {
        let w = World::new_default();
        let c = w
            .get("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/MYRESOURCEGROUP/providers/Microsoft.ContainerService/managedClusters/myakscluster")
            .expect("cluster");
        assert_eq!(
            c.body["properties"]["nodeResourceGroup"],
            "MC_myResourceGroup_myAKSCluster_eastus"
        );
        assert!(
            w.resource_group(
                DEFAULT_SUBSCRIPTION,
                "MC_myResourceGroup_myAKSCluster_eastus"
            )
            .is_some()
        );
        let rec = w.clusters.values().next().expect("record");
        assert!(rec.vnet_id.ends_with("aks-vnet-12345678"));
        assert_eq!(rec.nodes[2], "aks-nodepool1-12345678-vmss000002");
    }

    #[test]
    fn the_default_cluster_has_the_lustre_driver_and_added_ones_do_not() {
        let mut w = World::new_default();
        let id = w
            .add_cluster(ClusterSpec::new("second", DEFAULT_RESOURCE_GROUP))
            .expect("second");
        let default = w.cluster(&World::default_cluster_id()).expect("default");
        assert_eq!(default.lustre_csi(), LustreCsi::Installed);
        assert_eq!(
            w.cluster(&id).expect("second").lustre_csi(),
            LustreCsi::Absent
        );
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("world.json");
        let w = World::new_default();
        w.save(&p).expect("save");
        let back = World::load(&p).expect("load");
        assert_eq!(back.cache_rp_object_id, w.cache_rp_object_id);
        assert_eq!(back.resources.len(), w.resources.len());
    }
}
