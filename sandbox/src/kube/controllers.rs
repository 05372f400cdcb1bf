//! The control loop: every tick the namespace controller, the garbage collector, the
//! volume binder, the workload controllers, the scheduler, the Lustre CSI node plugins and
//! the kubelet model each take one pass, so the cluster converges within a few ticks of
//! any change.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::resources::{self, NAMESPACES, Resource};
use super::store::{DeleteOpts, Shared, Store};
use super::{ClusterInfo, binder, kubelet, lustre_csi, meta, scheduler, workloads};
use crate::fabric::Fabric;

/// How often the controllers run.
pub const TICK: Duration = Duration::from_millis(50);
/// A tick with no change since the last pass skips the controllers (a pass reads every
/// object, which with thousands of them costs more than the requests it serves); a full
/// pass still runs this often, as informers resync, for what follows from time alone
/// (repeated events). The kubelet model and the CSI node plugins run every tick: a mount
/// can start working because of the Azure half, and a plugin become ready with time, which
/// no resourceVersion here records.
pub const RESYNC: Duration = Duration::from_secs(1);

pub fn spawn(
    store: Shared,
    info: ClusterInfo,
    fabric: Arc<dyn Fabric>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        // The resourceVersion the last pass started from: a pass whose own writes moved it
        // is followed by another, until one changes nothing.
        let mut passed_at: Option<u64> = None;
        let mut last_pass = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(TICK) => {}
            }
            let pending = {
                let mut s = store.lock();
                let rv = s.current_rv();
                if passed_at != Some(rv) || last_pass.elapsed() >= RESYNC {
                    reconcile(&mut s);
                    passed_at = Some(rv);
                    last_pass = std::time::Instant::now();
                }
                // Like the mounts, a node plugin moves on with time alone.
                lustre_csi::node_plugins(&mut s, info.time_scale);
                kubelet::plan(&mut s)
            };
            if pending.is_empty() {
                continue;
            }
            // The fabric is the Azure half's world: ask it without holding the cluster's lock.
            let fabric = fabric.clone();
            let cluster = info.arm_id.clone();
            let outcomes = match tokio::task::spawn_blocking(move || {
                kubelet::check(pending, &fabric, &cluster)
            })
            .await
            {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!("kubelet mount check failed: {e}");
                    continue;
                }
            };
            kubelet::apply(&mut store.lock(), outcomes);
        }
    });
}

/// Passes until one changes nothing (at most a few), before a saved cluster serves again:
/// a real cluster's controllers went on while this one was saved, so what they would have
/// done (a PV applied by a command that exited before the first tick, bound) is done before
/// anyone reads. Without it a short command after a short command sees nothing move.
pub fn catch_up(store: &mut Store) {
    for _ in 0..8 {
        let rv = store.current_rv();
        reconcile(store);
        if store.current_rv() == rv {
            return;
        }
    }
}

/// One pass of every controller except the kubelet's mounts.
pub fn reconcile(store: &mut Store) {
    namespaces(store);
    garbage(store);
    binder::reconcile(store);
    workloads::reconcile(store);
    scheduler::reconcile(store);
}

/// Terminating namespaces: delete their content, then release the namespace.
fn namespaces(store: &mut Store) {
    for ns in store.select(&NAMESPACES, None, meta::deleting) {
        let name = meta::name(&ns).to_string();
        let mut left = 0;
        for res in resources::ALL.iter().copied().filter(|r| r.namespaced) {
            for o in store.list_owned(res, Some(&name)) {
                left += 1;
                if !meta::deleting(&o) {
                    let opts = DeleteOpts {
                        propagation: Some("Background".into()),
                        ..Default::default()
                    };
                    let _ = store.delete(res, Some(&name), meta::name(&o), &opts);
                }
            }
        }
        if left == 0 {
            let mut ns = ns;
            ns["spec"] = json!({});
            meta::set_finalizers(&mut ns, &[]);
            store.remove(&NAMESPACES, None, &name);
        } else if meta::at(&ns, "/status/conditions").is_none() {
            let mut ns = ns;
            ns["status"]["conditions"] = json!([{
                "type": "NamespaceContentRemaining", "status": "True",
                "lastTransitionTime": super::time::now(), "reason": "SomeResourcesRemain",
                "message": format!("Some resources are remaining: {left} objects"),
            }]);
            store.commit(&NAMESPACES, ns);
        }
    }
}

/// The garbage collector: dependents of deleted owners go (background propagation);
/// `foregroundDeletion` owners wait for them; `orphan` owners release them.
fn garbage(store: &mut Store) {
    // One look at every object: the dependents (they have owners) and the owners waiting
    // on them (deleting with a foreground or orphan finalizer).
    let mut dependents: Vec<(&'static Resource, Value)> = Vec::new();
    let mut waiting: Vec<(&'static Resource, Value)> = Vec::new();
    for res in resources::ALL.iter().copied() {
        for o in store.list(res, None) {
            if !owner_uids(o).is_empty() {
                dependents.push((res, o.clone()));
            }
            if meta::deleting(o)
                && meta::finalizers(o)
                    .iter()
                    .any(|x| x == "foregroundDeletion" || x == "orphan")
            {
                waiting.push((res, o.clone()));
            }
        }
    }
    if dependents.is_empty() && waiting.is_empty() {
        return;
    }
    // Owners being deleted and how: their uid and finalizers.
    let deleting_owners: Vec<(String, Vec<String>)> = waiting
        .iter()
        .map(|(_, o)| (meta::uid(o).to_string(), meta::finalizers(o)))
        .collect();
    let owner_finalizing = |u: &String, finalizer: &str| {
        deleting_owners
            .iter()
            .any(|(du, f)| du == u && f.iter().any(|x| x == finalizer))
    };
    // Decided against the store as it is, then carried out.
    let (orphans, doomed) = {
        let uids: std::collections::HashSet<&str> =
            store.state.objects.values().map(meta::uid).collect();
        let mut orphans = Vec::new();
        let mut doomed = Vec::new();
        for (res, o) in dependents {
            let owners = owner_uids(&o);
            if owners.iter().any(|u| owner_finalizing(u, "orphan")) {
                orphans.push((res, o));
            } else if !meta::deleting(&o)
                && owners.iter().all(|u| {
                    !uids.contains(u.as_str()) || owner_finalizing(u, "foregroundDeletion")
                })
            {
                doomed.push((res, o));
            }
        }
        (orphans, doomed)
    };
    for (res, mut o) in orphans {
        meta::metadata_mut(&mut o).remove("ownerReferences");
        store.commit(res, o);
    }
    for (res, o) in doomed {
        let opts = DeleteOpts {
            propagation: Some("Background".into()),
            ..Default::default()
        };
        let _ = store.delete(res, meta::namespace(&o), meta::name(&o), &opts);
    }
    // Owners waiting in the foreground, or orphaning: drop the finalizer once done.
    for (res, o) in waiting {
        // Re-read: releasing dependents above may have changed the owner too.
        let Some(o) = store.get(res, meta::namespace(&o), meta::name(&o)).cloned() else {
            continue;
        };
        let uid = meta::uid(&o).to_string();
        let has_dependents = store
            .state
            .objects
            .values()
            .any(|d| owner_uids(d).contains(&uid));
        if !has_dependents {
            let rest: Vec<String> = meta::finalizers(&o)
                .into_iter()
                .filter(|x| x != "foregroundDeletion" && x != "orphan")
                .collect();
            let mut o = o;
            meta::set_finalizers(&mut o, &rest);
            store.commit(res, o);
        }
    }
}

/// The uids of an object's owners.
fn owner_uids(o: &Value) -> Vec<String> {
    meta::at(o, "/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
        .collect()
}

/// For tests: one full synchronous pass without the fabric.
pub fn step(store: &Shared) {
    reconcile(&mut store.lock());
}
