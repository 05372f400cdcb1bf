//! Azure Managed Lustre operations against the fake ARM: what each sends, how it follows the
//! long-running contract its spec declares, and what it makes of the answers.

use crate::azure_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use azure_support::{Mock, Seen, arm_error, fast_poll, reply};
use hpccache_core::azure::client::parse;
use hpccache_core::azure::{FinalState, ResourceId, amlfs};
use hpccache_core::spec::amlfs::{
    AmlfsSku, ConflictMode, MaintenanceWindow, RootSquash, SquashMode, Weekday,
};
use serde_json::{Value, json};

const FS_PATH: &str =
    "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.StorageCache/amlFilesystems/fs1";

fn fs_id() -> ResourceId {
    amlfs::filesystem_id("sub1", "rg", "fs1")
}

fn new_fs() -> amlfs::NewAmlFilesystem {
    amlfs::NewAmlFilesystem {
        location: "eastus".into(),
        sku: AmlfsSku::Premium250,
        capacity_tib: 8,
        subnet_id: "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/lustre".into(),
        zone: Some(1),
        maintenance_window: MaintenanceWindow {
            day: Weekday::Sunday,
            hour: 2,
            minute: 0,
        },
        hsm: None,
        root_squash: Some(RootSquash {
            mode: SquashMode::RootOnly,
            no_squash_nids: Some("10.0.0.4@tcp".into()),
            squash_uid: Some(65534),
            squash_gid: Some(65534),
        }),
        tags: BTreeMap::from([("created-by".to_owned(), "hpccache".to_owned())]),
    }
}

/// A file system as the service returns it (2024-03-01 shape).
fn fs_body(state: &str) -> Value {
    json!({
        "id": FS_PATH, "name": "fs1", "type": "Microsoft.StorageCache/amlFilesystem",
        "location": "eastus", "zones": ["1"], "sku": {"name": "AMLFS-Durable-Premium-250"},
        "properties": {
            "storageCapacityTiB": 8, "throughputProvisionedMBps": 2000,
            "provisioningState": state,
            "health": {"state": if state == "Succeeded" { "Available" } else { "Transitioning" }},
            "filesystemSubnet": "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/lustre",
            "maintenanceWindow": {"dayOfWeek": "Sunday", "timeOfDayUTC": "02:00"},
            "clientInfo": {"mgsAddress": "10.0.2.4", "lustreVersion": "2.15.1",
                           "mountCommand": "mount -t lustre -o noatime,flock 10.0.2.4@tcp:/lustrefs /mnt"}
        }
    })
}

fn host(s: &Seen) -> String {
    s.headers["host"].to_str().unwrap().to_owned()
}

fn count(seen: &[Seen], method: &str) -> usize {
    seen.iter().filter(|s| s.method == method).count()
}

/// The operation statuses a fake status URL answers, in turn, before it says Succeeded.
fn status_script(
    statuses: &'static [&'static str],
) -> Arc<Mutex<std::slice::Iter<'static, &'static str>>> {
    Arc::new(Mutex::new(statuses.iter()))
}

#[tokio::test]
async fn create_sends_one_put_and_polls_the_async_operation() {
    let statuses = status_script(&["InProgress", "InProgress"]);
    let mock = Mock::start(move |s, _| match (s.method.as_str(), s.path()) {
        ("PUT", _) => reply(201, fs_body("Creating"))
            .header("azure-asyncoperation", format!("http://{}/subscriptions/sub1/providers/Microsoft.StorageCache/locations/eastus/ascOperations/op1?api-version=2024-03-01", host(s)))
            .header("location", format!("http://{}/subscriptions/sub1/providers/Microsoft.StorageCache/locations/eastus/ascOperations/op1?monitor=true&api-version=2024-03-01", host(s)))
            .header("retry-after", "1"),
        ("GET", p) if p.contains("ascOperations") => match statuses.lock().unwrap().next() {
            Some(st) => reply(200, json!({"status": st, "percentComplete": 50.0})).header("retry-after", "1"),
            None => reply(200, json!({"status": "Succeeded"})),
        },
        ("GET", FS_PATH) => reply(200, fs_body("Succeeded")),
        _ => reply(404, arm_error("NotFound", &s.uri)),
    })
    .await;
    let client = mock.client();
    let poller = amlfs::begin_create(&client, &fs_id(), &new_fs())
        .await
        .unwrap();
    assert!(!poller.is_done());
    assert_eq!(
        poller.operation().final_state,
        FinalState::AzureAsyncOperation
    );
    assert!(poller.operation().async_operation.is_some());
    let result = poller.wait(&client, &fast_poll()).await.unwrap().unwrap();
    let fs: amlfs::Filesystem = parse(result, "file system").unwrap();
    assert_eq!(fs.provisioning_state(), Some("Succeeded"));
    assert_eq!(fs.mgs_address(), Some("10.0.2.4"));

    let seen = mock.seen();
    let put: Vec<&Seen> = seen.iter().filter(|s| s.method == "PUT").collect();
    assert_eq!(put.len(), 1, "the PUT is never re-sent while polling");
    assert_eq!(put[0].path(), FS_PATH);
    assert!(put[0].uri.contains("api-version=2024-03-01"));
    assert_eq!(put[0].body.as_ref(), Some(&amlfs::create_body(&new_fs())));
    let polls = seen
        .iter()
        .filter(|s| s.path().contains("ascOperations"))
        .count();
    assert_eq!(polls, 3);
    // The result is read from the resource itself, after the status said Succeeded.
    assert_eq!(seen.last().unwrap().path(), FS_PATH);
    assert_eq!(seen.len(), 1 + 3 + 1);
}

#[tokio::test]
async fn create_failure_carries_the_service_error() {
    let mock = Mock::start(|s, _| match s.method.as_str() {
        "PUT" => reply(201, fs_body("Creating")).header("azure-asyncoperation", format!("http://{}/ops/op2?api-version=2024-03-01", host(s))),
        _ => reply(200, json!({"status": "Failed", "error": {"code": "AmlFilesystemSubnetTooSmall", "message": "The subnet has 11 free addresses; 14 are needed."}})),
    })
    .await;
    let client = mock.client();
    let err = amlfs::begin_create(&client, &fs_id(), &new_fs())
        .await
        .unwrap()
        .wait(&client, &fast_poll())
        .await
        .unwrap_err();
    assert_eq!(err.arm_code(), Some("AmlFilesystemSubnetTooSmall"));
    assert_eq!(count(&mock.seen(), "PUT"), 1);
}

#[tokio::test]
async fn created_at_once_needs_no_polling() {
    let mock = Mock::start(|_, _| reply(200, fs_body("Succeeded"))).await;
    let client = mock.client();
    let poller = amlfs::begin_create(&client, &fs_id(), &new_fs())
        .await
        .unwrap();
    assert!(poller.is_done());
    poller.wait(&client, &fast_poll()).await.unwrap();
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn update_patches_once_and_follows_the_async_operation() {
    let statuses = status_script(&["InProgress"]);
    let mock = Mock::start(move |s, _| match (s.method.as_str(), s.path()) {
        ("PATCH", _) => reply(202, json!(null))
            .header(
                "azure-asyncoperation",
                format!("http://{}/ops/up1?api-version=2024-03-01", host(s)),
            )
            .header(
                "location",
                format!(
                    "http://{}/ops/up1?monitor=true&api-version=2024-03-01",
                    host(s)
                ),
            ),
        ("GET", "/ops/up1") => match statuses.lock().unwrap().next() {
            Some(st) => reply(200, json!({"status": st})),
            None => reply(200, json!({"status": "Succeeded"})),
        },
        ("GET", FS_PATH) => reply(200, fs_body("Succeeded")),
        _ => reply(404, arm_error("NotFound", &s.uri)),
    })
    .await;
    let client = mock.client();
    let update = amlfs::FilesystemUpdate {
        maintenance_window: Some(MaintenanceWindow {
            day: Weekday::Saturday,
            hour: 23,
            minute: 30,
        }),
        root_squash: None,
        tags: Some(BTreeMap::new()),
    };
    let poller = amlfs::begin_update(&client, &fs_id(), &update)
        .await
        .unwrap();
    assert_eq!(
        poller.operation().final_state,
        FinalState::AzureAsyncOperation
    );
    let v = poller.wait(&client, &fast_poll()).await.unwrap().unwrap();
    assert_eq!(v["name"], "fs1");
    let seen = mock.seen();
    assert_eq!(count(&seen, "PATCH"), 1);
    assert_eq!(
        seen[0].body.as_ref(),
        Some(
            &json!({"tags": {}, "properties": {"maintenanceWindow": {"dayOfWeek": "Saturday", "timeOfDayUTC": "23:30"}}})
        )
    );
    assert_eq!(seen.len(), 1 + 2 + 1);
}

#[tokio::test]
async fn delete_follows_location_until_done() {
    let mock = Mock::start(|s, i| match (s.method.as_str(), i) {
        ("DELETE", _) => reply(202, json!(null))
            .header(
                "location",
                format!(
                    "http://{}/ops/del1?monitor=true&api-version=2024-03-01",
                    host(s)
                ),
            )
            .header("retry-after", "1"),
        ("GET", 1 | 2) => reply(202, json!(null)),
        _ => reply(204, json!(null)),
    })
    .await;
    let client = mock.client();
    let poller = amlfs::begin_delete(&client, &fs_id()).await.unwrap();
    assert_eq!(poller.operation().final_state, FinalState::Location);
    assert!(poller.wait(&client, &fast_poll()).await.unwrap().is_none());
    let seen = mock.seen();
    assert_eq!(count(&seen, "DELETE"), 1);
    assert_eq!(seen[0].path(), FS_PATH);
    assert!(
        seen[1..]
            .iter()
            .all(|s| s.method == "GET" && s.path() == "/ops/del1")
    );
    assert_eq!(seen.len(), 4);

    // Already gone: 204 at once, nothing to poll.
    let mock = Mock::start(|_, _| reply(204, json!(null))).await;
    let client = mock.client();
    let poller = amlfs::begin_delete(&client, &fs_id()).await.unwrap();
    assert!(poller.is_done());
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn archive_and_cancel_are_single_posts_retried_when_transient() {
    let mock = Mock::start(|s, i| match (s.path(), i) {
        (p, 0) if p.ends_with("/archive") => reply(503, arm_error("ServiceUnavailable", "busy")),
        _ => reply(200, json!(null)),
    })
    .await;
    let client = mock.client();
    amlfs::archive(&client, &fs_id(), "/").await.unwrap();
    amlfs::cancel_archive(&client, &fs_id()).await.unwrap();
    let seen = mock.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.method == "POST"));
    assert_eq!(seen[1].path(), format!("{FS_PATH}/archive"));
    assert_eq!(seen[1].body, Some(json!({"filesystemPath": "/"})));
    assert_eq!(seen[2].path(), format!("{FS_PATH}/cancelArchive"));
    assert_eq!(seen[2].body, None);

    let mock =
        Mock::start(|_, _| reply(409, arm_error("Conflict", "An archive is already running.")))
            .await;
    let err = amlfs::archive(&mock.client(), &fs_id(), "/data")
        .await
        .unwrap_err();
    assert_eq!(err.arm_code(), Some("Conflict"));
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn required_subnet_size_reads_the_count() {
    let mock = Mock::start(|_, i| match i {
        0 => reply(503, arm_error("ServiceUnavailable", "busy")),
        _ => reply(200, json!({"filesystemSubnetSize": 14})),
    })
    .await;
    let client = mock.client();
    let n = amlfs::required_subnet_size(&client, AmlfsSku::Premium125, 32)
        .await
        .unwrap();
    assert_eq!(n, 14);
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "a read-only POST is asked again after a 503");
    assert_eq!(
        seen[1].path(),
        "/subscriptions/sub1/providers/Microsoft.StorageCache/getRequiredAmlFSSubnetsSize"
    );
    assert_eq!(
        seen[1].body,
        Some(json!({"storageCapacityTiB": 32.0, "sku": {"name": "AMLFS-Durable-Premium-125"}}))
    );

    let mock = Mock::start(|_, _| reply(200, json!({}))).await;
    let err = amlfs::required_subnet_size(&mock.client(), AmlfsSku::Premium125, 32)
        .await
        .unwrap_err();
    assert!(
        matches!(err, hpccache_core::Error::UnexpectedResponse { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn check_subnet_reads_success_and_each_refusal_shape() {
    let answers: Vec<(u16, Value)> = vec![
        (200, json!(null)),
        (
            400,
            json!({"filesystemSubnet": {"status": "Invalid", "message": "The subnet must have at least 14 free addresses."}}),
        ),
        (
            400,
            json!({"filesystemSubnet": {"status": "Invalid", "errorMessage": "Subnet is delegated to another service."}}),
        ),
        (
            400,
            arm_error("InvalidParameter", "The subnet is in another region."),
        ),
        (400, json!(null)),
        (403, arm_error("AuthorizationFailed", "no access")),
    ];
    let script = answers.clone();
    let mock = Mock::start(move |_, i| {
        let (status, body) = script[i].clone();
        reply(status, body)
    })
    .await;
    let client = mock.client();
    let subnet = new_fs().subnet_id;
    let mut results = Vec::new();
    for _ in &answers {
        results
            .push(amlfs::check_subnet(&client, &subnet, AmlfsSku::Premium250, 8, "eastus").await);
    }
    let invalid = |m: &str| amlfs::SubnetCheck::Invalid {
        message: m.to_owned(),
    };
    assert_eq!(results[0].as_ref().unwrap(), &amlfs::SubnetCheck::Valid);
    assert_eq!(
        results[1].as_ref().unwrap(),
        &invalid("The subnet must have at least 14 free addresses.")
    );
    assert_eq!(
        results[2].as_ref().unwrap(),
        &invalid("Subnet is delegated to another service.")
    );
    assert_eq!(
        results[3].as_ref().unwrap(),
        &invalid("The subnet is in another region.")
    );
    match &results[4] {
        Err(hpccache_core::Error::Arm { status: 400, .. }) => {}
        other => panic!("a 400 without a reason is an error, got {other:?}"),
    }
    assert_eq!(
        results[5].as_ref().unwrap_err().arm_code(),
        Some("AuthorizationFailed")
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), answers.len(), "no answer was retried");
    assert_eq!(
        seen[0].path(),
        "/subscriptions/sub1/providers/Microsoft.StorageCache/checkAmlFSSubnets"
    );
    assert_eq!(
        seen[0].body,
        Some(
            json!({"filesystemSubnet": subnet, "storageCapacityTiB": 8.0,
                    "sku": {"name": "AMLFS-Durable-Premium-250"}, "location": "eastus"})
        )
    );
}

#[tokio::test]
async fn get_and_list_in_a_group_and_the_subscription() {
    let mock = Mock::start(|s, _| match (s.path(), s.uri.contains("page=2")) {
        (FS_PATH, _) => reply(200, fs_body("Succeeded")),
        ("/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.StorageCache/amlFilesystems", false) => reply(
            200,
            json!({"value": [fs_body("Succeeded")], "nextLink": format!("http://{}/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.StorageCache/amlFilesystems?page=2&api-version=2024-03-01", host(s))}),
        ),
        ("/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.StorageCache/amlFilesystems", true) => {
            reply(200, json!({"value": [fs_body("Creating")]}))
        }
        ("/subscriptions/sub1/providers/Microsoft.StorageCache/amlFilesystems", _) => reply(200, json!({"value": []})),
        _ => reply(404, arm_error("ResourceNotFound", "The Resource was not found.")),
    })
    .await;
    let client = mock.client();
    let fs = amlfs::get(&client, &fs_id()).await.unwrap();
    assert_eq!(fs.printable()["resourceGroup"], "rg");
    assert_eq!(fs.printable()["mgsAddress"], Value::Null);
    assert_eq!(fs.printable()["clientInfo"]["mgsAddress"], "10.0.2.4");
    let in_group = amlfs::list(&client, Some("rg")).await.unwrap();
    let states: Vec<_> = in_group.iter().map(|f| f.provisioning_state()).collect();
    assert_eq!(states, vec![Some("Succeeded"), Some("Creating")]);
    assert!(amlfs::list(&client, None).await.unwrap().is_empty());
    let missing = amlfs::get(&client, &amlfs::filesystem_id("sub1", "rg", "nope"))
        .await
        .unwrap_err();
    assert!(missing.is_not_found());
}

fn job_body(state: &str) -> Value {
    json!({
        "id": format!("{FS_PATH}/importJobs/job1"), "name": "job1",
        "type": "Microsoft.StorageCache/amlFilesystem/importJob", "location": "eastus",
        "properties": {
            "provisioningState": state, "importPrefixes": ["/data/"],
            "conflictResolutionMode": "Skip", "maximumErrors": -1,
            "adminStatus": "Active",
            "status": {"state": "InProgress", "totalBlobsWalked": 120, "totalBlobsImported": 100}
        }
    })
}

#[tokio::test]
async fn import_jobs_put_once_get_list_and_delete() {
    let job_path = format!("{FS_PATH}/importJobs/job1");
    let jp = job_path.clone();
    let mock = Mock::start(move |s, _| match (s.method.as_str(), s.path()) {
        ("PUT", _) => reply(201, job_body("Creating")).header(
            "azure-asyncoperation",
            format!("http://{}/ops/imp1?api-version=2024-03-01", host(s)),
        ),
        ("GET", "/ops/imp1") => reply(200, json!({"status": "Succeeded"})),
        ("GET", p) if p == jp => reply(200, job_body("Succeeded")),
        ("GET", p) if p.ends_with("/importJobs") => {
            reply(200, json!({"value": [job_body("Succeeded")]}))
        }
        ("DELETE", _) => reply(202, json!(null)).header(
            "location",
            format!("http://{}/ops/impdel?api-version=2024-03-01", host(s)),
        ),
        ("GET", "/ops/impdel") => reply(204, json!(null)),
        _ => reply(404, arm_error("NotFound", &s.uri)),
    })
    .await;
    let client = mock.client();
    let job_id = amlfs::import_job_id(&fs_id(), "job1");
    let new = amlfs::NewImportJob {
        location: "eastus".into(),
        import_prefixes: vec!["/data/".into()],
        conflict_mode: ConflictMode::Skip,
        maximum_errors: Some(-1),
        tags: BTreeMap::new(),
    };
    let poller = amlfs::begin_put_import_job(&client, &job_id, &new)
        .await
        .unwrap();
    assert_eq!(
        poller.operation().final_state,
        FinalState::AzureAsyncOperation
    );
    let created: amlfs::ImportJob = parse(
        poller.wait(&client, &fast_poll()).await.unwrap().unwrap(),
        "import job",
    )
    .unwrap();
    assert_eq!(
        created.model.properties.as_ref().unwrap().import_prefixes,
        vec!["/data/"]
    );

    let job = amlfs::get_import_job(&client, &job_id).await.unwrap();
    let printed = job.printable();
    // properties and their status are both flattened, as az prints them.
    assert_eq!(printed["state"], "InProgress");
    assert_eq!(printed["totalBlobsImported"], 100);
    assert_eq!(
        printed["adminStatus"], "Active",
        "a 2026-01-01 field the model lacks is kept"
    );
    assert_eq!(printed["resourceGroup"], "rg");
    assert_eq!(
        amlfs::list_import_jobs(&client, &fs_id())
            .await
            .unwrap()
            .len(),
        1
    );

    let del = amlfs::begin_delete_import_job(&client, &job_id)
        .await
        .unwrap();
    assert_eq!(del.operation().final_state, FinalState::Location);
    assert!(del.wait(&client, &fast_poll()).await.unwrap().is_none());

    let seen = mock.seen();
    assert_eq!(count(&seen, "PUT"), 1);
    assert_eq!(count(&seen, "DELETE"), 1);
    let put = seen.iter().find(|s| s.method == "PUT").unwrap();
    assert_eq!(put.path(), job_path);
    assert_eq!(put.body.as_ref(), Some(&amlfs::import_job_body(&new)));
    assert_eq!(
        seen.iter()
            .find(|s| s.path().ends_with("/importJobs"))
            .unwrap()
            .path(),
        format!("{FS_PATH}/importJobs")
    );
}
