//! `mount`: one PV/claim pair per namespace (plus the workload patch), applied
//! concurrently with a bounded number of namespaces in flight.

use std::collections::BTreeSet;

use ::kube::Api;
use ::kube::api::ListParams;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim};
use serde::Serialize;

use super::apply::{self, Outcome};
use super::driver;
use super::existing::{self, Existing};
use super::manifests::{self, Pair, VolumeSpec};
use super::workload::{self, WorkloadMount};
use super::{DryRun, is_forbidden};
use crate::spec::kube::Workload;
use crate::state::KubeObject;
use crate::{Error, Result};

/// Namespaces applied at the same time (each is two requests in sequence).
pub const DEFAULT_CONCURRENCY: usize = 16;

#[derive(Debug, Clone)]
pub struct MountRequest {
    pub spec: VolumeSpec,
    pub namespaces: Vec<String>,
    /// `--to` and `--mount-path`.
    pub workload: Option<(Workload, String)>,
    pub dry_run: DryRun,
    pub concurrency: usize,
}

/// One object written (or that would be, with a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct AppliedObject {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub outcome: Outcome,
    /// The object as the server answered; `None` for a workload patch.
    pub object: Option<serde_json::Value>,
}

impl AppliedObject {
    /// `persistentvolume/NAME`, as `kubectl apply -o name` prints it.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }

    /// The state file's record of it; a patched workload was not created by us.
    pub fn record(&self) -> KubeObject {
        KubeObject {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            created: matches!(
                self.kind.as_str(),
                "PersistentVolume" | "PersistentVolumeClaim"
            ),
        }
    }
}

/// What a mount did: everything that succeeded, and each namespace that failed.
#[derive(Debug, Default)]
pub struct MountResult {
    pub applied: Vec<AppliedObject>,
    pub failed: Vec<(String, Error)>,
}

/// The names of namespaces matching a label selector (`--namespace-selector`), sorted.
pub async fn namespaces_matching(client: &::kube::Client, selector: &str) -> Result<Vec<String>> {
    let api: Api<Namespace> = Api::all(client.clone());
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(Error::kube(format!("list namespaces matching {selector}")))?;
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Fails, naming them, when any of `names` is not a namespace of the cluster: a mount
/// checks before it applies anything, so `-n ghost` leaves no volume behind (the PV is
/// cluster-wide and would be created before the claim's namespace is found missing).
/// One list of namespaces; a user who may not list them has each one read instead.
pub async fn require_namespaces(client: &::kube::Client, names: &[String]) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let missing: Vec<&String> = match api.list(&ListParams::default()).await {
        Ok(list) => {
            let existing: BTreeSet<String> = list
                .items
                .into_iter()
                .filter_map(|n| n.metadata.name)
                .collect();
            names.iter().filter(|n| !existing.contains(*n)).collect()
        }
        Err(e) if is_forbidden(&e) => {
            let mut missing = Vec::new();
            for n in names {
                match api.get_opt(n).await {
                    Ok(Some(_)) => {}
                    Ok(None) => missing.push(n),
                    // Not allowed to read it either: the apply will say what the server thinks.
                    Err(e) if is_forbidden(&e) => {}
                    Err(e) => return Err(Error::kube(format!("read namespace {n}"))(e)),
                }
            }
            missing
        }
        Err(e) => return Err(Error::kube("list namespaces")(e)),
    };
    let quoted: Vec<String> = missing.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.as_slice() {
        [] => Ok(()),
        [one] => Err(Error::ClusterNotFound(format!(
            "namespaces {one} not found; nothing was applied. Create it first (kubectl create namespace {}) or pass another -n",
            missing[0]
        ))),
        many => Err(Error::ClusterNotFound(format!(
            "namespaces {} not found; nothing was applied. Create them first or pass other namespaces with -n",
            many.join(", ")
        ))),
    }
}

/// Before a Lustre volume is applied: the Lustre CSI driver must be installed and its node
/// plugin ready on every schedulable node, or the volume would be applied and never mount.
/// Fails with what is wrong and the steps that fix it; an NFS volume needs nothing.
pub async fn require_driver(client: &::kube::Client, spec: &VolumeSpec) -> Result<()> {
    if !matches!(spec.source, manifests::VolumeSource::Lustre { .. }) {
        return Ok(());
    }
    driver::require(client, "nothing was applied").await
}

/// The pairs a request makes, in namespace order.
pub fn pairs(req: &MountRequest) -> Vec<Pair> {
    let several = req.namespaces.len() > 1;
    req.namespaces
        .iter()
        .map(|ns| manifests::pair(&req.spec, ns, several))
        .collect()
}

pub async fn mount(client: &::kube::Client, req: &MountRequest) -> MountResult {
    let concurrency = req.concurrency.max(1);
    let known = &existing::list(client, &req.spec.deployment, &req.namespaces).await;
    let mut results: Vec<(String, Result<Vec<AppliedObject>>)> = futures::stream::iter(pairs(req))
        .map(|pair| async move {
            let ns = pair.namespace.clone();
            (ns, mount_one(client, req, known, pair).await)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = MountResult::default();
    for (ns, r) in results {
        match r {
            Ok(objs) => out.applied.extend(objs),
            Err(e) => out.failed.push((ns, e)),
        }
    }
    out
}

async fn mount_one(
    client: &::kube::Client,
    req: &MountRequest,
    known: &Existing,
    pair: Pair,
) -> Result<Vec<AppliedObject>> {
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &pair.namespace);
    let mut out = Vec::new();
    let known_pv = known.pv(pair.pv_name());
    let known_claim = known.claim(&pair.namespace, pair.claim_name());
    let pv = apply::apply_with(&pvs, pair.pv, known_pv, req.dry_run, keep_binding).await?;
    out.push(applied("PersistentVolume", None, pv.object, pv.outcome));
    let claim = apply::apply_with(&claims, pair.claim, known_claim, req.dry_run, |_, _| {}).await?;
    out.push(applied(
        "PersistentVolumeClaim",
        Some(pair.namespace.clone()),
        claim.object,
        claim.outcome,
    ));
    if let Some((w, mount_path)) = &req.workload {
        let m = WorkloadMount {
            workload: w.clone(),
            namespace: pair.namespace.clone(),
            claim: out[1].name.clone(),
            mount_path: mount_path.clone(),
        };
        let outcome = workload::add(client, &m, req.dry_run).await?;
        out.push(AppliedObject {
            kind: w.kind().to_string(),
            namespace: Some(pair.namespace.clone()),
            name: w.name().to_string(),
            outcome,
            object: None,
        });
    }
    Ok(out)
}

/// Once bound, the binder adds the claim's uid to `claimRef`. A real server treats
/// `claimRef` as one atomic value, so applying it without the uid would unbind and rebind
/// the volume on every run; keep what the binder wrote when it names our claim.
fn keep_binding(current: &PersistentVolume, desired: &mut PersistentVolume) {
    let cur = current.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    let Some(spec) = desired.spec.as_mut() else {
        return;
    };
    if let (Some(cur), Some(want)) = (cur, spec.claim_ref.as_mut())
        && cur.namespace == want.namespace
        && cur.name == want.name
        && cur.uid.is_some()
    {
        *want = cur.clone();
    }
}

fn applied<K: ::kube::Resource + Serialize>(
    kind: &str,
    namespace: Option<String>,
    object: K,
    outcome: Outcome,
) -> AppliedObject {
    AppliedObject {
        kind: kind.to_string(),
        namespace,
        name: object.meta().name.clone().unwrap_or_default(),
        outcome,
        object: serde_json::to_value(&object).ok(),
    }
}
