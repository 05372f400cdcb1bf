//! `up --owner UID:GID`: give the namespace path to a non-root user, so a workload running
//! as that uid can write — also with root squash on, where nothing in the cluster could
//! chown anything any more.
//!
//! After the Azure side is finished (cache, storage target, DNS records), with the cluster's
//! credentials fetched through ARM as `attach` does:
//! 1. root squash off, when the cache has it on (only root may chown, and only unsquashed);
//! 2. the owner job ([`crate::kube::owner`]) in the cluster: `mkdir -p` + `chown`, waited
//!    for, deleted; recorded in the state file (`owner`);
//! 3. root squash as asked (`--root-squash`: on; neither flag: as the cache had it).
//!
//! Each part observes first, so a run stopped anywhere resumes: a recorded owner skips the
//! job (and its script leaves an owner that is already right alone), a cache that already
//! has the setting gets no request.

use std::time::Duration;

use serde::Serialize;

use super::context::Waits;
use super::plan::PlanItem;
use super::spec::UpSpec;
use crate::azure::cache::{self, Cache};
use crate::azure::{ArmClient, ResourceId, aks};
use crate::kube::owner::{self as job, OwnerJob};
use crate::progress::{Event, Progress};
use crate::state::{LockedState, OwnerRecord, State};
use crate::{Error, Result};

/// The name of this part of `up` in plans and progress.
pub const STEP: &str = "owner";

/// Where and how the job runs (`--namespace`, `--probe-image`).
#[derive(Debug, Clone)]
pub struct OwnerOptions {
    pub namespace: String,
    pub image: String,
    pub timeout: Duration,
}

/// What the owner step did, for `up`'s summary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerOutcome {
    pub uid: u32,
    pub gid: u32,
    pub path: String,
    /// `ran`, or `skipped` when the state file recorded it done.
    pub job: &'static str,
    /// Whether the job changed the owner (false: it was already right).
    pub changed: bool,
    /// The cache's root squash at the end.
    pub root_squash: bool,
}

/// Whether the state file records the owner `spec` asks for as given.
pub fn done(state: &State, spec: &UpSpec) -> bool {
    match (&state.owner, spec.owner) {
        (Some(r), Some(o)) => r.uid == o.uid && r.gid == o.gid && r.path == spec.namespace_path,
        _ => false,
    }
}

/// What the step would do (`--dry-run`), from the state file alone: a dry run does not
/// reach into the cluster.
pub fn plan(spec: &UpSpec, state: &State, opts: &OwnerOptions) -> Vec<PlanItem> {
    let Some(owner) = spec.owner else {
        return Vec::new();
    };
    let cache = state
        .resources
        .get(super::keys::CACHE)
        .map(|r| r.id.trim_start_matches("planned:").to_string())
        .unwrap_or_else(|| spec.deployment.clone());
    let item = |action: &str, resource: String, reason: String| PlanItem {
        step: STEP.to_string(),
        action: action.to_string(),
        resource,
        reason,
    };
    if done(state, spec) {
        return vec![item(
            "none",
            spec.namespace_path.clone(),
            format!("the state file records it given to {owner}"),
        )];
    }
    let squash_now = state.cache.as_ref().map(|c| c.root_squash);
    let mut out = Vec::new();
    if squash_now == Some(true) {
        out.push(item(
            "update",
            cache.clone(),
            "root squash off while the job runs (root must not be squashed to chown)".into(),
        ));
    }
    out.push(item(
        "create",
        format!("job/hpccache-owner-* in namespace {}", opts.namespace),
        format!(
            "mkdir -p and chown {owner} {} through the cache, as root; deleted when done",
            spec.namespace_path
        ),
    ));
    let want = spec.root_squash.unwrap_or(squash_now.unwrap_or(false));
    if want {
        out.push(item(
            "update",
            cache,
            "root squash on again, as asked".into(),
        ));
    }
    out
}

/// Runs the step on a finished deployment (the state file locked by `store`).
pub async fn prepare(
    client: &ArmClient,
    store: &LockedState,
    spec: &UpSpec,
    opts: &OwnerOptions,
    waits: &Waits,
    progress: &Progress,
) -> Result<OwnerOutcome> {
    let Some(owner) = spec.owner else {
        return Err(Error::Lookup {
            what: "the owner to give the directory to".into(),
            reason: "--owner was not given".into(),
        });
    };
    let started = std::time::Instant::now();
    progress.emit(Event::StepStarted {
        step: STEP.to_string(),
        detail: Some(format!("{} for {owner}", spec.namespace_path)),
    });
    let missing = |what: &str| Error::Lookup {
        what: format!("the {what} of deployment {}", spec.deployment),
        reason: "the state file does not record it; run `up` to the end first".into(),
    };
    let mut state = store.load()?.ok_or_else(|| Error::StateMissing {
        path: store.path().to_path_buf(),
    })?;
    let cache_id = state
        .resources
        .get(super::keys::CACHE)
        .map(|r| r.id.clone())
        .ok_or_else(|| missing("cache"))?;
    let cache_id = ResourceId::parse(&cache_id)?;
    let mut current = cache::get_cache(client, &cache_id).await?;
    let had = current.root_squash().unwrap_or(false);
    let mut ran = false;
    let mut changed = false;
    let want = spec.root_squash.unwrap_or(had);
    if !done(&state, spec) {
        // Everything that can be refused without changing anything comes first: the
        // cluster's credentials and the job's namespace, before root squash is turned off.
        let server = state
            .dns
            .as_ref()
            .map(|d| d.fqdn.clone())
            .ok_or_else(|| missing("DNS name"))?;
        let cluster = state
            .cluster
            .as_ref()
            .map(|c| c.id.clone())
            .ok_or_else(|| missing("cluster"))?;
        let kubeconfig =
            aks::list_cluster_user_credential(client, &ResourceId::parse(&cluster)?).await?;
        let kubeconfig = String::from_utf8(kubeconfig).map_err(|_| Error::UnexpectedResponse {
            url: cluster.clone(),
            reason: "the cluster's kubeconfig is not UTF-8".into(),
        })?;
        let kube = crate::kube::attach::client_from_kubeconfig(&kubeconfig).await?;
        job::allowed_in(&kube, &opts.namespace).await?;
        if current.root_squash() != Some(false) {
            current = set_root_squash(client, store, &mut state, &current, false, waits).await?;
        }
        let outcome = job::run(
            &kube,
            &OwnerJob {
                namespace: opts.namespace.clone(),
                deployment: spec.deployment.clone(),
                server,
                path: spec.namespace_path.clone(),
                dir: String::new(),
                owner,
                image: opts.image.clone(),
                timeout: opts.timeout,
            },
        )
        .await;
        let report = match outcome {
            Ok(r) => r,
            Err(e) => {
                // Root squash was turned off for the job alone: put it back as asked before
                // reporting, so a failed job does not leave root unsquashed. Best effort;
                // the job's error is the one to show.
                if want && current.root_squash() != Some(true) {
                    let _ = set_root_squash(client, store, &mut state, &current, true, waits).await;
                }
                return Err(e);
            }
        };
        ran = true;
        changed = report.changed;
        state.owner = Some(OwnerRecord {
            uid: owner.uid,
            gid: owner.gid,
            path: spec.namespace_path.clone(),
        });
        store.save(&state)?;
    }
    if current.root_squash() != Some(want) {
        current = set_root_squash(client, store, &mut state, &current, want, waits).await?;
    }
    progress.emit(Event::StepFinished {
        step: STEP.to_string(),
        elapsed: started.elapsed(),
    });
    Ok(OwnerOutcome {
        uid: owner.uid,
        gid: owner.gid,
        path: spec.namespace_path.clone(),
        job: if ran { "ran" } else { "skipped" },
        changed,
        root_squash: current.root_squash().unwrap_or(want),
    })
}

/// One PATCH of the cache's access policy, waited for, and recorded in the state file.
async fn set_root_squash(
    client: &ArmClient,
    store: &LockedState,
    state: &mut State,
    current: &Cache,
    on: bool,
    waits: &Waits,
) -> Result<Cache> {
    cache::begin_set_root_squash(client, current, on)
        .await?
        .wait(client, &waits.cache)
        .await?;
    let after = cache::get_cache(client, &ResourceId::parse(&current.id)?).await?;
    if let Some(info) = state.cache.as_mut() {
        info.root_squash = after.root_squash().unwrap_or(on);
        store.save(state)?;
    }
    Ok(after)
}
