//! The cluster side of Azure Managed Lustre: the Lustre CSI driver's install (CSIDriver,
//! node plugins, the startup taint), the scheduler's taints and tolerations, and the
//! kubelet's CSI path — attach, registration, the driver's checks, then the fabric.

use crate::kube_support;

use hpccache_sandbox::fabric::LustreTarget;
use hpccache_sandbox::kube::LustreCsi;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams};
use kube_support::*;
use serde_json::{Value, json};

const DRIVER: &str = "azurelustre.csi.azure.com";
const TAINT: &str = "azurelustre.csi.azure.com/agent-not-ready";
const UNSCHEDULABLE: &str = "0/3 nodes are available: 3 node(s) had untolerated taint {azurelustre.csi.azure.com/agent-not-ready: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";

async fn post(c: &Cluster, path: &str, body: Value) -> (u16, Value) {
    let (code, text) = c
        .http("POST", path, "application/json", &body.to_string())
        .await;
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create(c: &Cluster, path: &str, body: Value) -> Value {
    let (code, v) = post(c, path, body).await;
    assert_eq!(code, 201, "POST {path}: {v}");
    v
}

async fn get(c: &Cluster, path: &str) -> (u16, Value) {
    let (code, text) = c.http("GET", path, "application/json", "").await;
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A static Lustre PV as the plugin writes one, pre-bound to its claim `<name>-claim`.
fn lustre_pv(name: &str, attributes: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
           "spec": {"capacity": {"storage": "48Ti"}, "accessModes": ["ReadWriteMany"],
                    "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                    "mountOptions": ["noatime", "flock"],
                    "csi": {"driver": DRIVER, "volumeHandle": format!("{name}-handle"),
                            "volumeAttributes": attributes},
                    "claimRef": {"namespace": "default", "name": format!("{name}-claim")}}})
}

fn attributes(mgs: &str, fs: &str) -> Value {
    json!({"mgs-ip-address": mgs, "fs-name": fs})
}

/// The PV `pv`, its claim, and a pod `pod` mounting it at /mnt/lustre.
async fn volume_and_pod(c: &Cluster, pv: &str, attributes: Value, pod: &str) {
    create(c, "/api/v1/persistentvolumes", lustre_pv(pv, attributes)).await;
    create(
        c,
        "/api/v1/namespaces/default/persistentvolumeclaims",
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": format!("{pv}-claim")},
               "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": pv,
                        "resources": {"requests": {"storage": "48Ti"}}}}),
    )
    .await;
    create(
        c,
        "/api/v1/namespaces/default/pods",
        app_pod(pod, pv, json!([])),
    )
    .await;
}

fn app_pod(name: &str, pv: &str, tolerations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"tolerations": tolerations,
                    "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"],
                                    "volumeMounts": [{"name": "data", "mountPath": "/mnt/lustre"}]}],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": format!("{pv}-claim")}}]}})
}

async fn pod_where(c: &Cluster, name: &str, want: impl Fn(&Pod) -> bool) -> Pod {
    let pods: Api<Pod> = Api::namespaced(c.client().await, "default");
    eventually(20, || async {
        let p = pods.get(name).await.ok()?;
        want(&p).then_some(p)
    })
    .await
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn waiting_reason(p: &Pod, container: &str) -> Option<String> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == container)?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

fn condition<'a>(p: &'a Pod, t: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
}

async fn event(c: &Cluster, pod: &str, reason: &str) -> Event {
    let api: Api<Event> = Api::namespaced(c.client().await, "default");
    let lp = ListParams::default().fields(&format!("involvedObject.name={pod}"));
    eventually(20, || async {
        api.list(&lp)
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(reason))
    })
    .await
}

fn lustre_calls(c: &Cluster) -> Vec<LustreCall> {
    c.fabric.lustre_mounts.lock().unwrap().clone()
}

/// The driver's node pods (the DaemonSet's), once there is one per node.
async fn plugin_pods(c: &Cluster, want: impl Fn(&Pod) -> bool) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(c.client().await, "kube-system");
    let lp = ListParams::default().labels("app=csi-azurelustre-node");
    eventually(20, || async {
        let l = pods.list(&lp).await.ok()?.items;
        (l.len() == 3 && l.iter().all(&want)).then_some(l)
    })
    .await
}

fn taints(n: &Node) -> Vec<String> {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect()
}

async fn registered_everywhere(c: &Cluster) {
    eventually(20, || async {
        let (_, list) = get(c, "/apis/storage.k8s.io/v1/csinodes").await;
        let items = list["items"].as_array()?;
        (items.len() == 3 && items.iter().all(|n| {
            n["spec"]["drivers"]
                == json!([{"name": DRIVER, "nodeID": n["metadata"]["name"], "topologyKeys": null}])
        }))
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_installed_driver_registers_on_every_node_and_lifts_the_startup_taint() {
    let c = start_lustre(LustreCsi::Installed, 0.0).await;
    let (code, d) = get(&c, &format!("/apis/storage.k8s.io/v1/csidrivers/{DRIVER}")).await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["spec"]["attachRequired"], false, "{d}");
    assert_eq!(d["spec"]["podInfoOnMount"], true, "{d}");
    assert_eq!(d["spec"]["fsGroupPolicy"], "File", "{d}");
    assert_eq!(
        d["spec"]["volumeLifecycleModes"],
        json!(["Persistent"]),
        "{d}"
    );

    let ready = |p: &Pod| condition(p, "Ready").is_some_and(|c| c.status == "True");
    let plugins = plugin_pods(&c, ready).await;
    let mut nodes: Vec<String> = plugins
        .iter()
        .map(|p| p.spec.as_ref().unwrap().node_name.clone().unwrap())
        .collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3, "one node pod per node");
    for p in &plugins {
        // Host network: the pod's address is its node's.
        let s = p.status.as_ref().unwrap();
        assert_eq!(s.pod_ip, s.host_ip);
    }
    registered_everywhere(&c).await;
    let node_api: Api<Node> = Api::all(c.client().await);
    eventually(20, || async {
        let l = node_api.list(&ListParams::default()).await.ok()?.items;
        l.iter().all(|n| taints(n).is_empty()).then_some(())
    })
    .await;
    // The controller pods (which do not tolerate the startup taint) land once it is gone.
    eventually(20, || async {
        let (_, d) = get(
            &c,
            "/apis/apps/v1/namespaces/kube-system/deployments/csi-azurelustre-controller",
        )
        .await;
        (d["status"]["readyReplicas"] == 2).then_some(())
    })
    .await;
    let (_, ds) = get(
        &c,
        "/apis/apps/v1/namespaces/kube-system/daemonsets/csi-azurelustre-node",
    )
    .await;
    assert_eq!(ds["status"]["numberReady"], 3, "{ds}");
}

#[tokio::test]
async fn a_lustre_volume_mounts_through_the_driver_and_the_fabric_sees_the_target() {
    let c = start_lustre(LustreCsi::Installed, 0.0).await;
    let mut attrs = attributes(MGS, "lustrefs");
    attrs["sub-dir"] = json!("/shared/");
    volume_and_pod(&c, "pv-lustre", attrs, "app").await;
    let p = pod_where(&c, "app", |p| phase(p) == "Running").await;
    let host_ip = p.status.as_ref().unwrap().host_ip.clone().unwrap();
    let want = (
        CLUSTER_ID.to_string(),
        host_ip,
        LustreTarget {
            mgs_address: MGS.into(),
            fs_name: "lustrefs".into(),
            sub_dir: Some("shared".into()),
        },
    );
    assert!(lustre_calls(&c).contains(&want), "{:?}", lustre_calls(&c));
}

#[tokio::test]
async fn without_the_driver_a_lustre_volume_waits_for_an_attach_that_never_comes() {
    let c = start_lustre(LustreCsi::Absent, 0.0).await;
    let (code, _) = get(&c, &format!("/apis/storage.k8s.io/v1/csidrivers/{DRIVER}")).await;
    assert_eq!(code, 404);
    volume_and_pod(&c, "pv-lustre", attributes(MGS, "lustrefs"), "app").await;
    let e = event(&c, "app", "FailedMount").await;
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(
        e.message.as_deref(),
        Some(
            "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data], \
             failed to process volumes=[]: timed out waiting for the condition"
        )
    );
    let attach = event(&c, "app", "FailedAttachVolume").await;
    assert_eq!(
        attach.source.and_then(|s| s.component).as_deref(),
        Some("attachdetach-controller")
    );
    assert_eq!(
        attach.message.as_deref(),
        Some(
            "AttachVolume.Attach failed for volume \"pv-lustre\" : timed out waiting for external-attacher \
             of azurelustre.csi.azure.com CSI driver to attach volume pv-lustre-handle"
        )
    );
    let p = pod_where(&c, "app", |p| phase(p) == "Pending").await;
    assert_eq!(
        waiting_reason(&p, "app").as_deref(),
        Some("ContainerCreating")
    );
    assert!(lustre_calls(&c).is_empty(), "no node asked the filesystem");
}

#[tokio::test]
async fn a_driver_whose_node_pods_crash_keeps_nodes_tainted_until_they_are_fixed() {
    let c = start_lustre(LustreCsi::NotReady, 0.0).await;
    // The node pods crash-loop: the client install finds no package for the kernel.
    let crashing = |p: &Pod| {
        waiting_reason(p, "azurelustre").as_deref() == Some("CrashLoopBackOff")
            && condition(p, "Ready").is_some_and(|c| c.status == "False")
    };
    let plugins = plugin_pods(&c, crashing).await;
    for p in &plugins {
        let s = p.status.as_ref().unwrap();
        assert_eq!(s.phase.as_deref(), Some("Running"));
        let driver = s
            .container_statuses
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.name == "azurelustre")
            .unwrap();
        assert!(driver.restart_count >= 1, "{driver:?}");
        let exit = driver
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .map(|t| t.exit_code);
        assert_eq!(exit, Some(100), "{driver:?}");
    }
    let node_api: Api<Node> = Api::all(c.client().await);
    for n in node_api.list(&ListParams::default()).await.unwrap().items {
        assert_eq!(taints(&n), [format!("{TAINT}:NoSchedule")]);
    }
    let (_, csinodes) = get(&c, "/apis/storage.k8s.io/v1/csinodes").await;
    for n in csinodes["items"].as_array().unwrap() {
        assert_eq!(n["spec"]["drivers"], json!([]), "{n}");
    }

    // A workload without a toleration is not scheduled anywhere.
    create(
        &c,
        "/api/v1/namespaces/default/pods",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
               "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}),
    )
    .await;
    let p = pod_where(&c, "web", |p| {
        condition(p, "PodScheduled").is_some_and(|c| c.status == "False")
    })
    .await;
    let scheduled = condition(&p, "PodScheduled").unwrap();
    assert_eq!(scheduled.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(scheduled.message.as_deref(), Some(UNSCHEDULABLE));
    assert!(p.spec.unwrap().node_name.is_none());

    // The node image is upgraded to one the driver's client supports, and the crashing
    // pods are deleted so their replacements start at once instead of after the back-off.
    let client = c.client().await;
    for n in node_api.list(&ListParams::default()).await.unwrap().items {
        let name = n.metadata.name.unwrap();
        let patch = json!({"status": {"nodeInfo": {"osImage": "Ubuntu 22.04.5 LTS", "kernelVersion": "5.15.0-1089-azure"}}});
        node_api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
    let system: Api<Pod> = Api::namespaced(client, "kube-system");
    for p in plugins {
        system
            .delete(&p.metadata.name.unwrap(), &DeleteParams::default())
            .await
            .unwrap();
    }
    registered_everywhere(&c).await;
    let p = pod_where(&c, "web", |p| phase(p) == "Running").await;
    assert_eq!(
        condition(&p, "PodScheduled").map(|c| c.status.as_str()),
        Some("True")
    );
    for n in node_api.list(&ListParams::default()).await.unwrap().items {
        assert!(taints(&n).is_empty(), "{:?}", n.spec);
    }
}

#[tokio::test]
async fn tolerations_of_the_startup_taint_follow_the_api_rules() {
    let c = start_lustre(LustreCsi::NotReady, 0.0).await;
    let node_api: Api<Node> = Api::all(c.client().await);
    eventually(20, || async {
        let l = node_api.list(&ListParams::default()).await.ok()?.items;
        (l.len() == 3 && l.iter().all(|n| !taints(n).is_empty())).then_some(())
    })
    .await;
    let cases = [
        (
            "key-exists",
            json!([{"key": TAINT, "operator": "Exists"}]),
            true,
        ),
        ("everything", json!([{"operator": "Exists"}]), true),
        (
            "equal-empty",
            json!([{"key": TAINT, "operator": "Equal", "value": "", "effect": "NoSchedule"}]),
            true,
        ),
        ("no-operator", json!([{"key": TAINT}]), true),
        (
            "other-effect",
            json!([{"key": TAINT, "operator": "Exists", "effect": "NoExecute"}]),
            false,
        ),
        (
            "other-value",
            json!([{"key": TAINT, "operator": "Equal", "value": "true"}]),
            false,
        ),
        (
            "other-key",
            json!([{"key": "sku", "operator": "Exists"}]),
            false,
        ),
    ];
    for (name, tolerations, _) in &cases {
        create(
            &c,
            "/api/v1/namespaces/default/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                   "spec": {"tolerations": tolerations, "containers": [{"name": "c", "image": "busybox:1.36"}]}}),
        )
        .await;
    }
    for (name, _, fits) in cases {
        let p = pod_where(&c, name, |p| condition(p, "PodScheduled").is_some()).await;
        let scheduled = condition(&p, "PodScheduled").unwrap();
        if fits {
            assert_eq!(scheduled.status, "True", "{name}");
            assert!(p.spec.unwrap().node_name.is_some(), "{name}");
        } else {
            assert_eq!(scheduled.status, "False", "{name}");
            assert_eq!(scheduled.message.as_deref(), Some(UNSCHEDULABLE), "{name}");
        }
    }
    // The API refuses tolerations the scheduler could not read.
    for bad in [
        json!([{"operator": "Equal", "value": "x"}]),
        json!([{"key": TAINT, "operator": "Exists", "value": "x"}]),
        json!([{"key": TAINT, "operator": "Like"}]),
        json!([{"key": TAINT, "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]),
    ] {
        let (code, status) = post(
            &c,
            "/api/v1/namespaces/default/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
                   "spec": {"tolerations": bad, "containers": [{"name": "c", "image": "busybox:1.36"}]}}),
        )
        .await;
        assert_eq!(code, 422, "{bad}: {status}");
        assert_eq!(status["reason"], "Invalid", "{status}");
    }
}

#[tokio::test]
async fn a_node_whose_driver_is_not_registered_fails_mount_device() {
    // The driver is installed (its CSIDriver says no attach) but its node pods never
    // become ready; a pod that tolerates the startup taint still lands on a node.
    let c = start_lustre(LustreCsi::NotReady, 0.0).await;
    create(
        &c,
        "/api/v1/persistentvolumes",
        lustre_pv("pv-lustre", attributes(MGS, "lustrefs")),
    )
    .await;
    create(
        &c,
        "/api/v1/namespaces/default/persistentvolumeclaims",
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pv-lustre-claim"},
               "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": "pv-lustre",
                        "resources": {"requests": {"storage": "48Ti"}}}}),
    )
    .await;
    create(
        &c,
        "/api/v1/namespaces/default/pods",
        app_pod(
            "app",
            "pv-lustre",
            json!([{"key": TAINT, "operator": "Exists"}]),
        ),
    )
    .await;
    let e = event(&c, "app", "FailedMount").await;
    assert_eq!(
        e.message.as_deref(),
        Some(
            "MountVolume.MountDevice failed for volume \"pv-lustre\" : kubernetes.io/csi: attacher.MountDevice \
             failed to create newCsiDriverClient: driver name azurelustre.csi.azure.com not found in the list \
             of registered CSI drivers"
        )
    );
    let p = pod_where(&c, "app", |p| phase(p) == "Pending").await;
    assert_eq!(
        waiting_reason(&p, "app").as_deref(),
        Some("ContainerCreating")
    );
    assert!(lustre_calls(&c).is_empty());
}

#[tokio::test]
async fn the_fabrics_mount_failures_reach_failed_mount_and_pods_recover() {
    let c = start_lustre(LustreCsi::Installed, 0.0).await;
    // Two filesystems: the first one unhealthy.
    c.fabric.set(|w| {
        w.lustre[0].healthy = false;
        w.lustre.push(LustreFs {
            mgs: "10.0.2.5".into(),
            ..LustreFs::default()
        });
    });
    volume_and_pod(&c, "pv-sick", attributes(MGS, "lustrefs"), "sick").await;
    volume_and_pod(&c, "pv-fsname", attributes("10.0.2.5", "wrongfs"), "fsname").await;
    volume_and_pod(&c, "pv-mgs", attributes("10.0.9.9", "lustrefs"), "mgs").await;

    let e = event(&c, "fsname", "FailedMount").await;
    let p = pod_where(&c, "fsname", |p| phase(p) == "Pending").await;
    let uid = p.metadata.uid.clone().unwrap();
    let target = format!("/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~csi/pv-fsname/mount");
    assert_eq!(
        e.message.unwrap(),
        format!(
            "MountVolume.SetUp failed for volume \"pv-fsname\" : rpc error: code = Internal desc = \
             Could not mount \"10.0.2.5@tcp:/wrongfs\" at \"{target}\": mount failed: exit status 2\n\
             Mounting command: mount\n\
             Mounting arguments: --no-mtab -t lustre -o noatime,flock 10.0.2.5@tcp:/wrongfs {target}\n\
             Output: mount.lustre: mount 10.0.2.5@tcp:/wrongfs at /mnt failed: No such file or directory\n\
             Is the MGS specification correct?\nIs the filesystem name correct?"
        )
    );
    for (pod, output) in [
        (
            "sick",
            "mount.lustre: mount 10.0.2.4@tcp:/lustrefs at /mnt failed: Input/output error\nIs the MGS running?",
        ),
        (
            "mgs",
            "mount.lustre: mount 10.0.9.9@tcp:/lustrefs at /mnt failed: Input/output error\nIs the MGS running?",
        ),
    ] {
        let e = event(&c, pod, "FailedMount").await;
        let m = e.message.unwrap();
        assert!(m.contains("mount failed: exit status 5\n"), "{m}");
        assert!(m.ends_with(&format!("Output: {output}")), "{m}");
        let p = pod_where(&c, pod, |p| phase(p) == "Pending").await;
        assert_eq!(
            waiting_reason(&p, "app").as_deref(),
            Some("ContainerCreating")
        );
    }
    // The filesystem is healthy again: the kubelet's retry mounts it.
    c.fabric.set(|w| w.lustre[0].healthy = true);
    pod_where(&c, "sick", |p| phase(p) == "Running").await;
}

#[tokio::test]
async fn volume_attributes_the_driver_rejects_fail_with_invalid_argument() {
    let c = start_lustre(LustreCsi::Installed, 0.0).await;
    volume_and_pod(&c, "pv-nomgs", json!({"fs-name": "lustrefs"}), "nomgs").await;
    volume_and_pod(
        &c,
        "pv-escape",
        json!({"mgs-ip-address": MGS, "fs-name": "lustrefs", "sub-dir": "../other"}),
        "escape",
    )
    .await;
    for (pod, pv, desc) in [
        (
            "nomgs",
            "pv-nomgs",
            "Context mgs-ip-address must be provided",
        ),
        (
            "escape",
            "pv-escape",
            "Context sub-dir must be strict subpath",
        ),
    ] {
        let e = event(&c, pod, "FailedMount").await;
        assert_eq!(
            e.message.unwrap(),
            format!(
                "MountVolume.SetUp failed for volume \"{pv}\" : rpc error: code = InvalidArgument desc = {desc}"
            )
        );
    }
    assert!(lustre_calls(&c).is_empty(), "{:?}", lustre_calls(&c));
}

#[tokio::test]
async fn an_inline_lustre_volume_is_refused_by_the_persistent_only_driver() {
    let c = start_lustre(LustreCsi::Installed, 0.0).await;
    registered_everywhere(&c).await;
    create(
        &c,
        "/api/v1/namespaces/default/pods",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "inline"},
               "spec": {"containers": [{"name": "app", "image": "busybox:1.36",
                                        "volumeMounts": [{"name": "data", "mountPath": "/mnt/lustre"}]}],
                        "volumes": [{"name": "data", "csi": {"driver": DRIVER,
                                     "volumeAttributes": attributes(MGS, "lustrefs")}}]}}),
    )
    .await;
    let e = event(&c, "inline", "FailedMount").await;
    assert_eq!(
        e.message.as_deref(),
        Some(
            "MountVolume.SetUp failed for volume \"data\" : kubernetes.io/csi: mounter.SetupAt failed to check \
             volume lifecycle mode: volume mode \"Ephemeral\" not supported by driver azurelustre.csi.azure.com \
             (only supports [\"Persistent\"])"
        )
    );
}

#[tokio::test]
async fn a_probe_pod_on_a_lustre_volume_prints_the_fabrics_report() {
    let c = start_lustre(LustreCsi::Installed, 0.0).await;
    c.fabric.set(|w| w.lustre[0].owner_uid = 1000);
    let mut attrs = attributes(MGS, "lustrefs");
    attrs["sub-dir"] = json!("shared");
    volume_and_pod(&c, "pv-lustre", attrs, "app").await;
    create(
        &c,
        "/api/v1/namespaces/default/pods",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "probe", "labels": {hpccache_core::probe::PROBE_LABEL: "true"}},
               "spec": {"restartPolicy": "Never",
                        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000},
                        "containers": [{"name": "probe", "image": "busybox:1.36", "command": ["sh", "-c", "probe"],
                                        "volumeMounts": [{"name": "data", "mountPath": "/mnt/hpccache", "subPath": "probe"}]}],
                        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pv-lustre-claim"}}]}}),
    )
    .await;
    pod_where(&c, "probe", |p| phase(p) == "Succeeded").await;
    let pods: Api<Pod> = Api::namespaced(c.client().await, "default");
    let log = pods.logs("probe", &LogParams::default()).await.unwrap();
    let report = hpccache_core::probe::Report::parse(&log).unwrap().unwrap();
    assert_eq!(report.source, "10.0.2.4@tcp:/lustrefs/shared/probe");
    assert_eq!(report.mount_point, "/mnt/hpccache");
    assert_eq!((report.uid, report.gid), (1000, 3000));
    assert!(report.ok(), "{report:?}");
    assert!(
        lustre_calls(&c)
            .iter()
            .any(|(_, _, t)| t.sub_dir.as_deref() == Some("shared/probe")),
        "{:?}",
        lustre_calls(&c)
    );
}

#[tokio::test]
async fn node_pods_become_ready_a_scaled_client_install_after_they_start() {
    // 45 s of install at this scale: 2 s.
    let c = start_lustre(LustreCsi::Installed, 2.0 / 45.0).await;
    let ready = |p: &Pod| condition(p, "Ready").is_some_and(|c| c.status == "True");
    for p in plugin_pods(&c, ready).await {
        let started = p
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.name == "azurelustre")
            .and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.clone())
            .unwrap();
        let became_ready = condition(&p, "Ready")
            .unwrap()
            .last_transition_time
            .clone()
            .unwrap();
        let waited = became_ready.0.as_second() - started.0.as_second();
        assert!(waited >= 1, "ready {waited}s after starting");
    }
    registered_everywhere(&c).await;
}
