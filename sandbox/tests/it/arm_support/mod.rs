//! Shared helpers of the ARM tests: a plain HTTP client and the guide's set-up steps.
#![allow(dead_code)]

use std::time::Duration;

use hpccache_sandbox::sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use hpccache_sandbox::world::World;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const RG: &str = "myResourceGroup";
pub const NODE_RG: &str = "MC_myResourceGroup_myAKSCluster_eastus";
pub const VNET: &str = "aks-vnet-12345678";
pub const CACHE_API: &str = "2024-03-01";
pub const NET_API: &str = "2024-07-01";
pub const DNS_API: &str = "2024-06-01";
pub const STORAGE_API: &str = "2025-01-01";
pub const AUTH_API: &str = "2022-04-01";

pub fn rg_id(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}")
}
pub fn vnet_id() -> String {
    format!(
        "{}/providers/Microsoft.Network/virtualNetworks/{VNET}",
        rg_id(NODE_RG)
    )
}
pub fn subnet_id(name: &str) -> String {
    format!("{}/subnets/{name}", vnet_id())
}
pub fn cache_id(name: &str) -> String {
    format!(
        "{}/providers/Microsoft.StorageCache/caches/{name}",
        rg_id(NODE_RG)
    )
}
pub fn account_id(name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{name}",
        rg_id(NODE_RG)
    )
}
pub fn container_id(account: &str, name: &str) -> String {
    format!(
        "{}/blobServices/default/containers/{name}",
        account_id(account)
    )
}
pub fn zone_id(name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Network/privateDnsZones/{name}",
        rg_id(NODE_RG)
    )
}
pub fn cluster_id() -> String {
    format!(
        "{}/providers/Microsoft.ContainerService/managedClusters/myAKSCluster",
        rg_id(RG)
    )
}

pub async fn start(time_scale: f64) -> RunningSandbox {
    start_with(
        SandboxConfig::default()
            .with_time_scale(time_scale)
            .without_clusters(),
    )
    .await
}

pub async fn start_with(config: SandboxConfig) -> RunningSandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

pub async fn start_world(world: World, time_scale: f64) -> RunningSandbox {
    start_with(
        SandboxConfig::default()
            .with_world(world)
            .with_time_scale(time_scale)
            .without_clusters(),
    )
    .await
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Client {
    pub fn new(sb: &RunningSandbox) -> Self {
        Client {
            base: sb.arm_endpoint(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            token: Some(sb.token()),
        }
    }

    /// `path` may be absolute (`http://...`) or a path with query.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.try_call(method, path, body)
            .await
            .expect("request answered")
    }

    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Resp, reqwest::Error> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, url);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str, api: &str) -> Resp {
        self.call("GET", &with_api(path, api), None).await
    }
    pub async fn put(&self, path: &str, api: &str, body: Value) -> Resp {
        self.call("PUT", &with_api(path, api), Some(body)).await
    }
    pub async fn post(&self, path: &str, api: &str, body: Option<Value>) -> Resp {
        self.call("POST", &with_api(path, api), body).await
    }
    pub async fn delete(&self, path: &str, api: &str) -> Resp {
        self.call("DELETE", &with_api(path, api), None).await
    }

    /// Polls an `Azure-AsyncOperation` URL to a terminal status; returns the document.
    pub async fn wait_async(&self, url: &str) -> Value {
        for _ in 0..400 {
            let r = self.call("GET", url, None).await;
            assert_eq!(r.status, 200, "status URL answers 200: {:?}", r.body);
            let s = r.body["status"].as_str().unwrap_or_default().to_string();
            if ["Succeeded", "Failed", "Canceled"].contains(&s.as_str()) {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("operation {url} did not finish");
    }

    /// Polls a `Location` URL until it stops answering 202; returns the final answer.
    pub async fn wait_location(&self, url: &str) -> Resp {
        for _ in 0..400 {
            let r = self.call("GET", url, None).await;
            if r.status != 202 {
                return r;
            }
            assert!(r.header("Retry-After").is_some());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("operation {url} did not finish");
    }

    /// Waits for a PUT/DELETE/POST answer's operation, whichever header it carries.
    pub async fn finish(&self, r: &Resp) -> Value {
        if let Some(u) = r.header("Azure-AsyncOperation") {
            self.wait_async(&u).await
        } else if let Some(u) = r.header("Location") {
            let f = self.wait_location(&u).await;
            json!({"status": if f.status < 300 { "Succeeded" } else { "Failed" }, "final": f.body})
        } else {
            json!({"status": "Succeeded"})
        }
    }
}

pub fn with_api(path: &str, api: &str) -> String {
    if path.contains('?') {
        format!("{path}&api-version={api}")
    } else {
        format!("{path}?api-version={api}")
    }
}

/// Registers Microsoft.StorageCache and waits until Registered.
pub async fn register_provider(c: &Client) {
    let r = c
        .post(
            &format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache/register"),
            "2025-04-01",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    for _ in 0..400 {
        let g = c
            .get(
                &format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache"),
                "2025-04-01",
            )
            .await;
        if g.body["registrationState"] == "Registered" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("provider never registered");
}

pub async fn create_subnet(c: &Client, name: &str, prefix: &str) -> Resp {
    c.put(
        &subnet_id(name),
        NET_API,
        json!({"properties": {"addressPrefix": prefix}}),
    )
    .await
}

pub fn cache_body(subnet: &str, size: u64) -> Value {
    json!({
        "location": "eastus",
        "sku": {"name": "Standard_2G"},
        "properties": {"cacheSizeGB": size, "subnet": subnet}
    })
}

/// The guide's Azure side, up to the DNS records: returns the cache's mount addresses.
pub async fn guide_up(c: &Client, sb: &RunningSandbox, root_squash: bool) -> Vec<String> {
    register_provider(c).await;
    let s = create_subnet(c, "MyHpcCacheSubnet", "10.225.0.0/24").await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    assert_eq!(c.finish(&s).await["status"], "Succeeded");
    let mut body = cache_body(&subnet_id("MyHpcCacheSubnet"), 3072);
    body["properties"]["securitySettings"] = json!({"accessPolicies": [{"name": "default", "accessRules": [
        {"scope": "default", "access": "rw", "suid": false, "submountAccess": true, "rootSquash": root_squash}]}]});
    let r = c.put(&cache_id("MyHpcCache"), CACHE_API, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(c.finish(&r).await["status"], "Succeeded");
    let acct = c
        .put(
            &account_id("hpcstore1"),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await;
    assert!(acct.status == 202 || acct.status == 200, "{:?}", acct.body);
    c.finish(&acct).await;
    let cont = c
        .put(
            &container_id("hpcstore1", "mystoragecontainer"),
            STORAGE_API,
            json!({"properties": {}}),
        )
        .await;
    assert_eq!(cont.status, 201, "{:?}", cont.body);
    let sp = sb.with_world(|w| w.cache_rp_object_id.clone());
    for role in [
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    ] {
        let name = uuid::Uuid::new_v4();
        let r = c
            .put(
                &format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", account_id("hpcstore1")),
                AUTH_API,
                json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"), "principalId": sp, "principalType": "ServicePrincipal"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let t = c
        .put(
            &format!("{}/storageTargets/MyStorageTarget", cache_id("MyHpcCache")),
            CACHE_API,
            json!({"properties": {"targetType": "clfs", "junctions": [{"namespacePath": "/myfilepath"}],
                "clfs": {"target": container_id("hpcstore1", "mystoragecontainer")}}}),
        )
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    assert_eq!(c.finish(&t).await["status"], "Succeeded");
    let z = c
        .put(
            &zone_id("myhpccache.local"),
            DNS_API,
            json!({"location": "global"}),
        )
        .await;
    assert_eq!(z.status, 202, "{:?}", z.body);
    c.finish(&z).await;
    let l = c
        .put(&format!("{}/virtualNetworkLinks/aks-link", zone_id("myhpccache.local")), DNS_API,
            json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet_id()}, "registrationEnabled": false}}))
        .await;
    assert_eq!(l.status, 202, "{:?}", l.body);
    c.finish(&l).await;
    let cache = c.get(&cache_id("MyHpcCache"), CACHE_API).await;
    let addrs: Vec<String> = cache.body["properties"]["mountAddresses"]
        .as_array()
        .expect("mount addresses")
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    let recs: Vec<Value> = addrs.iter().map(|a| json!({"ipv4Address": a})).collect();
    let a = c
        .put(
            &format!("{}/A/server", zone_id("myhpccache.local")),
            DNS_API,
            json!({"properties": {"ttl": 3600, "aRecords": recs}}),
        )
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    addrs
}

// ---- Azure Managed Lustre -------------------------------------------------------------

/// The api-version the clients send for `amlFilesystems`.
pub const AML_API: &str = "2024-03-01";
pub const AML_SKU: &str = "AMLFS-Durable-Premium-250";
/// The HPC Cache resource provider's roles on a storage account.
pub const STORAGE_ROLES: [&str; 2] = [
    "17d1049b-9a84-46fb-8f53-869881c3d3ab",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
];

pub fn fs_id(name: &str) -> String {
    format!(
        "{}/providers/Microsoft.StorageCache/amlFilesystems/{name}",
        rg_id(RG)
    )
}

/// A valid create body: eastus, zone 1, a maintenance window.
pub fn amlfs_body(subnet: &str, sku: &str, tib: u64) -> Value {
    json!({
        "location": "eastus",
        "zones": ["1"],
        "sku": {"name": sku},
        "properties": {
            "storageCapacityTiB": tib,
            "filesystemSubnet": subnet,
            "maintenanceWindow": {"dayOfWeek": "Saturday", "timeOfDayUTC": "22:00"}
        }
    })
}

/// Registers the provider and creates the subnet `name` (`prefix`) in the cluster's vnet.
pub async fn amlfs_network(c: &Client, name: &str, prefix: &str) -> String {
    register_provider(c).await;
    let s = create_subnet(c, name, prefix).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    assert_eq!(c.finish(&s).await["status"], "Succeeded");
    subnet_id(name)
}

/// A storage account with a data and a logging container; with `roles`, the resource
/// provider's two roles on the account. Returns (data container, logging container).
pub async fn blob_integration(
    c: &Client,
    sb: &RunningSandbox,
    account: &str,
    roles: bool,
) -> (String, String) {
    let acct = c
        .put(
            &account_id(account),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await;
    assert!(acct.status == 202 || acct.status == 200, "{:?}", acct.body);
    c.finish(&acct).await;
    let data = container_id(account, "lustredata");
    let logs = container_id(account, "lustrelogs");
    for id in [&data, &logs] {
        let r = c.put(id, STORAGE_API, json!({"properties": {}})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    if roles {
        assign_storage_roles(c, sb, account).await;
    }
    (data, logs)
}

/// The resource provider's roles on the storage account.
pub async fn assign_storage_roles(c: &Client, sb: &RunningSandbox, account: &str) {
    let sp = sb.with_world(|w| w.cache_rp_object_id.clone());
    for role in STORAGE_ROLES {
        let r = c
            .put(
                &format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                    account_id(account),
                    uuid::Uuid::new_v4()
                ),
                AUTH_API,
                json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"), "principalId": sp, "principalType": "ServicePrincipal"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
}

/// Creates a file system and waits for its create to end; returns the final GET.
pub async fn create_amlfs(c: &Client, name: &str, body: Value) -> Value {
    let r = c.put(&fs_id(name), AML_API, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let done = c.finish(&r).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    c.get(&fs_id(name), AML_API).await.body
}

/// Polls a file system until `pointer` holds `want` (archive and import progress).
pub async fn wait_for(c: &Client, id: &str, pointer: &str, want: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let r = c.get(id, AML_API).await;
        if r.body.pointer(pointer).and_then(Value::as_str) == Some(want) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{id}: {pointer} never became {want}");
}
