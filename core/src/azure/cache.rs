//! HPC caches, their storage targets, SKUs and usage models (Microsoft.StorageCache,
//! api-version 2024-03-01, the one the azure_mgmt_storagecache crate speaks).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ArmClient, ArmRequest};
use super::ids::ResourceId;
use super::lro::{self, FinalState, Operation, OperationKind, Poller};
use super::transport::Method;
use crate::Result;

pub const API_VERSION: &str = "2024-03-01";
const NAMESPACE: &str = "Microsoft.StorageCache";

/// A cache as ARM returns it. Fields the tools read are typed; the rest is kept in `extra` so the
/// binaries can print the whole resource as az does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cache {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    #[serde(default)]
    pub properties: CacheProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sku {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheProperties {
    #[serde(
        rename = "cacheSizeGB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_size_gb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<CacheHealth>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheHealth {
    /// `Healthy`, `Degraded`, `Down`, `Transitioning`, `Stopping`, `Stopped`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What `cache create` needs.
#[derive(Debug, Clone)]
pub struct NewCache {
    pub location: String,
    pub sku: String,
    pub cache_size_gb: u64,
    pub subnet_id: String,
    /// Root squash in the default access policy: on maps root to nobody on the cache.
    pub root_squash: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageTarget {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: StorageTargetProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageTargetProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub junctions: Vec<Junction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Junction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs_export: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs_access_policy: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSku {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub locations: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Capability {
    pub name: String,
    pub value: String,
}

impl ResourceSku {
    /// Cache sizes this SKU allows (the `cache sizes(GB)` capability).
    pub fn cache_sizes_gb(&self) -> Vec<u64> {
        self.capabilities
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case("cache sizes(GB)"))
            .flat_map(|c| c.value.split(',').filter_map(|s| s.trim().parse().ok()))
            .collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageModel {
    pub model_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Cache {
    /// Root squash in the default access policy's default rule, as clients get it; `None`
    /// when the cache reports no such rule.
    pub fn root_squash(&self) -> Option<bool> {
        default_rule(self.properties.extra.get("securitySettings")?)?
            .get("rootSquash")?
            .as_bool()
    }
}

/// The `default` policy's `default`-scope rule of a `securitySettings` object.
fn default_rule(settings: &Value) -> Option<&Value> {
    settings
        .get("accessPolicies")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some("default"))?
        .get("accessRules")?
        .as_array()?
        .iter()
        .find(|r| r.get("scope").and_then(Value::as_str) == Some("default"))
}

/// The PATCH body that sets root squash in `cache`'s default rule and keeps every other
/// policy and rule as they are (an access policy list is replaced as a whole).
pub fn root_squash_patch(cache: &Cache, root_squash: bool) -> Value {
    let mut settings = cache
        .properties
        .extra
        .get("securitySettings")
        .filter(|s| s.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut policies: Vec<Value> = settings
        .get("accessPolicies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let index = match policies.iter().position(|p| p["name"] == "default") {
        Some(i) => i,
        None => {
            policies.push(json!({"name": "default"}));
            policies.len() - 1
        }
    };
    let mut rules: Vec<Value> = policies[index]
        .get("accessRules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match rules
        .iter_mut()
        .find(|r| r["scope"] == "default" && r.is_object())
    {
        Some(rule) => rule["rootSquash"] = json!(root_squash),
        None => rules.push(json!({
            "scope": "default",
            "access": "rw",
            "suid": false,
            "submountAccess": true,
            "rootSquash": root_squash
        })),
    }
    policies[index]["accessRules"] = Value::Array(rules);
    settings["accessPolicies"] = Value::Array(policies);
    json!({ "properties": { "securitySettings": settings } })
}

/// Starts changing root squash on an existing cache (a PATCH of its access policies; long
/// running). Setting it to a value is idempotent, so a lost answer may be retried.
pub async fn begin_set_root_squash(
    client: &ArmClient,
    cache: &Cache,
    root_squash: bool,
) -> Result<Poller> {
    let op = Operation::new(
        if root_squash {
            "root squash on"
        } else {
            "root squash off"
        },
        cache.id.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(
        &op,
        Method::Patch,
        Some(root_squash_patch(cache, root_squash)),
    )
    .retry_non_idempotent();
    lro::start(client, req, op).await
}

pub fn cache_id(sub: &str, rg: &str, name: &str) -> ResourceId {
    ResourceId::resource(sub, rg, NAMESPACE, "caches", name)
}

pub fn storage_target_id(cache: &ResourceId, name: &str) -> ResourceId {
    cache.child("storageTargets", name)
}

/// The PUT body of a new cache: one default access policy, read-write for every client, with
/// root squash as asked and submounts allowed (the namespace path is a submount).
pub fn cache_body(c: &NewCache) -> Value {
    json!({
        "location": c.location,
        "tags": c.tags,
        "sku": { "name": c.sku },
        "properties": {
            "cacheSizeGB": c.cache_size_gb,
            "subnet": c.subnet_id,
            "securitySettings": {
                "accessPolicies": [{
                    "name": "default",
                    "accessRules": [{
                        "scope": "default",
                        "access": "rw",
                        "suid": false,
                        "submountAccess": true,
                        "rootSquash": c.root_squash
                    }]
                }]
            }
        }
    })
}

/// Starts creating a cache (about 20 minutes in Azure). The PUT is sent once; follow the poller.
pub async fn begin_create_cache(
    client: &ArmClient,
    cache: &ResourceId,
    new: &NewCache,
) -> Result<Poller> {
    let op = Operation::new(
        "cache creation",
        cache.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::OriginalUri,
    );
    let req = lro::request_for(&op, Method::Put, Some(cache_body(new)));
    lro::start(client, req, op).await
}

pub async fn get_cache(client: &ArmClient, cache: &ResourceId) -> Result<Cache> {
    client.get_json(cache.as_str(), API_VERSION).await
}

/// Caches of a resource group, or of the subscription when `resource_group` is `None`.
pub async fn list_caches(client: &ArmClient, resource_group: Option<&str>) -> Result<Vec<Cache>> {
    let scope = match resource_group {
        Some(rg) => ResourceId::resource_group(client.subscription(), rg),
        None => ResourceId::subscription(client.subscription()),
    };
    client
        .list(
            ArmRequest::get(format!("{scope}/providers/{NAMESPACE}/caches"))
                .api_version(API_VERSION),
        )
        .await
}

pub async fn begin_delete_cache(client: &ArmClient, cache: &ResourceId) -> Result<Poller> {
    let op = Operation::new(
        "cache deletion",
        cache.as_str(),
        API_VERSION,
        OperationKind::Delete,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(&op, Method::Delete, None);
    lro::start(client, req, op).await
}

/// A cache action (`flush`, `start`, `stop`, `upgrade`). All complete via `Azure-AsyncOperation`.
async fn begin_action(
    client: &ArmClient,
    cache: &ResourceId,
    action: &str,
    label: &str,
    repeatable: bool,
) -> Result<Poller> {
    let op = Operation::new(
        label,
        cache.as_str(),
        API_VERSION,
        OperationKind::Action,
        FinalState::AzureAsyncOperation,
    );
    let mut req =
        ArmRequest::new(Method::Post, format!("{cache}/{action}")).api_version(API_VERSION);
    if repeatable {
        req = req.retry_non_idempotent();
    }
    lro::start(client, req, op).await
}

/// Writes cached data back to storage. Repeating a flush only flushes again, so it may be retried.
pub async fn begin_flush(client: &ArmClient, cache: &ResourceId) -> Result<Poller> {
    begin_action(client, cache, "flush", "cache flush", true).await
}

pub async fn begin_start(client: &ArmClient, cache: &ResourceId) -> Result<Poller> {
    begin_action(client, cache, "start", "cache start", true).await
}

pub async fn begin_stop(client: &ArmClient, cache: &ResourceId) -> Result<Poller> {
    begin_action(client, cache, "stop", "cache stop", true).await
}

/// Upgrades the cache's firmware. Not retried after an ambiguous failure: check the cache first.
pub async fn begin_upgrade_firmware(client: &ArmClient, cache: &ResourceId) -> Result<Poller> {
    begin_action(client, cache, "upgrade", "firmware upgrade", false).await
}

/// The PUT body of a blob (clfs) storage target: the container by ARM id, one junction.
pub fn blob_target_body(container_id: &str, namespace_path: &str) -> Value {
    json!({
        "properties": {
            "targetType": "clfs",
            "clfs": { "target": container_id },
            "junctions": [{
                "namespacePath": namespace_path,
                "targetPath": "/",
                "nfsAccessPolicy": "default"
            }]
        }
    })
}

pub async fn begin_create_blob_target(
    client: &ArmClient,
    target: &ResourceId,
    container_id: &str,
    namespace_path: &str,
) -> Result<Poller> {
    let op = Operation::new(
        "storage target creation",
        target.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::OriginalUri,
    );
    let req = lro::request_for(
        &op,
        Method::Put,
        Some(blob_target_body(container_id, namespace_path)),
    );
    lro::start(client, req, op).await
}

/// How long, and how often, a blob target whose creation failed is tried again.
#[derive(Debug, Clone)]
pub struct TargetRetry {
    /// Pause between attempts.
    pub delay: std::time::Duration,
    /// Attempts after the first.
    pub retries: u32,
}

/// Whether a blob target's creation may succeed when sent again: the cache's role assignments
/// take minutes to reach it, and Azure reports that in several ways (issue 15 item 6): the
/// operation `Failed` with `StorageTargetCreationFailed` (any case) or an internal error with
/// no cause, or the PUT refused at once with 400. Only refusals of the caller (401, 403, 404)
/// are final.
pub fn target_may_succeed_later(e: &crate::Error) -> bool {
    matches!(e, crate::Error::Arm { status, .. } if !matches!(status, 401 | 403 | 404))
}

/// Creates (or re-creates) a blob target and waits for it, sending it again for a bounded time
/// while it fails as [`target_may_succeed_later`] says: run it after the roles were assigned.
pub async fn create_blob_target(
    client: &ArmClient,
    target: &ResourceId,
    container_id: &str,
    namespace_path: &str,
    policy: &lro::PollPolicy,
    retry: &TargetRetry,
    progress: &crate::progress::Progress,
) -> Result<Option<Value>> {
    let mut attempt = 0;
    loop {
        let result = async {
            begin_create_blob_target(client, target, container_id, namespace_path)
                .await?
                .wait(client, policy)
                .await
        }
        .await;
        match result {
            Err(e) if attempt < retry.retries && target_may_succeed_later(&e) => {
                attempt += 1;
                progress.emit(crate::progress::Event::Retrying {
                    step: progress.step_owned(),
                    attempt,
                    delay: retry.delay,
                    reason: e.to_string(),
                });
                tokio::time::sleep(retry.delay).await;
            }
            other => return other,
        }
    }
}

pub async fn get_storage_target(client: &ArmClient, target: &ResourceId) -> Result<StorageTarget> {
    client.get_json(target.as_str(), API_VERSION).await
}

pub async fn list_storage_targets(
    client: &ArmClient,
    cache: &ResourceId,
) -> Result<Vec<StorageTarget>> {
    client
        .list(ArmRequest::get(format!("{cache}/storageTargets")).api_version(API_VERSION))
        .await
}

pub async fn begin_delete_storage_target(
    client: &ArmClient,
    target: &ResourceId,
) -> Result<Poller> {
    let op = Operation::new(
        "storage target deletion",
        target.as_str(),
        API_VERSION,
        OperationKind::Delete,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(&op, Method::Delete, None);
    lro::start(client, req, op).await
}

pub async fn list_skus(client: &ArmClient) -> Result<Vec<ResourceSku>> {
    let path = format!(
        "/subscriptions/{}/providers/{NAMESPACE}/skus",
        client.subscription()
    );
    client
        .list(ArmRequest::get(path).api_version(API_VERSION))
        .await
}

pub async fn list_usage_models(client: &ArmClient) -> Result<Vec<UsageModel>> {
    let path = format!(
        "/subscriptions/{}/providers/{NAMESPACE}/usageModels",
        client.subscription()
    );
    client
        .list(ArmRequest::get(path).api_version(API_VERSION))
        .await
}
