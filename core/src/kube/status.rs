//! `status`: each PV/claim pair of a deployment, its phase and the pods using it.

use std::collections::BTreeMap;

use ::kube::Api;
use ::kube::api::ListParams;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde::Serialize;

use super::manifests::{self, VolumeSource, selector};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeStatus {
    pub pv: String,
    pub pv_phase: String,
    pub namespace: String,
    pub claim: String,
    /// `Missing` when the claim does not exist.
    pub claim_phase: String,
    pub capacity: String,
    /// `nfs` or `lustre`.
    pub source: String,
    /// The NFS server, or the Lustre MGS address.
    pub server: String,
    /// The NFS path, or `/<fs-name>[/<sub-dir>]` of a Lustre volume.
    pub path: String,
    pub mount_options: Vec<String>,
    /// Pods in the claim's namespace that mount it.
    pub pods: Vec<String>,
}

/// The PVs labelled with `deployment`, sorted by namespace then name. Three list requests
/// whatever the number of namespaces: PVs and claims by label, pods of all namespaces.
pub async fn status(client: &::kube::Client, deployment: &str) -> Result<Vec<VolumeStatus>> {
    let lp = ListParams::default().labels(&selector(deployment));
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvs = pvs
        .list(&lp)
        .await
        .map_err(Error::kube("list PersistentVolumes"))?
        .items;
    if pvs.is_empty() {
        return Ok(Vec::new());
    }
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let claims = claims
        .list(&lp)
        .await
        .map_err(Error::kube("list PersistentVolumeClaims"))?
        .items;
    let pods: Api<Pod> = Api::all(client.clone());
    let pods = pods
        .list(&ListParams::default())
        .await
        .map_err(Error::kube("list pods"))?
        .items;
    let key = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        (
            m.namespace.clone().unwrap_or_default(),
            m.name.clone().unwrap_or_default(),
        )
    };
    let claim_phase: BTreeMap<(String, String), String> = claims
        .into_iter()
        .map(|c| {
            let phase = if c.metadata.deletion_timestamp.is_some() {
                "Terminating".to_string()
            } else {
                c.status
                    .and_then(|s| s.phase)
                    .unwrap_or_else(|| "Pending".into())
            };
            (key(&c.metadata), phase)
        })
        .collect();
    let mut pods_by_ns: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for p in pods {
        pods_by_ns
            .entry(p.metadata.namespace.clone().unwrap_or_default())
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for pv in pvs {
        let spec = pv.spec.clone().unwrap_or_default();
        let cref = spec.claim_ref.clone().unwrap_or_default();
        let namespace = cref.namespace.clone().unwrap_or_default();
        let claim = cref.name.clone().unwrap_or_default();
        let claim_phase = claim_phase
            .get(&(namespace.clone(), claim.clone()))
            .cloned()
            .unwrap_or_else(|| "Missing".into());
        let pods = pods_by_ns
            .get(&namespace)
            .map(|ps| pods_using(ps, &claim))
            .unwrap_or_default();
        let source = manifests::source_of(&pv);
        let (kind, server, path) = match &source {
            Some(s @ VolumeSource::Nfs { .. }) => ("nfs", s.server().to_string(), s.path()),
            Some(s @ VolumeSource::Lustre { .. }) => ("lustre", s.server().to_string(), s.path()),
            None => ("", String::new(), String::new()),
        };
        out.push(VolumeStatus {
            pv: pv.metadata.name.clone().unwrap_or_default(),
            pv_phase: if pv.metadata.deletion_timestamp.is_some() {
                "Terminating".into()
            } else {
                pv.status
                    .and_then(|s| s.phase)
                    .unwrap_or_else(|| "Pending".into())
            },
            namespace,
            claim,
            claim_phase,
            capacity: spec
                .capacity
                .as_ref()
                .and_then(|c| c.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default(),
            source: kind.to_string(),
            server,
            path,
            mount_options: spec.mount_options.unwrap_or_default(),
            pods,
        });
    }
    out.sort_by(|a, b| (&a.namespace, &a.pv).cmp(&(&b.namespace, &b.pv)));
    Ok(out)
}

/// Names of the pods that mount `claim`, sorted.
pub fn pods_using(pods: &[Pod], claim: &str) -> Vec<String> {
    let mut names: Vec<String> = pods
        .iter()
        .filter(|p| uses_claim(p, claim))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    names
}

pub fn uses_claim(pod: &Pod, claim: &str) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| {
            vs.iter().any(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
        })
}
