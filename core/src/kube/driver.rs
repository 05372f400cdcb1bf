//! The Lustre CSI driver check: a Lustre volume mounts only on nodes where the Azure Lustre
//! CSI driver (kubernetes-sigs/azurelustre-csi-driver, not an AKS add-on) runs a ready node
//! plugin. `mount` runs it before it applies anything; `verify` reports it.
//!
//! Three requests: the `CSIDriver`, the nodes, the node plugin's pods in `kube-system`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ::kube::Api;
use ::kube::api::ListParams;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::storage::v1::CSIDriver;
use serde::Serialize;

use super::is_forbidden;
use super::manifests::LUSTRE_DRIVER;
use crate::{Error, Result};

/// Where the driver's install script puts its node plugin and controller.
pub const DRIVER_NAMESPACE: &str = "kube-system";
/// The node plugin's DaemonSet (and its pods' `app` label).
pub const NODE_DAEMONSET: &str = "csi-azurelustre-node";
/// The taint a node carries until the driver's node plugin on it is ready.
pub const STARTUP_TAINT: &str = "azurelustre.csi.azure.com/agent-not-ready";
/// The install command of the driver's docs (kubernetes-sigs/azurelustre-csi-driver,
/// docs/install-csi-driver.md, "Remote install").
pub const INSTALL_COMMAND: &str = "curl -skSL https://raw.githubusercontent.com/kubernetes-sigs/azurelustre-csi-driver/main/deploy/install-driver.sh | bash -s main";
/// How long a node plugin that is still starting (no container has failed yet) is waited
/// for before the node counts as not ready: a cluster whose driver was installed a moment
/// ago is not broken.
pub const STARTING_GRACE: Duration = Duration::from_secs(10);

/// A node the workload may land on whose node plugin is not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeProblem {
    pub node: String,
    /// The node plugin pod on it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// What is wrong (`no csi-azurelustre-node pod`, `CrashLoopBackOff`, the taint...).
    pub reason: String,
    /// The node's OS image and kernel: the driver's Lustre client must match them.
    pub os_image: String,
    pub kernel: String,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriverReport {
    /// The `CSIDriver` object exists.
    pub csi_driver: bool,
    /// Schedulable nodes (not cordoned) looked at; `None` when nodes may not be listed.
    pub nodes: Option<usize>,
    pub not_ready: Vec<NodeProblem>,
}

impl DriverReport {
    pub fn passed(&self) -> bool {
        self.csi_driver && self.not_ready.is_empty()
    }

    /// One line saying what is wrong (or what was found).
    pub fn summary(&self) -> String {
        if !self.csi_driver {
            return format!(
                "the CSIDriver {LUSTRE_DRIVER} does not exist: the Azure Lustre CSI driver is not installed (it is no AKS add-on)"
            );
        }
        if !self.not_ready.is_empty() {
            let nodes: Vec<String> = self
                .not_ready
                .iter()
                .map(|p| format!("{} ({})", p.node, p.reason))
                .collect();
            return format!(
                "the driver's node plugin is not ready on {} of {} schedulable nodes: {}",
                self.not_ready.len(),
                self.nodes.unwrap_or(self.not_ready.len()),
                nodes.join(", ")
            );
        }
        match self.nodes {
            Some(n) => format!(
                "{LUSTRE_DRIVER} installed, node plugin ready on {n} schedulable node{}",
                if n == 1 { "" } else { "s" }
            ),
            None => {
                format!("{LUSTRE_DRIVER} installed (nodes not listed: no permission to list them)")
            }
        }
    }

    /// How to fix it: the install steps, or how to look at the nodes that are not ready.
    pub fn fix(&self) -> Vec<String> {
        if !self.csi_driver {
            return install_steps();
        }
        if self.not_ready.is_empty() {
            return Vec::new();
        }
        if self.not_ready.iter().all(|p| p.pod.is_none()) {
            let mut out = vec![format!(
                "The CSIDriver exists but no node runs the driver's node plugin (DaemonSet {DRIVER_NAMESPACE}/{NODE_DAEMONSET}): the install is incomplete."
            )];
            out.extend(install_steps());
            return out;
        }
        let mut out = vec![
            format!(
                "The driver's node plugin must be ready on every node the workload can land on (nodes keep the taint {STARTUP_TAINT}:NoSchedule until it is). See which pods are not ready, and why:"
            ),
            format!("kubectl -n {DRIVER_NAMESPACE} get pods -l app={NODE_DAEMONSET} -o wide"),
        ];
        if let Some(pod) = self.not_ready.iter().find_map(|p| p.pod.clone()) {
            out.push(format!(
                "kubectl -n {DRIVER_NAMESPACE} logs {pod} -c azurelustre"
            ));
        }
        let images: Vec<String> = {
            let mut v: Vec<String> = self
                .not_ready
                .iter()
                .map(|p| format!("{} (kernel {})", p.os_image, p.kernel))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        out.push(format!(
            "A plugin that never gets ready usually has no Lustre client for the node's image and kernel ({}): compare with `kubectl get nodes -o wide` and use a node pool with an image the driver supports (Ubuntu 22.04, osSKU Ubuntu2204), or a driver release built for this kernel",
            images.join(", ")
        ));
        out
    }
}

/// The driver docs' install steps, then how to see it is ready.
pub fn install_steps() -> Vec<String> {
    vec![
        "Install the Azure Lustre CSI driver (kubernetes-sigs/azurelustre-csi-driver; cluster-admin needed):".into(),
        INSTALL_COMMAND.into(),
        "then wait until its pods are ready on every node:".into(),
        format!("kubectl -n {DRIVER_NAMESPACE} get pods -l app=csi-azurelustre-controller"),
        format!("kubectl -n {DRIVER_NAMESPACE} get pods -l app={NODE_DAEMONSET} -o wide"),
    ]
}

/// Fails unless the driver is ready, with what is wrong, what was therefore not done
/// (`not_done`, e.g. "nothing was applied") and the steps that fix it.
pub async fn require(client: &::kube::Client, not_done: &str) -> Result<()> {
    let report = check(client, STARTING_GRACE).await?;
    if report.passed() {
        return Ok(());
    }
    let mut msg = format!("{}; {not_done}.", report.summary());
    for line in report.fix() {
        msg.push_str("\n  ");
        msg.push_str(&line);
    }
    Err(Error::ClusterRefused(msg))
}

/// Checks the driver; a node plugin still starting gets up to `grace` to become ready.
pub async fn check(client: &::kube::Client, grace: Duration) -> Result<DriverReport> {
    let deadline = Instant::now() + grace;
    loop {
        let (report, starting) = check_once(client).await?;
        if report.passed() || !starting || Instant::now() >= deadline {
            return Ok(report);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The report, and whether some node's plugin is still starting (worth waiting for).
async fn check_once(client: &::kube::Client) -> Result<(DriverReport, bool)> {
    let drivers: Api<CSIDriver> = Api::all(client.clone());
    let csi_driver = match drivers.get_opt(LUSTRE_DRIVER).await {
        Ok(d) => d.is_some(),
        // Not allowed to read it: let the nodes speak.
        Err(e) if is_forbidden(&e) => true,
        Err(e) => return Err(Error::kube(format!("read CSIDriver {LUSTRE_DRIVER}"))(e)),
    };
    if !csi_driver {
        return Ok((
            DriverReport {
                csi_driver,
                nodes: None,
                not_ready: Vec::new(),
            },
            false,
        ));
    }
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = match nodes.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) if is_forbidden(&e) => {
            return Ok((
                DriverReport {
                    csi_driver,
                    nodes: None,
                    not_ready: Vec::new(),
                },
                false,
            ));
        }
        Err(e) => return Err(Error::kube("list nodes")(e)),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), DRIVER_NAMESPACE);
    let plugins = match pods
        .list(&ListParams::default().labels(&format!("app={NODE_DAEMONSET}")))
        .await
    {
        Ok(l) => l.items,
        Err(e) if is_forbidden(&e) => Vec::new(),
        Err(e) => return Err(Error::kube(format!("list pods in {DRIVER_NAMESPACE}"))(e)),
    };
    let mut by_node: BTreeMap<String, &Pod> = BTreeMap::new();
    for p in &plugins {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
            by_node.insert(n, p);
        }
    }
    let mut schedulable = 0;
    let mut not_ready = Vec::new();
    let mut starting = false;
    for n in &nodes {
        let spec = n.spec.clone().unwrap_or_default();
        if spec.unschedulable == Some(true) {
            continue;
        }
        schedulable += 1;
        let name = n.metadata.name.clone().unwrap_or_default();
        let info = n.status.as_ref().and_then(|s| s.node_info.clone());
        let (os_image, kernel) = info
            .map(|i| (i.os_image, i.kernel_version))
            .unwrap_or_default();
        let tainted = spec.taints.iter().flatten().any(|t| t.key == STARTUP_TAINT);
        let pod = by_node.get(&name);
        let reason = match pod {
            None => Some(format!("no {NODE_DAEMONSET} pod")),
            Some(p) if !pod_ready(p) => {
                let (why, still_starting) = not_ready_reason(p);
                starting |= still_starting;
                Some(why)
            }
            Some(_) if tainted => {
                starting = true;
                Some(format!("still tainted {STARTUP_TAINT}"))
            }
            Some(_) => None,
        };
        if let Some(reason) = reason {
            not_ready.push(NodeProblem {
                node: name,
                pod: pod.and_then(|p| p.metadata.name.clone()),
                reason,
                os_image,
                kernel,
            });
        }
    }
    // A DaemonSet just installed (or a node just added) has no pod yet on some nodes: that
    // is starting too, as long as the DaemonSet exists.
    if not_ready.iter().any(|p| p.pod.is_none()) {
        let sets: Api<DaemonSet> = Api::namespaced(client.clone(), DRIVER_NAMESPACE);
        match sets.get_opt(NODE_DAEMONSET).await {
            Ok(Some(_)) => starting = true,
            Ok(None) => {}
            Err(e) if is_forbidden(&e) => starting = true,
            Err(e) => {
                return Err(Error::kube(format!(
                    "read DaemonSet {DRIVER_NAMESPACE}/{NODE_DAEMONSET}"
                ))(e));
            }
        }
    }
    Ok((
        DriverReport {
            csi_driver,
            nodes: Some(schedulable),
            not_ready,
        },
        starting,
    ))
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Why a plugin pod is not ready, and whether it may still become ready without help (no
/// container has failed or is backing off).
fn not_ready_reason(p: &Pod) -> (String, bool) {
    let statuses = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    for c in &statuses {
        let waiting = c
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone());
        if let Some(reason) = waiting.filter(|r| r != "ContainerCreating") {
            return (format!("{reason} ({} restarts)", c.restart_count), false);
        }
        if c.restart_count > 0 {
            return (
                format!(
                    "container {} not ready after {} restarts",
                    c.name, c.restart_count
                ),
                false,
            );
        }
    }
    let phase = p
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    (format!("{phase}, not ready"), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_driver_is_fixed_by_the_docs_install_command() {
        let r = DriverReport {
            csi_driver: false,
            nodes: None,
            not_ready: Vec::new(),
        };
        assert!(!r.passed());
        assert!(r.fix().iter().any(|l| l == INSTALL_COMMAND));
    }

    #[test]
    fn not_ready_nodes_are_named_with_how_to_look() {
        let r = DriverReport {
            csi_driver: true,
            nodes: Some(3),
            not_ready: vec![NodeProblem {
                node: "aks-nodepool1-0".into(),
                pod: Some("csi-azurelustre-node-abcde".into()),
                reason: "CrashLoopBackOff (4 restarts)".into(),
                os_image: "Ubuntu 24.04.2 LTS".into(),
                kernel: "6.8.0-1027-azure".into(),
            }],
        };
        assert!(!r.passed());
        assert!(r.summary().contains("aks-nodepool1-0 (CrashLoopBackOff"));
        let fix = r.fix().join("\n");
        assert!(
            fix.contains("kubectl -n kube-system get pods -l app=csi-azurelustre-node -o wide")
        );
        assert!(fix.contains("Ubuntu 24.04.2 LTS (kernel 6.8.0-1027-azure)"));
    }
}
