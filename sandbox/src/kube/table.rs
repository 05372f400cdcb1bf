//! `meta.k8s.io/v1` Table responses, the server-side printing `kubectl get` asks for,
//! with the columns the real API server prints for each kind.

use serde_json::{Value, json};

use super::resources::Resource;
use super::{meta, time};

/// Which object each row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

struct Col(&'static str, &'static str, i32);

fn columns(res: &Resource) -> Vec<Col> {
    let c = |n, t| Col(n, t, 0);
    let wide = |n, t| Col(n, t, 1);
    match res.kind {
        "PersistentVolume" => vec![
            c("Name", "string"),
            c("Capacity", "string"),
            c("Access Modes", "string"),
            c("Reclaim Policy", "string"),
            c("Status", "string"),
            c("Claim", "string"),
            c("StorageClass", "string"),
            c("VolumeAttributesClass", "string"),
            c("Reason", "string"),
            c("Age", "string"),
            wide("VolumeMode", "string"),
        ],
        "PersistentVolumeClaim" => vec![
            c("Name", "string"),
            c("Status", "string"),
            c("Volume", "string"),
            c("Capacity", "string"),
            c("Access Modes", "string"),
            c("StorageClass", "string"),
            c("VolumeAttributesClass", "string"),
            c("Age", "string"),
            wide("VolumeMode", "string"),
        ],
        "Pod" => vec![
            c("Name", "string"),
            c("Ready", "string"),
            c("Status", "string"),
            c("Restarts", "string"),
            c("Age", "string"),
            wide("IP", "string"),
            wide("Node", "string"),
            wide("Nominated Node", "string"),
            wide("Readiness Gates", "string"),
        ],
        "Node" => vec![
            c("Name", "string"),
            c("Status", "string"),
            c("Roles", "string"),
            c("Age", "string"),
            c("Version", "string"),
            wide("Internal-IP", "string"),
            wide("External-IP", "string"),
            wide("OS-Image", "string"),
            wide("Kernel-Version", "string"),
            wide("Container-Runtime", "string"),
        ],
        "Namespace" => vec![
            c("Name", "string"),
            c("Status", "string"),
            c("Age", "string"),
        ],
        "Event" => vec![
            c("Last Seen", "string"),
            c("Type", "string"),
            c("Reason", "string"),
            c("Object", "string"),
            c("Message", "string"),
        ],
        "ConfigMap" => vec![
            c("Name", "string"),
            c("Data", "integer"),
            c("Age", "string"),
        ],
        "Deployment" => vec![
            c("Name", "string"),
            c("Ready", "string"),
            c("Up-to-date", "integer"),
            c("Available", "integer"),
            c("Age", "string"),
            wide("Containers", "string"),
            wide("Images", "string"),
            wide("Selector", "string"),
        ],
        "ReplicaSet" => vec![
            c("Name", "string"),
            c("Desired", "integer"),
            c("Current", "integer"),
            c("Ready", "integer"),
            c("Age", "string"),
            wide("Containers", "string"),
            wide("Images", "string"),
            wide("Selector", "string"),
        ],
        "StatefulSet" => vec![
            c("Name", "string"),
            c("Ready", "string"),
            c("Age", "string"),
            wide("Containers", "string"),
            wide("Images", "string"),
        ],
        "DaemonSet" => vec![
            c("Name", "string"),
            c("Desired", "integer"),
            c("Current", "integer"),
            c("Ready", "integer"),
            c("Up-to-date", "integer"),
            c("Available", "integer"),
            c("Node Selector", "string"),
            c("Age", "string"),
            wide("Containers", "string"),
            wide("Images", "string"),
            wide("Selector", "string"),
        ],
        "Job" => vec![
            c("Name", "string"),
            c("Status", "string"),
            c("Completions", "string"),
            c("Duration", "string"),
            c("Age", "string"),
            wide("Containers", "string"),
            wide("Images", "string"),
            wide("Selector", "string"),
        ],
        "CSIDriver" => vec![
            c("Name", "string"),
            c("AttachRequired", "boolean"),
            c("PodInfoOnMount", "boolean"),
            c("StorageCapacity", "boolean"),
            c("TokenRequests", "string"),
            c("RequiresRepublish", "boolean"),
            c("Modes", "string"),
            c("Age", "string"),
        ],
        "CSINode" => vec![
            c("Name", "string"),
            c("Drivers", "integer"),
            c("Age", "string"),
        ],
        _ => vec![c("Name", "string"), c("Age", "string")],
    }
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn i(o: &Value, ptr: &str) -> i64 {
    o.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(x: String) -> String {
    if x.is_empty() { "<none>".into() } else { x }
}

fn access_modes(v: Option<&Value>) -> String {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|m| match m {
                    "ReadWriteOnce" => "RWO",
                    "ReadOnlyMany" => "ROX",
                    "ReadWriteMany" => "RWX",
                    "ReadWriteOncePod" => "RWOP",
                    other => other,
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn containers_images(template_spec: Option<&Value>) -> (String, String) {
    let list = template_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = list.iter().map(|c| s(c.get("name"))).collect();
    let images: Vec<String> = list.iter().map(|c| s(c.get("image"))).collect();
    (names.join(","), images.join(","))
}

fn selector_text(sel: Option<&Value>) -> String {
    let mut parts: Vec<String> = sel
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", s(Some(v))))
                .collect()
        })
        .unwrap_or_default();
    parts.sort();
    or_none(parts.join(","))
}

/// The STATUS column of a pod, computed like kubectl's printer.
pub fn pod_status(p: &Value) -> String {
    let mut reason = s(p.pointer("/status/phase"));
    if let Some(r) = p.pointer("/status/reason").and_then(Value::as_str) {
        reason = r.to_string();
    }
    for c in p
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(w) = c.pointer("/state/waiting/reason").and_then(Value::as_str) {
            reason = w.to_string();
        } else if let Some(t) = c
            .pointer("/state/terminated/reason")
            .and_then(Value::as_str)
        {
            reason = t.to_string();
        }
    }
    if meta::deleting(p) {
        reason = "Terminating".into();
    }
    reason
}

fn cells(res: &Resource, o: &Value) -> Vec<Value> {
    let name = json!(meta::name(o));
    let age = json!(time::age(meta::str_at(o, "/metadata/creationTimestamp")));
    match res.kind {
        "PersistentVolume" => {
            let claim = o
                .pointer("/spec/claimRef")
                .map(|c| format!("{}/{}", s(c.get("namespace")), s(c.get("name"))));
            let phase = if meta::deleting(o) {
                "Terminating".into()
            } else {
                s(o.pointer("/status/phase"))
            };
            vec![
                name,
                json!(s(o.pointer("/spec/capacity/storage"))),
                json!(access_modes(o.pointer("/spec/accessModes"))),
                json!(s(o.pointer("/spec/persistentVolumeReclaimPolicy"))),
                json!(phase),
                json!(claim.unwrap_or_default()),
                json!(s(o.pointer("/spec/storageClassName"))),
                json!(match s(o.pointer("/spec/volumeAttributesClassName")) {
                    x if x.is_empty() => "<unset>".into(),
                    x => x,
                }),
                json!(s(o.pointer("/status/reason"))),
                age,
                json!(s(o.pointer("/spec/volumeMode"))),
            ]
        }
        "PersistentVolumeClaim" => {
            let phase = if meta::deleting(o) {
                "Terminating".into()
            } else {
                s(o.pointer("/status/phase"))
            };
            vec![
                name,
                json!(phase),
                json!(s(o.pointer("/spec/volumeName"))),
                json!(s(o.pointer("/status/capacity/storage"))),
                json!(access_modes(o.pointer("/status/accessModes"))),
                json!(s(o.pointer("/spec/storageClassName"))),
                json!(match s(o.pointer("/spec/volumeAttributesClassName")) {
                    x if x.is_empty() => "<unset>".into(),
                    x => x,
                }),
                age,
                json!(s(o.pointer("/spec/volumeMode"))),
            ]
        }
        "Pod" => {
            let statuses = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = o
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            let ready = statuses
                .iter()
                .filter(|c| c.get("ready") == Some(&Value::Bool(true)))
                .count();
            let restarts: i64 = statuses
                .iter()
                .map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0))
                .sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts.to_string()),
                age,
                json!(or_none(s(o.pointer("/status/podIP")))),
                json!(or_none(s(o.pointer("/spec/nodeName")))),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        "Node" => {
            let ready = meta::condition_true(o, "Ready");
            let mut roles: Vec<String> = o
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|l| {
                    l.keys()
                        .filter_map(|k| {
                            k.strip_prefix("node-role.kubernetes.io/").map(String::from)
                        })
                        .collect()
                })
                .unwrap_or_default();
            roles.sort();
            let internal = o
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .find(|x| x.get("type") == Some(&json!("InternalIP")))
                        .map(|x| s(x.get("address")))
                });
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!(or_none(roles.join(","))),
                age,
                json!(s(o.pointer("/status/nodeInfo/kubeletVersion"))),
                json!(or_none(internal.unwrap_or_default())),
                json!("<none>"),
                json!(s(o.pointer("/status/nodeInfo/osImage"))),
                json!(s(o.pointer("/status/nodeInfo/kernelVersion"))),
                json!(s(o.pointer("/status/nodeInfo/containerRuntimeVersion"))),
            ]
        }
        "Namespace" => vec![name, json!(s(o.pointer("/status/phase"))), age],
        "Event" => {
            let last = meta::str_at(o, "/lastTimestamp")
                .or_else(|| meta::str_at(o, "/metadata/creationTimestamp"));
            let kind = s(o.pointer("/involvedObject/kind")).to_lowercase();
            vec![
                json!(time::age(last)),
                json!(s(o.get("type"))),
                json!(s(o.get("reason"))),
                json!(format!("{kind}/{}", s(o.pointer("/involvedObject/name")))),
                json!(s(o.get("message"))),
            ]
        }
        "ConfigMap" => {
            let n = o
                .get("data")
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(0)
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0);
            vec![name, json!(n), age]
        }
        "Deployment" => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    i(o, "/spec/replicas")
                )),
                json!(i(o, "/status/updatedReplicas")),
                json!(i(o, "/status/availableReplicas")),
                age,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/selector"))),
            ]
        }
        "ReplicaSet" => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(i(o, "/spec/replicas")),
                json!(i(o, "/status/replicas")),
                json!(i(o, "/status/readyReplicas")),
                age,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/selector"))),
            ]
        }
        "StatefulSet" => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    i(o, "/spec/replicas")
                )),
                age,
                json!(c),
                json!(im),
            ]
        }
        "DaemonSet" => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            let ns = o
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", s(Some(v))))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                json!(i(o, "/status/desiredNumberScheduled")),
                json!(i(o, "/status/currentNumberScheduled")),
                json!(i(o, "/status/numberReady")),
                json!(i(o, "/status/updatedNumberScheduled")),
                json!(i(o, "/status/numberAvailable")),
                json!(or_none(ns)),
                age,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/selector"))),
            ]
        }
        "Job" => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            let status = if meta::condition_true(o, "Complete") {
                "Complete"
            } else if meta::condition_true(o, "Failed") {
                "Failed"
            } else {
                "Running"
            };
            let start = meta::str_at(o, "/status/startTime").and_then(time::parse);
            let end = meta::str_at(o, "/status/completionTime")
                .and_then(time::parse)
                .unwrap_or_else(time::now_secs);
            let duration = start
                .map(|st| time::human_duration(end - st))
                .unwrap_or_default();
            vec![
                name,
                json!(status),
                json!(format!(
                    "{}/{}",
                    i(o, "/status/succeeded"),
                    i(o, "/spec/completions")
                )),
                json!(duration),
                age,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/selector"))),
            ]
        }
        "CSIDriver" => {
            // Unset booleans print as the API's defaults, as the real printer does.
            let flag = |ptr: &str, default: bool| {
                json!(o.pointer(ptr).and_then(Value::as_bool).unwrap_or(default))
            };
            let tokens: Vec<String> = o
                .pointer("/spec/tokenRequests")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| s(t.get("audience")))
                .collect();
            let modes: Vec<String> = o
                .pointer("/spec/volumeLifecycleModes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|m| s(Some(m)))
                .collect();
            vec![
                name,
                flag("/spec/attachRequired", true),
                flag("/spec/podInfoOnMount", false),
                flag("/spec/storageCapacity", false),
                json!(if tokens.is_empty() {
                    "<unset>".to_string()
                } else {
                    tokens.join(",")
                }),
                flag("/spec/requiresRepublish", false),
                json!(or_none(modes.join(","))),
                age,
            ]
        }
        "CSINode" => {
            let drivers = o
                .pointer("/spec/drivers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![name, json!(drivers), age]
        }
        _ => vec![name, age],
    }
}

fn row(res: &Resource, o: &Value, include: Include) -> Value {
    let mut r = json!({"cells": cells(res, o)});
    match include {
        Include::None => {}
        Include::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata").cloned().unwrap_or_default(),
            });
        }
        Include::Object => r["object"] = o.clone(),
    }
    r
}

/// A Table of `objects`; `resource_version` is the list's.
pub fn table<'a>(
    res: &Resource,
    objects: impl IntoIterator<Item = &'a Value>,
    include: Include,
    resource_version: &str,
) -> Value {
    let defs: Vec<Value> = columns(res)
        .into_iter()
        .map(|Col(name, ty, priority)| {
            let format = if name == "Name" { "name" } else { "" };
            json!({"name": name, "type": ty, "format": format, "description": description(name), "priority": priority})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": defs,
        "rows": objects.into_iter().map(|o| row(res, o, include)).collect::<Vec<_>>(),
    })
}

fn description(col: &str) -> &'static str {
    match col {
        "Name" => {
            "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
        }
        "Drivers" => "Drivers indicates the number of CSI drivers registered on the node",
        "Age" => {
            "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."
        }
        _ => "",
    }
}
