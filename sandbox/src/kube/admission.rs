//! What the API server does to an object before storing it: the request/body checks,
//! defaulting, validation, immutability rules and the finalizers admission plugins add.

use serde_json::{Map, Value, json};

use super::meta;
use super::resources::Resource;
use super::status::{ApiError, FieldError};

/// Checks the body of a create against the URL and fills in what the server owns.
pub fn prepare_create(res: &Resource, ns: Option<&str>, obj: Value) -> Result<Value, ApiError> {
    let mut obj = check_envelope(res, obj)?;
    let m = meta::metadata_mut(&mut obj);
    if res.namespaced {
        let url_ns = ns.unwrap_or("default");
        match m.get("namespace").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != url_ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                m.insert("namespace".into(), Value::from(url_ns));
            }
        }
    } else {
        m.remove("namespace");
    }
    let name = m
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let generate = m.get("generateName").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() && generate.is_empty() {
        return Err(ApiError::invalid(
            res,
            "",
            vec![FieldError {
                field: "metadata.name".into(),
                reason: "FieldValueRequired",
                detail: "Required value: name or generateName is required".into(),
            }],
        ));
    }
    if !name.is_empty() && !is_dns_subdomain(&name) {
        return Err(ApiError::invalid(
            res,
            &name,
            vec![FieldError::invalid(
                "metadata.name",
                &Value::from(name.clone()),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
                 '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', \
                 regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )],
        ));
    }
    default(res, &mut obj);
    initial_status(res, &mut obj);
    Ok(obj)
}

/// The body of an update, merged with what the client may not change.
pub fn prepare_update(
    res: &Resource,
    old: &Value,
    new: Value,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let new = check_envelope(res, new)?;
    let mut obj = if subresource == Some("status") {
        // Writes to /status change the status only.
        let mut o = old.clone();
        o["status"] = new.get("status").cloned().unwrap_or(Value::Null);
        if o["status"].is_null() {
            o.as_object_mut().map(|m| m.remove("status"));
        }
        o
    } else {
        let mut o = new;
        match old.get("status") {
            Some(s) if has_status_subresource(res) => o["status"] = s.clone(),
            _ if has_status_subresource(res) => {
                o.as_object_mut().map(|m| m.remove("status"));
            }
            _ => {}
        }
        o
    };
    let old_meta = old.get("metadata").cloned().unwrap_or_default();
    let m = meta::metadata_mut(&mut obj);
    for k in [
        "uid",
        "creationTimestamp",
        "namespace",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old_meta.get(k) {
            Some(v) => {
                m.insert(k.into(), v.clone());
            }
            None => {
                m.remove(k);
            }
        }
    }
    if !m.contains_key("managedFields")
        && let Some(mf) = old_meta.get("managedFields")
    {
        m.insert("managedFields".into(), mf.clone());
    }
    default(res, &mut obj);
    if obj.get("spec") != old.get("spec")
        && let Some(g) = old.pointer("/metadata/generation").and_then(Value::as_i64)
    {
        meta::metadata_mut(&mut obj).insert("generation".into(), Value::from(g + 1));
    }
    Ok(obj)
}

fn has_status_subresource(res: &Resource) -> bool {
    res.subresources.contains(&"status")
}

fn check_envelope(res: &Resource, mut obj: Value) -> Result<Value, ApiError> {
    let Value::Object(map) = &mut obj else {
        return Err(ApiError::bad_request(
            "the body of the request is not a JSON object",
        ));
    };
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != res.api_version() => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({})",
                res.api_version()
            )));
        }
        _ => {
            map.insert("apiVersion".into(), Value::from(res.api_version()));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(k) if k != res.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                res.kind
            )));
        }
        _ => {
            map.insert("kind".into(), Value::from(res.kind));
        }
    }
    Ok(obj)
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.into(), value);
    }
}

/// The defaults the real API server fills in, for the fields clients read back.
fn default(res: &Resource, obj: &mut Value) {
    match res.kind {
        "PersistentVolume" => {
            let spec = meta::object_at(obj, "spec");
            set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            set_default(spec, "volumeMode", json!("Filesystem"));
        }
        "PersistentVolumeClaim" => {
            let spec = meta::object_at(obj, "spec");
            set_default(spec, "volumeMode", json!("Filesystem"));
        }
        "Pod" => default_pod_spec(meta::object_at(obj, "spec")),
        "Namespace" => {
            let name = meta::name(obj).to_string();
            meta::set_in_map(obj, "labels", "kubernetes.io/metadata.name", &name);
            set_default(
                meta::object_at(obj, "spec"),
                "finalizers",
                json!(["kubernetes"]),
            );
        }
        "CSIDriver" => {
            // storage/v1 SetDefaults_CSIDriver (SELinuxMount is on by default since 1.28).
            let spec = meta::object_at(obj, "spec");
            set_default(spec, "attachRequired", json!(true));
            set_default(spec, "podInfoOnMount", json!(false));
            set_default(spec, "storageCapacity", json!(false));
            set_default(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
            set_default(spec, "volumeLifecycleModes", json!(["Persistent"]));
            set_default(spec, "requiresRepublish", json!(false));
            set_default(spec, "seLinuxMount", json!(false));
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            let spec = meta::object_at(obj, "spec");
            if res.kind != "DaemonSet" && res.kind != "Job" {
                set_default(spec, "replicas", json!(1));
            }
            if res.kind != "Job" && res.kind != "ReplicaSet" {
                set_default(spec, "revisionHistoryLimit", json!(10));
            }
            match res.kind {
                "Deployment" => {
                    set_default(spec, "progressDeadlineSeconds", json!(600));
                    set_default(
                        spec,
                        "strategy",
                        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                    );
                }
                "StatefulSet" => {
                    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
                    set_default(
                        spec,
                        "updateStrategy",
                        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                    );
                    set_default(
                        spec,
                        "persistentVolumeClaimRetentionPolicy",
                        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                    );
                }
                "DaemonSet" => {
                    set_default(
                        spec,
                        "updateStrategy",
                        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                    );
                }
                "Job" => {
                    set_default(spec, "parallelism", json!(1));
                    set_default(spec, "completions", json!(1));
                    set_default(spec, "backoffLimit", json!(6));
                    set_default(spec, "completionMode", json!("NonIndexed"));
                    set_default(spec, "suspend", json!(false));
                    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
                    set_default(spec, "manualSelector", json!(false));
                }
                _ => {}
            }
            if let Some(Value::Object(t)) = spec.get_mut("template") {
                let ts = t.entry("spec").or_insert_with(|| json!({}));
                if let Value::Object(ts) = ts {
                    default_pod_spec(ts);
                }
            }
        }
        _ => {}
    }
}

fn default_pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "enableServiceLinks", json!(true));
    set_default(spec, "serviceAccountName", json!("default"));
    set_default(spec, "serviceAccount", json!("default"));
    set_default(spec, "priority", json!(0));
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    // Host-network pods use their container ports on the node (SetDefaults_Pod).
    let host_network = spec.get("hostNetwork") == Some(&json!(true));
    for key in ["containers", "initContainers"] {
        for c in spec
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Value::Object(c) = c else { continue };
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(Value::Object(p)) = c.get_mut(probe) {
                    set_default(p, "timeoutSeconds", json!(1));
                    set_default(p, "periodSeconds", json!(10));
                    set_default(p, "successThreshold", json!(1));
                    set_default(p, "failureThreshold", json!(3));
                    if let Some(Value::Object(h)) = p.get_mut("httpGet") {
                        set_default(h, "scheme", json!("HTTP"));
                    }
                }
            }
            let image = c.get("image").and_then(Value::as_str).unwrap_or("");
            let tag = image
                .rsplit('/')
                .next()
                .and_then(|l| l.split_once(':'))
                .map(|(_, t)| t);
            let pull = if image.contains('@') || tag.is_some_and(|t| t != "latest") {
                "IfNotPresent"
            } else {
                "Always"
            };
            set_default(c, "imagePullPolicy", json!(pull));
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            set_default(c, "resources", json!({}));
            for p in c
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Value::Object(p) = p {
                    set_default(p, "protocol", json!("TCP"));
                    if host_network && let Some(port) = p.get("containerPort").cloned() {
                        set_default(p, "hostPort", port);
                    }
                }
            }
        }
    }
}

/// The status a new object starts with, before any controller saw it.
fn initial_status(res: &Resource, obj: &mut Value) {
    let status = match res.kind {
        "PersistentVolume" | "PersistentVolumeClaim" | "Pod" => json!({"phase": "Pending"}),
        "Namespace" => json!({"phase": "Active"}),
        _ => return,
    };
    if obj
        .get("status")
        .is_none_or(|s| s.as_object().is_none_or(Map::is_empty))
    {
        obj["status"] = status;
    }
    if res.kind == "Pod" && obj.pointer("/status/qosClass").is_none() {
        obj["status"]["qosClass"] = json!("BestEffort");
    }
}

/// Finalizers and labels admission plugins add to new objects.
pub fn on_create(res: &Resource, obj: &mut Value) {
    let protect = match res.kind {
        "PersistentVolumeClaim" => "kubernetes.io/pvc-protection",
        "PersistentVolume" => "kubernetes.io/pv-protection",
        _ => "",
    };
    if !protect.is_empty() {
        let mut f = meta::finalizers(obj);
        if !f.iter().any(|x| x == protect) {
            f.push(protect.into());
        }
        meta::set_finalizers(obj, &f);
    }
    if res.kind == "Pod" {
        default_toleration_seconds(obj);
        if let Some(p) = meta::str_at(obj, "/spec/priorityClassName").and_then(class_priority) {
            obj["spec"]["priority"] = json!(p);
        }
    }
    if res.kind == "Job" {
        // The job controller's selector: the job's uid, so its pods are its own.
        let uid = meta::uid(obj).to_string();
        let name = meta::name(obj).to_string();
        let manual = obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true);
        if !manual {
            let labels = json!({
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            });
            obj["spec"]["selector"] =
                json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
            if let Some(t) = obj.pointer_mut("/spec/template") {
                let tm = meta::metadata_mut(t);
                let l = tm.entry("labels").or_insert_with(|| json!({}));
                if let (Value::Object(l), Value::Object(add)) = (l, labels) {
                    l.extend(add);
                }
            }
        }
    }
}

/// The priority of the built-in PriorityClasses (the only ones a new cluster has).
fn class_priority(class: &str) -> Option<i64> {
    match class {
        "system-node-critical" => Some(2_000_001_000),
        "system-cluster-critical" => Some(2_000_000_000),
        _ => None,
    }
}

/// The DefaultTolerationSeconds admission plugin: a pod that does not tolerate a node
/// going not-ready or unreachable is evicted from it after five minutes.
fn default_toleration_seconds(pod: &mut Value) {
    let mut tolerations = meta::at(pod, "/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let before = tolerations.len();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = tolerations.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or("");
            let e = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
        });
        if !covered {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if tolerations.len() != before {
        meta::object_at(pod, "spec").insert("tolerations".into(), Value::Array(tolerations));
    }
}

const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// core/v1 validation of a pod's tolerations.
fn validate_tolerations(spec: &Value, at: &str, errs: &mut Vec<FieldError>) {
    for (i, t) in spec
        .get("tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = |f: &str| format!("{at}.tolerations[{i}].{f}");
        let key = t.get("key").and_then(Value::as_str).unwrap_or("");
        let value = t.get("value").and_then(Value::as_str).unwrap_or("");
        let op = t.get("operator").cloned().unwrap_or(Value::Null);
        match op.as_str().unwrap_or("") {
            "" | "Equal" => {
                if key.is_empty() {
                    errs.push(FieldError::invalid(
                        &field("operator"),
                        &Value::from(op.as_str().unwrap_or("")),
                        "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        &field("operator"),
                        &Value::from(value),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            _ => errs.push(FieldError::unsupported(
                &field("operator"),
                &op,
                &["Equal", "Exists"],
            )),
        }
        let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
        if !effect.is_empty() && !TAINT_EFFECTS.contains(&effect) {
            errs.push(FieldError::unsupported(
                &field("effect"),
                &Value::from(effect),
                &TAINT_EFFECTS,
            ));
        }
        if t.get("tolerationSeconds").is_some_and(|s| !s.is_null()) && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                &field("effect"),
                &Value::from(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
    }
}

/// core/v1 validation of a node's taints.
fn validate_taints(spec: &Value, errs: &mut Vec<FieldError>) {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, t) in spec
        .get("taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = t.get("key").and_then(Value::as_str).unwrap_or("");
        if key.is_empty() {
            errs.push(FieldError::required(&format!("spec.taints[{i}].key")));
        }
        match t.get("effect").and_then(Value::as_str).unwrap_or("") {
            "" => errs.push(FieldError::required(&format!("spec.taints[{i}].effect"))),
            e if !TAINT_EFFECTS.contains(&e) => errs.push(FieldError::unsupported(
                &format!("spec.taints[{i}].effect"),
                &Value::from(e),
                &TAINT_EFFECTS,
            )),
            e => {
                let pair = (key.to_string(), e.to_string());
                if seen.contains(&pair) {
                    errs.push(FieldError {
                        field: format!("spec.taints[{i}]"),
                        reason: "FieldValueDuplicate",
                        detail: format!(
                            "Duplicate value: \"{key}:{e}\": taints must be unique by key and effect pair"
                        ),
                    });
                }
                seen.push(pair);
            }
        }
    }
}

/// The CSI source of a PV or an inline pod volume: the driver is required (a PV also needs
/// its volume handle).
fn validate_csi(csi: &Value, field: &str, persistent: bool, errs: &mut Vec<FieldError>) {
    for (key, required) in [("driver", true), ("volumeHandle", persistent)] {
        if required
            && csi
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            errs.push(FieldError::required(&format!("{field}.{key}")));
        }
    }
}

/// Field validation for the kinds whose mistakes matter to mounting.
pub fn validate(res: &Resource, obj: &Value) -> Result<(), ApiError> {
    let mut errs = Vec::new();
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    match res.kind {
        "Pod" => {
            if let Some(class) = meta::str_at(obj, "/spec/priorityClassName")
                && class_priority(class).is_none()
            {
                return Err(ApiError::forbidden(
                    res,
                    meta::name(obj),
                    &format!("no PriorityClass with name {class} was found"),
                ));
            }
            validate_pod_spec(&spec, "spec", &mut errs);
        }
        "Node" => validate_taints(&spec, &mut errs),
        "CSINode" => {
            for (i, d) in spec
                .get("drivers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for key in ["name", "nodeID"] {
                    if d.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                        errs.push(FieldError::required(&format!("spec.drivers[{i}].{key}")));
                    }
                }
            }
        }
        "PersistentVolume" => {
            if spec.get("capacity").is_none_or(Value::is_null) {
                errs.push(FieldError::required("spec.capacity"));
            }
            if spec
                .get("accessModes")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                errs.push(FieldError {
                    field: "spec.accessModes".into(),
                    reason: "FieldValueRequired",
                    detail: "Required value".into(),
                });
            }
            let sources = ["nfs", "hostPath", "local", "csi", "azureFile", "azureDisk"];
            if !sources
                .iter()
                .any(|s| spec.get(*s).is_some_and(|v| !v.is_null()))
            {
                errs.push(FieldError {
                    field: "spec".into(),
                    reason: "FieldValueRequired",
                    detail: "Required value: must specify a volume type".into(),
                });
            }
            if let Some(nfs) = spec.get("nfs") {
                validate_nfs(nfs, "spec.nfs", &mut errs);
            }
            if let Some(csi) = spec.get("csi").filter(|c| !c.is_null()) {
                validate_csi(csi, "spec.csi", true, &mut errs);
            }
            validate_access_modes(&spec, "spec.accessModes", &mut errs);
        }
        "PersistentVolumeClaim" => {
            if spec
                .get("accessModes")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                errs.push(FieldError {
                    field: "spec.accessModes".into(),
                    reason: "FieldValueRequired",
                    detail: "Required value: at least 1 access mode is required".into(),
                });
            }
            if spec.pointer("/resources/requests/storage").is_none() {
                errs.push(FieldError {
                    field: "spec.resources[storage]".into(),
                    reason: "FieldValueRequired",
                    detail: "Required value".into(),
                });
            }
            validate_access_modes(&spec, "spec.accessModes", &mut errs);
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            let selector = spec.get("selector");
            if selector.is_none_or(Value::is_null) {
                errs.push(FieldError::required("spec.selector"));
            } else if let Some(sel) = selector {
                let template = obj
                    .pointer("/spec/template")
                    .cloned()
                    .unwrap_or(Value::Null);
                let ls = super::selectors::LabelSelector::from_object(sel);
                if !ls.matches(&template) {
                    let labels = template
                        .pointer("/metadata/labels")
                        .cloned()
                        .unwrap_or(json!({}));
                    errs.push(FieldError::invalid(
                        "spec.template.metadata.labels",
                        &Value::from(labels.to_string()),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
            validate_pod_spec(
                &obj.pointer("/spec/template/spec")
                    .cloned()
                    .unwrap_or(Value::Null),
                "spec.template.spec",
                &mut errs,
            );
            if res.kind == "Job" {
                let rp = obj
                    .pointer("/spec/template/spec/restartPolicy")
                    .cloned()
                    .unwrap_or(Value::Null);
                if rp != "Never" && rp != "OnFailure" {
                    errs.push(FieldError::unsupported(
                        "spec.template.spec.restartPolicy",
                        &rp,
                        &["OnFailure", "Never"],
                    ));
                }
            }
        }
        _ => {}
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(res, meta::name(obj), errs))
    }
}

fn validate_access_modes(spec: &Value, field: &str, errs: &mut Vec<FieldError>) {
    const MODES: [&str; 4] = [
        "ReadOnlyMany",
        "ReadWriteMany",
        "ReadWriteOnce",
        "ReadWriteOncePod",
    ];
    for m in spec
        .get("accessModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !m.as_str().is_some_and(|s| MODES.contains(&s)) {
            errs.push(FieldError::unsupported(field, m, &MODES));
        }
    }
}

fn validate_nfs(nfs: &Value, field: &str, errs: &mut Vec<FieldError>) {
    if nfs
        .get("server")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        errs.push(FieldError::required(&format!("{field}.server")));
    }
    match nfs.get("path") {
        Some(Value::String(p)) if p.starts_with('/') => {}
        Some(Value::String(p)) if !p.is_empty() => errs.push(FieldError::invalid(
            &format!("{field}.path"),
            &Value::from(p.clone()),
            "must be an absolute path",
        )),
        _ => errs.push(FieldError::required(&format!("{field}.path"))),
    }
}

fn validate_pod_spec(spec: &Value, at: &str, errs: &mut Vec<FieldError>) {
    let containers = spec.get("containers").and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        errs.push(FieldError::required(&format!("{at}.containers")));
    }
    let volumes: Vec<&str> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    for (i, v) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(nfs) = v.get("nfs") {
            validate_nfs(nfs, &format!("{at}.volumes[{i}].nfs"), errs);
        }
        if let Some(csi) = v.get("csi").filter(|c| !c.is_null()) {
            validate_csi(csi, &format!("{at}.volumes[{i}].csi"), false, errs);
        }
        if let Some(pvc) = v.get("persistentVolumeClaim")
            && pvc
                .get("claimName")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            errs.push(FieldError::required(&format!(
                "{at}.volumes[{i}].persistentVolumeClaim.claimName"
            )));
        }
    }
    for (i, c) in containers.into_iter().flatten().enumerate() {
        if c.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            errs.push(FieldError::required(&format!("{at}.containers[{i}].name")));
        }
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            errs.push(FieldError::required(&format!("{at}.containers[{i}].image")));
        }
        for (j, m) in c
            .get("volumeMounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = m.get("name").and_then(Value::as_str).unwrap_or("");
            if !volumes.contains(&name) {
                errs.push(FieldError {
                    field: format!("{at}.containers[{i}].volumeMounts[{j}].name"),
                    reason: "FieldValueNotFound",
                    detail: format!("Not found: \"{name}\""),
                });
            }
        }
    }
    validate_tolerations(spec, at, errs);
    if let Some(rp) = spec.get("restartPolicy")
        && !rp
            .as_str()
            .is_some_and(|s| ["Always", "OnFailure", "Never"].contains(&s))
    {
        errs.push(FieldError::unsupported(
            &format!("{at}.restartPolicy"),
            rp,
            &["Always", "OnFailure", "Never"],
        ));
    }
}

/// Fields that may not change once set.
pub fn validate_update(res: &Resource, old: &Value, new: &Value) -> Result<(), ApiError> {
    let mut errs = Vec::new();
    let spec = |o: &Value| o.get("spec").cloned().unwrap_or(Value::Null);
    match res.kind {
        "PersistentVolume" => {
            let source = |o: &Value| {
                let mut s = spec(o);
                if let Value::Object(m) = &mut s {
                    m.retain(|k, _| {
                        ["nfs", "hostPath", "local", "csi", "azureFile", "azureDisk"]
                            .contains(&k.as_str())
                    });
                }
                s
            };
            if source(old) != source(new) {
                errs.push(FieldError::forbidden(
                    "spec.persistentvolumesource",
                    "spec.persistentvolumesource is immutable after creation",
                ));
            }
        }
        "PersistentVolumeClaim" => {
            let comparable = |o: &Value, keep_volume: bool| {
                let mut s = spec(o);
                if let Value::Object(m) = &mut s {
                    if let Some(Value::Object(r)) = m.get_mut("resources") {
                        r.remove("requests");
                    }
                    if !keep_volume {
                        m.remove("volumeName");
                    }
                }
                s
            };
            let old_volume = old
                .pointer("/spec/volumeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            // The binder fills in volumeName of a claim that had none.
            let keep = !old_volume.is_empty();
            if comparable(old, keep) != comparable(new, keep) {
                errs.push(FieldError::forbidden(
                    "spec",
                    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
                ));
            }
        }
        "Pod" => {
            let comparable = |o: &Value| {
                let mut s = spec(o);
                if let Value::Object(m) = &mut s {
                    for k in [
                        "activeDeadlineSeconds",
                        "tolerations",
                        "terminationGracePeriodSeconds",
                        "nodeName",
                    ] {
                        m.remove(k);
                    }
                    for key in ["containers", "initContainers"] {
                        for c in m
                            .get_mut(key)
                            .and_then(Value::as_array_mut)
                            .into_iter()
                            .flatten()
                        {
                            if let Value::Object(c) = c {
                                c.remove("image");
                            }
                        }
                    }
                }
                s
            };
            if comparable(old) != comparable(new) {
                errs.push(FieldError::forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,\
                     `spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,\
                     `spec.tolerations` (only additions to existing tolerations),\
                     `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
                ));
            }
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            if old.pointer("/spec/selector") != new.pointer("/spec/selector") {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    new.pointer("/spec/selector").unwrap_or(&Value::Null),
                    "field is immutable",
                ));
            }
            if res.kind == "Job" && old.pointer("/spec/template") != new.pointer("/spec/template") {
                errs.push(FieldError::invalid(
                    "spec.template",
                    &Value::from("{...}"),
                    "field is immutable",
                ));
            }
        }
        _ => {}
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(res, meta::name(new), errs))
    }
}
