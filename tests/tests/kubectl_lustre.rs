//! `kubectl hpccache` on an Azure Managed Lustre deployment: the filesystem made in the
//! sandbox through ARM, the state file as `up --backend amlfs` leaves it, then mount →
//! status → verify → unmount with a Lustre CSI volume, the driver check before anything is
//! applied, and an HPC Cache deployment beside it in the same cluster.

use std::process::{Command, Output};

use hpccache_tests::{LustreSetup, Scratch};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

const FS: &str = "MyLustre";

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run the binary");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn ok(c: &mut Command) -> String {
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    out
}

fn json(c: &mut Command) -> Value {
    serde_json::from_str(&ok(c.args(["-o", "json"]))).expect("JSON output")
}

fn lustre(s: &Scratch) -> hpccache_core::state::State {
    s.amlfs_deployment(&LustreSetup::new(FS))
}

/// The PVs and claims in the cluster with the deployment's label.
fn objects(s: &Scratch, deployment: &str) -> (Vec<PersistentVolume>, Vec<PersistentVolumeClaim>) {
    let sel = hpccache_core::kube::manifests::selector(deployment);
    s.with_cluster(|client, _| async move {
        let lp = ListParams::default().labels(&sel);
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        let claims: Api<PersistentVolumeClaim> = Api::all(client);
        (
            pvs.list(&lp).await.unwrap().items,
            claims.list(&lp).await.unwrap().items,
        )
    })
}

/// Every PV and claim in the cluster, of any deployment.
fn all_objects(s: &Scratch) -> (usize, usize) {
    s.with_cluster(|client, _| async move {
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        let claims: Api<PersistentVolumeClaim> = Api::all(client);
        let lp = ListParams::default();
        (
            pvs.list(&lp).await.unwrap().items.len(),
            claims.list(&lp).await.unwrap().items.len(),
        )
    })
}

/// Adds a cluster with the Lustre CSI driver `setting` to the world and points the state
/// file's cluster at it.
fn move_to_cluster(s: &Scratch, name: &str, setting: &str) {
    let world = s.world_file();
    let out = Command::new(hpccache_tests::bin("hpccache-sandbox"))
        .args(["world", "add-cluster"])
        .arg(&world)
        .args(["--name", name, "--lustre-csi", setting])
        .output()
        .expect("run hpccache-sandbox");
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let path = s.state_file(FS);
    let mut st = hpccache_core::state::read(&path).unwrap();
    let c = st.cluster.as_mut().unwrap();
    c.id = id;
    c.name = name.into();
    s.write_state(FS, &st);
}

#[test]
fn mount_status_unmount_round_trip() {
    let s = Scratch::new();
    let st = lustre(&s);
    let mgs = st.lustre.as_ref().unwrap().mgs_address.clone();
    let out = ok(s.kubectl_sandbox().args(["mount", FS]));
    assert_eq!(
        out,
        "persistentvolume/hpccache-mylustre-default created\npersistentvolumeclaim/hpccache-mylustre created\n"
    );
    let (pvs, claims) = objects(&s, FS);
    assert_eq!((pvs.len(), claims.len()), (1, 1));
    let pv = serde_json::to_value(&pvs[0]).unwrap();
    assert_eq!(pv["spec"]["csi"]["driver"], "azurelustre.csi.azure.com");
    assert_eq!(
        pv["spec"]["csi"]["volumeHandle"],
        "hpccache-mylustre-default"
    );
    assert_eq!(
        pv["spec"]["csi"]["volumeAttributes"],
        serde_json::json!({"mgs-ip-address": mgs, "fs-name": "lustrefs"})
    );
    assert_eq!(pv["spec"]["capacity"]["storage"], "8Ti");
    assert_eq!(
        pv["spec"]["mountOptions"],
        serde_json::json!(["noatime", "flock"])
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(
        pv["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
    assert!(pv["spec"].get("nfs").is_none());
    let claim = serde_json::to_value(&claims[0]).unwrap();
    assert_eq!(claim["spec"]["storageClassName"], "");
    assert_eq!(claim["spec"]["volumeName"], "hpccache-mylustre-default");

    let status = json(s.kubectl_sandbox().args(["status", FS]));
    let v = &status[0];
    assert_eq!(v["source"], "lustre", "{status:#}");
    assert_eq!(v["server"], mgs.as_str());
    assert_eq!(v["path"], "/lustrefs");
    assert_eq!(v["claimPhase"], "Bound");

    ok(s.kubectl_sandbox().args(["unmount", FS]));
    let (pvs, claims) = objects(&s, FS);
    assert_eq!((pvs.len(), claims.len()), (0, 0));
    let state = hpccache_core::state::read(&s.state_file(FS)).unwrap();
    assert!(state.kube.is_empty(), "{:?}", state.kube);
}

#[test]
fn a_re_run_changes_nothing() {
    let s = Scratch::new();
    lustre(&s);
    ok(s.kubectl_sandbox().args(["mount", FS, "-n", "default"]));
    let again = ok(s.kubectl_sandbox().args(["mount", FS, "-n", "default"]));
    assert_eq!(
        again,
        "persistentvolume/hpccache-mylustre-default unchanged\npersistentvolumeclaim/hpccache-mylustre unchanged\n"
    );
}

#[test]
fn sub_path_is_the_drivers_sub_dir_and_status_wide_shows_it() {
    let s = Scratch::new();
    lustre(&s);
    ok(s.kubectl_sandbox()
        .args(["mount", FS, "--sub-path", "/team-a/"]));
    let (pvs, _) = objects(&s, FS);
    let pv = serde_json::to_value(&pvs[0]).unwrap();
    assert_eq!(pv["spec"]["csi"]["volumeAttributes"]["sub-dir"], "team-a");
    let status = json(s.kubectl_sandbox().args(["status", FS]));
    assert_eq!(status[0]["path"], "/lustrefs/team-a");
}

#[test]
fn nfs_flags_are_refused_for_a_lustre_deployment() {
    let s = Scratch::new();
    lustre(&s);
    for args in [
        vec!["mount", FS, "--server", "10.0.0.1", "--path", "/x"],
        vec!["mount", FS, "--mount-options", "vers=3"],
        vec!["manifests", FS, "--path", "/x"],
    ] {
        let (code, out, err) = run(s.kubectl_sandbox().args(&args));
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains("--"), "names the flag: {err}");
    }
    assert_eq!(all_objects(&s), (0, 0), "nothing was applied");
}

#[test]
fn several_namespaces_get_one_volume_each() {
    let s = Scratch::new();
    lustre(&s);
    s.with_cluster(|client, _| async move {
        use k8s_openapi::api::core::v1::Namespace;
        let api: Api<Namespace> = Api::all(client);
        for n in ["team-a", "team-b"] {
            let ns: Namespace = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}))
            .unwrap();
            api.create(&Default::default(), &ns).await.unwrap();
        }
    });
    ok(s.kubectl_sandbox()
        .args(["mount", FS, "-n", "team-a,team-b"]));
    let (pvs, claims) = objects(&s, FS);
    let mut handles: Vec<String> = pvs
        .iter()
        .map(|p| {
            p.spec
                .as_ref()
                .unwrap()
                .csi
                .as_ref()
                .unwrap()
                .volume_handle
                .clone()
        })
        .collect();
    handles.sort();
    assert_eq!(
        handles,
        ["hpccache-mylustre-team-a", "hpccache-mylustre-team-b"]
    );
    assert_eq!(claims.len(), 2);
}

#[test]
fn without_the_driver_mount_fails_before_applying_anything() {
    let s = Scratch::new();
    lustre(&s);
    move_to_cluster(&s, "plainCluster", "absent");
    let (code, out, err) = run(s.kubectl_sandbox().args(["mount", FS]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("curl -skSL https://raw.githubusercontent.com/kubernetes-sigs/azurelustre-csi-driver/main/deploy/install-driver.sh | bash -s main"),
        "the install steps: {err}"
    );
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(all_objects(&s), (0, 0), "no PV or claim exists");
    let state = hpccache_core::state::read(&s.state_file(FS)).unwrap();
    assert!(state.kube.is_empty());
}

#[test]
fn with_the_driver_not_ready_mount_names_the_nodes_and_applies_nothing() {
    let s = Scratch::new();
    lustre(&s);
    move_to_cluster(&s, "brokenCluster", "not-ready");
    let (code, out, err) = run(s.kubectl_sandbox().args(["mount", FS]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("not ready on 3 of 3 schedulable nodes"),
        "{err}"
    );
    assert!(
        err.contains("kubectl -n kube-system get pods -l app=csi-azurelustre-node -o wide"),
        "{err}"
    );
    assert!(err.contains("Ubuntu 24.04"), "the node image: {err}");
    assert_eq!(all_objects(&s), (0, 0), "no PV or claim exists");
}
