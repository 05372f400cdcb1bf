//! The official example responses parse into the typed models (specs/.../examples).

use std::path::{Path, PathBuf};

use hpccache_core::azure::{aks, amlfs, authorization, cache, dns, network, providers, storage};
use hpccache_core::spec::amlfs::{AmlfsSku, MaintenanceWindow, RootSquash, SquashMode, Weekday};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

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

/// Every amlFilesystems example response (2026-01-01; the 2024-03-01 spec's examples are not in
/// the copy) as `(file, status)`.
const LUSTRE_RESPONSES: [(&str, &str); 3] = [
    ("amlFilesystems_Get.json", "200"),
    ("amlFilesystems_CreateOrUpdate.json", "200"),
    ("amlFilesystems_CreateOrUpdate.json", "201"),
];

/// `printable` holds every field of `raw`: top-level ones in place, `properties` flattened.
fn assert_prints_every_field(raw: &Value, printed: &Value) {
    let top = raw.as_object().unwrap();
    let props = raw["properties"].as_object().unwrap();
    for (k, v) in top.iter().filter(|(k, _)| *k != "properties") {
        assert_eq!(&printed[k], v, "{k}");
    }
    for (k, v) in props {
        assert_eq!(&printed[k], v, "properties.{k}");
    }
    assert!(printed.get("properties").is_none());
    // Everything, plus resourceGroup, and nothing else.
    assert_eq!(
        printed.as_object().unwrap().len(),
        top.len() - 1 + props.len() + 1
    );
}

#[test]
fn lustre_examples_parse_into_the_generated_models() {
    for (file, status) in LUSTRE_RESPONSES {
        let rel = format!("{SC}/{file}");
        let raw = example(&rel)["responses"][status]["body"].clone();
        let fs: amlfs::Filesystem = body(&rel, status);
        let props = fs.model.properties.as_ref().unwrap();
        assert_eq!(props.storage_capacity_ti_b, 16.0, "{file} {status}");
        assert_eq!(
            fs.model.sku.as_ref().unwrap().name.as_deref(),
            Some("AMLFS-Durable-Premium-250")
        );
        assert_eq!(fs.model.zones, vec!["1"]);
        assert_eq!(fs.mgs_address(), Some("10.0.0.4"));
        assert_eq!(fs.provisioning_state(), Some("Succeeded"));
        assert!(props.hsm.as_ref().unwrap().settings.is_some());
        assert_eq!(
            props.root_squash_settings.as_ref().unwrap().squash_uid,
            Some(99)
        );
        let printed = fs.printable();
        assert_prints_every_field(&raw, &printed);
        assert_eq!(printed["resourceGroup"], "scgroup");
        assert_eq!(
            printed["mgsAddress"],
            Value::Null,
            "clientInfo is not flattened"
        );
        assert_eq!(printed["clientInfo"]["mgsAddress"], "10.0.0.4");
        // Serializing keeps what the service sent, not the model's reading of it.
        assert_eq!(serde_json::to_value(&fs).unwrap(), raw);
    }
    // The example's request body is a valid model too.
    let request =
        example(&format!("{SC}/amlFilesystems_CreateOrUpdate.json"))["parameters"]["amlFilesystem"]
            .clone();
    let _: amlfs::models::AmlFilesystem = serde_json::from_value(request).unwrap();
}

/// What the generated models do with the examples, and why responses keep their raw JSON.
#[test]
fn generated_model_quirks_are_covered_by_the_raw_json() {
    let rel = format!("{SC}/amlFilesystems_Get.json");
    let mut raw = example(&rel)["responses"]["200"]["body"].clone();
    // Newer api-versions: a state the 2024-03-01 enum lacks, properties it does not have.
    raw["properties"]["health"]["state"] = json!("Expanding");
    raw["properties"]["provisioningState"] = json!("Verifying");
    raw["properties"]["currentStorageCapacityTiB"] = json!(24);
    raw["properties"]["clusterUuid"] = json!("6a4f1c47-0000-4000-8000-000000000001");
    raw["properties"]["hsm"]["archiveStatus"][0]["status"] = json!({"state": "Idle"});
    let fs: amlfs::Filesystem = serde_json::from_value(raw.clone()).unwrap();
    let model = serde_json::to_value(&fs.model).unwrap();

    // `#[serde(remote)]` enums keep an unknown value as UnknownValue and write it back.
    assert_eq!(model["properties"]["health"]["state"], "Expanding");
    assert_eq!(model["properties"]["provisioningState"], "Verifying");
    assert_eq!(fs.provisioning_state(), Some("Verifying"));
    // Fields the model does not know are dropped by it...
    assert!(model["properties"].get("clusterUuid").is_none());
    // ...and so are the keys of userAssignedIdentities (an empty struct in the model).
    assert_eq!(model["identity"]["userAssignedIdentities"], json!({}));
    // storageCapacityTiB is an f32: 16 comes back as 16.0.
    assert_eq!(model["properties"]["storageCapacityTiB"], json!(16.0));
    // Absent archive times come back as nulls (no skip_serializing_if on them).
    assert_eq!(
        model["properties"]["hsm"]["archiveStatus"][0]["status"]["lastCompletionTime"],
        Value::Null
    );
    assert!(
        model["properties"]["hsm"]["archiveStatus"][0]["status"]
            .as_object()
            .unwrap()
            .contains_key("lastCompletionTime")
    );

    // The printable form comes from the raw JSON: all of it survives.
    let printed = fs.printable();
    assert_prints_every_field(&raw, &printed);
    assert_eq!(printed["clusterUuid"], raw["properties"]["clusterUuid"]);
    assert_eq!(printed["identity"], raw["identity"]);
    assert_eq!(printed["storageCapacityTiB"], json!(16));

    // A closed enum (identity type, modelAsString false in both specs) refuses what it lacks.
    let mut odd = raw.clone();
    odd["identity"]["type"] = json!("SystemAssigned");
    assert!(serde_json::from_value::<amlfs::Filesystem>(odd).is_err());
}

/// The create body the tools build for the example's inputs is the example's request, minus
/// what the tools do not set (identity, customer-managed encryption).
#[test]
fn lustre_create_body_reproduces_the_example_request() {
    let mut request =
        example(&format!("{SC}/amlFilesystems_CreateOrUpdate.json"))["parameters"]["amlFilesystem"]
            .clone();
    request.as_object_mut().unwrap().remove("identity");
    request["properties"]
        .as_object_mut()
        .unwrap()
        .remove("encryptionSettings");
    let hsm = &request["properties"]["hsm"]["settings"];
    let new = amlfs::NewAmlFilesystem {
        location: "eastus".into(),
        sku: AmlfsSku::Premium250,
        capacity_tib: 16,
        subnet_id: request["properties"]["filesystemSubnet"]
            .as_str()
            .unwrap()
            .into(),
        zone: Some(1),
        maintenance_window: MaintenanceWindow {
            day: Weekday::Friday,
            hour: 22,
            minute: 0,
        },
        hsm: Some(amlfs::Hsm {
            container_id: hsm["container"].as_str().unwrap().into(),
            logging_container_id: hsm["loggingContainer"].as_str().unwrap().into(),
            import_prefixes: vec!["/".into()],
        }),
        root_squash: Some(RootSquash {
            mode: SquashMode::All,
            no_squash_nids: Some("10.0.0.[5-6]@tcp;10.0.1.2@tcp".into()),
            squash_uid: Some(99),
            squash_gid: Some(99),
        }),
        tags: [("Dept".to_owned(), "ContosoAds".to_owned())].into(),
    };
    let mut built = amlfs::create_body(&new);
    // The one difference in form: the model's f32 writes 16 as 16.0.
    assert_eq!(built["properties"]["storageCapacityTiB"], json!(16.0));
    built["properties"]["storageCapacityTiB"] = json!(16);
    assert_eq!(built, request);
}
