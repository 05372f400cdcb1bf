//! `unmount`: take the volume out of the workloads this tool patched, then delete the
//! claims and PVs. The data stays on the cache (reclaim policy Retain, and NFS volumes are
//! never deleted by Kubernetes anyway).

use ::kube::Api;
use ::kube::api::{DeleteParams, ListParams};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde::Serialize;

use super::status::{status, uses_claim};
use super::workload::{self, volume_name};
use super::{LABEL_VOLUME, is_not_found};
use crate::spec::kube::{self as kspec, Workload};
use crate::state::KubeObject;
use crate::{Error, Result};

/// One object removed or changed.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// `deleted` or `patched`.
    pub action: &'static str,
}

impl Removed {
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// Unmounts the pairs of `deployment` whose claims are in `namespaces` (`None`: every
/// namespace, and volumes whose claim is gone); `recorded` is the state file's list (for
/// the workloads patched). Refuses, before changing anything, when a namespace named holds
/// nothing of the deployment (as `kubectl delete` refuses a name it cannot find), and while
/// a pod this tool did not patch mounts a claim — unless `force`.
pub async fn unmount(
    client: &::kube::Client,
    deployment: &str,
    recorded: &[KubeObject],
    force: bool,
    namespaces: Option<&[String]>,
) -> Result<Vec<Removed>> {
    let mut volumes = status(client, deployment).await?;
    if let Some(scope) = namespaces {
        let empty: Vec<&String> = scope
            .iter()
            .filter(|ns| !volumes.iter().any(|v| &&v.namespace == ns))
            .collect();
        if !empty.is_empty() {
            let mut elsewhere: Vec<&str> = volumes
                .iter()
                .map(|v| v.namespace.as_str())
                .filter(|n| !n.is_empty())
                .collect();
            elsewhere.dedup();
            let quoted: Vec<String> = empty.iter().map(|n| format!("\"{n}\"")).collect();
            return Err(Error::ClusterNotFound(format!(
                "no volume of deployment {deployment} in namespace{} {}; nothing was removed. {}",
                if empty.len() == 1 { "" } else { "s" },
                quoted.join(", "),
                if elsewhere.is_empty() {
                    "It has no volume in any namespace".to_string()
                } else {
                    format!(
                        "It has volumes in: {} (pass them with -n, or --all-namespaces for all)",
                        elsewhere.join(", ")
                    )
                }
            )));
        }
        volumes.retain(|v| scope.contains(&v.namespace));
    }
    if !force {
        let mut blockers = Vec::new();
        for v in volumes.iter().filter(|v| !v.namespace.is_empty()) {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &v.namespace);
            let list = pods
                .list(&ListParams::default())
                .await
                .map_err(Error::kube(format!("list pods in {}", v.namespace)))?;
            let ours = volume_name(&v.claim);
            for p in list.items.iter().filter(|p| uses_claim(p, &v.claim)) {
                let patched = p
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_VOLUME))
                    .is_some_and(|l| *l == ours);
                if !patched {
                    blockers.push(format!(
                        "{}/{}",
                        v.namespace,
                        p.metadata.name.clone().unwrap_or_default()
                    ));
                }
            }
        }
        if !blockers.is_empty() {
            return Err(Error::ClusterRefused(format!(
                "pods that kubectl hpccache did not patch still use the claim: {}. Remove the volume from them first, or pass --force (the pods keep running until restarted; no data is deleted)",
                blockers.join(", ")
            )));
        }
    }
    let mut out = Vec::new();
    for obj in recorded.iter().filter(|o| !o.created) {
        let Some(ns) = &obj.namespace else { continue };
        let Ok(w) = kspec::workload("--to", &format!("{}/{}", obj.kind, obj.name)) else {
            continue;
        };
        for v in volumes.iter().filter(|v| &v.namespace == ns) {
            if workload::remove(client, &w, ns, &v.claim).await? {
                out.push(removed(&w, ns));
            }
        }
    }
    for v in &volumes {
        if !v.namespace.is_empty() && v.claim_phase != "Missing" {
            let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &v.namespace);
            delete(&api, &v.claim, format!("{}/{}", v.namespace, v.claim)).await?;
            out.push(Removed {
                kind: "PersistentVolumeClaim".into(),
                namespace: Some(v.namespace.clone()),
                name: v.claim.clone(),
                action: "deleted",
            });
        }
        let api: Api<PersistentVolume> = Api::all(client.clone());
        delete(&api, &v.pv, v.pv.clone()).await?;
        out.push(Removed {
            kind: "PersistentVolume".into(),
            namespace: None,
            name: v.pv.clone(),
            action: "deleted",
        });
    }
    Ok(out)
}

fn removed(w: &Workload, ns: &str) -> Removed {
    Removed {
        kind: w.kind().into(),
        namespace: Some(ns.to_string()),
        name: w.name().into(),
        action: "patched",
    }
}

async fn delete<K>(api: &Api<K>, name: &str, what: String) -> Result<()>
where
    K: ::kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(source) => {
            return Err(Error::Kube {
                action: format!("delete {what}"),
                source,
            });
        }
    }
    // Like `kubectl delete`, wait until the protection finalizers let it go, so a
    // `status` right after shows it gone. A claim a pod still uses (--force) stays
    // Terminating until that pod ends; do not wait for that forever.
    let deadline = std::time::Instant::now() + DELETE_WAIT;
    while std::time::Instant::now() < deadline {
        match api.get_opt(name).await {
            Ok(None) => break,
            Ok(Some(_)) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            Err(source) => {
                return Err(Error::Kube {
                    action: format!("read {what}"),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// How long to wait for a deleted object to disappear.
const DELETE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
