//! The scheduler: assigns pending pods to nodes (fewest pods first) that are Ready, not
//! cordoned, match the pod's node selector and affinity, and carry no taint the pod does not
//! tolerate; keeps a pod Pending with `FailedScheduling` (and the real message) otherwise,
//! or while a claim it mounts is missing or unbound.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::binder::pod_claims;
use super::resources::{NODES, PERSISTENT_VOLUME_CLAIMS as PVCS, PODS};
use super::store::{EventSpec, Store};
use super::{meta, placement, time};

const COMPONENT: &str = "default-scheduler";

pub fn reconcile(store: &mut Store) {
    let pending: Vec<Value> = store
        .list(&PODS, None)
        .into_iter()
        .filter(|p| meta::str_at(p, "/spec/nodeName").is_none() && !meta::deleting(p))
        .filter(|p| meta::str_at(p, "/status/phase") == Some("Pending"))
        .cloned()
        .collect();
    for pod in pending {
        match pick_node(store, &pod) {
            Ok(node) => bind(store, pod, &node),
            Err(why) => unschedulable(store, pod, &why),
        }
    }
}

/// Why one node cannot take the pod, as the first failing filter plugin says it (in the
/// default profile's order: NodeUnschedulable, TaintToleration, NodeAffinity).
fn node_misfit(pod_spec: &Value, tolerations: &[Value], node: &Value) -> Option<String> {
    if placement::cordoned_for(node, tolerations) {
        return Some("node(s) were unschedulable".into());
    }
    if let Some(taint) = placement::untolerated_taint(node, tolerations) {
        return Some(format!(
            "node(s) had untolerated taint {}",
            placement::taint_text(&taint)
        ));
    }
    if !placement::selects_node(pod_spec, node) {
        return Some("node(s) didn't match Pod's node affinity/selector".into());
    }
    None
}

/// The node for a pod, or the scheduler's message why there is none.
fn pick_node(store: &Store, pod: &Value) -> Result<String, String> {
    let nodes = store.list(&NODES, None);
    let total = nodes.len();
    if total == 0 {
        return Err("no nodes available to schedule pods".into());
    }
    let tail = format!(
        " preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    );
    let ns = meta::namespace(pod).unwrap_or("default");
    for claim in pod_claims(pod) {
        match store.get(&PVCS, Some(ns), &claim) {
            None => {
                return Err(format!(
                    "0/{total} nodes are available: persistentvolumeclaim \"{claim}\" not found.{tail}"
                ));
            }
            Some(c) if meta::deleting(c) => {
                return Err(format!(
                    "0/{total} nodes are available: persistentvolumeclaim \"{claim}\" is being deleted.{tail}"
                ));
            }
            Some(c) if meta::str_at(c, "/status/phase") != Some("Bound") => {
                return Err(format!(
                    "0/{total} nodes are available: pod has unbound immediate PersistentVolumeClaims.{tail}"
                ));
            }
            Some(_) => {}
        }
    }
    let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
    let tolerations = placement::tolerations(&spec);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut fits: Vec<&Value> = Vec::new();
    for n in nodes {
        match node_misfit(&spec, &tolerations, n) {
            Some(why) => *reasons.entry(why).or_default() += 1,
            None => fits.push(n),
        }
    }
    if fits.is_empty() {
        // The real FitError: "<count> <reason>" per reason, sorted, comma-separated.
        let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        parts.sort();
        return Err(format!(
            "0/{total} nodes are available: {}.{tail}",
            parts.join(", ")
        ));
    }
    let load = |n: &Value| {
        store
            .list(&PODS, None)
            .into_iter()
            .filter(|p| meta::str_at(p, "/spec/nodeName") == Some(meta::name(n)))
            .count()
    };
    fits.into_iter()
        .min_by_key(|n| load(n))
        .map(|n| meta::name(n).to_string())
        .ok_or_else(|| format!("0/{total} nodes are available.{tail}"))
}

fn set_condition(
    pod: &mut Value,
    t: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
) {
    let conds = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let same = conds.iter().any(|c| {
        c.get("type") == Some(&json!(t))
            && c.get("status") == Some(&json!(status))
            && c.get("reason").and_then(Value::as_str) == reason
            && c.get("message").and_then(Value::as_str) == message
    });
    if same {
        // Unchanged conditions keep their transition time (and the object its version).
        return;
    }
    let mut out: Vec<Value> = conds
        .into_iter()
        .filter(|c| c.get("type") != Some(&json!(t)))
        .collect();
    let mut c = json!({"type": t, "status": status, "lastProbeTime": null, "lastTransitionTime": time::now()});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    out.push(c);
    pod["status"]["conditions"] = Value::Array(out);
}

fn bind(store: &mut Store, mut pod: Value, node: &str) {
    pod["spec"]["nodeName"] = json!(node);
    set_condition(&mut pod, "PodScheduled", "True", None, None);
    let pod = store.commit(&PODS, pod);
    let msg = format!(
        "Successfully assigned {}/{} to {node}",
        meta::namespace(&pod).unwrap_or(""),
        meta::name(&pod)
    );
    store.record_event(&pod, &PODS, EventSpec::normal("Scheduled", &msg, COMPONENT));
}

fn unschedulable(store: &mut Store, mut pod: Value, why: &str) {
    let current = meta::at(&pod, "/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type") == Some(&json!("PodScheduled")))
        })
        .and_then(|c| c.get("message"))
        .and_then(Value::as_str);
    if current != Some(why) {
        set_condition(
            &mut pod,
            "PodScheduled",
            "False",
            Some("Unschedulable"),
            Some(why),
        );
        pod = store.commit(&PODS, pod);
    }
    store.record_event(
        &pod,
        &PODS,
        EventSpec::warning("FailedScheduling", why, COMPONENT),
    );
}

/// Replaces or adds a pod condition (shared with the kubelet model).
pub fn condition(pod: &mut Value, t: &str, status: &str, reason: Option<&str>) {
    set_condition(pod, t, status, reason, None);
}

/// [`condition`] with a message (`containers with unready status: [...]`).
pub fn condition_with_message(pod: &mut Value, t: &str, status: &str, reason: &str, message: &str) {
    set_condition(pod, t, status, Some(reason), Some(message));
}
