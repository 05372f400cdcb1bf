//! The scheduler and kubelet model: pods wait for bound claims, NFS mounts succeed or
//! fail as the fabric says (with the kubelet's FailedMount text), pods recover when the
//! world is fixed, probe pods print the fabric's report, workloads create pods.

use crate::kube_support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, LogParams, PostParams};
use kube_support::*;
use serde_json::{Value, json};

fn yaml<T: serde::de::DeserializeOwned>(y: &str) -> T {
    let v: Value = serde_saphyr::from_str(y).unwrap();
    serde_json::from_value(v).unwrap()
}

/// The guide's PV (at `path`), claim and nginx pod.
async fn guide(c: &Cluster, path: &str) -> kube::Client {
    let client = c.client().await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut pv: PersistentVolume = yaml(PV_NFS);
    pv.spec.as_mut().unwrap().nfs.as_mut().unwrap().path = path.into();
    pvs.create(&PostParams::default(), &pv).await.unwrap();
    pvcs.create(&PostParams::default(), &yaml(PVC_NFS))
        .await
        .unwrap();
    pods.create(&PostParams::default(), &yaml(NGINX_NFS))
        .await
        .unwrap();
    client
}

async fn pod_phase(client: &kube::Client, name: &str, want: &str) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually(5, || async {
        let p = pods.get(name).await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some(want)).then_some(p)
    })
    .await
}

async fn event(client: &kube::Client, name: &str, reason: &str) -> Event {
    let api: Api<Event> = Api::namespaced(client.clone(), "default");
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    eventually(5, || async {
        let l = api.list(&lp).await.ok()?;
        l.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(reason))
    })
    .await
}

fn waiting_reason(p: &Pod) -> Option<String> {
    p.status.as_ref()?.container_statuses.as_ref()?[0]
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

#[tokio::test]
async fn guide_pod_runs_ready_on_a_node() {
    let c = start().await;
    let client = guide(&c, "/myfilepath").await;
    let p = pod_phase(&client, "nginx-nfs", "Running").await;
    let spec = p.spec.unwrap();
    assert!(spec.node_name.unwrap().starts_with("aks-nodepool1-"));
    let status = p.status.unwrap();
    let ready = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "True");
    assert!(status.container_statuses.unwrap()[0].ready);
    let scheduled = event(&client, "nginx-nfs", "Scheduled").await;
    assert!(
        scheduled
            .message
            .unwrap()
            .starts_with("Successfully assigned default/nginx-nfs to aks-nodepool1-")
    );
    let mounts = c.fabric.mounts.lock().unwrap().clone();
    assert!(
        mounts
            .iter()
            .any(|(id, s, p)| id == CLUSTER_ID && s == SERVER && p == "/myfilepath")
    );
}

#[tokio::test]
async fn wrong_path_fails_mount_with_access_denied_and_the_kubelet_text() {
    let c = start().await;
    let client = guide(&c, "/wrong").await;
    let e = event(&client, "nginx-nfs", "FailedMount").await;
    let p = pod_phase(&client, "nginx-nfs", "Pending").await;
    let uid = p.metadata.uid.clone().unwrap();
    assert_eq!(waiting_reason(&p).as_deref(), Some("ContainerCreating"));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(
        e.message.unwrap(),
        format!(
            "MountVolume.SetUp failed for volume \"pv-nfs\" : mount failed: exit status 32\n\
             Mounting command: mount\n\
             Mounting arguments: -t nfs -o vers=3 server.myhpccache.local:/wrong /var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~nfs/pv-nfs\n\
             Output: mount.nfs: access denied by server while mounting server.myhpccache.local:/wrong"
        )
    );
}

#[tokio::test]
async fn unlinked_dns_zone_fails_to_resolve_until_linked() {
    let c = start().await;
    c.fabric.set(|w| w.zone_linked = false);
    let client = guide(&c, "/myfilepath").await;
    let e = event(&client, "nginx-nfs", "FailedMount").await;
    assert!(
        e.message.unwrap().ends_with(
            "Output: mount.nfs: Failed to resolve server server.myhpccache.local: Name or service not known"
        )
    );
    assert_eq!(
        waiting_reason(&pod_phase(&client, "nginx-nfs", "Pending").await).as_deref(),
        Some("ContainerCreating")
    );
    // The world is fixed: the kubelet retries and the pod starts, as on a node.
    c.fabric.set(|w| w.zone_linked = true);
    pod_phase(&client, "nginx-nfs", "Running").await;
}

#[tokio::test]
async fn stopped_cache_times_out() {
    let c = start().await;
    c.fabric.set(|w| w.cache_running = false);
    let client = guide(&c, "/myfilepath").await;
    let e = event(&client, "nginx-nfs", "FailedMount").await;
    assert!(
        e.message
            .unwrap()
            .ends_with("Output: mount.nfs: Connection timed out")
    );
}

#[tokio::test]
async fn pod_with_unbound_claim_is_unschedulable() {
    let c = start().await;
    let client = c.client().await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pvcs.create(&PostParams::default(), &yaml(PVC_NFS))
        .await
        .unwrap();
    pods.create(&PostParams::default(), &yaml(NGINX_NFS))
        .await
        .unwrap();
    let e = event(&client, "nginx-nfs", "FailedScheduling").await;
    assert_eq!(
        e.message.as_deref(),
        Some(
            "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    let p = pods.get("nginx-nfs").await.unwrap();
    assert!(p.spec.unwrap().node_name.is_none());
}

fn probe_pod(name: &str, uid: Option<i64>, sub_path: Option<&str>) -> Pod {
    let mut mount = json!({"name": "data", "mountPath": "/mnt/hpccache"});
    if let Some(s) = sub_path {
        mount["subPath"] = json!(s);
    }
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {hpccache_core::probe::PROBE_LABEL: "true"}},
        "spec": {"restartPolicy": "Never",
                 "containers": [{"name": "probe", "image": "busybox:1.36", "command": ["sh", "-c", "probe"],
                                 "volumeMounts": [mount]}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pvc-nfs"}}]},
    });
    if let Some(u) = uid {
        pod["spec"]["securityContext"] = json!({"runAsUser": u, "runAsGroup": u});
    }
    serde_json::from_value(pod).unwrap()
}

#[tokio::test]
async fn probe_pods_print_the_fabric_report_and_root_squash_denies_non_root_writes() {
    let c = start().await;
    c.fabric.set(|w| w.root_squash = true);
    let client = guide(&c, "/").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &probe_pod("probe-user", Some(1000), Some("myfilepath")),
    )
    .await
    .unwrap();
    pod_phase(&client, "probe-user", "Succeeded").await;
    let log = pods
        .logs("probe-user", &LogParams::default())
        .await
        .unwrap();
    let report = hpccache_core::probe::Report::parse(&log).unwrap().unwrap();
    assert_eq!(report.source, "server.myhpccache.local:/myfilepath");
    assert_eq!(report.mount_point, "/mnt/hpccache");
    assert_eq!((report.uid, report.gid), (1000, 1000));
    assert!(!report.write, "non-root cannot write a root-owned export");
    assert!(!report.ok());

    // Owned by the user (the init chown while root squash was off): writes work.
    c.fabric.set(|w| w.owner_uid = 1000);
    pods.create(
        &PostParams::default(),
        &probe_pod("probe-owner", Some(1000), None),
    )
    .await
    .unwrap();
    pod_phase(&client, "probe-owner", "Succeeded").await;
    let log = pods
        .logs("probe-owner", &LogParams::default())
        .await
        .unwrap();
    assert!(
        hpccache_core::probe::Report::parse(&log)
            .unwrap()
            .unwrap()
            .ok()
    );

    // Any other pod's log is empty.
    pod_phase(&client, "nginx-nfs", "Running").await;
    assert_eq!(
        pods.logs("nginx-nfs", &LogParams::default()).await.unwrap(),
        ""
    );
}

/// A pod of the owner job (`hpccache_core::owner`), as `up --owner` makes it: root, the
/// export mounted directly, the contract's variables.
fn owner_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {hpccache_core::owner::OWNER_LABEL: "myhpccache"}},
        "spec": {"restartPolicy": "Never",
                 "securityContext": {"runAsUser": 0, "runAsGroup": 0},
                 "containers": [{"name": "owner", "image": "busybox:1.36", "command": ["sh", "-c", "owner"],
                                 "env": [{"name": hpccache_core::owner::DIR_ENV, "value": "/mnt/hpccache"},
                                         {"name": hpccache_core::owner::OWNER_ENV, "value": "1000:1000"}],
                                 "volumeMounts": [{"name": "export", "mountPath": "/mnt/hpccache"}]}],
                 "volumes": [{"name": "export", "nfs": {"server": "server.myhpccache.local", "path": "/myfilepath"}}]},
    }))
    .unwrap()
}

#[tokio::test]
async fn owner_job_pods_chown_through_the_fabric_and_fail_when_root_is_squashed() {
    let c = start().await;
    c.fabric.set(|w| w.root_squash = true);
    let client = c.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    // Root squash on: root is nobody and may not chown; the pod fails, saying why.
    pods.create(&PostParams::default(), &owner_pod("owner-squashed"))
        .await
        .unwrap();
    pod_phase(&client, "owner-squashed", "Failed").await;
    let log = pods
        .logs("owner-squashed", &LogParams::default())
        .await
        .unwrap();
    let report = hpccache_core::owner::Report::parse(&log).unwrap().unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("chown: /mnt/hpccache: Operation not permitted")
    );
    assert_eq!(c.fabric.world.lock().unwrap().owner_uid, 0);
    // Root squash off: the export's root becomes 1000's, and the pod succeeds.
    c.fabric.set(|w| w.root_squash = false);
    pods.create(&PostParams::default(), &owner_pod("owner"))
        .await
        .unwrap();
    pod_phase(&client, "owner", "Succeeded").await;
    let log = pods.logs("owner", &LogParams::default()).await.unwrap();
    let report = hpccache_core::owner::Report::parse(&log).unwrap().unwrap();
    assert!(report.ok() && report.changed, "{report:?}");
    assert_eq!(c.fabric.world.lock().unwrap().owner_uid, 1000);
}

#[tokio::test]
async fn deployment_pods_mount_the_claim_and_status_follows_them() {
    let c = start().await;
    let client = guide(&c, "/myfilepath").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                                       "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pvc-nfs"}}]}}},
    }))
    .unwrap();
    deploys.create(&PostParams::default(), &d).await.unwrap();
    let ready = eventually(5, || async {
        let d = deploys.get("web").await.ok()?;
        (d.status.as_ref()?.ready_replicas == Some(2)).then_some(d)
    })
    .await;
    let status = ready.status.unwrap();
    assert_eq!(status.available_replicas, Some(2));
    let avail = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Available")
        .unwrap();
    assert_eq!(avail.status, "True");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let web = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(web.items.len(), 2);
}
