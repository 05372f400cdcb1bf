//! Issue 15 item 4 against the sandbox: AKS node resource group lockdown
//! (`nodeResourceGroupProfile.restrictionLevel: ReadOnly`). New deployments of either backend
//! put the cache or filesystem, its storage account and DNS zone in the cluster's own group;
//! the node resource group is refused before any write when it is locked; an existing
//! deployment keeps its recorded group.

use hpccache_sandbox::world::{ClusterNetwork, ClusterSpec, DEFAULT_RESOURCE_GROUP, World};
use hpccache_tests::{Scratch, is_write, resource_group_of};

const NODE_RG: &str = "MC_myResourceGroup_myAKSCluster_eastus";

const BACKENDS: [&str; 2] = ["hpccache", "amlfs"];

fn up(s: &Scratch, cluster: &str, extra: &[&str]) -> std::process::Output {
    up_with(s, "hpccache", cluster, extra)
}

fn up_with(s: &Scratch, backend: &str, cluster: &str, extra: &[&str]) -> std::process::Output {
    s.az_sandbox()
        .args([
            "up",
            "--backend",
            backend,
            "-g",
            "myResourceGroup",
            "--cluster",
            cluster,
            "-n",
            "MyHpcCache",
        ])
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap()
}

fn state(s: &Scratch) -> serde_json::Value {
    let text = std::fs::read_to_string(s.deployments_dir().join("MyHpcCache.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn locked_byo_world() -> World {
    let mut world = World::new_default();
    let id = world
        .add_cluster(
            ClusterSpec::new("lockedCluster", DEFAULT_RESOURCE_GROUP).with_network(
                ClusterNetwork::BringYourOwn {
                    vnet_name: "myVnet".into(),
                    address_prefix: "10.10.0.0/16".into(),
                    subnet_name: "aks-nodes".into(),
                    subnet_prefix: "10.10.0.0/22".into(),
                },
            ),
        )
        .unwrap();
    world
        .set_node_rg_restriction(&id, Some("ReadOnly"))
        .unwrap();
    world
}

#[test]
fn a_new_deployment_puts_its_resources_in_the_cluster_group() {
    for backend in BACKENDS {
        let s = Scratch::new();
        let extra: &[&str] = if backend == "amlfs" {
            &["--hsm-container", "hsm"]
        } else {
            &[]
        };
        let out = up_with(&s, backend, "myAKSCluster", extra);
        assert!(
            out.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let st = state(&s);
        assert_eq!(st["settings"]["resourceGroup"], "myResourceGroup");
        let keys: &[&str] = if backend == "amlfs" {
            &["amlFilesystem", "storageAccount"]
        } else {
            &["cache", "storageAccount", "dnsZone"]
        };
        for key in keys {
            let id = st["resources"][key]["id"].as_str().unwrap_or_default();
            assert_eq!(
                resource_group_of(id),
                Some("myResourceGroup"),
                "{backend} {key}: {id}"
            );
        }
        // The subnet stays in the cluster's vnet, in the node resource group.
        let subnet = st["resources"]["subnet"]["id"].as_str().unwrap();
        assert_eq!(resource_group_of(subnet), Some(NODE_RG));
    }
}

#[test]
fn a_locked_node_resource_group_is_refused_before_any_write() {
    for backend in BACKENDS {
        locked_node_resource_group_refused(backend);
    }
}

fn locked_node_resource_group_refused(backend: &str) {
    let s = Scratch::new();
    s.save_world(&locked_byo_world());
    let out = up_with(
        &s,
        backend,
        "lockedCluster",
        &[
            "--cache-resource-group",
            "MC_myResourceGroup_lockedCluster_eastus",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--cache-resource-group") && err.contains("ReadOnly"),
        "{err}"
    );
    assert!(
        !s.sandbox_requests().iter().any(is_write),
        "wrote before refusing"
    );

    // The default, the cluster's group, works on the locked cluster.
    let out = up_with(&s, backend, "lockedCluster", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let denied = s
        .sandbox_requests()
        .iter()
        .filter(|r| r["status"] == 403)
        .count();
    assert_eq!(denied, 0);
}

#[test]
fn a_locked_managed_vnet_cannot_take_the_cache_subnet_and_says_so_first() {
    let s = Scratch::new();
    let mut world = World::new_default();
    world
        .set_node_rg_restriction(&World::default_cluster_id(), Some("ReadOnly"))
        .unwrap();
    s.save_world(&world);
    let out = up(&s, "myAKSCluster", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ReadOnly") && err.contains("subnet"), "{err}");
    assert!(!s.sandbox_requests().iter().any(is_write));
}

#[test]
fn an_existing_deployment_keeps_its_recorded_group() {
    let s = Scratch::new();
    // Made as before: everything in the node resource group.
    let out = up(&s, "myAKSCluster", &["--cache-resource-group", NODE_RG]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = state(&s);
    let out = up(&s, "myAKSCluster", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = state(&s);
    assert_eq!(again["settings"]["resourceGroup"], NODE_RG);
    assert_eq!(first["resources"], again["resources"], "nothing moved");
}

#[test]
fn a_cache_resource_group_that_does_not_exist_is_refused_before_any_write() {
    let s = Scratch::new();
    let out = up(
        &s,
        "myAKSCluster",
        &["--cache-resource-group", "noSuchGroup"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("noSuchGroup"), "{err}");
    assert!(!s.sandbox_requests().iter().any(is_write));
}
