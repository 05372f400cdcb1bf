//! `hpccache-sandbox` flags of issue 15: `world set`, `--node-rg-restriction` on `world
//! init`/`world add-cluster`, the serve flags and the tokens serve prints.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use hpccache_sandbox::token::{self, ARM_AUDIENCE, Bearer, GRAPH_AUDIENCE};
use hpccache_sandbox::world::World;
use serde_json::Value;

fn sandbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hpccache-sandbox"))
}

fn run(args: &[&str], file: &Path) -> (i32, String, String) {
    let out = sandbox().args(args).arg(file).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn restriction(w: &World, cluster: &str) -> Value {
    w.of_type(hpccache_sandbox::world::types::MANAGED_CLUSTER)
        .find(|c| c.body["name"] == cluster)
        .map(|c| c.body["properties"]["nodeResourceGroupProfile"]["restrictionLevel"].clone())
        .expect("cluster")
}

#[test]
fn world_init_and_add_cluster_take_a_node_rg_restriction() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("w.json");
    let (code, _, err) = run(
        &["world", "init", "--node-rg-restriction", "ReadOnly"],
        &file,
    );
    assert_eq!(code, 0, "{err}");
    let w = World::load(&file).expect("world");
    assert_eq!(restriction(&w, "myAKSCluster"), "ReadOnly");
    let added = sandbox()
        .args(["world", "add-cluster"])
        .arg(&file)
        .args(["--name", "c2", "--node-rg-restriction", "unrestricted"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&added.stderr);
    let code = added.status.code().unwrap_or(-1);
    assert_eq!(code, 0, "{err}");
    let w = World::load(&file).expect("world");
    assert_eq!(restriction(&w, "c2"), "Unrestricted");
    let before = std::fs::read(&file).expect("file");
    let bad = sandbox()
        .args(["world", "add-cluster"])
        .arg(&file)
        .args(["--name", "c3", "--node-rg-restriction", "Sealed"])
        .output()
        .expect("runs");
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a bad value is an argument error"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--node-rg-restriction"));
    assert_eq!(
        std::fs::read(&file).expect("file"),
        before,
        "file unchanged"
    );
}

#[test]
fn world_set_keeps_settings_in_the_file_and_prints_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("w.json");
    let (code, out, err) = run(
        &[
            "world",
            "set",
            "--vnet-contention",
            "on",
            "--page-size",
            "2",
            "--graph-lookup",
            "denied",
            "--rp-principal",
            "absent",
            "--async-nic-release",
            "on",
            "--node-rg-restriction",
            "ReadOnly",
        ],
        &file,
    );
    assert_eq!(code, 0, "{err}");
    let printed: Value = serde_json::from_str(&out).expect("settings as JSON");
    assert_eq!(
        printed,
        serde_json::json!({"vnetContention": true, "asyncNicRelease": true,
            "graphLookupDenied": true, "rpPrincipalAbsent": true, "pageSize": 2})
    );
    let (code, out, _) = run(&["world", "set", "--vnet-contention", "off"], &file);
    assert_eq!(code, 0);
    let printed: Value = serde_json::from_str(&out).expect("settings as JSON");
    assert_eq!(printed["vnetContention"], false);
    assert_eq!(printed["pageSize"], 2, "other settings kept");
    let w = World::load(&file).expect("world");
    assert_eq!(w.settings.vnet_contention, Some(false));
    assert_eq!(restriction(&w, "myAKSCluster"), "ReadOnly");
    let bad = sandbox()
        .args(["world", "set"])
        .arg(&file)
        .args(["--page-size", "0"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
}

/// A running `serve`; killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_prints_an_arm_and_a_graph_token_and_takes_the_setting_flags() {
    let mut child = sandbox()
        .args([
            "serve",
            "--port",
            "0",
            "--time-scale",
            "0",
            "--page-size",
            "1",
            "--vnet-contention",
            "on",
        ])
        .env_remove("HPCCACHE_SANDBOX_PAGE_SIZE")
        .env_remove("HPCCACHE_SANDBOX_VNET_CONTENTION")
        .env_remove("HPCCACHE_SANDBOX_ASYNC_NIC_RELEASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let served = Served(child);
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut banner = std::collections::BTreeMap::new();
    while !banner.contains_key("Graph token") {
        let line = lines.next().expect("banner line").expect("utf-8");
        if let Some((k, v)) = line.split_once(':') {
            banner.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let aud_of = |t: &str| match token::read(t) {
        Bearer::Jwt(p) => (token::audiences(&p), p["exp"].as_u64().unwrap_or_default()),
        other => panic!("not a JWT: {other:?}"),
    };
    let now = hpccache_sandbox::arm::clock::now_ms() / 1000;
    let (arm_aud, arm_exp) = aud_of(&banner["ARM token"]);
    let (graph_aud, graph_exp) = aud_of(&banner["Graph token"]);
    assert_eq!(arm_aud, [ARM_AUDIENCE]);
    assert_eq!(graph_aud, [GRAPH_AUDIENCE]);
    assert!(arm_exp > now + 300 * 86_400 && graph_exp > now + 300 * 86_400);
    let endpoint = &banner["ARM endpoint"];
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let list = reqwest::Client::new()
        .get(format!(
            "{endpoint}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups?api-version=2025-04-01"
        ))
        .bearer_auth(&banner["ARM token"])
        .send()
        .await
        .expect("answered");
    assert_eq!(list.status(), 200);
    let body: Value = list.json().await.expect("json");
    assert_eq!(
        body["value"].as_array().map(Vec::len),
        Some(1),
        "--page-size 1"
    );
    assert!(body["nextLink"].is_string());
    drop(served);
}
