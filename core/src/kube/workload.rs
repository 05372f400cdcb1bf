//! Adding the claim to a deployment, statefulset or daemonset, and taking it out again.
//!
//! A strategic merge patch: volumes merge by `name`, containers by `name`, volume mounts
//! by `mountPath`, so re-running adds nothing twice. The pod template also gets the label
//! [`LABEL_VOLUME`], which marks its pods as ours for `unmount`.

use ::kube::Api;
use ::kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::apply::Outcome;
use super::manifests::dns_name;
use super::{DryRun, FIELD_MANAGER, LABEL_VOLUME};
use crate::spec::kube::Workload;
use crate::{Error, Result};

/// Where the claim goes in a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadMount {
    pub workload: Workload,
    pub namespace: String,
    pub claim: String,
    /// Path in the containers, e.g. `/mnt/azure`.
    pub mount_path: String,
}

/// The pod volume's name: the claim's name (volume names are DNS labels, ≤ 63).
pub fn volume_name(claim: &str) -> String {
    dns_name(claim, 63)
}

fn api_resource(w: &Workload) -> ApiResource {
    ApiResource {
        group: "apps".into(),
        version: "v1".into(),
        api_version: "apps/v1".into(),
        kind: w.kind().into(),
        plural: w.resource().into(),
    }
}

fn api(client: &::kube::Client, namespace: &str, w: &Workload) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &api_resource(w))
}

/// The names of the pod template's containers.
pub fn containers(obj: &Value) -> Vec<String> {
    obj.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The strategic merge patch that mounts the claim into `containers`.
pub fn add_patch(m: &WorkloadMount, containers: &[String]) -> Value {
    let vol = volume_name(&m.claim);
    json!({
        "spec": {"template": {
            "metadata": {"labels": {LABEL_VOLUME: vol}},
            "spec": {
                "volumes": [{"name": vol, "persistentVolumeClaim": {"claimName": m.claim}}],
                "containers": containers.iter().map(|c| json!({
                    "name": c,
                    "volumeMounts": [{"name": vol, "mountPath": m.mount_path}],
                })).collect::<Vec<_>>(),
            }
        }}
    })
}

/// The same patch as a manifest a GitOps tool can merge (kustomize `patches:`).
pub fn patch_manifest(m: &WorkloadMount, containers: &[String]) -> Value {
    let mut doc = json!({
        "apiVersion": "apps/v1",
        "kind": m.workload.kind(),
        "metadata": {"name": m.workload.name(), "namespace": m.namespace},
    });
    if let (Some(obj), Value::Object(patch)) = (doc.as_object_mut(), add_patch(m, containers)) {
        obj.extend(patch);
    }
    doc
}

/// The patch that removes the volume and every mount of it; `mounts` holds each
/// container's mount paths of the volume.
fn remove_patch(vol: &str, mounts: &[(String, Vec<String>)]) -> Value {
    json!({
        "spec": {"template": {
            "metadata": {"labels": {LABEL_VOLUME: null}},
            "spec": {
                "volumes": [{"name": vol, "$patch": "delete"}],
                "containers": mounts.iter().map(|(c, paths)| json!({
                    "name": c,
                    // Both keys: real servers merge volume mounts by mountPath.
                    "volumeMounts": paths.iter().map(|p| json!({
                        "name": vol, "mountPath": p, "$patch": "delete"
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }
        }}
    })
}

fn rv(o: &DynamicObject) -> Option<String> {
    o.metadata.resource_version.clone()
}

/// Whether the pod template already has everything [`add_patch`] would add.
fn is_mounted(obj: &Value, m: &WorkloadMount, containers: &[String]) -> bool {
    let vol = volume_name(&m.claim);
    let spec = obj.pointer("/spec/template/spec");
    let items = |v: Option<&Value>, key: &str| -> Vec<Value> {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let has_volume = items(spec, "volumes").iter().any(|v| {
        v.get("name").and_then(Value::as_str) == Some(vol.as_str())
            && v.pointer("/persistentVolumeClaim/claimName")
                .and_then(Value::as_str)
                == Some(m.claim.as_str())
    });
    let labelled = obj
        .pointer("/spec/template/metadata/labels")
        .and_then(|l| l.get(LABEL_VOLUME))
        .and_then(Value::as_str)
        == Some(vol.as_str());
    let all_mounted = items(spec, "containers")
        .iter()
        .filter(|c| {
            c.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| containers.iter().any(|x| x == n))
        })
        .all(|c| {
            items(Some(c), "volumeMounts").iter().any(|vm| {
                vm.get("name").and_then(Value::as_str) == Some(vol.as_str())
                    && vm.get("mountPath").and_then(Value::as_str) == Some(m.mount_path.as_str())
            })
        });
    has_volume && labelled && all_mounted
}

/// Mounts the claim into every container of the workload.
pub async fn add(client: &::kube::Client, m: &WorkloadMount, dry_run: DryRun) -> Result<Outcome> {
    let api = api(client, &m.namespace, &m.workload);
    let what = format!("{} in namespace {}", m.workload, m.namespace);
    let current = api
        .get_opt(m.workload.name())
        .await
        .map_err(Error::kube(format!("read {what}")))?
        .ok_or_else(|| Error::ClusterRefused(format!("{what} not found")))?;
    let names = containers(&current.data);
    if names.is_empty() {
        return Err(Error::ClusterRefused(format!("{what} has no containers")));
    }
    // Already mounted: no patch, so a controller's concurrent status write is not
    // mistaken for our change.
    if is_mounted(&current.data, m, &names) {
        return Ok(Outcome::Unchanged);
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        dry_run: dry_run == DryRun::Server,
        ..PatchParams::default()
    };
    let after = api
        .patch(
            m.workload.name(),
            &params,
            &Patch::Strategic(add_patch(m, &names)),
        )
        .await
        .map_err(Error::kube(format!("patch {what}")))?;
    Ok(if rv(&after) == rv(&current) {
        Outcome::Unchanged
    } else {
        Outcome::Configured
    })
}

/// Removes the claim's volume and mounts. `Ok(false)` when the workload is gone or never
/// had it.
pub async fn remove(
    client: &::kube::Client,
    workload: &Workload,
    namespace: &str,
    claim: &str,
) -> Result<bool> {
    let api = api(client, namespace, workload);
    let what = format!("{workload} in namespace {namespace}");
    let Some(current) = api
        .get_opt(workload.name())
        .await
        .map_err(Error::kube(format!("read {what}")))?
    else {
        return Ok(false);
    };
    let vol = volume_name(claim);
    let mounts: Vec<(String, Vec<String>)> = current
        .data
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = c.get("name")?.as_str()?.to_string();
            let paths: Vec<String> = c
                .get("volumeMounts")?
                .as_array()?
                .iter()
                .filter(|vm| vm.get("name").and_then(Value::as_str) == Some(vol.as_str()))
                .filter_map(|vm| vm.get("mountPath")?.as_str().map(str::to_string))
                .collect();
            (!paths.is_empty()).then_some((name, paths))
        })
        .collect();
    let has_volume = current
        .data
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .is_some_and(|v| {
            v.iter()
                .any(|x| x.get("name").and_then(Value::as_str) == Some(vol.as_str()))
        });
    if !has_volume && mounts.is_empty() {
        return Ok(false);
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    api.patch(
        workload.name(),
        &params,
        &Patch::Strategic(remove_patch(&vol, &mounts)),
    )
    .await
    .map_err(Error::kube(format!("patch {what}")))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_patch_mounts_every_container() {
        let m = WorkloadMount {
            workload: Workload::Deployment("web".into()),
            namespace: "default".into(),
            claim: "hpccache-c".into(),
            mount_path: "/mnt/azure".into(),
        };
        let p = add_patch(&m, &["a".into(), "b".into()]);
        let cs = p.pointer("/spec/template/spec/containers").unwrap();
        assert_eq!(cs.as_array().unwrap().len(), 2);
        assert_eq!(cs[1]["volumeMounts"][0]["mountPath"], "/mnt/azure");
        assert_eq!(
            p.pointer("/spec/template/spec/volumes/0/persistentVolumeClaim/claimName")
                .unwrap(),
            "hpccache-c"
        );
        let doc = patch_manifest(&m, &["a".into()]);
        assert_eq!(doc["kind"], "Deployment");
        assert_eq!(doc["metadata"]["name"], "web");
    }
}
