//! Set-ups shared by the suites of issue 15 (what real Azure does that hurts clients).
//! Included with `#[path]` beside `mod arm_support;`.
#![allow(dead_code)]

use hpccache_sandbox::arm::faults::Faults;
use hpccache_sandbox::sandbox::{RunningSandbox, SandboxConfig};
use hpccache_sandbox::settings::Settings;
use serde_json::{Value, json};

use crate::arm_support::*;

/// A sandbox without clusters at `time_scale`, with these faults and run settings.
pub fn config(time_scale: f64, faults: &str, settings: Settings) -> SandboxConfig {
    SandboxConfig::default()
        .with_time_scale(time_scale)
        .without_clusters()
        .with_faults(Faults::parse(faults).expect("faults"))
        .with_settings(settings)
}

/// The provider registered, subnet `cache` (10.225.0.0/24) and cache `c1` created.
pub async fn ready_cache(c: &Client) {
    register_provider(c).await;
    let s = create_subnet(c, "cache", "10.225.0.0/24").await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    assert_eq!(c.finish(&s).await["status"], "Succeeded");
    let r = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(c.finish(&r).await["status"], "Succeeded");
}

/// Storage account `acct` with container `data`.
pub async fn account_with_container(c: &Client, acct: &str) {
    let a = c
        .put(
            &account_id(acct),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await;
    assert!(a.status == 200 || a.status == 202, "{:?}", a.body);
    c.finish(&a).await;
    let k = c
        .put(&container_id(acct, "data"), STORAGE_API, json!({}))
        .await;
    assert_eq!(k.status, 201, "{:?}", k.body);
}

/// The two roles the cache's resource provider needs, on account `acct`.
pub async fn assign_cache_roles(c: &Client, sb: &RunningSandbox, acct: &str) {
    let sp = sb.with_world(|w| w.cache_rp_object_id.clone());
    for role in [
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    ] {
        let r = c
            .put(
                &format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                    account_id(acct),
                    uuid::Uuid::new_v4()
                ),
                AUTH_API,
                json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                    "principalId": sp, "principalType": "ServicePrincipal"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
}

pub fn target_path(name: &str) -> String {
    format!("{}/storageTargets/{name}", cache_id("c1"))
}

/// A clfs target on `acct`'s container `data`.
pub fn target_body(acct: &str) -> Value {
    json!({"properties": {"targetType": "clfs", "junctions": [{"namespacePath": "/data"}],
        "clfs": {"target": container_id(acct, "data")}}})
}

pub fn link_path(zone: &str, name: &str) -> String {
    format!("{}/virtualNetworkLinks/{name}", zone_id(zone))
}

/// A non-registration link to the default cluster's vnet.
pub fn link_body() -> Value {
    json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet_id()}, "registrationEnabled": false}})
}

/// Creates zone `zone` and waits for it.
pub async fn zone(c: &Client, zone: &str) {
    let z = c
        .put(&zone_id(zone), DNS_API, json!({"location": "global"}))
        .await;
    assert_eq!(z.status, 202, "{:?}", z.body);
    c.finish(&z).await;
}

/// Ids of every resource in the world (to assert a refused request changed nothing).
pub fn resource_ids(sb: &RunningSandbox) -> Vec<String> {
    sb.with_world(|w| w.resources.keys().cloned().collect())
}

/// A private DNS zone `name` already provisioned (set-up without waiting for its operation,
/// for suites that run at a slow time scale).
pub fn insert_zone(sb: &RunningSandbox, name: &str) {
    let id = zone_id(name);
    sb.with_world(|w| {
        w.insert(hpccache_sandbox::world::Resource {
            id: id.clone(),
            rtype: hpccache_sandbox::world::types::DNS_ZONE.into(),
            body: json!({"id": id, "name": name, "type": hpccache_sandbox::world::types::DNS_ZONE,
                "location": "global", "etag": "1", "tags": {},
                "properties": {"provisioningState": "Succeeded", "internalId": "Id_1"}}),
            created_ms: 0,
            sandbox: Default::default(),
        })
    });
}

/// The status document an `Azure-AsyncOperation` URL answers now.
pub async fn status_now(c: &Client, r: &Resp) -> Value {
    let url = r
        .header("Azure-AsyncOperation")
        .expect("Azure-AsyncOperation");
    let s = c.call("GET", &url, None).await;
    assert_eq!(s.status, 200, "{:?}", s.body);
    s.body
}
