//! The tenant around the cache's resource provider (issue 15 item 2): a Graph lookup denied
//! to an identity without Application.Read.All, and a tenant that never had the provider,
//! where its service principal appears only some time after registration.

use crate::arm_support;
use crate::real_azure;

use std::time::{Duration, Instant};

use arm_support::*;
use hpccache_sandbox::settings::{PRINCIPAL_APPEARS_SECONDS, Settings};
use real_azure::*;
use serde_json::json;

const BY_APP_ID: &str =
    "/graph/v1.0/servicePrincipals(appId='4392ab71-2ce2-4b0d-8770-b352745c73f5')";
const BY_FILTER: &str =
    "/graph/v1.0/servicePrincipals?$filter=appId%20eq%20'4392ab71-2ce2-4b0d-8770-b352745c73f5'";

fn absent() -> Settings {
    Settings {
        rp_principal_absent: Some(true),
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_denied_graph_lookup_is_403_authorization_request_denied() {
    let sb = start_with(config(
        0.0,
        "",
        Settings {
            graph_lookup_denied: Some(true),
            ..Settings::default()
        },
    ))
    .await;
    let c = Client::new(&sb);
    for path in [BY_APP_ID, BY_FILTER] {
        let r = c.call("GET", path, None).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.code(), "Authorization_RequestDenied");
        assert_eq!(
            r.body["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
        assert!(r.body["error"]["innerError"]["date"].is_string());
    }
}

#[tokio::test]
async fn the_world_setting_denies_the_lookup_too() {
    let mut world = hpccache_sandbox::world::World::new_default();
    world.settings.graph_lookup_denied = Some(true);
    let sb = start_world(world, 0.0).await;
    let r = Client::new(&sb).call("GET", BY_APP_ID, None).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn by_default_the_principal_exists_before_registration() {
    let sb = start(0.0).await;
    let r = Client::new(&sb).call("GET", BY_APP_ID, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["id"],
        sb.with_world(|w| w.cache_rp_object_id.clone())
    );
}

#[tokio::test]
async fn in_a_tenant_that_never_had_the_provider_the_principal_is_404_until_after_registration() {
    // Registration takes 60 s and the principal ten minutes more (Azure time): at 0.001 that
    // is 60 ms, then 600 ms.
    let scale = 0.001;
    let sb = start_with(config(scale, "", absent())).await;
    let c = Client::new(&sb);
    let before = c.call("GET", BY_APP_ID, None).await;
    assert_eq!(before.status, 404);
    assert_eq!(before.code(), "Request_ResourceNotFound");
    let listed = c.call("GET", BY_FILTER, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["value"], json!([]));
    register_provider(&c).await;
    let registered_at = sb.with_world(|w| {
        w.providers["microsoft.storagecache"]
            .registered_at_ms
            .expect("registration time")
    });
    // Polled with a deadline, as a client retrying Graph 404 would.
    let deadline = Instant::now() + Duration::from_secs(20);
    let found = loop {
        let r = c.call("GET", BY_APP_ID, None).await;
        let now = hpccache_sandbox::arm::clock::now_ms();
        if r.status == 200 {
            break (r, now);
        }
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert!(Instant::now() < deadline, "the principal never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let delay = hpccache_sandbox::arm::clock::scaled_ms(PRINCIPAL_APPEARS_SECONDS, scale);
    assert!(
        found.1 >= registered_at + delay,
        "appeared {} ms after registration",
        found.1 - registered_at
    );
    assert_eq!(
        c.call("GET", BY_FILTER, None).await.body["value"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn assigning_a_role_to_the_missing_principal_needs_its_principal_type() {
    let sb = start_with(config(0.0, "", absent())).await;
    let c = Client::new(&sb);
    let sp = sb.with_world(|w| w.cache_rp_object_id.clone());
    let path = || {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            rg_id(RG),
            uuid::Uuid::new_v4()
        )
    };
    let role = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab"
    );
    let bare = c
        .put(
            &path(),
            AUTH_API,
            json!({"properties": {"roleDefinitionId": role, "principalId": sp}}),
        )
        .await;
    assert_eq!((bare.status, bare.code()), (400, "PrincipalNotFound"));
    assert!(
        bare.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&sp.replace('-', ""))),
        "{:?}",
        bare.body
    );
    let typed = c
        .put(
            &path(),
            AUTH_API,
            json!({"properties": {"roleDefinitionId": role, "principalId": sp, "principalType": "ServicePrincipal"}}),
        )
        .await;
    assert_eq!(typed.status, 201, "{:?}", typed.body);
}
