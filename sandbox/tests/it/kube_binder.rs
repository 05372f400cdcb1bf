//! The PV/PVC binder: the guide's static binding, the `storageClassName: ""` trap, claims
//! that cannot bind, Released volumes and the protection finalizers.

use crate::kube_support;

use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube_support::*;
use serde_json::json;

fn pv(name: &str, size: &str, path: &str) -> PersistentVolume {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteMany"],
                 "mountOptions": ["vers=3"], "nfs": {"server": SERVER, "path": path}},
    }))
    .unwrap()
}

fn pvc(name: &str, size: &str, volume: Option<&str>) -> PersistentVolumeClaim {
    let mut v = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
                 "resources": {"requests": {"storage": size}}},
    });
    if let Some(vol) = volume {
        v["spec"]["volumeName"] = json!(vol);
    }
    serde_json::from_value(v).unwrap()
}

async fn phase_of_claim(
    api: &Api<PersistentVolumeClaim>,
    name: &str,
    want: &str,
) -> PersistentVolumeClaim {
    eventually(5, || async {
        let c = api.get(name).await.ok()?;
        (c.status.as_ref()?.phase.as_deref() == Some(want)).then_some(c)
    })
    .await
}

async fn events_for(client: &kube::Client, name: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), "default");
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    api.list(&lp).await.unwrap().items
}

#[tokio::test]
async fn guide_claim_binds_to_the_guide_volume() {
    let c = start().await;
    let client = c.client().await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    pvs.create(&PostParams::default(), &pv("pv-nfs", "10000Gi", "/"))
        .await
        .unwrap();
    let avail = eventually(5, || async {
        let v = pvs.get("pv-nfs").await.ok()?;
        (v.status.as_ref()?.phase.as_deref() == Some("Available")).then_some(v)
    })
    .await;
    assert_eq!(
        avail.metadata.finalizers.as_deref(),
        Some(&["kubernetes.io/pv-protection".to_string()][..])
    );
    pvcs.create(&PostParams::default(), &pvc("pvc-nfs", "100Gi", None))
        .await
        .unwrap();
    let claim = phase_of_claim(&pvcs, "pvc-nfs", "Bound").await;
    let status = claim.status.unwrap();
    assert_eq!(claim.spec.unwrap().volume_name.as_deref(), Some("pv-nfs"));
    assert_eq!(status.capacity.unwrap()["storage"].0, "10000Gi");
    let ann = claim.metadata.annotations.unwrap();
    assert_eq!(ann["pv.kubernetes.io/bind-completed"], "yes");
    let bound = pvs.get("pv-nfs").await.unwrap();
    assert_eq!(bound.status.unwrap().phase.as_deref(), Some("Bound"));
    let cr = bound.spec.unwrap().claim_ref.unwrap();
    assert_eq!(cr.name.as_deref(), Some("pvc-nfs"));
    assert_eq!(cr.uid, claim.metadata.uid);
}

#[tokio::test]
async fn claim_without_volume_name_binds_to_any_fitting_volume_but_volume_name_binds_right() {
    let c = start().await;
    let client = c.client().await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    // Someone else's smaller volume: the smallest fitting one wins without volumeName.
    pvs.create(&PostParams::default(), &pv("other-team", "500Gi", "/other"))
        .await
        .unwrap();
    pvs.create(
        &PostParams::default(),
        &pv("pv-nfs", "10000Gi", "/myfilepath"),
    )
    .await
    .unwrap();
    eventually(5, || async {
        let l = pvs.list(&ListParams::default()).await.ok()?;
        l.items
            .iter()
            .all(|v| v.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Available"))
            .then_some(())
    })
    .await;
    pvcs.create(&PostParams::default(), &pvc("trap", "100Gi", None))
        .await
        .unwrap();
    let trapped = phase_of_claim(&pvcs, "trap", "Bound").await;
    assert_eq!(
        trapped.spec.unwrap().volume_name.as_deref(),
        Some("other-team")
    );

    pvcs.create(
        &PostParams::default(),
        &pvc("pvc-nfs", "100Gi", Some("pv-nfs")),
    )
    .await
    .unwrap();
    let right = phase_of_claim(&pvcs, "pvc-nfs", "Bound").await;
    assert_eq!(right.spec.unwrap().volume_name.as_deref(), Some("pv-nfs"));
}

#[tokio::test]
async fn claims_that_cannot_bind_stay_pending_with_the_controller_events() {
    let c = start().await;
    let client = c.client().await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    pvcs.create(&PostParams::default(), &pvc("nothing", "100Gi", None))
        .await
        .unwrap();
    pvs.create(&PostParams::default(), &pv("small", "10Gi", "/"))
        .await
        .unwrap();
    pvcs.create(
        &PostParams::default(),
        &pvc("too-big", "100Gi", Some("small")),
    )
    .await
    .unwrap();
    let e = eventually(5, || async {
        let ev = events_for(&client, "nothing").await;
        ev.into_iter()
            .find(|e| e.reason.as_deref() == Some("FailedBinding"))
    })
    .await;
    assert_eq!(
        e.message.as_deref(),
        Some("no persistent volumes available for this claim and no storage class is set")
    );
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    let e = eventually(5, || async {
        let ev = events_for(&client, "too-big").await;
        ev.into_iter()
            .find(|e| e.reason.as_deref() == Some("VolumeMismatch"))
    })
    .await;
    assert_eq!(
        e.message.as_deref(),
        Some("Cannot bind to requested volume \"small\": requested PV is too small")
    );
    for name in ["nothing", "too-big"] {
        let claim = pvcs.get(name).await.unwrap();
        assert_eq!(claim.status.unwrap().phase.as_deref(), Some("Pending"));
    }
}

#[tokio::test]
async fn deleting_a_claim_in_use_waits_for_the_pod_then_releases_the_volume() {
    let c = start().await;
    let client = c.client().await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pvs.create(&PostParams::default(), &pv("pv-nfs", "10000Gi", "/"))
        .await
        .unwrap();
    pvcs.create(
        &PostParams::default(),
        &pvc("pvc-nfs", "100Gi", Some("pv-nfs")),
    )
    .await
    .unwrap();
    phase_of_claim(&pvcs, "pvc-nfs", "Bound").await;
    let pod: Pod = serde_json::from_value(yaml(NGINX_NFS)).unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    eventually(5, || async {
        let p = pods.get("nginx-nfs").await.ok()?;
        (p.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;

    pvcs.delete("pvc-nfs", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let terminating = pvcs.get("pvc-nfs").await.unwrap();
    assert!(
        terminating.metadata.deletion_timestamp.is_some(),
        "protected while in use"
    );

    pods.delete("nginx-nfs", &DeleteParams::default())
        .await
        .unwrap();
    eventually(5, || async {
        pvcs.get_opt("pvc-nfs").await.ok()?.is_none().then_some(())
    })
    .await;
    let released = eventually(5, || async {
        let v = pvs.get("pv-nfs").await.ok()?;
        (v.status.as_ref()?.phase.as_deref() == Some("Released")).then_some(v)
    })
    .await;
    assert_eq!(
        released
            .spec
            .unwrap()
            .persistent_volume_reclaim_policy
            .as_deref(),
        Some("Retain")
    );
}

/// The guide's pod as a JSON value (the YAML constant through serde-saphyr).
fn yaml(yaml: &str) -> serde_json::Value {
    serde_saphyr::from_str(yaml).unwrap()
}
