//! The official example responses parse into the typed models (specs/.../examples).

use std::path::{Path, PathBuf};

use hpccache_core::azure::{aks, authorization, cache, dns, network, providers, storage};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn example(rel: &str) -> Value {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/specification")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn body<T: DeserializeOwned>(rel: &str, status: &str) -> T {
    let v = example(rel)["responses"][status]["body"].clone();
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{rel}: {e}\n{v}"))
}

fn list<T: DeserializeOwned>(rel: &str) -> Vec<T> {
    let v = example(rel)["responses"]["200"]["body"]["value"].clone();
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const SC: &str =
    "storagecache/resource-manager/Microsoft.StorageCache/StorageCache/stable/2026-01-01/examples";
const DNS: &str = "privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/examples";
const NET: &str = "network/resource-manager/Microsoft.Network/stable/2024-07-01/examples";
const ST: &str = "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/examples";

#[test]
fn storagecache_examples_parse() {
    let c: cache::Cache = body(&format!("{SC}/Caches_Get.json"), "200");
    assert!(!c.properties.mount_addresses.is_empty());
    assert!(c.properties.cache_size_gb.is_some());
    // Everything not modelled is kept, so the binaries can print the whole resource.
    let back = serde_json::to_value(&c).unwrap();
    let orig = example(&format!("{SC}/Caches_Get.json"))["responses"]["200"]["body"].clone();
    assert_eq!(
        back["properties"].as_object().unwrap().len(),
        orig["properties"].as_object().unwrap().len()
    );
    let _: Vec<cache::Cache> = list(&format!("{SC}/Caches_ListByResourceGroup.json"));
    let t: Vec<cache::StorageTarget> = list(&format!("{SC}/StorageTargets_ListByCache.json"));
    assert!(
        t.iter()
            .any(|t| t.properties.target_type.as_deref() == Some("clfs"))
    );
    let _: cache::StorageTarget = body(&format!("{SC}/StorageTargets_Get.json"), "200");
    let skus: Vec<cache::ResourceSku> = list(&format!("{SC}/Skus_List.json"));
    assert_eq!(skus[0].cache_sizes_gb(), vec![3072, 6144, 12288]);
    let models: Vec<cache::UsageModel> = list(&format!("{SC}/UsageModels_List.json"));
    assert!(!models.is_empty());
}

#[test]
fn dns_examples_parse() {
    let r: dns::RecordSet = body(&format!("{DNS}/RecordSetAGet.json"), "200");
    assert!(!r.addresses().is_empty());
    let l: dns::VirtualNetworkLink = body(&format!("{DNS}/VirtualNetworkLinkGet.json"), "200");
    assert!(l.properties.virtual_network.is_some());
    let _: dns::PrivateZone = body(&format!("{DNS}/PrivateZoneGet.json"), "200");
}

#[test]
fn network_examples_parse() {
    let v: network::VirtualNetwork = body(&format!("{NET}/VirtualNetworkGet.json"), "200");
    assert!(!v.properties.address_space.address_prefixes.is_empty());
    let _: Vec<network::VirtualNetwork> = list(&format!("{NET}/VirtualNetworkList.json"));
    let s: network::Subnet = body(&format!("{NET}/SubnetGet.json"), "200");
    assert!(!s.prefixes().is_empty());
    let _: Vec<network::Subnet> = list(&format!("{NET}/SubnetList.json"));
}

#[test]
fn other_provider_examples_parse() {
    let c: aks::ManagedCluster = body(
        "containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-08-01/examples/ManagedClustersGet.json",
        "200",
    );
    assert!(c.properties.node_resource_group.is_some());
    let p: providers::Provider = body(
        "resources/resource-manager/Microsoft.Resources/stable/2025-04-01/examples/GetProvider.json",
        "200",
    );
    assert!(!p.namespace.is_empty());
    let a: storage::NameAvailability = body(
        &format!("{ST}/StorageAccountCheckNameAvailability.json"),
        "200",
    );
    assert!(a.name_available);
    let _: storage::StorageAccount = body(&format!("{ST}/StorageAccountGetProperties.json"), "200");
    let _: storage::BlobContainer = body(&format!("{ST}/BlobContainersGet.json"), "200");
    let _: authorization::RoleAssignment = body(
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples/RoleAssignments_Get.json",
        "200",
    );
    let _: authorization::RoleDefinition = body(
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples/GetRoleDefinitionByName.json",
        "200",
    );
}
