//! Storage accounts and blob containers (Microsoft.Storage, api-version 2025-01-01). Containers
//! are made through ARM (`blobServices/default/containers`), so the user needs no data-plane role.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ArmClient, ArmRequest};
use super::ids::ResourceId;
use super::lro::{self, FinalState, Operation, OperationKind, Poller};
use super::transport::Method;
use crate::Result;

pub const API_VERSION: &str = "2025-01-01";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameAvailability {
    pub name_available: bool,
    /// `AccountNameInvalid` or `AlreadyExists`.
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccount {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub properties: StorageAccountProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccountProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobContainer {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub fn account_id(sub: &str, rg: &str, name: &str) -> ResourceId {
    ResourceId::resource(sub, rg, "Microsoft.Storage", "storageAccounts", name)
}

pub fn container_id(account: &ResourceId, name: &str) -> ResourceId {
    account
        .child("blobServices", "default")
        .child("containers", name)
}

/// Whether a new account may take `name` (names are global across Azure).
pub async fn check_name_availability(client: &ArmClient, name: &str) -> Result<NameAvailability> {
    let req = ArmRequest::new(
        Method::Post,
        format!(
            "/subscriptions/{}/providers/Microsoft.Storage/checkNameAvailability",
            client.subscription()
        ),
    )
    .api_version(API_VERSION)
    .json(check_name_body(name))
    // A read-only question.
    .retry_non_idempotent();
    client.send(req).await?.json()
}

pub fn check_name_body(name: &str) -> Value {
    json!({ "name": name, "type": "Microsoft.Storage/storageAccounts" })
}

/// The account the cache's blob target needs: StorageV2, Standard_LRS, TLS 1.2, HTTPS only,
/// no anonymous blob access.
pub fn account_body(location: &str, tags: &BTreeMap<String, String>) -> Value {
    json!({
        "sku": { "name": "Standard_LRS" },
        "kind": "StorageV2",
        "location": location,
        "tags": tags,
        "properties": {
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": false,
            "supportsHttpsTrafficOnly": true
        }
    })
}

/// Starts creating an account. Storage answers 202 with `Location`, or 200 when it already exists.
pub async fn begin_create_account(
    client: &ArmClient,
    account: &ResourceId,
    location: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Poller> {
    let op = Operation::new(
        "storage account creation",
        account.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::OriginalUri,
    );
    let req = lro::request_for(&op, Method::Put, Some(account_body(location, tags)));
    lro::start(client, req, op).await
}

pub async fn get_account(
    client: &ArmClient,
    account: &ResourceId,
) -> Result<Option<StorageAccount>> {
    client.get_optional(account.as_str(), API_VERSION).await
}

/// Deletes an account (synchronous in this API). Callers make sure it holds no user data.
pub async fn delete_account(client: &ArmClient, account: &ResourceId) -> Result<()> {
    client
        .request(Method::Delete, account.as_str(), API_VERSION, None)
        .await?;
    Ok(())
}

pub fn container_body() -> Value {
    json!({ "properties": { "publicAccess": "None" } })
}

/// Creates the container (idempotent PUT; answers 201 or 200).
pub async fn put_container(
    client: &ArmClient,
    account: &ResourceId,
    name: &str,
) -> Result<BlobContainer> {
    let id = container_id(account, name);
    client
        .request(
            Method::Put,
            id.as_str(),
            API_VERSION,
            Some(&container_body()),
        )
        .await?
        .json()
}

pub async fn get_container(
    client: &ArmClient,
    account: &ResourceId,
    name: &str,
) -> Result<Option<BlobContainer>> {
    client
        .get_optional(container_id(account, name).as_str(), API_VERSION)
        .await
}

pub async fn delete_container(client: &ArmClient, account: &ResourceId, name: &str) -> Result<()> {
    client
        .request(
            Method::Delete,
            container_id(account, name).as_str(),
            API_VERSION,
            None,
        )
        .await?;
    Ok(())
}
