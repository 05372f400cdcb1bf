//! Workload controllers, as far as mounting a claim into a workload needs: deployments
//! (through a replica set per pod template), replica sets, stateful sets (with their
//! claim templates), daemon sets and jobs create pods from their template, and their
//! status follows the pods.

use serde_json::{Value, json};

use super::resources::{
    DAEMON_SETS, DEPLOYMENTS, JOBS, NODES, PERSISTENT_VOLUME_CLAIMS as PVCS, PODS, REPLICA_SETS,
    Resource, STATEFUL_SETS,
};
use super::selectors::LabelSelector;
use super::store::{EventSpec, Store, random_suffix};
use super::{meta, placement, time};

pub fn reconcile(store: &mut Store) {
    for d in store.list_owned(&DEPLOYMENTS, None) {
        deployment(store, d);
    }
    for rs in store.list_owned(&REPLICA_SETS, None) {
        replica_set(store, rs);
    }
    for s in store.list_owned(&STATEFUL_SETS, None) {
        stateful_set(store, s);
    }
    for ds in store.list_owned(&DAEMON_SETS, None) {
        daemon_set(store, ds);
    }
    for j in store.list_owned(&JOBS, None) {
        job(store, j);
    }
}

fn owner_ref(res: &Resource, owner: &Value) -> Value {
    json!({
        "apiVersion": res.api_version(),
        "kind": res.kind,
        "name": meta::name(owner),
        "uid": meta::uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Pods (or other objects) controlled by `owner`.
fn owned(store: &Store, res: &Resource, owner: &Value, owner_kind: &str) -> Vec<Value> {
    store
        .list(res, meta::namespace(owner))
        .into_iter()
        .filter(|o| meta::controller_uid(o, owner_kind) == Some(meta::uid(owner)))
        .cloned()
        .collect()
}

fn is_ready(p: &Value) -> bool {
    meta::condition_true(p, "Ready") && !meta::deleting(p)
}

fn replicas(o: &Value) -> i64 {
    o.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// A pod from a template, owned by `owner`.
fn pod_from_template(
    owner_res: &Resource,
    owner: &Value,
    name: &str,
    extra_labels: &[(&str, &str)],
) -> Value {
    let template = owner
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": template.get("metadata").cloned().unwrap_or(json!({})),
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    });
    let m = meta::metadata_mut(&mut pod);
    m.insert("name".into(), json!(name));
    m.insert("namespace".into(), json!(meta::namespace(owner)));
    m.insert(
        "ownerReferences".into(),
        json!([owner_ref(owner_res, owner)]),
    );
    for (k, v) in extra_labels {
        meta::set_in_map(&mut pod, "labels", k, v);
    }
    pod
}

fn create_pod(store: &mut Store, owner_res: &'static Resource, owner: &Value, pod: Value) {
    let ns = meta::namespace(owner).map(String::from);
    let component = match owner_res.kind {
        "ReplicaSet" => "replicaset-controller",
        "StatefulSet" => "statefulset-controller",
        "DaemonSet" => "daemonset-controller",
        _ => "job-controller",
    };
    match store.create(&PODS, ns.as_deref(), pod, false, component) {
        Ok(p) => {
            let msg = format!("Created pod: {}", meta::name(&p));
            store.record_event(
                owner,
                owner_res,
                EventSpec::normal("SuccessfulCreate", &msg, component),
            );
        }
        Err(e) => {
            let msg = format!("Error creating: {}", e.message);
            store.record_event(
                owner,
                owner_res,
                EventSpec::warning("FailedCreate", &msg, component),
            );
        }
    }
}

fn delete_pod(store: &mut Store, pod: &Value) {
    let opts = super::store::DeleteOpts::default();
    // Already gone is fine: another controller pass got there first.
    let _ = store.delete(&PODS, meta::namespace(pod), meta::name(pod), &opts);
}

fn write_status(store: &mut Store, res: &'static Resource, mut obj: Value, status: Value) {
    if obj.get("status") != Some(&status) {
        obj["status"] = status;
        store.commit(res, obj);
    }
}

/// A stable hash of a pod template, as the `pod-template-hash` label.
fn template_hash(t: &Value) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, t.to_string().as_bytes());
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    id.as_bytes()[..10]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn keep_conditions(old: &Value, new: Vec<Value>) -> Vec<Value> {
    // Unchanged conditions keep their times, so a steady workload keeps its version.
    new.into_iter()
        .map(|c| {
            old.pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter().find(|o| {
                        o.get("type") == c.get("type")
                            && o.get("status") == c.get("status")
                            && o.get("reason") == c.get("reason")
                    })
                })
                .cloned()
                .unwrap_or(c)
        })
        .collect()
}

fn cond(t: &str, status: &str, reason: &str, message: &str) -> Value {
    let now = time::now();
    json!({"type": t, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message})
}

fn deployment(store: &mut Store, d: Value) {
    if meta::deleting(&d) {
        return;
    }
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&template);
    let name = format!("{}-{hash}", meta::name(&d));
    let sets = owned(store, &REPLICA_SETS, &d, "Deployment");
    let want = replicas(&d);
    for rs in &sets {
        let desired = if meta::name(rs) == name { want } else { 0 };
        if replicas(rs) != desired {
            let mut rs = rs.clone();
            rs["spec"]["replicas"] = json!(desired);
            store.commit(&REPLICA_SETS, rs);
        }
    }
    if !sets.iter().any(|rs| meta::name(rs) == name) {
        let mut t = template.clone();
        meta::set_in_map(&mut t, "labels", "pod-template-hash", &hash);
        let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let mut labels = t.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
        labels["pod-template-hash"] = json!(hash);
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta::namespace(&d), "labels": labels,
                         "ownerReferences": [owner_ref(&DEPLOYMENTS, &d)],
                         "annotations": {"deployment.kubernetes.io/desired-replicas": want.to_string(),
                                         "deployment.kubernetes.io/max-replicas": (want + 1).to_string(),
                                         "deployment.kubernetes.io/revision": (sets.len() + 1).to_string()}},
            "spec": {"replicas": want, "selector": selector, "template": t},
        });
        let ns = meta::namespace(&d).map(String::from);
        if let Ok(rs) = store.create(
            &REPLICA_SETS,
            ns.as_deref(),
            rs,
            false,
            "deployment-controller",
        ) {
            let msg = format!("Scaled up replica set {} from 0 to {want}", meta::name(&rs));
            store.record_event(
                &d,
                &DEPLOYMENTS,
                EventSpec::normal("ScalingReplicaSet", &msg, "deployment-controller"),
            );
        }
    }
    let pods: Vec<Value> = owned(store, &REPLICA_SETS, &d, "Deployment")
        .iter()
        .flat_map(|rs| owned(store, &PODS, rs, "ReplicaSet"))
        .filter(|p| !meta::deleting(p))
        .collect();
    let updated = pods
        .iter()
        .filter(|p| meta::label(p, "pod-template-hash") == Some(hash.as_str()))
        .count() as i64;
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let total = pods.len() as i64;
    let available = if ready >= want {
        cond(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        cond(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let progressing = if ready >= want && updated == want {
        cond(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{name}\" has successfully progressed."),
        )
    } else {
        cond(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{name}\" is progressing."),
        )
    };
    let mut status = json!({
        "observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": keep_conditions(&d, vec![available, progressing]),
    });
    if total - ready > 0 {
        status["unavailableReplicas"] = json!(total - ready);
    }
    strip_zero(
        &mut status,
        &[
            "readyReplicas",
            "availableReplicas",
            "updatedReplicas",
            "replicas",
        ],
    );
    write_status(store, &DEPLOYMENTS, d, status);
}

/// The real controllers omit zero counts (`omitempty`).
fn strip_zero(status: &mut Value, keys: &[&str]) {
    if let Value::Object(m) = status {
        for k in keys {
            if m.get(*k) == Some(&json!(0)) {
                m.remove(*k);
            }
        }
    }
}

fn replica_set(store: &mut Store, rs: Value) {
    if meta::deleting(&rs) {
        return;
    }
    let pods: Vec<Value> = owned(store, &PODS, &rs, "ReplicaSet")
        .into_iter()
        .filter(|p| !meta::deleting(p))
        .collect();
    let want = replicas(&rs);
    let have = pods.len() as i64;
    if have < want {
        for _ in have..want {
            let name = format!("{}-{}", meta::name(&rs), random_suffix(5));
            let pod = pod_from_template(&REPLICA_SETS, &rs, &name, &[]);
            create_pod(store, &REPLICA_SETS, &rs, pod);
        }
    } else if have > want {
        // Not-ready pods go first, as the real controller prefers.
        let mut victims = pods.clone();
        victims.sort_by_key(is_ready);
        for p in victims.iter().take((have - want) as usize) {
            delete_pod(store, p);
        }
    }
    let pods: Vec<Value> = owned(store, &PODS, &rs, "ReplicaSet")
        .into_iter()
        .filter(|p| !meta::deleting(p))
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let mut status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
    });
    strip_zero(
        &mut status,
        &["readyReplicas", "availableReplicas", "fullyLabeledReplicas"],
    );
    write_status(store, &REPLICA_SETS, rs, status);
}

fn stateful_set(store: &mut Store, s: Value) {
    if meta::deleting(&s) {
        return;
    }
    let ns = meta::namespace(&s).unwrap_or("default").to_string();
    let set_name = meta::name(&s).to_string();
    let want = replicas(&s);
    let templates = s
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let revision = format!(
        "{set_name}-{}",
        template_hash(s.pointer("/spec/template").unwrap_or(&Value::Null))
    );
    let ordered = meta::str_at(&s, "/spec/podManagementPolicy") != Some("Parallel");
    for i in 0..want {
        let pod_name = format!("{set_name}-{i}");
        if store.get(&PODS, Some(&ns), &pod_name).is_some() {
            continue;
        }
        if ordered
            && i > 0
            && !store
                .get(&PODS, Some(&ns), &format!("{set_name}-{}", i - 1))
                .is_some_and(is_ready)
        {
            break;
        }
        for t in &templates {
            let claim_name = format!("{}-{pod_name}", meta::name(t));
            if store.get(&PVCS, Some(&ns), &claim_name).is_some() {
                continue;
            }
            let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                   "metadata": t.get("metadata").cloned().unwrap_or(json!({})),
                                   "spec": t.get("spec").cloned().unwrap_or(json!({}))});
            let m = meta::metadata_mut(&mut claim);
            m.insert("name".into(), json!(claim_name));
            m.insert("namespace".into(), json!(ns));
            let sel = s
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in sel {
                meta::set_in_map(&mut claim, "labels", &k, v.as_str().unwrap_or(""));
            }
            if let Err(e) = store.create(&PVCS, Some(&ns), claim, false, "statefulset-controller") {
                let msg = format!(
                    "create Claim {claim_name} for Pod {pod_name} in StatefulSet {set_name} failed error: {}",
                    e.message
                );
                store.record_event(
                    &s,
                    &STATEFUL_SETS,
                    EventSpec::warning("FailedCreate", &msg, "statefulset-controller"),
                );
            }
        }
        let mut pod = pod_from_template(
            &STATEFUL_SETS,
            &s,
            &pod_name,
            &[
                ("statefulset.kubernetes.io/pod-name", &pod_name),
                ("apps.kubernetes.io/pod-index", &i.to_string()),
                ("controller-revision-hash", &revision),
            ],
        );
        pod["spec"]["hostname"] = json!(pod_name);
        let mut volumes = pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for t in &templates {
            let vname = meta::name(t).to_string();
            volumes.retain(|v| v.get("name").and_then(Value::as_str) != Some(vname.as_str()));
            volumes.push(json!({"name": vname, "persistentVolumeClaim": {"claimName": format!("{vname}-{pod_name}")}}));
        }
        if !volumes.is_empty() {
            pod["spec"]["volumes"] = Value::Array(volumes);
        }
        create_pod(store, &STATEFUL_SETS, &s, pod);
    }
    for p in owned(store, &PODS, &s, "StatefulSet") {
        let index = meta::label(&p, "apps.kubernetes.io/pod-index")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0);
        if index >= want && !meta::deleting(&p) {
            delete_pod(store, &p);
        }
    }
    let pods: Vec<Value> = owned(store, &PODS, &s, "StatefulSet")
        .into_iter()
        .filter(|p| !meta::deleting(p))
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let mut status = json!({
        "observedGeneration": s.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "replicas": pods.len(),
        "readyReplicas": ready,
        "currentReplicas": pods.len(),
        "updatedReplicas": pods.len(),
        "availableReplicas": ready,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    strip_zero(
        &mut status,
        &["readyReplicas", "currentReplicas", "updatedReplicas"],
    );
    write_status(store, &STATEFUL_SETS, s, status);
}

/// The tolerations the daemon set controller adds to every daemon pod, so that node
/// conditions do not evict them (`AddOrUpdateDaemonPodTolerations`).
fn daemon_tolerations(template_spec: &Value) -> Vec<Value> {
    let mut out = placement::tolerations(template_spec);
    let mut add = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if template_spec.get("hostNetwork") == Some(&json!(true)) {
        add.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    for (key, effect) in add {
        let present = out.iter().any(|t| {
            t.get("key").and_then(Value::as_str) == Some(key)
                && t.get("effect").and_then(Value::as_str) == Some(effect)
        });
        if !present {
            out.push(json!({"key": key, "operator": "Exists", "effect": effect}));
        }
    }
    out
}

fn daemon_set(store: &mut Store, ds: Value) {
    if meta::deleting(&ds) {
        return;
    }
    let template_spec = ds
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or(Value::Null);
    let tolerations = daemon_tolerations(&template_spec);
    // A node runs a daemon pod when the pod would fit it: selector and affinity match and
    // every taint that keeps pods off is tolerated.
    let nodes: Vec<String> = store
        .list(&NODES, None)
        .into_iter()
        .filter(|n| {
            placement::selects_node(&template_spec, n)
                && placement::untolerated_taint(n, &tolerations).is_none()
        })
        .map(|n| meta::name(n).to_string())
        .collect();
    let pods = owned(store, &PODS, &ds, "DaemonSet");
    for node in &nodes {
        if pods
            .iter()
            .any(|p| meta::str_at(p, "/spec/nodeName") == Some(node.as_str()) && !meta::deleting(p))
        {
            continue;
        }
        let name = format!("{}-{}", meta::name(&ds), random_suffix(5));
        let mut pod = pod_from_template(&DAEMON_SETS, &ds, &name, &[]);
        // The real controller pins pods with node affinity; the scheduler then binds them.
        pod["spec"]["nodeName"] = json!(node);
        pod["spec"]["tolerations"] = Value::Array(tolerations.clone());
        pod["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": time::now()}]});
        create_pod(store, &DAEMON_SETS, &ds, pod);
    }
    let pods: Vec<Value> = owned(store, &PODS, &ds, "DaemonSet")
        .into_iter()
        .filter(|p| !meta::deleting(p))
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "currentNumberScheduled": pods.len(),
        "numberMisscheduled": 0,
        "desiredNumberScheduled": nodes.len(),
        "numberReady": ready,
        "observedGeneration": ds.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "updatedNumberScheduled": pods.len(),
        "numberAvailable": ready,
    });
    write_status(store, &DAEMON_SETS, ds, status);
}

fn job(store: &mut Store, j: Value) {
    if meta::deleting(&j)
        || meta::condition_true(&j, "Complete")
        || meta::condition_true(&j, "Failed")
    {
        return;
    }
    let completions = j
        .pointer("/spec/completions")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let parallelism = j
        .pointer("/spec/parallelism")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let backoff = j
        .pointer("/spec/backoffLimit")
        .and_then(Value::as_i64)
        .unwrap_or(6);
    let pods = owned(store, &PODS, &j, "Job");
    let phase = |p: &Value| meta::str_at(p, "/status/phase").unwrap_or("").to_string();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let active: Vec<&Value> = pods
        .iter()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .collect();
    let suspended = j.pointer("/spec/suspend") == Some(&json!(true));
    let to_start = (completions - succeeded).min(parallelism) - active.len() as i64;
    if !suspended && failed <= backoff && to_start > 0 {
        for _ in 0..to_start {
            let name = format!("{}-{}", meta::name(&j), random_suffix(5));
            let pod = pod_from_template(&JOBS, &j, &name, &[]);
            create_pod(store, &JOBS, &j, pod);
        }
    }
    let active_now = owned(store, &PODS, &j, "Job")
        .iter()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .count();
    let ready = active.iter().filter(|p| is_ready(p)).count();
    let mut status = j.get("status").cloned().unwrap_or(json!({}));
    if status.get("startTime").is_none() {
        status["startTime"] = json!(time::now());
    }
    status["active"] = json!(active_now);
    status["ready"] = json!(ready);
    status["succeeded"] = json!(succeeded);
    status["failed"] = json!(failed);
    status["terminating"] = json!(0);
    status["uncountedTerminatedPods"] = json!({});
    let now = time::now();
    let mut event = None;
    if succeeded >= completions {
        status["completionTime"] = json!(now);
        status["conditions"] = json!([
            {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
            {"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
        ]);
        status["active"] = json!(0);
        event = Some(EventSpec::normal(
            "Completed",
            "Job completed",
            "job-controller",
        ));
    } else if failed > backoff {
        status["conditions"] = json!([
            {"type": "FailureTarget", "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
            {"type": "Failed", "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
        ]);
        event = Some(EventSpec::warning(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            "job-controller",
        ));
    }
    if let Value::Object(m) = &mut status {
        for k in ["active", "ready", "succeeded", "failed"] {
            if m.get(k) == Some(&json!(0)) && k != "ready" {
                m.remove(k);
            }
        }
    }
    let jj = j.clone();
    write_status(store, &JOBS, j, status);
    if let Some(e) = event {
        store.record_event(&jj, &JOBS, e);
    }
}

/// Whether a label selector object selects `obj` (used by tests and describe-like views).
pub fn selects(selector: &Value, obj: &Value) -> bool {
    LabelSelector::from_object(selector).matches(obj)
}
