//! The long-running-operation poller against a mock ARM: each completion path of the contract.

use crate::azure_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use azure_support::{Mock, Seen, arm_error, fast_poll, reply};
use hpccache_core::Error;
use hpccache_core::azure::lro::{self, Until};
use hpccache_core::azure::{ResourceId, cache, dns, network};
use hpccache_core::progress::{Event, Recorder};
use serde_json::json;

fn cache_id() -> ResourceId {
    cache::cache_id("sub1", "rg", "cache1")
}

fn new_cache() -> cache::NewCache {
    cache::NewCache {
        location: "eastus".into(),
        sku: "Standard_2G".into(),
        cache_size_gb: 3072,
        subnet_id: "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/cache".into(),
        root_squash: false,
        tags: Default::default(),
    }
}

fn cache_body(state: &str) -> serde_json::Value {
    json!({"id": cache_id().as_str(), "name": "cache1", "location": "eastus",
           "properties": {"provisioningState": state, "mountAddresses": ["10.0.0.4", "10.0.0.5", "10.0.0.6"]}})
}

#[tokio::test]
async fn async_operation_in_progress_then_succeeded() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let mock = Mock::start(move |s, _| {
        let op_url = "/subscriptions/sub1/providers/Microsoft.StorageCache/locations/eastus/ascOperations/op1?api-version=2024-03-01";
        match (s.method.as_str(), s.path()) {
            ("PUT", _) => reply(201, cache_body("Creating")).header("azure-asyncoperation", format!("http://{}{op_url}", s.headers["host"].to_str().unwrap())),
            ("GET", path) if path.contains("ascOperations") => {
                let n = p.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    reply(200, json!({"status": "InProgress", "percentComplete": 40.0 + n as f64})).header("retry-after", "1")
                } else {
                    reply(200, json!({"status": "Succeeded"}))
                }
            }
            _ => reply(200, cache_body("Succeeded")),
        }
    })
    .await;
    let client = mock.client();
    let recorder = Recorder::new();
    let req_progress = recorder.progress().for_step("cache");
    let poller = cache::begin_create_cache(&client, &cache_id(), &new_cache())
        .await
        .unwrap();
    assert!(!poller.is_done());
    assert!(poller.operation().async_operation.is_some());
    let result = lro::resume(&client, poller.operation(), &fast_poll(), &req_progress)
        .await
        .unwrap()
        .unwrap();
    let c: cache::Cache = serde_json::from_value(result).unwrap();
    assert_eq!(c.properties.mount_addresses.len(), 3);
    // One PUT only, never re-sent while polling.
    let seen = mock.seen();
    assert_eq!(seen.iter().filter(|s| s.method == "PUT").count(), 1);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    let progress: Vec<_> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepProgress {
                step,
                state,
                percent,
                ..
            } => Some((step, state, percent)),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        vec![
            ("cache".into(), "InProgress".into(), Some(40.0)),
            ("cache".into(), "InProgress".into(), Some(41.0))
        ]
    );
}

#[tokio::test]
async fn async_operation_failure_is_an_arm_error() {
    let mock = Mock::start(|s, _| match s.method.as_str() {
        "POST" => reply(202, json!(null)).header("azure-asyncoperation", format!("http://{}/subscriptions/sub1/providers/Microsoft.StorageCache/locations/eastus/ascOperations/op2?api-version=2024-03-01", s.headers["host"].to_str().unwrap())),
        _ => reply(200, json!({"status": "Failed", "error": {"code": "AscInternalError", "message": "Flush failed."}})),
    })
    .await;
    let client = mock.client();
    let err = cache::begin_flush(&client, &cache_id())
        .await
        .unwrap()
        .wait(&client, &fast_poll())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "(AscInternalError) Flush failed.");
    assert_eq!(err.arm_code(), Some("AscInternalError"));
}

#[tokio::test]
async fn location_202_202_200() {
    let mock = Mock::start(|s, i| match (s.method.as_str(), i) {
        ("DELETE", _) => reply(202, json!(null))
            .header("location", format!("http://{}/subscriptions/sub1/providers/Microsoft.Network/privateDnsOperationResults/x?api-version=2024-06-01", s.headers["host"].to_str().unwrap()))
            .header("retry-after", "2"),
        (_, 1 | 2) => reply(202, json!(null)),
        _ => reply(200, json!(null)),
    })
    .await;
    let client = mock.client();
    let zone = dns::zone_id("sub1", "rg", "cache.internal");
    let started = Instant::now();
    let out = dns::begin_delete_zone(&client, &zone)
        .await
        .unwrap()
        .wait(&client, &fast_poll())
        .await
        .unwrap();
    assert!(out.is_none());
    // The initial Retry-After (2 s, scaled to 20 ms) was honoured before the first poll.
    assert!(started.elapsed() >= Duration::from_millis(20));
    let seen = mock.seen();
    assert_eq!(seen.len(), 4);
    assert!(
        seen[1..]
            .iter()
            .all(|s| s.method == "GET" && s.path().ends_with("/privateDnsOperationResults/x"))
    );
}

#[tokio::test]
async fn put_without_headers_polls_provisioning_state() {
    let mock = Mock::start(|s, i| match (s.method.as_str(), i) {
        ("PUT", _) => reply(201, json!({"id": "x", "name": "cache", "properties": {"addressPrefix": "10.1.0.0/24", "provisioningState": "Updating"}})),
        (_, 1) => reply(200, json!({"id": "x", "name": "cache", "properties": {"addressPrefix": "10.1.0.0/24", "provisioningState": "Updating"}})),
        _ => reply(200, json!({"id": "x", "name": "cache", "properties": {"addressPrefix": "10.1.0.0/24", "provisioningState": "Succeeded"}})),
    })
    .await;
    let client = mock.client();
    let subnet = network::vnet_id("sub1", "rg", "v").child("subnets", "cache");
    let v = network::begin_create_subnet(&client, &subnet, "10.1.0.0/24")
        .await
        .unwrap()
        .wait(&client, &fast_poll())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["properties"]["provisioningState"], "Succeeded");
    assert_eq!(mock.seen().len(), 3);
}

#[tokio::test]
async fn provisioning_state_failed_is_an_error() {
    let mock = Mock::start(|s, _| match s.method.as_str() {
        "PUT" => reply(201, cache_body("Creating")),
        _ => reply(200, json!({"properties": {"provisioningState": "Failed", "health": {"state": "Down", "statusDescription": "Subnet has no free addresses."}}})),
    })
    .await;
    let client = mock.client();
    let err = cache::begin_create_cache(&client, &cache_id(), &new_cache())
        .await
        .unwrap()
        .wait(&client, &fast_poll())
        .await
        .unwrap_err();
    assert_eq!(err.arm_code(), Some("ProvisioningFailed"));
    assert!(
        err.to_string().contains("Subnet has no free addresses."),
        "{err}"
    );
}

#[tokio::test]
async fn timeout_names_the_resource_and_says_it_continues() {
    let mock = Mock::start(|s, _| match s.method.as_str() {
        "PUT" => reply(201, cache_body("Creating")),
        _ => reply(200, cache_body("Creating")),
    })
    .await;
    let client = mock.client();
    let mut policy = fast_poll();
    policy.timeout = Duration::from_millis(150);
    policy.default_interval = Duration::from_secs(3); // 30 ms at the test time scale
    let err = cache::begin_create_cache(&client, &cache_id(), &new_cache())
        .await
        .unwrap()
        .wait(
            &client,
            &policy.resume_hint("run `az-hpccache-ext wait --created`"),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Timeout { .. }));
    assert!(
        text.contains(cache_id().as_str())
            && text.contains("continues in Azure")
            && text.contains("wait --created"),
        "{text}"
    );
}

#[tokio::test]
async fn created_at_once_needs_no_polling() {
    let mock = Mock::start(|_, _| reply(200, cache_body("Succeeded"))).await;
    let client = mock.client();
    let poller = cache::begin_create_cache(&client, &cache_id(), &new_cache())
        .await
        .unwrap();
    assert!(poller.is_done());
    poller.wait(&client, &fast_poll()).await.unwrap();
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn wait_from_a_resource_id_alone() {
    // `--no-wait` then `wait --deleted`: the resource answers 200 Deleting, then 404.
    let mock = Mock::start(|_, i| match i {
        0 | 1 => reply(200, cache_body("Deleting")),
        _ => reply(404, arm_error("ResourceNotFound", "gone")),
    })
    .await;
    let client = mock.client();
    let recorder = Recorder::new();
    let out = lro::wait_for_resource(
        &client,
        cache_id().as_str(),
        cache::API_VERSION,
        Until::Deleted,
        &fast_poll(),
        &recorder.progress(),
    )
    .await
    .unwrap();
    assert!(out.is_none());
    assert_eq!(mock.seen().len(), 3);
    assert!(
        recorder
            .events()
            .iter()
            .any(|e| matches!(e, Event::StepProgress { state, .. } if state == "Deleting"))
    );

    let mock = Mock::start(|_, i| {
        if i == 0 {
            reply(200, cache_body("Creating"))
        } else {
            reply(200, cache_body("Succeeded"))
        }
    })
    .await;
    let v = lro::wait_for_resource(
        &mock.client(),
        cache_id().as_str(),
        cache::API_VERSION,
        Until::Succeeded,
        &fast_poll(),
        &Recorder::new().progress(),
    )
    .await
    .unwrap();
    assert_eq!(v.unwrap()["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn wait_created_and_exists_poll_through_not_found_but_succeeded_does_not() {
    // Issue 12 item 8: `cache wait --created` failed at once on a cache not there yet.
    let script = |_: &Seen, i: usize| match i {
        0 | 1 => reply(404, arm_error("ResourceNotFound", "not yet")),
        2 => reply(200, cache_body("Creating")),
        _ => reply(200, cache_body("Succeeded")),
    };
    // Each wait against a fresh mock of the same script: its answer and the GETs it sent.
    let wait = |until| async move {
        let mock = Mock::start(script).await;
        let answer = lro::wait_for_resource(
            &mock.client(),
            cache_id().as_str(),
            cache::API_VERSION,
            until,
            &fast_poll(),
            &Recorder::new().progress(),
        )
        .await;
        (answer, mock.seen().len())
    };

    let (v, gets) = wait(Until::Created).await;
    assert_eq!(
        v.unwrap().unwrap()["properties"]["provisioningState"],
        "Succeeded"
    );
    assert_eq!(gets, 4);

    let (v, gets) = wait(Until::Exists).await;
    assert_eq!(
        v.unwrap().unwrap()["properties"]["provisioningState"],
        "Creating"
    );
    assert_eq!(gets, 3);

    let (err, gets) = wait(Until::Succeeded).await;
    let err = err.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(gets, 1);
}

#[tokio::test]
async fn operation_handle_round_trips_and_falls_back_when_expired() {
    let mock = Mock::start(|s, _| match s.method.as_str() {
        "PUT" => reply(201, cache_body("Creating")).header(
            "azure-asyncoperation",
            format!(
                "http://{}/ops/expired?api-version=2024-03-01",
                s.headers["host"].to_str().unwrap()
            ),
        ),
        _ if s.path() == "/ops/expired" => reply(404, arm_error("NotFound", "expired")),
        _ => reply(200, cache_body("Succeeded")),
    })
    .await;
    let client = mock.client();
    let poller = cache::begin_create_cache(&client, &cache_id(), &new_cache())
        .await
        .unwrap();
    let saved = serde_json::to_string(poller.operation()).unwrap();
    let op: lro::Operation = serde_json::from_str(&saved).unwrap();
    assert_eq!(&op, poller.operation());
    let v = lro::resume(&client, &op, &fast_poll(), &Recorder::new().progress())
        .await
        .unwrap();
    assert_eq!(v.unwrap()["properties"]["provisioningState"], "Succeeded");
}

/// Issue 16: a resumed run polls resources that send no `Retry-After`. It waited Azure's
/// 60 s default from the first poll (a 4-second subnet cost a minute); the wait now starts at
/// `first_interval` and doubles up to the default, and a server's `Retry-After` still rules.
#[tokio::test]
async fn without_retry_after_the_wait_starts_short_and_doubles_to_the_default() {
    let mock = Mock::start(|_, _| reply(200, cache_body("Succeeded"))).await;
    let client = mock.client(); // time scale 0.01
    let policy = lro::PollPolicy {
        default_interval: Duration::from_secs(60),
        first_interval: Duration::from_secs(1),
        min_interval: Duration::from_millis(1),
        ..lro::PollPolicy::default()
    };
    let mut pace = lro::Pace::new(&client, &policy);
    let ms: Vec<u128> = (0..9)
        .map(|_| pace.next(&client, None).as_millis())
        .collect();
    assert_eq!(ms, [10, 20, 40, 80, 160, 320, 600, 600, 600]);

    // A server's pace is followed, and kept on answers without the header.
    let mut pace = lro::Pace::new(&client, &policy);
    assert_eq!(pace.next(&client, None), Duration::from_millis(10));
    assert_eq!(
        pace.next(&client, Some(Duration::from_secs(5))),
        Duration::from_millis(50)
    );
    assert_eq!(pace.next(&client, None), Duration::from_millis(50));
    // ...and never below the floor.
    assert_eq!(
        pace.next(&client, Some(Duration::ZERO)),
        Duration::from_millis(1)
    );
}
