//! Worlds saved by one sandbox and loaded by another continue their operations.

use crate::arm_support;

use arm_support::*;
use hpccache_sandbox::world::{ClusterNetwork, ClusterSpec, World};

#[tokio::test]
async fn an_operation_started_in_one_process_finishes_in_the_next() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("world.json");
    let (op_path, _) = {
        let sb = start(0.001).await;
        let c = Client::new(&sb);
        register_provider(&c).await;
        c.finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
            .await;
        let r = c
            .put(
                &cache_id("c1"),
                CACHE_API,
                cache_body(&subnet_id("cache"), 3072),
            )
            .await;
        assert_eq!(r.status, 201);
        sb.save(&file).expect("save");
        let url = r.header("Azure-AsyncOperation").expect("op");
        let path = url.trim_start_matches(&sb.arm_endpoint()).to_string();
        (path, sb.shutdown())
    };
    let world = World::load(&file).expect("load");
    let sb = start_world(world, 0.001).await;
    let c = Client::new(&sb);
    let first = c.call("GET", &op_path, None).await;
    assert_eq!(first.status, 200);
    let done = c.wait_async(&op_path).await;
    assert_eq!(done["status"], "Succeeded");
    assert_eq!(
        c.get(&cache_id("c1"), CACHE_API).await.body["properties"]["provisioningState"],
        "Succeeded"
    );
}

#[tokio::test]
async fn extra_clusters_bring_your_own_vnet_and_overlay() {
    let mut w = World::new_default();
    let byo = w
        .add_cluster(ClusterSpec::new("byoCluster", RG).with_network(
            ClusterNetwork::BringYourOwn {
                vnet_name: "myVnet".into(),
                address_prefix: "10.1.0.0/16".into(),
                subnet_name: "nodes".into(),
                subnet_prefix: "10.1.0.0/22".into(),
            },
        ))
        .expect("byo");
    let overlay = w
        .add_cluster(ClusterSpec::new("overlayCluster", RG).with_network(ClusterNetwork::Overlay))
        .expect("overlay");
    let sb = start_world(w, 0.0).await;
    let c = Client::new(&sb);
    let b = c.get(&byo, "2025-01-01").await;
    assert_eq!(
        b.body["properties"]["agentPoolProfiles"][0]["vnetSubnetID"],
        format!(
            "{}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/nodes",
            rg_id(RG)
        )
        .as_str()
    );
    let o = c.get(&overlay, "2025-01-01").await;
    assert_eq!(
        o.body["properties"]["networkProfile"]["networkPluginMode"],
        "overlay"
    );
    assert_eq!(
        o.body["properties"]["networkProfile"]["podCidr"],
        "10.244.0.0/16"
    );
    assert!(
        o.body["properties"]["agentPoolProfiles"][0]
            .get("vnetSubnetID")
            .is_none()
    );
}

#[tokio::test]
async fn an_amlfs_create_started_in_one_process_finishes_in_the_next() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("world.json");
    let op_path = {
        // 15 minutes × 0.002 = 1.8 s, so the create is still running when saved.
        let sb = start(0.002).await;
        let c = Client::new(&sb);
        let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
        let r = c
            .put(&fs_id("fs1"), AML_API, amlfs_body(&subnet, AML_SKU, 8))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        sb.save(&file).expect("save");
        let url = r.header("Azure-AsyncOperation").expect("op");
        let path = url.trim_start_matches(&sb.arm_endpoint()).to_string();
        sb.shutdown();
        path
    };
    let world = World::load(&file).expect("load");
    let sb = start_world(world, 0.002).await;
    let c = Client::new(&sb);
    let done = c.wait_async(&op_path).await;
    assert_eq!(done["status"], "Succeeded");
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    assert_eq!(fs["properties"]["provisioningState"], "Succeeded");
    assert_eq!(fs["properties"]["health"]["state"], "Available");
    assert_eq!(fs["properties"]["clientInfo"]["mgsAddress"], "10.225.0.4");
}
