//! The Azure Lustre CSI driver (kubernetes-sigs/azurelustre-csi-driver) as its install
//! script deploys it — the `CSIDriver` object, the controller Deployment and the node
//! DaemonSet in `kube-system` — and its node plugin as a node runs it.
//!
//! A node pod's `azurelustre` container installs the Lustre client for the node's kernel
//! and loads LNet; its readiness probe passes once that is done (a scaled
//! [`CLIENT_INSTALL_SECS`] after the container starts). Ready, the node-driver-registrar
//! has the kubelet register the driver (the node's `CSINode` lists it) and the driver
//! removes the startup taint [`STARTUP_TAINT`] from its node. The client packages exist for
//! Ubuntu 22.04's kernels only: on a node with another kernel the install fails and the
//! container crash-loops with the kubelet's back-off, so the node keeps the taint and the
//! driver is never registered there.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::resources::{CSI_DRIVERS, CSI_NODES, DAEMON_SETS, DEPLOYMENTS, NODES, PODS};
use super::scheduler::{condition, condition_with_message};
use super::store::{EventSpec, Store};
use super::{meta, time};

mod manifests;

/// The driver's name, as volumes and `CSINode` entries name it.
pub const DRIVER: &str = "azurelustre.csi.azure.com";
/// The taint nodes carry until the driver's node plugin on them is ready.
pub const STARTUP_TAINT: &str = "azurelustre.csi.azure.com/agent-not-ready";
pub const NAMESPACE: &str = "kube-system";
pub const NODE_DAEMONSET: &str = "csi-azurelustre-node";
pub const CONTROLLER_DEPLOYMENT: &str = "csi-azurelustre-controller";
/// The container that installs the Lustre client and serves the CSI socket.
pub const PLUGIN_CONTAINER: &str = "azurelustre";
/// Where the node-driver-registrar tells the kubelet the driver's socket is.
pub(crate) const REGISTRATION_PATH: &str =
    "/var/lib/kubelet/plugins/azurelustre.csi.azure.com/csi.sock";
/// How long a node plugin takes to install the Lustre client and bring LNet up, before the
/// time scale.
pub const CLIENT_INSTALL_SECS: f64 = 45.0;
/// Marks the install in the cluster's state, so it happens once.
const INSTALL_MARK: &str = "azurelustre-csi-driver";
/// The Lustre client the node plugin installs, when its pod does not say.
const LUSTRE_VERSION: &str = "2.15.5";
const CLIENT_SHA_SUFFIX: &str = "41-gc010524";

/// The Lustre CSI driver in a cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LustreCsi {
    /// Not installed: AKS does not ship this driver (it is no add-on).
    #[default]
    Absent,
    /// Installed as the upstream install script does; node pods become ready and register.
    Installed,
    /// Installed, but the node pool runs Ubuntu 24.04, for whose kernel the driver's
    /// Lustre client does not exist: node pods crash-loop and never become ready.
    NotReady,
}

impl LustreCsi {
    pub fn installs_driver(self) -> bool {
        self != LustreCsi::Absent
    }

    /// The image the cluster's nodes run.
    pub fn node_image(self) -> NodeImage {
        match self {
            LustreCsi::NotReady => NodeImage {
                os_image: "Ubuntu 24.04.2 LTS",
                kernel: "6.8.0-1027-azure",
                os_sku: "Ubuntu2404",
                version: "AKSUbuntu-2404gen2containerd-202505.14.0",
            },
            LustreCsi::Absent | LustreCsi::Installed => NodeImage {
                os_image: "Ubuntu 22.04.5 LTS",
                kernel: "5.15.0-1089-azure",
                os_sku: "Ubuntu2204",
                version: "AKSUbuntu-2204gen2containerd-202505.14.0",
            },
        }
    }
}

/// What AKS reports about a node pool's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeImage {
    /// `status.nodeInfo.osImage`.
    pub os_image: &'static str,
    /// `status.nodeInfo.kernelVersion`.
    pub kernel: &'static str,
    /// The `kubernetes.azure.com/os-sku-effective` label.
    pub os_sku: &'static str,
    /// The agent pool's `nodeImageVersion`.
    pub version: &'static str,
}

/// When each node plugin container started installing, or restarts after a crash. Kept in
/// memory only: a sandbox that starts again finds a plugin that was not ready yet
/// installing again, as after a node reboot.
#[derive(Debug, Default)]
pub struct PluginClocks {
    started: HashMap<String, Instant>,
    restart_at: HashMap<String, Instant>,
}

impl PluginClocks {
    /// A pod is gone.
    pub fn forget(&mut self, uid: &str) {
        self.started.remove(uid);
        self.restart_at.remove(uid);
    }
}

/// Installs the driver once: the CSIDriver object, the node DaemonSet and the controller
/// Deployment, and the startup taint on every node (the node pool's `--node-taints`, as
/// the driver's documentation advises, so no workload lands before the driver is ready).
pub fn install(store: &mut Store) {
    if store.state.installed.contains(INSTALL_MARK) {
        return;
    }
    let manager = "kubectl-client-side-apply";
    let objects = [
        (&CSI_DRIVERS, None, manifests::csi_driver()),
        (&DAEMON_SETS, Some(NAMESPACE), manifests::node_daemonset()),
        (
            &DEPLOYMENTS,
            Some(NAMESPACE),
            manifests::controller_deployment(),
        ),
    ];
    for (res, ns, obj) in objects {
        let name = meta::name(&obj).to_string();
        if store.get(res, ns, &name).is_none()
            && let Err(e) = store.create(res, ns, obj, false, manager)
        {
            tracing::warn!("installing the Lustre CSI driver ({name}): {e}");
        }
    }
    for node in store.list_owned(&NODES, None) {
        let mut taints = meta::at(&node, "/spec/taints")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if taints
            .iter()
            .any(|t| t.get("key").and_then(Value::as_str) == Some(STARTUP_TAINT))
        {
            continue;
        }
        taints.push(json!({"key": STARTUP_TAINT, "effect": "NoSchedule"}));
        let mut node = node;
        node["spec"]["taints"] = Value::Array(taints);
        store.commit(&NODES, node);
    }
    store.state.installed.insert(INSTALL_MARK.into());
}

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    meta::at(pod, "/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container
        .get("env")
        .and_then(Value::as_array)?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")
        .and_then(Value::as_str)
}

/// Whether `pod` runs this driver's node plugin: its node-driver-registrar registers the
/// driver's socket with the kubelet, beside the `azurelustre` container. Recognised by
/// what the pod does, not by its name, so a driver installed with `kubectl apply` of the
/// upstream manifests works the same.
pub fn is_node_plugin(pod: &Value) -> bool {
    let registers = containers(pod).any(|c| {
        c.get("name").and_then(Value::as_str) == Some("node-driver-registrar")
            && (env(c, "DRIVER_REG_SOCK_PATH") == Some(REGISTRATION_PATH)
                || c.get("args").and_then(Value::as_array).is_some_and(|a| {
                    a.iter().any(|x| {
                        x.as_str()
                            == Some(&format!("--kubelet-registration-path={REGISTRATION_PATH}"))
                    })
                }))
    });
    registers
        && containers(pod).any(|c| c.get("name").and_then(Value::as_str) == Some(PLUGIN_CONTAINER))
}

/// The containers of a starting pod that are not ready when they start: a node plugin's
/// `azurelustre` container, until it has installed the Lustre client.
pub fn gated_containers(pod: &Value) -> Vec<String> {
    if is_node_plugin(pod) {
        vec![PLUGIN_CONTAINER.to_string()]
    } else {
        Vec::new()
    }
}

/// Whether the AMLFS Lustre client packages exist for the node's kernel: they are built for
/// Ubuntu 22.04's Azure kernels.
fn client_available(node: &Value) -> bool {
    meta::str_at(node, "/status/nodeInfo/kernelVersion").is_some_and(|k| k.starts_with("5.15."))
}

/// The kubelet's crash back-off after `restarts` restarts: 10 s doubling to 5 minutes.
fn back_off(restarts: u64) -> Duration {
    let exp = restarts.saturating_sub(1).min(5);
    Duration::from_secs((10u64 << exp).min(300))
}

/// A duration as Go prints it (`10s`, `1m20s`, `5m0s`).
fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// One tick of every node plugin (time passes without any write, so this runs on every
/// tick): installs finish or fail, crashed containers restart after their back-off, and
/// the driver's registration on each node (`CSINode`) and the nodes' startup taint follow
/// which plugins are ready.
pub fn node_plugins(store: &mut Store, time_scale: f64) {
    let plugins = store.select(&PODS, None, |p| {
        meta::str_at(p, "/status/phase") == Some("Running")
            && meta::str_at(p, "/spec/nodeName").is_some()
            && !meta::deleting(p)
            && is_node_plugin(p)
    });
    let has_registration = !plugins.is_empty()
        || store
            .list(&CSI_NODES, None)
            .iter()
            .any(|n| registered(n, DRIVER));
    if !has_registration {
        return;
    }
    let install = Duration::from_secs_f64((CLIENT_INSTALL_SECS * time_scale.max(0.0)).max(0.0));
    let now = Instant::now();
    let mut ready_on = BTreeSet::new();
    for pod in plugins {
        let node = meta::str_at(&pod, "/spec/nodeName")
            .unwrap_or("")
            .to_string();
        if advance(store, pod, install, now) {
            ready_on.insert(node);
        }
    }
    register(store, &ready_on);
}

/// Whether a `CSINode` lists `driver`.
pub fn registered(csinode: &Value, driver: &str) -> bool {
    meta::at(csinode, "/spec/drivers")
        .and_then(Value::as_array)
        .is_some_and(|d| {
            d.iter()
                .any(|x| x.get("name").and_then(Value::as_str) == Some(driver))
        })
}

/// Moves one plugin pod along; true when its `azurelustre` container is ready.
fn advance(store: &mut Store, mut pod: Value, install: Duration, now: Instant) -> bool {
    let uid = meta::uid(&pod).to_string();
    let Some(i) = meta::at(&pod, "/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|s| {
            s.iter()
                .position(|c| c.get("name").and_then(Value::as_str) == Some(PLUGIN_CONTAINER))
        })
    else {
        return false;
    };
    let status = pod["status"]["containerStatuses"][i].clone();
    if status.get("ready") == Some(&json!(true)) {
        return true;
    }
    let restarts = status
        .get("restartCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if status.pointer("/state/running").is_some() {
        let started = *store.node_plugins.started.entry(uid.clone()).or_insert(now);
        if now.duration_since(started) < install {
            return false;
        }
        store.node_plugins.started.remove(&uid);
        let node = meta::str_at(&pod, "/spec/nodeName").unwrap_or("");
        let installs = store.get(&NODES, None, node).is_some_and(client_available);
        if installs {
            let c = &mut pod["status"]["containerStatuses"][i];
            c["ready"] = json!(true);
            c["started"] = json!(true);
            mark_ready(&mut pod);
            store.commit(&PODS, pod);
            return true;
        }
        crash(store, pod, i, restarts, now);
        return false;
    }
    if status.pointer("/state/waiting").is_some() && restarts > 0 {
        let at = *store
            .node_plugins
            .restart_at
            .entry(uid.clone())
            .or_insert_with(|| now + back_off(restarts));
        if now < at {
            return false;
        }
        store.node_plugins.restart_at.remove(&uid);
        let c = &mut pod["status"]["containerStatuses"][i];
        c["state"] = json!({"running": {"startedAt": time::now()}});
        c["started"] = json!(false);
        let node = meta::str_at(&pod, "/spec/nodeName")
            .unwrap_or("")
            .to_string();
        let pod = store.commit(&PODS, pod);
        let msg = format!("Started container {PLUGIN_CONTAINER}");
        store.record_event(
            &pod,
            &PODS,
            EventSpec::normal("Started", &msg, "kubelet").on(&node),
        );
    }
    false
}

fn mark_ready(pod: &mut Value) {
    let all_ready = meta::at(pod, "/status/containerStatuses")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().all(|c| c.get("ready") == Some(&json!(true))));
    if all_ready {
        condition(pod, "Ready", "True", None);
        condition(pod, "ContainersReady", "True", None);
    }
}

/// The client install failed (no package for the node's kernel): the container exits and
/// the kubelet backs off before starting it again.
fn crash(store: &mut Store, mut pod: Value, i: usize, restarts: u64, now: Instant) {
    let uid = meta::uid(&pod).to_string();
    let name = meta::name(&pod).to_string();
    let ns = meta::namespace(&pod).unwrap_or(NAMESPACE).to_string();
    let node = meta::str_at(&pod, "/spec/nodeName")
        .unwrap_or("")
        .to_string();
    let kernel = store
        .get(&NODES, None, &node)
        .and_then(|n| meta::str_at(n, "/status/nodeInfo/kernelVersion"))
        .unwrap_or("")
        .to_string();
    let container = containers(&pod)
        .find(|c| c.get("name").and_then(Value::as_str) == Some(PLUGIN_CONTAINER))
        .cloned()
        .unwrap_or(Value::Null);
    let package = format!(
        "amlfs-lustre-client-{}-{}",
        env(&container, "LUSTRE_VERSION").unwrap_or(LUSTRE_VERSION),
        env(&container, "CLIENT_SHA_SUFFIX").unwrap_or(CLIENT_SHA_SUFFIX)
    );
    let restarts = restarts + 1;
    let wait = back_off(restarts);
    let c = &mut pod["status"]["containerStatuses"][i];
    let started_at = c
        .pointer("/state/running/startedAt")
        .cloned()
        .unwrap_or_else(|| json!(time::now()));
    let container_id = c.get("containerID").cloned().unwrap_or(Value::Null);
    c["lastState"] = json!({"terminated": {"exitCode": 100, "reason": "Error", "startedAt": started_at,
                                           "finishedAt": time::now(), "containerID": container_id}});
    c["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
        "back-off {} restarting failed container={PLUGIN_CONTAINER} pod={name}_{ns}({uid})",
        go_duration(wait)
    )}});
    c["restartCount"] = json!(restarts);
    c["ready"] = json!(false);
    c["started"] = json!(false);
    let unready = format!("containers with unready status: [{PLUGIN_CONTAINER}]");
    condition_with_message(&mut pod, "Ready", "False", "ContainersNotReady", &unready);
    condition_with_message(
        &mut pod,
        "ContainersReady",
        "False",
        "ContainersNotReady",
        &unready,
    );
    store.state.logs.insert(
        format!("{uid}/{PLUGIN_CONTAINER}"),
        format!("E: Version '{kernel}' for '{package}' was not found\n"),
    );
    let pod = store.commit(&PODS, pod);
    store
        .node_plugins
        .restart_at
        .insert(uid.clone(), now + wait);
    let msg = format!(
        "Back-off restarting failed container {PLUGIN_CONTAINER} in pod {name}_{ns}({uid})"
    );
    store.record_event(
        &pod,
        &PODS,
        EventSpec::warning("BackOff", &msg, "kubelet").on(&node),
    );
}

/// The kubelet's registration of the driver follows the ready plugins (the registrar
/// registers once the driver's socket serves; the kubelet drops the driver when the plugin
/// goes away), and the driver removes the startup taint from nodes where it is ready.
fn register(store: &mut Store, ready_on: &BTreeSet<String>) {
    for csinode in store.list_owned(&CSI_NODES, None) {
        let node = meta::name(&csinode).to_string();
        let want = ready_on.contains(&node);
        if registered(&csinode, DRIVER) == want {
            continue;
        }
        let mut drivers: Vec<Value> = meta::at(&csinode, "/spec/drivers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        drivers.retain(|d| d.get("name").and_then(Value::as_str) != Some(DRIVER));
        if want {
            drivers.push(json!({"name": DRIVER, "nodeID": node, "topologyKeys": null}));
        }
        let mut csinode = csinode;
        csinode["spec"]["drivers"] = Value::Array(drivers);
        store.commit(&CSI_NODES, csinode);
    }
    for node in ready_on {
        let Some(mut n) = store.get(&NODES, None, node).cloned() else {
            continue;
        };
        let Some(taints) = n.pointer_mut("/spec/taints").and_then(Value::as_array_mut) else {
            continue;
        };
        let before = taints.len();
        taints.retain(|t| t.get("key").and_then(Value::as_str) != Some(STARTUP_TAINT));
        if taints.len() == before {
            continue;
        }
        if taints.is_empty()
            && let Some(spec) = n.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.remove("taints");
        }
        store.commit(&NODES, n);
    }
}

/// The `CSINode` a kubelet writes for its node when it starts: no driver registered yet.
pub fn csinode_for(node: &Value) -> Value {
    json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSINode",
        "metadata": {
            "name": meta::name(node),
            "annotations": {"storage.alpha.kubernetes.io/migrated-plugins":
                "kubernetes.io/aws-ebs,kubernetes.io/azure-disk,kubernetes.io/azure-file,kubernetes.io/cinder,kubernetes.io/gce-pd,kubernetes.io/portworx-volume,kubernetes.io/vsphere-volume"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": meta::name(node), "uid": meta::uid(node)}],
        },
        "spec": {"drivers": []},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_five_minutes_and_prints_like_go() {
        let printed: Vec<String> = (1..=7).map(|n| go_duration(back_off(n))).collect();
        assert_eq!(
            printed,
            ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s"]
        );
    }

    #[test]
    fn the_installed_node_plugin_is_recognised_by_its_registrar() {
        let ds = manifests::node_daemonset();
        let pod = json!({"spec": ds["spec"]["template"]["spec"].clone()});
        assert!(is_node_plugin(&pod));
        assert_eq!(gated_containers(&pod), [PLUGIN_CONTAINER]);
        let other = json!({"spec": {"containers": [{"name": "azurelustre", "image": "x"}]}});
        assert!(!is_node_plugin(&other));
    }
}
