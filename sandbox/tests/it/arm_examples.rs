//! Every official example of an operation the sandbox serves: the request is accepted (in a
//! world set up to hold what the example refers to) and the answer validates against the
//! operation's response schema in the spec.

use crate::arm_support;

use arm_support::*;
use hpccache_sandbox::arm::spec;
use serde_json::{Value, json};

const SC: &str =
    "storagecache/resource-manager/Microsoft.StorageCache/StorageCache/stable/2026-01-01/examples/";
const DNS: &str = "privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/examples/";
const NET: &str = "network/resource-manager/Microsoft.Network/stable/2024-07-01/examples/";
const ST: &str = "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/examples/";
const AU: &str = "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/examples/";

/// (example folder, example file, operation id).
const CASES: &[(&str, &str, &str)] = &[
    (SC, "Caches_CreateOrUpdate.json", "Caches_CreateOrUpdate"),
    (SC, "Caches_Get.json", "Caches_Get"),
    (
        SC,
        "Caches_ListByResourceGroup.json",
        "Caches_ListByResourceGroup",
    ),
    (SC, "Caches_Flush.json", "Caches_Flush"),
    (SC, "Caches_Stop.json", "Caches_Stop"),
    (SC, "Caches_UpgradeFirmware.json", "Caches_UpgradeFirmware"),
    (SC, "Caches_Delete.json", "Caches_Delete"),
    (
        SC,
        "StorageTargets_CreateOrUpdate.json",
        "StorageTargets_CreateOrUpdate",
    ),
    (
        SC,
        "StorageTargets_CreateOrUpdate_NoJunctions.json",
        "StorageTargets_CreateOrUpdate",
    ),
    (
        SC,
        "StorageTargets_CreateOrUpdate_BlobNfs.json",
        "StorageTargets_CreateOrUpdate",
    ),
    (SC, "StorageTargets_Get.json", "StorageTargets_Get"),
    (
        SC,
        "StorageTargets_ListByCache.json",
        "StorageTargets_ListByCache",
    ),
    (SC, "StorageTargets_Delete.json", "StorageTargets_Delete"),
    (SC, "Skus_List.json", "Skus_List"),
    (SC, "UsageModels_List.json", "UsageModels_List"),
    (DNS, "PrivateZonePut.json", "PrivateZones_CreateOrUpdate"),
    (DNS, "PrivateZoneGet.json", "PrivateZones_Get"),
    (DNS, "PrivateZoneDelete.json", "PrivateZones_Delete"),
    (
        DNS,
        "VirtualNetworkLinkPut.json",
        "VirtualNetworkLinks_CreateOrUpdate",
    ),
    (DNS, "VirtualNetworkLinkGet.json", "VirtualNetworkLinks_Get"),
    (
        DNS,
        "VirtualNetworkLinkDelete.json",
        "VirtualNetworkLinks_Delete",
    ),
    (DNS, "RecordSetAPut.json", "RecordSets_CreateOrUpdate"),
    (DNS, "RecordSetAGet.json", "RecordSets_Get"),
    (DNS, "RecordSetADelete.json", "RecordSets_Delete"),
    (NET, "SubnetCreate.json", "Subnets_CreateOrUpdate"),
    (NET, "SubnetGet.json", "Subnets_Get"),
    (NET, "SubnetList.json", "Subnets_List"),
    (NET, "VirtualNetworkGet.json", "VirtualNetworks_Get"),
    (NET, "VirtualNetworkList.json", "VirtualNetworks_List"),
    (NET, "VirtualNetworkListAll.json", "VirtualNetworks_ListAll"),
    (
        ST,
        "StorageAccountCheckNameAvailability.json",
        "StorageAccounts_CheckNameAvailability",
    ),
    (ST, "NfsV3AccountCreate.json", "StorageAccounts_Create"),
    (
        ST,
        "StorageAccountGetProperties.json",
        "StorageAccounts_GetProperties",
    ),
    (ST, "BlobContainersPut.json", "BlobContainers_Create"),
    (ST, "BlobContainersGet.json", "BlobContainers_Get"),
    (AU, "GetRoleDefinitionAtScope.json", "RoleDefinitions_List"),
    (
        SC,
        "amlFilesystems_CreateOrUpdate.json",
        "amlFilesystems_CreateOrUpdate",
    ),
    (SC, "amlFilesystems_Get.json", "amlFilesystems_Get"),
    (SC, "amlFilesystems_Delete.json", "amlFilesystems_Delete"),
];

/// Examples whose answers must also have every key (and header) the example's answer has,
/// with the same JSON types: the responses are reproduced, not only schema-valid.
const SHAPES: &[&str] = &[
    "amlFilesystems_CreateOrUpdate.json",
    "amlFilesystems_Get.json",
    "amlFilesystems_Delete.json",
];

/// Where `ours` lacks a key of `example` or holds another JSON type there.
fn shape_mismatches(example: &Value, ours: &Value, at: &str, out: &mut Vec<String>) {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if kind(example) != kind(ours) {
        out.push(format!(
            "{at}: {} in the example, {} here",
            kind(example),
            kind(ours)
        ));
        return;
    }
    match (example, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (k, v) in e {
                match o.get(k) {
                    Some(x) => shape_mismatches(v, x, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if let Some(first) = e.first() {
                match o.first() {
                    Some(x) => shape_mismatches(first, x, &format!("{at}[0]"), out),
                    None => out.push(format!("{at}: empty here")),
                }
            }
        }
        _ => {}
    }
}

/// The file system of the amlFilesystems examples (the CreateOrUpdate example's request),
/// with a finished archive so its status reads as in the Get example.
async fn ensure_amlfs(c: &Client, sb: &hpccache_sandbox::sandbox::RunningSandbox) -> String {
    let text = std::fs::read_to_string(
        specs_dir()
            .join(SC)
            .join("amlFilesystems_CreateOrUpdate.json"),
    )
    .expect("example");
    let ex: Value = serde_json::from_str(&text).expect("json");
    let p = &ex["parameters"];
    let body = p["amlFilesystem"].clone();
    seed_amlfs(c, sb, &body).await;
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/{}/providers/Microsoft.StorageCache/amlFilesystems/{}",
        p["resourceGroupName"].as_str().unwrap_or_default(),
        p["amlFilesystemName"].as_str().unwrap_or_default()
    );
    let r = c.put(&id, "2026-01-01", body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(c.finish(&r).await["status"], "Succeeded");
    let a = c
        .post(
            &format!("{id}/archive"),
            "2026-01-01",
            Some(json!({"filesystemPath": "/"})),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    id
}

/// What a file system create refers to: provider, subnet, containers with the roles.
async fn seed_amlfs(c: &Client, sb: &hpccache_sandbox::sandbox::RunningSandbox, body: &Value) {
    register_provider(c).await;
    let location = body["location"].as_str().unwrap_or("eastus");
    if let Some(subnet) = body["properties"]["filesystemSubnet"].as_str() {
        ensure_subnet(c, subnet, location, "10.0.0.0/24").await;
    }
    for k in ["container", "loggingContainer"] {
        if let Some(id) = body["properties"]["hsm"]["settings"][k].as_str() {
            ensure_container(c, sb, id).await;
        }
    }
}

fn specs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/specification")
}

/// Example subscription ids are placeholders (`subid`, `{subscription-id}`): use the world's.
fn fix_sub(v: &Value, from: &str) -> Value {
    match v {
        Value::String(s) => {
            let mut s = s.replace("virtualNetworkSubscriptionId", SUB);
            if !from.is_empty() {
                s = if s == from {
                    SUB.to_string()
                } else {
                    s.replace(
                        &format!("/subscriptions/{from}/"),
                        &format!("/subscriptions/{SUB}/"),
                    )
                };
            }
            Value::String(s)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fix_sub(x, from)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fix_sub(x, from)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn ensure_rg(c: &Client, rg: &str) {
    let r = c
        .put(
            &format!("/subscriptions/{SUB}/resourceGroups/{rg}"),
            "2025-04-01",
            json!({"location": "westus"}),
        )
        .await;
    assert!(r.status < 300, "{:?}", r.body);
}

async fn ensure_vnet(c: &Client, id: &str, location: &str) {
    if c.get(id, NET_API).await.status == 200 {
        return;
    }
    let r = c.put(id, NET_API, json!({"location": location, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]}}})).await;
    assert!(r.status < 300, "{:?}", r.body);
    c.finish(&r).await;
}

async fn ensure_subnet(c: &Client, id: &str, location: &str, prefix: &str) {
    let vnet = id.split("/subnets/").next().unwrap_or_default().to_string();
    ensure_rg(c, vnet.split('/').nth(4).unwrap_or_default()).await;
    ensure_vnet(c, &vnet, location).await;
    if c.get(id, NET_API).await.status == 200 {
        return;
    }
    let r = c
        .put(
            id,
            NET_API,
            json!({"properties": {"addressPrefix": prefix}}),
        )
        .await;
    assert!(r.status < 300, "{:?}", r.body);
    c.finish(&r).await;
}

async fn ensure_cache(c: &Client, rg: &str, name: &str) -> String {
    register_provider(c).await;
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.StorageCache/caches/{name}"
    );
    if c.get(&id, CACHE_API).await.status == 200 {
        return id;
    }
    let subnet = format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/scvnet/subnets/{name}-subnet"
    );
    let n = c
        .get(
            &format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache/caches"),
            CACHE_API,
        )
        .await
        .body["value"]
        .as_array()
        .map_or(0, Vec::len);
    ensure_subnet(c, &subnet, "westus", &format!("10.{}.0.0/24", 100 + n)).await;
    let mut body = cache_body(&subnet, 3072);
    body["location"] = json!("westus");
    let r = c.put(&id, CACHE_API, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    c.finish(&r).await;
    id
}

async fn ensure_container(c: &Client, sb: &hpccache_sandbox::sandbox::RunningSandbox, id: &str) {
    let account = id
        .split("/blobServices/")
        .next()
        .unwrap_or_default()
        .to_string();
    ensure_rg(c, account.split('/').nth(4).unwrap_or_default()).await;
    if c.get(&account, STORAGE_API).await.status != 200 {
        c.finish(
            &c.put(
                &account,
                STORAGE_API,
                json!({"location": "westus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
            )
            .await,
        )
        .await;
    }
    c.put(id, STORAGE_API, json!({})).await;
    let sp = sb.with_world(|w| w.cache_rp_object_id.clone());
    for role in [
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    ] {
        c.put(&format!("{account}/providers/Microsoft.Authorization/roleAssignments/{}", uuid::Uuid::new_v4()), AUTH_API,
            json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"), "principalId": sp}})).await;
    }
}

/// Creates what the example's request refers to.
async fn seed(
    c: &Client,
    sb: &hpccache_sandbox::sandbox::RunningSandbox,
    op: &str,
    p: &Value,
    body: &Value,
) {
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    if let Some(rg) = p["resourceGroupName"].as_str() {
        ensure_rg(c, rg).await;
    }
    let rg = s("resourceGroupName");
    match op {
        "Caches_CreateOrUpdate" => {
            register_provider(c).await;
            let subnet = body["properties"]["subnet"].as_str().unwrap_or_default();
            ensure_subnet(
                c,
                subnet,
                body["location"].as_str().unwrap_or("westus"),
                "10.0.0.0/24",
            )
            .await;
        }
        o if o.starts_with("Caches_") && o != "Caches_ListByResourceGroup" => {
            ensure_cache(c, &rg, &s("cacheName")).await;
        }
        "Caches_ListByResourceGroup" => {
            ensure_cache(c, &rg, "sc1").await;
        }
        "StorageTargets_CreateOrUpdate" => {
            ensure_cache(c, &rg, &s("cacheName")).await;
            for k in ["clfs", "blobNfs"] {
                if let Some(t) = body["properties"][k]["target"].as_str() {
                    ensure_container(c, sb, t).await;
                }
            }
        }
        o if o.starts_with("StorageTargets_") => {
            let cache = ensure_cache(c, &rg, &s("cacheName")).await;
            let name = if p["storageTargetName"].is_string() {
                s("storageTargetName")
            } else {
                "st1".into()
            };
            let r = c.put(&format!("{cache}/storageTargets/{name}"), CACHE_API,
                json!({"properties": {"targetType": "nfs3", "junctions": [{"namespacePath": "/p", "nfsExport": "/exp", "targetPath": "/"}], "nfs3": {"target": "10.0.44.44", "usageModel": "READ_HEAVY_INFREQ"}}})).await;
            c.finish(&r).await;
        }
        "amlFilesystems_CreateOrUpdate" => seed_amlfs(c, sb, body).await,
        "amlFilesystems_Get" | "amlFilesystems_Delete" => {
            ensure_amlfs(c, sb).await;
        }
        "PrivateZones_Get"
        | "PrivateZones_Delete"
        | "VirtualNetworkLinks_CreateOrUpdate"
        | "VirtualNetworkLinks_Get"
        | "VirtualNetworkLinks_Delete"
        | "RecordSets_CreateOrUpdate"
        | "RecordSets_Get"
        | "RecordSets_Delete" => {
            let zone = format!(
                "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{}",
                s("privateZoneName")
            );
            c.finish(&c.put(&zone, DNS_API, json!({"location": "global"})).await)
                .await;
            if let Some(v) = body["properties"]["virtualNetwork"]["id"].as_str() {
                ensure_rg(c, v.split('/').nth(4).unwrap_or_default()).await;
                ensure_vnet(c, v, "westus").await;
            }
            if op == "VirtualNetworkLinks_Get" || op == "VirtualNetworkLinks_Delete" {
                let v = format!(
                    "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/linked"
                );
                ensure_vnet(c, &v, "westus").await;
                c.finish(&c.put(&format!("{zone}/virtualNetworkLinks/{}", s("virtualNetworkLinkName")), DNS_API,
                    json!({"location": "global", "properties": {"virtualNetwork": {"id": v}, "registrationEnabled": false}})).await).await;
            }
            if op == "RecordSets_Get" || op == "RecordSets_Delete" {
                c.put(
                    &format!("{zone}/A/{}", s("relativeRecordSetName")),
                    DNS_API,
                    json!({"properties": {"ttl": 3600, "aRecords": [{"ipv4Address": "1.2.3.4"}]}}),
                )
                .await;
            }
        }
        "Subnets_CreateOrUpdate"
        | "Subnets_Get"
        | "Subnets_List"
        | "VirtualNetworks_Get"
        | "VirtualNetworks_List"
        | "VirtualNetworks_ListAll" => {
            let rg = if rg.is_empty() { "rg1".to_string() } else { rg };
            ensure_rg(c, &rg).await;
            let vname = if p["virtualNetworkName"].is_string() {
                s("virtualNetworkName")
            } else {
                "test-vnet".into()
            };
            let vnet = format!(
                "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vname}"
            );
            ensure_vnet(c, &vnet, "westus").await;
            if op != "Subnets_CreateOrUpdate" {
                ensure_subnet(
                    c,
                    &format!(
                        "{vnet}/subnets/{}",
                        if p["subnetName"].is_string() {
                            s("subnetName")
                        } else {
                            "subnet1".into()
                        }
                    ),
                    "westus",
                    "10.0.0.0/16",
                )
                .await;
            }
        }
        "StorageAccounts_GetProperties" | "BlobContainers_Create" | "BlobContainers_Get" => {
            let account = format!(
                "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{}",
                s("accountName")
            );
            c.finish(&c.put(&account, STORAGE_API, json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}})).await).await;
            if op == "BlobContainers_Get" {
                c.put(
                    &format!(
                        "{account}/blobServices/default/containers/{}",
                        s("containerName")
                    ),
                    STORAGE_API,
                    json!({}),
                )
                .await;
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn official_examples_are_accepted_and_answers_match_the_response_schemas() {
    let idx = spec::index();
    let mut failures = Vec::new();
    let mut validated = 0;
    for (dir, file, op_id) in CASES {
        let sb = start(0.0).await;
        let c = Client::new(&sb);
        let text = std::fs::read_to_string(specs_dir().join(dir).join(file)).expect("example file");
        let ex: Value = serde_json::from_str(&text).expect("example json");
        let raw = &ex["parameters"];
        let example_sub = raw["subscriptionId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let p = fix_sub(raw, &example_sub);
        let api = p["api-version"].as_str().unwrap_or_default();
        let op = idx.by_operation_id(op_id, api).expect("operation in spec");
        // The stored copies of some examples carry an older api-version; use the spec's.
        let api = op.api_version.clone();
        let mut path = op.path.clone();
        let mut body = Value::Null;
        for (k, v) in p.as_object().into_iter().flatten() {
            if let Some(s) = v.as_str() {
                path = path.replace(&format!("{{{k}}}"), s.trim_start_matches('/'));
            }
        }
        let spec_doc = idx.document(op.file).expect("spec doc");
        let params = spec_doc["paths"][&op.path][op.method.to_ascii_lowercase()]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for prm in params {
            let prm = match prm["$ref"].as_str() {
                Some(r) => spec_doc
                    .pointer(r.trim_start_matches('#'))
                    .cloned()
                    .unwrap_or(Value::Null),
                None => prm,
            };
            if prm["in"] == "body"
                && let Some(name) = prm["name"].as_str()
            {
                body = p[name].clone();
            }
        }
        if *op_id == "RoleDefinitions_List" {
            path =
                format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions");
        }
        seed(&c, &sb, op_id, &p, &body).await;
        let r = c
            .call(
                &op.method,
                &with_api(&path, &api),
                if body.is_null() {
                    None
                } else {
                    Some(body.clone())
                },
            )
            .await;
        let mut answers = vec![r.clone()];
        if r.status < 300 && op.long_running {
            let done = c.finish(&r).await;
            if done["status"] != "Succeeded" {
                failures.push(format!("{file}: operation ended {done}"));
                continue;
            }
            if op.method == "PUT" {
                answers.push(c.call("GET", &with_api(&path, &api), None).await);
            }
        }
        // The example's 200 is an update of a file system that has archived: do the same.
        let mut shaped = vec![r.clone()];
        if *op_id == "amlFilesystems_CreateOrUpdate" {
            c.post(&format!("{path}/archive"), &api, Some(json!({})))
                .await;
            let update = c
                .call("PUT", &with_api(&path, &api), Some(body.clone()))
                .await;
            c.finish(&update).await;
            shaped.push(update.clone());
            answers.push(update);
        }
        if !op.responses.contains_key(&r.status.to_string()) {
            failures.push(format!(
                "{file}: status {} not in the spec ({:?}): {}",
                r.status,
                op.responses.keys().collect::<Vec<_>>(),
                r.body
            ));
            continue;
        }
        if SHAPES.contains(file) {
            for a in &shaped {
                let example = &ex["responses"][a.status.to_string()];
                if example.is_null() {
                    failures.push(format!("{file}: the example has no {} answer", a.status));
                    continue;
                }
                let mut out = Vec::new();
                if let Some(b) = example.get("body") {
                    shape_mismatches(b, &a.body, "$", &mut out);
                }
                for h in example["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(h, _)| h)
                {
                    if a.header(h).is_none() {
                        out.push(format!("header {h}: missing"));
                    }
                }
                if !out.is_empty() {
                    failures.push(format!(
                        "{file}: answer {} differs from the example: {}",
                        a.status,
                        out.join("; ")
                    ));
                }
            }
        }
        for a in answers {
            if a.body.is_null() || a.status >= 300 {
                continue;
            }
            let code = if a.status == 201 && !op.responses.contains_key("201") {
                200
            } else {
                a.status
            };
            validated += 1;
            if let Err(v) = idx.validate_response(op, code, &a.body) {
                failures.push(format!(
                    "{file}: response {} invalid: {:?}",
                    a.status,
                    v.iter().take(3).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        validated >= 30,
        "only {validated} answers were checked against a schema"
    );
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
