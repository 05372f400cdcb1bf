//! The PersistentVolume controller: binds claims to volumes like kube-controller-manager
//! (a claim with `volumeName` to that volume if it fits, else to the smallest fitting
//! Available volume of the same class), moves volumes through Available → Bound →
//! Released, and lifts the pv/pvc protection finalizers once nothing uses the object.

use serde_json::{Value, json};

use super::meta;
use super::resources::{PERSISTENT_VOLUME_CLAIMS as PVCS, PERSISTENT_VOLUMES as PVS, PODS};
use super::store::{EventSpec, Store};

const COMPONENT: &str = "persistentvolume-controller";
const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

pub fn reconcile(store: &mut Store) {
    volumes(store);
    claims(store);
    protection(store);
}

fn phase(o: &Value) -> &str {
    meta::str_at(o, "/status/phase").unwrap_or("")
}

fn class(o: &Value) -> &str {
    meta::str_at(o, "/spec/storageClassName").unwrap_or("")
}

fn set_phase(
    store: &mut Store,
    res: &'static super::resources::Resource,
    mut o: Value,
    phase: &str,
) -> Value {
    o["status"]["phase"] = json!(phase);
    store.commit(res, o)
}

/// Volume phases that follow from their claims.
fn volumes(store: &mut Store) {
    let changing = store.select(&PVS, None, |pv| match phase(pv) {
        "Pending" | "" => true,
        "Bound" => claim_ref(pv).is_some_and(|cr| !claim_alive(store, cr)),
        _ => false,
    });
    for pv in changing {
        match phase(&pv) {
            // Pre-bound to a claim or not, a new volume waits as Available.
            "Pending" | "" => {
                set_phase(store, &PVS, pv, "Available");
            }
            // Bound to a claim that is gone.
            _ => {
                let policy =
                    meta::str_at(&pv, "/spec/persistentVolumeReclaimPolicy").unwrap_or("Retain");
                if policy == "Delete" {
                    let message = format!(
                        "error getting deleter volume plugin for volume \"{}\": no deletable volume plugin matched",
                        meta::name(&pv)
                    );
                    let mut pv = pv;
                    pv["status"]["message"] = json!(message.clone());
                    let pv = set_phase(store, &PVS, pv, "Failed");
                    store.record_event(
                        &pv,
                        &PVS,
                        EventSpec::warning("VolumeFailedDelete", &message, COMPONENT),
                    );
                } else {
                    // Retain (and Recycle, long gone): the data stays, the volume waits
                    // for an administrator.
                    set_phase(store, &PVS, pv, "Released");
                }
            }
        }
    }
}

fn claim_ref(pv: &Value) -> Option<&Value> {
    meta::at(pv, "/spec/claimRef").filter(|c| !c.is_null())
}

/// Whether the claim a volume's `claimRef` names still exists (the same one, when the
/// reference carries a uid).
fn claim_alive(store: &Store, cr: &Value) -> bool {
    let ns = cr.get("namespace").and_then(Value::as_str).unwrap_or("");
    let name = cr.get("name").and_then(Value::as_str).unwrap_or("");
    let uid = cr.get("uid").and_then(Value::as_str).unwrap_or("");
    store
        .get(&PVCS, Some(ns), name)
        .is_some_and(|c| uid.is_empty() || meta::uid(c) == uid)
}

/// Why `pv` cannot satisfy `claim`, as the controller words it; None when it can.
fn mismatch(pv: &Value, claim: &Value) -> Option<&'static str> {
    let want =
        meta::str_at(claim, "/spec/resources/requests/storage").and_then(meta::quantity_bytes);
    let have = meta::str_at(pv, "/spec/capacity/storage").and_then(meta::quantity_bytes);
    if want.zip(have).is_none_or(|(w, h)| h < w) {
        return Some("requested PV is too small");
    }
    if class(pv) != class(claim) {
        return Some("storageClassName does not match");
    }
    let pv_modes: Vec<&Value> = meta::at(pv, "/spec/accessModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let ok_modes = meta::at(claim, "/spec/accessModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|m| pv_modes.contains(&m));
    if !ok_modes {
        return Some("incompatible accessMode");
    }
    let mode = |o: &Value| {
        meta::str_at(o, "/spec/volumeMode")
            .unwrap_or("Filesystem")
            .to_string()
    };
    if mode(pv) != mode(claim) {
        return Some("incompatible volumeMode");
    }
    None
}

/// Whether `pv`'s claimRef leaves it free for `claim`.
fn free_for(pv: &Value, claim: &Value) -> bool {
    match meta::at(pv, "/spec/claimRef").filter(|c| !c.is_null()) {
        None => true,
        Some(cr) => {
            cr.get("name").and_then(Value::as_str) == Some(meta::name(claim))
                && cr.get("namespace").and_then(Value::as_str) == meta::namespace(claim)
                && cr
                    .get("uid")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u.is_empty() || u == meta::uid(claim))
        }
    }
}

/// Whether the volume a Bound claim names is still bound to it.
fn volume_held(store: &Store, claim: &Value) -> bool {
    let vol = meta::str_at(claim, "/spec/volumeName").unwrap_or("");
    store
        .get(&PVS, None, vol)
        .is_some_and(|pv| meta::str_at(pv, "/spec/claimRef/uid") == Some(meta::uid(claim)))
}

fn claims(store: &mut Store) {
    let changing = store.select(&PVCS, None, |c| match phase(c) {
        "Bound" => !volume_held(store, c),
        "Pending" | "" => !meta::deleting(c),
        _ => false,
    });
    for claim in changing {
        match phase(&claim) {
            "Bound" => {
                let c = set_phase(store, &PVCS, claim, "Lost");
                store.record_event(
                    &c,
                    &PVCS,
                    EventSpec::warning(
                        "ClaimLost",
                        "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                        COMPONENT,
                    ),
                );
            }
            "Pending" | "" => bind_claim(store, claim),
            _ => {}
        }
    }
}

fn bind_claim(store: &mut Store, claim: Value) {
    let requested = meta::str_at(&claim, "/spec/volumeName")
        .unwrap_or("")
        .to_string();
    if !requested.is_empty() {
        let Some(pv) = store.get(&PVS, None, &requested).cloned() else {
            // The volume may be created later; the claim waits.
            return;
        };
        if !free_for(&pv, &claim) {
            let msg = format!("volume \"{requested}\" already bound to a different claim.");
            store.record_event(
                &claim,
                &PVCS,
                EventSpec::warning("FailedBinding", &msg, COMPONENT),
            );
            return;
        }
        if let Some(why) = mismatch(&pv, &claim) {
            let msg = format!("Cannot bind to requested volume \"{requested}\": {why}");
            store.record_event(
                &claim,
                &PVCS,
                EventSpec::warning("VolumeMismatch", &msg, COMPONENT),
            );
            return;
        }
        bind(store, pv, claim);
        return;
    }
    let selector = meta::at(&claim, "/spec/selector")
        .map(super::selectors::LabelSelector::from_object)
        .unwrap_or_default();
    // A volume pre-bound to this claim wins; then the smallest that fits.
    let mut candidates: Vec<(bool, f64, Value)> = store
        .list(&PVS, None)
        .into_iter()
        .filter(|pv| phase(pv) == "Available" && !meta::deleting(pv))
        .filter(|pv| free_for(pv, &claim) && mismatch(pv, &claim).is_none() && selector.matches(pv))
        .map(|pv| {
            let pre = meta::at(pv, "/spec/claimRef").is_some_and(|c| !c.is_null());
            let size = meta::str_at(pv, "/spec/capacity/storage")
                .and_then(meta::quantity_bytes)
                .unwrap_or(0.0);
            (pre, size, pv.clone())
        })
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)));
    match candidates.into_iter().next() {
        Some((_, _, pv)) => bind(store, pv, claim),
        None => {
            let msg = if class(&claim).is_empty() {
                "no persistent volumes available for this claim and no storage class is set"
                    .to_string()
            } else {
                format!(
                    "storageclass.storage.k8s.io \"{}\" not found",
                    class(&claim)
                )
            };
            let reason = if class(&claim).is_empty() {
                "FailedBinding"
            } else {
                "ProvisioningFailed"
            };
            store.record_event(&claim, &PVCS, EventSpec::warning(reason, &msg, COMPONENT));
        }
    }
}

fn bind(store: &mut Store, mut pv: Value, mut claim: Value) {
    let pv_name = meta::name(&pv).to_string();
    let by_controller = meta::at(&pv, "/spec/claimRef").is_none_or(Value::is_null);
    pv["spec"]["claimRef"] = json!({
        "kind": "PersistentVolumeClaim",
        "namespace": meta::namespace(&claim),
        "name": meta::name(&claim),
        "uid": meta::uid(&claim),
        "apiVersion": "v1",
        "resourceVersion": meta::resource_version(&claim),
    });
    if by_controller {
        meta::set_in_map(
            &mut pv,
            "annotations",
            "pv.kubernetes.io/bound-by-controller",
            "yes",
        );
    }
    pv["status"] = json!({"phase": "Bound", "lastPhaseTransitionTime": super::time::now()});
    let pv = store.commit(&PVS, pv);

    if meta::str_at(&claim, "/spec/volumeName")
        .unwrap_or("")
        .is_empty()
    {
        claim["spec"]["volumeName"] = json!(pv_name);
        meta::set_in_map(
            &mut claim,
            "annotations",
            "pv.kubernetes.io/bound-by-controller",
            "yes",
        );
    }
    meta::set_in_map(
        &mut claim,
        "annotations",
        "pv.kubernetes.io/bind-completed",
        "yes",
    );
    claim["status"] = json!({
        "phase": "Bound",
        "accessModes": meta::at(&pv, "/spec/accessModes").cloned().unwrap_or(json!([])),
        "capacity": meta::at(&pv, "/spec/capacity").cloned().unwrap_or(json!({})),
    });
    store.commit(&PVCS, claim);
}

/// The storage-object-in-use protection controller.
fn protection(store: &mut Store) {
    let guarded = |o: &Value, finalizer: &str| {
        meta::deleting(o) && meta::finalizers(o).iter().any(|f| f == finalizer)
    };
    for claim in store.select(&PVCS, None, |c| guarded(c, PVC_PROTECTION)) {
        let ns = meta::namespace(&claim).unwrap_or("");
        let in_use = store.list(&PODS, Some(ns)).into_iter().any(|p| {
            !matches!(
                meta::str_at(p, "/status/phase"),
                Some("Succeeded" | "Failed")
            ) && pod_claims(p).iter().any(|c| c == meta::name(&claim))
        });
        if !in_use {
            let mut c = claim;
            let f: Vec<String> = meta::finalizers(&c)
                .into_iter()
                .filter(|f| f != PVC_PROTECTION)
                .collect();
            meta::set_finalizers(&mut c, &f);
            store.commit(&PVCS, c);
        }
    }
    for pv in store.select(&PVS, None, |pv| guarded(pv, PV_PROTECTION)) {
        if phase(&pv) != "Bound" {
            let mut v = pv;
            let f: Vec<String> = meta::finalizers(&v)
                .into_iter()
                .filter(|f| f != PV_PROTECTION)
                .collect();
            meta::set_finalizers(&mut v, &f);
            store.commit(&PVS, v);
        }
    }
}

/// Names of the claims a pod mounts.
pub fn pod_claims(pod: &Value) -> Vec<String> {
    meta::at(pod, "/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| meta::at(v, "/persistentVolumeClaim/claimName").and_then(Value::as_str))
        .map(String::from)
        .collect()
}
