//! The Lustre CSI driver setting of a world's clusters: `world add-cluster --lustre-csi`,
//! the fresh default world (driver installed and ready), and worlds saved before the
//! setting existed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hpccache_sandbox::kube::LustreCsi;
use hpccache_sandbox::sandbox::{Sandbox, SandboxConfig};
use hpccache_sandbox::world::{ClusterSpec, DEFAULT_RESOURCE_GROUP, World, key};
use serde_json::Value;

fn sandbox_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hpccache-sandbox"))
        .args(args)
        .output()
        .expect("run hpccache-sandbox")
}

fn cluster_id(name: &str) -> String {
    format!(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/{name}"
    )
}

fn setting(w: &World, name: &str) -> LustreCsi {
    w.cluster(&cluster_id(name)).expect(name).lustre_csi()
}

#[test]
fn add_cluster_creates_clusters_with_and_without_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let f = file.to_str().unwrap();
    assert!(sandbox_cli(&["world", "init", f]).status.success());
    for (name, flag) in [
        ("withDriver", Some("installed")),
        ("brokenDriver", Some("not-ready")),
        ("plain", None),
    ] {
        let mut args = vec!["world", "add-cluster", f, "--name", name];
        if let Some(v) = flag {
            args.extend(["--lustre-csi", v]);
        }
        let out = sandbox_cli(&args);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            cluster_id(name),
            "prints the new cluster's id"
        );
    }
    let w = World::load(&file).unwrap();
    assert_eq!(setting(&w, "myAKSCluster"), LustreCsi::Installed);
    assert_eq!(setting(&w, "withDriver"), LustreCsi::Installed);
    assert_eq!(setting(&w, "brokenDriver"), LustreCsi::NotReady);
    assert_eq!(
        setting(&w, "plain"),
        LustreCsi::Absent,
        "AKS ships no driver"
    );
    // The broken cluster's node pool runs the image the driver's client does not support.
    let pool = |name: &str| {
        w.get(&cluster_id(name)).unwrap().body["properties"]["agentPoolProfiles"][0].clone()
    };
    assert_eq!(pool("brokenDriver")["osSKU"], "Ubuntu2404");
    assert_eq!(pool("plain")["osSKU"], "Ubuntu");
}

#[test]
fn add_cluster_help_explains_the_lustre_csi_settings() {
    let out = sandbox_cli(&["world", "add-cluster", "--help"]);
    assert!(out.status.success(), "{out:?}");
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_bad_lustre_csi_value_is_refused_and_the_world_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let f = file.to_str().unwrap();
    assert!(sandbox_cli(&["world", "init", f]).status.success());
    let before = std::fs::read(&file).unwrap();
    let out = sandbox_cli(&[
        "world",
        "add-cluster",
        f,
        "--name",
        "x",
        "--lustre-csi",
        "maybe",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--lustre-csi"),
        "the error names the flag: {out:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// Writes `w` as a world saved before clusters had the setting.
fn save_without_setting(w: &World, path: &Path) {
    let mut v = serde_json::to_value(w).unwrap();
    for c in v["clusters"].as_object_mut().unwrap().values_mut() {
        c.as_object_mut().unwrap().remove("lustreCsi");
    }
    std::fs::write(path, v.to_string()).unwrap();
}

/// GETs `path` from the cluster's API server until `done` accepts the body.
async fn kube_until(url: &str, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body: Value = client
            .get(format!("{url}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never got there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn all_registered(list: &Value) -> bool {
    list["items"].as_array().is_some_and(|items| {
        items.len() == 3
            && items
                .iter()
                .all(|n| n["spec"]["drivers"][0]["name"] == "azurelustre.csi.azure.com")
    })
}

#[tokio::test]
async fn a_fresh_world_runs_the_driver_ready_on_its_default_cluster() {
    let sb = Sandbox::start(SandboxConfig::default().with_time_scale(0.0))
        .await
        .unwrap();
    let url = sb.kube_url(&cluster_id("myAKSCluster")).unwrap();
    kube_until(
        &url,
        &sb.token(),
        "/apis/storage.k8s.io/v1/csinodes",
        all_registered,
    )
    .await;
    let nodes = kube_until(&url, &sb.token(), "/api/v1/nodes", |l| {
        l["items"]
            .as_array()
            .is_some_and(|n| n.iter().all(|n| n["spec"].get("taints").is_none()))
    })
    .await;
    assert_eq!(nodes["items"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn an_old_world_gets_the_driver_on_its_default_cluster_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let mut w = World::new_default();
    w.add_cluster(ClusterSpec::new("other", DEFAULT_RESOURCE_GROUP))
        .unwrap();
    save_without_setting(&w, &file);

    let old = World::load(&file).expect("an old world loads");
    assert_eq!(setting(&old, "myAKSCluster"), LustreCsi::Installed);
    assert_eq!(setting(&old, "other"), LustreCsi::Absent);
    assert!(
        old.clusters[&key(&cluster_id("other"))]
            .lustre_csi
            .is_some(),
        "settled, so the next save writes it"
    );

    let sb = Sandbox::start(
        SandboxConfig::default()
            .with_world(old)
            .with_time_scale(0.0),
    )
    .await
    .unwrap();
    let token = sb.token();
    let default = sb.kube_url(&cluster_id("myAKSCluster")).unwrap();
    kube_until(
        &default,
        &token,
        "/apis/storage.k8s.io/v1/csinodes",
        all_registered,
    )
    .await;
    let other = sb.kube_url(&cluster_id("other")).unwrap();
    let drivers = kube_until(&other, &token, "/apis/storage.k8s.io/v1/csidrivers", |l| {
        l["items"].is_array()
    })
    .await;
    assert_eq!(drivers["items"], serde_json::json!([]), "{drivers}");
    // Saved again, the setting is written and a second load keeps it.
    sb.save(&file).unwrap();
    let again = World::load(&file).unwrap();
    assert_eq!(setting(&again, "other"), LustreCsi::Absent);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"lustreCsi\":\"installed\""), "{text}");
}

#[tokio::test]
async fn the_driver_is_installed_once_and_stays_uninstalled_when_removed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let sb = Sandbox::start(SandboxConfig::default().with_time_scale(0.0))
        .await
        .unwrap();
    let url = sb.kube_url(&cluster_id("myAKSCluster")).unwrap();
    let client = reqwest::Client::new();
    for path in [
        "/apis/apps/v1/namespaces/kube-system/daemonsets/csi-azurelustre-node",
        "/apis/apps/v1/namespaces/kube-system/deployments/csi-azurelustre-controller",
        "/apis/storage.k8s.io/v1/csidrivers/azurelustre.csi.azure.com",
    ] {
        let r = client
            .delete(format!("{url}{path}"))
            .bearer_auth(sb.token())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "DELETE {path}: {}", r.status());
    }
    sb.save(&file).unwrap();
    sb.shutdown();
    let sb = Sandbox::start(
        SandboxConfig::default()
            .with_world(World::load(&file).unwrap())
            .with_time_scale(0.0),
    )
    .await
    .unwrap();
    let url = sb.kube_url(&cluster_id("myAKSCluster")).unwrap();
    let drivers = kube_until(
        &url,
        &sb.token(),
        "/apis/storage.k8s.io/v1/csidrivers",
        |l| l["items"].is_array(),
    )
    .await;
    assert_eq!(drivers["items"], serde_json::json!([]), "not reinstalled");
}
