//! The resources this API server serves: their group, version, names, scope and verbs,
//! the single source for discovery, routing, tables and error messages.

use serde_json::{Value, json};

#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources beside the object itself (`status`, `log`).
    pub subresources: &'static [&'static str],
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Nodes are registered by kubelets; users may still edit labels and delete them.
const NODE_VERBS: &[&str] = VERBS;

impl Resource {
    /// `deployments.apps`, or `pods` for the core group: how messages name the resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, or `Pod`: how `Invalid` messages name the kind.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `details` of a Status about one object.
    pub fn details(&self, name: &str) -> Value {
        let mut d = json!({"name": name, "kind": self.plural});
        if !self.group.is_empty() {
            d["group"] = Value::from(self.group);
        }
        d
    }

    /// The key prefix of this resource's objects in the store.
    pub fn store_prefix(&self) -> String {
        self.qualified()
    }

    pub fn verbs(&self) -> &'static [&'static str] {
        if self.kind == "Node" {
            NODE_VERBS
        } else {
            VERBS
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

macro_rules! res {
    ($g:expr, $p:expr, $s:expr, $k:expr, $ns:expr, [$($sn:expr),*], [$($c:expr),*], [$($sub:expr),*]) => {
        Resource {
            group: $g,
            version: "v1",
            plural: $p,
            singular: $s,
            kind: $k,
            namespaced: $ns,
            short_names: &[$($sn),*],
            categories: &[$($c),*],
            subresources: &[$($sub),*],
        }
    };
}

pub static NAMESPACES: Resource = res!(
    "",
    "namespaces",
    "namespace",
    "Namespace",
    false,
    ["ns"],
    [],
    ["status", "finalize"]
);
pub static NODES: Resource = res!("", "nodes", "node", "Node", false, ["no"], [], ["status"]);
pub static PERSISTENT_VOLUMES: Resource = res!(
    "",
    "persistentvolumes",
    "persistentvolume",
    "PersistentVolume",
    false,
    ["pv"],
    [],
    ["status"]
);
pub static PERSISTENT_VOLUME_CLAIMS: Resource = res!(
    "",
    "persistentvolumeclaims",
    "persistentvolumeclaim",
    "PersistentVolumeClaim",
    true,
    ["pvc"],
    [],
    ["status"]
);
pub static PODS: Resource = res!(
    "",
    "pods",
    "pod",
    "Pod",
    true,
    ["po"],
    ["all"],
    ["status", "log"]
);
pub static EVENTS: Resource = res!("", "events", "event", "Event", true, ["ev"], [], []);
pub static CONFIG_MAPS: Resource = res!(
    "",
    "configmaps",
    "configmap",
    "ConfigMap",
    true,
    ["cm"],
    [],
    []
);
pub static DEPLOYMENTS: Resource = res!(
    "apps",
    "deployments",
    "deployment",
    "Deployment",
    true,
    ["deploy"],
    ["all"],
    ["status"]
);
pub static REPLICA_SETS: Resource = res!(
    "apps",
    "replicasets",
    "replicaset",
    "ReplicaSet",
    true,
    ["rs"],
    ["all"],
    ["status"]
);
pub static STATEFUL_SETS: Resource = res!(
    "apps",
    "statefulsets",
    "statefulset",
    "StatefulSet",
    true,
    ["sts"],
    ["all"],
    ["status"]
);
pub static DAEMON_SETS: Resource = res!(
    "apps",
    "daemonsets",
    "daemonset",
    "DaemonSet",
    true,
    ["ds"],
    ["all"],
    ["status"]
);
pub static JOBS: Resource = res!("batch", "jobs", "job", "Job", true, [], ["all"], ["status"]);
/// Which CSI drivers the cluster has, and how the kubelet treats their volumes.
pub static CSI_DRIVERS: Resource = res!(
    "storage.k8s.io",
    "csidrivers",
    "csidriver",
    "CSIDriver",
    false,
    [],
    [],
    []
);
/// One per node, written by its kubelet: the CSI drivers registered on that node.
pub static CSI_NODES: Resource = res!(
    "storage.k8s.io",
    "csinodes",
    "csinode",
    "CSINode",
    false,
    [],
    [],
    []
);

/// Every served resource, in discovery order.
pub static ALL: &[&Resource] = &[
    &CONFIG_MAPS,
    &EVENTS,
    &NAMESPACES,
    &NODES,
    &PERSISTENT_VOLUME_CLAIMS,
    &PERSISTENT_VOLUMES,
    &PODS,
    &DAEMON_SETS,
    &DEPLOYMENTS,
    &REPLICA_SETS,
    &STATEFUL_SETS,
    &JOBS,
    &CSI_DRIVERS,
    &CSI_NODES,
];

/// API groups other than core, with their single version.
pub static GROUPS: &[&str] = &["apps", "batch", "storage.k8s.io"];

/// Finds a resource by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    ALL.iter()
        .copied()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Finds a resource by `apiVersion` and `kind`, as written in a body.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    ALL.iter()
        .copied()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

/// Resources of one group/version.
pub fn in_group(group: &str, version: &str) -> impl Iterator<Item = &'static Resource> {
    ALL.iter()
        .copied()
        .filter(move |r| r.group == group && r.version == version)
}
