//! How Azure fails (issue 15 items 6, 8 and 9): the storage target's refusals while roles
//! propagate, causes in `error.details`, a `Location` URL that answers 500 for good, a long
//! `Retry-After`, and a subnet still in use after its cache is deleted.

use crate::arm_support;
use crate::real_azure;

use arm_support::*;
use hpccache_sandbox::settings::Settings;
use real_azure::*;
use serde_json::json;

/// A cache, an account `acct` with container `data`, and no role assignments.
async fn target_setup(faults: &str) -> (hpccache_sandbox::sandbox::RunningSandbox, Client) {
    let sb = start_with(config(0.0, faults, Settings::default())).await;
    let c = Client::new(&sb);
    ready_cache(&c).await;
    account_with_container(&c, "acct").await;
    (sb, c)
}

fn detail_codes(error: &serde_json::Value) -> Vec<String> {
    error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn by_default_a_target_without_roles_fails_with_each_missing_role_in_details() {
    let (_sb, c) = target_setup("").await;
    let t = c
        .put(&target_path("t1"), CACHE_API, target_body("acct"))
        .await;
    assert_eq!(t.status, 201);
    let op = c.finish(&t).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "StorageTargetCreationFailed");
    assert_eq!(
        detail_codes(&op["error"]),
        ["AuthorizationFailed", "AuthorizationPermissionMismatch"]
    );
}

#[tokio::test]
async fn target_role_error_lowercase_ends_failed_with_the_lowercase_code() {
    let (_sb, c) = target_setup("target-role-error=lowercase").await;
    let op = c
        .finish(
            &c.put(&target_path("t1"), CACHE_API, target_body("acct"))
                .await,
        )
        .await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "storageTargetCreationFailed");
    assert_eq!(detail_codes(&op["error"]).len(), 2);
}

#[tokio::test]
async fn target_role_error_internal_ends_failed_with_no_cause() {
    let (_sb, c) = target_setup("target-role-error=internal").await;
    let op = c
        .finish(
            &c.put(&target_path("t1"), CACHE_API, target_body("acct"))
                .await,
        )
        .await;
    assert_eq!(op["error"]["code"], "AscInternalError");
    assert_eq!(
        op["error"]["message"],
        "Error encountered deploying the storage target: 't1'."
    );
    assert!(op["error"]["details"].is_null());
}

#[tokio::test]
async fn target_role_error_sync400_refuses_the_put_until_the_roles_work() {
    let (sb, c) = target_setup("target-role-error=sync400").await;
    let before = resource_ids(&sb);
    let t = c
        .put(&target_path("t1"), CACHE_API, target_body("acct"))
        .await;
    assert_eq!((t.status, t.code()), (400, "InvalidParameter"));
    assert_eq!(
        detail_codes(&t.body["error"]),
        [
            "StorageTargetCreationFailed",
            "AuthorizationFailed",
            "AuthorizationPermissionMismatch"
        ]
    );
    assert!(t.header("Azure-AsyncOperation").is_none());
    assert_eq!(resource_ids(&sb), before, "nothing created");
    assert_eq!(c.get(&target_path("t1"), CACHE_API).await.status, 404);
    assign_cache_roles(&c, &sb, "acct").await;
    let again = c
        .put(&target_path("t1"), CACHE_API, target_body("acct"))
        .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(c.finish(&again).await["status"], "Succeeded");
}

#[tokio::test]
async fn target_role_error_sync400_lowercase_refuses_with_the_lowercase_code() {
    let (_sb, c) = target_setup("target-role-error=sync400-lowercase").await;
    let t = c
        .put(&target_path("t1"), CACHE_API, target_body("acct"))
        .await;
    assert_eq!((t.status, t.code()), (400, "storageTargetCreationFailed"));
    assert_eq!(detail_codes(&t.body["error"]).len(), 2);
}

#[tokio::test]
async fn a_failed_network_operation_has_its_cause_in_details() {
    let sb = start_with(config(
        0.0,
        "fail-subnet-create=NetcfgInvalidSubnet",
        Settings::default(),
    ))
    .await;
    let c = Client::new(&sb);
    let op = c
        .finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
        .await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "NetcfgInvalidSubnet");
    assert_eq!(detail_codes(&op["error"]), ["NetcfgInvalidSubnet"]);
    let sync = create_subnet(&c, "overlap", "10.224.1.0/24").await;
    assert_eq!(sync.code(), "NetcfgSubnetRangesOverlap");
    assert_eq!(sync.body["error"]["details"], json!([]));
}

#[tokio::test]
async fn fail_location_5xx_answers_500_on_every_poll_while_the_status_url_works() {
    let sb = start_with(config(
        0.0,
        "fail-location-5xx=cache-delete",
        Settings::default(),
    ))
    .await;
    let c = Client::new(&sb);
    ready_cache(&c).await;
    let d = c.delete(&cache_id("c1"), CACHE_API).await;
    assert_eq!(d.status, 202);
    let location = d.header("Location").expect("Location");
    for _ in 0..3 {
        let r = c.call("GET", &location, None).await;
        assert_eq!((r.status, r.code()), (500, "InternalServerError"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(
                    "Encountered internal server error. Diagnostic information: timestamp '"
                )),
            "{:?}",
            r.body
        );
    }
    assert_eq!(status_now(&c, &d).await["status"], "Succeeded");
    assert_eq!(c.get(&cache_id("c1"), CACHE_API).await.status, 404);
    assert_eq!(c.call("GET", &location, None).await.status, 500);
}

#[tokio::test]
async fn retry_after_sets_every_long_running_answer_scaled() {
    // Real Azure time: the cache takes 20 minutes, so it is still running when polled.
    let mut world = hpccache_sandbox::world::World::new_default();
    if let Some(p) = world.providers.get_mut("microsoft.storagecache") {
        p.state = "Registered".into();
    }
    let sb =
        start_with(config(1.0, "retry-after=120", Settings::default()).with_world(world)).await;
    let c = Client::new(&sb);
    assert_eq!(
        create_subnet(&c, "cache", "10.225.0.0/24")
            .await
            .header("Retry-After")
            .as_deref(),
        Some("120")
    );
    let r = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.header("Retry-After").as_deref(), Some("120"));
    assert_eq!(r.header("retry-after-ms").as_deref(), Some("120000"));
    let poll = c
        .call(
            "GET",
            &r.header("Azure-AsyncOperation").unwrap_or_default(),
            None,
        )
        .await;
    assert_eq!(poll.body["status"], "InProgress");
    assert_eq!(poll.header("Retry-After").as_deref(), Some("120"));
    let scaled = start_with(config(0.01, "retry-after=120", Settings::default())).await;
    let s = create_subnet(&Client::new(&scaled), "cache", "10.225.0.0/24").await;
    assert_eq!(s.header("Retry-After").as_deref(), Some("2"));
    assert_eq!(s.header("retry-after-ms").as_deref(), Some("1200"));
}

/// Deletes cache `c1` and ends its operation now (Azure time would be ten minutes).
async fn delete_cache_now(c: &Client, sb: &hpccache_sandbox::sandbox::RunningSandbox) {
    let d = c.delete(&cache_id("c1"), CACHE_API).await;
    assert_eq!(d.status, 202);
    let now = hpccache_sandbox::arm::clock::now_ms();
    sb.with_world(|w| {
        for op in w.operations.values_mut().filter(|o| o.in_progress()) {
            op.due_ms = now;
        }
    });
    assert_eq!(c.get(&cache_id("c1"), CACHE_API).await.status, 404);
}

#[tokio::test]
async fn with_async_nic_release_the_subnet_stays_in_use_after_its_cache_is_deleted() {
    let mut world = hpccache_sandbox::world::World::new_default();
    if let Some(p) = world.providers.get_mut("microsoft.storagecache") {
        p.state = "Registered".into();
    }
    let settings = Settings {
        async_nic_release: Some(true),
        ..Settings::default()
    };
    let sb = start_with(config(1.0, "", settings).with_world(world)).await;
    let c = Client::new(&sb);
    create_subnet(&c, "cache", "10.225.0.0/24").await;
    let r = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let now = hpccache_sandbox::arm::clock::now_ms();
    sb.with_world(|w| {
        for op in w.operations.values_mut() {
            op.due_ms = now;
        }
    });
    delete_cache_now(&c, &sb).await;
    let ipconfig = format!("{}/ipConfigurations/cache", cache_id("c1"));
    let d = c.delete(&subnet_id("cache"), NET_API).await;
    assert_eq!((d.status, d.code()), (400, "InUseSubnetCannotBeDeleted"));
    assert_eq!(
        d.body["error"]["message"],
        format!(
            "Subnet cache is in use by {ipconfig} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet."
        )
    );
    let subnet = c.get(&subnet_id("cache"), NET_API).await;
    assert_eq!(
        subnet.body["properties"]["ipConfigurations"],
        json!([{ "id": ipconfig }])
    );
    // The NIC is released (its lease ends) some time after the delete ended.
    sb.with_world(|w| {
        if let Some(s) = w.get_mut(&subnet_id("cache")) {
            for until in s.sandbox.nic_leases.values_mut() {
                *until = now;
            }
        }
    });
    let d = c.delete(&subnet_id("cache"), NET_API).await;
    assert_eq!(d.status, 202, "{:?}", d.body);
}

#[tokio::test]
async fn without_async_nic_release_the_subnet_is_free_once_its_cache_is_deleted() {
    let mut world = hpccache_sandbox::world::World::new_default();
    if let Some(p) = world.providers.get_mut("microsoft.storagecache") {
        p.state = "Registered".into();
    }
    let settings = Settings {
        async_nic_release: Some(false),
        ..Settings::default()
    };
    let sb = start_with(config(1.0, "", settings).with_world(world)).await;
    let c = Client::new(&sb);
    create_subnet(&c, "cache", "10.225.0.0/24").await;
    c.put(
        &cache_id("c1"),
        CACHE_API,
        cache_body(&subnet_id("cache"), 3072),
    )
    .await;
    let now = hpccache_sandbox::arm::clock::now_ms();
    sb.with_world(|w| {
        for op in w.operations.values_mut() {
            op.due_ms = now;
        }
    });
    delete_cache_now(&c, &sb).await;
    assert_eq!(c.delete(&subnet_id("cache"), NET_API).await.status, 202);
}
