//! Azure Managed Lustre's Blob integration: the resource provider's storage roles, archive
//! (and its cancel) writing changed files to the data container, and import jobs.

use crate::arm_support;

use arm_support::*;
use hpccache_sandbox::fabric::{Identity, LustreTarget};
use hpccache_sandbox::sandbox::RunningSandbox;
use serde_json::{Value, json};

const ROOT: Identity = Identity { uid: 0, gid: 0 };
const NODE: &str = "10.224.0.4";

fn hsm_body(subnet: &str, data: &str, logs: &str) -> Value {
    let mut b = amlfs_body(subnet, AML_SKU, 8);
    b["properties"]["hsm"] = json!({"settings": {"container": data, "loggingContainer": logs}});
    b
}

fn target(fs: &Value) -> LustreTarget {
    LustreTarget {
        mgs_address: fs["properties"]["clientInfo"]["mgsAddress"]
            .as_str()
            .expect("mgs")
            .to_string(),
        fs_name: "lustrefs".into(),
        sub_dir: None,
    }
}

/// A file system with Blob integration, two files written from a node; the world of that
/// sandbox, to continue at a time scale where progress can be watched.
async fn filesystem_with_dirty_files() -> (hpccache_sandbox::world::World, String) {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let (data, logs) = blob_integration(&c, &sb, "lustrestore", true).await;
    let fs = create_amlfs(&c, "fs1", hsm_body(&subnet, &data, &logs)).await;
    assert!(
        sb.fabric()
            .set_lustre_owner(&fs_id("fs1"), "/results", 0, 0, 0o755)
    );
    for name in ["results/a.out", "results/b.out"] {
        sb.fabric()
            .write_lustre_file(&cluster_id(), NODE, &target(&fs), ROOT, name)
            .expect("write");
    }
    (sb.world(), data)
}

fn dirty(sb: &RunningSandbox) -> usize {
    sb.with_world(|w| {
        w.get(&fs_id("fs1"))
            .map_or(0, |r| r.sandbox.files.values().filter(|f| f.dirty).count())
    })
}

#[tokio::test]
async fn a_create_without_the_providers_storage_roles_fails_and_succeeds_once_they_exist() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let (data, logs) = blob_integration(&c, &sb, "lustrestore", false).await;
    let body = hsm_body(&subnet, &data, &logs);
    let r = c.put(&fs_id("fs1"), AML_API, body.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let op = c.finish(&r).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "AuthorizationPermissionMismatch");
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    assert_eq!(fs["properties"]["provisioningState"], "Failed");
    assert_eq!(fs["properties"]["health"]["state"], "Unavailable");
    assign_storage_roles(&c, &sb, "lustrestore").await;
    let again = c.put(&fs_id("fs1"), AML_API, body).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(c.finish(&again).await["status"], "Succeeded");
    assert_eq!(
        c.get(&fs_id("fs1"), AML_API).await.body["properties"]["health"]["state"],
        "Available"
    );
}

#[tokio::test]
async fn archive_writes_changed_files_to_the_data_container() {
    let (world, data) = filesystem_with_dirty_files().await;
    // 120 s + 2 s per file × 0.03 = 3.7 s of InProgress.
    let sb = start_world(world, 0.03).await;
    let c = Client::new(&sb);
    assert_eq!(dirty(&sb), 2);
    assert!(!sb.with_world(|w| w.container_holds_data(&data)));
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    assert_eq!(
        fs["properties"]["hsm"]["archiveStatus"][0]["status"]["state"],
        "Idle"
    );
    let url = format!("{}/archive", fs_id("fs1"));
    let r = c
        .post(&url, AML_API, Some(json!({"filesystemPath": "/"})))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(
        r.header("Azure-AsyncOperation").is_none(),
        "not long-running"
    );
    let running = c.get(&fs_id("fs1"), AML_API).await.body;
    let status = &running["properties"]["hsm"]["archiveStatus"][0]["status"];
    assert_eq!(status["state"], "InProgress");
    assert!(status["percentComplete"].is_u64());
    let second = c.post(&url, AML_API, Some(json!({}))).await;
    assert_eq!((second.status, second.code()), (409, "Conflict"));
    let done = wait_for(
        &c,
        &fs_id("fs1"),
        "/properties/hsm/archiveStatus/0/status/state",
        "Completed",
    )
    .await;
    let status = &done["properties"]["hsm"]["archiveStatus"][0]["status"];
    assert!(status["lastCompletionTime"].is_string());
    assert_eq!(status["percentComplete"], 100);
    assert_eq!(dirty(&sb), 0);
    let blobs = sb.with_world(|w| {
        w.get(&data)
            .map(|r| r.sandbox.blobs.iter().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    });
    assert_eq!(blobs, vec!["results/a.out", "results/b.out"]);
    assert!(sb.with_world(|w| w.container_holds_data(&data)));
}

#[tokio::test]
async fn cancel_archive_stops_it_and_leaves_the_files_unwritten() {
    let (world, data) = filesystem_with_dirty_files().await;
    let sb = start_world(world, 0.03).await;
    let c = Client::new(&sb);
    let cancel = format!("{}/cancelArchive", fs_id("fs1"));
    let idle = c.post(&cancel, AML_API, None).await;
    assert_eq!((idle.status, idle.code()), (409, "Conflict"));
    let r = c
        .post(&format!("{}/archive", fs_id("fs1")), AML_API, None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = c.post(&cancel, AML_API, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    assert_eq!(
        fs["properties"]["hsm"]["archiveStatus"][0]["status"]["state"],
        "Canceled"
    );
    assert_eq!(dirty(&sb), 2);
    assert!(!sb.with_world(|w| w.container_holds_data(&data)));
}

#[tokio::test]
async fn an_archive_fails_when_the_roles_were_removed() {
    let (mut world, data) = filesystem_with_dirty_files().await;
    world.resources.retain(|_, r| {
        !r.rtype
            .eq_ignore_ascii_case(hpccache_sandbox::world::types::ROLE_ASSIGNMENT)
    });
    let sb = start_world(world, 0.0).await;
    let c = Client::new(&sb);
    let r = c
        .post(&format!("{}/archive", fs_id("fs1")), AML_API, None)
        .await;
    assert_eq!(r.status, 200);
    let fs = wait_for(
        &c,
        &fs_id("fs1"),
        "/properties/hsm/archiveStatus/0/status/state",
        "Failed",
    )
    .await;
    assert_eq!(
        fs["properties"]["hsm"]["archiveStatus"][0]["status"]["errorCode"],
        "AuthorizationPermissionMismatch"
    );
    assert_eq!(dirty(&sb), 2);
    assert!(!sb.with_world(|w| w.container_holds_data(&data)));
}

#[tokio::test]
async fn archive_and_import_need_blob_integration() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let fs = create_amlfs(&c, "fs1", amlfs_body(&subnet, AML_SKU, 8)).await;
    assert!(fs["properties"].get("hsm").is_none());
    let a = c
        .post(&format!("{}/archive", fs_id("fs1")), AML_API, None)
        .await;
    assert_eq!((a.status, a.code()), (400, "BadRequest"));
    let j = c
        .put(
            &format!("{}/importJobs/job1", fs_id("fs1")),
            AML_API,
            json!({"location": "eastus", "properties": {}}),
        )
        .await;
    assert_eq!((j.status, j.code()), (400, "BadRequest"));
}

#[tokio::test]
async fn import_jobs_hydrate_the_namespace_and_report_conflicts() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let (data, logs) = blob_integration(&c, &sb, "lustrestore", true).await;
    sb.with_world(|w| {
        for b in ["inputs/x.dat", "inputs/y.dat", "other/z.dat"] {
            w.put_blob(&data, b).expect("blob");
        }
    });
    let mut body = hsm_body(&subnet, &data, &logs);
    body["properties"]["hsm"]["settings"]["importPrefixesInitial"] = json!(["/inputs"]);
    let fs = create_amlfs(&c, "fs1", body).await;
    let files = |sb: &RunningSandbox| {
        sb.with_world(|w| {
            w.get(&fs_id("fs1"))
                .map(|r| {
                    r.sandbox
                        .files
                        .iter()
                        .filter(|(_, f)| !f.dir)
                        .map(|(p, _)| p.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    assert_eq!(files(&sb), vec!["/inputs/x.dat", "/inputs/y.dat"]);
    // A file changed in Lustre and not archived conflicts with its blob.
    sb.fabric()
        .write_lustre_file(&cluster_id(), NODE, &target(&fs), ROOT, "inputs/x.dat")
        .expect("write");
    let jobs = format!("{}/importJobs", fs_id("fs1"));
    for (name, mode, state, conflicts) in [
        ("skip", "Skip", "CompletedPartial", 1),
        ("fail", "Fail", "Failed", 1),
        ("overwrite", "OverwriteIfDirty", "Completed", 0),
    ] {
        let r = c
            .put(
                &format!("{jobs}/{name}"),
                AML_API,
                json!({"location": "eastus", "properties": {"importPrefixes": ["/"], "conflictResolutionMode": mode}}),
            )
            .await;
        assert_eq!(r.status, 201, "{name}: {:?}", r.body);
        assert_eq!(r.body["properties"]["provisioningState"], "Creating");
        assert!(r.header("Azure-AsyncOperation").is_some());
        assert_eq!(c.finish(&r).await["status"], "Succeeded", "{name}");
        let job = c.get(&format!("{jobs}/{name}"), AML_API).await.body;
        assert_eq!(job["properties"]["provisioningState"], "Succeeded");
        let status = &job["properties"]["status"];
        assert_eq!(status["state"], state, "{name}: {status}");
        assert_eq!(status["totalConflicts"], conflicts, "{name}");
        assert_eq!(status["totalBlobsWalked"], 3, "{name}");
    }
    assert_eq!(
        files(&sb),
        vec!["/inputs/x.dat", "/inputs/y.dat", "/other/z.dat"]
    );
    assert_eq!(dirty(&sb), 0, "overwritten by the blob");
    let list = c.get(&jobs, AML_API).await;
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(3));
    let changed = c
        .put(
            &format!("{jobs}/skip"),
            AML_API,
            json!({"location": "eastus", "properties": {"importPrefixes": ["/other"], "conflictResolutionMode": "Skip"}}),
        )
        .await;
    assert_eq!(
        (changed.status, changed.code()),
        (400, "PropertyChangeNotAllowed")
    );
    let tagged = c
        .call(
            "PATCH",
            &with_api(&format!("{jobs}/skip"), AML_API),
            Some(json!({"tags": {"run": "1"}})),
        )
        .await;
    assert_eq!(tagged.status, 200, "{:?}", tagged.body);
    assert_eq!(tagged.body["tags"]["run"], "1");
    let d = c.delete(&format!("{jobs}/skip"), AML_API).await;
    assert_eq!(d.status, 202);
    assert_eq!(c.finish(&d).await["status"], "Succeeded");
    assert_eq!(c.get(&format!("{jobs}/skip"), AML_API).await.status, 404);
}

#[tokio::test]
async fn only_one_import_job_runs_at_a_time() {
    let (world, _) = filesystem_with_dirty_files().await;
    // Provisioning (60 s) and importing (120 s) × 0.03: 5.4 s running.
    let sb = start_world(world, 0.03).await;
    let c = Client::new(&sb);
    let jobs = format!("{}/importJobs", fs_id("fs1"));
    let first = c
        .put(
            &format!("{jobs}/one"),
            AML_API,
            json!({"location": "eastus", "properties": {}}),
        )
        .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["properties"]["status"]["state"], "InProgress");
    let second = c
        .put(
            &format!("{jobs}/two"),
            AML_API,
            json!({"location": "eastus", "properties": {}}),
        )
        .await;
    assert_eq!((second.status, second.code()), (409, "Conflict"));
    let cancel = c
        .call(
            "PATCH",
            &with_api(&format!("{jobs}/one"), "2026-01-01"),
            Some(json!({"properties": {"adminStatus": "Cancel"}})),
        )
        .await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);
    assert_eq!(cancel.body["properties"]["status"]["state"], "Canceled");
}
