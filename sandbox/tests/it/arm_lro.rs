//! The long-running operation contract and ARM basics, from a plain HTTP client.

use crate::arm_support;

use arm_support::*;
use serde_json::json;

#[tokio::test]
async fn requests_without_a_bearer_token_are_401_authentication_failed() {
    let sb = start(0.0).await;
    let mut c = Client::new(&sb);
    c.token = None;
    let r = c.get(&format!("/subscriptions/{SUB}"), "2022-12-01").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "AuthenticationFailed");
}

#[tokio::test]
async fn requests_without_api_version_are_400_missing_api_version_parameter() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let r = c
        .call(
            "GET",
            &format!("/subscriptions/{SUB}/resourceGroups/{RG}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "MissingApiVersionParameter");
}

#[tokio::test]
async fn ids_are_case_insensitive_and_keep_the_first_case() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let r = c
        .get(
            &cluster_id()
                .to_uppercase()
                .replace("SUBSCRIPTIONS", "subscriptions"),
            "2025-01-01",
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["name"], "myAKSCluster");
    assert_eq!(r.body["properties"]["nodeResourceGroup"], NODE_RG);
    let missing = c
        .get(
            &format!(
                "/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.StorageCache/caches/x"
            ),
            CACHE_API,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "ResourceGroupNotFound");
}

#[tokio::test]
async fn cache_create_is_201_with_async_operation_then_409_on_overlap_then_succeeds() {
    // 20 minutes × 0.001 = 1.2 s: long enough to observe the running state.
    let sb = start(0.001).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    let s = create_subnet(&c, "cache", "10.225.0.0/24").await;
    c.finish(&s).await;
    let r = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    let op_url = r
        .header("Azure-AsyncOperation")
        .expect("Azure-AsyncOperation");
    assert!(op_url.contains("/providers/Microsoft.StorageCache/locations/eastus/ascOperations/"));
    assert!(r.header("Retry-After").is_some());
    let again = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "Conflict");
    let flush = c
        .post(&format!("{}/flush", cache_id("c1")), CACHE_API, None)
        .await;
    assert_eq!(flush.status, 409);
    let status = c.call("GET", &op_url, None).await;
    assert_eq!(status.body["status"], "InProgress");
    let done = c.wait_async(&op_url).await;
    assert_eq!(done["status"], "Succeeded");
    assert!(done["endTime"].is_string());
    let g = c.get(&cache_id("c1"), CACHE_API).await;
    assert_eq!(g.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(g.body["properties"]["health"]["state"], "Healthy");
    let addrs = g.body["properties"]["mountAddresses"]
        .as_array()
        .expect("addresses")
        .clone();
    assert_eq!(addrs.len(), 3);
    assert_eq!(addrs[0], "10.225.0.4", "never the first four addresses");
}

#[tokio::test]
async fn delete_is_202_with_location_then_204_then_get_404() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    c.finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
        .await;
    let r = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 12288),
        )
        .await;
    c.finish(&r).await;
    let g = c.get(&cache_id("c1"), CACHE_API).await;
    assert_eq!(
        g.body["properties"]["mountAddresses"]
            .as_array()
            .map(Vec::len),
        Some(12)
    );
    let d = c.delete(&cache_id("c1"), CACHE_API).await;
    assert_eq!(d.status, 202);
    let loc = d.header("Location").expect("Location");
    assert!(d.header("Azure-AsyncOperation").is_some());
    let fin = c.wait_location(&loc).await;
    assert_eq!(fin.status, 204);
    assert_eq!(c.get(&cache_id("c1"), CACHE_API).await.status, 404);
    assert_eq!(c.delete(&cache_id("c1"), CACHE_API).await.status, 204);
}

#[tokio::test]
async fn cache_actions_move_health_through_states() {
    let sb = start(0.0005).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    c.finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
        .await;
    c.finish(
        &c.put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await,
    )
    .await;
    let stop = c
        .post(&format!("{}/stop", cache_id("c1")), CACHE_API, None)
        .await;
    assert_eq!(stop.status, 202);
    assert_eq!(
        c.get(&cache_id("c1"), CACHE_API).await.body["properties"]["health"]["state"],
        "Stopping"
    );
    assert_eq!(c.finish(&stop).await["status"], "Succeeded");
    assert_eq!(
        c.get(&cache_id("c1"), CACHE_API).await.body["properties"]["health"]["state"],
        "Stopped"
    );
    let start = c
        .post(&format!("{}/start", cache_id("c1")), CACHE_API, None)
        .await;
    c.finish(&start).await;
    let flush = c
        .post(&format!("{}/flush", cache_id("c1")), CACHE_API, None)
        .await;
    c.finish(&flush).await;
    let up = c
        .post(&format!("{}/upgrade", cache_id("c1")), CACHE_API, None)
        .await;
    assert_eq!(up.status, 202);
    assert_eq!(c.finish(&up).await["status"], "Succeeded");
    assert_eq!(
        c.get(&cache_id("c1"), CACHE_API).await.body["properties"]["health"]["state"],
        "Healthy"
    );
}

#[tokio::test]
async fn storage_account_create_is_202_location_then_200_with_the_account() {
    let sb = start(0.002).await;
    let c = Client::new(&sb);
    let r = c
        .put(
            &account_id("acct1"),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let loc = r.header("Location").expect("Location");
    let fin = c.wait_location(&loc).await;
    assert_eq!(fin.status, 200);
    assert_eq!(fin.body["properties"]["provisioningState"], "Succeeded");
    let taken = c
        .post(
            &format!("/subscriptions/{SUB}/providers/Microsoft.Storage/checkNameAvailability"),
            STORAGE_API,
            Some(json!({"name": "acct1", "type": "Microsoft.Storage/storageAccounts"})),
        )
        .await;
    assert_eq!(taken.body["nameAvailable"], false);
    assert_eq!(taken.body["reason"], "AlreadyExists");
    let elsewhere = c
        .put(
            &format!(
                "{}/providers/Microsoft.Storage/storageAccounts/acct1",
                rg_id(RG)
            ),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await;
    assert_eq!(elsewhere.status, 409);
    assert_eq!(elsewhere.code(), "StorageAccountAlreadyTaken");
}

#[tokio::test]
async fn provider_registration_goes_registering_then_registered() {
    let sb = start(0.01).await;
    let c = Client::new(&sb);
    let p = format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache");
    assert_eq!(
        c.get(&p, "2025-04-01").await.body["registrationState"],
        "NotRegistered"
    );
    let r = c.post(&format!("{p}/register"), "2025-04-01", None).await;
    assert_eq!(r.body["registrationState"], "Registering");
    let early = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("aks-subnet"), 3072),
        )
        .await;
    assert_eq!(early.status, 409);
    assert_eq!(early.code(), "MissingSubscriptionRegistration");
    register_provider(&c).await;
}

#[tokio::test]
async fn graph_returns_the_cache_resource_provider_principal() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let r = c
        .call(
            "GET",
            &format!(
                "{}/v1.0/servicePrincipals(appId='4392ab71-2ce2-4b0d-8770-b352745c73f5')",
                sb.graph_endpoint()
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["displayName"], "HPC Cache Resource Provider");
    let id = sb.with_world(|w| w.cache_rp_object_id.clone());
    assert_eq!(r.body["id"], id.as_str());
    let other = start(0.0).await;
    assert_ne!(
        other.with_world(|w| w.cache_rp_object_id.clone()),
        id,
        "differs per world, as per tenant"
    );
}

#[tokio::test]
async fn list_cluster_user_credential_returns_a_kubeconfig_for_the_sandbox_cluster() {
    let sb =
        start_with(hpccache_sandbox::sandbox::SandboxConfig::default().with_time_scale(0.0)).await;
    let c = Client::new(&sb);
    let r = c
        .post(
            &format!("{}/listClusterUserCredential", cluster_id()),
            "2025-01-01",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["kubeconfigs"][0]["name"], "clusterUser");
    use base64::Engine;
    let cfg = base64::engine::general_purpose::STANDARD
        .decode(
            r.body["kubeconfigs"][0]["value"]
                .as_str()
                .unwrap_or_default(),
        )
        .expect("base64");
    let text = String::from_utf8(cfg).expect("utf8");
    let url = sb.kube_url(&cluster_id()).expect("cluster serves");
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("clusterUser_myResourceGroup_myAKSCluster"));
}
