//! Fault injection (each kind), throttling, and the request log.

use crate::arm_support;

use std::time::Duration;

use arm_support::*;
use hpccache_sandbox::arm::faults::Faults;
use hpccache_sandbox::sandbox::SandboxConfig;

fn config(faults: &str) -> SandboxConfig {
    SandboxConfig::default()
        .with_time_scale(0.0)
        .without_clusters()
        .with_faults(Faults::parse(faults).expect("faults"))
}

#[tokio::test]
async fn error_rates_answer_500_503_and_429_with_retry_after_deterministically() {
    let sb = start_with(config("500:0.2,503:0.2,429:0.2,seed=7")).await;
    let c = Client::new(&sb);
    let mut seen = Vec::new();
    for _ in 0..60 {
        let r = c.get(&format!("/subscriptions/{SUB}"), "2022-12-01").await;
        if r.status == 429 {
            assert!(r.header("Retry-After").is_some());
        }
        seen.push(r.status);
    }
    for s in [200, 500, 503, 429] {
        assert!(seen.contains(&s), "{s} in {seen:?}");
    }
    let sb2 = start_with(config("500:0.2,503:0.2,429:0.2,seed=7")).await;
    let c2 = Client::new(&sb2);
    let mut again = Vec::new();
    for _ in 0..60 {
        again.push(
            c2.get(&format!("/subscriptions/{SUB}"), "2022-12-01")
                .await
                .status,
        );
    }
    assert_eq!(seen, again, "same seed, same fates");
}

#[tokio::test]
async fn dropped_connections_get_no_response() {
    let sb = start_with(config("drop:1")).await;
    let c = Client::new(&sb);
    let r = c
        .try_call(
            "GET",
            &with_api(&format!("/subscriptions/{SUB}"), "2022-12-01"),
            None,
        )
        .await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(sb.requests()[0].fault.as_deref(), Some("drop"));
}

#[tokio::test]
async fn requests_after_stop_after_hang() {
    let sb = start_with(config("stop-after=2")).await;
    let mut c = Client::new(&sb);
    c.http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    for _ in 0..2 {
        assert_eq!(
            c.get(&format!("/subscriptions/{SUB}"), "2022-12-01")
                .await
                .status,
            200
        );
    }
    let third = c
        .try_call(
            "GET",
            &with_api(&format!("/subscriptions/{SUB}"), "2022-12-01"),
            None,
        )
        .await;
    assert!(third.is_err(), "hangs until the client gives up");
}

#[tokio::test]
async fn a_failing_cache_create_ends_failed_with_asc_internal_error() {
    let sb = start_with(config("fail-cache-create=AscInternalError")).await;
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
    let op = c.finish(&r).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "AscInternalError");
    assert_eq!(
        c.get(&cache_id("c1"), CACHE_API).await.body["properties"]["provisioningState"],
        "Failed"
    );
}

#[tokio::test]
async fn a_client_over_the_rate_limit_gets_429_with_retry_after() {
    let sb = start_with(
        SandboxConfig::default()
            .with_time_scale(0.0)
            .without_clusters()
            .with_rate_limit(3, Duration::from_secs(60)),
    )
    .await;
    let c = Client::new(&sb);
    for _ in 0..3 {
        assert_eq!(
            c.get(&format!("/subscriptions/{SUB}"), "2022-12-01")
                .await
                .status,
            200
        );
    }
    let r = c.get(&format!("/subscriptions/{SUB}"), "2022-12-01").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "SubscriptionRequestsThrottled");
    assert!(
        r.header("Retry-After")
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
}

#[tokio::test]
async fn the_request_log_has_every_request_without_the_token_and_counts() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("log.jsonl");
    let mut cfg = SandboxConfig::default()
        .with_time_scale(0.0)
        .without_clusters();
    cfg.log_file = Some(file.clone());
    let sb = start_with(cfg).await;
    let c = Client::new(&sb);
    c.get(&cluster_id(), "2025-01-01").await;
    c.put(
        &zone_id("a.local"),
        DNS_API,
        serde_json::json!({"location": "global"}),
    )
    .await;
    let log = sb.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].seq, 1);
    assert_eq!(log[0].status, Some(200));
    assert_eq!(log[0].api_version.as_deref(), Some("2025-01-01"));
    assert_eq!(log[1].method, "PUT");
    assert_eq!(
        log[1].body.as_ref().map(|b| b["location"].clone()),
        Some(serde_json::json!("global"))
    );
    let by_type = sb.request_log().count_by_type();
    assert_eq!(by_type.get("Microsoft.Network/privateDnsZones"), Some(&1));
    assert_eq!(sb.request_log().count_by_verb().get("GET"), Some(&1));
    let text = std::fs::read_to_string(&file).expect("log file");
    assert_eq!(text.lines().count(), 2);
    assert!(!text.contains(&sb.token()), "never the token");
    assert!(!text.to_ascii_lowercase().contains("authorization"));
}

#[tokio::test]
async fn a_failing_amlfs_create_ends_failed_with_the_injected_code() {
    let sb = start_with(config("fail-amlfs-create=InternalServerError")).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let r = c
        .put(&fs_id("fs1"), AML_API, amlfs_body(&subnet, AML_SKU, 8))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let op = c.finish(&r).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "InternalServerError");
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    assert_eq!(fs["properties"]["provisioningState"], "Failed");
    assert_eq!(fs["properties"]["health"]["state"], "Unavailable");
}

#[tokio::test]
async fn a_rejected_amlfs_create_is_400_with_the_code_and_creates_nothing() {
    let sb = start_with(config("reject-amlfs-create=QuotaExceeded")).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let r = c
        .put(&fs_id("fs1"), AML_API, amlfs_body(&subnet, AML_SKU, 8))
        .await;
    assert_eq!((r.status, r.code()), (400, "QuotaExceeded"));
    assert_eq!(c.get(&fs_id("fs1"), AML_API).await.status, 404);
    let started = sb.with_world(|w| {
        w.operations
            .values()
            .any(|o| o.resource_id.contains("/amlFilesystems/"))
    });
    assert!(!started, "no operation was started");
}
