//! `az-hpccache-ext up --attach` and `attach`: the whole guide — Azure and cluster — in one
//! command on the sandbox, with the cluster's credentials fetched through ARM, and the
//! root-squash problem handled with the exact fix.

use hpccache_tests::{GUIDE_UP, Scratch};
use serde_json::Value;

fn up_attach(s: &Scratch, extra: &[&str]) -> (i32, Value, String) {
    let out = s
        .az_sandbox()
        .args(GUIDE_UP)
        .arg("--attach")
        .args(extra)
        .output()
        .expect("az-hpccache-ext runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn check<'a>(v: &'a Value, name_starts: &str) -> &'a Value {
    v["kubernetes"]["verification"]["checks"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["name"].as_str().unwrap_or("").starts_with(name_starts))
        })
        .unwrap_or_else(|| panic!("no check {name_starts:?} in {v:#}"))
}

#[test]
fn up_attach_runs_the_whole_guide() {
    let s = Scratch::new();
    let (code, v, err) = up_attach(&s, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["fqdn"], "server.myhpccache.hpccache.internal");
    let k = &v["kubernetes"];
    assert_eq!(
        k["applied"][0], "persistentvolume/hpccache-myhpccache-default created",
        "{k:#}"
    );
    assert_eq!(
        k["applied"][1],
        "persistentvolumeclaim/hpccache-myhpccache created"
    );
    assert_eq!(check(&v, "probe as root mounts")["status"], "pass");
    // Root squash is off, as Azure makes a cache: the guide's workload (root) writes.
    assert_eq!(check(&v, "probe as root can write")["status"], "pass");
    // The claim the cluster has is the one the state file records.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(s.state_file("MyHpcCache")).unwrap())
            .unwrap();
    let kinds: Vec<&str> = state["kube"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["PersistentVolume", "PersistentVolumeClaim"]);
    let out = s.kubectl_sandbox().args(["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("hpccache-myhpccache   Bound"), "{status}");
}

#[test]
fn a_second_up_attach_writes_nothing_anywhere() {
    let s = Scratch::new();
    assert_eq!(up_attach(&s, &[]).0, 0);
    let before = s.sandbox_writes().len();
    let (code, v, err) = up_attach(&s, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        s.sandbox_writes().len(),
        before,
        "ARM writes on a finished deployment"
    );
    assert_eq!(
        v["kubernetes"]["applied"][0],
        "persistentvolume/hpccache-myhpccache-default unchanged"
    );
    assert_eq!(
        v["kubernetes"]["applied"][1],
        "persistentvolumeclaim/hpccache-myhpccache unchanged"
    );
}

#[test]
fn cache_update_turns_root_squash_off_and_root_can_write() {
    let s = Scratch::new();
    assert_eq!(up_attach(&s, &["--root-squash"]).0, 0);
    let update = [
        "cache",
        "update",
        "-g",
        "myResourceGroup",
        "-n",
        "MyHpcCache",
        "--no-root-squash",
    ];
    let out = s
        .az_sandbox()
        .args(update)
        .args([
            "--query",
            "securitySettings.accessPolicies[0].accessRules[0].rootSquash",
            "-o",
            "tsv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "false\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The deployment's record follows, so `status` does not report the old setting.
    let recorded = hpccache_core::state::read(&s.state_file("MyHpcCache"))
        .expect("state file")
        .cache
        .expect("cache record");
    assert!(!recorded.root_squash);
    let status = s.kubectl_sandbox().arg("status").output().unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("root squash off"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    // A second identical update sends no write.
    let before = s.sandbox_writes().len();
    let again = s
        .az_sandbox()
        .args(update)
        .args(["-o", "none"])
        .status()
        .unwrap();
    assert!(again.success());
    assert_eq!(s.sandbox_writes().len(), before);
    let (code, v, err) = up_attach(&s, &["--no-root-squash"]);
    assert_eq!(code, 0, "{err}");
    let root = check(&v, "probe as root can write");
    assert_eq!(root["status"], "pass", "{root:#}");
}

#[test]
fn attach_needs_a_finished_up_and_checks_its_flags_first() {
    let s = Scratch::new();
    let out = s
        .az_sandbox()
        .args([
            "attach",
            "-n",
            "MyHpcCache",
            "--namespace",
            "Not_A_Namespace",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--namespace"));
    assert!(!s.sandbox_log().exists(), "a bad flag sent a request");
    let out = s
        .az_sandbox()
        .args(["attach", "-n", "MyHpcCache"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = s
        .az_sandbox()
        .args([
            "up",
            "--backend",
            "hpccache",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyHpcCache",
            "--attach",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--attach with --dry-run must be refused"
    );
}

#[test]
fn attach_into_another_namespace_after_up() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let out = s
        .kubectl_sandbox()
        .args(["state", "show", "-o", "name"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // The namespace must exist in the cluster, as kubectl would require.
    let (code, _, err) = {
        let out = s
            .az_sandbox()
            .args(["attach", "-n", "MyHpcCache", "--namespace", "team-a"])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            (),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("team-a"), "{err}");
    let out = s
        .az_sandbox()
        .args(["attach", "-n", "MyHpcCache"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["persistentVolume"], "hpccache-myhpccache-default");
}
