//! The control loop: every tick the namespace controller, the garbage collector, the
//! volume binder, the workload controllers, the scheduler and the kubelet model each
//! take one pass, so the cluster converges within a few ticks of any change.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::resources::{self, NAMESPACES};
use super::store::{DeleteOpts, Shared, Store};
use super::{ClusterInfo, binder, kubelet, meta, scheduler, workloads};
use crate::fabric::NfsFabric;

/// How often the controllers run.
pub const TICK: Duration = Duration::from_millis(50);

pub fn spawn(
    store: Shared,
    info: ClusterInfo,
    fabric: Arc<dyn NfsFabric>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(TICK) => {}
            }
            let pending = {
                let mut s = store.lock();
                reconcile(&mut s);
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
    for ns in store.list_owned(&NAMESPACES, None) {
        if !meta::deleting(&ns) {
            continue;
        }
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
        } else if ns.pointer("/status/conditions").is_none() {
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
    let uids: std::collections::HashSet<String> = store
        .state
        .objects
        .values()
        .map(|o| meta::uid(o).to_string())
        .collect();
    let mut deleting_owners: Vec<(String, Vec<String>)> = Vec::new();
    for res in resources::ALL.iter().copied() {
        for o in store.list(res, None) {
            if meta::deleting(o) {
                deleting_owners.push((meta::uid(o).to_string(), meta::finalizers(o)));
            }
        }
    }
    for res in resources::ALL.iter().copied() {
        for o in store.list_owned(res, None) {
            let owners: Vec<String> = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
                .collect();
            if owners.is_empty() {
                continue;
            }
            let orphaning = owners.iter().any(|u| {
                deleting_owners
                    .iter()
                    .any(|(du, f)| du == u && f.iter().any(|x| x == "orphan"))
            });
            if orphaning {
                let mut o = o;
                meta::metadata_mut(&mut o).remove("ownerReferences");
                store.commit(res, o);
                continue;
            }
            let owner_going = owners.iter().all(|u| {
                !uids.contains(u)
                    || deleting_owners
                        .iter()
                        .any(|(du, f)| du == u && f.iter().any(|x| x == "foregroundDeletion"))
            });
            if owner_going && !meta::deleting(&o) {
                let opts = DeleteOpts {
                    propagation: Some("Background".into()),
                    ..Default::default()
                };
                let _ = store.delete(res, meta::namespace(&o), meta::name(&o), &opts);
            }
        }
    }
    // Owners waiting in the foreground, or orphaning: drop the finalizer once done.
    for res in resources::ALL.iter().copied() {
        for o in store.list_owned(res, None) {
            if !meta::deleting(&o) {
                continue;
            }
            let f = meta::finalizers(&o);
            if !f.iter().any(|x| x == "foregroundDeletion" || x == "orphan") {
                continue;
            }
            let uid = meta::uid(&o).to_string();
            let has_dependents = store.state.objects.values().any(|d| {
                d.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter()
                            .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid.as_str()))
                    })
            });
            if !has_dependents {
                let rest: Vec<String> = f
                    .into_iter()
                    .filter(|x| x != "foregroundDeletion" && x != "orphan")
                    .collect();
                let mut o = o;
                meta::set_finalizers(&mut o, &rest);
                store.commit(res, o);
            }
        }
    }
}

/// For tests: one full synchronous pass without the fabric.
pub fn step(store: &Shared) {
    reconcile(&mut store.lock());
}
