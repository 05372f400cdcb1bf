//! Node resource group lockdown (issue 15 item 4): a cluster with
//! `nodeResourceGroupProfile.restrictionLevel: ReadOnly` denies every write in its node
//! resource group (403 `DenyAssignmentAuthorizationFailed`), reads allowed, nothing changed.

use crate::arm_support;
use crate::real_azure;

use arm_support::*;
use hpccache_sandbox::token::Claims;
use hpccache_sandbox::world::{ClusterSpec, World};
use real_azure::*;
use serde_json::json;

fn locked_world() -> World {
    let mut w = World::new_default();
    w.set_node_rg_restriction(&cluster_id(), Some("ReadOnly"))
        .expect("cluster");
    w
}

fn assert_denied(r: &Resp, action: &str, scope: &str) {
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.code(), "DenyAssignmentAuthorizationFailed");
    let m = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        m.contains(&format!(
            "has permission to perform action '{action}' on scope '{scope}'"
        )),
        "{m}"
    );
    assert!(
        m.contains("node resource group deny assignment created by Azure Kubernetes Services"),
        "{m}"
    );
    assert!(
        m.ends_with(&format!(
            "at scope '/subscriptions/{SUB}/resourcegroups/{NODE_RG}'."
        )),
        "{m}"
    );
}

#[tokio::test]
async fn the_cluster_shows_its_restriction_level() {
    let sb = start_world(locked_world(), 0.0).await;
    let r = Client::new(&sb).get(&cluster_id(), "2025-01-01").await;
    assert_eq!(
        r.body["properties"]["nodeResourceGroupProfile"],
        json!({"restrictionLevel": "ReadOnly"})
    );
    let open = start(0.0).await;
    let r = Client::new(&open).get(&cluster_id(), "2025-01-01").await;
    assert!(r.body["properties"]["nodeResourceGroupProfile"].is_null());
}

#[tokio::test]
async fn writes_in_a_read_only_node_resource_group_are_denied_and_change_nothing() {
    let sb = start_world(locked_world(), 0.0).await;
    let c = Client::new(&sb);
    let before = resource_ids(&sb);
    let put = create_subnet(&c, "cache", "10.225.0.0/24").await;
    assert_denied(
        &put,
        "Microsoft.Network/virtualNetworks/subnets/write",
        &subnet_id("cache"),
    );
    let del = c.delete(&subnet_id("aks-subnet"), NET_API).await;
    assert_denied(
        &del,
        "Microsoft.Network/virtualNetworks/subnets/delete",
        &subnet_id("aks-subnet"),
    );
    let acct = c
        .put(
            &account_id("nrgstore"),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await;
    assert_denied(
        &acct,
        "Microsoft.Storage/storageAccounts/write",
        &account_id("nrgstore"),
    );
    let role = c
        .put(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                vnet_id(),
                uuid::Uuid::new_v4()
            ),
            AUTH_API,
            json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
                "principalId": "12345678-1234-1234-1234-123456789abc", "principalType": "User"}}),
        )
        .await;
    assert_eq!(role.code(), "DenyAssignmentAuthorizationFailed");
    let group = c.delete(&rg_id(NODE_RG), "2025-04-01").await;
    assert_denied(
        &group,
        "Microsoft.Resources/subscriptions/resourceGroups/delete",
        &rg_id(NODE_RG),
    );
    assert_eq!(resource_ids(&sb), before);
    assert!(sb.with_world(|w| w.operations.is_empty()));
}

#[tokio::test]
async fn reads_in_the_locked_group_and_writes_elsewhere_are_allowed() {
    let sb = start_world(locked_world(), 0.0).await;
    let c = Client::new(&sb);
    assert_eq!(c.get(&vnet_id(), NET_API).await.status, 200);
    assert_eq!(
        c.get(&format!("{}/subnets", vnet_id()), NET_API)
            .await
            .status,
        200
    );
    let elsewhere = c
        .put(
            &format!(
                "{}/providers/Microsoft.Network/privateDnsZones/myhpccache.local",
                rg_id(RG)
            ),
            DNS_API,
            json!({"location": "global"}),
        )
        .await;
    assert_eq!(elsewhere.status, 202, "{:?}", elsewhere.body);
}

#[tokio::test]
async fn the_denial_names_the_caller_of_the_token() {
    let sb = start_world(locked_world(), 0.0).await;
    let mut c = Client::new(&sb);
    c.token = Some(
        Claims::arm(3600)
            .with_user("12345678-1234-1234-1234-123456789abc", "alice@contoso.com")
            .mint(),
    );
    let r = create_subnet(&c, "cache", "10.225.0.0/24").await;
    let m = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        m.starts_with(
            "The client 'alice@contoso.com' with object id '12345678-1234-1234-1234-123456789abc' has permission"
        ),
        "{m}"
    );
}

#[tokio::test]
async fn an_unrestricted_cluster_allows_writes_in_its_node_resource_group() {
    let mut w = World::new_default();
    w.set_node_rg_restriction(&cluster_id(), Some("unrestricted"))
        .expect("cluster");
    let sb = start_world(w, 0.0).await;
    let c = Client::new(&sb);
    assert_eq!(
        c.get(&cluster_id(), "2025-01-01").await.body["properties"]["nodeResourceGroupProfile"]["restrictionLevel"],
        "Unrestricted"
    );
    assert_eq!(
        create_subnet(&c, "cache", "10.225.0.0/24").await.status,
        201
    );
}

#[test]
fn an_unknown_restriction_level_adds_no_cluster() {
    let mut w = World::new_default();
    let before = w.resources.len();
    let mut spec = ClusterSpec::new("locked", "rg2");
    spec.node_rg_restriction = Some("Sealed".into());
    let e = w.add_cluster(spec).unwrap_err();
    assert!(e.to_string().contains("ReadOnly, Unrestricted"), "{e}");
    assert_eq!(w.resources.len(), before);
    assert!(w.set_node_rg_restriction(&cluster_id(), Some("x")).is_err());
}

#[tokio::test]
async fn a_cluster_added_read_only_locks_its_own_node_resource_group() {
    let mut w = World::new_default();
    let mut spec = ClusterSpec::new("locked", "rg2");
    spec.node_rg_restriction = Some("ReadOnly".into());
    w.add_cluster(spec).expect("added");
    let sb = start_world(w, 0.0).await;
    let c = Client::new(&sb);
    let locked_vnet = sb.with_world(|w| {
        w.clusters
            .values()
            .find(|c| c.name == "locked")
            .map(|c| c.vnet_id.clone())
            .expect("cluster")
    });
    let r = c
        .put(
            &format!("{locked_vnet}/subnets/cache"),
            NET_API,
            json!({"properties": {"addressPrefix": "10.225.0.0/24"}}),
        )
        .await;
    assert_eq!(r.code(), "DenyAssignmentAuthorizationFailed");
    assert_eq!(
        create_subnet(&c, "cache", "10.225.0.0/24").await.status,
        201,
        "the default cluster's group is not locked"
    );
}
