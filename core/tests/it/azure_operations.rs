//! Typed operations against a mock ARM: the requests they send and what they make of answers.

use crate::azure_support;

use azure_support::{Mock, fast_poll, reply};
use hpccache_core::azure::{aks, graph, providers};
use hpccache_core::progress::Progress;
use serde_json::json;

#[tokio::test]
async fn kubeconfig_is_decoded_and_vnet_found_from_the_agent_pool_subnet() {
    let subnet = "/subscriptions/sub1/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes";
    let mock = Mock::start(move |s, _| match (s.method.as_str(), s.path()) {
        ("POST", p) if p.ends_with("/listClusterUserCredential") => {
            reply(200, json!({"kubeconfigs": [{"name": "clusterUser", "value": "YXBpVmVyc2lvbjogdjE="}]}))
        }
        ("GET", p) if p.ends_with("/managedClusters/aks1") => reply(
            200,
            json!({"id": "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
                   "name": "aks1", "location": "eastus",
                   "properties": {"nodeResourceGroup": "MC_rg_aks1_eastus",
                                  "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "serviceCidr": "10.0.0.0/16", "podCidr": "10.244.0.0/16"},
                                  "agentPoolProfiles": [{"name": "np1", "vnetSubnetID": subnet}]}}),
        ),
        ("GET", p) if p.ends_with("/virtualNetworks/aks-vnet") => reply(
            200,
            json!({"id": "/subscriptions/sub1/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/aks-vnet", "name": "aks-vnet", "location": "eastus",
                   "properties": {"addressSpace": {"addressPrefixes": ["10.224.0.0/12"]}, "subnets": []}}),
        ),
        _ => reply(404, json!({"error": {"code": "NotFound", "message": s.uri}})),
    })
    .await;
    let client = mock.client();
    let id = aks::cluster_id("sub1", "rg", "aks1");
    let kubeconfig = aks::list_cluster_user_credential(&client, &id)
        .await
        .unwrap();
    assert_eq!(kubeconfig, b"apiVersion: v1");
    let cluster = aks::get_cluster(&client, &id).await.unwrap();
    assert_eq!(cluster.service_cidrs(), vec!["10.0.0.0/16"]);
    assert_eq!(cluster.pod_cidrs(), vec!["10.244.0.0/16"]);
    let vnet = aks::find_vnet(&client, &cluster).await.unwrap();
    assert_eq!(vnet.name, "aks-vnet");
    assert!(mock.seen().iter().all(|s| s.uri.contains("api-version=")));
}

#[tokio::test]
async fn vnet_from_the_node_resource_group_when_aks_made_it() {
    let mock = Mock::start(|s, _| {
        assert_eq!(s.path(), "/subscriptions/sub1/resourceGroups/MC_rg/providers/Microsoft.Network/virtualNetworks");
        reply(200, json!({"value": [{"id": "/subscriptions/sub1/resourceGroups/MC_rg/providers/Microsoft.Network/virtualNetworks/aks-vnet-1", "name": "aks-vnet-1"}]}))
    })
    .await;
    let cluster: aks::ManagedCluster = serde_json::from_value(json!({
        "id": "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
        "name": "aks1", "location": "eastus",
        "properties": {"nodeResourceGroup": "MC_rg", "agentPoolProfiles": [{"name": "np1"}]}}))
    .unwrap();
    assert_eq!(
        aks::find_vnet(&mock.client(), &cluster).await.unwrap().name,
        "aks-vnet-1"
    );
}

#[tokio::test]
async fn service_principal_is_looked_up_by_app_id_on_graph() {
    let mock = Mock::start(|s, _| {
        reply(200, json!({"id": "0000-sp-object", "appId": graph::STORAGE_CACHE_APP_ID, "displayName": "HPC Cache Resource Provider", "uri": s.uri}))
    })
    .await;
    let sp = graph::service_principal_by_app_id(&mock.client(), graph::STORAGE_CACHE_APP_ID)
        .await
        .unwrap();
    assert_eq!(sp.id, "0000-sp-object");
    let seen = mock.seen();
    assert_eq!(
        seen[0].uri,
        format!(
            "/v1.0/servicePrincipals(appId='{}')",
            graph::STORAGE_CACHE_APP_ID
        )
    );
}

#[tokio::test]
async fn provider_registration_waits_until_registered() {
    let mock = Mock::start(|s, i| match (s.method.as_str(), i) {
        ("GET", 0) => reply(
            200,
            json!({"namespace": "Microsoft.StorageCache", "registrationState": "NotRegistered"}),
        ),
        ("POST", _) => reply(
            200,
            json!({"namespace": "Microsoft.StorageCache", "registrationState": "Registering"}),
        ),
        ("GET", 2) => reply(
            200,
            json!({"namespace": "Microsoft.StorageCache", "registrationState": "Registering"}),
        ),
        _ => reply(
            200,
            json!({"namespace": "Microsoft.StorageCache", "registrationState": "Registered"}),
        ),
    })
    .await;
    let p = providers::register(
        &mock.client(),
        "Microsoft.StorageCache",
        &fast_poll(),
        &Progress::none(),
    )
    .await
    .unwrap();
    assert!(p.is_registered());
    let seen = mock.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!(
        seen[1].path(),
        "/subscriptions/sub1/providers/Microsoft.StorageCache/register"
    );
}

/// Issue 12: a run resumed after a crash found the first run's registration `Registering`
/// and sent a second POST. It must only wait.
#[tokio::test]
async fn a_registration_under_way_is_waited_for_not_sent_again() {
    let mock = Mock::start(|_, i| {
        let state = if i < 2 { "Registering" } else { "Registered" };
        reply(
            200,
            json!({"namespace": "Microsoft.StorageCache", "registrationState": state}),
        )
    })
    .await;
    let p = providers::register(
        &mock.client(),
        "Microsoft.StorageCache",
        &fast_poll(),
        &Progress::none(),
    )
    .await
    .unwrap();
    assert!(p.is_registered());
    let seen = mock.seen();
    assert!(
        seen.iter().all(|s| s.method == "GET"),
        "{:?}",
        seen.iter()
            .map(|s| format!("{} {}", s.method, s.uri))
            .collect::<Vec<_>>()
    );
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn an_unregistered_provider_is_registered_again() {
    let mock = Mock::start(|s, i| {
        let state = match (s.method.as_str(), i) {
            ("GET", 0) => "Unregistered",
            ("POST", _) => "Registering",
            _ => "Registered",
        };
        reply(
            200,
            json!({"namespace": "Microsoft.StorageCache", "registrationState": state}),
        )
    })
    .await;
    providers::register(
        &mock.client(),
        "Microsoft.StorageCache",
        &fast_poll(),
        &Progress::none(),
    )
    .await
    .unwrap();
    let posts = mock.seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(posts, 1);
}
