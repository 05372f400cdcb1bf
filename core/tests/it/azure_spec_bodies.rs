//! Every request body the typed operations build validates against the operation's body schema
//! in the official REST specs (specs/specification/...): `$ref`s resolved within the file and
//! to common types (refs into files absent from the copy accept anything), `allOf` merged, readOnly properties and properties the schema lacks refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hpccache_core::azure::{amlfs, authorization, cache, dns, network, storage};
use hpccache_core::spec::amlfs::{
    AmlfsSku, ConflictMode, MaintenanceWindow, RootSquash, SquashMode, Weekday,
};
use serde_json::{Map, Value, json};

fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/specification")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Follows a `$ref` (`file#/pointer`, `#/pointer`) from `file`; returns the target and its file.
fn follow(reference: &str, file: &Path) -> (Value, PathBuf) {
    let (rel, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    let target_file = if rel.is_empty() {
        file.to_path_buf()
    } else {
        normalize(&file.parent().unwrap().join(rel))
    };
    let doc = load(&target_file);
    let node = doc
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} not found from {}", file.display()))
        .clone();
    (node, target_file)
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Turns a swagger schema into a self-contained, strict JSON schema.
fn strict(schema: &Value, file: &Path, stack: &mut Vec<String>) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    if let Some(Value::String(r)) = obj.get("$ref") {
        let key = format!("{}{r}", file.display());
        if stack.contains(&key) {
            return json!({}); // recursive type: accept anything below this point
        }
        let (rel, _) = r.split_once('#').unwrap_or((r, ""));
        if !rel.is_empty() && !file.parent().unwrap().join(rel).exists() {
            // A few referenced files are not in the copy (specs/README.md says which: NSG, route
            // table... of the network spec). None describes a property the tools send, and an
            // unknown property is still refused by its parent's strictness.
            return json!({});
        }
        let (target, target_file) = follow(r, file);
        stack.push(key);
        let resolved = strict(&target, &target_file, stack);
        stack.pop();
        return resolved;
    }
    let mut out = Map::new();
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut additional: Option<Value> = None;
    let mut is_object = false;
    for part in obj
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let merged = strict(part, file, stack);
        if let Some(p) = merged.get("properties").and_then(Value::as_object) {
            properties.extend(p.clone());
            is_object = true;
        }
        if let Some(r) = merged.get("required").and_then(Value::as_array) {
            required.extend(r.iter().cloned());
        }
        if let Some(a) = merged
            .get("additionalProperties")
            .filter(|a| !a.is_boolean())
        {
            additional = Some(a.clone());
        }
    }
    for (k, v) in obj {
        match k.as_str() {
            "properties" => {
                is_object = true;
                for (name, prop) in v.as_object().into_iter().flatten() {
                    // Read-only properties are left out, so sending one fails as unknown.
                    if prop.get("readOnly") == Some(&Value::Bool(true)) {
                        continue;
                    }
                    properties.insert(name.clone(), strict(prop, file, stack));
                }
            }
            "required" => required.extend(v.as_array().into_iter().flatten().cloned()),
            "items" => {
                out.insert(k.clone(), strict(v, file, stack));
            }
            "additionalProperties" => {
                additional = Some(if v.is_object() {
                    strict(v, file, stack)
                } else {
                    v.clone()
                })
            }
            "type" | "enum" | "minimum" | "maximum" | "minLength" | "maxLength" | "pattern"
            | "minItems" | "maxItems" => {
                out.insert(k.clone(), v.clone());
            }
            _ => {} // descriptions, formats, x-ms-* extensions, allOf (merged above)
        }
    }
    if is_object {
        // Required properties that are read-only cannot be sent; keep only sendable ones.
        required.retain(|r| r.as_str().is_some_and(|n| properties.contains_key(n)));
        out.insert("properties".into(), Value::Object(properties));
        out.insert(
            "additionalProperties".into(),
            additional.unwrap_or(Value::Bool(false)),
        );
        if !required.is_empty() {
            out.insert("required".into(), Value::Array(required));
        }
    } else if let Some(a) = additional {
        out.insert("additionalProperties".into(), a);
    }
    Value::Object(out)
}

/// The strict body schema of `method path` in `spec` (relative to specs/specification).
fn body_schema(spec: &str, path: &str, method: &str) -> Value {
    let file = specs().join(spec);
    let doc = load(&file);
    let op = doc["paths"]
        .get(path)
        .unwrap_or_else(|| panic!("no path {path} in {spec}"))
        .get(method)
        .unwrap_or_else(|| panic!("no {method} {path} in {spec}"));
    for param in op["parameters"].as_array().into_iter().flatten() {
        let (param, param_file) = match param.get("$ref").and_then(Value::as_str) {
            // Shared parameters in files absent from the copy (common-types v5: api-version,
            // subscription, resource group) are path and query parameters, never a body.
            Some(r) if !ref_file_exists(r, &file) => continue,
            Some(r) => follow(r, &file),
            None => (param.clone(), file.clone()),
        };
        if param["in"] == "body" {
            return strict(&param["schema"], &param_file, &mut Vec::new());
        }
    }
    panic!("{method} {path} in {spec} has no body parameter")
}

fn ref_file_exists(reference: &str, file: &Path) -> bool {
    let (rel, _) = reference.split_once('#').unwrap_or((reference, ""));
    rel.is_empty() || file.parent().unwrap().join(rel).exists()
}

fn check(spec: &str, path: &str, method: &str, body: &Value) {
    let schema = body_schema(spec, path, method);
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path}: body {body} is invalid:\n{}",
        errors.join("\n")
    );
}

const STORAGECACHE: &str =
    "storagecache/resource-manager/Microsoft.StorageCache/stable/2024-03-01/storagecache.json";
const PRIVATEDNS: &str =
    "privatedns/resource-manager/Microsoft.Network/PrivateDns/stable/2024-06-01/privatedns.json";
const NETWORK: &str =
    "network/resource-manager/Microsoft.Network/stable/2024-07-01/virtualNetwork.json";
const STORAGE: &str = "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/storage.json";
const BLOB: &str = "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/blob.json";
const ROLES: &str = "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json";

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("created-by".to_owned(), "hpccache".to_owned())])
}

#[test]
fn the_checker_rejects_read_only_and_unknown_properties() {
    let path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/privateDnsZones/{privateZoneName}/{recordType}/{relativeRecordSetName}";
    let schema = body_schema(PRIVATEDNS, path, "put");
    let v = jsonschema::validator_for(&schema).unwrap();
    assert!(v.is_valid(&json!({"properties": {"ttl": 10}})));
    assert!(
        !v.is_valid(&json!({"properties": {"ttl": 10, "fqdn": "a.b."}})),
        "fqdn is readOnly"
    );
    assert!(!v.is_valid(&json!({"properties": {"ttl": 10, "bogus": 1}})));
    let cache_path = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.StorageCache/caches/{cacheName}";
    let v = jsonschema::validator_for(&body_schema(STORAGECACHE, cache_path, "put")).unwrap();
    assert!(v.is_valid(&json!({"properties": {"cacheSizeGB": 3072}})));
    assert!(
        !v.is_valid(&json!({"properties": {"cacheSizeGB": 3072, "mountAddresses": ["10.0.0.4"]}})),
        "mountAddresses is readOnly"
    );
    assert!(
        !v.is_valid(
            &json!({"properties": {"securitySettings": {"accessPolicies": [{"name": "default"}]}}})
        ),
        "accessRules is required"
    );
}

#[test]
fn cache_create_body_matches_the_spec() {
    let body = cache::cache_body(&cache::NewCache {
        location: "eastus".into(),
        sku: "Standard_2G".into(),
        cache_size_gb: 3072,
        subnet_id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/cache".into(),
        root_squash: true,
        tags: tags(),
    });
    check(
        STORAGECACHE,
        "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.StorageCache/caches/{cacheName}",
        "put",
        &body,
    );
}

/// The root squash PATCH keeps every other policy and rule, and validates as the spec's
/// Caches_Update body (the cache as Azure answered its GET: the spec's own example).
#[test]
fn root_squash_patch_body_matches_the_spec_and_keeps_other_rules() {
    let example = load(&specs().join(
        "storagecache/resource-manager/Microsoft.StorageCache/StorageCache/stable/2026-01-01/examples/Caches_Get.json",
    ));
    let mut got: cache::Cache =
        serde_json::from_value(example["responses"]["200"]["body"].clone()).unwrap();
    // A second policy of the user's own, which the change must leave alone.
    let lab = json!({"name": "lab", "accessRules": [{"scope": "network", "filter": "10.1.0.0/24",
        "access": "ro", "suid": false, "submountAccess": true, "rootSquash": true}]});
    got.properties.extra["securitySettings"]["accessPolicies"]
        .as_array_mut()
        .unwrap()
        .push(lab.clone());
    for on in [true, false] {
        let body = cache::root_squash_patch(&got, on);
        check(
            STORAGECACHE,
            "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.StorageCache/caches/{cacheName}",
            "patch",
            &body,
        );
        let after = &body["properties"]["securitySettings"];
        assert_eq!(after["accessPolicies"][1], lab);
        let mut patched: cache::Cache = got.clone();
        patched
            .properties
            .extra
            .insert("securitySettings".into(), after.clone());
        assert_eq!(patched.root_squash(), Some(on));
    }
}

#[test]
fn blob_storage_target_body_matches_the_spec() {
    let container = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c";
    let body = cache::blob_target_body(container, "/blob");
    check(
        STORAGECACHE,
        "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.StorageCache/caches/{cacheName}/storageTargets/{storageTargetName}",
        "put",
        &body,
    );
}

#[test]
fn private_dns_bodies_match_the_spec() {
    let zone = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/privateDnsZones/{privateZoneName}";
    check(PRIVATEDNS, zone, "put", &dns::zone_body(&tags()));
    check(
        PRIVATEDNS,
        &format!("{zone}/virtualNetworkLinks/{{virtualNetworkLinkName}}"),
        "put",
        &dns::link_body(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
            false,
            &tags(),
        ),
    );
    check(
        PRIVATEDNS,
        &format!("{zone}/{{recordType}}/{{relativeRecordSetName}}"),
        "put",
        &dns::a_record_set_body(
            &["10.0.0.4".into(), "10.0.0.5".into(), "10.0.0.6".into()],
            300,
            &tags(),
        ),
    );
}

#[test]
fn subnet_body_matches_the_spec() {
    check(
        NETWORK,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
        "put",
        &network::subnet_body("10.1.0.0/24"),
    );
}

#[test]
fn storage_bodies_match_the_spec() {
    check(
        STORAGE,
        "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability",
        "post",
        &storage::check_name_body("hpccache1234"),
    );
    check(
        STORAGE,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}",
        "put",
        &storage::account_body("eastus", &tags()),
    );
    check(
        BLOB,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
        "put",
        &storage::container_body(),
    );
}

#[test]
fn role_assignment_body_matches_the_spec() {
    let body = authorization::assignment_body(
        "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "11111111-2222-3333-4444-555555555555",
        "ServicePrincipal",
    );
    check(
        ROLES,
        "/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        "put",
        &body,
    );
}

const AMLFS: &str =
    "storagecache/resource-manager/Microsoft.StorageCache/stable/2024-03-01/amlfilesystem.json";
const STORAGECACHE_2026: &str = "storagecache/resource-manager/Microsoft.StorageCache/StorageCache/stable/2026-01-01/openapi.json";
const AMLFS_PATH: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.StorageCache/amlFilesystems/{amlFilesystemName}";

/// Checks a Managed Lustre body against 2024-03-01 (what is sent) and 2026-01-01 (the newest,
/// which defines the same operations).
fn check_amlfs(path: &str, method: &str, body: &Value) {
    check(AMLFS, path, method, body);
    check(STORAGECACHE_2026, path, method, body);
}

fn subnet_id() -> String {
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/lustre".to_owned()
}

fn new_filesystem() -> amlfs::NewAmlFilesystem {
    amlfs::NewAmlFilesystem {
        location: "eastus".into(),
        sku: AmlfsSku::Premium125,
        capacity_tib: 16,
        subnet_id: subnet_id(),
        zone: None,
        maintenance_window: MaintenanceWindow {
            day: Weekday::Sunday,
            hour: 2,
            minute: 0,
        },
        hsm: None,
        root_squash: None,
        tags: BTreeMap::new(),
    }
}

fn container(name: &str) -> String {
    format!(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/{name}"
    )
}

#[test]
fn the_checker_rejects_read_only_lustre_properties() {
    let v = jsonschema::validator_for(&body_schema(AMLFS, AMLFS_PATH, "put")).unwrap();
    let mut body = amlfs::create_body(&new_filesystem());
    assert!(v.is_valid(&body));
    body["properties"]["throughputProvisionedMBps"] = json!(2000);
    assert!(!v.is_valid(&body), "throughputProvisionedMBps is readOnly");
    let mut body = amlfs::create_body(&new_filesystem());
    body["properties"]
        .as_object_mut()
        .unwrap()
        .remove("maintenanceWindow");
    assert!(!v.is_valid(&body), "maintenanceWindow is required");
    let mut body = amlfs::create_body(&new_filesystem());
    body["properties"]["maintenanceWindow"]["timeOfDayUTC"] = json!("24:00");
    assert!(!v.is_valid(&body), "timeOfDayUTC has a pattern");
}

#[test]
fn lustre_create_bodies_match_the_spec() {
    // Smallest: no zone, no blob integration, no root squash, no tags.
    let minimal = new_filesystem();
    let body = amlfs::create_body(&minimal);
    assert!(body.get("zones").is_none() && body.get("tags").is_none());
    check_amlfs(AMLFS_PATH, "put", &body);

    let full = amlfs::NewAmlFilesystem {
        sku: AmlfsSku::Premium40,
        capacity_tib: 96,
        zone: Some(2),
        hsm: Some(amlfs::Hsm {
            container_id: container("data"),
            logging_container_id: container("logs"),
            import_prefixes: vec!["/".into(), "/datasets/".into()],
        }),
        root_squash: Some(RootSquash {
            mode: SquashMode::All,
            no_squash_nids: Some("10.0.0.[5-6]@tcp;10.0.1.2@tcp".into()),
            squash_uid: Some(65534),
            squash_gid: Some(65534),
        }),
        tags: tags(),
        ..new_filesystem()
    };
    let body = amlfs::create_body(&full);
    assert_eq!(body["zones"], json!(["2"]));
    assert_eq!(
        body["properties"]["storageCapacityTiB"].as_f64(),
        Some(96.0)
    );
    assert_eq!(
        body["properties"]["hsm"]["settings"]["importPrefixesInitial"],
        json!(["/", "/datasets/"])
    );
    check_amlfs(AMLFS_PATH, "put", &body);

    // Root squash off, blob integration with the service's default prefix.
    let off = amlfs::NewAmlFilesystem {
        sku: AmlfsSku::Premium500,
        capacity_tib: 4,
        zone: Some(1),
        hsm: Some(amlfs::Hsm {
            container_id: container("data"),
            logging_container_id: container("logs"),
            import_prefixes: vec![],
        }),
        root_squash: Some(RootSquash {
            mode: SquashMode::None,
            no_squash_nids: None,
            squash_uid: None,
            squash_gid: None,
        }),
        ..new_filesystem()
    };
    let body = amlfs::create_body(&off);
    assert!(
        body["properties"]["hsm"]["settings"]
            .get("importPrefixesInitial")
            .is_none()
    );
    check_amlfs(AMLFS_PATH, "put", &body);
}

#[test]
fn lustre_update_bodies_match_the_spec() {
    let everything = amlfs::FilesystemUpdate {
        maintenance_window: Some(MaintenanceWindow {
            day: Weekday::Friday,
            hour: 22,
            minute: 30,
        }),
        root_squash: Some(RootSquash {
            mode: SquashMode::RootOnly,
            no_squash_nids: Some("10.0.0.4@tcp".into()),
            squash_uid: Some(99),
            squash_gid: Some(99),
        }),
        tags: Some(tags()),
    };
    let body = amlfs::update_body(&everything);
    assert_eq!(
        body["properties"]["maintenanceWindow"],
        json!({"dayOfWeek": "Friday", "timeOfDayUTC": "22:30"})
    );
    check_amlfs(AMLFS_PATH, "patch", &body);
    let clear_tags = amlfs::FilesystemUpdate {
        tags: Some(BTreeMap::new()),
        ..Default::default()
    };
    let body = amlfs::update_body(&clear_tags);
    assert_eq!(body, json!({"tags": {}}));
    check_amlfs(AMLFS_PATH, "patch", &body);
}

#[test]
fn lustre_action_bodies_match_the_spec() {
    check_amlfs(
        &format!("{AMLFS_PATH}/archive"),
        "post",
        &amlfs::archive_body("/"),
    );
    check_amlfs(
        "/subscriptions/{subscriptionId}/providers/Microsoft.StorageCache/getRequiredAmlFSSubnetsSize",
        "post",
        &amlfs::subnet_size_body(AmlfsSku::Premium250, 8),
    );
    check_amlfs(
        "/subscriptions/{subscriptionId}/providers/Microsoft.StorageCache/checkAmlFSSubnets",
        "post",
        &amlfs::check_subnet_body(&subnet_id(), AmlfsSku::Premium250, 8, "eastus"),
    );
}

#[test]
fn import_job_body_matches_the_spec() {
    for (prefixes, max_errors, tags) in [
        (vec![], None, BTreeMap::new()),
        (vec!["/a/".to_owned(), "/b".to_owned()], Some(-1), tags()),
    ] {
        let body = amlfs::import_job_body(&amlfs::NewImportJob {
            location: "eastus".into(),
            import_prefixes: prefixes,
            conflict_mode: ConflictMode::OverwriteIfDirty,
            maximum_errors: max_errors,
            tags,
        });
        check_amlfs(
            &format!("{AMLFS_PATH}/importJobs/{{importJobName}}"),
            "put",
            &body,
        );
    }
}

/// How each Managed Lustre operation completes, as amlfs.rs follows it; the spec must agree.
#[test]
fn lustre_long_running_options_match_the_spec() {
    let sub = "/subscriptions/{subscriptionId}/providers/Microsoft.StorageCache";
    let table: &[(&str, &str, Option<&str>)] = &[
        (AMLFS_PATH, "put", Some("azure-async-operation")),
        (AMLFS_PATH, "patch", Some("azure-async-operation")),
        (AMLFS_PATH, "delete", Some("location")),
        (AMLFS_PATH, "get", None),
        (&format!("{AMLFS_PATH}/archive"), "post", None),
        (&format!("{AMLFS_PATH}/cancelArchive"), "post", None),
        (
            &format!("{AMLFS_PATH}/importJobs/{{importJobName}}"),
            "put",
            Some("azure-async-operation"),
        ),
        (
            &format!("{AMLFS_PATH}/importJobs/{{importJobName}}"),
            "delete",
            Some("location"),
        ),
        (&format!("{sub}/getRequiredAmlFSSubnetsSize"), "post", None),
        (&format!("{sub}/checkAmlFSSubnets"), "post", None),
    ];
    for spec in [AMLFS, STORAGECACHE_2026] {
        let doc = load(&specs().join(spec));
        for (path, method, final_state) in table {
            let op = &doc["paths"][*path][*method];
            assert!(op.is_object(), "{spec}: no {method} {path}");
            let lro = op["x-ms-long-running-operation"] == json!(true);
            assert_eq!(lro, final_state.is_some(), "{spec}: {method} {path}");
            if let Some(f) = final_state {
                assert_eq!(
                    op["x-ms-long-running-operation-options"]["final-state-via"],
                    json!(f),
                    "{spec}: {method} {path}"
                );
            }
        }
    }
}
