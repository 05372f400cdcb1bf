//! `az-hpccache-ext up --backend amlfs --attach`: Managed Lustre from the subnet to a verified
//! Lustre CSI volume in one command (issues 13 and 14 together), and a cluster without the
//! Lustre CSI driver refused before anything is created in Azure or applied in it.

use std::process::Command;

use hpccache_tests::Scratch;
use serde_json::Value;

const UP: &[&str] = &[
    "up",
    "--backend",
    "amlfs",
    "-g",
    "myResourceGroup",
    "-n",
    "MyLustre",
];

// A failing command's stderr goes to the test's captured output, shown only when it fails.
#[allow(clippy::print_stderr)]
fn run(c: &mut Command) -> (i32, Value) {
    let out = c.output().expect("the binary runs");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    (code, v)
}

#[test]
fn up_attach_mounts_and_verifies_a_lustre_volume() {
    let s = Scratch::new();
    let (code, v) = run(s
        .az_sandbox()
        .args(UP)
        .args(["--cluster", "myAKSCluster", "--attach"]));
    assert_eq!(code, 0, "{v:#}");
    let checks = v["kubernetes"]["verification"]["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {v:#}"));
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{checks:#?}");
    assert_eq!(
        v["kubernetes"]["applied"][0],
        "persistentvolume/hpccache-mylustre-default created"
    );

    // What the cluster holds: the claim bound to a Lustre CSI volume of this filesystem.
    let (code, status) = run(s
        .kubectl_sandbox()
        .args(["status", "MyLustre", "-o", "json"]));
    assert_eq!(code, 0);
    assert_eq!(status[0]["claimPhase"], "Bound", "{status:#}");
    assert_eq!(status[0]["source"], "lustre", "{status:#}");
    let state = hpccache_core::state::read(&s.state_file("MyLustre")).unwrap();
    assert_eq!(state.backend, hpccache_core::state::Backend::Amlfs);
    let lustre = state.lustre.expect("the state records the filesystem");
    assert_eq!(lustre.filesystem_name, "lustrefs");

    // The plugin's own verify agrees with up --attach.
    let (code, verified) = run(s
        .kubectl_sandbox()
        .args(["verify", "MyLustre", "-o", "json"]));
    assert_eq!(code, 0, "{verified:#}");

    // A second up --attach changes nothing, in Azure or in the cluster.
    let before = s.sandbox_writes().len();
    let (code, v) = run(s
        .az_sandbox()
        .args(UP)
        .args(["--cluster", "myAKSCluster", "--attach"]));
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(s.sandbox_writes().len(), before, "a re-run wrote to ARM");
    assert_eq!(
        v["kubernetes"]["applied"][0],
        "persistentvolume/hpccache-mylustre-default unchanged"
    );
}

#[test]
fn up_attach_on_a_cluster_without_the_driver_applies_nothing() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.world_file().parent().unwrap()).unwrap();
    let out = Command::new(hpccache_tests::bin("hpccache-sandbox"))
        .args(["world", "add-cluster"])
        .arg(s.world_file())
        .args(["--name", "noDriverCluster", "--lustre-csi", "absent"])
        .output()
        .expect("run hpccache-sandbox");
    assert!(out.status.success(), "{out:?}");

    let (code, _) = run(s
        .az_sandbox()
        .args(UP)
        .args(["--cluster", "noDriverCluster", "--attach"]));
    assert_eq!(
        code, 1,
        "a cluster nothing can mount the filesystem on was not refused"
    );
    // Refused before the filesystem (ten minutes or more in Azure) was created: reads only.
    let writes: Vec<_> = s
        .sandbox_requests()
        .into_iter()
        .filter(hpccache_tests::is_write)
        .collect();
    assert_eq!(writes, Vec::<Value>::new(), "written before the refusal");
    let lustre = hpccache_core::state::read(&s.state_file("MyLustre"))
        .ok()
        .and_then(|st| st.lustre);
    assert!(lustre.is_none(), "{lustre:#?}");
    let (code, status) = run(s
        .kubectl_sandbox()
        .args(["status", "MyLustre", "-o", "json"]));
    assert_ne!(code, 0, "a deployment that was never made: {status:#}");
}
