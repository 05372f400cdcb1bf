//! The Lustre fabric: what a cluster node's `mount.lustre` reaches (same vnet, a connected
//! peering, a healthy file system, the right filesystem name), the sub-directory the CSI
//! driver creates, root squash with `noSquashNidLists`, and the probe's write test.

use crate::arm_support;

use arm_support::*;
use hpccache_sandbox::arm::faults::Faults;
use hpccache_sandbox::fabric::{Identity, LustreFabric, LustreTarget};
use hpccache_sandbox::sandbox::SandboxConfig;
use serde_json::{Value, json};

const ROOT: Identity = Identity { uid: 0, gid: 0 };
const USER: Identity = Identity {
    uid: 1000,
    gid: 1000,
};
/// Node addresses of the default cluster (10.224.0.4 onwards).
const NODE0: &str = "10.224.0.4";
const NODE2: &str = "10.224.0.6";

fn target(mgs: &str, fs_name: &str, sub_dir: Option<&str>) -> LustreTarget {
    LustreTarget {
        mgs_address: mgs.into(),
        fs_name: fs_name.into(),
        sub_dir: sub_dir.map(str::to_string),
    }
}

fn mgs(fs: &Value) -> String {
    fs["properties"]["clientInfo"]["mgsAddress"]
        .as_str()
        .expect("mgs")
        .to_string()
}

fn eio(mgs: &str) -> String {
    format!(
        "mount.lustre: mount {mgs}@tcp:/lustrefs at /mnt failed: Input/output error\nIs the MGS running?"
    )
}

fn lustre_vnet() -> String {
    format!(
        "{}/providers/Microsoft.Network/virtualNetworks/lustre-vnet",
        rg_id(RG)
    )
}

fn peering(from: &str, name: &str) -> String {
    format!("{from}/virtualNetworkPeerings/{name}")
}

#[tokio::test]
async fn mounts_reach_the_clusters_vnet_and_connected_peerings_only() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let local = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let near = create_amlfs(&c, "near", amlfs_body(&local, AML_SKU, 8)).await;
    let f = sb.fabric();
    f.mount_lustre(&cluster_id(), NODE0, &target(&mgs(&near), "lustrefs", None))
        .expect("same vnet");
    let v = c
        .put(
            &lustre_vnet(),
            NET_API,
            json!({"location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.100.0.0/16"]}}}),
        )
        .await;
    c.finish(&v).await;
    c.finish(
        &c.put(
            &format!("{}/subnets/fs", lustre_vnet()),
            NET_API,
            json!({"properties": {"addressPrefix": "10.100.0.0/24"}}),
        )
        .await,
    )
    .await;
    let far = create_amlfs(
        &c,
        "far",
        amlfs_body(&format!("{}/subnets/fs", lustre_vnet()), AML_SKU, 8),
    )
    .await;
    let far_target = target(&mgs(&far), "lustrefs", None);
    assert_eq!(mgs(&far), "10.100.0.4");
    let e = f
        .mount_lustre(&cluster_id(), NODE0, &far_target)
        .expect_err("not peered");
    assert_eq!(e.message, eio("10.100.0.4"));
    // One side of the peering: Initiated, still no traffic.
    let out = c
        .put(
            &peering(&vnet_id(), "to-lustre"),
            NET_API,
            json!({"properties": {"remoteVirtualNetwork": {"id": lustre_vnet()}, "allowVirtualNetworkAccess": true}}),
        )
        .await;
    assert_eq!(out.status, 201, "{:?}", out.body);
    c.finish(&out).await;
    let one = c.get(&peering(&vnet_id(), "to-lustre"), NET_API).await;
    assert_eq!(one.body["properties"]["peeringState"], "Initiated");
    assert!(f.mount_lustre(&cluster_id(), NODE0, &far_target).is_err());
    let back = c
        .put(
            &peering(&lustre_vnet(), "to-aks"),
            NET_API,
            json!({"properties": {"remoteVirtualNetwork": {"id": vnet_id()}}}),
        )
        .await;
    assert_eq!(back.status, 201, "{:?}", back.body);
    c.finish(&back).await;
    for p in [
        peering(&vnet_id(), "to-lustre"),
        peering(&lustre_vnet(), "to-aks"),
    ] {
        let r = c.get(&p, NET_API).await;
        assert_eq!(r.body["properties"]["peeringState"], "Connected", "{p}");
    }
    let listed = c.get(&vnet_id(), NET_API).await;
    assert_eq!(
        listed.body["properties"]["virtualNetworkPeerings"][0]["properties"]["peeringState"],
        "Connected"
    );
    f.mount_lustre(&cluster_id(), NODE0, &far_target)
        .expect("peered");
    let d = c.delete(&peering(&lustre_vnet(), "to-aks"), NET_API).await;
    assert_eq!(d.status, 202);
    c.finish(&d).await;
    let left = c.get(&peering(&vnet_id(), "to-lustre"), NET_API).await;
    assert_eq!(left.body["properties"]["peeringState"], "Disconnected");
    assert!(f.mount_lustre(&cluster_id(), NODE0, &far_target).is_err());
    let clash = format!(
        "{}/providers/Microsoft.Network/virtualNetworks/clash",
        rg_id(RG)
    );
    c.finish(
        &c.put(
            &clash,
            NET_API,
            json!({"location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.224.0.0/16"]}}}),
        )
        .await,
    )
    .await;
    for (remote, code) in [
        (clash, "VnetAddressSpacesOverlap"),
        (vnet_id(), "CannotPeerVirtualNetworkWithItself"),
        (
            format!(
                "{}/providers/Microsoft.Network/virtualNetworks/nope",
                rg_id(RG)
            ),
            "InvalidResourceReference",
        ),
    ] {
        let r = c
            .put(
                &peering(&vnet_id(), "bad"),
                NET_API,
                json!({"properties": {"remoteVirtualNetwork": {"id": remote}}}),
            )
            .await;
        assert_eq!((r.status, r.code()), (400, code));
    }
    assert_eq!(
        c.get(&peering(&vnet_id(), "bad"), NET_API).await.status,
        404
    );
}

#[tokio::test]
async fn wrong_filesystem_name_unknown_address_and_unhealthy_filesystems_fail() {
    let sb = start_with(
        SandboxConfig::default()
            .with_time_scale(0.0)
            .without_clusters()
            .with_faults(Faults::parse("fail-amlfs-update=InternalServerError").expect("faults")),
    )
    .await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let fs = create_amlfs(&c, "fs1", amlfs_body(&subnet, AML_SKU, 8)).await;
    let f = sb.fabric();
    let wrong = f
        .mount_lustre(&cluster_id(), NODE0, &target(&mgs(&fs), "lustre", None))
        .expect_err("fs-name");
    assert_eq!(
        wrong.message,
        "mount.lustre: mount 10.225.0.4@tcp:/lustre at /mnt failed: No such file or directory\nIs the MGS specification correct?\nIs the filesystem name correct?\nIf upgrading, is the copied client log valid? (see upgrade docs)"
    );
    let nowhere = f
        .mount_lustre(
            &cluster_id(),
            NODE0,
            &target("10.225.0.200", "lustrefs", None),
        )
        .expect_err("no MGS there");
    assert_eq!(nowhere.message, eio("10.225.0.200"));
    let patch = c
        .call(
            "PATCH",
            &with_api(&fs_id("fs1"), AML_API),
            Some(json!({"tags": {"x": "y"}})),
        )
        .await;
    assert_eq!(c.finish(&patch).await["status"], "Failed");
    let health = c.get(&fs_id("fs1"), AML_API).await.body["properties"]["health"]["state"].clone();
    assert_eq!(health, "Degraded");
    let sick = f
        .mount_lustre(&cluster_id(), NODE0, &target(&mgs(&fs), "lustrefs", None))
        .expect_err("unhealthy");
    assert_eq!(sick.message, eio("10.225.0.4"));
}

#[tokio::test]
async fn the_sub_directory_is_created_on_first_mount_and_the_probe_writes_there() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let fs = create_amlfs(&c, "fs1", amlfs_body(&subnet, AML_SKU, 16)).await;
    let t = target(&mgs(&fs), "lustrefs", Some("team/a"));
    let f = sb.fabric();
    f.mount_lustre(&cluster_id(), NODE0, &t).expect("mounts");
    let dirs = sb.with_world(|w| {
        w.get(&fs_id("fs1"))
            .map(|r| {
                r.sandbox
                    .files
                    .iter()
                    .map(|(p, e)| (p.clone(), e.uid, e.gid, e.mode, e.dir))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    assert_eq!(
        dirs,
        vec![
            ("/team".to_string(), 0, 0, 0o755, true),
            ("/team/a".to_string(), 0, 0, 0o755, true)
        ]
    );
    let r = f
        .probe_lustre(&cluster_id(), NODE0, &t, "/mnt/hpccache", ROOT)
        .expect("probe");
    assert_eq!(r.source, "10.225.0.4@tcp:/lustrefs/team/a");
    assert_eq!((r.size.as_str(), r.available.as_str()), ("16.0T", "16.0T"));
    assert!(r.write && r.read);
    let user = f
        .probe_lustre(&cluster_id(), NODE0, &t, "/mnt/hpccache", USER)
        .expect("probe");
    assert!(!user.write && !user.read);
    assert_eq!(user.uid, 1000);
    assert_eq!(
        user.error.as_deref(),
        Some("sh: can't create /mnt/hpccache/.hpccache-probe: Permission denied")
    );
}

#[tokio::test]
async fn root_squash_follows_the_mode_and_spares_no_squash_nids() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let mut body = amlfs_body(&subnet, AML_SKU, 8);
    body["properties"]["rootSquashSettings"] = json!({
        "mode": "RootOnly", "squashUID": 65534, "squashGID": 65534,
        "noSquashNidLists": "10.224.0.[4-5]@tcp"
    });
    let fs = create_amlfs(&c, "fs1", body).await;
    let f = sb.fabric();
    assert!(f.set_lustre_owner(&fs_id("fs1"), "/shared", 1000, 1000, 0o755));
    let root_dir = target(&mgs(&fs), "lustrefs", None);
    let shared = target(&mgs(&fs), "lustrefs", Some("shared"));
    let writes = |node: &str, t: &LustreTarget, who: Identity| {
        f.probe_lustre(&cluster_id(), node, t, "/mnt/hpccache", who)
            .expect("probe")
            .write
    };
    // RootOnly: root is squashed on untrusted nodes only; other users never.
    assert!(writes(NODE0, &root_dir, ROOT), "trusted NID");
    assert!(!writes(NODE2, &root_dir, ROOT), "squashed root");
    assert!(writes(NODE2, &shared, USER), "a user keeps its id");
    let set = |mode: &str| json!({"properties": {"rootSquashSettings": {"mode": mode, "squashUID": 65534, "squashGID": 65534, "noSquashNidLists": "10.224.0.[4-5]@tcp"}}});
    let patch = c
        .call("PATCH", &with_api(&fs_id("fs1"), AML_API), Some(set("All")))
        .await;
    assert_eq!(c.finish(&patch).await["status"], "Succeeded");
    // All: every user on an untrusted node is squashed.
    assert!(!writes(NODE2, &shared, USER));
    assert!(writes("10.224.0.5", &shared, USER), "trusted NID");
    let new_dir = f
        .mount_lustre(
            &cluster_id(),
            NODE2,
            &target(&mgs(&fs), "lustrefs", Some("fresh")),
        )
        .expect_err("squashed root cannot create the sub-directory");
    assert_eq!(new_dir.message, "mkdir /mnt/fresh: permission denied");
    let patch = c
        .call(
            "PATCH",
            &with_api(&fs_id("fs1"), AML_API),
            Some(set("None")),
        )
        .await;
    assert_eq!(c.finish(&patch).await["status"], "Succeeded");
    assert!(writes(NODE2, &root_dir, ROOT), "no squashing");
}

#[tokio::test]
async fn written_files_are_dirty_owned_by_the_writer_and_refused_where_not_allowed() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let fs = create_amlfs(&c, "fs1", amlfs_body(&subnet, AML_SKU, 8)).await;
    let f = sb.fabric();
    assert!(f.set_lustre_owner(&fs_id("fs1"), "/home", 1000, 1000, 0o755));
    let t = target(&mgs(&fs), "lustrefs", Some("home"));
    f.write_lustre_file(&cluster_id(), NODE0, &t, USER, "out.txt")
        .expect("owner writes");
    let denied = f
        .write_lustre_file(
            &cluster_id(),
            NODE0,
            &target(&mgs(&fs), "lustrefs", None),
            USER,
            "out.txt",
        )
        .expect_err("root-owned root");
    assert_eq!(
        denied.message,
        "sh: can't create /mnt/out.txt: Permission denied"
    );
    let file = sb.with_world(|w| {
        w.get(&fs_id("fs1"))
            .and_then(|r| r.sandbox.files.get("/home/out.txt").cloned())
    });
    let file = file.expect("file");
    assert_eq!((file.uid, file.gid, file.dirty), (1000, 1000, true));
}
