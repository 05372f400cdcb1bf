//! Access tokens (issue 15 item 1): JWT-shaped tokens are checked per endpoint (audience,
//! expiry, tenant) with ARM's and Graph's codes, messages and `WWW-Authenticate`; opaque
//! sandbox tokens keep working everywhere.

use crate::arm_support;
use crate::real_azure;

use arm_support::*;
use hpccache_sandbox::token::{self, ARM_AUDIENCE, Claims, GRAPH_APP_ID, GRAPH_AUDIENCE};
use real_azure::*;
use serde_json::json;

const GRAPH_SP: &str =
    "/graph/v1.0/servicePrincipals(appId='4392ab71-2ce2-4b0d-8770-b352745c73f5')";

fn with_token(sb: &hpccache_sandbox::sandbox::RunningSandbox, token: String) -> Client {
    let mut c = Client::new(sb);
    c.token = Some(token);
    c
}

#[tokio::test]
async fn opaque_tokens_are_still_accepted_on_arm_and_graph() {
    let sb = start(0.0).await;
    for t in ["hpccache-sandbox-token", "a-test-token", "with.two.dots"] {
        let c = with_token(&sb, t.to_string());
        assert_eq!(c.get(&cluster_id(), "2025-01-01").await.status, 200, "{t}");
        assert_eq!(c.call("GET", GRAPH_SP, None).await.status, 200, "{t}");
    }
}

#[tokio::test]
async fn tokens_for_the_endpoint_audience_are_accepted() {
    let sb = start(0.0).await;
    let arm = with_token(&sb, Claims::arm(3600).mint());
    assert_eq!(arm.get(&cluster_id(), "2025-01-01").await.status, 200);
    let own = with_token(
        &sb,
        Claims::new(&format!("{}/", sb.arm_endpoint()), far_future()).mint(),
    );
    assert_eq!(own.get(&cluster_id(), "2025-01-01").await.status, 200);
    for aud in [GRAPH_AUDIENCE, GRAPH_APP_ID] {
        let g = with_token(&sb, Claims::new(aud, far_future()).mint());
        let r = g.call("GET", GRAPH_SP, None).await;
        assert_eq!(r.status, 200, "{aud}: {:?}", r.body);
    }
}

fn far_future() -> u64 {
    4_102_444_800 // 2100-01-01
}

#[tokio::test]
async fn a_graph_token_on_arm_is_401_invalid_authentication_token_audience() {
    let sb = start(0.0).await;
    let c = with_token(&sb, Claims::graph(3600).mint());
    let r = c.get(&cluster_id(), "2025-01-01").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "InvalidAuthenticationTokenAudience");
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("'{GRAPH_AUDIENCE}'")),
        "{message}"
    );
    assert!(message.contains(&format!("'{ARM_AUDIENCE}'")), "{message}");
    let www = r.header("WWW-Authenticate").expect("WWW-Authenticate");
    assert!(
        www.starts_with("Bearer authorization_uri=\"https://login.windows.net/\"")
            && www.contains("error=\"invalid_token\""),
        "{www}"
    );
}

#[tokio::test]
async fn an_arm_token_on_graph_is_401_invalid_audience() {
    let sb = start(0.0).await;
    let c = with_token(&sb, Claims::arm(3600).mint());
    let r = c.call("GET", GRAPH_SP, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert_eq!(
        r.body["error"]["message"],
        "Access token validation failure. Invalid audience."
    );
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
    let www = r.header("WWW-Authenticate").expect("WWW-Authenticate");
    assert!(
        www.contains(&format!("client_id=\"{GRAPH_APP_ID}\"")),
        "{www}"
    );
}

#[tokio::test]
async fn an_expired_arm_token_is_401_expired_authentication_token_with_both_times() {
    let sb = start(0.0).await;
    let c = with_token(&sb, Claims::arm(-120).mint());
    let r = c.get(&cluster_id(), "2025-01-01").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "ExpiredAuthenticationToken");
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    // 'M/d/yyyy h:mm:ss AM' twice, as ARM writes UTC times.
    let times: Vec<&str> = message.split('\'').skip(1).step_by(2).collect();
    assert_eq!(times.len(), 2, "{message}");
    for t in &times {
        assert!(t.ends_with(" AM") || t.ends_with(" PM"), "{t}");
        assert_eq!(t.matches('/').count(), 2, "{t}");
    }
    assert!(
        message.starts_with("The access token expiry UTC time '"),
        "{message}"
    );
    assert!(
        message.contains("' is earlier than current UTC time '"),
        "{message}"
    );
    let www = r.header("WWW-Authenticate").expect("WWW-Authenticate");
    assert!(
        www.contains("error_description=\"The access token expiry"),
        "{www}"
    );
}

#[tokio::test]
async fn an_expired_graph_token_is_401_expired_or_not_yet_valid() {
    let sb = start(0.0).await;
    let c = with_token(&sb, Claims::graph(-1).mint());
    let r = c.call("GET", GRAPH_SP, None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    assert_eq!(
        r.body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
}

#[tokio::test]
async fn a_token_from_another_tenant_is_401_for_the_subscription() {
    let sb = start(0.0).await;
    let c = with_token(
        &sb,
        Claims::arm(3600)
            .with_tenant("99999999-9999-9999-9999-999999999999")
            .mint(),
    );
    let r = c.get(&cluster_id(), "2025-01-01").await;
    assert_eq!(
        (r.status, r.code()),
        (401, "InvalidAuthenticationTokenTenant")
    );
    let tenant = sb.with_world(|w| w.tenant_id.clone());
    assert!(
        r.header("WWW-Authenticate")
            .is_some_and(|h| h.contains(&format!("https://login.windows.net/{tenant}"))),
        "{:?}",
        r.headers
    );
}

#[tokio::test]
async fn a_jwt_with_an_unreadable_payload_is_401_invalid_authentication_token() {
    let sb = start(0.0).await;
    let good = Claims::arm(3600).mint();
    let header = good.split('.').next().unwrap_or_default().to_string();
    let c = with_token(&sb, format!("{header}.bm90LWpzb24.c2ln"));
    let r = c.get(&cluster_id(), "2025-01-01").await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    let no_exp = with_token(&sb, token::mint(&json!({"aud": ARM_AUDIENCE})));
    assert_eq!(
        no_exp.get(&cluster_id(), "2025-01-01").await.code(),
        "InvalidAuthenticationToken"
    );
}

#[tokio::test]
async fn a_refused_token_changes_nothing() {
    let sb = start(0.0).await;
    let before = resource_ids(&sb);
    let c = with_token(&sb, Claims::arm(-60).mint());
    let r = create_subnet(&c, "cache", "10.225.0.0/24").await;
    assert_eq!(r.status, 401);
    assert_eq!(resource_ids(&sb), before);
    assert!(sb.with_world(|w| w.operations.is_empty()));
}

#[tokio::test]
async fn the_caller_of_a_token_is_who_assigns_roles() {
    let sb = start(0.0).await;
    let oid = "12345678-1234-1234-1234-123456789abc";
    let c = with_token(
        &sb,
        Claims::arm(3600).with_user(oid, "alice@contoso.com").mint(),
    );
    let sp = sb.with_world(|w| w.cache_rp_object_id.clone());
    let r = c
        .put(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                rg_id(RG),
                uuid::Uuid::new_v4()
            ),
            AUTH_API,
            json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
                "principalId": sp, "principalType": "ServicePrincipal"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["properties"]["createdBy"], oid);
}

#[tokio::test]
async fn the_minted_tokens_of_a_running_sandbox_fit_their_endpoints() {
    let sb = start(0.0).await;
    let arm = with_token(&sb, sb.arm_token());
    let graph = with_token(&sb, sb.graph_token());
    assert_eq!(arm.get(&cluster_id(), "2025-01-01").await.status, 200);
    assert_eq!(graph.call("GET", GRAPH_SP, None).await.status, 200);
    assert_eq!(arm.call("GET", GRAPH_SP, None).await.status, 401);
    assert_eq!(graph.get(&cluster_id(), "2025-01-01").await.status, 401);
}
