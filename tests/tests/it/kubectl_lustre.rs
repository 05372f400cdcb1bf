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

/// `status -o json` once the claim is bound (the binder runs after the apply returns).
fn bound_status(s: &Scratch) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = json(s.kubectl_sandbox().args(["status", FS]));
        if v[0]["claimPhase"] == "Bound" || std::time::Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
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

    let status = bound_status(&s);
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

fn check<'a>(v: &'a Value, name_starts: &str) -> &'a Value {
    v[0]["checks"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["name"].as_str().unwrap_or("").starts_with(name_starts))
        })
        .unwrap_or_else(|| panic!("no check {name_starts:?} in {v:#}"))
}

/// `verify -o json`: exit code and the checklist.
fn verify(s: &Scratch, extra: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(s
        .kubectl_sandbox()
        .args(["verify", FS, "-o", "json", "--timeout", "30"])
        .args(extra));
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("JSON: {out}\n{err}")),
    )
}

fn edit_lustre(s: &Scratch, f: impl FnOnce(&mut hpccache_core::state::LustreInfo)) {
    let path = s.state_file(FS);
    let mut st = hpccache_core::state::read(&path).unwrap();
    f(st.lustre.as_mut().unwrap());
    s.write_state(FS, &st);
}

#[test]
fn verify_passes_for_a_mounted_filesystem() {
    let s = Scratch::new();
    lustre(&s);
    ok(s.kubectl_sandbox().args(["mount", FS]));
    let (code, v) = verify(&s, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(check(&v, "Lustre CSI driver")["status"], "pass");
    assert_eq!(check(&v, "MGS address")["status"], "pass");
    assert_eq!(check(&v, "filesystem name")["status"], "pass");
    assert_eq!(check(&v, "probe as root mounts")["status"], "pass");
    assert_eq!(check(&v, "probe as root can write")["status"], "pass");
    let out = ok(s.kubectl_sandbox().args(["verify", FS]));
    insta::assert_snapshot!("verify_lustre", out);
}

#[test]
fn verify_fails_for_a_wrong_filesystem_name_with_the_fix() {
    let s = Scratch::new();
    lustre(&s);
    edit_lustre(&s, |l| l.filesystem_name = "wrongfs".into());
    ok(s.kubectl_sandbox().args(["mount", FS]));
    let (code, v) = verify(&s, &[]);
    assert_eq!(code, 1, "{v:#}");
    let c = check(&v, "probe as root mounts");
    assert_eq!(c["status"], "fail");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("Is the filesystem name correct?"),
        "{c:#}"
    );
    assert!(
        c["fix"][0].as_str().unwrap().contains("\"wrongfs\""),
        "{c:#}"
    );
}

#[test]
fn verify_fails_for_an_unreachable_mgs_with_the_network_hint() {
    let s = Scratch::new();
    lustre(&s);
    edit_lustre(&s, |l| l.mgs_address = "10.226.9.9".into());
    ok(s.kubectl_sandbox().args(["mount", FS]));
    let (code, v) = verify(&s, &[]);
    assert_eq!(code, 1, "{v:#}");
    let c = check(&v, "probe as root mounts");
    assert_eq!(c["status"], "fail");
    let fix = c["fix"].to_string();
    assert!(fix.contains("TCP port 988"), "{fix}");
    assert!(fix.contains("network security group"), "{fix}");
    assert!(fix.contains("peered"), "{fix}");
    // The state file changed behind the volume: the MGS check names it.
    edit_lustre(&s, |l| l.mgs_address = "10.226.0.99".into());
    let (_, v) = verify(&s, &[]);
    assert_eq!(check(&v, "MGS address")["status"], "fail");
}

#[test]
fn root_squash_is_judged_by_the_filesystems_mode() {
    let s = Scratch::new();
    s.amlfs_deployment(&LustreSetup::new(FS).root_squash("RootOnly"));
    ok(s.kubectl_sandbox().args(["mount", FS]));
    let (code, v) = verify(&s, &[]);
    assert_eq!(code, 0, "root squashed as recorded is a pass: {v:#}");
    let c = check(&v, "probe as root cannot write (root squash RootOnly)");
    assert_eq!(c["status"], "pass");
    let (code, v) = verify(&s, &["--as-user", "1000"]);
    assert_eq!(code, 1, "{v:#}");
    let c = check(&v, "probe as uid 1000 can write");
    assert_eq!(c["status"], "fail");
    let fix = c["fix"].to_string();
    assert!(fix.contains("--root-squash-mode None"), "{fix}");
    assert!(fix.contains("--root-squash-mode RootOnly"), "{fix}");
    // Recorded None while the filesystem squashes: the root write fails with the fix.
    edit_lustre(&s, |l| l.root_squash_mode = "None".into());
    let (code, v) = verify(&s, &[]);
    assert_eq!(code, 1);
    let c = check(&v, "probe as root can write");
    assert_eq!(c["status"], "fail");
    assert!(c["fix"].to_string().contains("--root-squash-mode None"));
}

#[test]
fn verify_reports_a_driver_that_is_not_ready_and_skips_the_probes() {
    let s = Scratch::new();
    lustre(&s);
    ok(s.kubectl_sandbox().args(["mount", FS]));
    // The volume exists; then someone removes the driver's CSIDriver object.
    s.with_cluster(|client, _| async move {
        use k8s_openapi::api::storage::v1::CSIDriver;
        let api: Api<CSIDriver> = Api::all(client);
        api.delete("azurelustre.csi.azure.com", &Default::default())
            .await
            .expect("delete the CSIDriver");
    });
    let (code, v) = verify(&s, &[]);
    assert_eq!(code, 1, "{v:#}");
    let c = check(&v, "Lustre CSI driver");
    assert_eq!(c["status"], "fail");
    assert!(c["fix"].to_string().contains("install-driver.sh"));
    assert_eq!(check(&v, "probe as root mounts")["status"], "skip");
}

#[test]
fn two_backends_in_one_cluster_keep_to_their_own_objects() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    lustre(&s);
    ok(s.kubectl_sandbox().args(["mount", "MyHpcCache"]));
    ok(s.kubectl_sandbox().args(["mount", FS]));
    let nfs = json(s.kubectl_sandbox().args(["status", "MyHpcCache"]));
    let lus = json(s.kubectl_sandbox().args(["status", FS]));
    assert_eq!(nfs.as_array().unwrap().len(), 1);
    assert_eq!(nfs[0]["source"], "nfs");
    assert_eq!(lus.as_array().unwrap().len(), 1);
    assert_eq!(lus[0]["source"], "lustre");
    ok(s.kubectl_sandbox().args(["unmount", FS]));
    let (pvs, claims) = objects(&s, "MyHpcCache");
    assert_eq!(
        (pvs.len(), claims.len()),
        (1, 1),
        "the cache's volume stays"
    );
    assert_eq!(objects(&s, FS).0.len(), 0);
    let (code, v) = {
        let (code, out, _) = run(s
            .kubectl_sandbox()
            .args(["verify", "MyHpcCache", "-o", "json"]));
        (code, serde_json::from_str::<Value>(&out).unwrap())
    };
    assert_eq!(
        check(&v, "probe as root mounts")["status"],
        "pass",
        "{code} {v:#}"
    );
}

#[test]
fn status_snapshot() {
    let s = Scratch::new();
    lustre(&s);
    ok(s.kubectl_sandbox()
        .args(["mount", FS, "--sub-path", "team-a"]));
    let mgs = hpccache_core::state::read(&s.state_file(FS))
        .unwrap()
        .lustre
        .unwrap()
        .mgs_address;
    bound_status(&s);
    let plain = ok(s.kubectl_sandbox().args(["status", FS]));
    let wide = ok(s.kubectl_sandbox().args(["status", FS, "-o", "wide"]));
    // The MGS address is the subnet's first free one: the same every run.
    assert_eq!(mgs, "10.226.0.4");
    insta::assert_snapshot!("status_lustre", plain);
    insta::assert_snapshot!("status_lustre_wide", wide);
}

#[test]
fn az_attach_mounts_and_verifies_an_amlfs_deployment() {
    let s = Scratch::new();
    lustre(&s);
    let out = s
        .az_sandbox()
        .args(["attach", "-n", FS])
        .output()
        .expect("az-hpccache-ext runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let k = if v.get("kubernetes").is_some() {
        &v["kubernetes"]
    } else {
        &v
    };
    assert_eq!(
        k["applied"][0], "persistentvolume/hpccache-mylustre-default created",
        "{v:#}"
    );
    let checks = k["verification"]["checks"].as_array().unwrap();
    let ci = checks
        .iter()
        .find(|c| c["name"] == "volume matches the filesystem's clientInfo")
        .expect("the clientInfo check");
    assert_eq!(ci["status"], "pass", "{ci:#}");
    // kubectl verify agrees.
    let (code, _) = verify(&s, &[]);
    assert_eq!(code, 0);
    // A state file whose fs name differs from the filesystem's: attach fails on clientInfo,
    // and kubectl verify fails too (the probe cannot mount).
    ok(s.kubectl_sandbox().args(["unmount", FS]));
    edit_lustre(&s, |l| l.filesystem_name = "otherfs".into());
    let out = s.az_sandbox().args(["attach", "-n", FS]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let k = if v.get("kubernetes").is_some() {
        &v["kubernetes"]
    } else {
        &v
    };
    let ci = k["verification"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "volume matches the filesystem's clientInfo")
        .cloned()
        .unwrap();
    assert_eq!(ci["status"], "fail", "{ci:#}");
    assert!(ci["detail"].as_str().unwrap().contains("fs-name"), "{ci:#}");
    let (code, _) = verify(&s, &[]);
    assert_eq!(code, 1);
}
