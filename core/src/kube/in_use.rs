//! The pods that use a deployment's claims: what breaks when its cache goes. `az-hpccache-ext
//! down` refuses while there are any (issue 12 item 4).

use ::kube::Api;
use ::kube::api::ListParams;
use k8s_openapi::api::core::v1::{PersistentVolume, Pod};

use super::manifests::selector;
use super::status::uses_claim;
use crate::{Error, Result};

/// `namespace/pod` of every pod not yet ended (phase other than Succeeded or Failed) that
/// mounts a claim of one of `deployment`'s PVs, sorted. Two list requests.
pub async fn pods_using(client: &::kube::Client, deployment: &str) -> Result<Vec<String>> {
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let claims: Vec<(String, String)> = pvs
        .list(&ListParams::default().labels(&selector(deployment)))
        .await
        .map_err(Error::kube("list PersistentVolumes"))?
        .items
        .into_iter()
        .filter_map(|pv| {
            let r = pv.spec?.claim_ref?;
            Some((r.namespace?, r.name?))
        })
        .collect();
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let pods: Api<Pod> = Api::all(client.clone());
    let mut found: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .map_err(Error::kube("list pods"))?
        .items
        .iter()
        .filter(|p| {
            let ended = p
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|ph| ph == "Succeeded" || ph == "Failed");
            let ns = p.metadata.namespace.as_deref().unwrap_or_default();
            !ended
                && claims
                    .iter()
                    .any(|(cns, claim)| cns == ns && uses_claim(p, claim))
        })
        .map(|p| {
            format!(
                "{}/{}",
                p.metadata.namespace.as_deref().unwrap_or_default(),
                p.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    found.sort();
    Ok(found)
}
