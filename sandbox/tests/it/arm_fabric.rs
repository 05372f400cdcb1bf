//! The NFS fabric: name resolution through linked private DNS zones, cache state, paths,
//! root squash and permissions, as a node would see them.

use crate::arm_support;

use arm_support::*;
use hpccache_sandbox::fabric::{Chown, Identity, NfsFabric};
use serde_json::json;

const ROOT: Identity = Identity { uid: 0, gid: 0 };

#[tokio::test]
async fn mounts_resolve_through_linked_zones_only() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let addrs = guide_up(&c, &sb, false).await;
    let f = sb.fabric();
    f.mount(&cluster_id(), "server.myhpccache.local", "/myfilepath")
        .expect("mounts");
    f.mount(&cluster_id(), "server.myhpccache.local", "/")
        .expect("namespace root");
    f.mount(&cluster_id(), &addrs[1], "/myfilepath")
        .expect("literal address");
    let e = f
        .mount(&cluster_id(), "other.myhpccache.local", "/myfilepath")
        .expect_err("no record");
    assert_eq!(
        e.message,
        "mount.nfs: Failed to resolve server other.myhpccache.local: Name or service not known"
    );
    let wrong = f
        .mount(&cluster_id(), "server.myhpccache.local", "/wrong")
        .expect_err("no junction");
    assert_eq!(
        wrong.message,
        "mount.nfs: access denied by server while mounting server.myhpccache.local:/wrong"
    );
    let nowhere = f
        .mount(&cluster_id(), "10.225.0.200", "/myfilepath")
        .expect_err("not a mount address");
    assert_eq!(nowhere.message, "mount.nfs: Connection timed out");
    // Unlink the zone: the name no longer resolves from the cluster's vnet.
    c.finish(
        &c.delete(
            &format!(
                "{}/virtualNetworkLinks/aks-link",
                zone_id("myhpccache.local")
            ),
            DNS_API,
        )
        .await,
    )
    .await;
    let e = f
        .mount(&cluster_id(), "server.myhpccache.local", "/myfilepath")
        .expect_err("unlinked");
    assert!(e.message.contains("Name or service not known"));
}

#[tokio::test]
async fn a_stopped_cache_times_out() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    guide_up(&c, &sb, false).await;
    c.finish(
        &c.post(&format!("{}/stop", cache_id("MyHpcCache")), CACHE_API, None)
            .await,
    )
    .await;
    let e = sb
        .fabric()
        .mount(&cluster_id(), "server.myhpccache.local", "/myfilepath")
        .expect_err("stopped");
    assert_eq!(e.message, "mount.nfs: Connection timed out");
}

#[tokio::test]
async fn probe_reports_df_and_write_as_root_without_squash() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    guide_up(&c, &sb, false).await;
    let r = sb
        .fabric()
        .probe(
            &cluster_id(),
            "server.myhpccache.local",
            "/myfilepath",
            "/mnt/hpccache",
            ROOT,
        )
        .expect("probe");
    assert_eq!(r.source, "server.myhpccache.local:/myfilepath");
    assert_eq!(
        (
            r.size.as_str(),
            r.used.as_str(),
            r.available.as_str(),
            r.use_percent.as_str()
        ),
        ("8.0E", "0", "8.0E", "0%")
    );
    assert!(r.write && r.read);
    assert_eq!(r.error, None);
    let user = sb
        .fabric()
        .probe(
            &cluster_id(),
            "server.myhpccache.local",
            "/myfilepath",
            "/mnt/hpccache",
            Identity {
                uid: 1000,
                gid: 1000,
            },
        )
        .expect("probe");
    assert!(!user.write);
    assert_eq!(user.uid, 1000);
    assert_eq!(
        user.error.as_deref(),
        Some("sh: can't create /mnt/hpccache/.hpccache-probe: Permission denied")
    );
}

#[tokio::test]
async fn root_squash_maps_root_to_nobody_and_denies_the_write() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    guide_up(&c, &sb, true).await;
    let r = sb
        .fabric()
        .probe(
            &cluster_id(),
            "server.myhpccache.local",
            "/myfilepath",
            "/mnt/hpccache",
            ROOT,
        )
        .expect("probe");
    assert!(!r.write);
    assert_eq!(r.uid, 0, "the report shows who the probe ran as");
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.ends_with("Permission denied"))
    );
    // Turn root squash off through ARM (PATCH the access policy): root writes again.
    let patch = c
        .call("PATCH", &with_api(&cache_id("MyHpcCache"), CACHE_API), Some(json!({"properties": {"securitySettings": {"accessPolicies": [
            {"name": "default", "accessRules": [{"scope": "default", "access": "rw", "rootSquash": false}]}]}}})))
        .await;
    assert_eq!(patch.status, 200, "{:?}", patch.body);
    c.finish(&patch).await;
    let r = sb
        .fabric()
        .probe(
            &cluster_id(),
            "server.myhpccache.local",
            "/myfilepath",
            "/mnt/hpccache",
            ROOT,
        )
        .expect("probe");
    assert!(r.write);
}

fn chown_job(dir: &str, owner: Identity) -> Chown {
    Chown {
        server: "server.myhpccache.local".into(),
        path: "/myfilepath".into(),
        mount_point: "/mnt/hpccache".into(),
        dir: dir.into(),
        who: ROOT,
        owner,
    }
}

#[tokio::test]
async fn the_owner_job_chowns_only_while_root_squash_is_off_and_the_owner_can_then_write() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    guide_up(&c, &sb, true).await;
    let f = sb.fabric();
    let user = Identity {
        uid: 1000,
        gid: 1000,
    };
    let squashed = f
        .chown(&cluster_id(), &chown_job("", user))
        .expect("mounts");
    assert_eq!(
        squashed.error.as_deref(),
        Some("chown: /mnt/hpccache: Operation not permitted")
    );
    assert!(!squashed.changed);
    let patch = c
        .call("PATCH", &with_api(&cache_id("MyHpcCache"), CACHE_API), Some(json!({"properties": {"securitySettings": {"accessPolicies": [
            {"name": "default", "accessRules": [{"scope": "default", "access": "rw", "rootSquash": false}]}]}}})))
        .await;
    c.finish(&patch).await;
    // A directory two levels down, made and given away in one go; then the root itself.
    let nested = f
        .chown(&cluster_id(), &chown_job("team/a", user))
        .expect("mounts");
    assert_eq!((nested.changed, nested.error.clone()), (true, None));
    assert_eq!(nested.dir, "/mnt/hpccache/team/a");
    let root = f
        .chown(&cluster_id(), &chown_job("", user))
        .expect("mounts");
    assert!(root.changed && root.ok(), "{root:?}");
    let again = f
        .chown(&cluster_id(), &chown_job("", user))
        .expect("mounts");
    assert!(!again.changed && again.ok(), "already right: {again:?}");
    // uid 1000 writes in its directory; root squashed again could not give it back.
    let probe = f
        .probe(
            &cluster_id(),
            "server.myhpccache.local",
            "/myfilepath/team/a",
            "/mnt/hpccache",
            user,
        )
        .expect("probe");
    assert!(probe.ok(), "{probe:?}");
    let mut other = chown_job(
        "",
        Identity {
            uid: 2000,
            gid: 2000,
        },
    );
    other.who = user;
    let denied = f.chown(&cluster_id(), &other).expect("mounts");
    assert_eq!(
        denied.error.as_deref(),
        Some("chown: /mnt/hpccache: Operation not permitted")
    );
}
